# %% [markdown]
# # Reading `summary()`, and saving models in every Keras format
#
# The first half reads a `model.summary()` line by line: where each output shape and each
# parameter count comes from. The model is the small CNN of the Keras guides (the dog-breed
# classifier, 224x224 RGB in, 133 classes out, 19,189 parameters). The second half trains it
# briefly and saves it: weights to HDF5 and back, a legacy `.h5` file written by real Keras
# (tf.keras 2.21) loaded and predicting, and the `.keras` format round trip.

# %%
import json
import os
import tempfile
import zipfile

import h5py
import numpy as np
import matplotlib.pyplot as plt

import minikeras as keras
from minikeras import layers

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 2.8), "axes.grid": True})
keras.utils.set_random_seed(0)
FILES = os.path.join(os.pardir, "tests", "fixtures", "files")   # written by real Keras
work = tempfile.mkdtemp()

# %% [markdown]
# ## The 19,189-parameter CNN

# %%
def guide_cnn(input_shape=(224, 224, 3)):
    return keras.Sequential([
        layers.Conv2D(16, 2, activation="relu", input_shape=input_shape),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 2, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 2, activation="relu"),
        layers.MaxPooling2D(2),
        layers.GlobalAveragePooling2D(),
        layers.Dense(133, activation="softmax"),
    ])

keras.backend.clear_session()          # automatic names start again at conv2d, dense, ...
model = guide_cnn()
lines = []
model.summary(print_fn=lines.append)
print("\n".join(lines))

with open(os.path.join(FILES, "files.json")) as handle:
    tf_keras_lines = json.load(handle)["models"]["cnn_seed"]["summary_lines"]
assert [line.rstrip() for line in lines] == [line.rstrip() for line in tf_keras_lines]
print("identical to the summary tf.keras 2.21 prints for this model")

# %% [markdown]
# ### Line by line
#
# | layer | output shape | why | parameters | why |
# |---|---|---|---|---|
# | conv2d | (None, 223, 223, 16) | a 2x2 kernel without padding fits 224 - 2 + 1 = 223 times; 16 filters | 208 | 2 x 2 x 3 inputs x 16 filters + 16 biases |
# | max_pooling2d | (None, 111, 111, 16) | floor(223 / 2) | 0 | pooling has no weights |
# | conv2d_1 | (None, 110, 110, 32) | 111 - 1 | 2,080 | 2 x 2 x 16 x 32 + 32 |
# | max_pooling2d_1 | (None, 55, 55, 32) | floor(110 / 2) | 0 | |
# | conv2d_2 | (None, 54, 54, 64) | 55 - 1 | 8,256 | 2 x 2 x 32 x 64 + 64 |
# | max_pooling2d_2 | (None, 27, 27, 64) | floor(54 / 2) | 0 | |
# | global_average_pooling2d | (None, 64) | one average per channel | 0 | |
# | dense | (None, 133) | 133 classes | 8,645 | 64 x 133 + 133 |
#
# `None` is the batch size, unknown until data arrives. The total, 19,189 float32 numbers, takes
# 19,189 x 4 bytes = 76,756 bytes = 74.96 KB. Every parameter is trainable here; a
# BatchNormalization layer would add non-trainable moving statistics.

# %%
expected = {"conv2d": ((None, 223, 223, 16), 2 * 2 * 3 * 16 + 16),
            "max_pooling2d": ((None, 111, 111, 16), 0),
            "conv2d_1": ((None, 110, 110, 32), 2 * 2 * 16 * 32 + 32),
            "max_pooling2d_1": ((None, 55, 55, 32), 0),
            "conv2d_2": ((None, 54, 54, 64), 2 * 2 * 32 * 64 + 64),
            "max_pooling2d_2": ((None, 27, 27, 64), 0),
            "global_average_pooling2d": ((None, 64), 0),
            "dense": ((None, 133), 64 * 133 + 133)}
for layer in model.layers:
    assert (layer.output_shape, layer.count_params()) == expected[layer.name], layer.name
assert model.count_params() == 19189 and round(19189 * 4 / 1024, 2) == 74.96

# %% [markdown]
# Parameters are one budget, arithmetic another: `summary(show_flops=True)` (a minikeras
# extension) adds the floating-point operations per image. The first convolution has only 208
# weights but runs them at 223 x 223 positions.

# %%
model.summary(show_flops=True)
flops = {row["name"]: row["flops"] for row in keras.utils.count_flops(model)}
assert flops["conv2d"] == 2 * 223 * 223 * 16 * (2 * 2 * 3)

# %% [markdown]
# ## Training it briefly on the digits
#
# No weight shape depends on the image size: a convolution slides the same kernel over any
# image, and global average pooling reduces whatever spatial size is left to one number per
# channel. So the very same 19,189 parameters work on small images. The 8x8 digits, enlarged to
# 16x16 with three identical colour channels, train in seconds (10 of the 133 outputs are used).

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()

