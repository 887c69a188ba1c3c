# %% [markdown]
# # The Keras catalogue: initializers, losses, optimizers, metrics, regularizers, Lambda
#
# A visual tour of the interchangeable parts of a Keras model: what each initializer draws,
# how each loss grows with the error, how the optimizers race on the same problem from the same
# starting weights, what top-k accuracy measures, what L1 and L2 penalties do to the weights,
# and a custom layer written with backend functions (`K.*`) inside a `Lambda`.

# %%
import numpy as np
import matplotlib.pyplot as plt

import minikeras as keras
from minikeras import layers
K = keras.backend

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 2.8), "axes.grid": True})
keras.utils.set_random_seed(0)

(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
x_train = (x_train.reshape(-1, 64) / 16).astype("float32")
x_test = (x_test.reshape(-1, 64) / 16).astype("float32")
print(x_train.shape, x_test.shape)

# %% [markdown]
# ## Initializers
#
# The variance-scaling family draws with a variance of `scale / n`, where `n` is the fan-in
# (`lecun`, `he` with scale 2) or the average of fan-in and fan-out (`glorot`). Uniform versions
# draw from `[-limit, limit]` with `limit = sqrt(3 * scale / n)`; normal versions from a normal
# truncated at two standard deviations, rescaled so that the variance is still `scale / n`.
# Here for a `(64, 128)` kernel: fan-in 64, fan-out 128.

# %%
shape, fan_in, fan_out = (64, 128), 64, 128
expected_std = {
    "GlorotUniform": np.sqrt(2 / (fan_in + fan_out)), "GlorotNormal": np.sqrt(2 / (fan_in + fan_out)),
    "HeUniform": np.sqrt(2 / fan_in), "HeNormal": np.sqrt(2 / fan_in),
    "LecunUniform": np.sqrt(1 / fan_in), "LecunNormal": np.sqrt(1 / fan_in),
    "RandomNormal": 0.05, "RandomUniform": 0.05 * 2 / np.sqrt(12),
    "TruncatedNormal": 0.05 * 0.87962566, "Orthogonal": np.sqrt(1 / fan_out),
}
fig, axes = plt.subplots(2, 5, figsize=(11, 4), sharex=True)
for ax, name in zip(axes.ravel(), expected_std):
    weights = np.asarray(getattr(keras.initializers, name)(seed=1)(shape))
    ax.hist(weights.ravel(), bins=50, color="tab:green")
    ax.set_title(f"{name}\nstd {weights.std():.3f}", fontsize=9); ax.set_yticks([])
    assert abs(weights.std() / expected_std[name] - 1) < 0.05, name
plt.tight_layout(); plt.show()

orthogonal = np.asarray(keras.initializers.Orthogonal(seed=1)(shape))
assert np.allclose(orthogonal @ orthogonal.T, np.eye(64), atol=1e-5)     # orthonormal rows
glorot = np.asarray(keras.initializers.GlorotUniform(seed=1)(shape))
assert np.abs(glorot).max() <= np.sqrt(6 / (fan_in + fan_out))

# %% [markdown]
# ## Losses
#
# Left: probabilistic losses for a positive target (`y_true = 1`) as the predicted probability
# goes from 0 to 1; crossentropy (`-log(p + epsilon)`, `epsilon = 1e-7`) grows without bound as
# the prediction gets confidently wrong.
# Middle: regression losses against the error; `huber` and `log_cosh` are quadratic near 0 and
# linear far away, so outliers weigh less than under `mse`. Right: margin losses for a target
# of 1 (Keras maps 0/1 labels to -1/+1) against the raw score.

# %%
p = np.linspace(0.01, 0.99, 99).astype("float32")[:, None]
ones = np.ones_like(p)
error = np.linspace(-3, 3, 121).astype("float32")[:, None]
score = np.linspace(-2, 2, 81).astype("float32")[:, None]
loss = lambda name, y_true, y_pred: np.asarray(keras.losses.get(name)(y_true, y_pred))

fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for name in ["binary_crossentropy", "mse", "mae", "poisson"]:
    axes[0].plot(p, loss(name, ones, p), label=name)
axes[0].set_xlabel("predicted probability"); axes[0].set_ylim(0, 4); axes[0].legend(fontsize=8)
zeros = np.zeros_like(error)
for name in ["mse", "mae", "huber", "log_cosh"]:
    axes[1].plot(error, loss(name, zeros, error), label=name)
axes[1].set_xlabel("prediction - target"); axes[1].set_ylim(0, 4); axes[1].legend(fontsize=8)
for name in ["hinge", "squared_hinge"]:
    axes[2].plot(score, loss(name, np.ones_like(score), score), label=name)
axes[2].set_xlabel("score"); axes[2].legend(fontsize=8)
plt.tight_layout(); plt.show()

e = error[:, 0]
assert np.allclose(loss("binary_crossentropy", ones, p), -np.log(p[:, 0] + 1e-7), rtol=1e-5, atol=1e-6)
assert np.allclose(loss("huber", zeros, error), np.where(np.abs(e) <= 1, 0.5 * e**2, np.abs(e) - 0.5), atol=1e-6)
assert np.allclose(loss("log_cosh", zeros, error), np.log(np.cosh(e)), atol=1e-5)
assert np.allclose(loss("hinge", np.ones_like(score), score), np.maximum(0, 1 - score[:, 0]), atol=1e-6)

# %% [markdown]
# ## Optimizers racing on the digits
#
# The same small network (64 -> 32 relu -> 10 softmax), started from the same weights, trained
# for 20 epochs with each optimizer at its Keras default learning rate (0.01 for SGD, 0.001 for
# the others). At these defaults Adagrad and Adadelta barely move (their steps shrink as squared
# gradients accumulate), plain SGD is slow, and momentum, RMSprop and the Adam family
# (Adam, Nadam, Adamax with its max-norm) do most of the work within a few epochs.

# %%
def mlp(**dense_kwargs):
    return keras.Sequential([layers.Dense(32, activation="relu", input_shape=(64,), **dense_kwargs),
                             layers.Dense(10, activation="softmax")])

start = mlp()
initial_weights = start.get_weights()
optimizers = {
    "SGD": keras.optimizers.SGD(), "SGD momentum=0.9": keras.optimizers.SGD(momentum=0.9),
    "RMSprop": keras.optimizers.RMSprop(), "Adagrad": keras.optimizers.Adagrad(),
    "Adadelta": keras.optimizers.Adadelta(), "Adam": keras.optimizers.Adam(),
    "Adamax": keras.optimizers.Adamax(), "Nadam": keras.optimizers.Nadam(),
}
histories, trained = {}, {}
for name, optimizer in optimizers.items():
    model = mlp()
    model.set_weights(initial_weights)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    histories[name] = model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0).history["loss"]
    trained[name] = model

