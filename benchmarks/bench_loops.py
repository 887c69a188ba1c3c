"""Per-step cost of the paths a hand-written training loop takes, on small models.

Keras 2 scripts (GANs, VAEs, seq2seq, keras.io's custom loops) call `train_on_batch`,
`test_on_batch`, `predict_on_batch`, `model(x)` and a GradientTape step many times per epoch on
small batches, where the per-call Python overhead and the BLAS thread policy matter as much as
the kernels. Timed, per model, milliseconds per step:

    fit          `fit` over `steps` batches, divided by `steps` (the tuned reference)
    train        `train_on_batch`
    tape         GradientTape step: forward with training=True, loss, `tape.gradient`,
                 `optimizer.apply_gradients`
    tape_fn      (tf.keras only) the same step inside `tf.function`
    test         `test_on_batch`
    predict      `predict_on_batch`
    call         `model(x)`
    call_train   `model(x, training=True)` (no tape)
    gan_tob      (dcgan) one Keras 2 DCGAN step: `predict_on_batch` on the generator,
                 `train_on_batch` on the discriminator, `train_on_batch` on the combined model
    gan_tape     (dcgan) one keras.io DCGAN step: two tapes, two `apply_gradients`

Models: `mlp` (784-256-10, batch 64), `dcgan` (the discriminator of a small 28x28 DCGAN, batch
64, plus the two GAN steps), `seq2seq` (LSTM(64) encoder-decoder, 15 -> 20 timesteps, batch 64),
`tiny` (16-16-4, batch 64: the per-call overhead; not in the default list).

Modes and variants are timed round-robin in one process, `repeats` times, so that the host's
speed phases and other processes slow all of them alike; the table gives the median and the
minimum wall time per step, the median process CPU time per step (all threads: spinning BLAS
threads show here) and, with two variants, the median of the per-repeat ratios B / A.

Variants (at most one of):
    --blas-ab          A: as is; B: every OpenBLAS in the process set to one thread for the step
                       (what OPENBLAS_NUM_THREADS=1 gives)
    --commits A B      two commits' `minikeras` packages (extracted with `git archive`) side by
                       side, built with the same weights (run from the repository root)

`--busy N` starts N busy-looping processes, the i-th pinned to core i, for the whole run (a
contended machine), and stops them at the end. `--ignore-load` lifts `parallel`'s 1-minute
load-average threshold in every variant, as on a machine where one busy core keeps the load
under it (what `ops/contention.py` must then catch).

    python benchmarks/bench_loops.py [--models mlp,dcgan,seq2seq] [--modes train,tape]
        [--steps 20] [--repeats 7] [--busy 1] [--blas-ab | --commits main HEAD]
    /work/peers/bin/python benchmarks/bench_loops.py --impl tf_keras
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from commit_packages import extract

BATCH = 64
MODES = ("fit", "train", "tape", "tape_fn", "test", "predict", "call", "call_train",
         "gan_tob", "gan_tape")


# ---------------------------------------------------------------------------------------------
# Models (the same code for minikeras and tf.keras)
# ---------------------------------------------------------------------------------------------
def dense_classifier(keras, inputs, hidden, classes):
    """inputs-hidden(relu)-classes(softmax), Adam, categorical crossentropy."""
    L = keras.layers
    model = keras.Sequential([keras.Input((inputs,)), L.Dense(hidden, activation="relu"),
                              L.Dense(classes, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    return {"model": model, "loss": keras.losses.CategoricalCrossentropy()}


def build_mlp(keras):
    return dense_classifier(keras, 784, 256, 10)


def build_dcgan(keras):
    L = keras.layers
    generator = keras.Sequential([
        keras.Input((100,)), L.Dense(7 * 7 * 64), L.Reshape((7, 7, 64)),
        L.BatchNormalization(), L.LeakyReLU(0.2),
        L.Conv2DTranspose(32, 4, strides=2, padding="same"), L.BatchNormalization(),
        L.LeakyReLU(0.2), L.UpSampling2D(), L.Conv2D(1, 5, padding="same", activation="tanh")])
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)), L.Conv2D(32, 4, strides=2, padding="same"), L.LeakyReLU(0.2),
        L.Dropout(0.3), L.Conv2D(64, 4, strides=2, padding="same"), L.LeakyReLU(0.2),
        L.Dropout(0.3), L.Flatten(), L.Dense(1, activation="sigmoid")])
    discriminator.compile(keras.optimizers.Adam(2e-4, 0.5), "binary_crossentropy",
                          metrics=["accuracy"])
    discriminator.trainable = False
    combined = keras.Sequential([generator, discriminator])
    combined.compile(keras.optimizers.Adam(2e-4, 0.5), "binary_crossentropy")
    return {"model": discriminator, "generator": generator, "combined": combined,
            "loss": keras.losses.BinaryCrossentropy()}


def build_seq2seq(keras):
    L = keras.layers
    encoder_inputs = keras.Input((None, 30))
    _, state_h, state_c = L.LSTM(64, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input((None, 40))
    decoded = L.LSTM(64, return_sequences=True)(decoder_inputs,
                                                initial_state=[state_h, state_c])
    outputs = L.Dense(40, activation="softmax")(decoded)
    model = keras.Model([encoder_inputs, decoder_inputs], outputs)
    model.compile(keras.optimizers.RMSprop(1e-3), "categorical_crossentropy")
    return {"model": model, "loss": keras.losses.CategoricalCrossentropy()}


def build_tiny(keras):
    """16-16-4 on batch 64: almost no arithmetic, so the per-call overhead shows."""
    return dense_classifier(keras, 16, 16, 4)


BUILDERS = {"mlp": build_mlp, "dcgan": build_dcgan, "seq2seq": build_seq2seq, "tiny": build_tiny}


def make_data(name, steps, seed=0):
    """`steps` batches of inputs and targets, as one array each (fit slices them)."""
    rng = np.random.default_rng(seed)
    n = steps * BATCH

    def one_hot(classes, shape):
        return np.eye(classes, dtype=np.float32)[rng.integers(0, classes, shape)]
    if name == "mlp":
        return rng.random((n, 784), dtype=np.float32), one_hot(10, n)
    if name == "tiny":
        return rng.random((n, 16), dtype=np.float32), one_hot(4, n)
    if name == "dcgan":
        x = rng.random((n, 28, 28, 1), dtype=np.float32) * 2 - 1
        return x, rng.integers(0, 2, (n, 1)).astype(np.float32)
    return ([one_hot(30, (n, 15)), one_hot(40, (n, 20))], one_hot(40, (n, 20)))


def batch(data, step):
    lo, hi = step * BATCH, (step + 1) * BATCH
    if isinstance(data, list):
        return [d[lo:hi] for d in data]
    return data[lo:hi]


# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------
class Runner:
    """The modes of one model in one implementation (`keras`, `tape_class`, optional tf)."""

    def __init__(self, keras, tape_class, name, steps, tf=None):
        self.keras, self.tape_class, self.tf, self.name = keras, tape_class, tf, name
        self.parts = BUILDERS[name](keras)
        self.model = self.parts["model"]
        self.optimizer = keras.optimizers.Adam(1e-3)
        self.steps = steps
        self.x, self.y = make_data(name, steps)
        self.noise = np.random.default_rng(1).normal(size=(steps, BATCH, 100)).astype(np.float32)
        self._tape_fn = None
        self.variables = _trainable(self.model)   # the discriminator is frozen in `combined`

    def available(self, mode):
        if mode in ("gan_tob", "gan_tape"):
            return self.name == "dcgan"
        if mode == "tape_fn":
            return self.tf is not None
        return True

    def run(self, mode):
        if mode == "fit":
            self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
            return
        step = getattr(self, "step_" + mode)
        for i in range(self.steps):
            step(i)

    def step_train(self, i):
        self.model.train_on_batch(batch(self.x, i), batch(self.y, i))

    def step_test(self, i):
        self.model.test_on_batch(batch(self.x, i), batch(self.y, i))

    def step_predict(self, i):
        self.model.predict_on_batch(batch(self.x, i))

    def step_call(self, i):
        self.model(batch(self.x, i))

    def step_call_train(self, i):
        self.model(batch(self.x, i), training=True)

    def _tape_step(self, x, y):
        model = self.model
        with self.tape_class() as tape:
            loss = self.parts["loss"](y, model(x, training=True))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss

    def step_tape(self, i):
        self._tape_step(batch(self.x, i), batch(self.y, i))

    def step_tape_fn(self, i):
        if self._tape_fn is None:
            self._tape_fn = self.tf.function(self._tape_step)
        self._tape_fn(batch(self.x, i), batch(self.y, i))

    def step_gan_tob(self, i):
        generator, discriminator = self.parts["generator"], self.parts["model"]
        fake = generator.predict_on_batch(self.noise[i])
        images = np.concatenate([batch(self.x, i), fake])
        labels = np.concatenate([np.ones((BATCH, 1), np.float32),
                                 np.zeros((BATCH, 1), np.float32)])
        discriminator.train_on_batch(images, labels)
        self.parts["combined"].train_on_batch(self.noise[i], np.ones((BATCH, 1), np.float32))

    def step_gan_tape(self, i):
        generator, discriminator = self.parts["generator"], self.parts["model"]
        loss_fn = self.parts["loss"]
        ones, zeros = np.ones((BATCH, 1), np.float32), np.zeros((BATCH, 1), np.float32)
        with self.tape_class() as tape:
            fake = generator(self.noise[i], training=True)
            loss = loss_fn(ones, discriminator(batch(self.x, i), training=True)) + \
                loss_fn(zeros, discriminator(fake, training=True))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        with self.tape_class() as tape:
            loss = loss_fn(ones, discriminator(generator(self.noise[i], training=True),
                                               training=True))
        grads = tape.gradient(loss, generator.trainable_weights)
        self.parts["combined"].optimizer.apply_gradients(
            zip(grads, generator.trainable_weights))


def _trainable(layer):
    """The discriminator's variables although it was frozen for the combined model."""
    flag = layer.trainable
    layer.trainable = True
    try:
        return list(layer.trainable_weights)
    finally:
        layer.trainable = flag


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------
class OneBlasThread:
    """Every OpenBLAS in the process on one thread for the duration (as OPENBLAS_NUM_THREADS=1)."""

    def __init__(self, apis):
        self.apis = apis

    def __enter__(self):
        self.previous = [getter() for _, getter in self.apis]
        for setter, _ in self.apis:
            setter(1)

    def __exit__(self, *exc):
        for (setter, _), threads in zip(self.apis, self.previous):
            setter(threads)


class Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def start_busy(count):
    """`count` busy-looping processes, the i-th pinned to core i."""
    processes = []
    for core in range(count):
        processes.append(subprocess.Popen(
            [sys.executable, "-c", "while True: pass"],
            preexec_fn=lambda core=core: os.sched_setaffinity(0, {core % os.cpu_count()})))
    return processes


def stop(processes):
    for process in processes:
        process.kill()
        process.wait()


# ---------------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default="minikeras", choices=("minikeras", "tf_keras"))
    parser.add_argument("--models", default="mlp,dcgan,seq2seq")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--busy", type=int, default=0, help="busy processes, one per core")
    parser.add_argument("--blas-ab", action="store_true")
    parser.add_argument("--commits", nargs=2, metavar=("A", "B"))
    parser.add_argument("--ignore-load", action="store_true")
    args = parser.parse_args()
    # fit on the frozen discriminator: tf.keras' "Discrepancy between trainable weights" warning
    warnings.filterwarnings("ignore", message="Discrepancy")
    busy = start_busy(args.busy)
    try:
        with tempfile.TemporaryDirectory() as root:
            run(args, root)
    finally:
        stop(busy)


def implementations(args, root):
    """`{variant: (keras module, tape class, tf or None, context for each step)}`."""
    if args.impl == "tf_keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        import tf_keras
        return {"tf_keras": (tf_keras, tf.GradientTape, tf, Nothing())}
    if args.commits:
        sys.path.insert(0, root)
        found = {}
        for key, ref in zip("AB", args.commits):
            module = extract(ref, f"minikeras_{key.lower()}", root)
            found[f"{key}:{ref}"] = (module, module.GradientTape, None, Nothing())
        return found
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import minikeras
    from minikeras.ops import parallel
    found = {"as_is": (minikeras, minikeras.GradientTape, None, Nothing())}
    if args.blas_ab:
        one = OneBlasThread(parallel.find_openblas_thread_apis())
        found["blas1"] = (minikeras, minikeras.GradientTape, None, one)
    return found


