"""How ``explainer="tree"`` explains a fitted pipeline: players, algorithm, engine.

Players (``tree_players``):

* ``"raw"``: each raw column (or feature group) is **one player**. Every split of the trees
  is labelled with the raw column its engineered column comes from (one-hot children,
  ordinal codes, imputed values and their missing indicators all belong to their raw
  column), and TreeSHAP runs on those labels. The values are the Shapley values of the
  game whose players are the raw columns: the same game the raw-space explainers
  (``"exact"``, ``"kernel"``) play, so with the same background rows ``"tree"`` and
  ``"exact"`` agree exactly.
* ``"sum"``: each engineered column is a player and a raw column gets the sum of its
  children's values (interpret-community's convention, kept by ``compat``). Summing the
  Shapley values of ``color=red`` and ``color=blue`` counts coalitions in which one is known
  and the other not, which no raw row can be: it is not the raw column's Shapley value.
* ``"auto"`` (default): ``"raw"``.

Algorithm: path-dependent TreeSHAP (the trees' own cover as the background) for the
margin when ``background`` is a size (the default); interventional TreeSHAP against the
background rows when they are given explicitly (``background=<rows>``), and for the
probabilities of forests (whose leaves hold probabilities). Both run in the compiled engine
(``explainers/_treeshap.py``), which reads LightGBM, XGBoost and scikit-learn trees.

Probabilities of boosted models are not a sum over trees (a sigmoid or a softmax of the
sum), and are refused: no tree algorithm gives their Shapley values. shap's interventional
algorithm in probability space, which binary ones used before, was 0.08 off the Shapley
values of ``predict_proba`` on breast cancer (and 4.6e-3 off additivity on
HistGradientBoosting). Explain the margins, or use ``explainer="exact"``/``"kernel"``, which
explain ``predict_proba`` in raw space (``explainer="auto"`` does).
"""

from __future__ import annotations

import logging

import numpy as np

from .explainers._base import EngineeredAttribution
from .explainers._tree import make_shap_tree_explainer, margin_name, tree_shap

logger = logging.getLogger("explainable_pipeline")

TREE_PLAYERS = ("auto", "raw", "sum")
_PROBABILITY_LEAVES = {
    "DecisionTreeClassifier", "ExtraTreeClassifier", "RandomForestClassifier",
    "ExtraTreesClassifier",
}  # fmt: skip


def _probability_leaves(estimator) -> bool:
    return type(estimator).__name__ in _PROBABILITY_LEAVES


def link_probabilities(estimator, output: str) -> bool:
    """Whether ``output`` is a boosted model's probabilities: a sigmoid (two classes) or a
    softmax of the trees' sums, which no tree algorithm attributes exactly (``explainer=
    "auto"`` goes model-agnostic there, ``explainer="tree"`` is refused). shap's
    interventional algorithm in probability space was measured 0.08 off the Shapley values
    of ``predict_proba`` on breast cancer (LightGBM, HistGradientBoosting and
    GradientBoosting; HistGradientBoosting's not even additive, 4.6e-3 off)."""
    return output == "probability" and not _probability_leaves(estimator)


def _engine_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


def tree_plan(ep, space: str) -> dict:
    """Which players, algorithm and engine explain this fitted pipeline (no heavy work)."""
    est = ep.estimator_
    output = ep._resolved_output()
    requested = getattr(ep, "tree_players", "auto")
    if link_probabilities(est, output):
        kind = "multiclass" if len(getattr(est, "classes_", [0, 1])) > 2 else "binary"
        link = "softmax" if kind == "multiclass" else "sigmoid"
        margin = ("each class's score before the softmax" if kind == "multiclass"
                  else "the log-odds")
        raise ValueError(
            f"explainer='tree' cannot explain the probabilities of a {kind} "
            f"{type(est).__name__}: they are a {link} of the trees' sums, not a sum over "
            "trees, and no tree algorithm gives their Shapley values (shap's interventional "
            "one in probability space was 0.08 off them on breast cancer). Explain the margins "
            f"(model_output='margin', {margin}), or use explainer='exact' (or 'kernel') to "
            "explain predict_proba over raw columns."
        )
    players = "sum" if space == "engineered" or requested == "sum" else "raw"
    interventional = output == "probability" or not _background_is_size(ep.background)
    algorithm = "interventional" if interventional else "path-dependent"
    if not _engine_available():  # pragma: no cover - numba is a dependency
        if requested == "raw":
            raise ImportError("tree_players='raw' needs numba: pip install numba.")
        engine = "shap" if output == "probability" else "native"
        return {"engine": engine, "players": "sum", "algorithm": algorithm}
    return {"engine": "compiled", "players": players, "algorithm": algorithm}


