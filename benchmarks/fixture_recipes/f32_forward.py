"""Fixtures of tests/applications/test_float32_backward.py (fid-f32fw): how far tf_keras 2.21's
float32 gradients of single layers are from its float64 ones (cases in
tests/fixtures/f32_forward/f32_forward_cases.py, run unchanged by both libraries), with
oneDNN off and on, and tf's float64 max |value| of every gradient (the test checks that
minikeras' float64 run, its truth, is tf's).

    TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python benchmarks/fixture_recipes/f32_forward.py --peer

Writes tests/fixtures/f32_forward/f32_forward.json. oneDNN is chosen when TensorFlow is
imported, so each setting runs in a subprocess of its own (`--part 0|1`, printing JSON)."""
import importlib.util
import json
import os
import subprocess
import sys

import peer

OUT = peer.fixture_dir("f32_forward")


def load_cases():
    spec = importlib.util.spec_from_file_location(
        "f32_forward_cases", os.path.join(OUT, "f32_forward_cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def part():
    """This process' oneDNN setting: {case: [error, float64 max |output|s]} as JSON."""
    import tf_keras
    cases = load_cases()
    print(json.dumps({name: cases.errors(tf_keras, name)
                      for name in cases.CASES}))


def main():
    facts = {}
    for setting in ("0", "1"):
        environment = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=setting, TF_CPP_MIN_LOG_LEVEL="3")
        completed = subprocess.run([sys.executable, __file__, "--peer", "--part"], check=True,
                                   env=environment, capture_output=True, text=True)
        facts[setting] = json.loads(completed.stdout.strip().splitlines()[-1])
    out = {"tf_float32_error": {"onednn_off": {n: v[0] for n, v in facts["0"].items()},
                                "onednn_on": {n: v[0] for n, v in facts["1"].items()}},
           "tf_float64_maxabs": {n: v[1] for n, v in facts["0"].items()}}
    with open(os.path.join(OUT, "f32_forward.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    peer.require_peer()
    if "--part" in sys.argv:
        part()
    else:
        main()
