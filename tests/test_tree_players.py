"""explainer="tree" with raw columns as players: the raw-space game, exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_preprocessor
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.explainers._shapley import shapley_values

lightgbm = pytest.importorskip("lightgbm")


def _rich_preprocessor():
    """One-hot, ordinal, imputed with a missing indicator, and a plain numeric column."""
    return ColumnTransformer(
        [
            ("imp", SimpleImputer(add_indicator=True), ["age"]),
            ("num", StandardScaler(), ["income", "noise"]),
            ("hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["city"]),
            ("ord", OrdinalEncoder(), ["plan"]),
        ]
    )


def _pair(pre, est, background, **kw):
    """The same model explained by the tree explainer and by raw-space exact enumeration."""
    tree = ExplainablePipeline(pre, est, explainer="tree", background=background, **kw)
    exact = ExplainablePipeline(pre, est, explainer="exact", background=background, **kw)
    return tree, exact


def _assert_equal_explanations(tree, exact, rows):
    a = tree.explain_local(rows)
    b = exact.explain_local(rows)
    assert a.features == b.features
    np.testing.assert_allclose(a.local_importance_values, b.local_importance_values, atol=1e-9)
    np.testing.assert_allclose(a.expected_values, b.expected_values, atol=1e-9)
    assert "raw columns" in a.meta["evaluation"] and "interventional" in a.meta["evaluation"]
    return a


def test_raw_players_equal_exact_regression_onehot_ordinal_imputed(mixed_data):
    X, _, yr = mixed_data
    bg = X.iloc[100:112].reset_index(drop=True)
    tree, exact = _pair(_rich_preprocessor(),
                        lightgbm.LGBMRegressor(n_estimators=25, num_leaves=12, verbose=-1), bg)
    tree.fit(X, yr)
    exact.fit(X, yr)
    _assert_equal_explanations(tree, exact, X.iloc[:6])


def test_raw_player_is_not_the_sum_of_one_hot_children():
    """Two one-hot children on one path: the raw column's value is not their sum."""
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"city": rng.choice(["oslo", "rome", "lima"], 300),
                      "noise": rng.normal(size=300)})  # fmt: skip
    y = 10.0 * (X["city"] == "oslo") + 5.0 * (X["city"] == "rome") * (X["noise"] > 0)
    pre = ColumnTransformer([("hot", OneHotEncoder(sparse_output=False), ["city"]),
                             ("num", "passthrough", ["noise"])])  # fmt: skip
    est = DecisionTreeRegressor(max_depth=3, random_state=0)
    raw = ExplainablePipeline(pre, est, tree_players="raw").fit(X, y).explain_local(X.iloc[:5])
    summed = ExplainablePipeline(pre, est, tree_players="sum").fit(X, y)
    summed = summed.explain_local(X.iloc[:5])
    # both additive to the same prediction, with different splits of it
    np.testing.assert_allclose(raw.local_importance_values.sum(1),
                               summed.local_importance_values.sum(1), atol=1e-12)  # fmt: skip
    assert np.abs(raw.local_importance_values - summed.local_importance_values).max() > 0.1


def test_raw_players_equal_exact_classification_margin_and_forest_probability(mixed_data):
    X, y, _ = mixed_data
    bg = X.iloc[200:210].reset_index(drop=True)
    tree, exact = _pair(mixed_preprocessor(sparse_output=False),
                        HistGradientBoostingClassifier(max_iter=20, random_state=0), bg,
                        model_output="margin")  # fmt: skip
    tree.fit(X, y)
    exact.fit(X, y)
    _assert_equal_explanations(tree, exact, X.iloc[:5])
    # a forest's leaves are probabilities: its probability is explained exactly too
    tree, exact = _pair(_rich_preprocessor(),
                        RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0), bg,
                        model_output="probability")  # fmt: skip
    tree.fit(X, y)
    exact.fit(X, y)
    _assert_equal_explanations(tree, exact, X.iloc[:5])


