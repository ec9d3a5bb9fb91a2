"""Explain data beyond one process: Dask DataFrames and Spark ``mapInPandas``.

Every function takes a fitted :class:`~explainable_pipeline.ExplainablePipeline` and explains
each partition with the same per-partition function (:func:`explain_partition`), so a row gets
the same attributions as with ``ep.explain_local`` in one process:

* tree, linear and surrogate attributions are per row, equal for any partitioning;
* the sampling explainers (``"kernel"``, ``"permutation"``) share one coalition design, seeded
  by ``random_state`` (drawn once per call when it is not an int), and decide convergence per
  block of 128 rows counted from the start of a partition. Partitions whose lengths are
  multiples of 128 (``dd.from_pandas(df, chunksize=128 * k)``, Spark
  ``spark.sql.execution.arrow.maxRecordsPerBatch = 128 * k``) give bit-identical results to
  one process; other boundaries may change a row's values within the sampling tolerance.

Attribution frames have one float64 column per raw feature (``"<feature>"``) or per class and
feature (``"<feature>__<class>"``), then ``"expected_value"`` (``"expected_value__<class>"``).

Dask needs the ``distributed`` extra (``pip install -e ".[distributed]"`` in a checkout: dask and
pyarrow); Spark the ``spark`` extra (pyspark, which warns that
it does not yet fully support pandas >= 3: use pandas < 3 on the cluster if a feature you need
misbehaves).

Worker memory allocator
-----------------------
Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``). Setting that variable turns off glibc's adaptive
mmap threshold, so every temporary array above 128 KiB is mapped and zeroed afresh; the
explainers allocate many such arrays (hybrid rows, model outputs) and ran about twice as slow
per row on those workers (``benchmarks/scale.py``). Start clusters with
:func:`worker_environ` (the same environment without that variable); :func:`explain_local`
warns once per cluster when its workers have it.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._attribution import sampling_interval
from ._batch import (
    PartitionExplanationError,
    attribution_columns,
    explain_partition,
    frame_layout,
    sampling_seed,
)
from ._explanation import GlobalExplanation
from ._optional import import_optional
from ._rows import check_explain_ready

__all__ = [
    "PartitionExplanationError",
    "attribution_columns",
    "explain_global",
    "explain_local",
    "explain_partition",
    "spark_explain_function",
    "spark_explain_local",
    "spark_schema",
    "worker_environ",
]

#: Set by Dask's nanny on workers; slows the explainers down (see the module docstring).
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
_CHECKED_CLUSTERS: set = set()

def _import_dask():
    return import_optional(
        "dask", "dask.dataframe", extra="distributed", what="explainable_pipeline.distributed"
    )


def _check_space(space: str) -> None:
    if space not in ("raw", "engineered"):
        raise ValueError(f"space must be 'raw' or 'engineered', got {space!r}.")


def worker_environ() -> dict:
    """Dask's pre-spawn worker environment without ``MALLOC_TRIM_THRESHOLD_``.

    Use it when starting a cluster so that workers keep glibc's adaptive allocator
    (explanations run about twice as fast per row on such workers). Workers also inherit this
    process's environment, which a Nanny started here earlier has written the variable into:
    it warns when the variable is set here.

    Returns
    -------
    dict
        ``distributed.nanny.pre-spawn-environ`` (e.g. ``OMP_NUM_THREADS=1``) minus
        ``MALLOC_TRIM_THRESHOLD_``.

    Examples
    --------
    >>> import dask  # doctest: +SKIP
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> env = {"distributed.nanny.pre-spawn-environ": worker_environ()}  # doctest: +SKIP
    >>> with dask.config.set(env):  # doctest: +SKIP
    ...     cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    """
    dask, _ = _import_dask()
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    env.pop(MALLOC_TRIM, None)
    if MALLOC_TRIM in os.environ:
        warnings.warn(
            f"This process has {MALLOC_TRIM} set (a Dask Nanny started here earlier writes "
            "its pre-spawn environment into os.environ), so new workers inherit it anyway; "
            f"remove it first: os.environ.pop({MALLOC_TRIM!r}).",
            RuntimeWarning,
            stacklevel=2,
        )
    return env


def _malloc_trim_threshold():
    """Run on a worker: its ``MALLOC_TRIM_THRESHOLD_`` (None when unset)."""
    return os.environ.get(MALLOC_TRIM)


def _check_worker_allocator(client) -> None:
    """Warn once per cluster when its workers run with ``MALLOC_TRIM_THRESHOLD_`` set."""
    key = getattr(getattr(client, "scheduler", None), "address", None) or id(client)
    if key in _CHECKED_CLUSTERS:
        return
    _CHECKED_CLUSTERS.add(key)
    try:
        found = client.run(_malloc_trim_threshold)
    except Exception:  # noqa: BLE001 - a hint only; never fail the explanation over it
        return
    slow = sorted(str(w) for w, value in found.items() if value is not None)
    if slow:
        warnings.warn(
            f"{len(slow)} Dask worker(s) run with {MALLOC_TRIM}={found[slow[0]]} (Dask's "
            "default pre-spawn environment), which turns off glibc's adaptive allocator; "
            "explanations ran about twice as slow per row on such workers. Start the cluster "
            "inside dask.config.set({'distributed.nanny.pre-spawn-environ': "
            "explainable_pipeline.distributed.worker_environ()}) (see docs/scale.md).",
            RuntimeWarning,
            stacklevel=4,
        )


def _shipped(ep, client):
    """``ep`` as a graph dependency computed once per worker, not embedded per partition."""
    return _scatter(ep, client)[0]


def _scatter(ep, client):
    """``(delayed pipeline, its future or None, the client or None)``.

    With a distributed client (given, or the default one) the pipeline is scattered to every
    worker (``broadcast=True``) and wrapped in a Delayed; otherwise it is one Delayed key.
    The future lives as long as the graph refers to it; :func:`explain_global`, which
    computes at once, releases it when done (see :func:`_release`).
    """
    dask, _ = _import_dask()
    if client is False:
        return dask.delayed(ep, traverse=False), None, None
    if client is None:
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            client = None
    if client is None:
        return dask.delayed(ep, traverse=False), None, None
    _check_worker_allocator(client)
    future = client.scatter(ep, broadcast=True, hash=False)
    return dask.delayed(_identity, pure=False)(future), future, client


def _release(future, client) -> None:
    """Free the workers' copies of a scattered pipeline now, and wait for it.

    Left to garbage collection, the release of the last reference can reach a client that
    the caller has closed meanwhile (``client.close()`` right after ``explain_global``),
    which distributed reports as an error.
    """
    if future is None:
        return
    try:
        client.cancel([future])
    except Exception:  # noqa: BLE001 - cleanup only; the explanation is already computed
        pass
    future.release()


def _identity(obj):
    return obj


def _partition_frame(df, ep, space, random_state, partition_info=None):
    number = None if partition_info is None else partition_info.get("number")
    return explain_partition(ep, df, space=space, random_state=random_state, partition=number)


def _meta(ep, ddf, space: str) -> tuple[pd.DataFrame, list, list | None, str]:
    features, classes, output = frame_layout(ep, space)
    value_cols, ev_cols = attribution_columns(features, classes)
    columns = value_cols + ev_cols
    meta = pd.DataFrame(
        {c: pd.Series([], dtype=np.float64) for c in columns}, index=ddf._meta.index[:0]
    )
    return meta, features, classes, output


def explain_local(ep, ddf, *, space: str = "raw", client=None):
    """Lazy raw (or engineered) attributions of every row of a Dask DataFrame.

    Parameters
    ----------
    ep : fitted ExplainablePipeline
    ddf : dask.dataframe.DataFrame
        Raw rows, with the columns ``ep`` was fitted on (others are ignored).
    space : {"raw", "engineered"}, default="raw"
    client : distributed.Client, None or False, default=None
        Client to scatter the pipeline to every worker with; None uses the default client
        if there is one; False never scatters (the pipeline is then one Delayed key).

    Returns
    -------
    dask.dataframe.DataFrame
        One float64 column per feature (and class) plus the expected value, with the index
        and partitions of ``ddf``. Nothing is computed until you ask (``.compute()``,
        ``.to_parquet(...)``).

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> attributions = explain_local(ep, dd.read_parquet("rows/"))  # doctest: +SKIP
    >>> attributions.to_parquet("attributions/")  # doctest: +SKIP
    """
    check_explain_ready(ep)
    _check_space(space)
    meta = _meta(ep, ddf, space)[0]
    return ddf.map_partitions(
        _partition_frame,
        _shipped(ep, client),
        space,
        sampling_seed(ep),
        meta=meta,
        enforce_metadata=False,
        align_dataframes=False,
    )


def _moments(df, ep, space, random_state, n_classes, n_features, partition_info=None):
    """One row of sums over a partition: n, sum|a| per value column, row moments, expected."""
    frame = _partition_frame(df, ep, space, random_state, partition_info)
    values = frame.to_numpy()
    n_values = n_features * max(n_classes, 1)
    a = np.abs(values[:, :n_values])
    per_row = a.reshape(len(frame), max(n_classes, 1), n_features).mean(axis=1)
    sums = np.concatenate(
        [
            [len(frame)],
            a.sum(axis=0),
            per_row.sum(axis=0),
            (per_row**2).sum(axis=0),
            values[:, n_values:].sum(axis=0),
        ]
    )
    return pd.DataFrame(sums[None, :], columns=_moment_columns(n_classes, n_features))


def _moment_columns(n_classes: int, n_features: int) -> list[str]:
    n_values = n_features * max(n_classes, 1)
    return (
        ["n"]
        + [f"abs{i}" for i in range(n_values)]
        + [f"row{j}" for j in range(n_features)]
        + [f"sq{j}" for j in range(n_features)]
        + [f"ev{k}" for k in range(max(n_classes, 1))]
    )


def explain_global(
    ep, ddf, *, space: str = "raw", client=None, max_rows=None, random_state=None
) -> GlobalExplanation:
    """Global importance of a Dask DataFrame, aggregated across partitions without collecting rows.

    Each partition is explained and reduced on its worker to sums (row count, sum of
    ``|attribution|`` per class and feature, and the first two moments of the per-row
    importance); only those sums travel. The values equal ``ep.explain_global`` on the same
    rows in one process (up to the order of floating-point sums).

    Parameters
    ----------
    ep : fitted ExplainablePipeline
    ddf : dask.dataframe.DataFrame
    space : {"raw", "engineered"}, default="raw"
    client : distributed.Client, None or False, default=None
        As in :func:`explain_local`.
    max_rows : int, default=None
        Explain a random sample of about this many rows (the same fraction of every
        partition, ``ddf.sample``) instead of all of them, as ``ep.explain_global(X,
        max_rows=...)`` does in one process. Counting the rows costs one pass over the
        partitions.
    random_state : int, RandomState instance or None, default=None
        Seeds the row sample: an int gives ``ddf.sample(frac=max_rows / n, random_state=...)``.

    Returns
    -------
    GlobalExplanation
        Mean ``|attribution|`` per feature (over classes), ``per_class_values`` for
        classification, ``expected_values``, ``n_rows`` (the rows explained) and
        ``intervals``, defined as in one process: a 95% sampling interval of each mean (the
        per-row importance, ``|attribution|`` averaged over classes, with the
        finite-population correction) when rows were sampled, None when every row was
        explained. No local part is kept.
    """
    check_explain_ready(ep)
    _check_space(space)
    n_total = None
    if max_rows is not None:
        if not isinstance(max_rows, numbers.Integral) or max_rows < 2:
            raise ValueError(f"max_rows must be an integer >= 2 or None, got {max_rows!r}.")
        n_total = int(ddf.shape[0].compute())
        if n_total > max_rows:
            seed = random_state if isinstance(random_state, numbers.Integral) else (
                check_random_state(random_state).randint(np.iinfo(np.int32).max))  # fmt: skip
            ddf = ddf.sample(frac=max_rows / n_total, random_state=int(seed))
        else:
            n_total = None  # every row is explained: no sampling interval
    _, features, classes, output = _meta(ep, ddf, space)
    n_classes, n_features = (0 if classes is None else len(classes)), len(features)
    columns = _moment_columns(n_classes, n_features)
    meta = pd.DataFrame({c: pd.Series([], dtype=np.float64) for c in columns})
    shipped, future, used = _scatter(ep, client)
    parts = ddf.map_partitions(
        _moments,
        shipped,
        space,
        sampling_seed(ep),
        n_classes,
        n_features,
        meta=meta,
        enforce_metadata=False,
        align_dataframes=False,
    )
    try:
        totals = parts.sum().compute().to_numpy(dtype=np.float64)
    finally:
        del parts, shipped  # the graph's references to the scattered pipeline
        _release(future, used)
    n = totals[0]
    if n == 0:
        raise ValueError("The Dask DataFrame has no rows; explain_global needs at least one.")
    k = max(n_classes, 1)
    mean_abs = totals[1 : 1 + k * n_features].reshape(k, n_features) / n
    row_sum = totals[1 + k * n_features : 1 + (k + 1) * n_features]
    row_sq = totals[1 + (k + 1) * n_features : 1 + (k + 2) * n_features]
    expected = totals[1 + (k + 2) * n_features :] / n
    overall = mean_abs.mean(axis=0)
    intervals = None
    if n_total is not None:  # rows were sampled: the in-process definition, from moments
        mean_row = row_sum / n
        var = np.maximum(row_sq - n * mean_row**2, 0.0) / (n - 1) if n > 1 else 0.0 * row_sum
        intervals = sampling_interval(overall, np.sqrt(var), int(n), n_total)
    meta = {"engine": "dask", "npartitions": int(ddf.npartitions)}
    if intervals is not None:
        meta["interval"] = "95% sampling interval (normal, finite-population correction)"
    return GlobalExplanation(
        overall,
        features,
        classes=classes,
        per_class_values=mean_abs if classes is not None else None,
        method=ep.explainer_,
        space=space,
        output=output,
        expected_values=expected if classes is not None else float(expected[0]),
        intervals=intervals,
        n_rows=int(n),
        meta=meta,
    )


# ------------------------------------------------------------------------------- Spark
def spark_schema(ep, *, space: str = "raw", id_columns: Sequence = (), input_schema=None):
    """The output ``StructType`` of :func:`spark_explain_function` for ``mapInPandas``.

    Parameters
    ----------
    ep : fitted ExplainablePipeline
    space : {"raw", "engineered"}, default="raw"
    id_columns : sequence of str, default=()
        Input columns copied in front of the attributions (e.g. a row id to join back on).
    input_schema : pyspark.sql.types.StructType, default=None
        Schema of the input DataFrame; required when ``id_columns`` is not empty (their types
        are taken from it).

    Returns
    -------
    pyspark.sql.types.StructType
    """
    (types,) = import_optional("pyspark.sql.types", extra="spark", what="Spark support")
    DoubleType, StructField, StructType = types.DoubleType, types.StructField, types.StructType  # noqa: N806
    check_is_fitted(ep)
    _check_space(space)
    id_columns = list(id_columns)
    fields = []
    if id_columns:
        if input_schema is None:
            raise ValueError("spark_schema needs input_schema to type the id_columns.")
        by_name = {f.name: f for f in input_schema.fields}
        missing = [c for c in id_columns if c not in by_name]
        if missing:
            raise ValueError(f"id_columns {missing} are not columns of the input schema.")
        fields = [by_name[c] for c in id_columns]
    features, classes, _ = frame_layout(ep, space)
    value_cols, ev_cols = attribution_columns(features, classes)
    clash = [c for c in id_columns if c in value_cols + ev_cols]
    if clash:
        raise ValueError(f"id_columns {clash} clash with attribution column names; rename them.")
    fields += [StructField(c, DoubleType(), nullable=False) for c in value_cols + ev_cols]
    return StructType(fields)


def spark_explain_function(
    ep, *, space: str = "raw", id_columns: Sequence = (), random_state=None
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """A ``mapInPandas`` function: each Arrow batch -> its attributions (same rows, same order).

    Use with :func:`spark_schema`::

        fn = spark_explain_function(ep, id_columns=["id"])
        sdf.mapInPandas(fn, spark_schema(ep, id_columns=["id"], input_schema=sdf.schema))

    Spark pickles the function (and the fitted pipeline it holds) once per task. Errors name
    the Spark partition, the Arrow batch, the failing rows' positions within the partition
    and their ``id_columns`` values (:class:`PartitionExplanationError`).
    """
    check_explain_ready(ep)
    _check_space(space)
    seed = sampling_seed(ep) if random_state is None else random_state
    id_columns = list(id_columns)

    def explain_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        try:
            from pyspark import TaskContext

            ctx = TaskContext.get()
            partition = None if ctx is None else ctx.partitionId()
        except ImportError:  # pragma: no cover - outside Spark
            partition = None
        start = 0  # rows of this partition before the batch: errors give partition positions
        for k, pdf in enumerate(batches):
            pdf = pdf.set_axis(pd.RangeIndex(start, start + len(pdf)), axis=0)  # a copy
            start += len(pdf)
            label = f"{partition} (Arrow batch {k}"
            if id_columns and len(pdf):
                ids = pdf[id_columns].iloc[[0, -1]].itertuples(index=False, name=None)
                first, last = (t[0] if len(t) == 1 else t for t in ids)
                label += f", {', '.join(id_columns)} from {first!r} to {last!r}"
            frame = explain_partition(
                ep, pdf, space=space, random_state=seed, partition=label + ")"
            )
            if id_columns:
                frame = pd.concat([pdf[id_columns], frame], axis=1)
            yield frame

    return explain_batches


def spark_explain_local(ep, sdf, *, space: str = "raw", id_columns: Sequence = ()) -> Any:
    """Attributions of a Spark DataFrame: ``sdf.mapInPandas`` with the function and its schema.

    Parameters
    ----------
    ep : fitted ExplainablePipeline
    sdf : pyspark.sql.DataFrame
        Raw rows with the columns ``ep`` was fitted on.
    space : {"raw", "engineered"}, default="raw"
    id_columns : sequence of str, default=()
        Input columns kept in front of the attributions (Spark rows have no index).

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy, like every Spark transformation.
    """
    schema = spark_schema(ep, space=space, id_columns=id_columns, input_schema=sdf.schema)
    return sdf.mapInPandas(spark_explain_function(ep, space=space, id_columns=id_columns), schema)
