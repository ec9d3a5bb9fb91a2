"""The compiled few-rows transform equals the preprocessor's own transform, or is refused."""

from __future__ import annotations

import warnings

import lightgbm
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import penguin_preprocessor
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._fast_transform import (
    _COMPILED,
    _NOT_COMPILABLE,
    Fallback,
    compile_transform,
)
from explainable_pipeline._scoring import _predict_is_argmax_proba

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
CATEGORICAL = ["island", "sex"]


def _cat(**kw):
    return make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(**kw))


SUPPORTED = {
    "impute-scale-onehot": penguin_preprocessor(),
    "sparse-output": penguin_preprocessor(sparse=True),
    "drop-first-minmax-clip": ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler(clip=True)), NUMERIC),
            ("cat", _cat(drop="first", sparse_output=False), CATEGORICAL),
        ]
    ),
    "if-binary-robust-maxabs-remainder": ColumnTransformer(
        [
            ("robust", make_pipeline(SimpleImputer(), RobustScaler()), NUMERIC[:2]),
            ("maxabs", make_pipeline(SimpleImputer(), MaxAbsScaler()), NUMERIC[2:4]),
            ("cat", _cat(drop="if_binary", sparse_output=False, handle_unknown="ignore"), CATEGORICAL),
        ],
        remainder="passthrough",
    ),
    "ordinal-nan-unknown": ColumnTransformer(
        [
            ("num", "passthrough", NUMERIC),
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2
                ),
                CATEGORICAL,
            ),
        ]
    ),
    "onehot-nan-category": ColumnTransformer(
        [("num", SimpleImputer(strategy="constant", fill_value=0.0), NUMERIC),
         ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL)]  # fmt: skip
    ),
}


def _probes(X: pd.DataFrame) -> list[pd.DataFrame]:
    rows = [X.iloc[:40], X.iloc[[3]]]  # row 3 has NaN in every numeric column and sex
    for col in X.columns:
        numeric = pd.api.types.is_numeric_dtype(X[col])
        for value in (np.nan, -1e9) if numeric else (np.nan, None, "never-seen"):
            row = X.iloc[[0]].copy()
            if numeric and X[col].dtype.kind == "i" and value != value:
                continue
            row[col] = pd.Series([value], index=row.index, dtype=X[col].dtype)
            rows.append(row)
    return rows


@pytest.mark.parametrize("name", list(SUPPORTED))
def test_compiled_transform_equals_transform(penguins, name):
    X, _ = penguins
    pre = SUPPORTED[name].fit(X)
    fast = compile_transform(pre, X.sample(15, random_state=0))
    assert fast is not None, f"{name} should be compiled"
    for rows in _probes(X):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                expected = pre.transform(rows)
        except ValueError:  # e.g. an unknown category under handle_unknown="error"
            with pytest.raises(Fallback):
                fast(rows)
            continue
        try:
            got = fast(rows)
        except Fallback:
            # only unknown categories with drop, which scikit-learn warns about (None is one on
            # object columns, where SimpleImputer does not count it as missing: pandas < 3)
            assert name == "if-binary-robust-maxabs-remainder"
            assert any("unknown categories" in str(w.message) for w in caught)
            continue
        assert sp.issparse(got) == sp.issparse(expected)
        if sp.issparse(got):
            got, expected = got.toarray(), expected.toarray()
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)  # bit for bit, NaN included


def test_numpy_input_without_feature_names():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    X[::7, 1] = np.nan
    pre = make_pipeline(SimpleImputer(), StandardScaler()).fit(X)
    fast = compile_transform(pre, X[:10])
    np.testing.assert_array_equal(fast(X[:5]), pre.transform(X[:5]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: ColumnTransformer([("f", FunctionTransformer(np.log1p), ["body_mass_g"])]),
        lambda: ColumnTransformer([("c", OneHotEncoder(min_frequency=60), ["island"])]),
        lambda: ColumnTransformer(
            [("n", SimpleImputer(add_indicator=True), ["bill_length_mm"])]
        ),
        lambda: ColumnTransformer(
            [("n", make_pipeline(SimpleImputer(), PCA(2)), NUMERIC)]
        ),
        lambda: penguin_preprocessor().set_output(transform="pandas"),
    ],
    ids=["function", "infrequent", "indicator", "pca", "pandas-output"],
)
def test_unsupported_preprocessors_are_refused(penguins, make):
    X, _ = penguins
    pre = make().fit(X)
    assert compile_transform(pre, X.iloc[:10]) is None


