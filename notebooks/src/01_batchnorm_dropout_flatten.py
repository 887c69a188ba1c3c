# %% [markdown]
# # BatchNormalization, Dropout and Flatten, argument by argument
#
# This notebook shows, on data, what every argument of three everyday layers does:
# `BatchNormalization` (momentum, epsilon, center, scale, axis, renorm, virtual_batch_size,
# adjustment, trainable), `Dropout` / `SpatialDropout2D` (rate, noise_shape, seed) and
# `Flatten(data_format=...)`. It uses `minikeras`, which runs the Keras 2 API on NumPy: replace
# the import with `from tensorflow import keras` and the numbers are the same.
#
# Every claim is checked with an `assert`, so a wrong number stops the notebook.

# %%
import numpy as np
import matplotlib.pyplot as plt

import minikeras as keras
from minikeras import layers
K = keras.backend

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 2.8), "axes.grid": True})
keras.utils.set_random_seed(0)

# %% [markdown]
# The data: the UCI handwritten digits shipped with the package, 8x8 images with pixel counts
# 0..16. As flat vectors they give 64 features in [0, 1].

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
features = (x_train.reshape(len(x_train), 64) / 16).astype("float32")
print(x_train.shape, features.shape, features.dtype)
assert features.shape == (1437, 64)

# %% [markdown]
# ## BatchNormalization
#
# In training mode the layer normalises each feature with the statistics of the batch,
# `(x - mean) / sqrt(var + epsilon) * gamma + beta`, and updates moving averages of them:
# `moving = momentum * moving + (1 - momentum) * batch statistic`. At inference it uses the
# moving averages instead. One step, checked against that formula:

# %%
bn = layers.BatchNormalization()           # momentum=0.99, epsilon=1e-3
batch = features[:32]
out = bn(batch, training=True).numpy()
print([w.name for w in bn.weights])
assert np.allclose(bn.moving_mean.numpy(), 0.99 * 0 + 0.01 * batch.mean(0), atol=1e-7)
assert np.allclose(bn.moving_variance.numpy(), 0.99 * 1 + 0.01 * batch.var(0), rtol=1e-6)
expected = (batch - batch.mean(0)) / np.sqrt(batch.var(0) + 1e-3)
assert np.allclose(out, expected, atol=1e-5)

# %% [markdown]
# ### momentum: how fast the moving statistics follow the data
#
# Starting from mean 0, after `t` steps the moving mean has covered a fraction `1 - momentum**t`
# of the way to the data mean. With the default 0.99 that takes hundreds of steps; 0.9 gets
# there in a few dozen, but averages fewer batches, so it stays noisier.

# %%
pixel = 36                                   # a pixel near the centre of the image
true_mean = features.mean(0)
steps = 200
traces = {}
for momentum in (0.99, 0.9):
    layer = layers.BatchNormalization(momentum=momentum)
    trace = []
    for step in range(steps):
        rows = np.random.default_rng(step).integers(0, len(features), 32)
        layer(features[rows], training=True)
        trace.append(layer.moving_mean.numpy()[pixel])
    traces[momentum] = (layer, trace)

plt.figure()
for momentum, (_, trace) in traces.items():
    plt.plot(trace, label=f"momentum={momentum}")
plt.plot(true_mean[pixel] * (1 - 0.99 ** np.arange(1, steps + 1)), "k:", label="(1 - 0.99^t) * mean")
plt.axhline(true_mean[pixel], color="k", lw=0.8, label="data mean")
plt.xlabel("training step"); plt.ylabel(f"moving_mean[{pixel}]"); plt.legend(fontsize=8)
plt.show()

fast, slow = traces[0.9][0], traces[0.99][0]
assert np.abs(fast.moving_mean.numpy() - true_mean).max() < 0.1
assert np.abs(slow.moving_mean.numpy() - (1 - 0.99 ** steps) * true_mean).max() < 0.05

