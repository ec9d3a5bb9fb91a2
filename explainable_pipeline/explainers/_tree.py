"""TreeSHAP for tree ensembles on the engineered matrix, by the boosters and shap.

The pipeline's tree explainer runs the compiled engine first (``_treeshap.py``,
raw-column players; see ``_tree_attribution.py``); this module is its fallback (models
the engine cannot read, no numba), the probabilities of binary boosted models, and the
mimic surrogates. LightGBM and XGBoost use their boosters' own C++ ``pred_contrib``;
scikit-learn trees, forests, gradient boosting and HistGradientBoosting go through
``shap.TreeExplainer``.

Output spaces
-------------
``"margin"`` (default) explains the raw score of the ensemble, in which the
trees add up: log-odds for binary LightGBM / XGBoost / GradientBoosting /
HistGradientBoosting classifiers, per-class raw scores (softmax logits) for
multiclass boosting, the predicted value for regressors, and the predicted
probability for random forests and single decision trees (their leaves hold
probabilities, so their margin *is* the probability).
``"probability"`` explains ``predict_proba`` through ``shap.TreeExplainer``
with the interventional algorithm over a background sample (slower).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._base import EngineeredAttribution

_SKLEARN_TREE_CLASSES = {
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "IsolationForest",
}
_PROBABILITY_LEAVES = {
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
}


def _family(estimator) -> str | None:
    """Name the tree family of ``estimator``: "lightgbm", "xgboost", "sklearn" or None."""
    module = type(estimator).__module__
    name = type(estimator).__name__
    if module.startswith("lightgbm") and hasattr(estimator, "booster_"):
        return "lightgbm"
    if module.startswith("lightgbm") and name.startswith("LGBM"):
        return "lightgbm"
    if module.startswith("xgboost") and name.startswith("XGB"):
        return "xgboost"
    if module.startswith("sklearn") and name in _SKLEARN_TREE_CLASSES:
        return "sklearn"
    return None


def is_tree_model(estimator) -> bool:
    """Whether :func:`tree_shap` can explain ``estimator`` (fitted or not)."""
    return _family(estimator) is not None


def margin_name(estimator) -> str:
    """Name of the margin output space of a tree model."""
    name = type(estimator).__name__
    if name in _PROBABILITY_LEAVES:
        return "probability"
    if "Classifier" in name:
        return "log_odds"
    return "prediction"


def _as_contrib_input(Xt):
    if sp.issparse(Xt):
        return Xt.tocsr()
    return Xt


def _split_contrib(contrib, n_outputs: int, n_features: int):
    """Split a (n, n_outputs * (n_features + 1)) contribution matrix."""
    if isinstance(contrib, list):  # LightGBM multiclass on sparse input: one matrix per class
        blocks = [c.toarray() if sp.issparse(c) else np.asarray(c) for c in contrib]
        contrib = np.stack(blocks, axis=0)  # (k, n, f + 1)
    else:
        if sp.issparse(contrib):
            contrib = contrib.toarray()
        contrib = np.asarray(contrib, dtype=np.float64)
        n = contrib.shape[0]
        contrib = contrib.reshape(n, n_outputs, n_features + 1).transpose(1, 0, 2)
    values = np.ascontiguousarray(contrib[:, :, :n_features], dtype=np.float64)
    expected = contrib[:, :, n_features]
    return values, expected


def _lightgbm(estimator, Xt) -> EngineeredAttribution:
    booster = estimator.booster_
    n_features = booster.num_feature()
    n_outputs = booster.num_model_per_iteration()
    contrib = booster.predict(_as_contrib_input(Xt), pred_contrib=True)
    values, expected = _split_contrib(contrib, n_outputs, n_features)
    return EngineeredAttribution(values, _constant_expected(expected), margin_name(estimator))


def _xgboost(estimator, Xt) -> EngineeredAttribution:
    import xgboost

    booster = estimator.get_booster()
    dmatrix = xgboost.DMatrix(
        Xt, enable_categorical=True, feature_names=booster.feature_names
    )
    contrib = np.asarray(booster.predict(dmatrix, pred_contribs=True), dtype=np.float64)
    if contrib.ndim == 2:  # (n, f + 1): single output
        contrib = contrib[np.newaxis]
    else:  # (n, k, f + 1)
        contrib = contrib.transpose(1, 0, 2)
    n_features = contrib.shape[2] - 1
    values = np.ascontiguousarray(contrib[:, :, :n_features])
    return EngineeredAttribution(
        values, _constant_expected(contrib[:, :, n_features]), margin_name(estimator)
    )


def _constant_expected(expected: np.ndarray) -> np.ndarray:
    """The expected value column of pred_contrib is constant per output; keep one."""
    if expected.shape[1] == 0:
        return np.zeros(expected.shape[0])
    return np.asarray(expected[:, 0], dtype=np.float64)


def _shap_values_to_outputs(values, expected, n_rows: int, n_features: int):
    """Normalise the many shapes shap returns to (n_outputs, n_rows, n_features)."""
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=0)
    else:
        values = np.asarray(values)
        if values.ndim == 2:
            values = values[np.newaxis]
        elif values.ndim == 3:  # (n, f, k)
            values = values.transpose(2, 0, 1)
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64)).ravel()
    if values.shape[1:] != (n_rows, n_features):
        raise RuntimeError(
            f"shap returned attributions of shape {values.shape}; expected "
            f"(outputs, {n_rows}, {n_features})."
        )
    return np.asarray(values, dtype=np.float64), expected


def make_shap_tree_explainer(estimator, model_output: str, background_t=None):
    """Build the ``shap.TreeExplainer`` used for ``estimator`` (cache it: it parses trees)."""
    import shap

    if model_output == "probability":
        if background_t is None:
            raise ValueError("Explaining probabilities of a tree model needs background data.")
        bg = background_t.toarray() if sp.issparse(background_t) else background_t
        return shap.TreeExplainer(
            estimator,
            data=bg,
            model_output="probability",
            feature_perturbation="interventional",
        )
    if type(estimator).__name__ == "GradientBoostingClassifier" and estimator.estimators_.shape[1] > 1:
        return _MulticlassGradientBoosting(estimator)
    return shap.TreeExplainer(estimator, feature_perturbation="tree_path_dependent")


class _MulticlassGradientBoosting:
    """TreeSHAP for multiclass ``GradientBoostingClassifier`` (shap handles binary only).

    Each class's raw score is ``init_k + learning_rate * sum of its regression trees``; every
    class is explained as its own ensemble through shap's dictionary tree format.
    """

    def __init__(self, estimator):
        import shap

        self.explainers = []
        n_features = estimator.n_features_in_
        probe = np.zeros((1, n_features))
        raw = estimator.decision_function(probe)[0]
        lr = estimator.learning_rate
        for k in range(estimator.estimators_.shape[1]):
            trees = [e.tree_ for e in estimator.estimators_[:, k]]
            offset = raw[k] - lr * sum(float(t.predict(probe.astype(np.float32))[0, 0]) for t in trees)
            model = {
                "trees": [
                    {
                        "children_left": t.children_left,
                        "children_right": t.children_right,
                        "children_default": t.children_left,
                        "features": t.feature,
                        "thresholds": t.threshold,
                        "values": t.value[:, 0, :] * lr,
                        "node_sample_weight": t.weighted_n_node_samples,
                    }
                    for t in trees
                ],
                "base_offset": offset,
                "tree_output": "raw_value",
                "input_dtype": np.float32,
                "internal_dtype": np.float64,
            }
            self.explainers.append(
                shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
            )
        self.expected_value = np.array([float(np.ravel(e.expected_value)[0]) for e in self.explainers])

    def shap_values(self, X, check_additivity=False):
        return [np.asarray(e.shap_values(X, check_additivity=False)) for e in self.explainers]


def tree_shap(
    estimator, Xt, *, model_output: str = "margin", shap_explainer=None
) -> EngineeredAttribution:
    """TreeSHAP attributions of the engineered matrix ``Xt``.

    Parameters
    ----------
    estimator : fitted tree model
        LightGBM, XGBoost or scikit-learn tree ensemble.
    Xt : array-like or sparse matrix of shape (n_rows, n_engineered)
        The matrix the estimator was trained on (after preprocessing).
    model_output : {"margin", "probability"}, default="margin"
        Space to explain; see the module docstring.
    shap_explainer : shap.TreeExplainer, optional
        A prebuilt explainer (from :func:`make_shap_tree_explainer`), used for
        scikit-learn models and for ``model_output="probability"``.

    Returns
    -------
    EngineeredAttribution
        ``values`` of shape (n_outputs, n_rows, n_engineered), ``expected`` of
        shape (n_outputs,), additive to the explained output.
    """
    family = _family(estimator)
    if family is None:
        raise TypeError(
            f"{type(estimator).__name__} is not a tree model the 'tree' explainer supports "
            "(LightGBM, XGBoost, scikit-learn trees, forests and gradient boosting)."
        )
    if model_output == "margin" and family == "lightgbm":
        return _lightgbm(estimator, Xt)
    if model_output == "margin" and family == "xgboost":
        return _xgboost(estimator, Xt)
    if shap_explainer is None:
        shap_explainer = make_shap_tree_explainer(estimator, model_output)
    dense = Xt.toarray() if sp.issparse(Xt) else Xt
    n_rows, n_features = dense.shape
    raw = shap_explainer.shap_values(dense, check_additivity=False)
    values, expected = _shap_values_to_outputs(
        raw, shap_explainer.expected_value, n_rows, n_features
    )
    output = "probability" if model_output == "probability" else margin_name(estimator)
    return EngineeredAttribution(values, expected, output)
