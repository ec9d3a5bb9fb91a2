"""A fast path for transforming a few rows through common fitted preprocessors.

scikit-learn's ``ColumnTransformer.transform`` spends about 7 ms on a one-row DataFrame
(validation, pandas indexing, joblib dispatch), more than a LightGBM prediction and its
TreeSHAP values together. Scoring services and live dashboards explain one row at a time,
so :func:`compile_transform` turns a fitted preprocessor built only from well-known
column-wise transformers into a plain numpy function of the rows:

* ``ColumnTransformer`` (``"drop"``, ``"passthrough"``, a remainder) and ``Pipeline``;
  identity ``FunctionTransformer`` (how a passthrough remainder is stored);
* ``SimpleImputer`` (no ``add_indicator``), ``StandardScaler``, ``MinMaxScaler``,
  ``MaxAbsScaler``, ``RobustScaler``;
* ``OneHotEncoder`` and ``OrdinalEncoder`` without infrequent categories.

Anything else (a custom transformer, pandas output, ``FunctionTransformer``...) makes the
compiler return None, and the preprocessor's own ``transform`` is used. A compiled function
is only kept if it reproduces ``transform`` exactly (same dtype, shape, sparsity and values,
NaN included) on probe rows: the background rows plus, per column, a missing value, +-inf and
an unseen category. At call time any input the fast path is unsure of (column dtypes other than
those checked, an unknown category under ``handle_unknown="error"``, a value that does not
convert, +-inf where scikit-learn validates numbers) raises :class:`Fallback`, and the caller uses ``transform``, which then reports the real
error if there is one.
"""

from __future__ import annotations

import numbers
import threading
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._sklearn_compat import column_transformer_input_indices

__all__ = ["FAST_TRANSFORM_MAX_ROWS", "Fallback", "compile_transform", "compiled_transform"]

#: Inputs up to this many rows take the compiled path (measured faster up to ~16k rows;
#: beyond, the object-array conversion costs about what it saves).
FAST_TRANSFORM_MAX_ROWS = 4096


class Fallback(Exception):
    """Raised by a compiled transform when the real ``transform`` must handle the rows."""


class _Unsupported(Exception):
    """A transformer the compiler does not know."""


# ------------------------------------------------------------------------ steps
def _missing_mask(A: np.ndarray) -> np.ndarray:
    """scikit-learn's mask of ``np.nan`` values (``_get_mask``): NaN only, not None."""
    if A.dtype.kind == "f":
        return np.isnan(A)
    if A.dtype.kind in "iub":
        return np.zeros(A.shape, dtype=bool)
    return A != A


def _as_float(A: np.ndarray) -> np.ndarray:
    try:
        A = np.array(A, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Fallback(str(exc)) from exc
    if np.isinf(A).any():  # scikit-learn's validation rejects +-inf here (or, with
        raise Fallback("infinite value")  # assume_finite, passes it): let it decide
    return A


def _refuse_inf(A: np.ndarray) -> None:
    """Fallback on +-inf (numeric or inside an object block): encoders and imputers validate
    numeric input and reject it, so ``transform`` decides what happens."""
    if A.dtype.kind == "f":
        if np.isinf(A).any():
            raise Fallback("infinite value")
    elif A.dtype.kind == "O":
        for v in A.ravel().tolist():
            if isinstance(v, float) and v in (np.inf, -np.inf):
                raise Fallback("infinite value")


def _imputer(step) -> Callable:
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and missing != missing):
        raise _Unsupported("SimpleImputer with add_indicator or missing_values other than NaN")
    stats = np.asarray(step.statistics_)
    if stats.dtype.kind == "f" and np.isnan(stats).any():
        raise _Unsupported("SimpleImputer with empty features")
    if stats.dtype.kind == "O" and any(s is None or s != s for s in stats):
        raise _Unsupported("SimpleImputer with empty features")

    # the fitted dtype: numbers (a constant fill_value is kept as an object array) or objects
    numeric = stats.dtype.kind in "fiu" or all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in stats.tolist()
    )
    if numeric:
        stats = stats.astype(np.float64)

    def impute(A):
        _refuse_inf(A)
        A = _as_float(A) if numeric else np.array(A, dtype=object)
        mask = _missing_mask(A)
        if mask.any():
            A[mask] = np.broadcast_to(stats, A.shape)[mask]
        return A

    return impute


