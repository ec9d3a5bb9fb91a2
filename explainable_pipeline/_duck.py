"""Fitted models that are not scikit-learn estimators ("duck-typed" models).

A model trained elsewhere (a wrapper class, a model served from another framework, a
Pipeline step that does not inherit ``BaseEstimator``) can be explained when it is
wrapped in :class:`sklearn.frozen.FrozenEstimator` and provides:

- ``predict(X)`` (required): the prediction for a 2-D batch of rows;
- ``predict_proba(X)`` for a classifier: one column per class, in ``classes_`` order;
- optionally ``classes_`` (class labels; ``0 .. n_classes - 1`` otherwise),
  ``decision_function`` and ``_estimator_type`` (``"classifier"`` / ``"regressor"``).

Such an object has no ``__sklearn_tags__``, so :func:`sklearn.utils.get_tags` and
:func:`sklearn.base.is_classifier` raise on it. :func:`estimator_tags` falls back to
default tags whose ``estimator_type`` is read from ``_estimator_type`` or, failing that,
from the presence of ``predict_proba`` (classifier) or ``predict`` (regressor).
"""

from __future__ import annotations

from typing import Any

from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags, get_tags

__all__ = ["estimator_tags", "is_classifier_like"]


def _fallback_tags(est: Any) -> Tags:
    kind = getattr(est, "_estimator_type", None)
    if kind not in ("classifier", "regressor"):
        if hasattr(est, "predict_proba"):
            kind = "classifier"
        elif hasattr(est, "predict"):
            kind = "regressor"
        else:
            kind = None
    return Tags(
        estimator_type=kind,
        target_tags=TargetTags(required=kind is not None),
        classifier_tags=ClassifierTags() if kind == "classifier" else None,
        regressor_tags=RegressorTags() if kind == "regressor" else None,
    )


def estimator_tags(est: Any) -> Tags:
    """``get_tags(est)``, or tags inferred from the methods of a duck-typed model."""
    inner = getattr(est, "estimator", None)
    if type(est).__name__ == "FrozenEstimator" and inner is not None:
        try:
            return get_tags(est)
        except AttributeError:
            return _fallback_tags(inner)
    try:
        return get_tags(est)
    except AttributeError:
        return _fallback_tags(est)


def is_classifier_like(est: Any) -> bool:
    """:func:`sklearn.base.is_classifier` that also accepts duck-typed models."""
    return estimator_tags(est).estimator_type == "classifier"
