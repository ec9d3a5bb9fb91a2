"""Linear classifiers' ``decision_function``: per-player partial dot products.

``decision_function(h) = h @ coef.T + intercept`` is a sum over the players' blocks of
engineered columns, so a coalition's value against a background row is the background row's
value plus the coalition's share of per-player differences: one small matrix product. The path
serves ``CalibratedClassifierCV`` over linear bases (``LinearSVC`` has no ``predict_proba``)
and ``model_output="margin"`` with the model-agnostic explainers.
"""

from __future__ import annotations

import numpy as np


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


class LinearModel:
    """The linear-model path prepared for one background."""

    name = "linear-model"
    cheap_background_mean = True
    budget_factor = 4

    def __init__(self, coef, intercept, Bd, players, link=None):
        self.coef = coef  # (P, d)
        self.intercept = np.asarray(intercept, dtype=np.float64).reshape(-1)
        self.link = link
        self.blocks = [np.flatnonzero(p) for p in players]
        self.Pb = self.partials(Bd)  # (m, M, P)
        self.width = coef.shape[0]
        self.n_out = self.outputs(np.zeros((1, coef.shape[0]))).shape[-1]

    def partials(self, Y: np.ndarray) -> np.ndarray:
        out = np.zeros((Y.shape[0], len(self.blocks), self.coef.shape[0]))
        for p, cols in enumerate(self.blocks):
            if cols.size:
                out[:, p] = Y[:, cols] @ self.coef[:, cols].T
        return out

    def outputs(self, dec: np.ndarray) -> np.ndarray:
        return dec if self.link is None else self.link(dec)

    def bind(self, Xt: np.ndarray):
        return _Bound(self, Xt)


class _Bound:
    def __init__(self, lm: LinearModel, Xt: np.ndarray):
        self.lm = lm
        self.n = Xt.shape[0]
        self.n_out = lm.n_out
        self.width = lm.width
        self.Px = np.ascontiguousarray(lm.partials(Xt).transpose(1, 0, 2))  # (M, n, P)

    def single(self, Z: np.ndarray, j: int, rows) -> np.ndarray:
        lm, b, nr = self.lm, Z.shape[0], len(rows)
        M, P = self.Px.shape[0], self.Px.shape[2]
        dec = (Z @ self.Px[:, rows].reshape(M, nr * P)).reshape(b, nr, P)
        dec += ((1.0 - Z) @ lm.Pb[j])[:, None, :]
        dec += lm.intercept
        return lm.outputs(dec).transpose(1, 0, 2)
