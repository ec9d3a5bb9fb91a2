"""Linear classifiers' ``decision_function`` (and logistic regression's ``predict_proba``):
per-player partial dot products.

``decision_function(h) = h @ coef.T + intercept`` is a sum over the players' blocks of
engineered columns, so a coalition's value against a background row is the background row's
value plus the coalition's share of per-player differences: one small matrix product. The path
serves ``CalibratedClassifierCV`` over linear bases (``LinearSVC`` has no ``predict_proba``)
and ``model_output="margin"`` with the model-agnostic explainers.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._eval_partials import FirstLinearStep


def _linear_classifiers() -> tuple:
    from sklearn.linear_model import (
        LogisticRegression,
        LogisticRegressionCV,
        PassiveAggressiveClassifier,
        Perceptron,
        RidgeClassifier,
        RidgeClassifierCV,
        SGDClassifier,
    )
    from sklearn.svm import LinearSVC

    return (LogisticRegression, LogisticRegressionCV, LinearSVC, RidgeClassifier,
            RidgeClassifierCV, SGDClassifier, Perceptron, PassiveAggressiveClassifier)


def build(estimator, response, Bd, players, weights, link=None):
    """The linear-model path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    if type(estimator) not in _linear_classifiers():
        return None, None
    logistic = type(estimator).__name__ in ("LogisticRegression", "LogisticRegressionCV")
    if response == "predict_proba" and logistic:
        link = _LogisticProba(estimator, link)
    elif response != "decision_function":
        return None, f"{type(estimator).__name__}.{response} is not on the fast path"
    coef = estimator.coef_
    coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef, dtype=np.float64)
    return LinearModel(coef, estimator.intercept_, Bd, players, link), None


class _LogisticProba:
    """``LogisticRegression.predict_proba`` from its decision values (..., P), as scikit-learn:
    ``[1 - expit(d), expit(d)]`` for two classes, the softmax of the decision values for more,
    or their normalised expit for one-vs-rest fits (``multi_class="ovr"`` or liblinear, on
    versions that still have them); then ``outer``, a link of the caller's, if any."""

    def __init__(self, estimator, outer=None):
        multi_class = getattr(estimator, "multi_class", "deprecated")
        self.ovr = multi_class == "ovr" or (
            multi_class in ("auto", "deprecated", "warn")
            and getattr(estimator, "solver", None) == "liblinear")
        self.outer = outer

    def __call__(self, dec: np.ndarray) -> np.ndarray:
        lead, d = dec.shape[:-1], dec.reshape(-1, dec.shape[-1])
        if d.shape[1] == 1:
            p = expit(d[:, 0])
            proba = np.vstack([1 - p, p]).T
        elif self.ovr:
            proba = expit(d)
            proba /= proba.sum(axis=1).reshape((proba.shape[0], -1))
        else:
            proba = d - np.max(d, axis=1).reshape((-1, 1))
            np.exp(proba, proba)
            proba /= np.sum(proba, axis=1).reshape((-1, 1))
        proba = proba.reshape(lead + (proba.shape[1],))
        return proba if self.outer is None else self.outer(proba)


class LinearModel(FirstLinearStep):
    """The linear-model path prepared for one background."""

    name = "linear-model"
    cheap_background_mean = True
    budget_factor = 4

    def __init__(self, coef, intercept, Bd, players, link=None):
        self.coef = coef  # (P, d)
        self.intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
        self.link = link
        self._init_partials(coef.T, Bd, players)
        self.width = coef.shape[0]
        self.n_out = self.outputs(np.zeros((1, coef.shape[0]))).shape[-1]

    def outputs(self, dec: np.ndarray) -> np.ndarray:
        return dec if self.link is None else self.link(dec)

    def finish(self, first: np.ndarray) -> np.ndarray:
        return self.outputs(first + self.intercept)
