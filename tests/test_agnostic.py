"""Model-agnostic explanations through the whole pipeline, with raw columns as players."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_preprocessor, penguin_preprocessor
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from explainable_pipeline import ExplainablePipeline, MixedFeatureError


def brute_force_shapley(f, x: pd.DataFrame, background: pd.DataFrame, weights, players):
    """Shapley values by the textbook formula, one model call per coalition and background row."""
    M = len(players)
    w = np.asarray(weights) / np.sum(weights)

    def v(coalition):
        rows = background.copy()
        for p in coalition:
            for col in players[p]:
                rows[col] = x[col].iloc[0]
        out = np.asarray(f(rows), dtype=float)
        return (out * w[:, None]).sum(0) if out.ndim == 2 else (out * w).sum()

    phi = []
    for i in range(M):
        others = [p for p in range(M) if p != i]
        total = 0.0
        for size in range(M):
            weight = math.factorial(size) * math.factorial(M - size - 1) / math.factorial(M)
            for S in itertools.combinations(others, size):
                total = total + weight * (v(S + (i,)) - v(S))
        phi.append(total)
    return np.array(phi)


@pytest.fixture
def pca_problem():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] + 2 * X["b"] - X["c"] + 0.2 * rng.normal(size=300) > 0).astype(int)
    return X, y.to_numpy()


def test_pca_pipeline_is_explained_exactly_in_raw_space(pca_problem):
    X, y = pca_problem
    ep = ExplainablePipeline(
        make_pipeline(StandardScaler(), PCA(n_components=3)),
        LogisticRegression(),
        background=X.iloc[:8],
    ).fit(X, y)
    assert not ep.feature_map_.is_exact
    assert ep.explainer_ == "exact"  # "auto" does not map through PCA
    local = ep.explain_local(X.iloc[:3])
    for r in range(3):
        ref = brute_force_shapley(
            ep.predict_proba, X.iloc[[r]], ep.background_, ep.background_weights_,
            [["a"], ["b"], ["c"], ["d"]],
        )
        np.testing.assert_allclose(local.local_importance_values[:, r, :], ref.T, atol=1e-10)
    np.testing.assert_allclose(
        local.local_importance_values.sum(-1).T + local.expected_values,
        ep.predict_proba(X.iloc[:3]),
        atol=1e-12,
    )


def test_mixing_transformer_is_never_silently_mapped(pca_problem):
    X, y = pca_problem
    ep = ExplainablePipeline(
        make_pipeline(StandardScaler(), PCA(n_components=3)), LogisticRegression(), explainer="linear"
    ).fit(X, y)
    with pytest.raises(MixedFeatureError, match="pca"):
        ep.explain_local(X.iloc[:3])
    # engineered space stays available, and is additive
    eng = ep.explain_local(X.iloc[:3], space="engineered")
    assert eng.features == ["pca0", "pca1", "pca2"]


def test_feature_groups_are_players(pca_problem):
    X, y = pca_problem
    ep = ExplainablePipeline(
        StandardScaler(), SVC(probability=True, random_state=0), background=X.iloc[:5],
        feature_groups={"ab": ["a", "b"]},
    ).fit(X, y)
    local = ep.explain_local(X.iloc[:2])
    assert local.features == ["ab", "c", "d"]
    assert local.groups == {"ab": ["a", "b"]}
    ref = brute_force_shapley(
        ep.predict_proba, X.iloc[[1]], ep.background_, ep.background_weights_, [["a", "b"], ["c"], ["d"]]
    )
    np.testing.assert_allclose(local.local_importance_values[:, 1, :], ref.T, atol=1e-10)


@pytest.mark.parametrize("method", ["exact", "kernel", "permutation"])
def test_mixed_dtypes_nan_and_unseen_categories_are_additive(method, penguins):
    X, y = penguins
    ep = ExplainablePipeline(
        penguin_preprocessor(), SVC(probability=True, random_state=0), explainer=method,
        background=15, n_samples=64 if method != "exact" else "auto", random_state=0,
    ).fit(X, y)
    rows = X.iloc[[0, 3, 8, 100, 200]].copy()  # row 3 has NaN everywhere
    rows.loc[rows.index[0], "island"] = "Atlantis"  # unseen: handle_unknown="ignore"
    local = ep.explain_local(rows)
    assert local.method == method and local.output == "probability"
    assert local.local_importance_values.shape == (3, 5, X.shape[1])
    np.testing.assert_allclose(
        local.local_importance_values.sum(-1).T + local.expected_values,
        ep.predict_proba(rows),
        atol=1e-9,
    )


def test_kernel_and_permutation_converge_to_exact_through_the_pipeline(mixed_data):
    X, y, _ = mixed_data
    common = dict(background=10, random_state=0)
    exact = ExplainablePipeline(
        mixed_preprocessor(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
        explainer="exact", **common,
    ).fit(X, y)
    ref = exact.explain_local(X.iloc[:10]).local_importance_values
    for method in ("kernel", "permutation"):
        ep = exact.__class__(**{**exact.get_params(deep=False), "explainer": method, "n_samples": 400})
        got = ep.fit(X, y).explain_local(X.iloc[:10]).local_importance_values
        err = np.abs(got - ref).sum() / np.abs(ref).sum()
        assert err < 0.05, (method, err)


def test_regression_and_reproducibility(mixed_data):
    X, _, y = mixed_data
    def make():
        return ExplainablePipeline(
            mixed_preprocessor(), KNeighborsRegressor(), explainer="kernel", n_samples=50,
            random_state=7,
        ).fit(X, y)
    a = make().explain_local(X.iloc[:6])
    b = make().explain_local(X.iloc[:6])
    assert a.local_importance_values.shape == (6, 5)
    np.testing.assert_array_equal(a.local_importance_values, b.local_importance_values)
    np.testing.assert_allclose(
        a.local_importance_values.sum(1) + a.expected_values, make().predict(X.iloc[:6]), atol=1e-9
    )


def test_margin_output_explains_decision_function(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(
        mixed_preprocessor(), SVC(random_state=0), model_output="margin", background=10
    ).fit(X, y)
    assert not hasattr(ep, "predict_proba") or ep.explainer_ == "exact"
    local = ep.explain_local(X.iloc[:4])
    assert local.output == "margin"  # an SVM's decision_function is no log-odds
    np.testing.assert_allclose(
        local.local_importance_values[1].sum(-1) + local.expected_values[1],
        ep.decision_function(X.iloc[:4]),
        atol=1e-9,
    )


def test_explicit_background_reproduces_given_rows_and_weights(pca_problem):
    X, y = pca_problem
    bg, w = X.iloc[:4], np.array([1.0, 3.0, 2.0, 4.0])
    ep = ExplainablePipeline(
        StandardScaler(), SVC(probability=True, random_state=0), background=bg, background_weights=w
    ).fit(X, y)
    # the same rows and names; the column index is stored without Arrow (pickles need no
    # pyarrow), so its dtype may differ from the caller's
    pd.testing.assert_frame_equal(ep.background_, bg.reset_index(drop=True),
                                  check_column_type=False)  # fmt: skip
    assert list(ep.background_.columns) == list(bg.columns)
    np.testing.assert_allclose(ep.background_weights_, w / w.sum())
    local = ep.explain_local(X.iloc[:1])
    np.testing.assert_allclose(
        local.expected_values, (ep.predict_proba(bg) * (w / w.sum())[:, None]).sum(0), atol=1e-12
    )


def test_global_from_a_row_sample_has_intervals(mixed_data):
    X, y, _ = mixed_data
    import lightgbm

    ep = ExplainablePipeline(
        mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=30, verbose=-1)
    ).fit(X, y)
    full = ep.explain_global(X)
    sample = ep.explain_global(X, max_rows=300, random_state=0)
    assert sample.n_rows == 300 or sample.num_examples == 300
    low, high = sample.intervals
    assert np.all(low <= sample.global_importance_values + 1e-12)
    assert np.all(sample.global_importance_values <= high + 1e-12)
    inside = (low <= full.global_importance_values) & (full.global_importance_values <= high)
    assert inside.mean() >= 0.8  # 95% intervals, 5 columns, fixed seed
    again = ep.explain_global(X, max_rows=300, random_state=0)
    np.testing.assert_array_equal(again.global_importance_values, sample.global_importance_values)
    with pytest.raises(ValueError, match="max_rows"):
        ep.explain_global(X, max_rows=0)
    # a sampling interval only for a sample: none when every row is explained
    assert full.intervals is None
    assert ep.explain_global(X, max_rows=len(X)).intervals is None
    assert ep.explain_global(X, max_rows=len(X) + 10).intervals is None


def test_auto_rule_picks_by_model_and_column_count(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), SVC(probability=True), background=5).fit(X, y)
    assert ep.explainer_ == "exact"  # 5 raw columns
    wide = pd.concat([X] + [X[["age"]].add_suffix(f"_{i}") for i in range(10)], axis=1)
    pre = ColumnTransformer(
        [("num", StandardScaler(), [c for c in wide.columns if c.startswith(("age", "income", "noise"))])]
    )
    ep2 = ExplainablePipeline(pre, SVC(probability=True), background=5).fit(wide.fillna(0), y)
    assert ep2.explainer_ == "kernel"  # 13 raw numeric columns > 12
