"""Shapley interaction values of raw columns: trees, raw-space enumeration, sampling, object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import interactions_from_values, mixed_preprocessor
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures

from explainable_pipeline import ExplainablePipeline, InteractionExplanation, load_explanation
from explainable_pipeline._interactions import exact_interactions

lightgbm = pytest.importorskip("lightgbm")


def test_exact_interactions_equal_brute_force_on_a_random_game():
    rng = np.random.default_rng(0)
    M = 5
    v = rng.normal(size=1 << M)
    phi, ref = interactions_from_values(v, M)
    got = exact_interactions(v[None], M)[0]
    np.testing.assert_allclose(got, ref, atol=1e-12)
    np.testing.assert_allclose(got.sum(1), phi, atol=1e-12)
    np.testing.assert_allclose(got, got.T, atol=1e-12)


def test_tree_interactions_sum_to_attributions_and_margin(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=30,
                             verbose=-1)).fit(X, y)  # fmt: skip
    rows = X.iloc[:40]
    inter = ep.explain_interactions(rows)
    local = ep.explain_local(rows)
    assert isinstance(inter, InteractionExplanation)
    assert inter.values.shape == (2, 40, 5, 5) and inter.features == local.features
    np.testing.assert_allclose(inter.attributions, local.local_importance_values, atol=1e-10)
    np.testing.assert_allclose(inter.values, np.swapaxes(inter.values, -1, -2), atol=1e-12)
    margin = ep.estimator_.predict(ep.preprocessor_.transform(rows), raw_score=True)
    total = inter.values[1].sum((-2, -1)) + inter.expected_values[1]
    np.testing.assert_allclose(total, margin, atol=1e-9)
    assert np.abs(inter.values[1] - np.einsum("nii->ni", inter.values[1])[..., None]
                  * np.eye(5)).max() > 1e-6  # real off-diagonal interactions  # fmt: skip


def test_tree_interventional_interactions_equal_raw_space_enumeration(mixed_data):
    X, _, yr = mixed_data
    bg = X.iloc[100:108].reset_index(drop=True)
    pre = ColumnTransformer([("num", "passthrough", ["age", "income", "noise"]),
                             ("hot", OneHotEncoder(sparse_output=False), ["city", "plan"])])  # fmt: skip
    est = HistGradientBoostingRegressor(max_iter=20, random_state=0)
    tree = ExplainablePipeline(pre, est, explainer="tree", background=bg).fit(X, yr)
    exact = ExplainablePipeline(pre, est, explainer="exact", background=bg).fit(X, yr)
    a = tree.explain_interactions(X.iloc[:5])
    b = exact.explain_interactions(X.iloc[:5])
    assert a.method == "tree" and b.method == "exact"
    np.testing.assert_allclose(a.values, b.values, atol=1e-9)
    np.testing.assert_allclose(a.expected_values, b.expected_values, atol=1e-9)


def test_linear_interactions_are_the_local_attributions_on_the_diagonal(mixed_data):
    """The default linear explainer: interaction rows sum to explain_local's values with the
    same expected values (its reference is the training mean, not the sampled background),
    no off-diagonal entries; with explicit background rows they equal the raw-space game's
    exact interaction values (a linear margin is additive in the raw columns)."""
    from sklearn.linear_model import LogisticRegression

    X, y, yr = mixed_data
    rows = X.iloc[:6]
    for est, target in ((LogisticRegression(max_iter=500), y), (LinearRegression(), yr)):
        ep = ExplainablePipeline(mixed_preprocessor(), est).fit(X, target)
        assert ep.explainer_ == "linear"
        inter, local = ep.explain_interactions(rows), ep.explain_local(rows)
        assert inter.method == "linear" and inter.output == local.output
        np.testing.assert_allclose(inter.values.sum(-1), local.values, rtol=0, atol=1e-12)
        np.testing.assert_allclose(inter.expected_values, local.expected_values, rtol=0,
                                   atol=1e-12)
        off = inter.values * (1 - np.eye(inter.values.shape[-1]))
        assert not off.any()
    bg = X.iloc[100:106].reset_index(drop=True)
    linear = ExplainablePipeline(mixed_preprocessor(), LinearRegression(), background=bg)
    exact = ExplainablePipeline(mixed_preprocessor(), LinearRegression(), explainer="exact",
                                background=bg)
    a = linear.fit(X, yr).explain_interactions(rows)
    b = exact.fit(X, yr).explain_interactions(rows)
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.expected_values, b.expected_values, rtol=0, atol=1e-9)


def test_sampled_interactions_of_a_quadratic_model_are_exact_per_pair():
    """14 raw columns (> 12): permutation sampling. For a degree-2 polynomial the second
    difference of a pair is the same at every coalition, so each sampled pair is exact."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 14)), columns=[f"x{i}" for i in range(14)])
    y = X["x0"] + 2 * X["x1"] + 3.0 * X["x0"] * X["x1"] - 1.5 * X["x2"] * X["x5"]
    bg = X.iloc[:6].reset_index(drop=True)
    ep = ExplainablePipeline(PolynomialFeatures(2, interaction_only=True), LinearRegression(),
                             explainer="kernel", background=bg).fit(X, y)  # fmt: skip
    rows = X.iloc[10:13]
    inter = ep.explain_interactions(rows, n_samples=400, random_state=0)
    assert inter.method == "permutation" and inter.meta["pairs_unsampled"] == 0
    x, b = rows.to_numpy(), bg.to_numpy()
    closed = 0.5 * 3.0 * ((x[:, None, 0] - b[None, :, 0]) * (x[:, None, 1] - b[None, :, 1])).mean(1)
    np.testing.assert_allclose(inter.values[:, 0, 1], closed, atol=1e-8)
    closed = -0.5 * 1.5 * ((x[:, None, 2] - b[None, :, 2]) * (x[:, None, 5] - b[None, :, 5])).mean(1)
    np.testing.assert_allclose(inter.values[:, 2, 5], closed, atol=1e-8)
    np.testing.assert_allclose(inter.values[:, 3, 4], 0.0, atol=1e-8)
    total = inter.values.sum((-2, -1)) + inter.expected_values
    np.testing.assert_allclose(total, ep.predict(rows), atol=1e-8)