def test_raw_players_lightgbm_native_categorical_equal_enumeration(mixed_data):
    """LightGBM native categorical splits on an ordinal column, and one-hot columns."""
    X, y, _ = mixed_data
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income", "noise"]),
            ("ord", OrdinalEncoder(), ["plan"]),
            ("hot", OneHotEncoder(sparse_output=False), ["city"]),
        ]
    )
    bg = X.iloc[300:310].reset_index(drop=True)
    ep = ExplainablePipeline(
        pre, lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, min_child_samples=5,
                                     verbose=-1), background=bg,
    ).fit(X, y, categorical_feature=[3])  # fmt: skip
    assert any(
        node.get("decision_type") == "=="
        for t in ep.estimator_.booster_.dump_model()["tree_info"]
        for node in _nodes(t["tree_structure"])
    )
    rows = X.iloc[:4]
    local = ep.explain_local(rows)

    def margin(raw_rows):
        frame = pd.DataFrame(raw_rows, columns=X.columns).astype(X.dtypes.to_dict())
        return ep.estimator_.predict(ep.preprocessor_.transform(frame), raw_score=True)[:, None]

    ref = shapley_values(margin, rows.to_numpy(dtype=object), bg.to_numpy(dtype=object),
                         method="exact")  # fmt: skip
    np.testing.assert_allclose(local.local_importance_values[1], ref.values[..., 0], atol=1e-9)
    np.testing.assert_allclose(local.expected_values[1], ref.base_values[0], atol=1e-9)


def _nodes(node):
    yield node
    for key in ("left_child", "right_child"):
        if key in node:
            yield from _nodes(node[key])


def test_hist_gradient_boosting_native_categorical_equal_exact(mixed_data):
    X, _, yr = mixed_data
    pre = ColumnTransformer(
        [("num", "passthrough", ["age", "income", "noise"]), ("ord", OrdinalEncoder(), ["city"])]
    )
    bg = X.iloc[50:58].reset_index(drop=True)
    est = HistGradientBoostingRegressor(max_iter=15, categorical_features=[3], random_state=0)
    tree, exact = _pair(pre, est, bg)
    Xs = X[["age", "income", "noise", "city"]]
    tree.fit(Xs, yr)
    exact.fit(Xs, yr)
    _assert_equal_explanations(tree, exact, Xs.iloc[:5])


def test_one_engineered_column_per_raw_column_raw_equals_sum(mixed_data):
    X, y, _ = mixed_data
    Xn = X[["age", "income", "noise"]]
    pre = make_pipeline(SimpleImputer(), StandardScaler())
    est = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1)
    raw = ExplainablePipeline(pre, est, tree_players="raw").fit(Xn, y).explain_local(Xn.iloc[:40])
    summed = ExplainablePipeline(pre, est, tree_players="sum").fit(Xn, y)
    summed = summed.explain_local(Xn.iloc[:40])
    np.testing.assert_array_equal(raw.local_importance_values, summed.local_importance_values)
    np.testing.assert_array_equal(raw.expected_values, summed.expected_values)


def test_path_dependent_raw_players_additive_to_margin(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=30,
                             verbose=-1)).fit(X, y)  # fmt: skip
    local = ep.explain_local(X.iloc[:50])
    assert "path-dependent" in local.meta["evaluation"]
    margin = ep.estimator_.predict(ep.preprocessor_.transform(X.iloc[:50]), raw_score=True)
    np.testing.assert_allclose(local.local_importance_values[1].sum(1) + local.expected_values[1],
                               margin, atol=1e-9)  # fmt: skip


