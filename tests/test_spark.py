"""Spark: the per-partition function through ``mapInPandas`` on a local[2] session."""

from __future__ import annotations

import os
import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip(
        "Spark tests need Java (no `java` on PATH, JAVA_HOME unset).", allow_module_level=True
    )
pytest.importorskip("pyspark", reason="Spark tests need pyspark (the 'spark' extra).")
pytest.importorskip("pyarrow", reason="mapInPandas needs pyarrow.")

from explainable_pipeline import distributed as epd  # noqa: E402

NUM = ["a", "b", "c", "d"]
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark vs pandas >= 3


def _data(n=384, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(NUM))), columns=NUM)
    X["city"] = rng.choice(["paris", "rome", "oslo"], n)
    score = X["a"] - 2 * X["b"] + X["c"] * X["d"] + (X["city"] == "oslo")
    return X, (score > 0).astype(int).to_numpy(), score.to_numpy()


def _pre():
    return ColumnTransformer(
        [("num", StandardScaler(), NUM), ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])],
        sparse_threshold=0.0,
    )


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this venv
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("explainable-pipeline-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "2")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _with_id(X):
    return X.assign(row_id=np.arange(len(X), dtype=np.int64))


def test_spark_tree_equals_in_process(spark):
    X, y, _ = _data()
    ep = ExplainablePipeline(_pre(), GradientBoostingClassifier(n_estimators=15, random_state=0))
    ep.fit(X, y)
    sdf = spark.createDataFrame(_with_id(X))
    out = epd.spark_explain_local(ep, sdf, id_columns=["row_id"]).toPandas()
    out = out.sort_values("row_id").reset_index(drop=True)
    local = ep.explain_local(X)
    assert_array_equal(out["row_id"].to_numpy(), np.arange(len(X)))
    for k, c in enumerate(local.classes):
        assert_array_equal(out[[f"{f}__{c}" for f in local.features]].to_numpy(), local.values[k])
        assert (out[f"expected_value__{c}"] == local.expected_values[k]).all()


def test_spark_kernel_regression_equals_in_process(spark):
    X, _, y = _data()
    ep = ExplainablePipeline(_pre(), Ridge(), "kernel", n_samples=24, background=4, random_state=0)
    ep.fit(X, y)
    rows = X.iloc[:256]
    sdf = spark.createDataFrame(_with_id(rows)).coalesce(2)
    fn = epd.spark_explain_function(ep, id_columns=["row_id"])
    schema = epd.spark_schema(ep, id_columns=["row_id"], input_schema=sdf.schema)
    out = sdf.mapInPandas(fn, schema).toPandas().sort_values("row_id")
    sizes = sdf.rdd.glom().map(len).collect()
    local = ep.explain_local(rows)
    got = out[local.features].to_numpy()
    if all(s % 128 == 0 for s in sizes):  # aligned partitions: bit-identical
        assert_array_equal(got, local.values)
    else:  # other boundaries: same design, convergence checked on other blocks
        np.testing.assert_allclose(got, local.values, atol=0.05 * np.abs(local.values).max())
    assert np.allclose(got.sum(1) + out["expected_value"], ep.predict(rows))


def test_spark_schema_types():
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    X, _, y = _data(100)
    ep = ExplainablePipeline(_pre(), Ridge()).fit(X, y)
    schema = epd.spark_schema(
        ep, id_columns=["row_id"], input_schema=StructType([StructField("row_id", LongType())])
    )
    assert schema.names == ["row_id", *NUM, "city", "expected_value"]
    assert all(isinstance(f.dataType, DoubleType) for f in schema.fields[1:])
    with pytest.raises(ValueError, match="input_schema"):
        epd.spark_schema(ep, id_columns=["row_id"])


def test_spark_bad_row_names_partition_and_column(spark):
    X, _, y = _data(100)
    ep = ExplainablePipeline(_pre(), Ridge()).fit(X, y)
    bad = X.astype({"c": object})
    bad.loc[42, "c"] = "oops"
    sdf = spark.createDataFrame(bad.astype({"c": str}))
    with pytest.raises(Exception, match=r"(?s)PartitionExplanationError.*partition \d.*'c'.*oops"):
        epd.spark_explain_local(ep, sdf).toPandas()


def test_spark_error_names_rows_within_the_partition(spark):
    """A bad row in a later Arrow batch: the error gives the batch's positions within the
    partition and its id range (each batch's index restarted at 0 before)."""
    X, _, y = _data(100)
    ep = ExplainablePipeline(_pre(), Ridge()).fit(X, y)
    bad = _with_id(X).astype({"c": object})
    bad.loc[42, "c"] = "oops"
    sdf = spark.createDataFrame(bad.astype({"c": str})).coalesce(1)
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    old = spark.conf.get(key)
    spark.conf.set(key, "16")
    try:
        with pytest.raises(Exception) as err:
            epd.spark_explain_local(ep, sdf, id_columns=["row_id"]).toPandas()
    finally:
        spark.conf.set(key, old)
    msg = str(err.value)
    assert "PartitionExplanationError" in msg
    assert "Arrow batch 2, row_id from 32 to 47" in msg
    assert "index 32 to 47, 16 rows" in msg
    assert "at row 10 (index 42)" in msg


def test_spark_function_leaves_its_input_frames_alone():
    X, _, y = _data(40)
    ep = ExplainablePipeline(_pre(), Ridge()).fit(X, y)
    frames = [X.iloc[:16].set_axis([f"r{i}" for i in range(16)]), X.iloc[16:]]
    before = [list(f.index) for f in frames]
    out = list(epd.spark_explain_function(ep)(iter(frames)))
    assert [list(f.index) for f in frames] == before
    assert [list(o.index) for o in out] == [list(range(16)), list(range(16, 40))]
