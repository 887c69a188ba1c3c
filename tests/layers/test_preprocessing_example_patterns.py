"""keras.io-style workflows with the preprocessing layers, end to end on tiny data: text
classification with TextVectorization inside the model, structured data with StringLookup /
IntegerLookup / Normalization / Discretization, bag-of-words with tf_idf and feature crossing
with Hashing / HashedCrossing. Checks: encodings against NumPy references written from the
documented rules, training that learns a separable task, and the exported end-to-end model
(string in, prediction out) agreeing with the two-stage pipeline and with its .keras copy."""
import collections
import re

import numpy as np

import minikeras as keras
from minikeras import layers

WORDS_POS = ["good", "great", "fine", "superb", "lovely"]
WORDS_NEG = ["bad", "awful", "poor", "boring", "dull"]
FILLER = ["the", "movie", "was", "a", "film", "plot", "really"]


def _reviews(count, seed):
    rng = np.random.RandomState(seed)
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        words = list(rng.choice(FILLER, 4)) + list(rng.choice(WORDS_POS if label else WORDS_NEG, 2))
        rng.shuffle(words)
        text = " ".join(words)
        if rng.rand() < 0.5:
            text = text.capitalize() + "!<br />"
        texts.append(text)
        labels.append(label)
    return np.array(texts, dtype=object), np.array(labels, dtype="float32")


def _standardize(strings):
    """A custom standardization as in keras.io's text classification example, on NumPy."""
    lowered = np.char.lower(strings.astype(str))
    return np.char.replace(lowered, "<br />", " ")


def _reference_vocabulary(texts, max_tokens):
    """The documented rule: tokens by frequency, ties by token, both descending, after the
    padding token '' and '[UNK]'."""
    punctuation = re.compile(r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']")
    counts = collections.Counter(
        token for text in texts
        for token in punctuation.sub("", str(text).lower().replace("<br />", " ")).split())
    ranked = sorted(counts, key=lambda t: (counts[t], t.encode()), reverse=True)
    return ["", "[UNK]"] + ranked[:max_tokens - 2]


def test_text_classification_with_vectorization_inside_the_model(tmp_path):
    keras.utils.set_random_seed(3)
    texts, labels = _reviews(64, seed=0)
    vectorize = layers.TextVectorization(
        standardize=lambda s: np.char.translate(_standardize(s), str.maketrans("", "", "!")),
        max_tokens=30, output_mode="int", output_sequence_length=8)
    vectorize.adapt(texts, batch_size=16)
    assert vectorize.get_vocabulary() == _reference_vocabulary(texts, 30)

    token_inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(30, 8)(token_inputs)
    x = layers.Conv1D(8, 3, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    predictions = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(token_inputs, predictions)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05),
                  metrics=["accuracy"])
    history = model.fit(vectorize(texts), labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] == 1.0

    string_input = keras.Input(shape=(1,), dtype="string")
    end_to_end = keras.Model(string_input, model(vectorize(string_input)))
    test_texts, test_labels = _reviews(16, seed=1)
    probabilities = end_to_end.predict(test_texts[:, None], verbose=0)
    np.testing.assert_allclose(probabilities, model.predict(vectorize(test_texts), verbose=0),
                               rtol=1e-6)
    assert np.mean((probabilities[:, 0] > 0.5) == test_labels) >= 0.9


