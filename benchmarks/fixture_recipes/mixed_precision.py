"""Writes tests/fixtures/mixed_precision/ with tf_keras 2.21 under the 'mixed_float16' policy
(TF_ENABLE_ONEDNN_OPTS=0, CPU): layer outputs and weight gradients, fits of small models with
seeded initial weights (the loss scale of each step), a step that overflows, and a compiled
model saved to .h5.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python \
        benchmarks/fixture_recipes/mixed_precision.py --peer
"""
import json
import os

import numpy as np

import peer

peer.require_peer()
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

OUT = peer.fixture_dir("mixed_precision")
L = keras.layers


def seeded(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def set_seeded_weights(model, seed):
    """Seeded weights; gammas and moving variances positive."""
    weights = []
    for k, (w, v) in enumerate(zip(model.get_weights(), model.weights)):
        w = seeded(w.shape, seed + k, 0.3 if w.ndim > 1 else 0.1)
        weights.append(np.abs(w) + 0.5 if "variance" in v.name or "gamma" in v.name else w)
    model.set_weights(weights)
    return weights


# --- layer cases: (name, builder, input) ----------------------------------------------------
def layer_cases():
    x2 = seeded((4, 6), 1)
    x4 = seeded((2, 5, 5, 3), 2)
    ids = np.array([[1, 3, 0], [4, 2, 2]], np.int32)
    seq = seeded((2, 4, 3), 3)
    return [
        ("dense_relu", lambda: L.Dense(5, activation="relu"), x2),
        ("dense_tanh", lambda: L.Dense(5, activation="tanh"), x2),
        ("dense_sigmoid", lambda: L.Dense(5, activation="sigmoid"), x2),
        ("conv2d", lambda: L.Conv2D(4, 3, padding="same", activation="relu"), x4),
        ("batchnorm", lambda: L.BatchNormalization(), x4),
        ("layernorm", lambda: L.LayerNormalization(), x2),
        ("softmax", lambda: L.Activation("softmax"), x2 * 3),
        ("softmax_float32", lambda: L.Activation("softmax", dtype="float32"), x2 * 3),
        ("embedding", lambda: L.Embedding(5, 3), ids),
        ("lstm", lambda: L.LSTM(3), seq),
        ("conv2d_transpose", lambda: L.Conv2DTranspose(2, 3, strides=2), x4),
        ("depthwise", lambda: L.DepthwiseConv2D(3), x4),
        ("max_pool", lambda: L.MaxPooling2D(), x4),
        ("global_avg", lambda: L.GlobalAveragePooling2D(), x4),
    ]


def write_layers(arrays, facts):
    for k, (name, build, x) in enumerate(layer_cases()):
        layer = build()
        layer(x)
        weights = [seeded(w.shape, 100 + 10 * k + i, 0.4) for i, w in
                   enumerate(layer.get_weights())]
        if name == "batchnorm":
            weights[3] = np.abs(weights[3]) + 0.5
        layer.set_weights(weights)
        for i, w in enumerate(weights):
            arrays[f"{name}/w{i}"] = w
        arrays[f"{name}/x"] = x
        out = layer(x, training=True)
        arrays[f"{name}/out_train"] = out.numpy()
        arrays[f"{name}/out_infer"] = layer(x, training=False).numpy()
        r = seeded(out.shape, 7 + k)
        with tf.GradientTape() as tape:
            tx = tf.constant(x)
            if x.dtype.kind == "f":
                tape.watch(tx)
            out = layer(tx, training=True)
            loss = tf.reduce_sum(tf.cast(out, tf.float32) * r)
        sources = list(layer.trainable_weights) + ([tx] if x.dtype.kind == "f" else [])
        grads = tape.gradient(loss, sources)
        arrays[f"{name}/r"] = r
        for i, g in enumerate(grads):
            arrays[f"{name}/g{i}"] = tf.convert_to_tensor(g).numpy()
        facts[name] = {"out_dtype": out.dtype.name,
                       "weights": [(w.name, w.dtype.name) for w in layer.weights],
                       "grad_dtypes": [g.dtype.name for g in grads],
                       "config_dtype": layer.get_config()["dtype"]}


# --- fits ---------------------------------------------------------------------------------
def guide_mlp():
    inputs = keras.Input(shape=(12,), name="digits")
    x = L.Dense(16, activation="relu", name="dense_1")(inputs)
    x = L.Dense(16, activation="relu", name="dense_2")(x)
    x = L.Dense(4, name="dense_logits")(x)
    outputs = L.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def conv_bn():
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        L.Conv2D(4, 3, padding="same"),
        L.BatchNormalization(),
        L.Activation("relu"),
        L.MaxPooling2D(),
        L.Flatten(),
        L.Dense(3),
        L.Activation("softmax", dtype="float32"),
    ])


