"""Explaining many rows: chunked streaming with bounded memory, progress, Parquet output.

:meth:`ExplainablePipeline.explain_local` validates its input and hands it to
:func:`explain_local_chunked`, which explains ``batch_size`` rows at a time (the parameter of
the pipeline) and concatenates the blocks. Results do not depend on the chunking:

* the sampling explainers (``"kernel"``, ``"permutation"``) draw one coalition design per call
  from ``random_state`` and decide convergence per block of
  :data:`~explainable_pipeline.explainers._shapley.DEFAULT_BATCH_SIZE` rows (128). Every chunk
  is therefore given the same integer seed (drawn once per call when ``random_state`` is not
  an int) and chunks are a multiple of that block, so each row meets the same design in the
  same block as without chunking;
* tree, linear and surrogate attributions are computed row by row.

:func:`write_parquet` streams the same blocks to a Parquet file and
:func:`explain_partition` turns one pandas partition into a frame of attributions (the function
that :mod:`explainable_pipeline.distributed` maps over Dask and Spark partitions). This module
imports no optional dependency at import time (pyarrow is imported by the Parquet writer).
"""

from __future__ import annotations

import logging
import numbers
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from ._attribution import Block, explain_block, output_method
from ._explanation import LocalExplanation
from ._fileio import atomic_path
from ._outputs import auto_output_note
from ._progress import tqdm
from .explainers import RAW_SPACE_METHODS
from .explainers._mimic import fidelity
from .explainers._shapley import DEFAULT_BATCH_SIZE

__all__ = [
    "Block",
    "EXPECTED_VALUE",
    "PartitionExplanationError",
    "attribution_columns",
    "block_frame",
    "chunk_rows",
    "explain_local_chunked",
    "explain_partition",
    "frame_layout",
    "iter_chunks",
    "sampling_seed",
    "write_parquet",
]

logger = logging.getLogger(__name__)

#: Name of the expected-value column(s) of attribution frames.
EXPECTED_VALUE = "expected_value"
#: Working memory a chunk of ``batch_size="auto"`` aims at.
AUTO_CHUNK_BYTES = 64 * 2**20
_AUTO_MIN_ROWS, _AUTO_MAX_ROWS = 1024, 262_144


class PartitionExplanationError(ValueError):
    """Explaining one partition (of a Dask or Spark DataFrame) failed.

    The message names the partition, its first and last index labels, and the cause; the
    original exception is chained as ``__cause__`` when it can be pickled back.
    """