plt.figure(figsize=(8, 3.2))
for name, curve in histories.items():
    plt.plot(range(1, 21), curve, label=name)
plt.yscale("log"); plt.xlabel("epoch"); plt.ylabel("training loss"); plt.legend(fontsize=8, ncol=2)
plt.show()
final = {name: round(curve[-1], 3) for name, curve in histories.items()}
print(final)
assert max(final, key=final.get) == "Adadelta" and final["Adagrad"] > final["SGD"]
assert final["Adam"] < 0.5 * final["SGD"] and final["SGD momentum=0.9"] < final["SGD"]
assert all(curve[-1] < curve[0] for curve in histories.values())

# %% [markdown]
# ## Metrics: accuracy and top-k accuracy
#
# Top-k accuracy counts a prediction as right when the true class is among the `k` most
# probable ones. Computed by the Keras metric and by hand:

# %%
model = trained["Adam"]
model.compile("adam", "sparse_categorical_crossentropy",
              metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")])
results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print({k: round(v, 4) for k, v in results.items()})

probabilities = model.predict(x_test, verbose=0)
top3_by_hand = np.mean([label in np.argsort(row)[-3:] for row, label in zip(probabilities, y_test)])
accuracy_by_hand = np.mean(probabilities.argmax(1) == y_test)
assert np.isclose(results["top3"], top3_by_hand) and np.isclose(results["accuracy"], accuracy_by_hand)
assert results["top3"] >= results["accuracy"] > 0.9

confusion = np.zeros((10, 10), int)
np.add.at(confusion, (y_test, probabilities.argmax(1)), 1)
plt.figure(figsize=(3.2, 3.2)); plt.imshow(confusion, cmap="Blues"); plt.grid(False)
plt.xlabel("predicted"); plt.ylabel("true"); plt.title("test confusion matrix", fontsize=10)
plt.xticks(range(10)); plt.yticks(range(10)); plt.show()

# %% [markdown]
# ## Regularizers and the weights they leave
#
# `kernel_regularizer` adds a penalty on the weights to the loss: `l2(c)` adds `c * sum(w**2)`
# and shrinks all weights smoothly, `l1(c)` adds `c * sum(|w|)` and pushes many of them to
# (nearly) zero. Same network, same start, Adam for 20 epochs:

# %%
penalties = {"none": None, "l1(1e-3)": keras.regularizers.l1(1e-3),
             "l2(1e-3)": keras.regularizers.l2(1e-3), "l1_l2(1e-3, 1e-3)": keras.regularizers.l1_l2(1e-3, 1e-3)}
kernels = {}
for name, regularizer in penalties.items():
    model = mlp(kernel_regularizer=regularizer)
    model.set_weights(initial_weights)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
    kernels[name] = model.layers[0].kernel.numpy()
    if name == "l2(1e-3)":
        assert np.isclose(float(model.losses[0]), 1e-3 * np.sum(kernels[name] ** 2), rtol=1e-5)

plt.figure(figsize=(8, 3))
for name, kernel in kernels.items():
    plt.hist(kernel.ravel(), bins=np.linspace(-1, 1, 81), histtype="step", lw=1.5,
             label=f"{name}: |W|={np.linalg.norm(kernel):.1f}")
plt.yscale("log"); plt.xlabel("first-layer weight"); plt.legend(fontsize=8); plt.show()

norm = {name: np.linalg.norm(kernel) for name, kernel in kernels.items()}
near_zero = {name: np.mean(np.abs(kernel) < 1e-2) for name, kernel in kernels.items()}
print("fraction of |w| < 0.01:", {k: round(float(v), 3) for k, v in near_zero.items()})
assert norm["l2(1e-3)"] < norm["none"] and norm["l1(1e-3)"] < norm["none"]
assert near_zero["l1(1e-3)"] > 2 * near_zero["none"]

# %% [markdown]
# ## A Lambda layer with backend functions: the antirectifier
#
# The antirectifier (from the Keras examples) replaces ReLU: it centres each sample, scales it to
# unit length, and returns both its positive and its negative part, so no information is thrown
# away and the output has twice the features. Written with `K.*` functions inside `Lambda`,
# exactly as with `tf.keras.backend`:

# %%
def antirectifier(x):
    x = x - K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    return K.concatenate([K.relu(x), K.relu(-x)], axis=1)

model = keras.Sequential([
    layers.Dense(64, input_shape=(64,)), layers.Lambda(antirectifier),
    layers.Dense(32), layers.Lambda(antirectifier),
    layers.Dense(10, activation="softmax"),
])
model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0,
                    validation_data=(x_test, y_test))
print("validation accuracy:", round(history.history["val_accuracy"][-1], 4))

features = layers.Lambda(antirectifier)(x_test[:5]).numpy()
assert model.layers[1].output_shape == (None, 128)
assert np.allclose(np.linalg.norm(features, axis=1), 1, atol=1e-5)   # |relu(x)|^2 + |relu(-x)|^2 = |x|^2
assert history.history["val_accuracy"][-1] > 0.9
