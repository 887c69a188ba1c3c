"""The kernels split work over two threads only when the process may use two cores."""
import os
import subprocess
import sys

import pytest

from minikeras.ops import parallel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_usable_cores_is_the_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert parallel.usable_cores() == len(os.sched_getaffinity(0))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_process_bound_to_one_core_does_not_split():
    one_core = min(os.sched_getaffinity(0))
    script = ("import os; os.sched_setaffinity(0, {%d}); "
              "from minikeras.ops import parallel; "
              "print(parallel._THREADS, parallel.can_split(uses_blas=False))" % one_core)
    env = dict(os.environ)
    env.pop("MINIKERAS_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["1", "False"]


def test_unknown_blas_policy_warns_and_falls_back_to_auto():
    script = ("import warnings; warnings.simplefilter('always'); "
              "from minikeras.ops import parallel; print(parallel._POLICY)")
    env = dict(os.environ, MINIKERAS_BLAS_POLICY="fastest")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    assert result.stdout.split() == ["auto"]
    assert "MINIKERAS_BLAS_POLICY='fastest'" in result.stderr