def run(args, root):
    variants = implementations(args, root)
    if args.ignore_load and args.impl == "minikeras":
        for keras, *_ in variants.values():
            importlib.import_module(keras.__name__ + ".ops.parallel").\
                _OVERSUBSCRIBED_LOAD_PER_CORE = float("inf")
    modes = [m for m in args.modes.split(",") if m]
    print(f"{args.impl}, batch {BATCH}, {args.steps} steps x {args.repeats} repeats, busy "
          f"{args.busy}, load at start {os.getloadavg()[0]:.1f}; ms per step")
    for name in args.models.split(","):
        runners = {}
        for key, (keras, tape_class, tf, _) in variants.items():
            _seed(keras, tf)
            runners[key] = Runner(keras, tape_class, name, args.steps, tf)
        first = next(iter(runners.values()))
        for runner in list(runners.values())[1:]:
            _copy_weights(first, runner)
        active = [m for m in modes if first.available(m)]
        times = {(key, mode): [] for key in runners for mode in active}
        for mode in active:                       # warm-up: plans, buffers, traces
            for runner in runners.values():
                runner.run(mode)
        keys = list(runners)
        for repeat in range(args.repeats):
            order = keys if repeat % 2 == 0 else keys[::-1]
            for mode in active:
                for key in order:
                    context = variants[key][3]
                    cpu, wall = time.process_time(), time.perf_counter()
                    with context:
                        runners[key].run(mode)
                    times[key, mode].append(((time.perf_counter() - wall) / args.steps,
                                             (time.process_time() - cpu) / args.steps))
        report(name, keys, active, times, args.repeats)