def _background_is_size(background) -> bool:
    return isinstance(background, (int, np.integer)) or (
        isinstance(background, str) and background == "auto"
    )


def engineered_players(ep, players: str):
    """Player of each engineered column, the number of players, and their names."""
    from ._attribution import player_index

    n_eng = len(ep.feature_map_.engineered_features)
    if players == "sum":
        names = [str(f) for f in ep.feature_map_.engineered_features]
        return np.arange(n_eng), n_eng, names
    parent = ep.feature_map_.matrix.tocsr().indices  # one raw parent per engineered column
    groups, names = player_index(ep)
    raw_to_player = np.empty(len(ep.feature_map_.raw_features), dtype=np.int64)
    for p, cols in enumerate(groups):
        raw_to_player[cols] = p
    return raw_to_player[parent], len(groups), names


def _engine(ep, players: str):
    """The compiled engine for these players (built once per fitted pipeline, cached)."""
    from .explainers._tree_model import from_estimator
    from .explainers._treeshap import TreeShap

    def build():
        probe = ep._transform(ep.background_)
        ensemble = from_estimator(ep.estimator_, probe)
        player_of, n_players, _ = engineered_players(ep, players)
        if ensemble.feature_origin is not None:
            player_of = player_of[ensemble.feature_origin]
        return TreeShap(ensemble, player_of, n_players)

    return ep._cached(("tree-engine", players), build)


def _prepared_background(ep, engine, players: str):
    def build():
        rows = engine.ensemble.model_input(ep._transform(ep.background_))
        return engine.background(rows, ep.background_weights_)

    return ep._cached(("tree-background", players), build)


def _readable(ep, plan: dict) -> bool:
    """Whether the compiled engine reads this model; else fall back (or refuse "raw")."""
    from .explainers._tree_model import UnsupportedTreeModel

    def probe():
        try:
            _engine(ep, plan["players"])
        except UnsupportedTreeModel as exc:
            return exc
        return None

    exc = ep._cached(("tree-readable", plan["players"]), probe)
    if exc is not None:
        if getattr(ep, "tree_players", "auto") == "raw":
            raise ValueError(
                f"tree_players='raw' needs the compiled TreeSHAP engine, which cannot read "
                f"this {type(ep.estimator_).__name__}: {exc} Use tree_players='sum'."
            ) from exc
        logger.info("compiled TreeSHAP unavailable (%s); using the booster/shap TreeSHAP", exc)
        return False
    return True


def compiled_values(ep, Xt, plan: dict, *, interactions: bool = False):
    """(values (n_outputs, n, players), expected (n_outputs,), interactions or None)."""
    engine = _engine(ep, plan["players"])
    background = None
    if plan["algorithm"] == "interventional":
        background = _prepared_background(ep, engine, plan["players"])
    X = engine.ensemble.model_input(Xt)
    return engine.values(X, background, interactions=interactions, n_jobs=ep.n_jobs)


def describe(plan: dict) -> str:
    who = "raw columns" if plan["players"] == "raw" else "engineered columns"
    how = {"compiled": "compiled TreeSHAP", "native": "booster TreeSHAP",
           "shap": "shap.TreeExplainer"}[plan["engine"]]  # fmt: skip
    return f"{how}, {plan['algorithm']}, players: {who}"


def tree_attribution(ep, Xt, space: str) -> tuple[EngineeredAttribution, dict]:
    """Tree attributions of the transformed rows ``Xt`` and the plan that computed them.

    With ``plan["players"] == "raw"`` the values are already per raw player (no mapping).
    """
    plan = tree_plan(ep, space)
    est = ep.estimator_
    if plan["engine"] == "compiled" and not _readable(ep, plan):
        plan = {**plan, "engine": "native", "players": "sum", "algorithm": "path-dependent"}
        if ep._resolved_output() == "probability":
            plan.update(engine="shap", algorithm="interventional")
    if plan["engine"] == "compiled":
        values, expected, _ = compiled_values(ep, Xt, plan)
        output = "probability" if ep._resolved_output() == "probability" else margin_name(est)
        return EngineeredAttribution(values, expected, output), plan
    model_output = "probability" if plan["engine"] == "shap" else "margin"
    shap_explainer = None
    if model_output == "probability" or not type(est).__module__.startswith(("lightgbm", "xgb")):
        shap_explainer = ep._cached(
            ("tree", model_output),
            lambda: make_shap_tree_explainer(
                est, model_output,
                ep._transform(ep.background_) if model_output == "probability" else None,
            ),
        )  # fmt: skip
    return tree_shap(est, Xt, model_output=model_output, shap_explainer=shap_explainer), plan