def test_interaction_explanation_object_roundtrip_and_helpers(mixed_data, tmp_path):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=20,
                             verbose=-1)).fit(X, y)  # fmt: skip
    inter = ep.explain_interactions(X.iloc[:20])
    ranked = inter.get_ranked_interactions(top_k=3)
    assert len(ranked) == 3 and ranked[0][2] >= ranked[1][2] >= ranked[2][2]
    assert inter.get_ranked_global_names() == inter.to_local().get_ranked_global_names()
    frame = inter.to_dataframe()
    assert frame.shape == (20, 2 * 5 * 5)
    assert frame.columns.names == ["class", "feature", "other"]
    back = load_explanation(inter.save(tmp_path / "inter"))
    assert isinstance(back, InteractionExplanation)
    np.testing.assert_array_equal(back.values, inter.values)
    assert back.features == inter.features and back.classes == inter.classes
    assert InteractionExplanation.from_dict(inter.to_dict()).method == "tree"
    shap = pytest.importorskip("shap")
    sx = inter.to_shap()
    assert isinstance(sx, shap.Explanation) and sx.values.shape == (20, 5, 5)
    with pytest.raises(ValueError, match="n_samples"):
        ep.explain_interactions(X.iloc[:2], n_samples=0)
    with pytest.raises(ValueError, match="shape"):
        InteractionExplanation(np.zeros((2, 3, 4)), 0.0, ["a", "b", "c", "d"], method="tree",
                               space="raw", output="prediction")  # fmt: skip


def test_interaction_plots(mixed_data):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=20,
                             verbose=-1)).fit(X, y)  # fmt: skip
    inter = ep.explain_interactions(X.iloc[:30])
    ax = inter.plot(kind="heatmap")
    assert len(ax.get_xticklabels()) == 5
    ax = inter.plot(kind="interaction", features=("age", "city"))
    assert "age" in ax.get_xlabel()
    with pytest.raises(ValueError, match="kind"):
        inter.plot(kind="pie")


def test_dashboard_reads_interaction_explanations(mixed_data):
    """The dashboard's interactions view takes ``ep.explain_interactions(X)`` as it is."""
    import warnings

    from explainable_pipeline.dashboard._interactions import as_interactions

    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=20,
                             verbose=-1)).fit(X, y)  # fmt: skip
    rows = X.iloc[:25]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "do not add up" warning
        got = as_interactions(ep.explain_interactions(rows), ep.explain_local(rows))
    assert got.values.shape == (2, 25, 5, 5)


def test_one_player_interactions_are_its_attribution():
    """One raw column, or one feature group over every column: a 1 x 1 matrix holding the
    attribution (a factorial of -1 raised before)."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(50, 2), columns=["a", "b"])
    y = X.a + 2 * X.b
    for data, groups in [(X[["a"]], None), (X, {"all": ["a", "b"]})]:
        ep = ExplainablePipeline(StandardScaler(), Ridge(), explainer="exact",
                                 feature_groups=groups, background=5).fit(data, y)
        inter = ep.explain_interactions(data[:3])
        local = ep.explain_local(data[:3])
        assert np.shape(inter.values) == (3, 1, 1)
        np.testing.assert_allclose(np.asarray(inter.values)[:, 0, 0],
                                   np.ravel(local.local_importance_values), atol=1e-12)
