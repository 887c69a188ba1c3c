"""Every `>>>` example in the package's docstrings runs and shows what it claims.

Each module with examples is one test: a fresh session, a fixed seed, a temporary working
directory, and a namespace holding `np`, `keras` (the package) and the module's own names. A
failure reports the example's file and line. A module (or an example) that needs an optional
dependency which is not installed is skipped, not failed.
"""
import doctest
import importlib
import os

import numpy as np
import pytest

import minikeras as keras

PACKAGE_DIR = os.path.dirname(keras.__file__)
OPTION_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples():
    """Module names of every package source file containing a `>>>` (found without importing)."""
    names = []
    for folder, subfolders, files in os.walk(PACKAGE_DIR):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(("_", ".")))
        for file_name in sorted(files):
            if not file_name.endswith(".py"):
                continue
            path = os.path.join(folder, file_name)
            with open(path, encoding="utf-8") as handle:
                if ">>>" not in handle.read():
                    continue
            relative = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-len(".py")]
            parts = relative.split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


def _missing_optional_dependency(error):
    """The name of a non-minikeras module an ImportError says is missing, else None."""
    if not isinstance(error, ImportError):
        return None
    missing = getattr(error, "name", None)
    if missing and not missing.split(".")[0] == "minikeras":
        return missing
    if missing is None and "minikeras" not in str(error) and "install" in str(error):
        return str(error)  # minikeras' lazy imports word a missing extra as Keras does
    return None


class _Runner(doctest.DocTestRunner):
    """Stops a module's examples at an optional dependency that is not installed."""

    def report_unexpected_exception(self, out, test, example, exc_info):
        missing = _missing_optional_dependency(exc_info[1])
        if missing is not None:
            pytest.skip(f"{test.name} needs an optional dependency: {missing}")
        super().report_unexpected_exception(out, test, example, exc_info)


def _import_or_skip(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        missing = _missing_optional_dependency(error)
        if missing is None:
            raise
        pytest.skip(f"{name} needs an optional dependency: {missing}")


def test_the_package_has_docstring_examples():
    assert len(_modules_with_examples()) >= 10


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples_run(module_name, tmp_path, monkeypatch):
    module = _import_or_skip(module_name)
    monkeypatch.chdir(tmp_path)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    namespace = dict(vars(module))
    namespace.update(np=np, keras=keras)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name, globs=namespace)
    tests = [test for test in tests if test.examples]
    if not tests:
        pytest.skip(f"{module_name}: `>>>` appears, but in no docstring doctest collects")
    runner = _Runner(optionflags=OPTION_FLAGS)
    report = []
    for test in sorted(tests, key=lambda t: (t.lineno or 0, t.name)):
        runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail(f"{runner.failures} docstring example(s) failed in {module_name}:\n"
                    + "".join(report), pytrace=False)
