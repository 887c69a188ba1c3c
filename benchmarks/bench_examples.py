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
  mnist_mlp                 Dense(512) > Dense(512) > Dense(10), dropout .2, batch 128, RMSprop
  cifar10_resnet            ResNet20 v1 (he_normal, l2 1e-4, BatchNormalization), Adam(1e-3),
                            batch 32, ImageDataGenerator(shifts .1, horizontal flip).flow
  mnist_denoising_autoencoder  Conv2D(32, 64, strides 2) > Dense(16) > Conv2DTranspose(64, 32,
                            strides 2) > Conv2DTranspose(1), mse, batch 128, adam
  variational_autoencoder_deconv  Conv2D(32, 64, strides 2) > Dense(16) > 2 (sampling Lambda)
                            > Conv2DTranspose(64, 32, strides 2) > Conv2DTranspose(1), add_loss,
                            batch 128, rmsprop
  mnist_siamese             shared Dense(128) x 3 on both images, Lambda euclidean distance,
                            contrastive loss, batch 128, RMSprop
  babi_rnn                  qa1: two Embedding(22, 50) > LSTM(100), concatenate > Dense(22),
                            68 / 4 steps, batch 32, adam, validation_split .05
  lstm_text_generation      LSTM(128) over 40 one-hot characters (57) > Dense(57), batch 128,
                            RMSprop(0.01)
  imdb_fasttext             ngram_range 2: Embedding(20000 + the reviews' distinct bigrams, 50)
                            > GlobalAveragePooling1D > Dense(1), maxlen 400, batch 32, adam
  imdb_cnn_lstm             Embedding(20000, 128) > Conv1D(64, 5) > MaxPooling1D(4) > LSTM(70)
                            > Dense(1), maxlen 100, batch 30, adam
  mnist_acgan               the script's train_on_batch loop at batch 100 (generator:
                            Dense > 3 Conv2DTranspose + BN; discriminator: 4 Conv2D), Adam
  mnist_irnn                SimpleRNN(100, relu, identity recurrent init) over 784 steps >
                            Dense(10), batch 32, RMSprop(1e-6)
  mnist_hierarchical_rnn    TimeDistributed(LSTM(128)) over the rows > LSTM(128) > Dense(10),
                            batch 32, rmsprop
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


def _mnist_images(rng, samples, channel=True):
    shape = (samples, 28, 28, 1) if channel else (samples, 28, 28)
    return rng.random(shape, dtype=np.float32)


def _class_targets(keras, rng, samples, classes=10):
    return keras.utils.to_categorical(rng.integers(0, classes, samples), classes)


def mnist_mlp(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Dense(512, activation="relu", input_shape=(784,)), L.Dropout(0.2),
        L.Dense(512, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(),
                  metrics=["accuracy"])
    x = rng.random((samples, 784), dtype=np.float32)
    return model, (x, _class_targets(keras, rng, samples)), {"batch_size": 128}


def _resnet_layer(keras, inputs, num_filters=16, kernel_size=3, strides=1, activation="relu",
                  batch_normalization=True):
    L = keras.layers
    x = L.Conv2D(num_filters, kernel_size=kernel_size, strides=strides, padding="same",
                 kernel_initializer="he_normal",
                 kernel_regularizer=keras.regularizers.l2(1e-4))(inputs)
    if batch_normalization:
        x = L.BatchNormalization()(x)
    if activation is not None:
        x = L.Activation(activation)(x)
    return x


def cifar10_resnet(keras, rng, samples):
    L = keras.layers
    inputs = L.Input(shape=(32, 32, 3))
    x = _resnet_layer(keras, inputs)
    num_filters = 16
    for stack in range(3):
        for res_block in range(3):  # ResNet20 v1: depth 20 = 6 * 3 + 2
            strides = 2 if stack > 0 and res_block == 0 else 1
            y = _resnet_layer(keras, x, num_filters, strides=strides)
            y = _resnet_layer(keras, y, num_filters, activation=None)
            if stack > 0 and res_block == 0:
                x = _resnet_layer(keras, x, num_filters, kernel_size=1, strides=strides,
                                  activation=None, batch_normalization=False)
            x = L.Activation("relu")(L.add([x, y]))
        num_filters *= 2
    x = L.Flatten()(L.AveragePooling2D(pool_size=8)(x))
    outputs = L.Dense(10, activation="softmax", kernel_initializer="he_normal")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=1e-3), metrics=["accuracy"])
    x = rng.integers(0, 256, (samples, 32, 32, 3)).astype("float32") / 255
    x -= np.mean(x, axis=0)  # subtract_pixel_mean
    y = _class_targets(keras, rng, samples)
    datagen = keras.preprocessing.image.ImageDataGenerator(
        width_shift_range=0.1, height_shift_range=0.1, fill_mode="nearest",
        horizontal_flip=True)
    datagen.fit(x)

    def batches(count):
        return datagen.flow(x[:count], y[:count], batch_size=32)
    return model, batches, {}


