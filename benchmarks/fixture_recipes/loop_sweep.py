"""Writes tests/fixtures/loop_sweep/observations.json with the peer (tf_keras 2.21; never run by
the tests): every case of tests/fixtures/loop_sweep/loop_cases.py (plain public-API code, run
unchanged by the minikeras tests) run with tf_keras, and what it returned.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python loop_sweep.py --peer
"""
import importlib.util
import json
import os
import tempfile

from peer import fixture_dir, require_peer


def load_cases():
    path = os.path.join(fixture_dir("loop_sweep"), "loop_cases.py")
    spec = importlib.util.spec_from_file_location("loop_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    require_peer()
    import tf_keras as keras
    cases = load_cases()
    observations = {}
    for name, case in {**cases.LOOP_CASES, **cases.CALLBACK_CASES}.items():
        with tempfile.TemporaryDirectory() as scratch:
            observations[name] = case(keras, scratch)
        print("recorded", name)
    with open(os.path.join(fixture_dir("loop_sweep"), "observations.json"), "w") as f:
        json.dump(observations, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
