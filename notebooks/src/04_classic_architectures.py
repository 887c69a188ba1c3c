# %% [markdown]
# # Classic architectures, small: LeNet, Network in Network, Inception, ResNet
#
# Four ideas that shaped convolutional networks, each built with the Keras API, shown with
# `summary()` and a `plot_model` picture, and trained for a few seconds on the 8x8 digits:
#
# 1. **LeNet** (LeCun et al., 1998), with and without **BatchNormalization** (Ioffe & Szegedy,
#    2015): the normalised version converges much faster at the same learning rate.
# 2. **Network in Network** (Lin et al., 2013): 1x1 convolutions as a small MLP at every
#    position, and global average pooling instead of dense layers.
# 3. An **Inception** block (GoogLeNet, Szegedy et al., 2014): parallel 1x1, 3x3, 5x5 and pooling
#    branches, concatenated.
# 4. A **residual** block (ResNet, He et al., 2015): the block learns a correction added to its
#    input.
#
# The pictures need pydot and Graphviz (`pip install ".[plot]"` and the system `graphviz`).

# %%
import os
import tempfile

import numpy as np
import matplotlib.pyplot as plt

import minikeras as keras
from minikeras import layers

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 2.8), "axes.grid": True})
keras.utils.set_random_seed(0)
pictures = tempfile.mkdtemp()

(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
x_train = (x_train[..., None] / 16).astype("float32")     # (1437, 8, 8, 1)
x_test = (x_test[..., None] / 16).astype("float32")
print(x_train.shape, x_test.shape)

def train(model, optimizer="adam", epochs=8):
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0,
                     validation_data=(x_test, y_test)).history

def picture(model, name, **kwargs):
    return keras.utils.plot_model(model, to_file=os.path.join(pictures, name + ".png"),
                                  show_shapes=True, dpi=48, **kwargs)

# %% [markdown]
# ## 1. LeNet, with and without BatchNormalization
#
# Two convolution + pooling stages, then three dense layers. The BN version normalises each
# convolution's output before its ReLU (`use_bias=False`: BN's beta replaces the bias). Both
# train with plain SGD at Keras' default learning rate 0.01 from the same seed.

# %%
def lenet(batch_norm):
    stack = [keras.Input((8, 8, 1))]
    for filters in (6, 16):
        stack.append(layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm))
        if batch_norm:
            stack.append(layers.BatchNormalization())
        stack += [layers.Activation("relu"), layers.MaxPooling2D()]
    stack += [layers.Flatten(), layers.Dense(120, activation="relu"),
              layers.Dense(84, activation="relu"), layers.Dense(10, activation="softmax")]
    return keras.Sequential(stack, name="lenet_bn" if batch_norm else "lenet")

lenet_plain, lenet_bn = lenet(False), lenet(True)
lenet_bn.summary()
assert lenet_plain.count_params() == 60 + 880 + 64 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
assert lenet_bn.count_params() == 54 + 4 * 6 + 864 + 4 * 16 + 7800 + 10164 + 850

# %%
picture(lenet_bn, "lenet_bn")

# %%
histories = {"LeNet": train(lenet_plain, "sgd", epochs=10),
             "LeNet + BatchNormalization": train(lenet_bn, "sgd", epochs=10)}
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for name, history in histories.items():
    axes[0].plot(range(1, 11), history["loss"], label=name)
    axes[1].plot(range(1, 11), history["val_accuracy"], label=name)
axes[0].set_title("training loss"); axes[1].set_title("test accuracy")
axes[0].set_xlabel("epoch"); axes[1].set_xlabel("epoch"); axes[1].legend(fontsize=8)
plt.show()
plain_loss, bn_loss = histories["LeNet"]["loss"][-1], histories["LeNet + BatchNormalization"]["loss"][-1]
bn_accuracy = histories["LeNet + BatchNormalization"]["val_accuracy"][-1]
print(f"final loss: plain {plain_loss:.3f}, BN {bn_loss:.3f}; BN test accuracy {bn_accuracy:.3f}")
assert bn_loss < 0.5 * plain_loss and bn_accuracy > 0.85

# %% [markdown]
# ## 2. Network in Network
#
# Each "mlpconv" block is a spatial convolution followed by two 1x1 convolutions, a small MLP
# shared by every position. The last block outputs one feature map per class and global average
# pooling turns each map into a class score: no dense layer, few parameters.

# %%
def mlpconv(x, filters, kernel_size):
    x = layers.Conv2D(filters, kernel_size, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 1, activation="relu")(x)
    return layers.Conv2D(filters, 1, activation="relu")(x)