def test_bag_of_words_tf_idf_model_and_keras_file(tmp_path):
    keras.utils.set_random_seed(4)
    texts, labels = _reviews(48, seed=2)
    vectorize = layers.TextVectorization(max_tokens=20, output_mode="tf_idf",
                                         standardize=_standardize, ngrams=2)
    vectorize.adapt(texts)
    features = vectorize(texts).numpy()
    assert features.shape == (48, 20) and features.dtype == np.float32
    inputs = keras.Input(shape=(1,), dtype="string")
    outputs = layers.Dense(1, activation="sigmoid")(vectorize(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.1),
                  metrics=["accuracy"])
    history = model.fit(texts[:, None], labels, epochs=20, batch_size=8, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    path = str(tmp_path / "bow.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects={"_standardize": _standardize})
    np.testing.assert_allclose(reloaded.predict(texts[:, None], verbose=0),
                               model.predict(texts[:, None], verbose=0), rtol=1e-6)


def _patients(count, seed):
    rng = np.random.RandomState(seed)
    thal = rng.choice(["normal", "fixed", "reversible"], count, p=[0.5, 0.2, 0.3])
    sex = rng.choice([0, 1], count)
    cp = rng.choice([1, 2, 3, 4], count)
    age = rng.uniform(30, 75, count).astype("float32")
    target = ((thal == "reversible") | (age > 60)).astype("float32")
    return {"thal": thal.astype(object)[:, None], "sex": sex[:, None], "cp": cp[:, None],
            "age": age[:, None]}, target


def _one_hot_reference(values, vocabulary):
    return np.array([[float(v == token) for token in vocabulary] for v in values], "float32")


def test_structured_data_classification(tmp_path):
    keras.utils.set_random_seed(5)
    data, target = _patients(120, seed=0)
    inputs = {"thal": keras.Input(shape=(1,), name="thal", dtype="string"),
              "sex": keras.Input(shape=(1,), name="sex", dtype="int64"),
              "cp": keras.Input(shape=(1,), name="cp", dtype="int64"),
              "age": keras.Input(shape=(1,), name="age")}
    thal_lookup = layers.StringLookup(output_mode="one_hot")
    thal_lookup.adapt(data["thal"])
    sex_lookup = layers.IntegerLookup(output_mode="one_hot")
    sex_lookup.adapt(data["sex"])
    cp_index = layers.IntegerLookup()
    cp_index.adapt(data["cp"])
    cp_encode = layers.CategoryEncoding(num_tokens=cp_index.vocabulary_size(),
                                        output_mode="one_hot")
    age_norm = layers.Normalization()
    age_norm.adapt(data["age"])
    age_buckets = layers.Discretization(num_bins=4, output_mode="one_hot")
    age_buckets.adapt(data["age"])

    counts = collections.Counter(data["thal"][:, 0])
    thal_vocabulary = ["[UNK]"] + sorted(counts, key=lambda t: (counts[t], t.encode()),
                                         reverse=True)
    assert thal_lookup.get_vocabulary() == thal_vocabulary
    np.testing.assert_array_equal(thal_lookup(data["thal"]).numpy(),
                                  _one_hot_reference(data["thal"][:, 0], thal_vocabulary))
    np.testing.assert_allclose(age_norm(data["age"]).numpy().mean(), 0.0, atol=1e-5)
    assert len(age_buckets.bin_boundaries) == 3

    encoded = layers.concatenate([
        thal_lookup(inputs["thal"]), sex_lookup(inputs["sex"]),
        cp_encode(cp_index(inputs["cp"])), age_norm(inputs["age"]),
        age_buckets(inputs["age"])])
    x = layers.Dense(16, activation="relu")(encoded)
    x = layers.Dropout(0.1)(x)
    output = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, output)
    assert model.layers[-3].input_shape[-1] == 4 + 3 + 5 + 1 + 4
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(data, target, epochs=40, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] >= 0.9

    sample = {"thal": np.array([["fixed"]], dtype=object), "sex": np.array([[1]]),
              "cp": np.array([[7]]), "age": np.array([[64.0]], "float32")}
    path = str(tmp_path / "patients.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(sample, verbose=0),
                               model.predict(sample, verbose=0), rtol=1e-6)


def test_feature_crossing_with_hashing(tmp_path):
    keras.utils.set_random_seed(6)
    rng = np.random.RandomState(1)
    color = rng.choice(["red", "green", "blue"], 96).astype(object)
    size = rng.choice([1, 2, 3], 96)
    target = ((color == "red") ^ (size == 2)).astype("float32")   # needs the cross
    color_in = keras.Input(shape=(), dtype="string", name="color")
    size_in = keras.Input(shape=(), dtype="int64", name="size")
    crossed = layers.HashedCrossing(num_bins=64, output_mode="one_hot")((color_in, size_in))
    hashed = layers.Hashing(num_bins=8, output_mode="one_hot")(color_in)
    output = layers.Dense(1, activation="sigmoid")(layers.concatenate([crossed, hashed]))
    model = keras.Model([color_in, size_in], output)
    bins = layers.HashedCrossing(num_bins=64)((color, size)).numpy()
    distinct = {(c, s): b for c, s, b in zip(color, size, bins)}
    assert len(set(distinct.values())) == len(distinct) == 9       # no collisions here
    model.compile(keras.optimizers.Adam(0.2), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit([color, size], target, epochs=30, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    path = str(tmp_path / "cross.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict([color, size], verbose=0),
                               model.predict([color, size], verbose=0), rtol=1e-6)
