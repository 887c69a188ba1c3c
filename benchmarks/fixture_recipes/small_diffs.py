"""Writes tests/fixtures/small_diffs/ with Keras 3.15.1 (the peer venv): run with the peer's
Python, TF_CPP_MIN_LOG_LEVEL=3 python small_diffs.py --peer (fid-small sweep).

`random_contrast_value_range.keras`: a Keras 3 model Input((4, 4, 3)) -> RandomContrast(0.0,
value_range=(0, 1)) (factor 0: the contrast factor is 1, so training mode only clips to the
value range, which compares without a random stream); `random_contrast_value_range.npz`: the
input `x` (values in [-0.5, 1.5]), Keras 3's `predict` (inference: identity) and the layer
called with training=True (clipped)."""
import os

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import keras  # noqa: E402


def write_random_contrast():
    folder = fixture_dir("small_diffs")
    os.makedirs(folder, exist_ok=True)
    inputs = keras.Input((4, 4, 3))
    layer = keras.layers.RandomContrast(0.0, value_range=(0, 1), name="contrast")
    model = keras.Model(inputs, layer(inputs))
    model.save(os.path.join(folder, "random_contrast_value_range.keras"))
    x = np.linspace(-0.5, 1.5, 2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    np.savez(os.path.join(folder, "random_contrast_value_range.npz"), x=x,
             predicted=model.predict(x, verbose=0),
             training=keras.ops.convert_to_numpy(layer(x, training=True)))


if __name__ == "__main__":
    write_random_contrast()
