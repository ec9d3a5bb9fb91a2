"""Exact SHAP values of linear models in closed form.

For a model whose explained output is ``x @ coef + intercept`` and features
treated as independent (interventional SHAP), the Shapley value of feature
``j`` is ``coef_j * (x_j - mean_j)`` and the base value is
``mean @ coef + intercept``, where ``mean`` is the (weighted) mean of the
background data. This is what ``shap.LinearExplainer`` computes with
``feature_perturbation="interventional"``, without sampling.

Classifiers are explained in ``decision_function`` space (log-odds for
logistic regression); regressors in prediction space.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._base import EngineeredAttribution

_NOT_LINEAR = {
    # generalised linear models predict through a non-identity link
    "PoissonRegressor",
    "GammaRegressor",
    "TweedieRegressor",
    # wraps another estimator
    "RANSACRegressor",
}


def is_linear_model(estimator) -> bool:
    """Whether ``estimator`` predicts through ``x @ coef + intercept``.

    Every estimator of ``sklearn.linear_model`` but the generalised linear
    models (Poisson, Gamma, Tweedie: non-identity link) and RANSAC, plus
    ``LinearSVC`` and ``LinearSVR``.
    """
    cls = type(estimator)
    if cls.__name__ in _NOT_LINEAR:
        return False
    return cls.__module__.startswith("sklearn.linear_model") or cls.__name__ in {
        "LinearSVC",
        "LinearSVR",
    }


def output_name(estimator) -> str:
    """Name of the space a linear model is explained in."""
    if hasattr(estimator, "decision_function") and hasattr(estimator, "classes_"):
        from .._outputs import margin_unit

        return margin_unit(estimator)
    return "prediction"


def weighted_mean(Xt, weights=None) -> np.ndarray:
    """Column means of a dense or sparse engineered matrix."""
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum()
        if sp.issparse(Xt):
            return np.asarray(Xt.T @ w).ravel()
        return np.asarray(Xt, dtype=np.float64).T @ w
    if sp.issparse(Xt):
        return np.asarray(Xt.mean(axis=0), dtype=np.float64).ravel()
    return np.asarray(Xt, dtype=np.float64).mean(axis=0)


def linear_shap(estimator, Xt, mean: np.ndarray) -> EngineeredAttribution:
    """Closed-form attributions ``coef * (x - mean)`` of a fitted linear model.

    Parameters
    ----------
    estimator : fitted linear model
        Has ``coef_`` and ``intercept_``.
    Xt : array-like or sparse matrix of shape (n_rows, n_features)
        Engineered rows to explain.
    mean : ndarray of shape (n_features,)
        Background mean of the engineered features.

    Returns
    -------
    EngineeredAttribution
        ``values`` (n_outputs, n_rows, n_features) and ``expected`` (n_outputs,).
    """
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float64))
    if intercept.shape[0] != coef.shape[0]:
        intercept = np.broadcast_to(intercept, (coef.shape[0],))
    mean = np.asarray(mean, dtype=np.float64)
    if coef.shape[1] != mean.shape[0]:
        raise ValueError(
            f"{type(estimator).__name__} has {coef.shape[1]} coefficients but the "
            f"background has {mean.shape[0]} engineered features."
        )
    X = Xt.toarray() if sp.issparse(Xt) else np.asarray(Xt, dtype=np.float64)
    centred = X - mean  # (n, f)
    values = centred[np.newaxis, :, :] * coef[:, np.newaxis, :]  # (k, n, f)
    expected = coef @ mean + intercept
    return EngineeredAttribution(values, expected, output_name(estimator))
