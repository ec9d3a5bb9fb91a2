"""Linear classifiers' ``decision_function``: per-player partial dot products.

``decision_function(h) = h @ coef.T + intercept`` is a sum over the players' blocks of
engineered columns, so a coalition's value against a background row is the background row's
value plus the coalition's share of per-player differences: one small matrix product. The path
serves ``CalibratedClassifierCV`` over linear bases (``LinearSVC`` has no ``predict_proba``)
and ``model_output="margin"`` with the model-agnostic explainers.
"""

from __future__ import annotations

import numpy as np

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
    if response != "decision_function":
        return None, f"{type(estimator).__name__}.{response} is not on the fast path"
    coef = estimator.coef_
    coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef, dtype=np.float64)
    return LinearModel(coef, estimator.intercept_, Bd, players, link), None


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