# %% [markdown]
# ### Training versus inference
#
# The same batch gives different outputs in the two modes. In training mode every feature of
# the output has mean 0 over the batch; at inference a fresh layer (moving mean 0, moving
# variance 1) only divides by `sqrt(1 + epsilon)`.

# %%
fresh = layers.BatchNormalization()
train_out = fresh(batch, training=True).numpy()
infer_out = fresh.__class__()(batch, training=False).numpy()
print("training-mode feature means:", np.round(train_out.mean(0)[:6], 6))
print("inference output / input:   ", np.round((infer_out / np.maximum(batch, 1e-9))[0, 10:14], 5))
assert np.abs(train_out.mean(0)).max() < 1e-5
assert np.allclose(infer_out, batch / np.sqrt(1 + 1e-3), rtol=1e-6)

# %% [markdown]
# ### epsilon
#
# `epsilon` is added to the variance. Pixels that are blank in the whole batch (variance 0)
# come out as 0 instead of a division by zero, and the output standard deviation of a feature
# is `sqrt(var / (var + epsilon))`: a large epsilon shrinks low-variance features.

# %%
for epsilon in (1e-3, 0.1):
    out = layers.BatchNormalization(epsilon=epsilon)(batch, training=True).numpy()
    var = batch.var(0)
    assert np.allclose(out.std(0), np.sqrt(var / (var + epsilon)), atol=1e-4)
    print(f"epsilon={epsilon}: output std of the first 8 features", np.round(out.std(0)[:8], 3))
blank = batch.var(0) == 0
print("blank pixels in this batch:", blank.sum())
assert np.all(out[:, blank] == 0)

# %% [markdown]
# ### center, scale and axis
#
# `center` adds the learned offset `beta`, `scale` the learned factor `gamma`; without them the
# layer has fewer weights. `axis` names the feature axis: the statistics are taken over all the
# other axes and every weight has the shape of that axis (`-1` for channels_last images, `1`
# for channels_first). A list keeps several axes; the weights then have a broadcastable shape
# such as `(1, 8, 8, 1)`.

# %%
for kwargs, names in [({}, ["gamma", "beta", "moving_mean", "moving_variance"]),
                      ({"center": False}, ["gamma", "moving_mean", "moving_variance"]),
                      ({"scale": False}, ["beta", "moving_mean", "moving_variance"]),
                      ({"center": False, "scale": False}, ["moving_mean", "moving_variance"])]:
    layer = layers.BatchNormalization(**kwargs)
    layer.build((None, 64))
    got = [w.name.split("/")[-1][:-2] for w in layer.weights]
    print(f"{str(kwargs):34} {layer.count_params():4d} weights: {got}")
    assert got == names and layer.count_params() == 64 * len(names)

images = np.random.default_rng(1).normal(size=(16, 8, 8, 3)).astype("float32")
for axis, data in [(-1, images), (1, images.transpose(0, 3, 1, 2)), ([1, 2], images)]:
    layer = layers.BatchNormalization(axis=axis)
    out = layer(data, training=True).numpy()
    print(f"axis={axis}: input {data.shape}, gamma {layer.gamma.shape}")
reduced = tuple(i for i in range(4) if i not in (1, 2))
assert layers.BatchNormalization(axis=1)(images.transpose(0, 3, 1, 2)).shape == (16, 3, 8, 8)
assert np.abs(out.mean(reduced)).max() < 1e-5 and layer.gamma.shape == (1, 8, 8, 1)

# %% [markdown]
# ### Activation histograms before and after BN
#
# A randomly initialised `Dense(64)` fed raw pixel counts (0..16) produces pre-activations
# spread over tens of units; after BatchNormalization each unit has mean 0 and variance 1 over
# the batch, which keeps the next nonlinearity in its useful range.

