"""Background summaries for interventional Shapley values.

Shapley values of the interventional kind depend on the background distribution: a coalition
keeps the explained row's values for its columns and takes the other columns from background
rows. This module builds a small weighted background from training data.

The rule (documented and tested):

* at most ``n`` rows in ``X`` -> the rows themselves, equal weights;
* every column numeric (bool, int, float) and no NaN -> weighted k-means
  (:class:`sklearn.cluster.KMeans`, ``n`` clusters, weights = cluster sizes / n_rows). Each
  centre coordinate is snapped to the nearest value observed in that column, as
  ``shap.kmeans(X, n)`` does with its default ``round_values=True``: integer and binary columns keep
  valid values and the background stays on the data's support;
* otherwise (strings, categoricals, NaN) -> a random sample of ``n`` distinct rows without
  replacement, equal weights. k-means has no meaning for categories and cannot place NaN, so we
  keep real rows: each keeps its exact dtype and category.

Explicit background rows and weights passed to :func:`shapley_values` are used as they are; a
user reproduces a ``shap.KernelExplainer`` run exactly by passing ``shap.kmeans(X, k).data`` and
``.weights``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

__all__ = ["summarize_background"]


def _is_all_numeric_without_nan(X) -> bool:
    if isinstance(X, pd.DataFrame):
        for dtype in X.dtypes:
            if isinstance(dtype, pd.CategoricalDtype):
                return False
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                return False
        return not bool(X.isna().to_numpy().any())
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        return False
    return not bool(np.isnan(arr.astype(float, copy=False)).any())


def summarize_background(X, n: int = 100, *, random_state=None):
    """Summarise ``X`` into at most ``n`` weighted background rows.

    Parameters
    ----------
    X : pandas.DataFrame or numpy.ndarray of shape (n_rows, n_columns)
        Raw training data (numeric, strings, categoricals and NaN are all accepted).
    n : int, default=100
        Number of background rows to keep.
    random_state : int, RandomState instance or None, default=None
        Seed of k-means or of the random sample.

    Returns
    -------
    rows : same container type as ``X``
        The background rows. A DataFrame keeps ``X``'s column names, order and dtypes.
    weights : numpy.ndarray of shape (n_background,)
        Non-negative weights summing to one.

    Notes
    -----
    All-numeric data without NaN: weighted k-means with centres snapped to observed values per
    column (the ``shap.kmeans`` convention). Mixed data or NaN: a uniform random sample of rows
    with equal weights.

    Examples
    --------
    >>> import numpy as np
    >>> rows, weights = summarize_background(np.arange(20.0).reshape(10, 2), n=3, random_state=0)
    >>> rows.shape, round(float(weights.sum()), 6)
    ((3, 2), 1.0)
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"`n` must be a positive integer; got {n!r}.")
    is_frame = isinstance(X, pd.DataFrame)
    if not is_frame:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D (n_rows, n_columns); got shape {X.shape}.")
    n_rows = X.shape[0]
    if n_rows == 0:
        raise ValueError("`X` has no rows: cannot summarise an empty background.")
    if n_rows <= n:
        return X, np.full(n_rows, 1.0 / n_rows)

    if _is_all_numeric_without_nan(X):
        values = X.to_numpy(dtype=float) if is_frame else X.astype(float)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        km = KMeans(n_clusters=n, n_init=10, random_state=seed).fit(values)
        centres = km.cluster_centers_.copy()
        for j in range(values.shape[1]):
            col = np.unique(values[:, j])  # sorted
            pos = np.clip(np.searchsorted(col, centres[:, j]), 1, max(len(col) - 1, 1))
            left = col[pos - 1]
            right = col[np.minimum(pos, len(col) - 1)]
            centres[:, j] = np.where(
                np.abs(centres[:, j] - left) <= np.abs(right - centres[:, j]), left, right
            )
        counts = np.bincount(km.labels_, minlength=n).astype(float)
        keep = counts > 0
        weights = counts[keep] / counts.sum()
        centres = centres[keep]
        if is_frame:
            rows = pd.DataFrame(centres, columns=X.columns)
            rows = rows.astype(dict(zip(X.columns, X.dtypes, strict=False)))
        else:
            rows = centres.astype(X.dtype) if X.dtype.kind in "biu" else centres
        return rows, weights

    rng = check_random_state(random_state)
    idx = np.sort(rng.choice(n_rows, size=n, replace=False))
    rows = X.iloc[idx].reset_index(drop=True) if is_frame else X[idx]
    return rows, np.full(n, 1.0 / n)
