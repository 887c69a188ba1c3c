"""Training speed of the classic Keras 2 example scripts (keras-team/keras `examples/`), the
models users time minikeras by: each model as its script builds it, on synthetic data of the
script's shapes, one timed `fit` epoch after a short warm-up fit, in samples per second.

    PYTHONPATH=. python benchmarks/bench_examples.py [--only imdb_lstm,cifar10_cnn] \
        [--scale 0.5] [--rounds 1]
    PYTHONPATH=.:benchmarks python benchmarks/bench_examples.py --commits main HEAD \
        [--only conv_lstm] [--rounds 4]      # two commits interleaved: median B / A ratios

Every builder takes the keras module as its argument, so another package with the Keras 2 API
(a commit extracted by `commit_packages.extract`, or the peer's tf_keras from a script of your
own outside this repository) can be timed through `run(module, name, scale)`. The machine is
shared: compare figures of one run, interleaved, not across runs.

Scripts and their settings (Keras 2.3 examples):
  imdb_lstm                 Embedding(20000, 128) > LSTM(128, dropout .2, recurrent_dropout .2)
                            > Dense(1), maxlen 80, batch 32, adam
  imdb_cnn                  Embedding(5000, 50) > Dropout > Conv1D(250, 3) > GlobalMaxPooling1D
                            > Dense(250) > Dense(1), maxlen 400, batch 32, adam
  imdb_bidirectional_lstm   Embedding(20000, 128) > Bidirectional(LSTM(64)) > Dense(1),
                            maxlen 100, batch 32, adam
  cifar10_cnn               4 Conv2D + 2 MaxPooling2D + Dense(512), RMSprop(1e-4), batch 32,
                            fit on ImageDataGenerator(width/height shift .1, horizontal flip).flow
  reuters_mlp               Tokenizer(num_words=1000).sequences_to_matrix(binary) (timed too)
                            > Dense(512) > Dense(46), batch 32, adam, validation_split .1
  mnist_cnn                 Conv2D(32) > Conv2D(64) > MaxPooling2D > Dense(128) > Dense(10),
                            batch 128, Adadelta
  variational_autoencoder   Dense 784 > 512 > 2 (sampling Lambda) > 512 > 784, add_loss,
                            batch 128, adam
  lstm_seq2seq              char-level LSTM(256) encoder / decoder, 71 / 93 tokens, 16 / 59
                            steps, batch 64, rmsprop
  addition_rnn              LSTM(128) > RepeatVector(4) > LSTM(128, return_sequences) >
                            TimeDistributed(Dense(12)), batch 128, adam
  conv_lstm                 (small) 2 x ConvLSTM2D(20, 3x3) + BatchNormalization > Conv3D(1),
                            15 frames of 40x40, batch 10, adadelta
"""
import argparse
import os
import time

import numpy as np


def _ids(rng, samples, length, vocabulary):
    """Word ids as imdb's frequency ranks: small ids common (log-uniform in [1, vocabulary))."""
    ids = np.floor(np.exp(rng.random((samples, length)) * np.log(vocabulary))).astype(np.int32)
    return np.clip(ids, 1, vocabulary - 1)


def _binary_labels(rng, samples):
    return rng.integers(0, 2, samples).astype(np.float32)


