# %% [markdown]
# # Convolution arithmetic: output sizes, parameters, FLOPs, activations
#
# Three small formulas decide what a convolutional network looks like: the size of each output,
# the number of weights, and the amount of arithmetic. This notebook writes each formula down,
# checks it against what `minikeras` layers actually produce, and ends with the activation
# functions and their derivatives (computed by automatic differentiation).

# %%
import math

import numpy as np
import matplotlib.pyplot as plt

import minikeras as keras
from minikeras import layers

%config InlineBackend.figure_format = "png"
plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (8, 2.8), "axes.grid": True})
keras.utils.set_random_seed(0)

# %% [markdown]
# ## Output size
#
# Along one spatial axis of length `n`, a kernel of size `k` with dilation `d` covers
# `k_eff = d * (k - 1) + 1` positions. With stride `s`:
#
# - `padding='valid'` (no padding): `ceil((n - k_eff + 1) / s)`
# - `padding='same'` (zero padding so that stride 1 keeps the size): `ceil(n / s)`
# - `padding='causal'` (Conv1D, padding on the left only): `ceil(n / s)` as well
#
# Pooling follows the same rules with `k = pool_size` (the stride defaults to the pool size).
# A transposed convolution goes the other way: `n * s + max(k_eff - s, 0)` for `'valid'`,
# `n * s` for `'same'`.

# %%
def conv_output_length(n, k, s=1, d=1, padding="valid"):
    k_eff = d * (k - 1) + 1
    if padding == "valid":
        return math.ceil((n - k_eff + 1) / s)
    return math.ceil(n / s)             # 'same' and 'causal'

def transpose_output_length(n, k, s=1, padding="valid"):
    return n * s + max(k - s, 0) if padding == "valid" else n * s

cases = [
    ("Conv2D", 32, 3, 1, 1, "valid"), ("Conv2D", 32, 3, 1, 1, "same"),
    ("Conv2D", 32, 3, 2, 1, "valid"), ("Conv2D", 32, 3, 2, 1, "same"),
    ("Conv2D", 32, 5, 3, 1, "valid"), ("Conv2D", 31, 4, 2, 1, "same"),
    ("Conv2D", 32, 3, 1, 2, "valid"), ("Conv2D", 32, 3, 1, 4, "same"),
    ("Conv1D", 50, 7, 1, 3, "causal"), ("Conv1D", 50, 4, 3, 1, "valid"),
    ("MaxPooling2D", 32, 2, 2, 1, "valid"), ("MaxPooling2D", 33, 3, 2, 1, "valid"),
    ("AveragePooling2D", 33, 3, 2, 1, "same"),
    ("Conv2DTranspose", 8, 3, 2, 1, "valid"), ("Conv2DTranspose", 8, 3, 2, 1, "same"),
    ("Conv2DTranspose", 8, 1, 3, 1, "valid"),
]

def layer_for(kind, k, s, d, padding):
    if kind.endswith("Pooling2D"):
        return getattr(layers, kind)(pool_size=k, strides=s, padding=padding)
    if kind == "Conv2DTranspose":
        return layers.Conv2DTranspose(4, k, strides=s, padding=padding)
    return getattr(layers, kind)(4, k, strides=s, dilation_rate=d, padding=padding)

print(f"{'layer':17} {'n':>3} {'k':>2} {'s':>2} {'d':>2} {'padding':8} {'formula':>8} {'model':>6}")
for kind, n, k, s, d, padding in cases:
    shape = (n, 2) if kind == "Conv1D" else (n, n, 2)
    model = keras.Sequential([keras.Input(shape), layer_for(kind, k, s, d, padding)])
    got = model.output_shape[1]
    if kind == "Conv2DTranspose":
        expected = transpose_output_length(n, k, s, padding)
    else:
        expected = conv_output_length(n, k, s, d, padding)
    print(f"{kind:17} {n:3d} {k:2d} {s:2d} {d:2d} {padding:8} {expected:8d} {got:6d}")
    assert got == expected, (kind, n, k, s, d, padding)

# %% [markdown]
# ## Parameter counts
#
# - `Conv2D`: `kh * kw * c_in * filters` kernel weights + `filters` biases
# - `DepthwiseConv2D`: `kh * kw * c_in * depth_multiplier` + `c_in * depth_multiplier` biases
# - `SeparableConv2D`: depthwise `kh * kw * c_in * m` + pointwise `c_in * m * filters` + `filters`
# - `Conv2DTranspose`: `kh * kw * filters * c_in` + `filters` (the same count as the convolution
#   it transposes)
# - `BatchNormalization`: `4 * channels` (gamma and beta trainable, the two moving statistics not)
# - `Dense`: `inputs * units + units`

# %%
model = keras.Sequential([
    keras.Input((16, 16, 3)),
    layers.Conv2D(32, 3, padding="same", name="conv"),
    layers.BatchNormalization(name="bn"),
    layers.DepthwiseConv2D(3, depth_multiplier=2, name="depthwise"),
    layers.SeparableConv2D(48, 3, strides=2, name="separable"),
    layers.Conv2DTranspose(16, 3, strides=2, name="transposed"),
    layers.MaxPooling2D(name="pool"),
    layers.GlobalAveragePooling2D(name="gap"),
    layers.Dense(10, name="dense"),
])
model.summary()

