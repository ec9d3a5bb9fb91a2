"""Numeric features for a MimicExplainer surrogate from a DataFrame with any column types.

interpret-community's MimicExplainer learns its surrogate on the initialization examples
themselves, so it turns datetime columns into numbers, indexes categorical (string)
columns and, for linear surrogates, one-hot encodes them; with ``reset_index="reset"``
the DataFrame's index levels become columns too. :class:`SurrogateFeaturizer` does the
same, and remembers which input column every numeric feature comes from, so the
surrogate's attributions are summed back to the input columns (one value per column,
whatever the expansion; additivity is unchanged).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["SurrogateFeaturizer"]

#: The numeric parts of a datetime column (interpret-community featurises timestamps into
#: calendar parts too). Constant parts are harmless: the surrogate never splits on them.
_DATETIME_PARTS = ("year", "month", "day", "hour", "minute", "second", "day_of_week")


def _is_datetime(s: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(s.dtype)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


class SurrogateFeaturizer:
    """Turn rows into the numeric matrix a surrogate learns from (fit once, then transform).

    Parameters
    ----------
    categorical_features : list of str or int, default=None
        Columns to treat as categorical even when numeric (interpret-community's
        ``categorical_features``); non-numeric columns always are.
    one_hot : bool, default=False
        One-hot encode categorical columns (linear surrogates); otherwise they become
        integer codes (tree surrogates; LightGBM is told they are categorical).
    use_index : bool, default=False
        Turn the DataFrame's index levels into leading columns (``reset_index="reset"``).

    Attributes
    ----------
    owner_ : ndarray of shape (n_numeric,)
        For every numeric feature, the input column it comes from.
    categorical_ : list of int
        Numeric features that hold categorical codes (``one_hot=False``).
    n_inputs_ : int
        Number of input columns (index levels included with ``use_index``).
    """

    def __init__(self, categorical_features=None, one_hot: bool = False,
                 use_index: bool = False) -> None:  # fmt: skip
        self.categorical_features = categorical_features
        self.one_hot = one_hot
        self.use_index = use_index

    # ------------------------------------------------------------------ fit
    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.reset_index() if self.use_index else X

    def _wanted_categorical(self, frame: pd.DataFrame) -> set:
        wanted = set()
        for c in self.categorical_features or ():
            if isinstance(c, (int, np.integer)) and c not in frame.columns:
                if not 0 <= int(c) < frame.shape[1]:
                    raise ValueError(
                        f"categorical_features index {c} is out of range for "
                        f"{frame.shape[1]} columns."
                    )
                wanted.add(int(c))
            elif c in frame.columns:
                wanted.add(frame.columns.get_loc(c))
            else:
                raise ValueError(
                    f"categorical_features names {c!r}, which is not a column of the "
                    f"initialization examples ({list(frame.columns)[:10]}...)."
                )
        return wanted

    def fit(self, X: Any) -> SurrogateFeaturizer:
        """Learn the columns' kinds (and categories) from the rows ``X``."""
        self.plan_ = None
        if not isinstance(X, pd.DataFrame):
            self.n_inputs_ = X.shape[1]
            self.owner_ = np.arange(self.n_inputs_)
            self.categorical_ = []
            return self
        frame = self._frame(X)
        self.columns_ = list(X.columns)
        wanted = self._wanted_categorical(frame)
        plan, owner, categorical = [], [], []
        for j in range(frame.shape[1]):
            s = frame.iloc[:, j]
            if _is_datetime(s):
                plan.append(("datetime", None))
                owner += [j] * len(_DATETIME_PARTS)
            elif pd.api.types.is_timedelta64_dtype(s.dtype):
                plan.append(("timedelta", None))
                owner.append(j)
            elif j in wanted or not _is_numeric(s):
                cats = pd.Index(pd.unique(s.dropna()))
                plan.append(("category", cats))
                if self.one_hot:
                    owner += [j] * len(cats)
                else:
                    categorical.append(len(owner))
                    owner.append(j)
            else:
                plan.append(("number", None))
                owner.append(j)
        self.plan_ = plan
        self.n_inputs_ = frame.shape[1]
        self.owner_ = np.asarray(owner, dtype=np.int64)
        self.categorical_ = categorical
        return self

    # ------------------------------------------------------------------ transform
    @property
    def is_identity(self) -> bool:
        """True when rows are used as they are (arrays, sparse, all-numeric frames)."""
        return self.plan_ is None or (
            not self.use_index and all(kind == "number" for kind, _ in self.plan_)
        )

    def transform(self, X: Any) -> Any:
        """The numeric matrix (dense float, or the sparse input as it is)."""
        if self.is_identity:
            if isinstance(X, pd.DataFrame):
                X = X.to_numpy()
            return X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        if not isinstance(X, pd.DataFrame):  # rows given as an array: the fitted columns
            if self.use_index:
                raise TypeError(
                    "reset_index='reset' needs DataFrame rows (their index is a feature); got "
                    f"{type(X).__name__}."
                )
            X = pd.DataFrame(np.asarray(X, dtype=object), columns=self.columns_)
        frame = self._frame(X)
        if frame.shape[1] != len(self.plan_):
            raise ValueError(
                f"Rows have {frame.shape[1]} columns; the surrogate was fitted on {len(self.plan_)}."
            )
        blocks = []
        for j, (kind, cats) in enumerate(self.plan_):
            s = frame.iloc[:, j]
            if kind == "datetime":
                dt = pd.to_datetime(s).dt
                blocks += [np.asarray(getattr(dt, p), dtype=np.float64) for p in _DATETIME_PARTS]
            elif kind == "timedelta":
                blocks.append(np.asarray(s.dt.total_seconds(), dtype=np.float64))
            elif kind == "category":
                codes = np.asarray(cats.get_indexer(s), dtype=np.float64)
                if self.one_hot:
                    blocks += [(codes == k).astype(np.float64) for k in range(len(cats))]
                else:
                    codes[codes < 0] = np.nan  # unseen or missing: LightGBM's missing
                    blocks.append(codes)
            else:
                blocks.append(np.asarray(s, dtype=np.float64))
        if not blocks:
            return np.zeros((frame.shape[0], 0))
        return np.column_stack(blocks)

    def to_inputs(self, values: np.ndarray) -> np.ndarray:
        """Sum attributions ``[..., n_numeric]`` into ``[..., n_inputs]`` (by ``owner_``)."""
        values = np.asarray(values, dtype=np.float64)
        m = len(self.owner_)
        if m == self.n_inputs_ and np.array_equal(self.owner_, np.arange(m)):
            return values
        members = sp.csr_matrix(
            (np.ones(m), (self.owner_, np.arange(m))), shape=(self.n_inputs_, m)
        )
        flat = values.reshape(-1, m)
        summed = np.asarray((members @ flat.T).T)
        return summed.reshape(values.shape[:-1] + (self.n_inputs_,))