def report(name, keys, modes, times, repeats):
    print(f"\n{name} (load {os.getloadavg()[0]:.1f})")
    header = f"  {'mode':<11}" + "".join(f"{key[:22]:>26}" for key in keys)
    if len(keys) == 2:
        header += f"{'B/A':>8}"
    print(header + "\n  " + " " * 11 + "".join(f"{'wall med/min, cpu med':>26}" for _ in keys))
    for mode in modes:
        line = f"  {mode:<11}"
        for key in keys:
            t = np.array(times[key, mode]) * 1e3
            line += f"{np.median(t[:, 0]):>10.2f}{t[:, 0].min():>8.2f}{np.median(t[:, 1]):>8.2f}"
        if len(keys) == 2:
            a, b = (np.array(times[key, mode])[:, 0] for key in keys)
            line += f"{np.median(b / a):>8.3f}"
        print(line)


def _seed(keras, tf):
    np.random.seed(0)
    if tf is not None:
        tf.random.set_seed(0)
    elif hasattr(keras.utils, "set_random_seed"):
        keras.utils.set_random_seed(0)


def _copy_weights(source, target):
    for part in ("model", "generator"):
        if part in source.parts:
            target.parts[part].set_weights(source.parts[part].get_weights())


if __name__ == "__main__":
    main()
