"""fit() traces, gradients and model forward passes against numbers recorded with tf.keras 2.21."""
import json

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
import fixtures.fixture_models as fixture_models  # noqa: E402


def load_case(area, name):
    with open(fixture_path(area, f"{name}.json")) as handle:
        meta = json.load(handle)
    return meta, np.load(fixture_path(area, f"{name}.npz"))


def set_layer_weights(model, arrays, prefix):
    for layer in model.layers:
        count = len(layer.get_weights())
        if count:
            layer.set_weights([arrays[f"{prefix}/{layer.name}/{i}"] for i in range(count)])


def make_target(spec, y):
    kind, _, classes = spec.partition(":")
    return keras.utils.to_categorical(y, int(classes)) if kind == "onehot" and y.ndim == 1 else y


def test_mlp_fit_trace_matches_tf_keras():
    with open(fixture_path("training", "traces.json")) as handle:
        case = json.load(handle)[0]
    arrays = np.load(fixture_path("training", "traces.npz"))
    name = case["name"]
    model = fixture_models.mlp_train(keras)
    set_layer_weights(model, arrays, f"{name}/w_init")
    model.compile(fixture_models.make_optimizer(keras, case["compile"]["optimizer"]),
                  case["compile"]["loss"], metrics=case["compile"]["metrics"])
    history = model.fit(arrays[f"{name}/x"], arrays[f"{name}/y"], batch_size=case["fit"]["batch_size"],
                        epochs=case["fit"]["epochs"], shuffle=False, verbose=0,
                        validation_data=(arrays[f"{name}/x_val"], arrays[f"{name}/y_val"]))
    assert sorted(history.history) == sorted(case["history"])
    for key, values in case["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-4, err_msg=key)
    for layer in model.layers:
        for i, weight in enumerate(layer.get_weights()):
            expected = arrays[f"{name}/w_final/{layer.name}/{i}"]
            np.testing.assert_allclose(weight, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict(arrays[f"{name}/x_val"], verbose=0),
                               arrays[f"{name}/pred_val"], rtol=1e-4, atol=1e-5)
    evaluated = model.evaluate(arrays[f"{name}/x_val"], arrays[f"{name}/y_val"], verbose=0,
                               return_dict=True)
    for key, value in case["evaluate_val"].items():
        np.testing.assert_allclose(evaluated[key], value, rtol=1e-4)


def load_trace():
    with open(fixture_path("training", "traces.json")) as handle:
        case = json.load(handle)[0]
    arrays = np.load(fixture_path("training", "traces.npz"))
    name = case["name"]
    model = fixture_models.mlp_train(keras)
    set_layer_weights(model, arrays, f"{name}/w_init")
    model.compile(fixture_models.make_optimizer(keras, case["compile"]["optimizer"]),
                  case["compile"]["loss"], metrics=case["compile"]["metrics"])
    data = {key: arrays[f"{name}/{key}"] for key in ("x", "y", "x_val", "y_val")}
    return case, model, data


def assert_history_matches(history, case):
    assert sorted(history) == sorted(case["history"])
    for key, values in case["history"].items():
        np.testing.assert_allclose(history[key], values, rtol=2e-4, err_msg=key)


def test_fit_trace_with_validation_split():
    """validation_split keeps the *last* samples: training on x followed by x_val with
    validation_split=0.25 is the fixture's run with validation_data=(x_val, y_val)."""
    case, model, data = load_trace()
    x = np.concatenate([data["x"], data["x_val"]])
    y = np.concatenate([data["y"], data["y_val"]])
    history = model.fit(x, y, batch_size=case["fit"]["batch_size"], epochs=case["fit"]["epochs"],
                        shuffle=False, verbose=0, validation_split=0.25)
    assert_history_matches(history.history, case)


def test_fit_trace_with_unit_class_weight_and_sample_weight():
    case, model, data = load_trace()
    classes = data["y"].shape[-1]
    history = model.fit(data["x"], data["y"], batch_size=case["fit"]["batch_size"],
                        epochs=case["fit"]["epochs"], shuffle=False, verbose=0,
                        class_weight={c: 1.0 for c in range(classes)},
                        sample_weight=np.ones(len(data["x"]), np.float32),
                        validation_data=(data["x_val"], data["y_val"]))
    assert_history_matches(history.history, case)


def test_fit_trace_fed_by_a_generator_and_a_sequence():
    batch_size = 16

    class Batches(keras.utils.Sequence):
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return -(-len(self.x) // batch_size)

        def __getitem__(self, index):
            part = slice(index * batch_size, (index + 1) * batch_size)
            return self.x[part], self.y[part]

    def endless(x, y):
        while True:
            yield from Batches(x, y)

    for feed in ("generator", "sequence"):
        keras.backend.clear_session()
        case, model, data = load_trace()
        source = Batches(data["x"], data["y"])
        kwargs = {"steps_per_epoch": case["steps_per_epoch"]} if feed == "generator" else {}
        history = model.fit(endless(data["x"], data["y"]) if feed == "generator" else source,
                            epochs=case["fit"]["epochs"], verbose=0, shuffle=False,
                            validation_data=Batches(data["x_val"], data["y_val"]), **kwargs)
        assert_history_matches(history.history, case)


def test_gradients_match_tf_keras():
    with open(fixture_path("grads", "cases.json")) as handle:
        cases = json.load(handle)
    arrays = np.load(fixture_path("grads", "cases.npz"))
    checked = 0
    for case in cases:
        name = case["name"]
        builder = getattr(fixture_models, case["model"])
        try:
            model = builder(keras)
        except AttributeError:
            continue  # layers of a later issue (conv) not available yet
        keras.backend.clear_session()
        model = builder(keras)
        set_layer_weights(model, arrays, f"{name}/w")
        x = arrays[f"{name}/input/0"]
        y = make_target(case["target"], arrays[f"{name}/y"])
        with keras.GradientTape() as tape:
            pred = model(x, training=True)
            loss = keras.losses.get(case["loss"])(y, pred)
            loss = keras.ops.mean(loss)
        np.testing.assert_allclose(pred.numpy(), arrays[f"{name}/pred"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(float(loss), case["loss_value"], rtol=1e-5)
        assert [w.name for w in model.trainable_weights] == case["trainable_weight_names"]
        grads = tape.gradient(loss, model.trainable_weights)
        for i, grad in enumerate(grads):
            np.testing.assert_allclose(grad.numpy(), arrays[f"{name}/grad/{i:03d}"], rtol=2e-4,
                                       atol=1e-6, err_msg=f"{name} grad {i}")
        checked += 1
    assert checked >= 1


def test_train_on_batch_gradient_equals_fixture():
    """The public-API route of the fixture README: SGD(1.0) step = minus the gradient."""
    with open(fixture_path("grads", "cases.json")) as handle:
        case = json.load(handle)[0]
    arrays = np.load(fixture_path("grads", "cases.npz"))
    name = case["name"]
    model = fixture_models.mlp_train(keras)
    set_layer_weights(model, arrays, f"{name}/w")
    model.compile(keras.optimizers.SGD(learning_rate=1.0), case["loss"])
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(arrays[f"{name}/input/0"], make_target(case["target"], arrays[f"{name}/y"]))
    np.testing.assert_allclose(loss, case["loss_value"], rtol=1e-5)
    for i, (w0, w) in enumerate(zip(before, model.trainable_weights)):
        np.testing.assert_allclose(w0 - w.numpy(), arrays[f"{name}/grad/{i:03d}"], rtol=2e-4, atol=1e-6)


MODEL_FIXTURES = ["mlp_dropout", "cnn_seed", "seed_conv_strides", "resnet_block"]


def build_fixture_model(name):
    try:
        return getattr(fixture_models, name)(keras)
    except AttributeError as error:
        pytest.skip(f"layers of a later issue missing: {error}")


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_model_fixture_summary_and_forward(name):
    meta, arrays = load_case("models", name)
    model = build_fixture_model(name)
    lines = []
    model.summary(print_fn=lines.append)
    with open(fixture_path("models", f"{name}.summary.txt")) as handle:
        expected = handle.read().splitlines()
    assert [l.rstrip() for l in lines] == [l.rstrip() for l in expected]
    assert [w.name for w in model.weights] == meta["model_weight_names"]
    assert [w.name for w in model.trainable_weights] == meta["trainable_weight_names"]
    assert [w.name for w in model.non_trainable_weights] == meta["non_trainable_weight_names"]
    assert [list(w.shape) for w in model.get_weights()] == meta["model_weight_shapes"]
    assert model.count_params() == meta["total_params"]
    for layer, row in zip(model.layers, meta["layers"]):
        assert layer.name == row["name"] and type(layer).__name__ == row["class"]
        assert json.loads(json.dumps(layer.output_shape)) == row["output_shape"]
        assert layer.count_params() == row["params"]
    set_layer_weights(model, arrays, "w")
    inputs = [arrays[f"input/{k}"] for k in range(len(meta["input_shapes"]))]
    x = inputs[0] if len(inputs) == 1 else inputs
    np.testing.assert_allclose(model(x, training=False).numpy(), arrays["out_infer"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), arrays["out_infer"], rtol=1e-4, atol=1e-5)
    if not meta["has_training_case"]:
        return
    for step, suffix in ((1, ""), (2, "_2")):
        out = model(x, training=True)
        np.testing.assert_allclose(out.numpy(), arrays[f"out_train{suffix}"], rtol=1e-4, atol=1e-5)
        for layer in model.layers:
            for i, weight in enumerate(layer.get_weights()):
                np.testing.assert_allclose(weight, arrays[f"w_after_train{suffix}/{layer.name}/{i}"],
                                           rtol=1e-4, atol=1e-5, err_msg=f"{layer.name}/{i} step {step}")
    np.testing.assert_allclose(model.predict(x, verbose=0), arrays["out_infer_after_train"],
                               rtol=1e-4, atol=1e-5)