# %%
dense = layers.Dense(64)
raw = x_train[:256].reshape(256, 64).astype("float32")
before = dense(raw).numpy()
after = layers.BatchNormalization()(before, training=True).numpy()
fig, axes = plt.subplots(1, 2, figsize=(8, 2.6))
axes[0].hist(before.ravel(), bins=60, color="tab:red"); axes[0].set_title("Dense outputs")
axes[1].hist(after.ravel(), bins=60, color="tab:blue"); axes[1].set_title("after BatchNormalization")
plt.show()
print(f"before: mean {before.mean():.2f} std {before.std():.2f}; after: mean {after.mean():.3f} "
      f"std {after.std():.3f}")
assert abs(after.mean()) < 1e-4 and abs(after.std() - 1) < 0.01 and before.std() > 3

# %% [markdown]
# ### renorm, renorm_clipping, renorm_momentum
#
# Batch renormalisation keeps training-mode outputs consistent with inference when batches are
# small. It multiplies the normalised batch by `r = batch std / moving std` and adds
# `d = (batch mean - moving mean) / moving std`, both treated as constants and clipped to
# `[rmin, rmax]` and `[-dmax, dmax]`; the moving statistics it uses follow
# `renorm_momentum`. The layer gains three non-trainable weights.
#
# With `rmax = rmin = 1` and `dmax = 0` it is plain BatchNormalization:

# %%
plain = layers.BatchNormalization()
identity_renorm = layers.BatchNormalization(renorm=True,
                                            renorm_clipping={"rmax": 1, "rmin": 1, "dmax": 0})
small = features[:4]
assert np.allclose(plain(small, training=True).numpy(),
                   identity_renorm(small, training=True).numpy(), atol=1e-5)
print([w.name for w in identity_renorm.weights])
assert len(identity_renorm.weights) == 7

# %% [markdown]
# With batches of 4, plain BN normalises each batch by its own (very noisy) statistics, so its
# training-mode output is far from what the same batch gives at inference. After a warm-up,
# renorm's training output is much closer to the inference output:

# %%
def warm_up(layer, steps=300, batch_size=4):
    for step in range(steps):
        rows = np.random.default_rng(step).integers(0, len(features), batch_size)
        layer(features[rows], training=True)
    return layer

def train_infer_gap(layer, batches=50):
    gaps = []
    for step in range(batches):
        rows = np.random.default_rng(1000 + step).integers(0, len(features), 4)
        infer = layer(features[rows], training=False).numpy()
        gaps.append(np.abs(layer(features[rows], training=True).numpy() - infer).mean())
    return float(np.mean(gaps))

plain = warm_up(layers.BatchNormalization(momentum=0.9))
renorm = warm_up(layers.BatchNormalization(momentum=0.9, renorm=True, renorm_momentum=0.9))
clipped = warm_up(layers.BatchNormalization(momentum=0.9, renorm=True, renorm_momentum=0.9,
                                            renorm_clipping={"rmax": 1.5, "rmin": 0.67, "dmax": 0.5}))
gaps = {name: train_infer_gap(layer) for name, layer in
        [("plain BN", plain), ("renorm", renorm), ("renorm, clipped", clipped)]}
print({k: round(v, 3) for k, v in gaps.items()})
assert gaps["renorm"] < 0.5 * gaps["plain BN"]
assert gaps["renorm"] <= gaps["renorm, clipped"] <= gaps["plain BN"]

# %% [markdown]
# ### virtual_batch_size ("ghost" batch norm)
#
# The batch is split into virtual batches of `virtual_batch_size` samples, each normalised by
# its own statistics, which regularises like small batches while computing on a large one.
# As in tf.keras, the batch is reshaped to `(virtual_batch_size, -1, features)`, so with 32
# samples and `virtual_batch_size=8` virtual batch `k` holds samples `k, k+4, k+8, ...`
# (strided, not consecutive). The weights get the shape `(1, 1, features)`.

