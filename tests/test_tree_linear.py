"""Tree and linear explainers: additivity, agreement with shap, closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from conftest import mixed_preprocessor, penguin_preprocessor
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from explainable_pipeline import ExplainablePipeline

lightgbm = pytest.importorskip("lightgbm")


def margin_output(ep, X):
    """The model's margin computed without the library: what the attributions must add to."""
    est, Xt = ep.estimator_, ep.preprocessor_.transform(X)
    module = type(est).__module__
    if module.startswith("lightgbm"):
        out = est.predict(Xt, raw_score=True)
    elif module.startswith("xgboost"):
        out = est.predict(Xt, output_margin=True)
    elif type(est).__name__ in {"RandomForestClassifier", "DecisionTreeClassifier"}:
        out = est.predict_proba(Xt)
    elif hasattr(est, "decision_function"):
        out = est.decision_function(Xt)
    else:
        out = est.predict(Xt)
    out = np.asarray(out, dtype=float)
    return out


def as_class_outputs(local, out):
    """Compare per class: binary margins explain class 1 (class 0 is the negation)."""
    values = local.local_importance_values
    pred = values.sum(-1) + np.asarray(local.expected_values)[..., None]
    if values.ndim == 2:
        return pred, out
    if out.ndim == 1:  # binary margin
        return pred, np.stack([-out, out])
    return pred, out.T


TREE_CLASSIFIERS = [
    lambda: lightgbm.LGBMClassifier(n_estimators=40, num_leaves=8, verbose=-1),
    lambda: GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0),
    lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
    lambda: RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0),
]
TREE_REGRESSORS = [
    lambda: lightgbm.LGBMRegressor(n_estimators=40, num_leaves=8, verbose=-1),
    lambda: GradientBoostingRegressor(n_estimators=30, random_state=0),
    lambda: HistGradientBoostingRegressor(max_iter=30, random_state=0),
    lambda: RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0),
    lambda: DecisionTreeRegressor(max_depth=5, random_state=0),
]


@pytest.mark.parametrize("make", TREE_CLASSIFIERS, ids=lambda f: type(f()).__name__)
@pytest.mark.parametrize("space", ["raw", "engineered"])
def test_tree_classifier_additive_binary_and_multiclass(make, space, mixed_data, penguins):
    X, y, _ = mixed_data
    Xp, yp = penguins
    for data, target, pre in [(X, y, mixed_preprocessor()), (Xp, yp, penguin_preprocessor())]:
        ep = ExplainablePipeline(pre, make()).fit(data, target)
        assert ep.explainer_ == "tree"
        local = ep.explain_local(data.iloc[:40], space=space)
        pred, out = as_class_outputs(local, margin_output(ep, data.iloc[:40]))
        np.testing.assert_allclose(pred, out, rtol=1e-6, atol=1e-6)
        n_features = X.shape[1] if data is X else Xp.shape[1]
        if space == "raw":
            assert local.features == list(data.columns)
            assert local.local_importance_values.shape[-1] == n_features
        else:
            assert local.features == list(ep.preprocessor_.get_feature_names_out())
        assert local.local_importance_values.shape[0] == len(ep.classes_)


@pytest.mark.parametrize("make", TREE_REGRESSORS, ids=lambda f: type(f()).__name__)
def test_tree_regressor_additive(make, mixed_data):
    X, _, y = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), make()).fit(X, y)
    for space in ("raw", "engineered"):
        local = ep.explain_local(X.iloc[:50], space=space)
        values = local.local_importance_values
        assert values.shape[0] == 50
        np.testing.assert_allclose(
            values.sum(1) + local.expected_values, ep.predict(X.iloc[:50]), rtol=1e-6, atol=1e-6
        )