# ------------------------------------------------------------------------------ chunks
def chunk_rows(ep, X) -> int:
    """Rows per chunk for ``ep.batch_size`` (resolving ``"auto"``), block-aligned when needed.

    ``"auto"`` aims at :data:`AUTO_CHUNK_BYTES` of float64 working arrays per chunk: the raw
    row, its engineered row and one attribution per engineered column and output (the largest
    intermediate of the tree explainers), clipped to [1024, 262144] rows.
    """
    size = ep.batch_size
    if isinstance(size, str):
        n_out = max(len(ep._class_list() or [None]), 1)
        n_raw = int(ep.n_features_in_)
        n_eng = len(ep.feature_map_.engineered_features)
        per_row = 8 * (n_raw + n_eng * (n_out + 1) + n_raw * n_out)
        size = int(np.clip(AUTO_CHUNK_BYTES // max(per_row, 1), _AUTO_MIN_ROWS, _AUTO_MAX_ROWS))
    size = int(size)
    if ep.explainer_ in RAW_SPACE_METHODS:  # whole convergence blocks of the Shapley engine
        size = -(-size // DEFAULT_BATCH_SIZE) * DEFAULT_BATCH_SIZE
    return size


def _rows(X):
    """``X`` in a container whose row ranges can be sliced."""
    if isinstance(X, pd.DataFrame) or sp.issparse(X) and X.format == "csr":
        return X
    if sp.issparse(X):
        return X.tocsr()
    return X if isinstance(X, np.ndarray) else np.asarray(X)


def iter_chunks(X, size: int) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, rows)`` for consecutive ranges of ``size`` rows of ``X``."""
    X = _rows(X)
    n = X.shape[0]
    for start in range(0, n, size):
        yield (
            start,
            X.iloc[start : start + size]
            if isinstance(X, pd.DataFrame)
            else X[start : start + size],
        )


def sampling_seed(ep):
    """The seed every chunk (or partition) shares: ``random_state`` if an int, else a fresh draw.

    Only the sampling explainers use it; for the others it is ``None``.
    """
    if ep.explainer_ not in ("kernel", "permutation"):
        return None
    if isinstance(ep.random_state, numbers.Integral):
        return int(ep.random_state)
    return int(check_random_state(ep.random_state).randint(np.iinfo(np.int32).max))


# ------------------------------------------------------------------------ assembling
def _concat_data(parts: list) -> Any:
    if any(p is None for p in parts):
        return None
    if isinstance(parts[0], pd.DataFrame):
        return pd.concat(parts)
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    return np.concatenate([np.asarray(p) for p in parts])


def _assemble(ep, blocks: list[Block], space: str, data) -> LocalExplanation:
    first = blocks[0]
    if len(blocks) == 1:
        values, predictions = first.values, first.predictions
    else:
        values = np.concatenate([b.values for b in blocks], axis=-2)
        predictions = None
        if first.predictions is not None:
            predictions = np.concatenate([b.predictions for b in blocks], axis=-1)
    meta = None
    if first.teacher is not None:  # fidelity over every explained row, not per chunk
        teacher = np.concatenate([b.teacher for b in blocks], axis=-1)
        surrogate = np.concatenate([b.surrogate for b in blocks], axis=-1)
        output = output_method(ep)[1]  # the model's output space, where both are compared
        meta = {"fidelity": fidelity(teacher, surrogate, ep._is_classifier(), output)}
    paths = list(dict.fromkeys(b.evaluation for b in blocks if b.evaluation is not None))
    if paths:  # raw-space methods: which exact evaluation path computed the coalition values
        meta = {"evaluation": "; ".join(paths)}
    if all(getattr(b, "standard_errors", None) is not None for b in blocks):  # sampling error
        meta = {**(meta or {}), "estimator": first.estimator,
                "standard_errors": np.concatenate([b.standard_errors for b in blocks], axis=-2)}
    note = auto_output_note(ep)
    if note is not None:  # model_output="auto" explained a margin (no predict_proba)
        meta = {**(meta or {}), "model_output": note}
    return LocalExplanation(
        values,
        first.expected,
        first.features,
        classes=ep._class_list(),
        method=ep.explainer_,
        space=space,
        output=first.output,
        data=data,
        predictions=predictions,
        groups=first.groups,
        meta=meta,
    )


def _explain_one(ep, rows, space, seed, progress, Xt=None, start=0):
    block = explain_block(ep, rows, space, random_state=seed, progress=progress, Xt=Xt)
    check_finite(block, rows, start)
    return block


def check_finite(block: Block, rows, start: int = 0) -> None:
    """Every output path (explain_local, Parquet, Dask, Spark) refuses NaN/inf attributions
    with this one error, naming the rows (index labels, or positions counted from ``start``)."""
    values = np.asarray(block.values, dtype=np.float64)
    finite = np.isfinite(values)
    finite = finite.all(axis=(0, 2)) if values.ndim == 3 else finite.all(axis=-1)
    expected = np.asarray(block.expected, dtype=np.float64)
    if finite.all() and np.isfinite(expected).all():
        return
    n = finite.size
    if finite.all():
        raise ValueError(
            f"The expected value of the explanation is NaN or infinite ({expected.tolist()}): "
            f"the model's output ({block.output}) on the background rows is not finite."
        )
    bad = np.flatnonzero(~finite)
    labels = rows.index[bad] if isinstance(rows, pd.DataFrame) else start + bad
    shown = [x.item() if isinstance(x, np.generic) else x for x in list(labels[:10])]
    more = f" and {bad.size - 10} more" if bad.size > 10 else ""
    raise ValueError(
        f"The attributions of {bad.size} of {n} rows (rows {start}..{start + n - 1} of the "
        f"input) are NaN or infinite, at row(s) {shown}{more}: the model's output "
        f"({block.output}) or the transformed values are not finite there. Nothing is written "
        "for such rows; check the model and the preprocessor on them."
    )


def _blocks(
    ep, X, space: str, *, seed, progress: bool, Xt=None
) -> Iterator[tuple[int, Any, Block]]:
    """Yield ``(start, rows, block)`` per chunk, in order, with an outer progress bar.

    ``Xt`` (optional) is ``X`` already transformed; it is chunked alongside ``X``.
    """
    size = chunk_rows(ep, X)
    n = X.shape[0] if hasattr(X, "shape") else len(X)
    if n <= size:  # one block: exactly the unchunked computation
        yield 0, X, _explain_one(ep, X, space, seed, None if progress else False, Xt)
        return
    engineered = iter_chunks(Xt, size) if Xt is not None else None
    chunks = (
        (start, rows, None if engineered is None else next(engineered)[1])
        for start, rows in iter_chunks(X, size)
    )
    bar = tqdm(total=n, disable=not progress, desc=f"explain ({ep.explainer_})", unit="row")
    n_jobs = ep.n_jobs
    try:
        if ep.explainer_ in RAW_SPACE_METHODS or n_jobs in (None, 1):
            # the Shapley engine parallelises over its own blocks inside each chunk
            for start, rows, rows_t in chunks:
                yield start, rows, _explain_one(ep, rows, space, seed, False, rows_t, start)
                bar.update(rows.shape[0])
        else:
            starts, parts = [], []

            def tasks():
                for start, rows, rows_t in chunks:
                    starts.append(start)
                    parts.append(rows)
                    yield delayed(_explain_one)(ep, rows, space, seed, False, rows_t, start)

            gen = Parallel(n_jobs=n_jobs, return_as="generator")(tasks())
            for k, block in enumerate(gen):
                rows = parts[k]
                parts[k] = None  # release the chunk once explained
                yield starts[k], rows, block
                bar.update(rows.shape[0])
    finally:
        bar.close()


def explain_local_chunked(ep, X, space: str, Xt=None) -> LocalExplanation:
    """:meth:`ExplainablePipeline.explain_local` on validated ``X``, ``batch_size`` rows at a time.

    ``Xt``, when given, is ``X`` already transformed by ``ep.preprocessor_`` (not re-done).
    """
    X = X if isinstance(X, pd.DataFrame) or sp.issparse(X) else _rows(X)
    n = X.shape[0]
    seed = sampling_seed(ep)
    blocks, data = [], []
    for _, _, block in _blocks(ep, X, space, seed=seed, progress=ep._show_progress(n), Xt=Xt):
        blocks.append(block)
        data.append(block.data)
    if space == "raw":
        full = X
    else:
        full = data[0] if len(data) == 1 else _concat_data(data)
    return _assemble(ep, blocks, space, full)


# ------------------------------------------------------------------------- frames
def attribution_columns(features: list, classes: list | None) -> tuple[list[str], list[str]]:
    """Column names of an attribution frame: (value columns, expected-value columns).

    One float column per feature (``"<feature>"``) for a single output, or per class and
    feature (``"<feature>__<class>"``), class-major; then ``"expected_value"`` (or one
    ``"expected_value__<class>"`` per class).
    """
    features = [str(f) for f in features]
    if EXPECTED_VALUE in features:
        raise ValueError(
            f"A feature is named {EXPECTED_VALUE!r}, the name of the expected-value column of "
            "attribution frames; rename that column before explaining."
        )
    if classes is None:
        return features, [EXPECTED_VALUE]
    labels = [str(c) for c in classes]
    values = [f"{f}__{c}" for c in labels for f in features]
    expected = [f"{EXPECTED_VALUE}__{c}" for c in labels]
    names = values + expected
    twice = [name for name, count in Counter(names).items() if count > 1]
    if twice:
        raise ValueError(
            f"Attribution columns are named '<feature>__<class>', and features {features} "
            f"with classes {labels} give the same name twice ({twice[:3]}); rename the "
            "features or classes so that no feature name ends with '__<class>'."
        )
    return values, expected


def block_frame(block: Block, classes: list | None, index) -> pd.DataFrame:
    """One block's attributions as a flat float64 frame (see :func:`attribution_columns`)."""
    values = np.asarray(block.values, dtype=np.float64)
    if values.ndim == 3 and classes is None:  # multi-output regression: outputs as classes
        classes = list(range(values.shape[0]))
    value_cols, ev_cols = attribution_columns(block.features, classes)
    n = values.shape[-2]
    if values.ndim == 3:
        flat = values.transpose(1, 0, 2).reshape(n, -1)
        expected = np.broadcast_to(np.asarray(block.expected, dtype=np.float64), (n, len(ev_cols)))
    else:
        flat = values
        expected = np.full((n, 1), float(block.expected))
    out = np.concatenate([flat, expected], axis=1)
    return pd.DataFrame(out, columns=value_cols + ev_cols, index=index)


def frame_layout(ep, space: str = "raw") -> tuple[list, list | None, str]:
    """``(features, classes, output)`` of ``ep``'s attribution frames, from one background row.

    ``classes`` are the class labels (or output positions for multi-output regression), None
    for a single output. Explaining one row is cheap and tells exactly what ``explain_local``
    produces (groups, engineered names, binary classes, the output explained).
    """
    row = (
        ep.background_[:1]
        if not isinstance(ep.background_, pd.DataFrame)
        else ep.background_.iloc[:1]
    )
    if hasattr(ep, "feature_names_in_") and not isinstance(row, pd.DataFrame):
        row = pd.DataFrame(row, columns=list(ep.feature_names_in_))
    block = explain_block(ep, row, space, random_state=0, progress=False)
    classes = ep._class_list()
    if classes is None and np.ndim(block.values) == 3:
        classes = list(range(block.values.shape[0]))
    return [str(f) for f in block.features], classes, block.output


def _index_of(rows, start: int) -> pd.Index:
    if isinstance(rows, pd.DataFrame):
        return rows.index
    return pd.RangeIndex(start, start + rows.shape[0])


def write_parquet(ep, X, path, *, space: str = "raw", **writer_kwargs):
    """Stream ``ep``'s attributions of validated ``X`` to a Parquet file, one chunk at a time.

    A file path is written atomically: the chunks go to a temporary file in the same folder
    that replaces ``path`` only once every chunk is written, so a failure (a bad row in the
    last chunk, a crash) leaves the previous file, or none. A file object is written as is.
    """
    from ._optional import import_optional

    import_optional("pyarrow", "pyarrow.parquet", extra="distributed",
                    what="explain_local_to_parquet")  # fmt: skip
    if not isinstance(path, (str, os.PathLike)):
        _write_parquet_chunks(ep, X, path, space, writer_kwargs)
        return path
    with atomic_path(path) as tmp:
        _write_parquet_chunks(ep, X, str(tmp), space, writer_kwargs)
    return path


def _write_parquet_chunks(ep, X, sink, space: str, writer_kwargs: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = X if isinstance(X, pd.DataFrame) or sp.issparse(X) else _rows(X)
    seed = sampling_seed(ep)
    classes = ep._class_list()
    writer = None
    try:
        for start, rows, block in _blocks(
            ep, X, space, seed=seed, progress=ep._show_progress(X.shape[0])
        ):
            index = _index_of(rows, start)
            if isinstance(index, pd.RangeIndex):  # stored as a column, not as chunk metadata
                index = pd.Index(np.asarray(index), name=index.name)
            table = pa.Table.from_pandas(block_frame(block, classes, index), preserve_index=True)
            if writer is None:
                writer = pq.ParquetWriter(sink, table.schema, **writer_kwargs)
            writer.write_table(table)
            logger.debug("explain_local_to_parquet: wrote rows %d..%d", start, start + len(index))
    finally:
        if writer is not None:
            writer.close()


# ------------------------------------------------------------------------ partitions
def _align_dtypes(ep, df: pd.DataFrame) -> pd.DataFrame:
    """Cast string columns back to their fit dtype (Dask and Arrow may change the string dtype)."""
    dtypes = getattr(ep, "feature_dtypes_", None) or {}
    casts = {}
    for col, fit in dtypes.items():
        if col in df.columns and str(df[col].dtype) != fit and fit in ("str", "object", "string"):
            casts[col] = fit
    return df.astype(casts) if casts else df


_DIAGNOSE_ROWS = 512
"""Rows with missing or infinite raw values, plus as many first rows, that the diagnosis of a
failed partition runs through the preprocessor (not the whole partition: its memory)."""


def _diagnose(ep, df: pd.DataFrame) -> str:
    """Raw columns whose missing or infinite values reach the model, the first cause of model
    errors on bad rows. A column the preprocessor imputes is not named (it is not the cause);
    a column that becomes non-finite in the preprocessor (a log of a negative, say) is. When
    the preprocessor itself fails, every raw column with such values is named."""
    first, bad_rows = {}, []
    for p, col in enumerate(df.columns):  # by position: labels may repeat
        values = df.iloc[:, p]
        bad = values.isna().to_numpy()
        kind = "missing"
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any() and not bad.any():
                bad, kind = infinite, "infinite"
        if bad.any():
            first[p] = f"column {col!r} is {kind} at index {df.index[bad.argmax()]!r}"
            bad_rows.append(np.flatnonzero(bad)[:_DIAGNOSE_ROWS])
    rows = np.unique(np.concatenate([np.arange(min(len(df), _DIAGNOSE_ROWS)), *bad_rows]))
    reaching = _non_finite_after_preprocessing(ep, df.iloc[rows])
    if reaching is None:
        return "; ".join(first.values())
    notes = []
    for p, engineered in sorted(reaching.items()):
        shown = ", ".join(map(repr, engineered[:3])) + (", ..." if len(engineered) > 3 else "")
        if p in first:
            notes.append(f"{first[p]} and stays non-finite after the preprocessor ({shown})")
        else:
            notes.append(f"column {df.columns[p]!r} becomes non-finite in the preprocessor "
                         f"({shown})")
    return "; ".join(notes)


def _non_finite_after_preprocessing(ep, df: pd.DataFrame) -> dict | None:
    """``{raw column position: its engineered columns holding NaN or +-inf}`` for ``df``, or
    None when that cannot be told (no feature map matching ``df``'s columns, the preprocessor
    fails, or its output is not numeric)."""
    fmap = getattr(ep, "feature_map_", None)
    if fmap is None or len(fmap.raw_features) != df.shape[1]:
        return None
    try:
        Xt = ep._transform(df)
        if sp.issparse(Xt):
            Xt = Xt.tocsc()
            finite = np.array([np.isfinite(Xt.data[Xt.indptr[j]:Xt.indptr[j + 1]]).all()
                               for j in range(Xt.shape[1])], dtype=bool)
        else:
            finite = np.isfinite(np.asarray(Xt, dtype=np.float64)).all(axis=0)
    except Exception:  # noqa: BLE001 - a diagnosis must not hide the original error
        return None
    if fmap.dependency.shape[0] != finite.size:
        return None
    out: dict = {}
    dep = fmap.dependency
    for j in np.flatnonzero(~finite):
        for i in dep.indices[dep.indptr[j]:dep.indptr[j + 1]]:
            out.setdefault(int(i), []).append(str(fmap.engineered_features[j]))
    return out


def explain_partition(
    ep, df: pd.DataFrame, *, space: str = "raw", random_state=None, partition=None
) -> pd.DataFrame:
    """Attributions of one pandas partition as a flat frame with the partition's index.

    Parameters
    ----------
    ep : fitted ExplainablePipeline
    df : DataFrame
        Raw rows (extra columns are ignored when the pipeline was fitted on a DataFrame).
    space : {"raw", "engineered"}, default="raw"
    random_state : int, default=None
        Seed of the sampling explainers, the same for every partition (see :func:`sampling_seed`).
    partition : int or str, default=None
        Partition number, used in error messages.

    Returns
    -------
    DataFrame
        Columns from :func:`attribution_columns`, float64, indexed like ``df``.

    Raises
    ------
    PartitionExplanationError
        Naming the partition, its index range, and the column at fault when it can tell.
    """
    if len(df) == 0:
        features, classes, _ = frame_layout(ep, space)
        value_cols, ev_cols = attribution_columns(features, classes)
        return pd.DataFrame(
            np.zeros((0, len(value_cols) + len(ev_cols))),
            columns=value_cols + ev_cols,
            index=df.index,
        )
    try:
        if hasattr(ep, "feature_names_in_"):
            df = _align_dtypes(ep, df[list(ep.feature_names_in_)])
        ep._check_X(df, reset=False, caller="explain_partition")
        seed = sampling_seed(ep) if random_state is None else random_state
        blocks = [b for _, _, b in _blocks(ep, df, space, seed=seed, progress=False)]
    except Exception as exc:
        where = f"partition {partition}" if partition is not None else "a partition"
        try:  # a diagnosis must never replace the error it explains
            hint = _diagnose(ep, df) if isinstance(df, pd.DataFrame) else ""
        except Exception:  # noqa: BLE001
            hint = ""
        msg = (
            f"Explaining {where} (index {df.index[0]!r} to {df.index[-1]!r}, {len(df)} rows) "
            f"failed: {type(exc).__name__}: {exc}" + (f" [{hint}]" if hint else "")
        )
        raise PartitionExplanationError(msg) from exc
    classes = ep._class_list()
    frames = []
    start = 0
    for b in blocks:
        n = b.values.shape[-2]
        frames.append(block_frame(b, classes, df.index[start : start + n]))
        start += n
    return frames[0] if len(frames) == 1 else pd.concat(frames)
