"""Global explanations composed from the pipeline's parts: the mean of local attributions
over all rows or a sample, permutation feature importance, and the mimic explainer's surrogate.

Functions of a fitted :class:`~explainable_pipeline.ExplainablePipeline` (``ep``), which keeps
parameters, fitting and delegation; its ``explain_global`` and ``fit`` call these.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples

from ._attribution import importance_interval, output_function
from ._explanation import GlobalExplanation
from ._rows import _row_indexable, check_explain_ready
from ._sklearn_compat import safe_indexing
from .explainers._mimic import augment_rows, fit_surrogate, teacher_targets
from .explainers._pfi import permutation_scores


def explain_global(ep, X, y, space: str, max_rows, random_state) -> GlobalExplanation:
    """``ep.explain_global``: PFI, or the mean |local attribution| over ``X`` or a sample."""
    check_explain_ready(ep)
    if ep.explainer_ == "pfi":
        return permutation_importance(ep, X, y, space)
    n_total = _num_samples(X)
    intervals = None
    sampled = False
    if max_rows is not None:
        if not isinstance(max_rows, numbers.Integral) or max_rows < 2:
            raise ValueError(f"max_rows must be an integer >= 2 or None, got {max_rows!r}.")
        if n_total > max_rows:
            rng = check_random_state(random_state)
            idx = np.sort(rng.choice(n_total, size=max_rows, replace=False))
            X = safe_indexing(_row_indexable(X), idx)
            sampled = True
    local = ep.explain_local(X, space=space)
    if sampled:  # a sampling interval, only for a sample (see max_rows)
        intervals = importance_interval(local.local_importance_values, n_total)
    return GlobalExplanation.from_local(
        local, intervals=intervals, fidelity=local.meta.get("fidelity")
    )


def permutation_importance(ep, X, y, space: str) -> GlobalExplanation:
    """PFI of raw columns, shuffled through the whole pipeline."""
    ep._check_X(X, reset=False, caller="explain_global")
    if space != "raw" or ep.feature_groups:
        raise ValueError(
            "explainer='pfi' shuffles single raw columns: it supports space='raw' and no "
            "feature_groups."
        )
    mean, std, output = permutation_scores(
        ep,
        X,
        y,
        scoring=ep.scoring,
        n_repeats=ep.n_repeats,
        random_state=ep.random_state,
        n_jobs=ep.n_jobs,
    )
    return GlobalExplanation(
        mean,
        [str(c) for c in ep._raw_feature_names()],
        method="pfi",
        space="raw",
        output=output,
        std=std,
        n_rows=_num_samples(X),
        meta={"n_repeats": int(ep.n_repeats)},
    )


def fit_mimic_surrogate(ep, X, Xt) -> None:
    """Fit ``ep.surrogate_`` on the model's output over the (augmented) training rows."""
    teacher, output = output_function(ep)
    if ep.augment_data:
        X = augment_rows(X, ep.max_num_of_augmentations, random_state=ep.random_state)
        Xt = ep._transform(X, fast=False)
    targets = teacher_targets(teacher(X), ep._is_classifier())
    ep.surrogate_ = fit_surrogate(
        ep.surrogate, Xt, targets, output, random_state=ep.random_state
    )