def _affine(subtract, divide, multiply=None, add=None, clip=None) -> Callable:
    def scale(A):
        A = _as_float(A)
        if subtract is not None:
            A -= subtract
        if multiply is not None:
            A *= multiply
        if add is not None:
            A += add
        if divide is not None:
            A /= divide
        if clip is not None:
            np.clip(A, clip[0], clip[1], out=A)
        return A

    return scale


def _scaler(step) -> Callable:
    name = type(step).__name__
    if name == "StandardScaler":
        return _affine(step.mean_ if step.with_mean else None, step.scale_ if step.with_std else None)
    if name == "RobustScaler":
        return _affine(
            step.center_ if step.with_centering else None,
            step.scale_ if step.with_scaling else None,
        )
    if name == "MaxAbsScaler":
        return _affine(None, step.scale_)
    if name == "MinMaxScaler":
        return _affine(None, None, step.scale_, step.min_, step.feature_range if step.clip else None)
    raise _Unsupported(name)


def _category_index(categories) -> tuple[dict, int | None]:
    """``{category: position}`` and the position of a NaN category (None if absent)."""
    lookup, nan_at = {}, None
    for i, c in enumerate(categories.tolist()):
        if isinstance(c, float) and c != c:
            nan_at = i
        else:
            lookup[c] = i
    return lookup, nan_at


def _codes(A: np.ndarray, indexes) -> np.ndarray:
    """Category positions of each value (-1 when unknown), column by column."""
    codes = np.empty(A.shape, dtype=np.intp)
    for j, (lookup, nan_at) in enumerate(indexes):
        column = A[:, j].tolist()
        for i, v in enumerate(column):
            if v != v:  # NaN (float or numpy)
                codes[i, j] = -1 if nan_at is None else nan_at
            else:
                try:
                    codes[i, j] = lookup.get(v, -1)
                except TypeError:  # unhashable value
                    raise Fallback(f"unhashable value {v!r}") from None
    return codes


def _check_encoder(step) -> None:
    if getattr(step, "_infrequent_enabled", False):
        raise _Unsupported(f"{type(step).__name__} with infrequent categories")


def _onehot(step) -> Callable:
    _check_encoder(step)
    if step.handle_unknown not in ("ignore", "error", "infrequent_if_exist"):
        raise _Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    indexes = [_category_index(c) for c in step.categories_]
    drop = step.drop_idx_
    offsets, keep = [], []
    start = 0
    for j, cats in enumerate(step.categories_):
        width = len(cats)
        dropped = None if drop is None else drop[j]
        offsets.append(start)
        keep.append(np.array([i for i in range(width) if dropped is None or i != dropped]))
        start += width
    total = start
    columns = np.concatenate([offsets[j] + keep[j] for j in range(len(keep))])
    ignore = step.handle_unknown != "error"
    # with drop, scikit-learn warns about unknown categories: let it (via Fallback)
    silent = ignore and drop is None
    dtype = step.dtype

    def encode(A):
        _refuse_inf(A)
        codes = _codes(np.asarray(A, dtype=object), indexes)
        if not silent and (codes < 0).any():
            raise Fallback("unknown category")
        full = np.zeros((A.shape[0], total), dtype=dtype)
        rows = np.arange(A.shape[0])
        for j in range(codes.shape[1]):
            known = codes[:, j] >= 0
            full[rows[known], offsets[j] + codes[known, j]] = 1
        return full[:, columns]

    return encode


def _ordinal(step) -> Callable:
    _check_encoder(step)
    indexes = [_category_index(c) for c in step.categories_]
    unknown_value = step.unknown_value if step.handle_unknown == "use_encoded_value" else None
    missing_value = step.encoded_missing_value
    dtype = step.dtype
    has_nan = [nan_at is not None for _, nan_at in indexes]

    def encode(A):
        _refuse_inf(A)
        A = np.asarray(A, dtype=object)
        codes = _codes(A, indexes)
        out = codes.astype(dtype)
        for j in range(codes.shape[1]):
            missing = A[:, j] != A[:, j]
            if has_nan[j] and missing.any():
                out[missing, j] = missing_value
            unknown = (codes[:, j] < 0) & ~missing
            if unknown.any():
                if unknown_value is None:
                    raise Fallback("unknown category")
                out[unknown, j] = unknown_value
        return out

    return encode


