"""Property: on any rows (NaN, +-inf, huge, tiny, unseen categories), the compiled few-row
transform either defers (Fallback: the real transform then runs) or returns exactly what
``preprocessor.transform`` returns; it never returns values where transform raises."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import preprocessing as skp
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from explainable_pipeline._fast_transform import Fallback, _same, compile_transform

CATS = ["a", "b", "c"]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),  # NaN, +-inf, huge and subnormal values
    st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, 0.0, -0.0]),
    st.floats(-3, 3),
)
CATEGORIES = st.one_of(st.sampled_from([*CATS, "unseen", "", "A"]), st.none(), st.just(np.nan))


def _preprocessors():
    num = ["x", "y"]
    return {
        "impute-scale-onehot": ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(), skp.StandardScaler()), num),
            ("cat", skp.OneHotEncoder(handle_unknown="ignore"), ["c"]),
        ], remainder="passthrough"),
        "scalers-ordinal": ColumnTransformer([
            ("mm", skp.MinMaxScaler(clip=True), ["x"]),
            ("ra", make_pipeline(skp.RobustScaler(), skp.MaxAbsScaler()), ["y"]),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  skp.OrdinalEncoder(handle_unknown="use_encoded_value",
                                                 unknown_value=-1)), ["c"]),
        ], remainder="drop"),
        "onehot-error": ColumnTransformer([
            ("num", skp.StandardScaler(), num),
            ("cat", skp.OneHotEncoder(handle_unknown="error"), ["c"]),
        ], remainder="passthrough"),
    }  # fmt: skip


@pytest.fixture(scope="module")
def compiled():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "x": rng.normal(size=60), "y": rng.normal(size=60) * 100,
        "c": pd.Series(rng.choice(CATS, size=60), dtype=object), "z": rng.normal(size=60),
    })  # fmt: skip
    X.loc[::7, "x"] = np.nan
    out = {}
    for name, pre in _preprocessors().items():
        pre.fit(X)
        fast = compile_transform(pre, X.iloc[:20])
        assert fast is not None, name  # every preprocessor here compiles
        out[name] = (pre, fast)
    return out


def _frames(draw, n):
    return pd.DataFrame({
        "x": pd.Series(draw(st.lists(NUMBERS, min_size=n, max_size=n)), dtype=float),
        "y": pd.Series(draw(st.lists(NUMBERS, min_size=n, max_size=n)), dtype=float),
        "c": pd.Series(draw(st.lists(CATEGORIES, min_size=n, max_size=n)), dtype=object),
        "z": pd.Series(draw(st.lists(NUMBERS, min_size=n, max_size=n)), dtype=float),
    })  # fmt: skip


@st.composite
def frames(draw):
    return _frames(draw, draw(st.integers(1, 6)))


@pytest.mark.parametrize("name", ["impute-scale-onehot", "scalers-ordinal", "onehot-error"])
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(X=frames())
def test_compiled_transform_defers_or_equals_transform(compiled, name, X):
    pre, fast = compiled[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in huge values: the same in both
        try:
            expected = pre.transform(X)
        except ValueError:
            expected = None
        try:
            got = fast(X)
        except Fallback:
            return  # the real transform runs instead: agreement by construction
    assert expected is not None, "the fast path returned values where transform raises"
    assert _same(got, expected)
