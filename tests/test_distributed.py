"""Dask: lazy attributions and global aggregation on a real 2-process LocalCluster."""

from __future__ import annotations

import logging
import pickle
import time

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
from explainable_pipeline import distributed as epd  # noqa: E402

NUM = ["a", "b", "c", "d", "e", "f"]
CAT = ["city", "plan"]
N_ROWS = 384  # three 128-row partitions


def _data(n=N_ROWS, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(NUM))), columns=NUM)
    X["city"] = rng.choice(["paris", "rome", "oslo"], n)
    X["plan"] = rng.choice(["x", "y"], n)
    score = X["a"] - 2 * X["b"] + X["c"] * X["d"] + (X["city"] == "oslo")
    X.index = pd.RangeIndex(1000, 1000 + n, name="row_id")
    return X, (score > 0).astype(int).to_numpy(), score.to_numpy()


def _pre():
    return ColumnTransformer(
        [("num", StandardScaler(), NUM), ("cat", OneHotEncoder(handle_unknown="ignore"), CAT)],
        sparse_threshold=0.0,
    )


CASES = {
    "tree-clf": (GradientBoostingClassifier(n_estimators=20, random_state=0), "tree", True),
    "tree-reg": (
        RandomForestRegressor(n_estimators=30, max_depth=5, random_state=0),
        "tree",
        False,
    ),
    "kernel-clf": (LogisticRegression(), "kernel", True),
    "kernel-reg": (Ridge(), "kernel", False),
}


def _fit(name):
    est, explainer, clf = CASES[name]
    X, y_clf, y_reg = _data()
    params = {"n_samples": 32, "background": 4} if explainer == "kernel" else {}
    ep = ExplainablePipeline(_pre(), est, explainer, random_state=0, progress=False, **params)
    return ep.fit(X, y_clf if clf else y_reg), X


@pytest.fixture(scope="module")
def client():
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": epd.worker_environ()}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
            death_timeout=60,
        ) as cluster,
        distributed.Client(cluster, timeout=60) as c,
    ):
        c.wait_for_workers(2, timeout=60)
        yield c


def _ddf(X, chunksize=128):
    ddf = dd.from_pandas(X, chunksize=chunksize)
    return ddf


@pytest.mark.parametrize("name", list(CASES))
def test_dask_local_equals_in_process(client, name):
    ep, X = _fit(name)
    ddf = _ddf(X)
    assert ddf.map_partitions(len).compute().tolist() == [128, 128, 128]
    lazy = epd.explain_local(ep, ddf)
    assert isinstance(lazy, dd.DataFrame) and lazy.npartitions == 3
    got = lazy.compute()
    local = ep.explain_local(X)
    pd.testing.assert_index_equal(got.index, X.index)
    assert (got.dtypes == np.float64).all()
    if local.classes is None:
        assert list(got.columns) == [*local.features, "expected_value"]
        assert_array_equal(got[local.features].to_numpy(), local.values)
        assert_array_equal(got["expected_value"].to_numpy(), np.full(len(X), local.expected_values))
    else:
        for k, c in enumerate(local.classes):
            assert_array_equal(
                got[[f"{f}__{c}" for f in local.features]].to_numpy(), local.values[k]
            )
            assert (got[f"expected_value__{c}"] == local.expected_values[k]).all()
    assert list(lazy.columns) == list(got.columns)  # meta was right


def test_tree_equal_for_any_partitioning(client):
    ep, X = _fit("tree-clf")
    got = epd.explain_local(ep, dd.from_pandas(X, npartitions=5)).compute()
    assert_array_equal(
        got[[f"{f}__1" for f in NUM + CAT]].to_numpy(), ep.explain_local(X).values[1]
    )


@pytest.mark.parametrize("name", ["tree-clf", "kernel-reg"])
def test_dask_global_equals_in_process(client, name):
    ep, X = _fit(name)
    glob = epd.explain_global(ep, _ddf(X))
    ref = ep.explain_global(X)
    assert glob.features == ref.features and glob.classes == ref.classes
    assert glob.n_rows == len(X) and glob.output == ref.output and glob.method == ref.method
    assert_allclose(glob.values, ref.values, rtol=1e-12)
    assert_allclose(glob.expected_values, ref.expected_values, rtol=1e-12)
    if ref.per_class_values is not None:
        assert_allclose(glob.per_class_values, ref.per_class_values, rtol=1e-12)
    # every row explained, on both paths: no sampling interval
    assert glob.intervals is None and ref.intervals is None
    assert glob.local is None  # no rows were collected


