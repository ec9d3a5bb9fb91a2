"""Permutation feature importance (PFI) of raw columns, through the whole model.

A thin layer over :func:`sklearn.inspection.permutation_importance`: it is called on the
*whole* fitted model (preprocessing included) with the raw rows, so each raw column is
shuffled, the rows are preprocessed again and re-scored. No mapping from engineered
columns is needed, and a one-hot encoded column is permuted as one raw column.

The importance of a column is the mean decrease of the score over ``n_repeats``
shuffles (higher is more important; near zero or negative means the model does not need
the column), with its standard deviation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.inspection import permutation_importance
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state


def _scoring_name(scoring) -> str:
    if scoring is None:
        return "score"
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", None) or type(scoring).__name__


def permutation_scores(
    model,
    X,
    y,
    *,
    scoring=None,
    n_repeats: int = 5,
    random_state=None,
    n_jobs=None,
    sample_weight=None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Mean and standard deviation of the score decrease when each column is shuffled.

    Parameters
    ----------
    model : fitted estimator
        Takes the raw rows ``X`` (e.g. a whole pipeline).
    X : DataFrame or array-like of shape (n_rows, n_columns)
    y : array-like of shape (n_rows,)
        True targets. Required.
    scoring : str, callable or None, default=None
        A single scikit-learn scorer; ``None`` uses ``model.score``.
    n_repeats : int, default=5
    random_state : int, RandomState instance or None
    n_jobs : int, default=None
    sample_weight : array-like of shape (n_rows,), default=None

    Returns
    -------
    mean, std : ndarray of shape (n_columns,)
    output : str
        ``"decrease in <scoring>"``.
    """
    if y is None:
        raise ValueError(
            "Permutation feature importance (explainer='pfi') needs the true targets: call "
            "explain_global(X, y) (with the facade: explain_global(X, true_labels=y))."
        )
    if isinstance(scoring, (list, tuple, set, dict)):
        raise ValueError(
            f"scoring must be a single scorer (str, callable or None) for 'pfi'; got "
            f"{type(scoring).__name__}. Explain once per metric instead."
        )
    if sp.issparse(X):
        return (*_sparse_permutation_scores(model, X, y, scoring, n_repeats, random_state,
                                            sample_weight), f"decrease in {_scoring_name(scoring)}")
    result = permutation_importance(
        model,
        X,
        y,
        scoring=scoring,
        n_repeats=n_repeats,
        random_state=random_state,
        n_jobs=n_jobs,
        sample_weight=sample_weight,
    )
    mean = np.asarray(result.importances_mean, dtype=np.float64)
    std = np.asarray(result.importances_std, dtype=np.float64)
    return mean, std, f"decrease in {_scoring_name(scoring)}"


def _sparse_permutation_scores(model, X, y, scoring, n_repeats, random_state, sample_weight):
    """Permutation importance on a sparse matrix, kept sparse (sklearn's needs dense input).

    Each column of a CSC copy is shuffled by permuting its dense values (the other columns
    are shared), as :func:`sklearn.inspection.permutation_importance` does for dense data:
    importance = baseline score - score with the column shuffled, over ``n_repeats``.
    """
    scorer = check_scoring(model, scoring=scoring)
    rng = check_random_state(random_state)
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    Xc = sp.csc_matrix(X)
    n_rows, n_cols = Xc.shape
    baseline = scorer(model, Xc.tocsr(), y, **kwargs)
    drops = np.zeros((n_cols, n_repeats))
    for j in range(n_cols):
        column = Xc[:, j].toarray().ravel()
        if not column.any():  # an all-zero column: shuffling changes nothing
            continue
        left, right = Xc[:, :j], Xc[:, j + 1 :]
        for r in range(n_repeats):
            shuffled = sp.csc_matrix(column[rng.permutation(n_rows)][:, np.newaxis])
            permuted = sp.hstack([left, shuffled, right], format="csr")
            drops[j, r] = baseline - scorer(model, permuted, y, **kwargs)
    return drops.mean(axis=1), drops.std(axis=1)


def shared_permutation_scores(model, X, y, *, scoring=None, random_state=0, sample_weight=None
                              ) -> tuple[np.ndarray, np.ndarray, str]:  # fmt: skip
    """Score decrease when each column in turn is reordered by ONE row permutation.

    interpret-community's ``PFIExplainer`` scheme: a single permutation of the rows is
    drawn (``RandomState(random_state).choice(n, n, replace=False)``, which is what its
    ``seed`` gives) and applied to every column, one column at a time, once. With the
    same seed and model the importances are interpret-community's to the last digit;
    :func:`permutation_scores` (independent shuffles, repeated) estimates the same
    quantity with less noise.

    Returns
    -------
    decrease, std : ndarray of shape (n_columns,)
        ``std`` is zero (one shuffle per column).
    output : str
    """
    if y is None:
        raise ValueError("Permutation feature importance needs the true targets y.")
    scorer = check_scoring(model, scoring=scoring)
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    n_rows, n_cols = X.shape
    order = check_random_state(random_state).choice(n_rows, n_rows, replace=False)
    baseline = scorer(model, X, y, **kwargs)
    drops = np.zeros(n_cols)
    for j in range(n_cols):
        drops[j] = baseline - scorer(model, _reorder_column(X, j, order), y, **kwargs)
    return drops, np.zeros(n_cols), f"decrease in {_scoring_name(scoring)}"


def _reorder_column(X, j: int, order: np.ndarray):
    """A copy of ``X`` whose column ``j`` is read in the row order ``order``."""
    if sp.issparse(X):
        Xc = sp.csc_matrix(X)
        column = sp.csc_matrix(Xc[:, j].toarray()[order])
        return sp.hstack([Xc[:, :j], column, Xc[:, j + 1 :]], format="csr")
    if hasattr(X, "iloc"):
        out = X.copy()
        out.isetitem(j, X.iloc[order, j].to_numpy())
        return out
    out = np.array(X, copy=True)
    out[:, j] = out[order, j]
    return out


__all__ = ["permutation_scores", "shared_permutation_scores"]
