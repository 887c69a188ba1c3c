"""The notebooks in `notebooks/` run top to bottom in a fresh kernel without an error (their cells
assert their key facts), and the stored notebooks are the ones their sources build.

Needs nbclient, nbformat, ipykernel and matplotlib (in the `test` and `notebooks` extras).
All five execute by default (about 30 s together: 01, 02, 05 about 4 s each, 03 8 s, 04 10 s).
"""
import importlib.util
import os
import subprocess
import sys

import pytest

# Looked up, not imported: an imported ipykernel would make every Progbar in this process
# believe it runs in a notebook.
for module in ("nbformat", "nbclient", "ipykernel", "matplotlib"):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} (the `notebooks` extra) is not installed", allow_module_level=True)

import nbformat  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(REPO, "notebooks")
NAMES = ["01_batchnorm_dropout_flatten", "02_conv_arithmetic", "03_keras_catalogue",
         "04_classic_architectures", "05_summary_and_saving"]
MAX_FOLDER_BYTES = 3 * 1024 * 1024


def _load_builder():
    spec = importlib.util.spec_from_file_location("notebook_builder",
                                                  os.path.join(NOTEBOOKS, "build.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name):
    with open(os.path.join(NOTEBOOKS, name + ".ipynb"), encoding="utf-8") as handle:
        return nbformat.read(handle, as_version=4)


def test_every_notebook_is_there_and_the_folder_is_small():
    stored = sorted(f[:-6] for f in os.listdir(NOTEBOOKS) if f.endswith(".ipynb"))
    assert stored == NAMES
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(NOTEBOOKS) for f in files)
    assert size < MAX_FOLDER_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_matches_its_source_and_has_outputs(name):
    builder = _load_builder()
    cells = builder.read_cells(os.path.join(NOTEBOOKS, "src", name + ".py"))
    notebook = _read(name)
    assert [(c.cell_type, c.source) for c in notebook.cells] == cells, \
        f"{name}.ipynb is stale: rebuild it with `python notebooks/build.py {name[:2]}`"
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)   # stored executed
    assert not any(o.get("output_type") == "error" for c in code_cells for o in c.outputs)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_a_fresh_kernel(name):
    # In a child process: starting a kernel imports ipykernel, which would make every later
    # Progbar of this test process behave as in a notebook.
    result = subprocess.run([sys.executable, os.path.join(NOTEBOOKS, "build.py"), "--check", name],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "ran clean" in result.stdout