def test_unknown_category_under_error_falls_back_to_the_real_error(penguins):
    X, y = penguins
    pre = ColumnTransformer([("c", _cat(handle_unknown="error", sparse_output=False), CATEGORICAL)])
    pre.fit(X)
    fast = compile_transform(pre, X.iloc[:10])
    row = X.iloc[[0]].copy()
    row["island"] = "Atlantis"
    with pytest.raises(Fallback):
        fast(row)
    ep = ExplainablePipeline(pre, lightgbm.LGBMClassifier(n_estimators=5, verbose=-1)).fit(X, y)
    with pytest.raises(ValueError, match="unknown categor"):  # scikit-learn's own message
        ep.predict(row)


def test_pipeline_transform_is_the_compiled_one_and_refit_recompiles(penguins):
    X, y = penguins
    ep = ExplainablePipeline(penguin_preprocessor(), lightgbm.LGBMClassifier(n_estimators=5, verbose=-1))
    ep.fit(X, y)
    np.testing.assert_array_equal(ep._transform(X.iloc[:3]), ep.preprocessor_.transform(X.iloc[:3]))
    assert _COMPILED.get(ep.preprocessor_) not in (None, _NOT_COMPILABLE)
    # refit on data without Dream island: the cached compiled transform must not survive
    keep = X["island"] != "Dream"
    ep.fit(X[keep], y[keep])
    rows = X[~keep].iloc[:3]
    np.testing.assert_array_equal(ep._transform(rows), ep.preprocessor_.transform(rows))


@pytest.mark.parametrize(
    "estimator",
    [
        lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
        RandomForestClassifier(n_estimators=20, random_state=0),
        HistGradientBoostingClassifier(max_iter=20),
    ],
    ids=["lightgbm", "forest", "hgb"],
)
def test_labels_from_probabilities_equal_predict(penguins, estimator):
    X, y = penguins
    ep = ExplainablePipeline(penguin_preprocessor(), estimator).fit(X, y)
    assert _predict_is_argmax_proba(ep.estimator_)
    out = ep.predict_and_explain(X)
    assert out["predictions"] == ep.predict(X).tolist()


def test_svc_labels_come_from_predict(penguins):
    X, y = penguins
    svc = SVC(probability=True, random_state=0)
    assert not _predict_is_argmax_proba(svc.fit(penguin_preprocessor().fit_transform(X), y))


def test_compiling_is_silent_and_user_rows_keep_sklearn_warnings(penguins):
    import warnings

    X, _ = penguins
    X = X.assign(island=X["island"].astype("category"))  # categorical dtype: no unseen probe
    pre = ColumnTransformer(
        [("c", _cat(drop="first", handle_unknown="ignore", sparse_output=False), CATEGORICAL)]
    ).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # probing unseen values must not warn the user
        fast = compile_transform(pre, X.iloc[:10])
    assert fast is not None
    row = X.iloc[[0]].copy()
    row["sex"] = pd.Series(["unknown-sex"], index=row.index, dtype=X["sex"].dtype)
    with pytest.raises(Fallback):  # with drop, scikit-learn warns about unknown categories
        fast(row)
    ep = ExplainablePipeline(pre, lightgbm.LGBMClassifier(n_estimators=5, verbose=-1))
    ep.fit(X, penguins[1])
    with pytest.warns(UserWarning, match="unknown categories"):
        ep.predict(row)
