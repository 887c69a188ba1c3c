"""Patterns from Keras 2 tutorial and blog scripts (Machine Learning Mastery, the Keras blog,
the Keras 2 FAQ) run unchanged: each test pins one behaviour such a script showed differing."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.wrappers.scikit_learn import KerasRegressor


def _regressor():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def test_wrapper_answers_sklearn_fitted_check():
    # MLM's regression tutorial: cross_val_score(Pipeline([StandardScaler, KerasRegressor])).
    # Pipeline.score runs sklearn's check_is_fitted on the last step, which asks
    # __sklearn_is_fitted__ (or looks for attributes ending in "_", which a regressor lacks).
    regressor = KerasRegressor(build_fn=_regressor, epochs=1, batch_size=4, verbose=0)
    assert regressor.__sklearn_is_fitted__() is False
    regressor.fit(np.ones((8, 3), "float32"), np.ones(8, "float32"))
    assert regressor.__sklearn_is_fitted__() is True


def test_sequential_first_layer_with_two_outputs_is_refused():
    # MLM's bidirectional-LSTM post loops over merge modes including None: tf.keras 2.21
    # refuses a first layer (one given input_shape) with two outputs, as it refuses later ones.
    model = keras.Sequential()
    layer = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True),
                                       input_shape=(3, 1), merge_mode=None)
    with pytest.raises(ValueError, match="should have a single output tensor. For multi-output "
                                         "layers, use the functional API."):
        model.add(layer)


def test_cosine_proximity_metric_string_is_the_similarity():
    # MLM's "How to Use Metrics for Deep Learning with Keras" compiles metrics=['cosine_proximity'];
    # tf.keras 2.21 resolves it to keras.metrics.cosine_similarity (positive: a metric, not the
    # negated loss) and logs it under the name given.
    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(2,),
                                                 kernel_initializer="ones")])
    model.compile("sgd", "binary_crossentropy", metrics=["cosine_proximity"])
    history = model.fit(np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([0.0, 1.0]), verbose=0)
    # one output unit: the cosine of two scalars is 0 for a zero label, 1 for a positive one
    assert history.history["cosine_proximity"] == [pytest.approx(0.5)]


@pytest.mark.parametrize("make", [
    lambda: keras.layers.Dense(1, init="uniform"),   # Keras 1 argument in old MLM posts
    lambda: keras.Model(keras.Input((2,)), keras.Input((2,)), border_mode="same"),
])
def test_unknown_keyword_error_has_tf_keras_arguments(make):
    # tf.keras 2.21 raises TypeError("Keyword argument not understood:", name): printing the
    # error shows the tuple, as tutorials' readers see it
    with pytest.raises(TypeError) as error:
        make()
    assert error.value.args[0] == "Keyword argument not understood:"
    assert error.value.args[1] in ("init", "border_mode")
    assert str(error.value) == repr(error.value.args)