# %%
ghost = layers.BatchNormalization(virtual_batch_size=8)
out = ghost(batch, training=True).numpy()
group_means = out.reshape(8, 4, 64).mean(0)          # group k = samples k, k+4, ...
print("weights:", [tuple(w.shape) for w in ghost.weights])
print("largest |mean| inside each virtual batch:", np.abs(group_means).max(1).round(7))
assert np.abs(group_means).max() < 1e-5 and ghost.gamma.shape == (1, 1, 64)
assert np.abs(out[:8].mean(0)).max() > 0.1          # consecutive samples are not a group

# %% [markdown]
# ### adjustment
#
# A function of the input shape returning `(scale, bias)`, applied to the normalised values
# (before gamma and beta) in training only: here a random scale in [0.93, 1.07] and shift in
# [-0.1, 0.1] per feature and step, a data augmentation inside the network.

# %%
adjusted = layers.BatchNormalization(adjustment=lambda shape: (
    K.random_uniform(shape[-1:], 0.93, 1.07), K.random_uniform(shape[-1:], -0.1, 0.1)))
train_means = adjusted(batch, training=True).numpy().mean(0)
print("training-mode feature means:", train_means[30:36].round(3))
assert np.abs(train_means).max() <= 0.1 + 1e-5 and np.abs(train_means).max() > 0.01
# inference: plain normalisation by the moving statistics, no adjustment
mean, var = adjusted.moving_mean.numpy(), adjusted.moving_variance.numpy()
assert np.allclose(adjusted(batch, training=False).numpy(), (batch - mean) / np.sqrt(var + 1e-3),
                   atol=1e-5)

# %% [markdown]
# ### trainable=False
#
# Since TensorFlow 2.0, a BatchNormalization layer that is not trainable runs in inference mode
# even when called with `training=True` (the usual setting when fine-tuning a pretrained
# network), and its moving statistics stay frozen.

# %%
frozen = warm_up(layers.BatchNormalization(momentum=0.9), steps=20)
frozen.trainable = False
before = frozen.moving_mean.numpy().copy()
assert np.allclose(frozen(batch, training=True).numpy(), frozen(batch, training=False).numpy())
assert np.array_equal(frozen.moving_mean.numpy(), before)
print("trainable weights:", len(frozen.trainable_weights), "non-trainable:",
      len(frozen.non_trainable_weights))

# %% [markdown]
# ## Dropout
#
# During training `Dropout(rate)` zeroes each element with probability `rate` and scales the
# survivors by `1 / (1 - rate)`, so the expected value is unchanged; at inference it is the
# identity.

# %%
ones = np.ones((1, 10000), "float32")
dropped = layers.Dropout(0.3)(ones, training=True).numpy()
print(f"fraction dropped: {np.mean(dropped == 0):.3f}, kept values: {np.unique(dropped[dropped > 0])}")
assert abs(np.mean(dropped == 0) - 0.3) < 0.02
assert np.allclose(dropped[dropped > 0], 1 / 0.7)
assert np.array_equal(layers.Dropout(0.3)(ones, training=False).numpy(), ones)

# %% [markdown]
# ### noise_shape and seed: per-element versus per-channel masks
#
# `noise_shape` is the shape of the random mask, broadcast against the input: on a feature map
# of shape `(batch, 8, 8, 6)`, `noise_shape=(None, 1, 1, 6)` draws one keep/drop decision per
# sample and channel and drops whole channels (`None` takes the input's size). Two layers with
# the same `seed` draw the same masks. Black = dropped.

# %%
feature_map = np.ones((1, 8, 8, 6), "float32")
per_element = layers.Dropout(0.5, seed=1)(feature_map, training=True).numpy()[0]
per_channel = layers.Dropout(0.5, noise_shape=(None, 1, 1, 6), seed=1)(feature_map, training=True).numpy()[0]
fig, axes = plt.subplots(2, 6, figsize=(8, 3))
for channel in range(6):
    for row, (mask, title) in enumerate([(per_element, "per element"), (per_channel, "per channel")]):
        axes[row, channel].imshow(mask[:, :, channel], cmap="gray", vmin=0, vmax=2)
        axes[row, channel].set_xticks([]); axes[row, channel].set_yticks([])
        axes[row, channel].grid(False)
    axes[0, channel].set_title(f"channel {channel}", fontsize=9)