def mnist_denoising_autoencoder(keras, rng, samples):
    L, K = keras.layers, keras.backend
    inputs = L.Input(shape=(28, 28, 1), name="encoder_input")
    x = inputs
    for filters in (32, 64):
        x = L.Conv2D(filters, kernel_size=3, strides=2, activation="relu", padding="same")(x)
    shape = K.int_shape(x)
    latent = L.Dense(16, name="latent_vector")(L.Flatten()(x))
    encoder = keras.Model(inputs, latent, name="encoder")
    latent_inputs = L.Input(shape=(16,), name="decoder_input")
    x = L.Dense(shape[1] * shape[2] * shape[3])(latent_inputs)
    x = L.Reshape((shape[1], shape[2], shape[3]))(x)
    for filters in (64, 32):
        x = L.Conv2DTranspose(filters, kernel_size=3, strides=2, activation="relu",
                              padding="same")(x)
    x = L.Conv2DTranspose(filters=1, kernel_size=3, padding="same")(x)
    outputs = L.Activation("sigmoid", name="decoder_output")(x)
    decoder = keras.Model(latent_inputs, outputs, name="decoder")
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    autoencoder.compile(loss="mse", optimizer="adam")
    clean = _mnist_images(rng, samples)
    noisy = np.clip(clean + rng.normal(0.5, 0.5, clean.shape).astype(np.float32), 0., 1.)
    return autoencoder, (noisy, clean), {"batch_size": 128}


def variational_autoencoder_deconv(keras, rng, samples):
    L, K = keras.layers, keras.backend
    latent_dim = 2

    def sampling(args):
        z_mean, z_log_var = args
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
        return z_mean + K.exp(0.5 * z_log_var) * epsilon

    inputs = L.Input(shape=(28, 28, 1), name="encoder_input")
    x, filters = inputs, 16
    for _ in range(2):
        filters *= 2
        x = L.Conv2D(filters=filters, kernel_size=3, activation="relu", strides=2,
                     padding="same")(x)
    shape = K.int_shape(x)
    x = L.Dense(16, activation="relu")(L.Flatten()(x))
    z_mean = L.Dense(latent_dim, name="z_mean")(x)
    z_log_var = L.Dense(latent_dim, name="z_log_var")(x)
    z = L.Lambda(sampling, output_shape=(latent_dim,), name="z")([z_mean, z_log_var])
    encoder = keras.Model(inputs, [z_mean, z_log_var, z], name="encoder")
    latent_inputs = L.Input(shape=(latent_dim,), name="z_sampling")
    x = L.Dense(shape[1] * shape[2] * shape[3], activation="relu")(latent_inputs)
    x = L.Reshape((shape[1], shape[2], shape[3]))(x)
    for _ in range(2):
        x = L.Conv2DTranspose(filters=filters, kernel_size=3, activation="relu", strides=2,
                              padding="same")(x)
        filters //= 2
    outputs = L.Conv2DTranspose(filters=1, kernel_size=3, activation="sigmoid",
                                padding="same", name="decoder_output")(x)
    decoder = keras.Model(latent_inputs, outputs, name="decoder")
    outputs = decoder(encoder(inputs)[2])
    vae = keras.Model(inputs, outputs, name="vae")
    reconstruction_loss = keras.losses.binary_crossentropy(K.flatten(inputs),
                                                           K.flatten(outputs)) * 784
    kl_loss = K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1) * -0.5
    vae.add_loss(K.mean(reconstruction_loss + kl_loss))
    vae.compile(optimizer="rmsprop")
    return vae, (_mnist_images(rng, samples), None), {"batch_size": 128}


