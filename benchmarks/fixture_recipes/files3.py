"""Writes the files3 fixtures with the peer (tf_keras 2.21 / Keras 3.15.1; never run by the tests):
the models of tests/fixtures/files3/files3_models.py with fixed random weights, saved by tf_keras
(legacy `.h5` whole model; `save_weights` `.h5` for a few) and by Keras 3 (`.keras`), with each
writer's predictions of the model it reloaded from its own file; compiled models (registered
custom loss/metric/layer) trained 2 steps, saved, and trained 3 more steps after the writer
reloaded them; and what tf_keras does when a registered name is registered again.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python files3.py --peer tk
    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python files3.py --peer k3
"""
import json
import os
import sys

import numpy as np

import peer

peer.require_peer()
HERE = peer.fixture_dir("files3")
sys.path.insert(0, HERE)
import files3_models as fm  # noqa: E402

# tf_keras save_weights files are kept for the models whose weight names are the hard part.
TK_WEIGHT_FILES = ("nested_seq", "rnn_wrappers", "attention", "shared_dict", "custom_compiled")
# (case, optimizer class path, kwargs, include_optimizer); legacy optimizers are tf_keras only.
COMPILED = [
    ("adam", "Adam", dict(learning_rate=0.01), True),
    ("legacy_rmsprop", "legacy.RMSprop", dict(learning_rate=0.01, momentum=0.5), True),
    ("no_optimizer", "Adam", dict(learning_rate=0.01), False),
]


def library(tag):
    if tag == "tk":
        import tf_keras as keras
    else:
        import keras
    return keras


def custom_objects(keras):
    objects = fm.custom_classes(keras)
    objects["MinimalCell"] = fm.minimal_cell_class(keras)
    objects["scale_by_two"] = fm.scale_by_two
    return objects


def rng_for(name):
    return np.random.default_rng(sum(map(ord, name)))


def feed(model, arrays):
    """Dict inputs for the dict-input model, a list (or one array) otherwise; strings as
    string tensors (Keras 3 on TensorFlow takes no NumPy arrays of strings)."""
    import tensorflow as tf
    arrays = [tf.constant(a.astype(str)) if a.dtype == object else a for a in arrays]
    if model.name == "shared_dict":
        return {spec[0]: a for spec, a in zip(fm.input_specs(model), arrays)}
    return arrays if len(arrays) > 1 else arrays[0]


def outputs(prediction):
    if isinstance(prediction, dict):
        return [np.asarray(prediction[k]) for k in sorted(prediction)]
    return [np.asarray(p) for p in (prediction if isinstance(prediction, list) else [prediction])]


def load(keras, path):
    return keras.models.load_model(path, custom_objects=custom_objects(keras), safe_mode=False)


def write_models(tag, keras, arrays, facts):
    for name in fm.MODELS:
        if name == "string_lookup" and tag == "k3":
            continue        # Keras 3 (TensorFlow) takes no NumPy object arrays of strings
        model = fm.build(name, keras)
        if name == "shared_dict":
            assert model.name == "shared_dict"
        rng = rng_for(name)
        x = fm.make_inputs(model, rng)
        model.set_weights(fm.random_weights(model, rng))
        arrays[f"{name}/x"] = x
        facts[name] = {"input_names": [s[0] for s in fm.input_specs(model)]}
        if tag == "tk":
            path = os.path.join(HERE, f"{name}.tk.h5")
            model.save(path, save_format="h5")
            if name in TK_WEIGHT_FILES:
                model.save_weights(os.path.join(HERE, f"{name}.tk_weights.h5"))
            facts[name]["to_json"] = model.to_json()
            facts[name]["weight_names"] = [w.name for w in model.weights]
        else:
            path = os.path.join(HERE, f"{name}.k3.keras")
            model.save(path)
            facts[name]["to_json"] = model.to_json()
        for i, w in enumerate(model.get_weights()):
            arrays[f"{name}/w/{i:03d}"] = w
        if name == "mixed_precision" and tag == "tk":
            keras.mixed_precision.set_global_policy("mixed_float16")
        keras.backend.clear_session()
        reloaded = load(keras, path)
        keras.mixed_precision.set_global_policy("float32")
        for i, y in enumerate(outputs(reloaded.predict(feed(reloaded, x), verbose=0))):
            arrays[f"{name}/pred/{i}"] = y


def optimizer(keras, path, kwargs):
    obj = keras.optimizers
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj(**kwargs)


def write_compiled(tag, keras, arrays, facts):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 4)).astype("float32")
    y = rng.standard_normal((6, 2)).astype("float32")
    for case, opt_path, opt_kwargs, include_optimizer in COMPILED:
        if tag == "k3" and (opt_path.startswith("legacy") or not include_optimizer):
            continue
        keras.backend.clear_session()
        model = fm.custom_compiled(keras, optimizer(keras, opt_path, opt_kwargs))
        model.set_weights(fm.random_weights(model, np.random.default_rng(5)))
        key = f"compiled_{case}"
        for i, w in enumerate(model.get_weights()):
            arrays[f"{key}/initial/{i:02d}"] = w
        first = model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0).history
        ext = "h5" if tag == "tk" else "keras"
        path = os.path.join(HERE, f"{key}.{tag}.{ext}")
        if tag == "tk":
            model.save(path, save_format="h5", include_optimizer=include_optimizer)
        else:
            model.save(path)
        keras.backend.clear_session()
        reloaded = load(keras, path)
        entry = {"first_history": {k: [float(v) for v in vs] for k, vs in first.items()},
                 "metrics_names_loaded": list(reloaded.metrics_names),
                 "compiled": reloaded.optimizer is not None}
        facts[key] = entry
        if reloaded.optimizer is None:      # saved without include_optimizer: not compiled
            continue
        entry.update({
                 "optimizer_class": type(reloaded.optimizer).__name__,
                 "iterations": int(reloaded.optimizer.iterations.numpy())})
        history = reloaded.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0).history
        entry["history_after_reload"] = {k: [float(v) for v in vs] for k, vs in history.items()}
        entry["metrics_names_after_fit"] = list(reloaded.metrics_names)
        for i, w in enumerate(reloaded.get_weights()):
            arrays[f"{key}/after/{i:02d}"] = w
    arrays["compiled/x"] = x
    arrays["compiled/y"] = y


def registration_facts(keras):
    """Registering a second object under a registered name: tf_keras replaces the first."""
    register = keras.saving.register_keras_serializable

    @register(package="files3_twice")
    def twice(t):
        return t

    def twice_again(t):
        return t
    try:
        register(package="files3_twice", name="twice")(twice_again)
        raised = None
    except ValueError as error:
        raised = str(error)
    found = keras.saving.get_registered_object("files3_twice>twice")
    return {"second_registration_error": raised,
            "lookup_is_second": found is twice_again, "lookup_is_first": found is twice,
            "first_name": keras.saving.get_registered_name(twice),
            "second_name": keras.saving.get_registered_name(twice_again)}


def main(tag):
    keras = library(tag)
    arrays, facts = {}, {}
    write_models(tag, keras, arrays, facts)
    write_compiled(tag, keras, arrays, facts)
    if tag == "tk":
        facts["registration"] = registration_facts(keras)
    flat = {}
    for key, value in arrays.items():
        for i, item in enumerate(value) if isinstance(value, list) else [(None, value)]:
            if item.dtype == object:        # strings: stored as unicode, no pickles
                item = item.astype(str)
            flat[key if i is None else f"{key}/{i}"] = item
    np.savez_compressed(os.path.join(HERE, f"expected_{tag}.npz"), **flat)
    with open(os.path.join(HERE, f"expected_{tag}.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
