"""Writes tests/fixtures/github_sequences/: what tf_keras 2.21 does with patterns of public
GitHub text / sequence / tabular / RL scripts (fid-gh2 sweep) where minikeras differed.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/github_sequences.py --peer"""
import importlib
import json
import os
import types

from peer import fixture_dir, require_peer

require_peer()

# The modules user scripts star-import (`from keras.layers import *`), as tf_keras names them.
STAR_MODULES = ["", "layers", "models", "callbacks", "optimizers", "losses", "metrics",
                "initializers", "regularizers", "constraints", "activations", "backend", "utils",
                "preprocessing", "preprocessing.sequence", "preprocessing.text",
                "preprocessing.image", "applications", "datasets"]


def star_imports():
    """Per module: the names `from tf_keras.X import *` binds, and which of them are modules."""
    found = {}
    for suffix in STAR_MODULES:
        name = "tf_keras" + ("." + suffix if suffix else "")
        importlib.import_module(name)
        namespace = {}
        exec(f"from {name} import *", namespace)
        names = sorted(key for key in namespace if not key.startswith("__"))
        found[suffix] = {"names": names,
                         "modules": [key for key in names
                                     if isinstance(namespace[key], types.ModuleType)]}
    return found


def main():
    out = fixture_dir("github_sequences")
    os.makedirs(out, exist_ok=True)
    facts = {"star_imports": star_imports()}
    with open(os.path.join(out, "tf_keras_facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