by_formula = {
    "conv": 3 * 3 * 3 * 32 + 32,
    "bn": 4 * 32,
    "depthwise": 3 * 3 * 32 * 2 + 32 * 2,
    "separable": 3 * 3 * 64 * 1 + 64 * 48 + 48,
    "transposed": 3 * 3 * 16 * 48 + 16,
    "pool": 0, "gap": 0,
    "dense": 16 * 10 + 10,
}
for layer in model.layers:
    print(f"{layer.name:11} formula {by_formula[layer.name]:6d}   count_params() {layer.count_params():6d}")
    assert layer.count_params() == by_formula[layer.name]
assert model.count_params() == sum(by_formula.values())

# %% [markdown]
# ## FLOPs per layer
#
# `summary(show_flops=True)` (a minikeras extension, not in Keras) adds the floating-point
# operations per sample, a multiply-add counting 2. For a convolution that is
# `2 * Ho * Wo * filters * kh * kw * c_in / groups`: every output element is a dot product
# over the kernel window. `keras.utils.count_flops(model)` returns the same column as data.

# %%
model.summary(show_flops=True)
rows = {row["name"]: row["flops"] for row in keras.utils.count_flops(model)}
ho, wo = model.get_layer("conv").output_shape[1:3]
assert rows["conv"] == 2 * ho * wo * 32 * 3 * 3 * 3
ho, wo = model.get_layer("depthwise").output_shape[1:3]
assert rows["depthwise"] == 2 * ho * wo * 64 * 3 * 3
ho, wo = model.get_layer("separable").output_shape[1:3]
assert rows["separable"] == 2 * ho * wo * 64 * 3 * 3 + 2 * ho * wo * 64 * 48
assert rows["dense"] == 2 * 16 * 10

# %% [markdown]
# Parameters and FLOPs are different budgets: a convolution reuses each weight at every
# position, so it has few weights and much arithmetic; a Dense layer uses each weight once.

# %%
names = [layer.name for layer in model.layers if layer.count_params() or rows[layer.name]]
x = np.arange(len(names))
plt.figure(figsize=(8, 2.8))
plt.bar(x - 0.2, [model.get_layer(n).count_params() for n in names], 0.4, label="parameters")
plt.bar(x + 0.2, [rows[n] for n in names], 0.4, label="FLOPs per sample")
plt.yscale("log"); plt.xticks(x, names); plt.legend(fontsize=8)
plt.show()
assert rows["separable"] / model.get_layer("separable").count_params() > 30
assert rows["dense"] / model.get_layer("dense").count_params() < 2

# %% [markdown]
# ## Activation functions and their derivatives
#
# Each function is evaluated on a grid and differentiated with `keras.GradientTape`; the
# derivative is checked against central finite differences (away from kinks). Keras 2 details
# worth knowing: `hard_sigmoid` is `clip(0.2 x + 0.5, 0, 1)`, `gelu` is the exact
# `0.5 x (1 + erf(x / sqrt 2))` unless `approximate=True`, and `swish` is `x * sigmoid(x)`.

# %%
names = ["sigmoid", "tanh", "relu", "elu", "selu", "softplus", "softsign", "hard_sigmoid",
         "gelu", "swish"]
grid = np.linspace(-4, 4, 401).astype("float64")

def value_and_derivative(name, points):
    x = keras.Variable(points.astype("float32"))
    with keras.GradientTape() as tape:
        y = keras.activations.get(name)(x)
    return np.asarray(y, "float64"), np.asarray(tape.gradient(y, x), "float64")

fig, axes = plt.subplots(2, 5, figsize=(10, 4), sharex=True)
for ax, name in zip(axes.ravel(), names):
    y, dy = value_and_derivative(name, grid)
    ax.plot(grid, y, label="f"); ax.plot(grid, dy, "--", label="f'")
    ax.set_title(name, fontsize=10); ax.set_ylim(-1.5, 3)
    # finite differences on points away from the kinks at 0 and +-2.5
    probe = np.array([-3.1, -1.3, -0.4, 0.3, 1.1, 2.2, 3.3])
    h = 1e-2
    numeric = (value_and_derivative(name, probe + h)[0] -
               value_and_derivative(name, probe - h)[0]) / (2 * h)
    assert np.allclose(value_and_derivative(name, probe)[1], numeric, atol=2e-3), name
axes[0, 0].legend(fontsize=8)
plt.tight_layout(); plt.show()

# %% [markdown]
# A few closed forms, checked exactly:

# %%
x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 3.0])
f = lambda name: np.asarray(keras.activations.get(name)(x.astype("float32")), "float64")
erf = np.vectorize(math.erf)
assert np.allclose(f("hard_sigmoid"), np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)
assert np.allclose(f("gelu"), 0.5 * x * (1 + erf(x / np.sqrt(2))), atol=1e-6)
assert np.allclose(f("swish"), x / (1 + np.exp(-x)), atol=1e-6)
assert np.allclose(f("selu"), 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)), atol=1e-6)
assert np.allclose(f("softsign"), x / (1 + np.abs(x)), atol=1e-7)
assert np.allclose(value_and_derivative("sigmoid", np.zeros(1))[1], 0.25)
assert np.allclose(value_and_derivative("softplus", x)[1], 1 / (1 + np.exp(-x)), atol=1e-6)
print("hard_sigmoid:", f("hard_sigmoid"))
print("gelu:        ", f("gelu").round(5))
