"""A scikit-learn 1.9 user's habits beyond pandas: polars frames in fit, predict and every
explanation, and integer-labelled frames (``pd.read_csv(header=None)``) with rows of X as
the background. Each was found broken by an outside audit; each test checks the values
against the same pipeline on pandas input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

pl = pytest.importorskip("polars")
lightgbm = pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.uniform(size=n),
                      "color": rng.choice(["red", "blue"], n),
                      "city": rng.choice(["a", "b", "c"], n)})  # fmt: skip
    y = ((X.age > 40) ^ (X.color == "red")).astype(int)
    return X, y


def _pre():
    return ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                              ("cat", OneHotEncoder(handle_unknown="ignore"),
                               ["color", "city"])])  # fmt: skip


@pytest.mark.parametrize("explainer", ["linear", "tree", "exact", "kernel"])
def test_polars_frames_explain_like_pandas(data, explainer):
    X, y = data
    est = (lightgbm.LGBMClassifier(n_estimators=10, verbose=-1) if explainer == "tree"
           else LogisticRegression())  # fmt: skip
    kw = dict(explainer=explainer, random_state=0)
    ours = ExplainablePipeline(_pre(), est, **kw).fit(pl.from_pandas(X), y)
    ref = ExplainablePipeline(_pre(), est, **kw).fit(X, y)
    assert ours.feature_dtypes_ == ref.feature_dtypes_  # the dtype checks run on polars too
    rows = pl.from_pandas(X.iloc[:6])
    local = ours.explain_local(rows)
    assert local.check_additivity() < 1e-9 and isinstance(local.data, pd.DataFrame)
    np.testing.assert_allclose(local.values, ref.explain_local(X.iloc[:6]).values, atol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(rows), ref.predict_proba(X.iloc[:6]))
    assert ours.score(rows, y[:6]) == ref.score(X.iloc[:6], y[:6])
    glob = ours.explain_global(rows)
    np.testing.assert_allclose(glob.global_importance_values,
                               ref.explain_global(X.iloc[:6]).global_importance_values,
                               atol=1e-12)
    assert ours.predict_and_explain(rows[:2])["predictions"] == \
        ref.predict_and_explain(X.iloc[:2])["predictions"]
    if explainer != "kernel":
        np.testing.assert_allclose(ours.explain_interactions(rows[:3]).values,
                                   ref.explain_interactions(X.iloc[:3]).values, atol=1e-12)


def test_polars_background_rows(data):
    X, y = data
    bg = X.iloc[:8]
    ours = ExplainablePipeline(_pre(), LogisticRegression(), explainer="exact",
                               background=pl.from_pandas(bg)).fit(X, y)
    ref = ExplainablePipeline(_pre(), LogisticRegression(), explainer="exact",
                              background=bg).fit(X, y)
    np.testing.assert_allclose(ours.explain_local(X.iloc[:4]).values,
                               ref.explain_local(X.iloc[:4]).values, atol=1e-12)


def test_integer_labelled_frame_takes_its_own_rows_as_background():
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 2)))  # columns 0, 1
    y = (X[0] > 0).astype(int)
    for explainer in ("exact", "kernel", "linear"):
        ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer=explainer,
                                 background=X.iloc[:10], random_state=0).fit(X, y)
        local = ep.explain_local(X.iloc[:5])
        assert local.features == ["x0", "x1"] and local.check_additivity() < 1e-9
        arrays = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer=explainer,
                                     background=X.iloc[:10].to_numpy(), random_state=0)
        np.testing.assert_allclose(local.values,
                                   arrays.fit(X, y).explain_local(X.iloc[:5]).values, atol=1e-12)
    with pytest.raises(ValueError, match=r"lack raw columns \[1\]"):
        ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer="exact",
                            background=X.iloc[:10, :1]).fit(X, y)