def imdb_lstm(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Embedding(20000, 128, input_length=80),
        L.LSTM(128, dropout=0.2, recurrent_dropout=0.2),
        L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, (_ids(rng, samples, 80, 20000), _binary_labels(rng, samples)), {"batch_size": 32}


def imdb_cnn(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Embedding(5000, 50, input_length=400), L.Dropout(0.2),
        L.Conv1D(250, 3, padding="valid", activation="relu", strides=1),
        L.GlobalMaxPooling1D(), L.Dense(250), L.Dropout(0.2), L.Activation("relu"),
        L.Dense(1), L.Activation("sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, (_ids(rng, samples, 400, 5000), _binary_labels(rng, samples)), {"batch_size": 32}


def imdb_bidirectional_lstm(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Embedding(20000, 128, input_length=100), L.Bidirectional(L.LSTM(64)),
        L.Dropout(0.5), L.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model, (_ids(rng, samples, 100, 20000), _binary_labels(rng, samples)), {"batch_size": 32}


def cifar10_cnn(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)), L.Activation("relu"),
        L.Conv2D(32, (3, 3)), L.Activation("relu"), L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25),
        L.Conv2D(64, (3, 3), padding="same"), L.Activation("relu"),
        L.Conv2D(64, (3, 3)), L.Activation("relu"), L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25),
        L.Flatten(), L.Dense(512), L.Activation("relu"), L.Dropout(0.5),
        L.Dense(10), L.Activation("softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(learning_rate=0.0001), metrics=["accuracy"])
    x = rng.integers(0, 256, (samples, 32, 32, 3)).astype("float32") / 255
    y = keras.utils.to_categorical(rng.integers(0, 10, samples), 10)
    datagen = keras.preprocessing.image.ImageDataGenerator(
        width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
    datagen.fit(x)

    def batches(count):
        return datagen.flow(x[:count], y[:count], batch_size=32)
    return model, batches, {}


def reuters_mlp(keras, rng, samples):
    L = keras.layers
    sequences = [list(_ids(rng, 1, int(length), 30980)[0])
                 for length in rng.integers(20, 300, samples)]
    labels = rng.integers(0, 46, samples)

    def data(count):
        # the script's preprocessing is part of what users time
        tokenizer = keras.preprocessing.text.Tokenizer(num_words=1000)
        x = tokenizer.sequences_to_matrix(sequences[:count], mode="binary")
        return x, keras.utils.to_categorical(labels[:count], 46)
    model = keras.Sequential([
        L.Dense(512, input_shape=(1000,)), L.Activation("relu"), L.Dropout(0.5),
        L.Dense(46), L.Activation("softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, data, {"batch_size": 32, "validation_split": 0.1}


def mnist_cnn(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.5),
        L.Dense(10, activation="softmax")])
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.Adadelta(), metrics=["accuracy"])
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 10, samples), 10)
    return model, (x, y), {"batch_size": 128}


def variational_autoencoder(keras, rng, samples):
    L, K = keras.layers, keras.backend
    original_dim, intermediate_dim, latent_dim = 784, 512, 2

    def sampling(args):
        z_mean, z_log_var = args
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
        return z_mean + K.exp(0.5 * z_log_var) * epsilon

    inputs = L.Input(shape=(original_dim,), name="encoder_input")
    x = L.Dense(intermediate_dim, activation="relu")(inputs)
    z_mean = L.Dense(latent_dim, name="z_mean")(x)
    z_log_var = L.Dense(latent_dim, name="z_log_var")(x)
    z = L.Lambda(sampling, output_shape=(latent_dim,), name="z")([z_mean, z_log_var])
    encoder = keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = L.Input(shape=(latent_dim,), name="z_sampling")
    x = L.Dense(intermediate_dim, activation="relu")(latent_inputs)
    outputs = L.Dense(original_dim, activation="sigmoid")(x)
    decoder = keras.Model(latent_inputs, outputs, name="decoder")
    outputs = decoder(encoder(inputs)[2])
    vae = keras.Model(inputs, outputs, name="vae_mlp")
    reconstruction_loss = keras.losses.binary_crossentropy(inputs, outputs) * original_dim
    kl_loss = 1 + z_log_var - K.square(z_mean) - K.exp(z_log_var)
    kl_loss = K.sum(kl_loss, axis=-1) * -0.5
    vae.add_loss(K.mean(reconstruction_loss + kl_loss))
    vae.compile(optimizer="adam")
    x = rng.random((samples, original_dim), dtype=np.float32)
    return vae, (x, None), {"batch_size": 128}


def lstm_seq2seq(keras, rng, samples):
    L = keras.layers
    encoder_tokens, decoder_tokens, encoder_steps, decoder_steps = 71, 93, 16, 59
    encoder_inputs = L.Input(shape=(None, encoder_tokens))
    _, state_h, state_c = L.LSTM(256, return_state=True)(encoder_inputs)
    decoder_inputs = L.Input(shape=(None, decoder_tokens))
    decoder_outputs, _, _ = L.LSTM(256, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = L.Dense(decoder_tokens, activation="softmax")(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])

    def one_hot(steps, tokens):
        # short sentences padded with the space character's one-hot, as the script pads them
        chars = rng.integers(0, tokens, (samples, steps))
        lengths = rng.integers(steps // 3, steps + 1, samples)
        chars[np.arange(steps) >= lengths[:, None]] = 0
        return np.eye(tokens, dtype=np.float32)[chars]
    decoder_in = one_hot(decoder_steps, decoder_tokens)
    decoder_target = np.zeros_like(decoder_in)
    decoder_target[:, :-1] = decoder_in[:, 1:]
    x = [one_hot(encoder_steps, encoder_tokens), decoder_in]
    return model, (x, decoder_target), {"batch_size": 64}


def addition_rnn(keras, rng, samples):
    L = keras.layers
    chars, maxlen, digits = 12, 7, 3
    model = keras.Sequential([
        L.LSTM(128, input_shape=(maxlen, chars)), L.RepeatVector(digits + 1),
        L.LSTM(128, return_sequences=True),
        L.TimeDistributed(L.Dense(chars, activation="softmax"))])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    x = np.eye(chars, dtype=bool)[rng.integers(0, chars, (samples, maxlen))]
    y = np.eye(chars, dtype=bool)[rng.integers(0, chars, (samples, digits + 1))]
    return model, (x, y), {"batch_size": 128}


def conv_lstm(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.ConvLSTM2D(filters=20, kernel_size=(3, 3), input_shape=(None, 40, 40, 1),
                     padding="same", return_sequences=True),
        L.BatchNormalization(),
        L.ConvLSTM2D(filters=20, kernel_size=(3, 3), padding="same", return_sequences=True),
        L.BatchNormalization(),
        L.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same",
                 data_format="channels_last")])
    model.compile(loss="binary_crossentropy", optimizer="adadelta")
    frames = (rng.random((samples, 15, 40, 40, 1)) > 0.9).astype(np.float32)
    shifted = np.zeros_like(frames)
    shifted[:, :-1] = frames[:, 1:]
    return model, (frames, shifted), {"batch_size": 10}