FITS = {
    "mlp_rmsprop": (guide_mlp, lambda: keras.optimizers.RMSprop(), (12,), 4),
    "mlp_sgd_growth": (guide_mlp, lambda: keras.mixed_precision.LossScaleOptimizer(
        keras.optimizers.SGD(0.1, momentum=0.9), dynamic_growth_steps=2), (12,), 4),
    "mlp_overflow": (guide_mlp, lambda: keras.mixed_precision.LossScaleOptimizer(
        keras.optimizers.Adam(0.01), initial_scale=2.0 ** 40, dynamic_growth_steps=3), (12,), 4),
    "conv_bn_adam": (conv_bn, lambda: keras.optimizers.Adam(0.01), (6, 6, 2), 3),
}


class ScaleRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.scales, self.counters, self.iterations = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        opt = self.model.optimizer
        self.scales.append(float(opt.loss_scale))
        self.counters.append(int(opt.dynamic_counter))
        self.iterations.append(int(opt.iterations))


def write_fits(arrays, facts):
    for k, (name, (build, make_opt, shape, classes)) in enumerate(FITS.items()):
        model = build()
        weights = set_seeded_weights(model, 1000 + 50 * k)
        for i, w in enumerate(weights):
            arrays[f"fit_{name}/w{i}"] = w
        x = seeded((24,) + shape, 2000 + k)
        y = np.random.default_rng(3000 + k).integers(0, classes, 24)
        arrays[f"fit_{name}/x"] = x
        arrays[f"fit_{name}/y"] = y
        model.compile(optimizer=make_opt(), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        recorder = ScaleRecorder()
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                            callbacks=[recorder])
        for i, w in enumerate(model.get_weights()):
            arrays[f"fit_{name}/after{i}"] = w
        arrays[f"fit_{name}/predict"] = model.predict(x, verbose=0)
        facts[f"fit_{name}"] = {
            "history": history.history, "scales": recorder.scales,
            "counters": recorder.counters, "iterations": recorder.iterations,
            "optimizer_class": type(model.optimizer).__name__,
            "optimizer_config": json.loads(json.dumps(model.optimizer.get_config(),
                                                      default=float)),
            "optimizer_variables": [v.name for v in model.optimizer.variables],
            "output_dtype": model.output.dtype.name,
        }
        if name == "mlp_rmsprop":
            model.save(os.path.join(OUT, "mlp_rmsprop.h5"), save_format="h5")
            facts["mlp_json"] = json.loads(model.to_json())


def write_custom_loop(arrays, facts):
    """The guide's custom training loop: get_scaled_loss / get_unscaled_gradients."""
    model = guide_mlp()
    weights = set_seeded_weights(model, 5000)
    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.05))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    x = seeded((8, 12), 5001)
    y = np.random.default_rng(5002).integers(0, 4, 8)
    losses, scaled = [], []
    for step in range(3):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            scaled_loss = opt.get_scaled_loss(loss)
        grads = tape.gradient(scaled_loss, model.trainable_variables)
        if step == 0:
            for i, g in enumerate(grads):
                arrays[f"loop/scaled_grad{i}"] = g.numpy()
        grads = opt.get_unscaled_gradients(grads)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
        scaled.append(float(scaled_loss))
    for i, w in enumerate(weights):
        arrays[f"loop/w{i}"] = w
    arrays["loop/x"] = x
    arrays["loop/y"] = y
    for i, w in enumerate(model.get_weights()):
        arrays[f"loop/after{i}"] = w
    facts["loop"] = {"losses": losses, "scaled_losses": scaled,
                     "loss_dtype": loss.dtype.name, "scaled_dtype": scaled_loss.dtype.name}


def write_checkpoint(facts):
    """A TF-format checkpoint of a model trained through a dynamic loss scale."""
    model = keras.Sequential([keras.Input((3,)), L.Dense(2),
                              L.Activation("linear", dtype="float32")])
    set_seeded_weights(model, 6000)
    model.compile(keras.mixed_precision.LossScaleOptimizer(
        keras.optimizers.Adam(), dynamic_growth_steps=2), "mse")
    x = seeded((10, 3), 6001, 0.1)
    model.fit(x, x[:, :2], batch_size=2, verbose=0, shuffle=False)
    model.save_weights(os.path.join(OUT, "ckpt", "ckpt"))
    facts["ckpt"] = {"scale": float(model.optimizer.loss_scale),
                     "counter": int(model.optimizer.dynamic_counter),
                     "iterations": int(model.optimizer.iterations),
                     "keys": sorted(name for name, _ in tf.train.list_variables(
                         os.path.join(OUT, "ckpt", "ckpt")))}


def main():
    os.makedirs(OUT, exist_ok=True)
    keras.mixed_precision.set_global_policy("mixed_float16")
    arrays, facts = {}, {}
    write_layers(arrays, facts)
    write_fits(arrays, facts)
    write_custom_loop(arrays, facts)
    write_checkpoint(facts)
    np.savez_compressed(os.path.join(OUT, "expected.npz"), **arrays)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(facts, f, indent=1, default=float)


if __name__ == "__main__":
    main()
