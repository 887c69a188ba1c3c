"""Writes tests/fixtures/erf/ (fid-erf) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python erf.py --peer

`erf.npz` holds what TensorFlow 2.21 on CPU answers for:
- `x32`, `erf32`, `erfc32`: tf.math.erf / tf.math.erfc of a float32 sweep (dense over
  [-12, 12], near 0, subnormals, +-inf, NaN, the clamps at 3.83 / 4 / 11 and the flush of
  results below 1.2e-38 near x = 9.2-10.1); `x64`, `erf64`, `erfc64` the same in float64
  (sweep to +-30 and huge values). Each sweep's length is a multiple of 32 so every element
  goes through Eigen's packet path (the scalar tail of a tensor uses std::exp).
- `gelu_x` (float32) and `gelu_r`: tf_keras.activations.gelu(x) (exact form, the Keras 2
  default) as `gelu_y`, the gradient of sum(r * gelu(x)) as `gelu_g`, and the output of
  layers.Activation("gelu") as `gelu_layer_y`; `gelu_erf_g` / `gelu_erfc_g`: the gradients
  of sum(r * erf(x)) / sum(r * erfc(x)); `gelu_h`: the gradient of sum(r2 * g), g the
  gradient of sum(r * gelu(x)) taken inside an outer tape (r2 = `gelu_r2`).
"""
import os

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tensorflow as tf   # noqa: E402
import tf_keras as keras  # noqa: E402

FOLDER = fixture_dir("erf")


def padded(values, dtype):
    """`values` as `dtype`, repeated at the end up to a multiple of 32 elements."""
    values = np.asarray(values, dtype)
    return np.concatenate([values, values[:(-values.size) % 32]])


def float32_sweep(rng):
    tiny = np.finfo(np.float32).tiny
    parts = [np.linspace(-12, 12, 2401), rng.standard_normal(800) * 3,
             np.linspace(-1e-3, 1e-3, 101), np.linspace(9.0, 10.2, 241),
             np.linspace(0.99, 1.01, 41), -np.linspace(0.99, 1.01, 41),
             np.linspace(3.80, 4.05, 51), -np.linspace(3.80, 4.05, 51),
             [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1.4e-45, tiny, -tiny, tiny / 2,
              1e-30, 3.832507, 11.0, -11.0, 11.5, 30.0, -30.0, 1e20, -1e20, 3.4e38, -3.4e38]]
    return padded(np.concatenate([np.asarray(p, np.float64) for p in parts]), np.float32)


def float64_sweep(rng):
    parts = [np.linspace(-30, 30, 2401), rng.standard_normal(600) * 4,
             np.linspace(-1e-6, 1e-6, 51), np.linspace(26.0, 28.5, 101),
             [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e-310, 5e-324, 1e-200, 1.0, -1.0,
              np.nextafter(1.0, 2), 1e150, -1e150, 1e200, -1e300, 1.7e308]]
    return padded(np.concatenate([np.asarray(p, np.float64) for p in parts]), np.float64)


def gradient(function, x, r):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
        loss = tf.reduce_sum(r * y)
    return y.numpy(), tape.gradient(loss, x).numpy()


def second_order(function, x, r, r2):
    x = tf.constant(x)
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            loss = tf.reduce_sum(r * function(x))
        weighted = tf.reduce_sum(r2 * inner.gradient(loss, x))
    return outer.gradient(weighted, x).numpy()


def main():
    rng = np.random.default_rng(2026)
    out = {}
    x32 = float32_sweep(rng)
    out.update(x32=x32, erf32=tf.math.erf(x32).numpy(), erfc32=tf.math.erfc(x32).numpy())
    x64 = float64_sweep(rng)
    out.update(x64=x64, erf64=tf.math.erf(x64).numpy(), erfc64=tf.math.erfc(x64).numpy())

    gelu_x = padded(np.concatenate([np.linspace(-14, 14, 1401), rng.standard_normal(600) * 2,
                                    [0.0, -0.0, 1e-40, 40.0, -40.0]]), np.float32)
    gelu_r = rng.standard_normal(gelu_x.size).astype(np.float32)
    out.update(gelu_x=gelu_x, gelu_r=gelu_r)
    out["gelu_y"], out["gelu_g"] = gradient(keras.activations.gelu, gelu_x, gelu_r)
    out["gelu_layer_y"] = keras.layers.Activation("gelu")(gelu_x[None]).numpy()[0]
    out["gelu_erf_g"] = gradient(tf.math.erf, gelu_x, gelu_r)[1]
    out["gelu_erfc_g"] = gradient(tf.math.erfc, gelu_x, gelu_r)[1]
    out["gelu_r2"] = rng.standard_normal(gelu_x.size).astype(np.float32)
    out["gelu_h"] = second_order(keras.activations.gelu, gelu_x, gelu_r, out["gelu_r2"])
    np.savez_compressed(os.path.join(FOLDER, "erf.npz"), **out)
    print({name: value.shape for name, value in out.items()})


if __name__ == "__main__":
    main()
