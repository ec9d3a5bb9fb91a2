"""Predictions and raw local importances for the same rows, as one JSON-ready dict.

The engine of :meth:`ExplainablePipeline.predict_and_explain` (and so of the HTTP service):
it validates the rows once, transforms them once, and explains and predicts from that one
engineered matrix.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._batch import explain_local_chunked
from ._duck import is_classifier_like
from ._ranking import _check_top_k

__all__ = ["predict_and_explain"]


def _finite_or_none(values: Any) -> Any:
    """Nested lists of floats with NaN and infinities replaced by None (strict JSON)."""
    arr = np.asarray(values, dtype=float)
    if np.isfinite(arr).all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[~np.isfinite(arr)] = None
    return obj.tolist()


def _labels(values: np.ndarray) -> list:
    """Predictions as plain Python values (labels or floats; non-finite floats -> None)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return _finite_or_none(arr)
    out = arr.tolist()
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in out]


#: Classifiers whose own ``predict`` is ``classes_[argmax(predict_proba(X))]`` (read in their
#: source; SVC is not one: its ``predict`` uses the decision function, not Platt's probabilities).
_ARGMAX_PROBA_CLASSIFIERS = {
    "lightgbm": {"LGBMClassifier"},
    "sklearn": {
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "HistGradientBoostingClassifier",
    },
}


def _predict_is_argmax_proba(est) -> bool:
    """Whether ``est.predict`` is the argmax of ``est.predict_proba`` (labels for free)."""
    package = type(est).__module__.split(".")[0]
    if type(est).__name__ not in _ARGMAX_PROBA_CLASSIFIERS.get(package, ()):
        return False
    # LightGBM returns raw scores from predict with a custom objective
    return not callable(getattr(est, "objective", None)) and hasattr(est, "classes_")


def predict_and_explain(ep, X, top_k: int | None = None) -> dict:
    """See :meth:`ExplainablePipeline.predict_and_explain`."""
    k = _check_top_k(top_k)
    ep._check_local_request(X, "raw", caller="predict_and_explain")
    Xt = ep._transform(X)
    local = explain_local_chunked(ep, X, "raw", Xt=Xt)
    est = ep.estimator_
    probabilities = None
    if is_classifier_like(est) and hasattr(est, "predict_proba"):
        proba = est.predict_proba(Xt)
        probabilities = _finite_or_none(proba)
        if _predict_is_argmax_proba(est):  # one model call instead of two
            predictions = est.classes_[np.argmax(proba, axis=1)]
        else:
            predictions = est.predict(Xt)
    else:
        predictions = est.predict(Xt)
    expected = local.expected_values
    out = {
        "n_rows": int(local.n_rows),
        "predictions": _labels(predictions),
        "probabilities": probabilities,
        "classes": local.classes,
        "method": local.method,
        "output": local.output,
        "space": local.space,
        "features": [str(f) for f in local.features],
        "expected_values": float(expected) if np.ndim(expected) == 0 else _finite_or_none(expected),
        "top_k": k,
    }
    if k is None:
        out["local_importance_values"] = local.values.tolist()
    else:
        out["ranked_local_names"] = [
            [[str(n) for n in row] for row in block]
            if local.values.ndim == 3
            else [str(n) for n in block]
            for block in local.get_ranked_local_names(top_k=k)
        ]
        out["ranked_local_values"] = local.get_ranked_local_values(top_k=k)
    return out
