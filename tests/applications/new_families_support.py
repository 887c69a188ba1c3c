"""Shared by the tests of the newer application families: the cases and fixtures made by the
peer recipe (tests/fixtures/applications/peer/new_families/), the deterministic weights, and
building a case by constructor name."""
import hashlib
import json

import numpy as np

import minikeras as keras
from minikeras.applications import convnext, efficientnet_v2, regnet, resnet_rs
from conftest import fixture_path, load_fixture_module

FIXTURE_DIR = ("applications", "peer", "new_families")
cases = load_fixture_module("new_family_cases", *FIXTURE_DIR, "cases.py")
PRIVATE = {"convnext.ConvNeXt": convnext.ConvNeXt,
           "efficientnet_v2.EfficientNetV2": efficientnet_v2.EfficientNetV2,
           "regnet.RegNet": regnet.RegNet, "resnet_rs.ResNetRS": resnet_rs.ResNetRS}


def fixture(name):
    return fixture_path(*FIXTURE_DIR, name)


def summaries():
    with open(fixture("summaries.json")) as f:
        return json.load(f)["models"]


def number_arrays():
    with np.load(fixture("numbers.npz")) as data:
        return dict(data)


def build(constructor, kwargs, weights=None):
    kwargs = dict(kwargs)
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    build_fn = PRIVATE.get(constructor) or getattr(keras.applications, constructor)
    return build_fn(weights=weights, **kwargs)


def fill(model):
    """Every float weight set by the recipe's formula (integer ones kept)."""
    model.set_weights([cases.fill_value(i, w.name, tuple(w.shape))
                       if np.issubdtype(w.numpy().dtype, np.floating) else w.numpy()
                       for i, w in enumerate(model.weights)])


def comparable_config(config):
    """JSON values (lists, not tuples), without the keys only some writers add ("module",
    "registered_name", "build_config")."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in ("module", "registered_name", "build_config")}
        return [strip(v) for v in value] if isinstance(value, list) else value
    return strip(json.loads(json.dumps(config)))


def config_digest(model):
    """SHA-256 of the model's JSON config with sorted keys, as the peer recipe computes it."""
    config = comparable_config(json.loads(model.to_json())["config"])
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode("utf-8")).hexdigest()