_STEPS = {
    "SimpleImputer": _imputer,
    "StandardScaler": _scaler,
    "RobustScaler": _scaler,
    "MaxAbsScaler": _scaler,
    "MinMaxScaler": _scaler,
    "OneHotEncoder": _onehot,
    "OrdinalEncoder": _ordinal,
}


def _identity(A: np.ndarray) -> np.ndarray:
    """Columns passed through: numbers as float64 (as a numeric DataFrame block would be)."""
    if A.dtype.kind != "O":
        return A
    try:
        return A.astype(np.float64)
    except (TypeError, ValueError):
        return A


def _compile_step(step) -> Callable:
    """A numpy function of a 2-D block equal to ``step.transform`` (or _Unsupported)."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return _identity
    name = type(step).__name__
    module = type(step).__module__
    if (
        name == "FunctionTransformer"
        and module.startswith("sklearn.")
        and step.func is None
        and not step.validate
    ):
        return _identity  # how ColumnTransformer stores remainder="passthrough"
    if name == "Pipeline" and module.startswith("sklearn."):
        funcs = [_compile_step(s) for _, s in step.steps]

        def chain(A):
            for f in funcs:
                A = f(A)
            return A

        return chain
    if name in _STEPS and module.startswith("sklearn."):
        return _STEPS[name](step)
    raise _Unsupported(name)


def _compile_column_transformer(ct) -> Callable:
    indices = column_transformer_input_indices(ct)
    if indices is None:
        raise _Unsupported("ColumnTransformer without input indices")
    parts = []
    for name, trans, _ in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        cols = np.asarray(indices[name], dtype=np.intp)
        if cols.size == 0:
            continue
        parts.append((cols, _compile_step(trans)))
    if not parts:
        raise _Unsupported("ColumnTransformer with no output")
    sparse_out = bool(getattr(ct, "sparse_output_", False))

    def transform(A):
        blocks = [f(A[:, cols]) for cols, f in parts]
        out = np.hstack(blocks)
        return sp.csr_matrix(out) if sparse_out else out

    return transform


def _raw_block(X) -> np.ndarray:
    """Rows as one 2-D numpy array (object for mixed pandas dtypes)."""
    if isinstance(X, pd.DataFrame):
        kinds = {dt.kind for dt in X.dtypes if isinstance(dt, np.dtype)}
        if len(kinds) == 1 and X.shape[1] == sum(isinstance(dt, np.dtype) for dt in X.dtypes):
            return X.to_numpy()
        return X.to_numpy(dtype=object)
    if sp.issparse(X):
        raise Fallback("sparse input")
    return np.asarray(X)


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (sp.issparse(a) and sp.issparse(b)):
        return False
    if sp.issparse(a):
        a, b = a.toarray(), b.toarray()
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(all(x == y or (x != x and y != y) for x, y in zip(a.ravel(), b.ravel())))


def _edge_rows(rows: pd.DataFrame) -> pd.DataFrame | None:
    """Copies of the first row with, per column, a NaN, a None or an unseen category put in
    (keeping each column's dtype; values a column cannot hold are left out), as one frame."""
    first = rows.iloc[0]
    plan = []  # (column, value) per edge row
    for col in rows.columns:
        dtype = rows[col].dtype
        if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype):
            continue  # NumPy integers cannot hold a missing value
        # a categorical dtype cannot hold an unseen category; numbers need none but +-inf
        plain = pd.api.types.is_numeric_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
        numeric = pd.api.types.is_float_dtype(dtype)
        extra = (np.inf, -np.inf) if numeric else () if plain else ("__unseen_category__",)
        for value in (np.nan, None, *extra):
            plan.append((col, value))
    if not plan:
        return None
    columns = {}
    for col in rows.columns:
        values = [first[col]] * len(plan)
        changed = [i for i, (c, _) in enumerate(plan) if c == col]
        for i in changed:
            values[i] = plan[i][1]
        try:
            columns[col] = pd.Series(values, dtype=rows[col].dtype)
        except (TypeError, ValueError):  # the column cannot hold one of them: keep the row's
            columns[col] = pd.Series([first[col]] * len(plan), dtype=rows[col].dtype)
    return pd.DataFrame(columns)