def mnist_siamese(keras, rng, samples):
    L, K = keras.layers, keras.backend

    def euclidean_distance(vects):
        x, y = vects
        sum_square = K.sum(K.square(x - y), axis=1, keepdims=True)
        return K.sqrt(K.maximum(sum_square, K.epsilon()))

    def contrastive_loss(y_true, y_pred):
        margin = 1
        return K.mean(y_true * K.square(y_pred)
                      + (1 - y_true) * K.square(K.maximum(margin - y_pred, 0)))

    def accuracy(y_true, y_pred):
        return K.mean(K.equal(y_true, K.cast(y_pred < 0.5, y_true.dtype)))

    base_input = L.Input(shape=(28, 28))
    x = L.Flatten()(base_input)
    x = L.Dropout(0.1)(L.Dense(128, activation="relu")(x))
    x = L.Dropout(0.1)(L.Dense(128, activation="relu")(x))
    base_network = keras.Model(base_input, L.Dense(128, activation="relu")(x))
    input_a, input_b = L.Input(shape=(28, 28)), L.Input(shape=(28, 28))
    distance = L.Lambda(euclidean_distance, output_shape=lambda shapes: (shapes[0][0], 1))(
        [base_network(input_a), base_network(input_b)])
    model = keras.Model([input_a, input_b], distance)
    model.compile(loss=contrastive_loss, optimizer=keras.optimizers.RMSprop(),
                  metrics=[accuracy])
    pairs = _mnist_images(rng, 2 * samples, channel=False).reshape(samples, 2, 28, 28)
    labels = np.tile(np.array([1.0, 0.0], np.float32), samples // 2 + 1)[:samples]
    return model, ([pairs[:, 0], pairs[:, 1]], labels), {"batch_size": 128}


def babi_rnn(keras, rng, samples):
    L = keras.layers
    vocab_size, story_maxlen, query_maxlen = 22, 68, 4  # qa1 single supporting fact
    sentence = L.Input(shape=(story_maxlen,), dtype="int32")
    encoded_sentence = L.LSTM(100)(L.Embedding(vocab_size, 50)(sentence))
    question = L.Input(shape=(query_maxlen,), dtype="int32")
    encoded_question = L.LSTM(100)(L.Embedding(vocab_size, 50)(question))
    merged = L.concatenate([encoded_sentence, encoded_question])
    preds = L.Dense(vocab_size, activation="softmax")(merged)
    model = keras.Model([sentence, question], preds)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    stories = rng.integers(1, vocab_size, (samples, story_maxlen)).astype(np.int32)
    for row, length in zip(stories, rng.integers(10, story_maxlen, samples)):
        row[:story_maxlen - length] = 0  # pad_sequences pads in front
    queries = rng.integers(1, vocab_size, (samples, query_maxlen)).astype(np.int32)
    answers = _class_targets(keras, rng, samples, vocab_size)
    return model, ([stories, queries], answers), {"batch_size": 32, "validation_split": 0.05}


def lstm_text_generation(keras, rng, samples):
    L = keras.layers
    maxlen, chars = 40, 57
    model = keras.Sequential([L.LSTM(128, input_shape=(maxlen, chars)),
                              L.Dense(chars, activation="softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(learning_rate=0.01))
    text = rng.integers(0, chars, samples * 3 + maxlen + 1)
    starts = np.arange(samples) * 3  # the script's sentences step 3 characters
    x = np.eye(chars, dtype=bool)[text[starts[:, None] + np.arange(maxlen)]]
    y = np.eye(chars, dtype=bool)[text[starts + maxlen]]
    return model, (x, y), {"batch_size": 128}


def imdb_fasttext(keras, rng, samples):
    """ngram_range = 2: each review's bigrams get ids above the 20000 words, the embedding
    table grows to 20000 + the distinct bigrams of the training reviews."""
    L = keras.layers
    max_features, maxlen = 20000, 400
    reviews = [list(_ids(rng, 1, int(length), max_features)[0])
               for length in rng.integers(50, 300, samples)]
    bigram_ids = {}
    for review in reviews:
        for bigram in zip(review, review[1:]):
            bigram_ids.setdefault(bigram, max_features + len(bigram_ids))
    augmented = [review + [bigram_ids[b] for b in zip(review, review[1:])] for review in reviews]
    x = keras.preprocessing.sequence.pad_sequences(augmented, maxlen=maxlen)
    model = keras.Sequential([
        L.Embedding(max_features + len(bigram_ids), 50, input_length=maxlen),
        L.GlobalAveragePooling1D(), L.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, (x, _binary_labels(rng, samples)), {"batch_size": 32}


def imdb_cnn_lstm(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.Embedding(20000, 128, input_length=100), L.Dropout(0.25),
        L.Conv1D(64, 5, padding="valid", activation="relu", strides=1),
        L.MaxPooling1D(pool_size=4), L.LSTM(70), L.Dense(1), L.Activation("sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, (_ids(rng, samples, 100, 20000), _binary_labels(rng, samples)), {
        "batch_size": 30}


def mnist_acgan(keras, rng, samples):
    """The script's training loop at batch 100 (train_on_batch on the discriminator, then on
    the combined model with the discriminator frozen), with its models; `samples` real
    images per epoch."""
    L = keras.layers
    latent_size, num_classes, batch_size = 100, 10, 100
    adam = {"learning_rate": 0.0002, "beta_1": 0.5}

    cnn = keras.Sequential([
        L.Dense(3 * 3 * 384, input_dim=latent_size, activation="relu"),
        L.Reshape((3, 3, 384)),
        L.Conv2DTranspose(192, 5, strides=1, padding="valid", activation="relu",
                          kernel_initializer="glorot_normal"),
        L.BatchNormalization(),
        L.Conv2DTranspose(96, 5, strides=2, padding="same", activation="relu",
                          kernel_initializer="glorot_normal"),
        L.BatchNormalization(),
        L.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh",
                          kernel_initializer="glorot_normal")])
    latent = L.Input(shape=(latent_size,))
    image_class = L.Input(shape=(1,), dtype="int32")
    cls = L.Embedding(num_classes, latent_size,
                      embeddings_initializer="glorot_normal")(image_class)
    generator = keras.Model([latent, image_class], cnn(L.multiply([latent, L.Flatten()(cls)])))

    features = keras.Sequential()
    for i, (filters, strides) in enumerate([(32, 2), (64, 1), (128, 2), (256, 1)]):
        kwargs = {"input_shape": (28, 28, 1)} if i == 0 else {}
        features.add(L.Conv2D(filters, 3, padding="same", strides=strides, **kwargs))
        features.add(L.LeakyReLU(0.2))
        features.add(L.Dropout(0.3))
    features.add(L.Flatten())
    image = L.Input(shape=(28, 28, 1))
    hidden = features(image)
    discriminator = keras.Model(image, [
        L.Dense(1, activation="sigmoid", name="generation")(hidden),
        L.Dense(num_classes, activation="softmax", name="auxiliary")(hidden)])
    losses = ["binary_crossentropy", "sparse_categorical_crossentropy"]
    discriminator.compile(optimizer=keras.optimizers.Adam(**adam), loss=losses)
    discriminator.trainable = False
    fake, aux = discriminator(generator([latent, image_class]))
    combined = keras.Model([latent, image_class], [fake, aux])
    combined.compile(optimizer=keras.optimizers.Adam(**adam), loss=losses)

    x_train = _mnist_images(rng, samples) * 2 - 1
    y_train = rng.integers(0, num_classes, samples)

    def train(count):
        for start in range(0, count - batch_size + 1, batch_size):
            image_batch = x_train[start:start + batch_size]
            label_batch = y_train[start:start + batch_size]
            noise = rng.uniform(-1, 1, (batch_size, latent_size)).astype(np.float32)
            sampled = rng.integers(0, num_classes, batch_size)
            generated = generator.predict([noise, sampled.reshape((-1, 1))], verbose=0)
            x = np.concatenate((image_batch, generated))
            soft_zero, soft_one = 0, 0.95
            y = np.array([soft_one] * batch_size + [soft_zero] * batch_size)
            aux_y = np.concatenate((label_batch, sampled), axis=0)
            weights = [np.ones(2 * batch_size), np.concatenate(
                (np.ones(batch_size) * 2, np.zeros(batch_size)))]
            discriminator.train_on_batch(x, [y, aux_y], sample_weight=weights)
            noise = rng.uniform(-1, 1, (2 * batch_size, latent_size)).astype(np.float32)
            sampled = rng.integers(0, num_classes, 2 * batch_size)
            trick = np.ones(2 * batch_size) * soft_one
            combined.train_on_batch([noise, sampled.reshape((-1, 1))], [trick, sampled])
    return None, train, {}


def mnist_irnn(keras, rng, samples):
    L = keras.layers
    model = keras.Sequential([
        L.SimpleRNN(100, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
                    recurrent_initializer=keras.initializers.Identity(gain=1.0),
                    activation="relu", input_shape=(784, 1)),
        L.Dense(10), L.Activation("softmax")])
    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.RMSprop(learning_rate=1e-6), metrics=["accuracy"])
    x = rng.random((samples, 784, 1), dtype=np.float32)
    return model, (x, _class_targets(keras, rng, samples)), {"batch_size": 32}


def mnist_hierarchical_rnn(keras, rng, samples):
    L = keras.layers
    x = L.Input(shape=(28, 28, 1))
    encoded_rows = L.TimeDistributed(L.LSTM(128))(x)
    encoded_columns = L.LSTM(128)(encoded_rows)
    prediction = L.Dense(10, activation="softmax")(encoded_columns)
    model = keras.Model(x, prediction)
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model, (_mnist_images(rng, samples), _class_targets(keras, rng, samples)), {
        "batch_size": 32}


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
    "mnist_mlp": (mnist_mlp, 60000, 256),
    "cifar10_resnet": (cifar10_resnet, 2000, 64),
    "mnist_denoising_autoencoder": (mnist_denoising_autoencoder, 12800, 256),
    "variational_autoencoder_deconv": (variational_autoencoder_deconv, 12800, 256),
    "mnist_siamese": (mnist_siamese, 108000, 256),
    "babi_rnn": (babi_rnn, 10000, 64),
    "lstm_text_generation": (lstm_text_generation, 40000, 256),
    "imdb_fasttext": (imdb_fasttext, 4000, 64),
    "imdb_cnn_lstm": (imdb_cnn_lstm, 9000, 60),
    "mnist_acgan": (mnist_acgan, 1500, 100),
    "mnist_irnn": (mnist_irnn, 3200, 32),
    "mnist_hierarchical_rnn": (mnist_hierarchical_rnn, 1600, 64),
}


def _fit(model, data, count, fit_kwargs):
    if model is None:  # the script's own training loop
        data(count)
        return
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
