"""Explainer families and the rule that picks one.

Each family is a small module with pure functions; none knows about
pipelines. :func:`select_explainer` is the ``explainer="auto"`` rule.
"""

from __future__ import annotations

from ._linear import is_linear_model
from ._shapley import ShapleyResult, shapley_values
from ._tree import is_tree_model

#: Methods that perturb raw columns through the whole pipeline (no mapping needed).
RAW_SPACE_METHODS = frozenset({"exact", "kernel", "permutation"})
#: Methods that attribute engineered columns, then map them to raw columns.
ENGINEERED_METHODS = frozenset({"tree", "linear", "mimic"})
METHODS = ("auto", "tree", "linear", "exact", "kernel", "permutation", "mimic", "pfi")

#: ``"auto"`` enumerates every coalition up to this many raw players.
EXACT_MAX_PLAYERS = 12


def select_explainer(
    estimator, explainer: str = "auto", *, n_players: int, mappable: bool = True
) -> str:
    """Resolve the explainer method for a fitted estimator.

    The ``"auto"`` rule:

    1. tree ensembles (LightGBM, XGBoost, scikit-learn trees, forests,
       gradient boosting) -> ``"tree"`` (TreeSHAP, exact and fast);
    2. linear models (``sklearn.linear_model``, ``LinearSVC``/``LinearSVR``)
       -> ``"linear"`` (closed form);
    3. any other model with at most :data:`EXACT_MAX_PLAYERS` raw players
       -> ``"exact"`` (all coalitions of raw columns);
    4. otherwise -> ``"kernel"`` (KernelSHAP over raw columns).

    Rules 1 and 2 apply only when every engineered column comes from one raw
    column (``mappable=True``); a preprocessor that mixes raw columns, such as
    PCA, sends every model to rule 3 or 4, which attribute raw columns exactly.
    :class:`~explainable_pipeline.ExplainablePipeline` also sends a boosted
    model to rule 3 or 4 when ``model_output="probability"`` (a sigmoid or softmax
    of the trees' sums, whose Shapley values no tree algorithm gives).

    Parameters
    ----------
    estimator : fitted estimator
        The final estimator of the pipeline.
    explainer : str, default="auto"
        The requested method; anything but ``"auto"`` is checked and returned.
    n_players : int
        Number of raw columns (or feature groups) to attribute.
    mappable : bool, default=True
        Whether engineered attributions map exactly to raw columns.

    Returns
    -------
    str
        One of ``"tree"``, ``"linear"``, ``"exact"``, ``"kernel"``,
        ``"permutation"``, ``"mimic"``, ``"pfi"``.
    """
    name = type(estimator).__name__
    if explainer == "auto":
        if mappable and is_tree_model(estimator):
            return "tree"
        if mappable and is_linear_model(estimator):
            return "linear"
        return "exact" if n_players <= EXACT_MAX_PLAYERS else "kernel"
    if explainer == "tree" and not is_tree_model(estimator):
        raise ValueError(
            f"explainer='tree' needs a tree model (LightGBM, XGBoost, scikit-learn trees, "
            f"forests or gradient boosting), got {name}. Use explainer='auto', or a "
            "model-agnostic method: 'exact', 'kernel' or 'permutation'."
        )
    if explainer == "linear" and not is_linear_model(estimator):
        raise ValueError(
            f"explainer='linear' needs a linear model (sklearn.linear_model, LinearSVC, "
            f"LinearSVR), got {name}. Use explainer='auto', or a model-agnostic method: "
            "'exact', 'kernel' or 'permutation'."
        )
    if explainer not in METHODS:
        raise ValueError(f"explainer must be one of {METHODS}, got {explainer!r}.")
    return explainer


__all__ = [
    "EXACT_MAX_PLAYERS",
    "ENGINEERED_METHODS",
    "METHODS",
    "RAW_SPACE_METHODS",
    "ShapleyResult",
    "is_linear_model",
    "is_tree_model",
    "select_explainer",
    "shapley_values",
]
