"""A commit's `minikeras` package, importable under another name beside the checkout's, so two
commits can be timed side by side in one process (bench_ab_commits.py, bench_loops.py)."""
import importlib
import os
import subprocess


def extract(ref, name, root):
    """Commit `ref`'s `minikeras` package as the importable package `name` under `root`."""
    archive = subprocess.run(["git", "archive", ref, "minikeras"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", root], input=archive, check=True)
    os.rename(os.path.join(root, "minikeras"), os.path.join(root, name))
    return importlib.import_module(name)
