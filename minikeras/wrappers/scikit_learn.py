"""`keras.wrappers.scikit_learn`: `KerasClassifier` and `KerasRegressor`, scikit-learn
estimators around a function that builds and compiles a model (Keras 2 / tf.keras 2.x).

Constructor keyword arguments (`sk_params`) go to whichever of `build_fn`, `fit`, `predict`
and `evaluate` takes them. scikit-learn calls `get_params`, `set_params`, `fit`, `predict`,
`predict_proba`, `score` and (>= 1.6) `__sklearn_tags__`, the one place that imports it.

Example:

    def make_model(units=8):
        model = keras.Sequential([keras.layers.Dense(units, activation="relu", input_shape=(4,)),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    classifier = KerasClassifier(make_model, units=16, epochs=5, batch_size=8, verbose=0)
    classifier.fit(x, labels)
    classifier.score(x, labels)
"""
import copy
import importlib
import inspect
import types
import warnings

import numpy as np

from .. import losses
from ..models.sequential import Sequential
from ..utils.np_utils import to_categorical


def _has_arg(fn, name):
    """Whether `fn` takes a parameter `name` (a `**kwargs` parameter does not count)."""
    parameters = inspect.signature(fn).parameters
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _is_categorical_crossentropy(loss):
    return (loss == "categorical_crossentropy" or loss is losses.categorical_crossentropy or
            isinstance(loss, losses.CategoricalCrossentropy) or
            getattr(loss, "fn", None) is losses.categorical_crossentropy)


class BaseWrapper:
    """Holds `build_fn` and the `sk_params`; `fit` builds a fresh model and trains it."""

    _estimator_type = None

    def __init__(self, build_fn=None, **sk_params):
        warnings.warn(f"``{type(self).__name__}`` is deprecated, use Sci-Keras "
                      "(https://github.com/adriangb/scikeras) instead.", DeprecationWarning,
                      stacklevel=2)
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _build_function(self):
        if self.build_fn is None:
            return self.__call__
        if not isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn.__call__
        return self.build_fn

    def check_params(self, params):
        """Every parameter must be an argument of build_fn, fit, predict or evaluate."""
        legal_functions = [Sequential.fit, Sequential.predict, Sequential.predict_classes,
                           Sequential.evaluate, self._build_function()]
        for name in params:
            if name == "nb_epoch":
                continue
            if not any(_has_arg(fn, name) for fn in legal_functions):
                raise ValueError(f"{name} is not a legal parameter")

    def __sklearn_tags__(self):
        """The estimator tags scikit-learn >= 1.6 asks every estimator for (before it used the
        `_estimator_type` attribute): the estimator type decides how GridSearchCV splits the
        data and whether probability scorers (`scoring="neg_log_loss"`) accept the estimator.
        Only scikit-learn calls this, so importing it here needs no extra."""
        sklearn_utils = importlib.import_module("sklearn.utils")
        return sklearn_utils.Tags(estimator_type=self._estimator_type,
                                  target_tags=sklearn_utils.TargetTags(required=True),
                                  **self._sklearn_type_tags(sklearn_utils))

    def _sklearn_type_tags(self, sklearn_utils):
        return {}

    def __sklearn_is_fitted__(self):
        """scikit-learn's `check_is_fitted` (run by `Pipeline.score` since 1.x) asks this; the
        trained model lives in `model`, which has no trailing underscore for it to find, so a
        KerasRegressor at the end of a Pipeline scored NaN in cross_val_score."""
        return hasattr(self, "model")

    def get_params(self, **params):
        result = copy.deepcopy(self.sk_params)
        result.update({"build_fn": self.build_fn})
        return result

    def set_params(self, **params):
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def fit(self, x, y, **kwargs):
        """Build the model with the `sk_params` `build_fn` takes and fit it; returns the
        History."""
        build = self._build_function()
        self.model = build(**self.filter_sk_params(build))
        if _is_categorical_crossentropy(self.model.loss) and len(np.shape(y)) != 2:
            y = to_categorical(y)
        fit_args = copy.deepcopy(self.filter_sk_params(Sequential.fit))
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)

    def filter_sk_params(self, fn, override=None):
        """The `sk_params` that `fn` takes, updated with `override`."""
        result = {name: value for name, value in self.sk_params.items() if _has_arg(fn, name)}
        result.update(override or {})
        return result


class KerasClassifier(BaseWrapper):
    """A scikit-learn classifier: labels may be any sortable values (`classes_`)."""

    _estimator_type = "classifier"

    def _sklearn_type_tags(self, sklearn_utils):
        return {"classifier_tags": sklearn_utils.ClassifierTags()}

    def fit(self, x, y, sample_weight=None, **kwargs):
        y = np.array(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif (y.ndim == 2 and y.shape[1] == 1) or y.ndim == 1:
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError("Invalid shape for y: " + str(y.shape))
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The class of each sample (an element of `classes_`)."""
        kwargs = self.filter_sk_params(Sequential.predict_classes, kwargs)
        proba = self.model.predict(x, **kwargs)
        if proba.shape[-1] > 1:
            classes = proba.argmax(axis=-1)
        else:
            classes = (proba > 0.5).astype("int32")
        return self.classes_[classes]

    def predict_proba(self, x, **kwargs):
        """Class probabilities, one column per class (two for a single sigmoid unit)."""
        kwargs = self.filter_sk_params(Sequential.predict_proba, kwargs)
        probs = self.model.predict(x, **kwargs)
        if probs.shape[1] == 1:
            probs = np.hstack([1 - probs, probs])
        return probs

    def score(self, x, y, **kwargs):
        """The model's accuracy on (x, y); the model must be compiled with an accuracy metric."""
        y = np.searchsorted(self.classes_, y)
        kwargs = self.filter_sk_params(Sequential.evaluate, kwargs)
        if _is_categorical_crossentropy(self.model.loss) and y.ndim != 2:
            y = to_categorical(y)
        outputs = self.model.evaluate(x, y, **kwargs)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        for name, output in zip(self.model.metrics_names, outputs):
            if name in ("accuracy", "acc"):
                return output
        raise ValueError("The model is not configured to compute accuracy. You should pass "
                         "`metrics=[\"accuracy\"]` to the `model.compile()` method.")


class KerasRegressor(BaseWrapper):
    """A scikit-learn regressor: `score` is the negated loss."""

    _estimator_type = "regressor"

    def _sklearn_type_tags(self, sklearn_utils):
        return {"regressor_tags": sklearn_utils.RegressorTags()}

    def predict(self, x, **kwargs):
        kwargs = self.filter_sk_params(Sequential.predict, kwargs)
        return np.squeeze(self.model.predict(x, **kwargs), axis=-1)

    def score(self, x, y, **kwargs):
        kwargs = self.filter_sk_params(Sequential.evaluate, kwargs)
        loss = self.model.evaluate(x, y, **kwargs)
        if isinstance(loss, list):
            return -loss[0]
        return -loss