def test_dask_global_of_a_row_sample_has_the_in_process_interval(client):
    from explainable_pipeline._attribution import importance_interval

    ep, X = _fit("tree-clf")
    ddf = _ddf(X)
    glob = epd.explain_global(ep, ddf, max_rows=300, random_state=0)
    rows = ddf.sample(frac=300 / len(X), random_state=0).compute()  # the rows it explained
    assert glob.n_rows == len(rows) and abs(len(rows) - 300) <= ddf.npartitions
    local = ep.explain_local(rows)
    assert_allclose(glob.values, local.global_importance_values, rtol=1e-10)
    assert_allclose(glob.intervals, importance_interval(local.values, len(X)), rtol=1e-7,
                    atol=1e-12)  # fmt: skip
    assert np.all(glob.intervals[0] < glob.values) and np.all(glob.values < glob.intervals[1])
    # max_rows at least the row count: every row, no interval (as in one process)
    assert epd.explain_global(ep, ddf, max_rows=len(X)).intervals is None
    with pytest.raises(ValueError, match="max_rows"):
        epd.explain_global(ep, ddf, max_rows=1)


def test_pipeline_is_shipped_once_not_per_partition(client):
    ep, X = _fit("tree-reg")
    ep_bytes = len(pickle.dumps(ep))
    ddf = dd.from_pandas(X, npartitions=6)
    import cloudpickle

    def graph_bytes(collection):
        return len(cloudpickle.dumps(dict(collection.__dask_graph__())))

    # the module's cluster may have lost a worker to a missed heartbeat on a loaded machine
    # (the nanny restarts it): a broadcast reaches the workers running at that moment
    client.wait_for_workers(2, timeout=60)
    before = {str(k) for k in client.who_has()}
    lazy = epd.explain_local(ep, ddf)
    extra = graph_bytes(lazy) - graph_bytes(ddf)
    assert ep_bytes > 50_000
    assert extra < ep_bytes / 2  # the graph refers to the scattered pipeline by key
    new = {k: w for k, w in client.who_has().items() if str(k) not in before}
    shipped = {k: w for k, w in new.items() if "ExplainablePipeline" in str(k)}
    assert len(shipped) == 1  # one key for the pipeline...
    assert len(next(iter(shipped.values()))) == 2  # ...broadcast to both workers
    assert len(lazy.compute()) == len(X)


def _pipeline_keys(client):
    return [k for k in client.who_has() if "ExplainablePipeline" in str(k)]


def test_explain_global_releases_the_scattered_pipeline(client):
    ep, X = _fit("tree-reg")
    errors: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = errors.append
    log = logging.getLogger("distributed")  # distributed's loggers do not propagate
    log.addHandler(handler)
    try:
        with distributed.Client(client.cluster, timeout=60) as own:
            before = set(_pipeline_keys(own))
            glob = epd.explain_global(ep, _ddf(X), client=own)
            # the workers' copies of the pipeline are freed (not left to garbage collection);
            # the scheduler hears of it asynchronously
            deadline = time.monotonic() + 10
            while set(_pipeline_keys(own)) != before and time.monotonic() < deadline:
                time.sleep(0.1)
            assert set(_pipeline_keys(own)) == before
        time.sleep(1)  # closing the client right after reports nothing
    finally:
        log.removeHandler(handler)
    assert not errors, [r.getMessage() for r in errors]
    assert glob.n_rows == len(X)


def test_bad_row_names_partition_and_column(client):
    ep, X = _fit("tree-clf")
    bad = X.astype({"c": object})
    bad.loc[1000 + 300, "c"] = "not-a-number"  # in the third partition
    lazy = epd.explain_local(ep, _ddf(bad))
    with pytest.raises(epd.PartitionExplanationError, match=r"partition 2 .*'c'.*not-a-number"):
        lazy.compute()


def test_without_client_uses_local_scheduler():
    ep, X = _fit("tree-reg")
    got = epd.explain_local(ep, _ddf(X), client=False).compute(scheduler="synchronous")
    assert_array_equal(got[NUM + CAT].to_numpy(), ep.explain_local(X).values)


# ------------------------------------------------------------------ worker allocator
def test_workers_started_with_worker_environ_keep_the_adaptive_allocator(client):
    env = epd.worker_environ()
    assert epd.MALLOC_TRIM not in env and env  # the rest of Dask's environment stays
    assert set(client.run(epd._malloc_trim_threshold).values()) == {None}


def test_a_cluster_with_malloc_trim_set_gets_one_warning(monkeypatch):
    class FakeClient:
        class scheduler:
            address = "tcp://fake:1"

        def run(self, fn):
            return {"tcp://w1": "65536", "tcp://w2": "65536"}

    monkeypatch.setattr(epd, "_CHECKED_CLUSTERS", set())
    with pytest.warns(RuntimeWarning, match="2 Dask worker.*MALLOC_TRIM_THRESHOLD_=65536.*worker_environ"):
        epd._check_worker_allocator(FakeClient())
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        epd._check_worker_allocator(FakeClient())  # once per cluster
