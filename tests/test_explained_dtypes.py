"""Explained rows whose dtypes differ from the training data's (the background's): the
background keeps its values, rows the fast paths cannot read go to the black box, and the
compiled transform leaves other dtypes to scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.explainers._shapley import shapley_values


def _background_mean(ep, output=1):
    proba = ep.predict_proba(ep.background_)[:, output] if output is not None else ep.predict(
        ep.background_)
    return float(ep.background_weights_ @ proba)


def test_fewer_categories_in_the_explained_rows_keep_the_background():
    """A Categorical with fewer categories than the background's: those background values used
    to become NaN in every hybrid row (a different background, additive all the same)."""
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"city": pd.Categorical(rng.choice(["a", "b", "c"], 300)),
                       "x": rng.randn(300)})
    y = ((df.city == "c") | (df.x > 1)).astype(int).to_numpy()
    pre = ColumnTransformer([("oh", OneHotEncoder(handle_unknown="ignore"), ["city"])],
                            remainder="passthrough")
    ep = ExplainablePipeline(pre, RandomForestClassifier(20, random_state=0), explainer="exact",
                             background=8, random_state=0).fit(df, y)
    assert (ep.background_.city == "c").any()
    rows = df[df.city != "c"].iloc[:3].copy()
    narrow = rows.assign(city=pd.Categorical(rows.city.astype(str)))  # categories a, b
    got, want = ep.explain_local(narrow), ep.explain_local(rows)
    assert np.asarray(got.expected_values)[1] == pytest.approx(_background_mean(ep), abs=1e-12)
    np.testing.assert_allclose(got.local_importance_values, want.local_importance_values,
                               atol=1e-12)


def test_an_int_column_keeps_the_background_fractions():
    """An int64 column where the training data's is float: the background was truncated."""
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"age": rng.uniform(0, 3, 300), "x": rng.randn(300)})
    y = np.sin(3 * df.age) + df.x
    ep = ExplainablePipeline(None, HistGradientBoostingRegressor(max_iter=30), explainer="exact",
                             background=8, random_state=0).fit(df, y)
    ints = pd.DataFrame({"age": [1, 2], "x": [0.5, -0.5]})
    local = ep.explain_local(ints)
    base = float(np.ravel(local.expected_values)[0])
    assert base == pytest.approx(_background_mean(ep, None), abs=1e-12)
    values = np.asarray(local.local_importance_values).reshape(2, 2)  # (rows, columns)
    np.testing.assert_allclose(values.sum(axis=1) + base, ep.predict(ints), atol=1e-10)
    floats = shapley_values(ep.predict, ints.astype(float), ep.background_,
                            ep.background_weights_)
    np.testing.assert_allclose(values, floats.values[:, :, 0], atol=1e-12)


def test_values_a_column_cannot_hold_are_refused():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    with pytest.raises(TypeError, match="column 'b' .* loses values"):
        shapley_values(lambda d: d["a"].to_numpy(), X, np.array([[0.0, 1.5]]))
    ordered = pd.DataFrame({"c": pd.Categorical(["lo"], categories=["lo", "hi"], ordered=True)})
    bg = pd.DataFrame({"c": pd.Categorical(["mid"], categories=["lo", "mid", "hi"],
                                           ordered=True)})
    with pytest.raises(TypeError, match="column 'c'.*ordered categories"):
        shapley_values(lambda d: np.zeros(len(d)), ordered, bg)


def test_pd_na_in_the_explained_rows_goes_to_the_black_box():
    """A nullable column's pd.NA: the model predicts it, the forest path cannot read it."""
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": pd.array(rng.randn(200), dtype="Float64"), "b": rng.randn(200)})
    y = (rng.randn(200) + X["b"] > 0).astype(int)
    ep = ExplainablePipeline(None, HistGradientBoostingClassifier(max_iter=10),
                             explainer="exact", background=5, random_state=0).fit(X, y)
    rows = X.iloc[:2].copy()
    rows.loc[0, "a"] = pd.NA
    local = ep.explain_local(rows)
    assert local.meta["evaluation"] == "black-box"
    total = np.asarray(local.local_importance_values).sum(axis=-1).T + local.expected_values
    np.testing.assert_allclose(total, ep.predict_proba(rows), atol=1e-12)


def test_float32_rows_take_scikit_learns_transform():
    """scikit-learn's StandardScaler keeps float32; the compiled transform computes in float64
    and so is left out for them (predictions 5e-7 off the pipeline's own before)."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4) * 1000 + 12345.678
    y = (X[:, 0] - X[:, 1] + rng.randn(300) * 100 > 0).astype(int)
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer="exact",
                             background=5, random_state=0).fit(X, y)
    X32 = X[:5].astype(np.float32)
    want = ep.estimator_.decision_function(ep.preprocessor_.transform(X32))
    np.testing.assert_array_equal(ep.decision_function(X32), want)
    local = ep.explain_local(X32)
    total = np.asarray(local.local_importance_values).sum(axis=-1).T + local.expected_values
    np.testing.assert_allclose(
        total, ep.estimator_.predict_proba(ep.preprocessor_.transform(X32)), atol=1e-12)