def test_multiclass_boosting_probability_is_refused_not_wrong(penguins):
    """Bug: softmax probabilities were explained per class as if sigmoid, not additive. Asked
    for explicitly, the tree explainer refuses them; "auto" attributes them over raw columns
    with a model-agnostic explainer instead, and they add up to predict_proba."""
    X, y = penguins
    from conftest import penguin_preprocessor

    ep = ExplainablePipeline(
        penguin_preprocessor(), lightgbm.LGBMClassifier(n_estimators=50, verbose=-1),
        explainer="tree", model_output="probability",
    ).fit(X, y)  # fmt: skip
    with pytest.raises(ValueError, match="softmax"):
        ep.explain_local(X.iloc[:5])
    auto = ExplainablePipeline(
        penguin_preprocessor(), lightgbm.LGBMClassifier(n_estimators=50, verbose=-1),
        model_output="probability", background=10,
    ).fit(X, y)  # fmt: skip
    assert auto.explainer_ == "exact"
    local = auto.explain_local(X.iloc[:5])
    proba = auto.predict_proba(X.iloc[:5])
    np.testing.assert_allclose(local.local_importance_values.sum(-1)
                               + local.expected_values[:, None], proba.T, atol=1e-9)  # fmt: skip
    # the margins are explained exactly, and so are the probabilities in raw space
    margin = ExplainablePipeline(penguin_preprocessor(),
                                 lightgbm.LGBMClassifier(n_estimators=50, verbose=-1)).fit(X, y)
    local = margin.explain_local(X.iloc[:5])
    raw = margin.estimator_.predict(margin.preprocessor_.transform(X.iloc[:5]), raw_score=True)
    np.testing.assert_allclose(local.local_importance_values.sum(-1)
                               + local.expected_values[:, None], raw.T, atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("make", ["lightgbm", "hgb", "gb"])
def test_binary_boosting_probability_is_refused_not_wrong(mixed_data, make):
    """shap's interventional algorithm in probability space, which the tree explainer used for
    binary boosting, was 0.08 off the Shapley values of predict_proba (breast cancer) and, on
    HistGradientBoosting, 4.6e-3 off additivity. Asked for explicitly the tree explainer now
    refuses them; "auto" attributes predict_proba over raw columns, equal to "exact"."""
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

    X, y, _ = mixed_data
    est = {"lightgbm": lambda: lightgbm.LGBMClassifier(n_estimators=10, verbose=-1),
           "hgb": lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
           "gb": lambda: GradientBoostingClassifier(n_estimators=10, random_state=0)}[make]
    tree = ExplainablePipeline(mixed_preprocessor(), est(), explainer="tree",
                               model_output="probability", background=10).fit(X, y)
    with pytest.raises(ValueError, match="probabilities of a binary .*sigmoid"):
        tree.explain_local(X.iloc[:3])
    auto = ExplainablePipeline(mixed_preprocessor(), est(), model_output="probability",
                               background=10, random_state=0).fit(X, y)
    assert auto.explainer_ == "exact"
    local = auto.explain_local(X.iloc[:3])
    np.testing.assert_allclose(local.local_importance_values.sum(-1)
                               + local.expected_values[:, None],
                               auto.predict_proba(X.iloc[:3]).T, atol=1e-9)
    exact = ExplainablePipeline(mixed_preprocessor(), est(), explainer="exact",
                                background=10, random_state=0).fit(X, y)
    np.testing.assert_allclose(local.local_importance_values,
                               exact.explain_local(X.iloc[:3]).local_importance_values,
                               atol=1e-12)


def test_multiclass_boosting_probability_refusal_names_class_scores():
    """The refusal's fix for multiclass boosting names the per-class scores (margins before
    the softmax), not the log-odds of a binary model."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True, as_frame=True)
    tree = ExplainablePipeline(StandardScaler(), HistGradientBoostingClassifier(max_iter=5),
                               explainer="tree", model_output="probability",
                               background=10).fit(X, y)
    with pytest.raises(ValueError, match="multiclass .*softmax") as err:
        tree.explain_local(X.iloc[:3])
    assert "score before the softmax" in str(err.value)
    assert "log-odds" not in str(err.value)


def test_unreadable_model_falls_back_to_sum_or_refuses_raw(mixed_data, monkeypatch):
    from explainable_pipeline.explainers import _tree_model

    def unreadable(estimator, X_probe=None):
        raise _tree_model.UnsupportedTreeModel("a format the engine does not read.")

    monkeypatch.setattr(_tree_model, "from_estimator", unreadable)
    X, y, _ = mixed_data
    est = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1)
    auto = ExplainablePipeline(mixed_preprocessor(), est).fit(X, y)
    local = auto.explain_local(X.iloc[:5])
    assert local.meta["evaluation"].startswith("booster TreeSHAP")
    contrib = auto.estimator_.booster_.predict(auto.preprocessor_.transform(X.iloc[:5]),
                                               pred_contrib=True)  # fmt: skip
    np.testing.assert_allclose(local.local_importance_values[1],
                               auto.feature_map_.to_raw(contrib[:, :-1]), atol=1e-12)  # fmt: skip
    raw = ExplainablePipeline(mixed_preprocessor(), est, tree_players="raw").fit(X, y)
    with pytest.raises(ValueError, match="tree_players='sum'"):
        raw.explain_local(X.iloc[:5])


def test_raw_players_through_a_dataframe_mapper_equal_exact(mixed_data):
    from explainable_pipeline._sklearn_compat import load_sklearn_pandas

    mapper = load_sklearn_pandas().DataFrameMapper(
        [(["age"], SimpleImputer()), (["income"], StandardScaler()), (["noise"], None),
         (["city"], OneHotEncoder(sparse_output=False)), (["plan"], OrdinalEncoder())]
    )  # fmt: skip
    X, _, yr = mixed_data
    bg = X.iloc[40:48].reset_index(drop=True)
    tree, exact = _pair(mapper, lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8,
                                                        verbose=-1), bg)  # fmt: skip
    tree.fit(X, yr)
    exact.fit(X, yr)
    _assert_equal_explanations(tree, exact, X.iloc[:4])


def test_compat_facade_keeps_interpret_communitys_sum(mixed_data):
    """interpret-community sums engineered TreeSHAP values per raw column; the facade too."""
    from sklearn.pipeline import Pipeline

    from explainable_pipeline.compat import TabularExplainer

    X, y, _ = mixed_data
    clf = Pipeline([("pre", mixed_preprocessor(sparse_output=False)),
                    ("est", lightgbm.LGBMClassifier(n_estimators=20, verbose=-1))]).fit(X, y)  # fmt: skip
    explainer = TabularExplainer(clf[-1], X, transformations=clf[0])
    assert explainer.pipeline_.tree_players == "sum"
    local = explainer.explain_local(X.iloc[:5])
    contrib = clf[-1].booster_.predict(clf[0].transform(X.iloc[:5]), pred_contrib=True)
    summed = explainer.pipeline_.feature_map_.to_raw(contrib[:, :-1])
    np.testing.assert_allclose(np.asarray(local.local_importance_values)[1], summed, atol=1e-9)


def test_feature_group_is_one_player_like_exact(mixed_data):
    X, _, yr = mixed_data
    bg = X.iloc[60:68].reset_index(drop=True)
    groups = {"money": ["income", "plan"]}
    tree, exact = _pair(mixed_preprocessor(sparse_output=False),
                        lightgbm.LGBMRegressor(n_estimators=20, num_leaves=8, verbose=-1), bg,
                        feature_groups=groups)  # fmt: skip
    tree.fit(X, yr)
    exact.fit(X, yr)
    local = _assert_equal_explanations(tree, exact, X.iloc[:4])
    assert local.features[0] == "money" and local.groups == groups


def test_lightgbm_random_forest_margin_is_the_log_odds_of_predict_proba(mixed_data):
    """LightGBM's rf mode averages its trees in predict_proba but sums them in raw_score and
    pred_contrib; the explained margin is the one whose sigmoid is predict_proba."""
    X, y, _ = mixed_data
    est = lightgbm.LGBMClassifier(boosting_type="rf", n_estimators=15, bagging_freq=1,
                                  bagging_fraction=0.7, verbose=-1)  # fmt: skip
    ep = ExplainablePipeline(mixed_preprocessor(), est).fit(X, y)
    local = ep.explain_local(X.iloc[:20])
    p = ep.predict_proba(X.iloc[:20])[:, 1]
    total = local.local_importance_values[1].sum(1) + local.expected_values[1]
    np.testing.assert_allclose(total, np.log(p / (1 - p)), atol=1e-9)