def as_rgb16(images):
    big = np.repeat(np.repeat(images / 16, 2, axis=1), 2, axis=2)
    return np.repeat(big[..., None], 3, axis=3).astype("float32")

x_train, x_test = as_rgb16(x_train), as_rgb16(x_test)
small = guide_cnn(input_shape=(16, 16, 3))
assert small.count_params() == 19189
small.compile(keras.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
history = small.fit(x_train, y_train, epochs=4, batch_size=32, validation_data=(x_test, y_test),
                    verbose=2)
assert history.history["val_accuracy"][-1] > 0.85

# %%
predictions = small.predict(x_test[:10], verbose=0).argmax(1)
fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
for ax, image, label, guess in zip(axes, x_test, y_test, predictions):
    ax.imshow(image[..., 0], cmap="gray_r"); ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    ax.set_title(f"{guess}" + ("" if guess == label else f" (true {label})"), fontsize=9)
plt.show()

# %% [markdown]
# ## Weights to HDF5 and back
#
# `save_weights('name.h5')` writes Keras 2's HDF5 layout: the file lists the layer names, each
# layer's group lists its weight names, and each weight is a dataset under
# `<layer>/<weight name>`. A fresh model of the same architecture loads them and predicts
# identically.

# %%
weights_path = os.path.join(work, "digits_cnn.h5")
small.save_weights(weights_path)
with h5py.File(weights_path, "r") as f:
    print("layer_names:", list(f.attrs["layer_names"]))
    first = small.layers[0].name
    print(f"{first} weights:", list(f[first].attrs["weight_names"]))
    print("kernel dataset:", f[first][first]["kernel:0"])

reloaded = guide_cnn(input_shape=(16, 16, 3))
reloaded.load_weights(weights_path)
assert np.array_equal(reloaded.predict(x_test, verbose=0), small.predict(x_test, verbose=0))

# %% [markdown]
# Since no shape depends on the image size, the same file also loads into the 224x224 model.

# %%
model.load_weights(weights_path)
assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), small.get_weights()))

# %% [markdown]
# ## A legacy `.h5` model written by real Keras
#
# `cnn_seed_tk_full.h5` was written by tf.keras 2.21 with `model.save('x.h5')`: the model's
# config (JSON) in the file's attributes, the weights under `model_weights/`. `load_model`
# rebuilds the model from the config, loads the weights, and predicts what tf.keras predicted
# on the same two images (stored with the file).

# %%
legacy_path = os.path.join(FILES, "cnn_seed_tk_full.h5")
with h5py.File(legacy_path, "r") as f:
    print({key: f.attrs[key] for key in ("keras_version", "backend")})
legacy = keras.models.load_model(legacy_path, compile=False)   # saved uncompiled
legacy.summary()

reference = np.load(os.path.join(FILES, "expected.npz"))
images, tf_keras_output = reference["cnn_seed/x"], reference["cnn_seed/expected"]
output = legacy.predict(images, verbose=0)
print("largest difference from tf.keras:", float(np.abs(output - tf_keras_output).max()))
assert np.allclose(output, tf_keras_output, rtol=1e-4, atol=1e-5)

# %% [markdown]
# A weights-only file from tf.keras (`save_weights('x.h5')`) loads into a model built here:

# %%
keras.backend.clear_session()
rebuilt = guide_cnn()
rebuilt.load_weights(os.path.join(FILES, "cnn_seed_tk_legacy.h5"))
assert np.allclose(rebuilt.predict(images, verbose=0), tf_keras_output, rtol=1e-4, atol=1e-5)

# %% [markdown]
# ## The `.keras` format
#
# `model.save('name.keras')` writes the Keras 3 format: a zip holding `config.json` (the
# architecture), `metadata.json` and `model.weights.h5`. Saving and loading gives back the same
# architecture, weights and optimizer state; `cnn_seed_k3.keras`, written by Keras 3.15, loads too
# (tf.keras 2 itself cannot read that file).

# %%
keras_path = os.path.join(work, "digits_cnn.keras")
small.save(keras_path)
with zipfile.ZipFile(keras_path) as archive:
    print(sorted(archive.namelist()))
restored = keras.models.load_model(keras_path)
assert np.array_equal(restored.predict(x_test, verbose=0), small.predict(x_test, verbose=0))
assert [layer.name for layer in restored.layers] == [layer.name for layer in small.layers]
assert all(np.array_equal(a, b) for a, b in zip(restored.get_weights(), small.get_weights()))
print("restored optimizer:", type(restored.optimizer).__name__,
      "after", int(restored.optimizer.iterations.numpy()), "steps")
assert int(restored.optimizer.iterations.numpy()) == int(small.optimizer.iterations.numpy())

keras3 = keras.models.load_model(os.path.join(FILES, "cnn_seed_k3.keras"))
assert np.allclose(keras3.predict(images, verbose=0), tf_keras_output, rtol=1e-4, atol=1e-5)
