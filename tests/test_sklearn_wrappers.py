"""`keras.wrappers.scikit_learn` (mnist_sklearn_wrapper): the estimator protocol scikit-learn
calls, without scikit-learn (and GridSearchCV with it when installed)."""
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


class _TagsModule:
    """A stand-in for `sklearn.utils` (scikit-learn >= 1.6): records the tags it is given."""

    class Tags(dict):
        def __init__(self, **fields):
            super().__init__(**fields)

    class TargetTags(dict):
        def __init__(self, **fields):
            super().__init__(**fields)

    class ClassifierTags(dict):
        pass

    class RegressorTags(dict):
        pass


def test_estimator_tags_say_classifier_or_regressor(monkeypatch):
    # scikit-learn >= 1.6 asks `__sklearn_tags__()` (GridSearchCV with scoring="neg_log_loss"
    # in mnist_sklearn_wrapper fails without it); older versions read `_estimator_type`.
    monkeypatch.setitem(__import__("sys").modules, "sklearn.utils", _TagsModule)
    classifier_tags = KerasClassifier(make_classifier).__sklearn_tags__()
    regressor_tags = KerasRegressor(make_classifier).__sklearn_tags__()
    assert classifier_tags["estimator_type"] == KerasClassifier._estimator_type == "classifier"
    assert isinstance(classifier_tags["classifier_tags"], _TagsModule.ClassifierTags)
    assert regressor_tags["estimator_type"] == KerasRegressor._estimator_type == "regressor"
    assert isinstance(regressor_tags["regressor_tags"], _TagsModule.RegressorTags)
    assert classifier_tags["target_tags"] == {"required": True}


def test_grid_search_with_a_probability_scorer():
    model_selection = pytest.importorskip("sklearn.model_selection")
    rng = np.random.RandomState(0)
    x = rng.randn(24, 2).astype("float32")
    y = rng.randint(0, 3, 24)
    classifier = KerasClassifier(make_classifier, epochs=1, batch_size=8, verbose=0)
    search = model_selection.GridSearchCV(classifier, {"units": [2, 3]}, cv=2,
                                          scoring="neg_log_loss")
    search.fit(x, y)
    assert search.best_params_["units"] in (2, 3)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