# name: (builder, samples timed at scale 1, warm-up samples)
EXAMPLES = {
    "imdb_lstm": (imdb_lstm, 1600, 64),
    "imdb_cnn": (imdb_cnn, 1600, 64),
    "imdb_bidirectional_lstm": (imdb_bidirectional_lstm, 1600, 64),
    "cifar10_cnn": (cifar10_cnn, 1600, 64),
    "reuters_mlp": (reuters_mlp, 8000, 320),
    "mnist_cnn": (mnist_cnn, 1280, 256),
    "variational_autoencoder": (variational_autoencoder, 12800, 256),
    "lstm_seq2seq": (lstm_seq2seq, 640, 128),
    "addition_rnn": (addition_rnn, 12800, 256),
    "conv_lstm": (conv_lstm, 100, 20),
}


def _fit(model, data, count, fit_kwargs):
    if callable(data):
        data = data(count)
    if isinstance(data, tuple):
        x, y = data
        x = [part[:count] for part in x] if isinstance(x, list) else x[:count]
        y = None if y is None else y[:count]
        model.fit(x, y, epochs=1, verbose=0, shuffle=True, **fit_kwargs)
    else:
        model.fit(data, epochs=1, verbose=0, **fit_kwargs)


def run(keras, name, scale=1.0, seed=0):
    """Build example `name` with the keras module `keras`, warm it up and time one epoch of
    its training. Returns (samples, wall seconds, process CPU seconds)."""
    builder, samples, warmup = EXAMPLES[name]
    samples = max(warmup, int(samples * scale))
    rng = np.random.default_rng(seed)
    model, data, fit_kwargs = builder(keras, rng, samples)
    _fit(model, data, warmup, fit_kwargs)
    wall, cpu = time.perf_counter(), time.process_time()
    _fit(model, data, samples, fit_kwargs)
    return samples, time.perf_counter() - wall, time.process_time() - cpu


def compare_commits(a, b, names, scale, rounds):
    """Each example under commits `a` and `b` alternately (A B, B A, ...), in one process;
    prints the median ratios B / A of wall and process CPU time per sample."""
    import sys
    import tempfile
    from commit_packages import extract
    with tempfile.TemporaryDirectory() as root:
        sys.path.insert(0, root)
        modules = {"A": extract(a, "minikeras_a", root), "B": extract(b, "minikeras_b", root)}
        print(f"A = {a}, B = {b}, load average {os.getloadavg()[0]:.1f}")
        for name in names:
            times = {"A": [], "B": []}
            for round_index in range(rounds):
                for key in ("AB" if round_index % 2 == 0 else "BA"):
                    samples, wall, cpu = run(modules[key], name, scale, seed=round_index)
                    times[key].append((wall / samples, cpu / samples))
            wall_ratio = np.median([tb[0] / ta[0] for ta, tb in zip(times["A"], times["B"])])
            cpu_ratio = np.median([tb[1] / ta[1] for ta, tb in zip(times["A"], times["B"])])
            cpu_a = np.median([t[1] for t in times["A"]]) * 1e3
            cpu_b = np.median([t[1] for t in times["B"]]) * 1e3
            print(f"{name:26s} B/A wall {wall_ratio:.3f} cpu {cpu_ratio:.3f}  (cpu ms a sample "
                  f"{cpu_a:.2f} -> {cpu_b:.2f}), load {os.getloadavg()[0]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated example names")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the samples timed")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--commits", nargs=2, metavar=("A", "B"),
                        help="compare two commits interleaved instead")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(EXAMPLES)
    if args.commits:
        compare_commits(*args.commits, names, args.scale, args.rounds)
        return
    import minikeras
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'example':26s} {'samples':>8s} {'wall s':>8s} {'cpu s':>8s} {'samples/s':>10s}")
    for name in names:
        for _ in range(args.rounds):
            samples, wall, cpu = run(minikeras, name, args.scale)
            print(f"{name:26s} {samples:8d} {wall:8.2f} {cpu:8.2f} {samples / wall:10.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
