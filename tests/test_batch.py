"""In-process batching: chunked == unchunked, bounded chunks, progress, Parquet output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from explainable_pipeline import ExplainablePipeline, _batch
from explainable_pipeline._batch import (
    PartitionExplanationError,
    attribution_columns,
    chunk_rows,
    explain_partition,
)

NUM = ["a", "b", "c", "d", "e", "f"]
CAT = ["city", "plan"]


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(NUM))), columns=NUM)
    X["city"] = rng.choice(["paris", "rome", "oslo"], n)
    X["plan"] = rng.choice(["x", "y"], n)
    score = X["a"] - 2 * X["b"] + X["c"] * X["d"] + (X["city"] == "oslo")
    X.index = pd.Index([f"r{i}" for i in range(n)], name="row_id")  # a non-default index
    return X, (score > 0).astype(int).to_numpy(), score.to_numpy()


def _pre():
    return ColumnTransformer(
        [("num", StandardScaler(), NUM), ("cat", OneHotEncoder(handle_unknown="ignore"), CAT)],
        sparse_threshold=0.0,
    )


CASES = {
    # name: (estimator, explainer, classification?, extra params)
    "tree-clf": (GradientBoostingClassifier(n_estimators=20, random_state=0), "tree", True, {}),
    "tree-reg": (
        RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0),
        "tree",
        False,
        {},
    ),  # fmt: skip
    "linear-clf": (LogisticRegression(), "linear", True, {}),
    "kernel-clf": (LogisticRegression(), "kernel", True, {"n_samples": 32, "background": 4}),
    "permutation-reg": (
        KNeighborsRegressor(),
        "permutation",
        False,
        {"n_samples": 48, "background": 5},
    ),  # fmt: skip
    "exact-reg": (Ridge(), "exact", False, {"background": 4}),
    "mimic-clf": (LogisticRegression(), "mimic", True, {"surrogate": "decision_tree"}),
}


def _fit(name, **params):
    est, explainer, clf, extra = CASES[name]
    X, y_clf, y_reg = _data()
    params = {"random_state": 0, "progress": False, **extra, **params}
    ep = ExplainablePipeline(_pre(), est, explainer, **params)
    return ep.fit(X, y_clf if clf else y_reg), X


def _assert_same(a, b):
    assert_array_equal(a.values, b.values)
    assert_array_equal(a.expected_values, b.expected_values)
    if a.predictions is None:
        assert b.predictions is None
    else:  # the model's own output: BLAS may block a product differently per chunk size
        np.testing.assert_allclose(a.predictions, b.predictions, rtol=1e-13, atol=1e-13)
    assert a.features == b.features and a.classes == b.classes and a.output == b.output
    assert a.meta == b.meta


@pytest.mark.parametrize("name", list(CASES))
def test_chunked_equals_unchunked_exactly(name):
    ep, X = _fit(name, batch_size=10**7)
    whole = ep.explain_local(X)
    ep.set_params(batch_size=50)  # 8 chunks (tree/linear/mimic) or 4 blocks of 128 (Shapley)
    chunked = ep.explain_local(X)
    _assert_same(whole, chunked)
    assert chunked.data is X
    if chunked.predictions is not None:
        assert chunked.check_additivity() < 1e-6


def test_chunks_are_bounded_and_block_aligned(monkeypatch):
    ep, X = _fit("kernel-clf", batch_size=200)
    assert chunk_rows(ep, X) == 256  # rounded up to whole 128-row blocks of the Shapley engine
    seen = []
    original = _batch.explain_block

    def spy(ep, rows, *args, **kwargs):
        seen.append(len(rows))
        return original(ep, rows, *args, **kwargs)

    monkeypatch.setattr(_batch, "explain_block", spy)
    ep.explain_local(X)
    assert seen == [256, 144]
    ep_tree, _ = _fit("tree-clf", batch_size=64)
    seen.clear()
    ep_tree.explain_local(X)
    assert max(seen) == 64 and sum(seen) == len(X)


def test_unseeded_sampling_is_shared_across_chunks():
    """random_state=None draws ONE seed per call, shared by every chunk (not one per chunk)."""
    ep, X = _fit("kernel-clf", batch_size=10**7)
    ep.set_params(random_state=np.random.RandomState(3))
    whole = ep.explain_local(X)
    ep.set_params(random_state=np.random.RandomState(3), batch_size=1)
    _assert_same(whole, ep.explain_local(X))


def test_auto_batch_size_bounds():
    ep, X = _fit("tree-clf")
    assert ep.batch_size == "auto"
    rows = chunk_rows(ep, X)
    assert 1024 <= rows <= 262_144
    ep_k, _ = _fit("kernel-clf")
    assert chunk_rows(ep_k, X) % 128 == 0


def test_batch_size_is_validated():
    X, y, _ = _data(50)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        ExplainablePipeline(_pre(), LogisticRegression(), batch_size=0).fit(X, y)


def test_n_jobs_chunks_equal_sequential():
    ep, X = _fit("tree-clf", batch_size=200)
    sequential = ep.explain_local(X)
    ep.set_params(n_jobs=2)
    _assert_same(sequential, ep.explain_local(X))


def test_progress_bar_counts_rows(capsys):
    ep, X = _fit("linear-clf", batch_size=100, progress=True)
    ep.explain_local(X)
    err = capsys.readouterr().err
    assert "explain (linear)" in err and "400/400" in err


def test_engineered_space_chunked():
    ep, X = _fit("tree-clf", batch_size=10**7)
    whole = ep.explain_local(X, space="engineered")
    ep.set_params(batch_size=70)
    chunked = ep.explain_local(X, space="engineered")
    _assert_same(whole, chunked)
    pd.testing.assert_frame_equal(whole.data, chunked.data)


@pytest.mark.parametrize("name", ["tree-clf", "kernel-clf", "exact-reg"])
def test_parquet_output_readable_and_equal(tmp_path, name):
    pq = pytest.importorskip("pyarrow.parquet")
    ep, X = _fit(name, batch_size=128)
    path = tmp_path / "attributions.parquet"
    assert ep.explain_local_to_parquet(X, path) == path
    assert pq.ParquetFile(path).metadata.num_row_groups == 4  # streamed, chunk by chunk
    got = pd.read_parquet(path)
    local = ep.explain_local(X)
    values_cols, ev_cols = attribution_columns(local.features, local.classes)
    assert list(got.columns) == values_cols + ev_cols
    pd.testing.assert_index_equal(got.index, X.index)
    if local.classes is None:
        assert_array_equal(got[values_cols].to_numpy(), local.values)
        assert_array_equal(got["expected_value"].to_numpy(), np.full(len(X), local.expected_values))
    else:
        for k, c in enumerate(local.classes):
            cols = [f"{f}__{c}" for f in local.features]
            assert_array_equal(got[cols].to_numpy(), local.values[k])
            assert_array_equal(got[f"expected_value__{c}"].to_numpy(), local.expected_values[k])


def test_parquet_numpy_input_gets_positional_index(tmp_path):
    pytest.importorskip("pyarrow")
    X, _, y = _data(300)
    Xn = X[NUM].to_numpy()
    ep = ExplainablePipeline(StandardScaler(), Ridge(), batch_size=128).fit(Xn, y)
    got = pd.read_parquet(ep.explain_local_to_parquet(Xn, tmp_path / "a.parquet"))
    assert list(got.index) == list(range(300))
    assert_array_equal(got[[f"x{i}" for i in range(6)]].to_numpy(), ep.explain_local(Xn).values)


def test_partition_with_bad_row_names_partition_and_column():
    ep, X = _fit("tree-clf")
    bad = X.iloc[:20].astype({"c": object})
    bad.iloc[7, bad.columns.get_loc("c")] = "oops"
    with pytest.raises(PartitionExplanationError, match=r"partition 3.*'r0'.*'r19'.*'c'.*oops"):
        explain_partition(ep, bad, partition=3)


def test_partition_frame_matches_local_and_empty_partition():
    ep, X = _fit("tree-clf")
    frame = explain_partition(ep, X.iloc[:30])
    local = ep.explain_local(X.iloc[:30])
    assert_array_equal(frame["a__1"].to_numpy(), local.values[1][:, 0])
    assert list(frame.index) == list(X.index[:30])
    empty = explain_partition(ep, X.iloc[:0])
    assert list(empty.columns) == list(frame.columns) and len(empty) == 0


def test_attribution_column_names_that_collide_are_refused():
    """Features ["a", "a__x"] with classes ["x__y", "y"] both made "a__x__y": pyarrow's
    "Duplicate column names" after the first chunk, and a Dask frame with two such columns."""
    from explainable_pipeline._batch import attribution_columns

    with pytest.raises(ValueError, match=r"give the same name twice \(\['a__x__y'\]\)"):
        attribution_columns(["a", "a__x", "b"], ["x__y", "y"])
    with pytest.raises(ValueError, match="same name twice"):
        attribution_columns(["expected_value__p"], ["p__q", "q"])
    values, expected = attribution_columns(["a", "b"], ["x", "y"])
    assert values == ["a__x", "b__x", "a__y", "b__y"]
    assert expected == ["expected_value__x", "expected_value__y"]


def test_partition_error_names_the_nan_that_reaches_the_model():
    """NaN in an imputed column is not the cause of a model error: the hint names only the
    column whose NaN passes through the preprocessor, or one the preprocessor makes
    non-finite; when the preprocessor itself fails, every column with NaN is named."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    X, y = _data(200)[:2]
    X = X[["a", "b", "c"]].copy()
    X["c"] = X["c"].abs() + 1
    log = FunctionTransformer(np.log, feature_names_out="one-to-one")
    pre = ColumnTransformer([("imp", SimpleImputer(), ["a"]), ("raw", "passthrough", ["b"]),
                             ("log", log, ["c"])])
    ep = ExplainablePipeline(pre, LogisticRegression(), explainer="exact", background=5,
                             random_state=0).fit(X, y)
    bad = X.iloc[:6].copy()
    bad.iloc[1, 0] = np.nan  # imputed: not the cause
    bad.iloc[2, 1] = np.nan  # passed through: the cause
    with pytest.raises(PartitionExplanationError) as err:
        explain_partition(ep, bad, partition=0)
    msg = str(err.value)
    assert "column 'b' is missing at index 'r2' and stays non-finite after the preprocessor " \
           "('raw__b')" in msg
    assert "'a'" not in msg.split("[", 1)[1]
    bad = X.iloc[:6].copy()
    bad.iloc[3, 2] = -1.0  # log of a negative: NaN made by the preprocessor
    with pytest.raises(PartitionExplanationError,
                       match=r"column 'c' becomes non-finite in the preprocessor \('log__c'\)"):
        explain_partition(ep, bad, partition=0)
    bad = X.iloc[:6].astype({"b": object})
    bad.iloc[1, 0] = np.nan
    bad.iloc[4, 1] = "text"  # the preprocessor's output is not numeric: no diagnosis of it
    with pytest.raises(PartitionExplanationError, match=r"column 'a' is missing at index 'r1'"):
        explain_partition(ep, bad, partition=0)


def test_partition_diagnosis_on_integer_labels_and_a_bounded_sample(monkeypatch):
    """Columns labelled 0, 1, 2 (no ``feature_names_in_``) are named by their labels; the
    diagnosis transforms the rows with missing values plus the first ones, not the whole
    partition (a 300k-row one took 2.3 GB)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = _data(3000)[:2]
    X = X[["a", "b", "c"]].set_axis([0, 1, 2], axis=1)
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer="exact",
                             background=5, random_state=0).fit(X, y)
    bad = X.copy()
    bad.iloc[[3, 2900], 1] = np.nan
    seen = []
    transform = ep._transform
    monkeypatch.setattr(ep, "_transform", lambda Z, **kw: seen.append(len(Z)) or transform(Z))
    with pytest.raises(PartitionExplanationError,
                       match=r"\[column 1 is missing at index 'r3' and stays non-finite after the "
                             r"preprocessor \('x1'\)\]"):
        explain_partition(ep, bad, partition=0)
    assert seen[-1] == _batch._DIAGNOSE_ROWS + 1  # the first rows and row 2900