def _agree_on_edges(preprocessor, fast, edges: pd.DataFrame) -> bool:
    """Whether ``fast`` is exact on every edge row it accepts (refusing one is always safe:
    the real transform then runs)."""
    try:
        fast(edges)
        accepted = np.arange(len(edges))
    except Fallback:
        accepted = []
        for i in range(len(edges)):
            try:
                fast(edges.iloc[[i]])
                accepted.append(i)
            except Fallback:
                continue
            except Exception:  # noqa: BLE001 - a compiler gap: do not use the fast path
                return False
        accepted = np.asarray(accepted, dtype=np.intp)
    except Exception:  # noqa: BLE001
        return False
    if len(accepted) == 0:
        return True
    return _agree(preprocessor, fast, edges.iloc[accepted])


def _agree(preprocessor, fast, probe) -> bool:
    """Whether ``fast`` reproduces ``preprocessor.transform`` on ``probe`` (errors included)."""
    try:
        with warnings.catch_warnings():  # probes, not the user's rows: no "unknown categories"
            warnings.simplefilter("ignore")
            expected = preprocessor.transform(probe)
    except Exception:  # noqa: BLE001 - the fast path must then refuse too
        try:
            fast(probe)
        except Exception:  # noqa: BLE001
            return True
        return False
    try:
        got = fast(probe)
    except Exception:  # noqa: BLE001 - refusing rows the real transform takes is a gap too
        return False
    return _same(got, expected)


def compile_transform(preprocessor, rows) -> Callable | None:
    """A fast ``preprocessor.transform`` for few rows, or None when it cannot be exact.

    Parameters
    ----------
    preprocessor : fitted transformer
        A ``ColumnTransformer`` or ``Pipeline`` of the transformers listed in this
        module's docstring.
    rows : DataFrame or ndarray
        Raw rows the preprocessor accepts (e.g. the background sample), used with
        per-column missing and unseen values to check the compiled function.

    Returns
    -------
    callable or None
        ``f(X)`` equal to ``preprocessor.transform(X)``; it raises :class:`Fallback`
        for inputs it leaves to ``transform``.
    """
    name = type(preprocessor).__name__
    try:
        if name == "ColumnTransformer" and type(preprocessor).__module__.startswith("sklearn."):
            inner = _compile_column_transformer(preprocessor)
        else:
            inner = _compile_step(preprocessor)
    except _Unsupported:
        return None

    frame = rows if isinstance(rows, pd.DataFrame) else None
    dtypes = None if frame is None else list(frame.dtypes)
    # numpy rows: scikit-learn keeps float32 (say) where the compiled code computes in float64
    array_dtype = None if frame is not None else np.asarray(rows).dtype

    def fast(X):
        if dtypes is not None and (not isinstance(X, pd.DataFrame) or list(X.dtypes) != dtypes):
            raise Fallback("columns differ in type from the rows the transform was checked on")
        block = _raw_block(X)
        if array_dtype is not None and block.dtype != array_dtype:
            raise Fallback("rows differ in dtype from the rows the transform was checked on")
        return inner(block)

    if frame is None and hasattr(preprocessor, "feature_names_in_"):
        return None  # fitted on a DataFrame but no frame to probe with
    probes = [rows, rows[:1]] if frame is None else [frame, frame.iloc[:1]]
    if not all(_agree(preprocessor, fast, probe) for probe in probes):
        return None
    edges = None if frame is None else _edge_rows(frame)
    if edges is not None and not _agree_on_edges(preprocessor, fast, edges):
        return None
    return fast


# One compiled function per fitted preprocessor object, kept outside the estimator (so
# ``predict`` leaves the estimator's ``__dict__`` unchanged and pickles carry nothing) and
# dropped with the preprocessor; a refit clones a new preprocessor, so nothing goes stale.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_NOT_COMPILABLE = object()


def compiled_transform(preprocessor, rows: Callable) -> Callable | None:
    """:func:`compile_transform` of ``preprocessor``, built once per fitted object.

    ``rows`` is called (once) for the probe rows when the function is first needed.
    """
    try:
        found = _COMPILED.get(preprocessor)
    except TypeError:  # not weak-referenceable or unhashable
        return None
    if found is None:
        with _LOCK:
            found = _COMPILED.get(preprocessor)
            if found is None:
                found = compile_transform(preprocessor, rows()) or _NOT_COMPILABLE
                _COMPILED[preprocessor] = found
    return None if found is _NOT_COMPILABLE else found
