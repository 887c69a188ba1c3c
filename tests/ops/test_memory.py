"""ops/memory.py: freed arrays stay in the process, so a step that allocates the same large
arrays again does not fault their pages in again."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Allocate, touch and free 8 MB arrays 50 times; print the page faults of the last 40 rounds.
SCRIPT = """
import resource, numpy as np
import minikeras.ops
from minikeras.ops import memory
print(memory.keep_freed_memory())
def rounds(n):
    for _ in range(n):
        a = np.ones(2_000_000, np.float32); b = a * 2; del a, b
rounds(10)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(40)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def run(env_value):
    env = dict(os.environ, MINIKERAS_KEEP_FREED_MEMORY=env_value)
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning only")
def test_repeated_large_allocations_do_not_fault_again():
    tuned, faults = run("1")
    if not tuned:
        pytest.skip("malloc is not glibc's here")
    untuned_flag, untuned_faults = run("0")
    assert not untuned_flag
    # 40 rounds x 2 arrays x 2,000 pages would fault ~160,000 times if returned to the OS
    assert faults < 1000
    assert untuned_faults > 10 * max(faults, 100)
