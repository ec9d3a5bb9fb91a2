"""Raw rows of a pipeline being fitted or explained: the background summary, row selection,
column checks (the helpers of :mod:`._pipeline` that need no estimator state of their own)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from ._sklearn_compat import safe_indexing
from .explainers import RAW_SPACE_METHODS
from .explainers._background import summarize_background

#: Rows the background summary is computed from (bounds its cost at fit).
_SUMMARY_SUBSAMPLE = 5000
#: Background rows of background="auto" for the model-agnostic explainers (each costs model calls).
_AUTO_BACKGROUND_RAW = 20
_WEIGHTS_NEED_ROWS = (
    "background_weights needs explicit background rows; with background={!r} the summary "
    "and its weights are computed at fit."
)


def fit_background(ep, X) -> tuple:
    """``(background_, background_weights_)`` of the pipeline ``ep`` being fitted on ``X``:
    a small summary of the training rows, or the explicit rows given (validated).
    """
    if _is_size(ep.background):
        if ep.background_weights is not None:
            raise ValueError(_WEIGHTS_NEED_ROWS.format(ep.background))
        size = background_size(ep.background, ep.explainer_)
        n = _num_samples(X)
        rng = check_random_state(ep.random_state)
        if ep.explainer_ in RAW_SPACE_METHODS:
            # k-means summary (numeric data) or a sample (mixed data), computed on a
            # bounded subsample so that fitting stays cheap inside a grid search
            sub = np.sort(rng.choice(n, size=min(n, _SUMMARY_SUBSAMPLE), replace=False))
            rows, weights = summarize_background(_take_rows(X, sub), size, random_state=rng)
            weights = np.asarray(weights, dtype=float)
        else:
            idx = np.sort(rng.choice(n, size=min(size, n), replace=False))
            rows = _take_rows(X, idx)
            weights = np.full(len(idx), 1.0 / len(idx))
    else:
        rows = as_pandas(ep.background)
        if isinstance(rows, pd.DataFrame):
            # X's own labels: its names, or (non-string labels, e.g. read_csv(header=None))
            # its columns as they are
            columns = list(X.columns if isinstance(X, pd.DataFrame) else ep._raw_feature_names())
            missing = [c for c in columns if c not in rows.columns]
            if missing:
                raise ValueError(
                    f"The background rows lack raw columns {missing}; they need the "
                    "same columns as X."
                )
            rows = rows[columns].reset_index(drop=True)
        else:
            rows = np.asarray(rows)
            if rows.ndim != 2 or rows.shape[1] != ep.n_features_in_:
                raise ValueError(
                    f"The background rows have shape {rows.shape}; expected "
                    f"(n_rows, {ep.n_features_in_}) like X."
                )
            if isinstance(X, pd.DataFrame):  # e.g. shap.kmeans(X, 10).data for a frame
                rows = _frame_like(rows, X)
        n_bg = _num_samples(rows)
        if ep.background_weights is None:
            weights = np.full(n_bg, 1.0 / n_bg)
        else:
            weights = np.asarray(ep.background_weights, dtype=np.float64).ravel()
            if weights.shape[0] != n_bg or np.any(weights < 0) or weights.sum() <= 0:
                raise ValueError(
                    f"background_weights must be {n_bg} non-negative numbers (one per "
                    f"background row) with a positive sum; got shape {weights.shape}."
                )
            weights = weights / weights.sum()
    return _without_arrow(rows), weights  # pickles without pyarrow (see there)


def _frame_like(rows: np.ndarray, X: pd.DataFrame) -> pd.DataFrame:
    """Array background rows as a frame with ``X``'s columns and dtypes: a preprocessor that
    selects columns by name (a ``ColumnTransformer``) needs a frame, and every explainer then
    sees the background as it sees ``X``."""
    frame = pd.DataFrame(rows, columns=X.columns)
    for col, dtype in X.dtypes.items():
        values = frame[col]
        if isinstance(dtype, pd.CategoricalDtype):  # a category unknown to X's column
            unknown = values.notna() & ~values.isin(dtype.categories)
            if unknown.any():
                raise ValueError(
                    f"Background column {col!r} holds {values[unknown].iloc[0]!r}, which X's "
                    f"column ({dtype}) cannot hold. Pass the background as a DataFrame with "
                    "X's columns."
                )
        try:
            frame[col] = values.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Background column {col!r} cannot hold the values of X's column ({dtype}): "
                f"{exc}. Pass the background as a DataFrame with X's columns."
            ) from exc
    return frame


def background_size(background, explainer: str) -> int:
    """Rows of the background summary for ``background`` (an int or "auto")."""
    if not isinstance(background, str):
        return int(background)
    return _AUTO_BACKGROUND_RAW if explainer in RAW_SPACE_METHODS else 100


def check_numeric_columns(feature_dtypes: dict, X: pd.DataFrame) -> None:
    """Refuse non-numeric values in columns that were numeric at fit (``feature_dtypes_``)."""
    for col, fit_dtype in feature_dtypes.items():
        if col not in X.columns:
            continue
        series = X[col]
        if not _is_numeric_dtype_name(fit_dtype) or pd.api.types.is_numeric_dtype(series):
            continue
        coerced = pd.to_numeric(series, errors="coerce")
        bad = coerced.isna() & series.notna()
        if bad.any():
            where = bad.to_numpy().nonzero()[0][0]
            label = series.index[where]
            at = f"row {where}" + ("" if label == where else f" (index {label!r})")
            raise ValueError(
                f"Column {col!r} was numeric ({fit_dtype}) at fit but holds non-numeric "
                f"values now, e.g. {series.iloc[where]!r} at {at}. Convert it with "
                "pd.to_numeric or fix the input."
            )


def _take_rows(X, idx):
    """Rows ``idx`` of ``X`` as a DataFrame with a fresh index, or a dense ndarray."""
    rows = safe_indexing(X, idx)
    if isinstance(rows, pd.DataFrame):
        return rows.reset_index(drop=True)
    return rows.toarray() if sp.issparse(rows) else np.asarray(rows)


def as_pandas(X):
    """A polars DataFrame (or a pyarrow Table) as a pandas one, names and dtypes kept;
    anything else as it is. scikit-learn takes polars frames; the explainers take rows
    of pandas frames (and keep them as explanations' data)."""
    module = type(X).__module__
    if (module.startswith("polars.") or module.startswith("pyarrow.")) and hasattr(
            X, "to_pandas") and getattr(X, "ndim", 2) == 2 and hasattr(X, "columns"):
        return X.to_pandas()
    return X


def _row_indexable(X):
    """``X`` in a container whose rows can be taken (CSR for sparse, ndarray for array-likes)."""
    if sp.issparse(X):
        return X.tocsr()
    if isinstance(X, (pd.DataFrame, np.ndarray)):
        return X
    return np.asarray(X)


def _without_arrow(rows):
    """``rows`` with numpy- or Python-backed columns and column names instead of Arrow ones.

    pandas 3 stores strings in pyarrow arrays when pyarrow is installed (and ``ArrowDtype``
    columns are Arrow-backed anywhere); pickled, they need pyarrow to load. The background
    rows are kept in the fitted pipeline, so a model saved where pyarrow is installed would
    not load where it is not. Strings keep their dtype (``"str"``/``"string"``) with Python
    storage; other Arrow columns take their numpy dtype (object when they hold missing values).
    """
    if not isinstance(rows, pd.DataFrame):
        return rows
    casts = {}
    for col, dtype in rows.dtypes.items():
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            na = dtype.na_value
            casts[col] = pd.StringDtype("python") if na is pd.NA else pd.StringDtype("python", na)
        elif isinstance(dtype, pd.ArrowDtype):
            numpy_dtype = dtype.numpy_dtype
            casts[col] = object if rows[col].isna().any() else numpy_dtype
    out = rows.astype(casts) if casts else rows.copy(deep=False)
    out.columns = pd.Index(list(out.columns), dtype=object)
    return out


def _is_size(background) -> bool:
    """Whether ``background`` asks for a summary (an int or "auto") rather than giving rows."""
    return isinstance(background, numbers.Integral) or (
        isinstance(background, str) and background == "auto"
    )


def _is_numeric_dtype_name(name: str) -> bool:
    return name.startswith(("int", "uint", "float", "Int", "UInt", "Float"))


def _check_two_classes(y) -> None:
    """A classifier needs two classes: with one, its probabilities and log-odds disagree and
    explanations are meaningless (LogisticRegression refuses it the same way)."""
    y = np.asarray(y, dtype=object) if not hasattr(y, "ndim") else y
    if getattr(y, "ndim", 1) != 1:
        return
    classes = pd.unique(pd.Series(np.asarray(y, dtype=object)))
    if len(classes) < 2:
        raise ValueError(
            f"y holds only one class ({classes[0]!r} in all {len(y)} rows); a classifier "
            "needs samples of at least 2 classes in the data. Check the target column or the "
            "sampling that produced it."
        )


def check_raw_rows(ep, X, *, reset: bool, caller: str) -> None:
    """Validate raw rows for ``ep``: two dimensions, at least one row, the names or count of
    columns seen at fit (``reset=False``) and the numeric columns' dtypes."""
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        ndim = np.asarray(X, dtype=object).ndim if not isinstance(X, (str, bytes)) else 0
    if ndim != 2:
        raise ValueError(
            f"Expected a DataFrame or 2-D array of raw rows, got {type(X).__name__} with "
            f"{ndim} dimension(s). Reshape your data either using array.reshape(-1, 1) "
            "if it has a single feature or array.reshape(1, -1) if it is a single row."
        )
    if _num_samples(X) == 0:
        raise ValueError(f"X has 0 rows; {caller} needs at least one row.")
    validate_data(ep, X, reset=reset, skip_check_array=True)
    if not reset and isinstance(X, pd.DataFrame) and ep.feature_dtypes_:
        check_numeric_columns(ep.feature_dtypes_, X)


def check_explain_ready(ep) -> None:
    """``ep`` is fitted and its parameters are still valid: values given to ``set_params``
    after ``fit`` are validated by the next explanation, with the estimator's own message
    (which parameter, what it accepts); once, not on every call (0.17 ms, 5% of a one-row
    linear explanation)."""
    check_is_fitted(ep)
    if getattr(ep, "_params_changed", False):
        ep._validate_params()
        ep._params_changed = False


def check_local_request(ep, X, space: str, *, caller: str) -> None:
    """Validate a request for local attributions from ``ep``: fitted, ``space``, an explainer
    with local attributions in that space, and the rows."""
    check_explain_ready(ep)
    if space not in ("raw", "engineered"):
        raise ValueError(f"space must be 'raw' or 'engineered', got {space!r}.")
    method = ep.explainer_
    if method == "pfi":
        raise ValueError(
            "Permutation feature importance (explainer='pfi') is global only; use "
            "explain_global(X, y), or another explainer for local attributions."
        )
    if method in RAW_SPACE_METHODS and space == "engineered":
        raise ValueError(
            f"explainer={method!r} attributes raw columns through the whole pipeline; "
            "space='engineered' needs explainer='tree', 'linear' or 'mimic'."
        )
    check_raw_rows(ep, X, reset=False, caller=caller)
