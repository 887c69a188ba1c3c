"""`keras.wrappers.scikit_learn` (mnist_sklearn_wrapper): the estimator protocol scikit-learn
calls, without scikit-learn."""
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras.wrappers.scikit_learn import KerasClassifier, KerasRegressor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def make_classifier(units=4, output="softmax", loss="sparse_categorical_crossentropy"):
    model = keras.Sequential([
        keras.layers.Dense(units, activation="relu", input_shape=(2,)),
        keras.layers.Dense(1 if output == "sigmoid" else 3, activation=output)])
    model.compile("adam", loss, metrics=["accuracy"])
    return model


def test_classifier_maps_labels_and_reports_accuracy():
    rng = np.random.RandomState(0)
    x = rng.randn(30, 2).astype("float32")
    labels = np.array(["b", "a", "c"])[rng.randint(0, 3, 30)]
    classifier = KerasClassifier(make_classifier, units=5, epochs=2, batch_size=10, verbose=0)
    history = classifier.fit(x, labels)
    assert len(history.history["loss"]) == 2            # epochs went to fit
    assert classifier.model.layers[0].units == 5         # units went to build_fn
    assert list(classifier.classes_) == ["a", "b", "c"]
    probabilities = classifier.predict_proba(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    predicted = classifier.predict(x)
    np.testing.assert_array_equal(predicted, classifier.classes_[probabilities.argmax(axis=1)])
    assert classifier.score(x, labels) == pytest.approx(np.mean(predicted == labels))


def test_categorical_loss_gets_one_hot_targets_and_sigmoid_gets_two_columns():
    x = np.random.RandomState(1).randn(12, 2).astype("float32")
    y = np.arange(12) % 3
    categorical = KerasClassifier(make_classifier, loss="categorical_crossentropy", epochs=1,
                                  verbose=0)
    categorical.fit(x, y)
    assert categorical.predict(x).shape == (12,)
    binary = KerasClassifier(make_classifier, output="sigmoid", loss="binary_crossentropy",
                             epochs=1, verbose=0)
    binary.fit(x, y % 2)
    probabilities = binary.predict_proba(x)
    np.testing.assert_allclose(probabilities[:, 0], 1 - probabilities[:, 1], rtol=1e-6)


def test_params_protocol_and_illegal_parameters():
    classifier = KerasClassifier(make_classifier, units=3, epochs=1)
    params = classifier.get_params()
    assert params["build_fn"] is make_classifier and params["units"] == 3
    assert classifier.set_params(units=7) is classifier and classifier.sk_params["units"] == 7
    with pytest.raises(ValueError, match="foo is not a legal parameter"):
        KerasClassifier(make_classifier, foo=1)
    with pytest.warns(DeprecationWarning, match="Sci-Keras"):
        KerasRegressor(make_classifier)


def test_regressor_score_is_the_negated_loss():
    def make_regressor():
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,),
                                                     kernel_initializer="zeros")])
        model.compile("sgd", "mse")
        return model
    x = np.ones((4, 2), "float32")
    y = np.full(4, 3.0, "float32")
    regressor = KerasRegressor(make_regressor, epochs=1, verbose=0, batch_size=4)
    regressor.fit(x, y)
    predictions = regressor.predict(x)
    assert predictions.shape == (4,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert regressor.score(x, y) == pytest.approx(-np.mean((predictions - y) ** 2), rel=1e-5)
