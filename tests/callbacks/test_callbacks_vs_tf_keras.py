"""Callbacks as users see them, compared with tf_keras 2.21: the cases of
fixtures/loop_sweep/loop_cases.py (plain public-API code) run here with minikeras must return
what they returned with tf_keras (observations.json, written by
benchmarks/fixture_recipes/loop_sweep.py)."""
import json
import os

import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module

cases = load_fixture_module("loop_sweep_cases", "loop_sweep", "loop_cases.py")
with open(os.path.join(FIXTURES, "loop_sweep", "observations.json")) as f:
    OBSERVED = json.load(f)


@pytest.mark.parametrize("name", sorted(cases.CALLBACK_CASES))
def test_callback_case_matches_tf_keras(name, tmp_path):
    got = cases.CALLBACK_CASES[name](keras, str(tmp_path))
    assert cases.differences(got, OBSERVED[name]) == []
