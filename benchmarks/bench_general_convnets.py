"""Whole-model throughput on conv nets the issue-12 benchmark does not name: a VGG-style 3x3
stack, a MobileNet-style depthwise-separable net with BatchNormalization and ReLU6, a
SeparableConv2D stack, a Conv1D text net and MobileNetV2(alpha=0.35). One builder serves both
libraries (it takes the imported `keras` module), so the models are the same layer for layer.

One measurement (prints one line: model, mode, samples/s, load average):

    python benchmarks/bench_general_convnets.py --impl minikeras --model vgg --mode train
    /work/peers/bin/python benchmarks/bench_general_convnets.py --impl tf_keras --model vgg \
        --mode train

Side by side (alternates tf.keras and minikeras processes, `--pairs` times per model and mode;
each ratio is taken within one pair since the machine's speed drifts; `--roots` measures
several minikeras checkouts in turn, e.g. before and after a change):

    python benchmarks/bench_general_convnets.py --pairs 2 [--models vgg mobilenet ...]
        [--modes train predict] [--tf-python /work/peers/bin/python] [--roots OLD .]

train: one warm-up epoch, then `--epochs` timed epochs (median); predict: one warm-up call, then
`--epochs` timed calls (median). Synthetic uniform data, one-hot labels, shuffle off.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name -> (input shape, samples, batch); classes are 10 (2 for the text net)
MODELS = {
    "vgg": dict(input_shape=(32, 32, 3), samples=1024, batch=64, classes=10),
    "mobilenet": dict(input_shape=(64, 64, 3), samples=512, batch=32, classes=10),
    "separable": dict(input_shape=(32, 32, 3), samples=1024, batch=64, classes=10),
    "conv1d_text": dict(input_shape=(200,), samples=2048, batch=32, classes=2, vocab=20000),
    "mobilenet_v2": dict(input_shape=(96, 96, 3), samples=256, batch=32, classes=10),
}


def _vgg(keras):
    L = keras.layers
    layers = [keras.Input(shape=MODELS["vgg"]["input_shape"])]
    for filters in (32, 64, 128):
        layers += [L.Conv2D(filters, 3, padding="same", activation="relu"),
                   L.Conv2D(filters, 3, padding="same", activation="relu"),
                   L.MaxPooling2D(2)]
    layers += [L.Flatten(), L.Dense(256, activation="relu"), L.Dropout(0.5),
               L.Dense(10, activation="softmax")]
    return keras.Sequential(layers), keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)


def _mobilenet(keras):
    """Conv s2 + BN + ReLU6, then depthwise (s1/s2) + BN + ReLU6 + pointwise + BN + ReLU6
    blocks; both spellings of ReLU6 (layer with max_value, Activation('relu6'))."""
    L = keras.layers
    layers = [keras.Input(shape=MODELS["mobilenet"]["input_shape"]),
              L.Conv2D(16, 3, strides=2, padding="same", use_bias=False),
              L.BatchNormalization(), L.ReLU(max_value=6.0)]
    for i, (filters, stride) in enumerate(((32, 1), (64, 2), (64, 1), (128, 2), (128, 1),
                                           (256, 2))):
        relu6 = (lambda: L.ReLU(6.0)) if i % 2 == 0 else (lambda: L.Activation("relu6"))
        layers += [L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False),
                   L.BatchNormalization(), relu6(),
                   L.Conv2D(filters, 1, use_bias=False), L.BatchNormalization(), relu6()]
    layers += [L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")]
    return keras.Sequential(layers), keras.optimizers.Adam(1e-3)


def _separable(keras):
    L = keras.layers
    layers = [keras.Input(shape=MODELS["separable"]["input_shape"]),
              L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(),
              L.Activation("relu")]
    for filters in (64, 128, 256):
        layers += [L.SeparableConv2D(filters, 3, padding="same", use_bias=False),
                   L.BatchNormalization(), L.Activation("relu"),
                   L.SeparableConv2D(filters, 3, padding="same", use_bias=False),
                   L.BatchNormalization(), L.Activation("relu"),
                   L.MaxPooling2D(3, strides=2, padding="same")]
    layers += [L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")]
    return keras.Sequential(layers), keras.optimizers.RMSprop(1e-3)


def _conv1d_text(keras):
    L = keras.layers
    cfg = MODELS["conv1d_text"]
    layers = [keras.Input(shape=cfg["input_shape"], dtype="int32"),
              L.Embedding(cfg["vocab"], 64),
              L.Conv1D(128, 5, activation="relu"), L.MaxPooling1D(5),
              L.Conv1D(128, 5, activation="relu"), L.GlobalMaxPooling1D(),
              L.Dense(64, activation="relu"), L.Dense(2, activation="softmax")]
    return keras.Sequential(layers), keras.optimizers.Adam(1e-3)


def _mobilenet_v2(keras):
    cfg = MODELS["mobilenet_v2"]
    net = keras.applications.MobileNetV2(input_shape=cfg["input_shape"], alpha=0.35,
                                         weights=None, classes=cfg["classes"])
    return net, keras.optimizers.Adam(1e-3)


BUILDERS = {"vgg": _vgg, "mobilenet": _mobilenet, "separable": _separable,
            "conv1d_text": _conv1d_text, "mobilenet_v2": _mobilenet_v2}


def build(keras, name):
    """The compiled model `name` built with the `keras` module given (tf_keras or minikeras)."""
    net, optimizer = BUILDERS[name](keras)
    net.compile(optimizer=optimizer, loss="categorical_crossentropy")
    return net


def data(name, np):
    cfg = MODELS[name]
    rng = np.random.default_rng(0)
    shape = (cfg["samples"],) + cfg["input_shape"]
    if "vocab" in cfg:
        x = rng.integers(0, cfg["vocab"], size=shape).astype("int32")
    else:
        x = rng.random(shape, dtype=np.float32)
    y = np.eye(cfg["classes"], dtype=np.float32)[rng.integers(0, cfg["classes"], cfg["samples"])]
    return x, y


def measure(impl, name, mode, epochs, root=ROOT):
    """samples/s of `mode` on model `name` (median of `epochs` timed runs after a warm-up);
    minikeras is imported from the checkout `root`."""
    if impl == "tf_keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tf_keras as keras
    else:
        sys.path.insert(0, root)
        import minikeras as keras
    import numpy as np
    net = build(keras, name)
    x, y = data(name, np)
    batch = MODELS[name]["batch"]

    def run():
        if mode == "train":
            net.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        else:
            net.predict(x, batch_size=batch, verbose=0)
    run()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return len(x) / statistics.median(times)


def run_pairs(args):
    """tf.keras, then minikeras from each checkout of `args.roots`, in turn, `args.pairs`
    times per model and mode; prints every ratio to tf.keras and the medians."""
    rows = []
    runs = [("tf_keras", args.tf_python, None)] + \
        [("minikeras", sys.executable, os.path.abspath(root)) for root in args.roots]
    for name in args.models:
        for mode in args.modes:
            ratios = [[] for _ in args.roots]
            for _ in range(args.pairs):
                speeds = []
                for impl, python, root in runs:
                    command = [python, os.path.abspath(__file__), "--impl", impl, "--model",
                               name, "--mode", mode, "--epochs", str(args.epochs)]
                    if root:
                        command += ["--root", root]
                    out = subprocess.run(command, capture_output=True, text=True,
                                         check=True).stdout.split()
                    speeds.append(float(out[3]))
                for column, speed in zip(ratios, speeds[1:]):
                    column.append(speed / speeds[0])
                print(f"{name:<13} {mode:<8} tf_keras {speeds[0]:8.1f}  minikeras " +
                      " ".join(f"{speed:8.1f}" for speed in speeds[1:]) + "  ratio " +
                      " ".join(f"{column[-1]:5.2f}" for column in ratios) +
                      f"  load {os.getloadavg()[0]:.1f}", flush=True)
            rows.append((name, mode, [statistics.median(column) for column in ratios]))
    print("\nmodel         mode     median ratio minikeras / tf_keras (" +
          ", ".join(args.roots) + ")")
    for name, mode, medians in rows:
        print(f"{name:<13} {mode:<8} " + " ".join(f"{ratio:5.2f}" for ratio in medians))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("tf_keras", "minikeras"))
    parser.add_argument("--model", choices=sorted(MODELS))
    parser.add_argument("--mode", choices=("train", "predict"), default="train")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=sorted(MODELS))
    parser.add_argument("--modes", nargs="+", default=["train", "predict"])
    parser.add_argument("--tf-python", default="/work/peers/bin/python")
    parser.add_argument("--root", default=ROOT, help="the checkout minikeras is imported from")
    parser.add_argument("--roots", nargs="+", default=[ROOT],
                        help="with --pairs: minikeras checkouts measured in turn (before/after)")
    args = parser.parse_args()
    if args.pairs:
        run_pairs(args)
        return
    if not (args.impl and args.model):
        parser.error("give --impl and --model, or --pairs N")
    speed = measure(args.impl, args.model, args.mode, args.epochs, args.root)
    print(f"{args.model} {args.mode} {args.impl} {speed:.1f} samples/s "
          f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
