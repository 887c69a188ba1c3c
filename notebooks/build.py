"""Build the notebooks: `src/NN_name.py` -> `NN_name.ipynb`, executed, outputs stored.

    python notebooks/build.py          # every notebook
    python notebooks/build.py 02 04    # those whose name starts with 02 or 04
    python notebooks/build.py --check 02   # run the stored notebook, write nothing

A source is plain Python split into cells by `# %%` lines; a `# %% [markdown]` cell holds
Markdown written as `# ` comment lines. Each notebook runs top to bottom in a fresh kernel
(working directory `notebooks/`, this checkout's `minikeras` first on the path); the script
prints its run time and file size. Needs the `notebooks` extra (nbformat, nbclient, ipykernel,
matplotlib) and, for the `plot_model` pictures, the `plot` extra plus Graphviz.
"""
import os
import sys
import time

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = os.path.join(HERE, "src")
REPO = os.path.dirname(HERE)
TIMEOUT_SECONDS = 300


def read_cells(path):
    """[(kind, text)] of a `# %%` source file, kind 'code' or 'markdown'."""
    cells, kind, lines = [], None, []

    def close():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in text.split("\n"))
        if kind is not None and text:
            cells.append((kind, text))

    with open(path, encoding="utf-8") as handle:
        for line in handle.read().split("\n"):
            if line.startswith("# %%"):
                close()
                kind, lines = ("markdown" if "[markdown]" in line else "code"), []
            elif kind is not None:
                lines.append(line)
    close()
    return cells


def make_notebook(cells):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    for kind, text in cells:
        new = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        notebook.cells.append(new(text))
    return notebook


def execute(notebook):
    """Run in a fresh kernel from `notebooks/`, with this checkout importable first.

    BLAS runs single-threaded unless the caller says otherwise: these networks multiply small
    matrices, where threads gain little and, on a busy machine, cost a lot (notebook 04 took
    22 s single-threaded and 108 s with two OpenBLAS threads while other jobs ran).
    """
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    client = NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": HERE}}, record_timing=False)
    client.execute()
    return notebook


def build(name):
    notebook = make_notebook(read_cells(os.path.join(SOURCES, name + ".py")))
    start = time.perf_counter()
    execute(notebook)
    seconds = time.perf_counter() - start
    # Cell ids are random; number them so rebuilding gives stable files.
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    target = os.path.join(HERE, name + ".ipynb")
    nbformat.write(notebook, target)
    print(f"{name}.ipynb: {seconds:.1f} s, {os.path.getsize(target) / 1024:.0f} KB")


def check(name):
    """Execute the stored notebook from scratch; raises on the first failing cell."""
    with open(os.path.join(HERE, name + ".ipynb"), encoding="utf-8") as handle:
        notebook = nbformat.read(handle, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    execute(notebook)
    print(f"{name}.ipynb ran clean in {time.perf_counter() - start:.1f} s")


def main(arguments):
    action = check if arguments[:1] == ["--check"] else build
    prefixes = arguments[1:] if action is check else arguments
    names = sorted(f[:-3] for f in os.listdir(SOURCES) if f.endswith(".py"))
    if prefixes:
        names = [n for n in names if any(n.startswith(p) for p in prefixes)]
    for name in names:
        action(name)


if __name__ == "__main__":
    main(sys.argv[1:])
