"""The explained output: one vocabulary for its unit, and its value on rows.

Every explanation says in ``output`` which model output its attributions add up to
(``values.sum(-1) + expected_values == output``). The names, used by explanations, the HTTP
service (``/metadata`` and ``/score``), the command line and the dashboard alike:

``"probability"``
    ``predict_proba`` of a classifier.
``"log_odds"``
    A classifier's margin that is a log-odds (a logit): ``decision_function`` of logistic
    models (``LogisticRegression``, ``SGDClassifier(loss="log_loss")``) and the raw score of
    boosted tree classifiers (LightGBM, XGBoost, scikit-learn gradient boosting; one logit
    per class for multiclass models).
``"margin"``
    Any other classifier margin: ``decision_function`` of SVMs, ``LinearSVC``,
    ``RidgeClassifier``, ``Perceptron``, ... (a signed distance, not a log-odds).
``"prediction"``
    ``predict`` of a regressor (the raw score for boosted trees).

The ``model_output`` *parameter* of :class:`~explainable_pipeline.ExplainablePipeline` asks
for ``"margin"`` or ``"probability"``; the explanation then names the unit it got
(``"log_odds"`` or ``"margin"`` for a margin). interpret-community records no unit; its
vocabulary stays in :mod:`explainable_pipeline.compat`.
"""

from __future__ import annotations

import logging

import numpy as np

from ._duck import is_classifier_like

OUTPUTS = ("probability", "log_odds", "margin", "prediction")

logger = logging.getLogger(__name__)


def margin_unit(estimator) -> str:
    """``"log_odds"`` when a classifier's ``decision_function`` is a logit, else ``"margin"``."""
    name = type(estimator).__name__
    if name.startswith("LogisticRegression") or getattr(estimator, "loss", None) == "log_loss":
        return "log_odds"
    return "margin"


def explained_output(ep) -> str:
    """The unit (see :data:`OUTPUTS`) that ``ep.explain_local(X).output`` will name.

    Computed from the fitted pipeline without explaining anything, so ``/metadata`` and
    ``/score`` agree. Permutation importance (global only) reports ``"prediction"`` as
    the service always did.
    """
    from .explainers._linear import output_name
    from .explainers._tree import margin_name

    if ep.explainer_ == "pfi":
        return "prediction"
    resolved = ep._resolved_output()
    if ep.explainer_ == "tree":
        return "probability" if resolved == "probability" else margin_name(ep.estimator_)
    if ep.explainer_ == "linear":
        return output_name(ep.estimator_)
    if ep.explainer_ == "mimic":
        return ep.surrogate_.output
    from ._attribution import output_method

    return output_method(ep)[1]


def auto_output_note(ep) -> str | None:
    """Why ``model_output="auto"`` explains a margin where probabilities were the default.

    The model-agnostic explainers explain probabilities by default; a classifier without
    ``predict_proba`` (a plain ``SVC()``) gets its ``decision_function`` instead, and its
    explanations say so in ``meta["model_output"]``.
    """
    est = ep.estimator_
    if (
        ep.model_output == "auto"
        and is_classifier_like(est)
        and ep.explainer_ not in ("tree", "linear", "mimic", "pfi")
        and not hasattr(est, "predict_proba")
    ):
        return (
            f"margin: {type(est).__name__} has no predict_proba, so model_output='auto' "
            "explains its decision_function"
        )
    return None


def check_margin_per_class(est) -> None:
    """Fail when ``est.decision_function`` gives one value per pair of classes (one-vs-one
    SVMs with more than two classes): margins per class are what explanations lay out."""
    n_classes = len(getattr(est, "classes_", ()))
    if getattr(est, "decision_function_shape", None) == "ovo" and n_classes > 2:
        raise ValueError(
            f"{type(est).__name__}(decision_function_shape='ovo') returns one decision value "
            f"per pair of classes ({n_classes * (n_classes - 1) // 2} for {n_classes} "
            "classes), not one per class, so its margins cannot be attributed to classes; set "
            "decision_function_shape='ovr' (the default: the same model, one value per class) "
            "or model_output='probability'."
        )


def check_output_available(ep) -> None:
    """Fail at ``fit`` (not at explain time) when the explained output does not exist."""
    est = ep.estimator_
    if not is_classifier_like(est) or ep.explainer_ == "pfi":
        return
    name = type(est).__name__
    resolved = ep._resolved_output()
    if resolved == "probability" and not hasattr(est, "predict_proba"):
        raise ValueError(
            f"model_output='probability' needs predict_proba, and {name} has none; use "
            "model_output='margin' (its decision_function), or wrap it for probabilities, "
            f"e.g. CalibratedClassifierCV({name}(...), ensemble=False)."
        )
    if not hasattr(est, "predict_proba") and not hasattr(est, "decision_function"):
        raise ValueError(
            f"{name} has neither predict_proba nor decision_function: there is no numeric "
            "output to explain. Wrap it for probabilities (CalibratedClassifierCV) or use "
            "explainer='pfi' (permutation importance of its predictions)."
        )
    if resolved == "margin" and hasattr(est, "decision_function"):
        check_margin_per_class(est)
    note = auto_output_note(ep)
    if note is not None:
        logger.info("Explained output: %s.", note)


def model_output(ep, X, Xt, output: str, n_outputs: int) -> np.ndarray | None:
    """The model's output on rows, in the explained unit, shape (n_outputs, n_rows).

    ``X`` are raw rows and ``Xt`` their transform (None: computed here). This is what the
    attributions add up to, computed by the model itself, so ``check_additivity()`` checks
    the explainer. Returns None when the output cannot be laid out like the attributions.
    Raw-space Shapley explanations do not call this: their predictions are the Shapley
    engine's own model call on the rows (``ShapleyResult.outputs``), the value of the full
    coalition its attributions add up to.
    """
    est = ep.estimator_
    Xt = ep._transform(X) if Xt is None else Xt
    module = type(est).__module__
    native = ep.explainer_ == "tree" and module.startswith(("lightgbm", "xgboost"))
    if output == "probability":
        out = est.predict_proba(Xt)
    elif native and module.startswith("lightgbm"):  # pred_contrib adds up to the raw score
        out = est.predict(Xt, raw_score=True)
    elif native:
        out = est.predict(Xt, output_margin=True)
    elif output == "prediction":
        out = est.predict(Xt)
    elif hasattr(est, "decision_function"):
        out = est.decision_function(Xt)
    else:  # a classifier whose margin is its probability (random forests)
        out = est.predict_proba(Xt)
    out = np.asarray(out, dtype=np.float64)
    out = out[None, :] if out.ndim == 1 else out.T
    if out.shape[0] == 2 and n_outputs == 1:  # binary: the positive class's column
        out = out[1:]
    return out if out.shape[0] == n_outputs else None


def resolve_output(ep) -> str:
    """``"margin"``, ``"probability"`` or ``"prediction"``: what a fitted pipeline's explainer
    explains when ``model_output="auto"`` (or the explicit choice)."""
    from ._duck import is_classifier_like
    from .explainers import ENGINEERED_METHODS

    if not is_classifier_like(ep.estimator_):
        return "prediction"
    if ep.model_output != "auto":
        return ep.model_output
    if ep.explainer_ == "mimic" and hasattr(ep.estimator_, "predict_proba"):
        return "probability"
    if ep.explainer_ in ENGINEERED_METHODS or not hasattr(ep.estimator_, "predict_proba"):
        return "margin"  # e.g. a plain SVC(): its decision_function (see below)
    return "probability"
