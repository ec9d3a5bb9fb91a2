"""interpret-community's ``PFIExplainer``: permutation feature importance of raw columns."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn import metrics
from sklearn.metrics import make_scorer

from .._explanation import GlobalExplanation
from ..explainers._pfi import shared_permutation_scores
from ._constants import MetricConstants, ModelTask
from ._explainers import _Explainer
from ._explanation import CompatGlobalExplanation
from ._inputs import as_rows

__all__ = ["PFIExplainer"]

_ERROR_METRICS = {MetricConstants.MEAN_ABSOLUTE_ERROR, MetricConstants.MEAN_SQUARED_ERROR,
                  MetricConstants.MEAN_SQUARED_LOG_ERROR, MetricConstants.MEDIAN_ABSOLUTE_ERROR}  # fmt: skip
#: Metrics scored on probabilities rather than labels.
_PROBA_METRICS = {MetricConstants.AVERAGE_PRECISION_SCORE}


def _scorer(metric, metric_args: dict, is_error_metric: bool, classification: bool):
    """A scikit-learn scorer for interpret-community's ``metric`` (name or function)."""
    args = dict(metric_args or {})
    if metric is None:
        if classification:  # interpret-community's default: micro-averaged F1
            metric, args = metrics.f1_score, {"average": "micro", **args}
        else:
            metric, is_error_metric = metrics.mean_absolute_error, True
    if isinstance(metric, str):
        try:
            name = MetricConstants(metric)
        except ValueError:
            raise ValueError(
                f"Metric {metric!r} is not supported; use one of "
                f"{[m.value for m in MetricConstants]} or pass a function y_true, y_pred -> float."
            ) from None
        func = getattr(metrics, name.value)
        response = "predict_proba" if name in _PROBA_METRICS else "predict"
        return make_scorer(func, greater_is_better=name not in _ERROR_METRICS,
                           response_method=response, **args), name.value  # fmt: skip
    if not callable(metric):
        raise TypeError(f"metric must be a name or a function; got {type(metric).__name__}.")
    name = getattr(metric, "__name__", type(metric).__name__)
    return make_scorer(metric, greater_is_better=not is_error_metric, **args), name


class PFIExplainer(_Explainer):
    """Permutation feature importance of the raw columns (global only).

    Parameters
    ----------
    model : fitted estimator, Pipeline, duck-typed model, or function (``is_function=True``)
    is_function : bool, default=False
    metric : str or callable, default=None
        A :class:`MetricConstants` name or ``f(y_true, y_pred)``; default: micro F1 for
        classifiers, mean absolute error for regressors (as interpret-community).
    metric_args : dict, default=None
    is_error_metric : bool, default=False
        For a function metric: lower is better.
    explain_subset, features, classes, transformations, allow_all_transformations, model_task
        As for :class:`~explainable_pipeline.compat.TabularExplainer`.
    seed : int, default=0
        Seeds the permutation: one permutation of the rows reorders each column in
        turn, as interpret-community does, so the same seed gives its values.
    for_classifier_use_predict_proba, show_progress
        Accepted for compatibility.
    **kwargs : dict
        :class:`ExplainablePipeline` parameters; ``n_repeats=k`` switches to ``k``
        independent shuffles per column (mean and ``std``) instead.
    """

    _engine = "pfi"

    def __init__(self, model, is_function=False, metric=None, metric_args=None,
                 is_error_metric=False, explain_subset=None, features=None, classes=None,
                 transformations=None, allow_all_transformations=False, seed=0,
                 for_classifier_use_predict_proba=False, show_progress=True,
                 model_task=ModelTask.Unknown, **kwargs) -> None:  # fmt: skip
        self.metric = metric
        self.metric_args = metric_args
        self.is_error_metric = is_error_metric
        self.seed = seed
        kwargs.setdefault("random_state", seed)
        super().__init__(model, None, explain_subset=explain_subset, features=features,
                         classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations,
                         model_task=model_task, is_function=is_function, params=kwargs)  # fmt: skip
        if classes is not None and not hasattr(model, "predict_proba"):
            # interpret-community decides from the object alone (PFI has no rows yet): a
            # function is taken for a predict, so classes= cannot go with is_function=True
            raise ValueError(
                "Classes is specified but function was predict, not predict_proba."
                if is_function
                else "Classes is specified but model does not define predict_proba, only predict."
            )

    def _pipeline_kwargs(self, rows, weights) -> dict:
        kwargs = super()._pipeline_kwargs(rows, weights)
        kwargs.pop("model_output", None)
        if "scoring" not in self.params:
            classification = hasattr(self.model_, "predict_proba")
            kwargs["scoring"], self._metric_name = _scorer(
                self.metric, self.metric_args, self.is_error_metric, classification
            )
        return kwargs

    def _method(self) -> str:
        return "pfi"

    def explain_local(self, evaluation_examples):
        """Not available: PFI is global only."""
        raise ValueError(
            "PFIExplainer is global only (permutation importance has no per-row values); use "
            "explain_global(evaluation_examples, true_labels), or TabularExplainer / "
            "MimicExplainer for local explanations."
        )

    def explain_global(self, evaluation_examples, true_labels) -> CompatGlobalExplanation:
        """Mean score decrease when each raw column is shuffled, with its ``std``.

        Parameters
        ----------
        evaluation_examples : array-like, DataFrame or sparse matrix of shape (n_rows, n_features)
        true_labels : array-like of shape (n_rows,)
            Required: the score is computed against them.

        Returns
        -------
        CompatGlobalExplanation
        """
        rows, _ = as_rows(evaluation_examples)
        y = true_labels.toarray() if sp.issparse(true_labels) else np.asarray(true_labels)
        if y.ndim == 2 and 1 in y.shape:
            y = y.ravel()
        self.pipeline_ = ep = self._fit(rows, y)
        features = list(self._features)
        if "n_repeats" in self.params:  # repeated independent shuffles: the core's estimate
            exp = ep.explain_global(rows, y)
            values, std, output, meta = exp.values, exp.std, exp.output, exp.meta
        else:  # interpret-community's single shared permutation, seeded by ``seed``
            ep._check_X(rows, reset=False, caller="explain_global")
            values, std, output = shared_permutation_scores(
                ep, rows, y, scoring=ep.scoring, random_state=self.seed
            )
            meta = {"n_repeats": 1, "permutation": "shared"}
        core = GlobalExplanation(
            values, features, method="pfi", space="raw", output=output, std=std,
            n_rows=rows.shape[0], meta=meta,
        )  # fmt: skip
        if self.explain_subset is not None:
            keep = list(self.explain_subset)
            core = GlobalExplanation(
                core.values[keep], [features[i] for i in keep], method=core.method,
                space=core.space, output=core.output, std=core.std[keep], n_rows=core.n_rows,
                meta=core.meta,
            )  # fmt: skip
        fields = self._fields(rows, False)
        fields.pop("single_row")
        return CompatGlobalExplanation(core, None, **fields)
