"""Patterns of public GitHub Keras 2 scripts (text, sequence, time-series, tabular and RL work)
checked where minikeras differed from tf_keras 2.21 when the scripts ran unchanged on both
(fid-gh2 sweep; peer facts in tests/fixtures/github_sequences/, written by
benchmarks/fixture_recipes/github_sequences.py)."""
import importlib
import json
import types

import pytest

import minikeras  # noqa: F401  (attaches the Keras 2 module paths to the packages)
from conftest import fixture_path


def peer_facts():
    with open(fixture_path("github_sequences", "tf_keras_facts.json")) as f:
        return json.load(f)


def star_import(module_name):
    namespace = {}
    exec(f"from {module_name} import *", namespace)
    return {name: value for name, value in namespace.items() if not name.startswith("__")}


STAR_CASES = sorted(peer_facts()["star_imports"].items())


@pytest.mark.parametrize("suffix, peer", [case for case in STAR_CASES if case[0]],
                         ids=[case[0] for case in STAR_CASES if case[0]])
def test_star_import_binds_no_internal_modules(suffix, peer):
    # `from keras.layers import *` in tf.keras binds the public API only; ours bound the
    # subpackages (`recurrent`, `core`, `activations`, `preprocessing`, ...) and helpers
    # (`np`, `random`, `json`, `warnings`), which shadow the user's own imports.
    ours = star_import("minikeras." + suffix)
    modules = sorted(name for name, value in ours.items() if isinstance(value, types.ModuleType))
    assert set(modules) <= set(peer["modules"]), (suffix, modules)


@pytest.mark.parametrize("suffix, peer", [case for case in STAR_CASES if case[0]],
                         ids=[case[0] for case in STAR_CASES if case[0]])
def test_star_import_keeps_every_public_name_we_have(suffix, peer):
    module = importlib.import_module("minikeras." + suffix)
    ours = star_import("minikeras." + suffix)
    missing = [name for name in peer["names"] if hasattr(module, name) and name not in ours]
    assert missing == []


def test_star_import_leaves_the_users_earlier_imports_alone():
    # GitHub scripts import `random` or `from keras import activations, preprocessing` first,
    # then star-import layers / backend; tf.keras' star imports never rebind those.
    namespace = {}
    exec("import random\n"
         "from minikeras import activations, preprocessing\n"
         "from minikeras.layers import *\n"
         "from minikeras.backend import *\n"
         "from minikeras.models import *\n"
         "from minikeras.optimizers import *\n"
         "from minikeras.callbacks import *\n", namespace)
    import random
    import minikeras
    assert namespace["random"] is random
    assert namespace["activations"] is minikeras.activations
    assert namespace["preprocessing"] is minikeras.preprocessing
    assert namespace["LSTM"] is minikeras.layers.LSTM and namespace["Adam"] is minikeras.optimizers.Adam
    assert namespace["legacy"] is minikeras.optimizers.legacy   # tf.keras binds it too
    assert namespace["sum"] is minikeras.backend.sum            # and K.sum over builtins.sum


def test_keras1_submodule_after_star_import_is_a_name_error():
    # A Keras 1 char-RNN script: `from keras.layers import *` then `recurrent.GRU(output_dim=80)`.
    # tf.keras 2.21 binds no `recurrent` (NameError); the Keras 2 path stays importable.
    namespace = {}
    exec("from minikeras.layers import *", namespace)
    for keras1_name in ("recurrent", "core", "embeddings", "merge", "wrappers", "convolutional"):
        assert keras1_name not in namespace
    assert "experimental" in namespace
    from minikeras.layers.recurrent import GRU
    assert GRU is minikeras.layers.GRU


def test_top_level_star_import_keeps_the_users_random():
    # `import random` then `from keras import *`: tf.keras binds its public modules only.
    namespace = {}
    exec("import random\nfrom minikeras import *", namespace)
    import random
    assert namespace["random"] is random
    assert "ops" not in namespace and "core" not in namespace and "engine" not in namespace
    peer = peer_facts()["star_imports"][""]
    import minikeras
    for name in ("layers", "models", "backend", "utils", "optimizers", "Sequential", "Model"):
        assert name in peer["names"] and namespace[name] is getattr(minikeras, name)
