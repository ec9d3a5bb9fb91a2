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

__all__ = [
    "estimator_has",
    "estimator_tags",
    "infer_duck_classes",
    "inherit_tags",
    "is_classifier_like",
]


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


def infer_duck_classes(ep, Xt) -> None:
    """Set ``ep.duck_classes_`` to ``range(k)`` for a duck-typed classifier without
    ``classes_`` (``k`` from ``predict_proba`` on the first transformed row)."""
    import numpy as np

    from ._rows import _row_indexable
    from ._sklearn_compat import safe_indexing

    ep.__dict__.pop("duck_classes_", None)
    est = ep.estimator_
    if hasattr(est, "classes_") or not is_classifier_like(est):
        return
    if not hasattr(est, "predict_proba"):
        raise ValueError(
            f"{type(est).__name__} looks like a classifier but has no predict_proba; a "
            "duck-typed classifier must provide predict_proba (and optionally classes_)."
        )
    first = safe_indexing(_row_indexable(Xt), [0]) if not hasattr(Xt, "iloc") else Xt.iloc[:1]
    n_classes = np.asarray(est.predict_proba(first)).shape[-1]
    ep.duck_classes_ = np.arange(n_classes)


def inherit_tags(tags: Tags, preprocessor, estimator) -> Tags:
    """A meta-estimator's ``tags`` with the estimator's type, target and input tags (as
    :class:`sklearn.pipeline.Pipeline` does); input tags must also hold for the
    ``preprocessor`` when there is one (None: no preprocessing)."""
    if estimator is None:
        return tags
    est_tags = estimator_tags(estimator)
    tags.estimator_type = est_tags.estimator_type
    tags.classifier_tags = est_tags.classifier_tags
    tags.regressor_tags = est_tags.regressor_tags
    tags.transformer_tags = est_tags.transformer_tags
    tags.target_tags.required = est_tags.target_tags.required
    tags.target_tags.multi_output = est_tags.target_tags.multi_output
    tags.input_tags.allow_nan = est_tags.input_tags.allow_nan
    tags.input_tags.sparse = est_tags.input_tags.sparse
    if preprocessor is not None:
        pre_tags = estimator_tags(preprocessor)
        tags.input_tags.allow_nan = pre_tags.input_tags.allow_nan and est_tags.input_tags.allow_nan
        tags.input_tags.sparse = pre_tags.input_tags.sparse
        tags.input_tags.string = pre_tags.input_tags.string
        tags.input_tags.categorical = pre_tags.input_tags.categorical
    return tags


def estimator_has(attr: str):
    """``available_if`` check of a meta-estimator: whether its fitted ``estimator_`` (else the
    unfitted ``estimator``) offers ``attr``."""

    def check(self):
        est = getattr(self, "estimator_", self.estimator)
        return est is not None and hasattr(est, attr)

    return check
