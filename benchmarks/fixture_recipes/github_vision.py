"""Writes tests/fixtures/github_vision/facts.json: what tf_keras 2.21 does with the cases of
tests/fixtures/github_vision/cases.py (fid-gh1 sweep of Keras 2 vision / generative scripts
found on GitHub). Run with the peer:
    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
        /work/peers/bin/python benchmarks/fixture_recipes/github_vision.py --peer"""
import json
import os
import sys

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402

OUT = fixture_dir("github_vision")
sys.path.insert(0, OUT)
import cases  # noqa: E402


def outcome(case):
    """[\"ok\", value] or [error type, message] of one case."""
    try:
        return ["ok", case(keras)]
    except Exception as error:   # the refusal is what is recorded
        return [type(error).__name__, str(error)]


def main():
    facts = {"errors": {name: outcome(case) for name, case in cases.ERROR_CASES.items()},
             "quiet": {name: case(keras) for name, case in cases.QUIET_CASES.items()},
             "state": {name: case(keras) for name, case in cases.STATE_CASES.items()}}
    with open(os.path.join(OUT, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