inputs = keras.Input((8, 8, 1))
x = mlpconv(inputs, 32, 3)
x = layers.MaxPooling2D()(x)
x = mlpconv(x, 32, 3)
x = layers.Conv2D(10, 1)(x)                       # one map per class
x = layers.GlobalAveragePooling2D()(x)
nin = keras.Model(inputs, layers.Activation("softmax")(x), name="network_in_network")
nin.summary()
assert nin.count_params() == (320 + 1056 + 1056) + (9248 + 1056 + 1056) + 330
assert not any(isinstance(layer, layers.Dense) for layer in nin.layers)

# %%
picture(nin, "nin")

# %%
history = train(nin, keras.optimizers.Adam(learning_rate=0.003), epochs=8)
print("Network in Network test accuracy:", round(history["val_accuracy"][-1], 3))
assert history["val_accuracy"][-1] > 0.8

# %% [markdown]
# ## 3. An Inception block
#
# Four branches see the same input at different scales: 1x1; 1x1 then 3x3; 1x1 then 5x5;
# 3x3 max pooling then 1x1. The 1x1 convolutions before the large kernels reduce the channels
# first, which is what keeps the block cheap. Outputs are concatenated along the channels:
# 8 + 16 + 8 + 8 = 40. Here the summary also shows the FLOPs per layer
# (`show_flops=True`, a minikeras extension).

# %%
def inception(x, f1, f3_reduce, f3, f5_reduce, f5, pool_proj):
    branch1 = layers.Conv2D(f1, 1, padding="same", activation="relu")(x)
    branch3 = layers.Conv2D(f3_reduce, 1, padding="same", activation="relu")(x)
    branch3 = layers.Conv2D(f3, 3, padding="same", activation="relu")(branch3)
    branch5 = layers.Conv2D(f5_reduce, 1, padding="same", activation="relu")(x)
    branch5 = layers.Conv2D(f5, 5, padding="same", activation="relu")(branch5)
    pool = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    pool = layers.Conv2D(pool_proj, 1, padding="same", activation="relu")(pool)
    return layers.Concatenate()([branch1, branch3, branch5, pool])

inputs = keras.Input((8, 8, 1))
x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
block = inception(x, 8, 8, 16, 4, 8, 8)
x = layers.MaxPooling2D()(block)
x = layers.Flatten()(x)                   # 8x8 digits: keep where the strokes are
inception_net = keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="inception")
inception_net.summary(show_flops=True)
assert block.shape == (None, 8, 8, 40)
flops = {row["name"]: row["flops"] for row in keras.utils.count_flops(inception_net)}
five_by_five = [layer for layer in inception_net.layers
                if isinstance(layer, layers.Conv2D) and layer.kernel_size == (5, 5)][0]
assert flops[five_by_five.name] == 2 * 8 * 8 * 8 * 5 * 5 * 4

# %%
picture(inception_net, "inception")

# %%
history = train(inception_net, epochs=8)
print("Inception test accuracy:", round(history["val_accuracy"][-1], 3))
assert history["val_accuracy"][-1] > 0.85

# %% [markdown]
# ## 4. Residual blocks
#
# A residual block computes `relu(x + F(x))` where `F` is conv-BN-ReLU-conv-BN: if the best
# thing to do is nothing, `F` only has to learn zero. When the block changes the resolution or
# the number of channels, the shortcut becomes a strided 1x1 convolution (a projection).
# With only a few hundred training steps, BatchNormalization gets `momentum=0.9` so that its
# moving statistics (used at test time) have caught up with the weights by the end.

# %%
def batch_norm():
    return layers.BatchNormalization(momentum=0.9)   # a short run: let the statistics keep up

def residual_block(x, filters, strides=1):
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    y = batch_norm()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = batch_norm()(y)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x)
        shortcut = batch_norm()(shortcut)
    return layers.Activation("relu")(layers.Add()([shortcut, y]))

inputs = keras.Input((8, 8, 1))
x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
x = layers.Activation("relu")(batch_norm()(x))
x = residual_block(x, 8)                  # identity shortcut
x = residual_block(x, 16, strides=2)      # projection shortcut, 8x8 -> 4x4
x = layers.GlobalAveragePooling2D()(x)
resnet = keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="small_resnet")
resnet.summary()
adds = [layer for layer in resnet.layers if isinstance(layer, layers.Add)]
assert [layer.output_shape for layer in adds] == [(None, 8, 8, 8), (None, 4, 4, 16)]

# %%
picture(resnet, "resnet")

# %%
history = train(resnet, epochs=5)
print("ResNet test accuracy:", round(history["val_accuracy"][-1], 3))
assert history["val_accuracy"][-1] > 0.85

# %% [markdown]
# ## Side by side

# %%
models = [lenet_plain, lenet_bn, nin, inception_net, resnet]
for model in models:
    total = sum(row["flops"] or 0 for row in keras.utils.count_flops(model))
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"{model.name:20} {model.count_params():7d} parameters {total:9d} FLOPs/sample "
          f"test accuracy {accuracy:.3f}")
