"""Writes tests/fixtures/api_examples/facts.json (fid-doctest sweep) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python api_examples.py --peer

Runs every case of tests/fixtures/api_examples/cases.py (plain public Keras 2 API code) with
tf_keras 2.21 and stores what each returns. tests/test_api_examples.py runs the same cases on
minikeras and compares.
"""
import importlib.util
import json
import os

from peer import fixture_dir, require_peer

require_peer()
FOLDER = fixture_dir("api_examples")


def _cases():
    spec = importlib.util.spec_from_file_location("api_example_cases",
                                                  os.path.join(FOLDER, "cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    import tf_keras
    cases = _cases()
    facts = {}
    for case in cases.CASES:
        tf_keras.backend.clear_session()
        facts[case.__name__] = case(tf_keras)
    with open(os.path.join(FOLDER, "facts.json"), "w") as handle:
        json.dump(facts, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