axes[0, 0].set_ylabel("per element"); axes[1, 0].set_ylabel("noise_shape\n(None,1,1,6)")
plt.show()
channel_values = per_channel.reshape(64, 6)
assert all(len(np.unique(channel_values[:, c])) == 1 for c in range(6))
assert len(np.unique(per_element[:, :, 0])) == 2
same_seed = layers.Dropout(0.5, seed=1)(feature_map, training=True).numpy()[0]
assert np.array_equal(same_seed, per_element)

# %% [markdown]
# ### SpatialDropout2D
#
# `SpatialDropout2D(rate)` is that per-channel dropout for images: neighbouring pixels of a
# feature map are strongly correlated, so dropping single pixels barely regularises, while
# dropping whole feature maps does. Each sample gets its own channel mask.

# %%
maps = np.ones((3, 8, 8, 6), "float32")
spatial = layers.SpatialDropout2D(0.5)(maps, training=True).numpy()
kept = spatial[:, 0, 0, :] > 0
print("kept channels per sample:\n", kept.astype(int))
assert all(np.all(spatial[s, :, :, c] == spatial[s, 0, 0, c]) for s in range(3) for c in range(6))
assert set(np.unique(spatial)) <= {0.0, 2.0}

# %% [markdown]
# ## Flatten and data_format
#
# `Flatten()` keeps the memory order of its input. With `data_format='channels_first'` it first
# moves the channel axis last, so a model gives the same flattened feature order (and the same
# following Dense weights) whichever layout its images use.

# %%
channels_first = np.arange(2 * 2 * 3, dtype="float32").reshape(1, 2, 2, 3)   # (batch, C, H, W)
flat_cf = layers.Flatten(data_format="channels_first")(channels_first).numpy()
flat_plain = layers.Flatten()(channels_first).numpy()
print("input channel 0:\n", channels_first[0, 0], "\ninput channel 1:\n", channels_first[0, 1])
print("Flatten():                              ", flat_plain[0])
print("Flatten(data_format='channels_first'):  ", flat_cf[0])
assert np.array_equal(flat_plain, channels_first.reshape(1, -1))
assert np.array_equal(flat_cf, channels_first.transpose(0, 2, 3, 1).reshape(1, -1))

# %% [markdown]
# ### A classic surprise: `Conv2D(64, 3, 3, input_shape=(3, 32, 32), padding='same')`
#
# Written for Keras 1 (where the arguments were `nb_row, nb_col` and images channels_first),
# this line means something else in Keras 2: the third positional argument is `strides=3`,
# and `input_shape` is read channels_last, as 3 rows of 32 columns with 32 channels. The output
# is `(None, ceil(3/3), ceil(32/3), 64) = (None, 1, 11, 64)` and Flatten gives 704 features.

# %%
model = keras.Sequential([layers.Conv2D(64, 3, 3, input_shape=(3, 32, 32), padding="same"),
                          layers.Flatten()])
model.summary()
assert model.layers[0].strides == (3, 3)
assert model.layers[0].output_shape == (None, 1, 11, 64)
assert model.output_shape == (None, 704)
assert model.count_params() == 3 * 3 * 32 * 64 + 64 == 18496

# %% [markdown]
# What was meant: a 3x3 kernel on 32x32 RGB images stored channels_first.

# %%
meant = keras.Sequential([layers.Conv2D(64, (3, 3), input_shape=(3, 32, 32), padding="same",
                                        data_format="channels_first"),
                          layers.Flatten(data_format="channels_first")])
print(meant.layers[0].output_shape, meant.output_shape, meant.count_params())
assert meant.layers[0].output_shape == (None, 64, 32, 32)
assert meant.output_shape == (None, 65536) and meant.count_params() == 3 * 3 * 3 * 64 + 64