def test_xgboost_additive(mixed_data):
    xgboost = pytest.importorskip("xgboost")
    X, y, yr = mixed_data
    for est, target in [
        (xgboost.XGBClassifier(n_estimators=30, max_depth=3), y),
        (xgboost.XGBRegressor(n_estimators=30, max_depth=3), yr),
    ]:
        ep = ExplainablePipeline(mixed_preprocessor(), est).fit(X, target)
        local = ep.explain_local(X.iloc[:30])
        pred, out = as_class_outputs(local, margin_output(ep, X.iloc[:30]))
        np.testing.assert_allclose(pred, out, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("make", TREE_CLASSIFIERS + TREE_REGRESSORS[:1], ids=lambda f: type(f()).__name__)
def test_tree_equals_shap_tree_explainer_after_mapping(make, mixed_data):
    X, y, yr = mixed_data
    est = make()
    target = y if "Classifier" in type(est).__name__ else yr
    # tree_players="sum": each raw column gets the sum of its engineered children's values
    ep = ExplainablePipeline(mixed_preprocessor(), est, tree_players="sum").fit(X, target)
    rows = X.iloc[:25]
    Xt = ep.preprocessor_.transform(rows)
    ref = shap.TreeExplainer(ep.estimator_).shap_values(Xt, check_additivity=False)
    ref = np.asarray(ref)
    if ref.ndim == 3:
        ref = ref.transpose(2, 0, 1)  # (k, n, f)
    else:
        ref = ref[np.newaxis]
    names = ep.preprocessor_.get_feature_names_out()
    # map by hand: the raw column of "num__age" is "age", of "cat__city_oslo" is "city"
    raw_of = [n.split("__", 1)[1].split("_")[0] for n in names]
    expected_raw = np.stack(
        [ref[..., [i for i, r in enumerate(raw_of) if r == col]].sum(-1) for col in X.columns],
        axis=-1,
    )
    eng = ep.explain_local(rows, space="engineered").local_importance_values
    raw = ep.explain_local(rows).local_importance_values
    if ref.shape[0] == 1 and eng.ndim == 3:  # binary margin: class 1 is shap's output
        eng, raw = eng[1:], raw[1:]
    elif eng.ndim == 3 and ref.shape[0] == 2:  # forests: shap gives both classes
        pass
    elif eng.ndim == 2:
        ref, expected_raw = ref[0], expected_raw[0]
    np.testing.assert_allclose(eng, ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(raw, expected_raw, rtol=1e-6, atol=1e-7)


def test_tree_probability_output_additive(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(
        mixed_preprocessor(),
        lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1),
        model_output="probability",
        background=50,
        random_state=0,
    ).fit(X, y)
    local = ep.explain_local(X.iloc[:20])
    assert local.output == "probability"
    pred = local.local_importance_values.sum(-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(pred.T, ep.predict_proba(X.iloc[:20]), atol=1e-6)


def test_sparse_preprocessor_output_lightgbm(penguins):
    X, y = penguins
    ep = ExplainablePipeline(
        penguin_preprocessor(sparse=True), lightgbm.LGBMClassifier(n_estimators=20, verbose=-1)
    ).fit(X, y)
    assert hasattr(ep.preprocessor_.transform(X.iloc[:5]), "toarray")
    local = ep.explain_local(X.iloc[:30])
    pred, out = as_class_outputs(local, margin_output(ep, X.iloc[:30]))
    np.testing.assert_allclose(pred, out, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- linear
def linear_data():
    rng = np.random.default_rng(1)
    n = 200
    X = pd.DataFrame(
        {
            "x1": rng.normal(3, 2, n),
            "x2": rng.uniform(0, 10, n),
            "color": rng.choice(["red", "green", "blue"], n),
        }
    )
    y = 2 * X["x1"] - 0.5 * X["x2"] + (X["color"] == "red") * 3 + rng.normal(size=n)
    return X, y.to_numpy()


def test_linear_closed_form_by_hand():
    X, y = linear_data()
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["x1", "x2"]), ("cat", OneHotEncoder(), ["color"])]
    )
    ep = ExplainablePipeline(pre, Ridge(alpha=1.0)).fit(X, y)
    assert ep.explainer_ == "linear"
    rows = X.iloc[:7]
    # hand computation: standardised numerics, one-hot colours, coef * (x - training mean)
    mu, sd = X[["x1", "x2"]].mean(), X[["x1", "x2"]].std(ddof=0)
    z = (rows[["x1", "x2"]] - mu) / sd  # training mean of z is 0
    colors = ["blue", "green", "red"]
    onehot = np.stack([(rows["color"] == c).astype(float) for c in colors], axis=1)
    onehot_mean = np.array([(X["color"] == c).mean() for c in colors])
    coef = ep.estimator_.coef_
    expected = np.column_stack(
        [
            coef[0] * z["x1"].to_numpy(),
            coef[1] * z["x2"].to_numpy(),
            ((onehot - onehot_mean) * coef[2:]).sum(1),
        ]
    )
    local = ep.explain_local(rows)
    np.testing.assert_allclose(local.local_importance_values, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        local.expected_values, ep.estimator_.intercept_ + onehot_mean @ coef[2:], rtol=1e-10
    )
    np.testing.assert_allclose(
        local.local_importance_values.sum(1) + local.expected_values, ep.predict(rows), atol=1e-10
    )


def test_linear_matches_shap_linear_explainer(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(sparse_output=False), LogisticRegression()).fit(X, y)
    Xt = ep.preprocessor_.transform(X)
    ref = shap.LinearExplainer(
        ep.estimator_, shap.maskers.Independent(Xt, max_samples=len(Xt))
    ).shap_values(Xt[:30])
    local = ep.explain_local(X.iloc[:30], space="engineered")
    assert local.output == "log_odds"
    np.testing.assert_allclose(local.local_importance_values[1], ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(local.local_importance_values[0], -ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        local.local_importance_values[1].sum(1) + local.expected_values[1],
        ep.decision_function(X.iloc[:30]),
        atol=1e-8,
    )


def test_linear_multiclass_raw_additive(penguins):
    X, y = penguins
    ep = ExplainablePipeline(penguin_preprocessor(), LogisticRegression(max_iter=500)).fit(X, y)
    local = ep.explain_local(X.iloc[::20])
    values = local.local_importance_values
    assert values.shape == (3, len(X.iloc[::20]), X.shape[1])
    np.testing.assert_allclose(
        values.sum(-1).T + local.expected_values, ep.decision_function(X.iloc[::20]), atol=1e-8
    )
    # the sum over raw columns equals the sum over engineered columns exactly
    eng = ep.explain_local(X.iloc[::20], space="engineered").local_importance_values
    np.testing.assert_allclose(values.sum(-1), eng.sum(-1), atol=1e-12)


def test_linear_explicit_background_uses_weighted_mean():
    X, y = linear_data()
    pre = ColumnTransformer([("num", StandardScaler(), ["x1", "x2"])])
    bg = X.iloc[:3]
    w = np.array([1.0, 2.0, 1.0])
    ep = ExplainablePipeline(pre, Ridge(), background=bg, background_weights=w).fit(X, y)
    zbg = ep.preprocessor_.transform(bg)
    mean = (zbg * (w / w.sum())[:, None]).sum(0)
    local = ep.explain_local(X.iloc[:5])
    zx = ep.preprocessor_.transform(X.iloc[:5])
    np.testing.assert_allclose(
        local.local_importance_values[:, :2], (zx - mean) * ep.estimator_.coef_, atol=1e-12
    )


def test_linear_probability_output_is_refused_at_fit_and_auto_explains_it(mixed_data):
    """A sigmoid of a linear margin is not additive: an explicit 'linear' request for
    probabilities fails at fit (not at the first explanation); 'auto' explains them in raw
    space instead of picking 'linear' and failing later (a grid search over model_output
    would otherwise return a best estimator that cannot explain)."""
    X, y, _ = mixed_data
    with pytest.raises(ValueError, match="decision_function"):
        ExplainablePipeline(mixed_preprocessor(), LogisticRegression(), explainer="linear",
                            model_output="probability").fit(X, y)
    ep = ExplainablePipeline(mixed_preprocessor(), LogisticRegression(),
                             model_output="probability").fit(X, y)
    assert ep.explainer_ == "exact"
    local = ep.explain_local(X.iloc[:4])
    assert local.output == "probability" and local.check_additivity() < 1e-12
    np.testing.assert_allclose(local.values.sum(-1) + np.asarray(local.expected_values)[:, None],
                               ep.predict_proba(X.iloc[:4]).T, atol=1e-12)
    # margins stay on the closed form
    assert ExplainablePipeline(mixed_preprocessor(), LogisticRegression()).fit(X, y).explainer_ \
        == "linear"


def test_global_is_mean_abs_local_and_ranked(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(
        mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=30, verbose=-1)
    ).fit(X, y)
    glob = ep.explain_global(X)
    local = ep.explain_local(X)
    per_class = np.abs(local.local_importance_values).mean(1)
    np.testing.assert_allclose(glob.global_importance_values, per_class.mean(0))
    names = glob.get_ranked_global_names()
    assert names[0] in {"age", "city"}  # the planted signal
    assert names[-1] in {"noise", "income"}
    assert list(glob.get_feature_importance_dict(top_k=2)) == names[:2]


def test_feature_groups_sum_members(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(
        mixed_preprocessor(),
        lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
        feature_groups={"money": ["income", "plan"]},
        tree_players="sum",  # a group of the sum convention is the sum of its members
    ).fit(X, y)
    local = ep.explain_local(X.iloc[:10])
    assert local.features == ["money", "age", "noise", "city"]
    plain = ExplainablePipeline(
        mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
        tree_players="sum",
    ).fit(X, y).explain_local(X.iloc[:10])
    idx = {f: i for i, f in enumerate(plain.features)}
    np.testing.assert_allclose(
        local.local_importance_values[..., 0],
        plain.local_importance_values[..., idx["income"]]
        + plain.local_importance_values[..., idx["plan"]],
    )
