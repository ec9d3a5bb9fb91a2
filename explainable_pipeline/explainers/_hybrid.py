"""Hybrid rows: the explained rows' values on a coalition's columns, background values elsewhere.

:class:`_Table` holds the background (numpy of any dtype, or a DataFrame whose dtypes and
categoricals are kept); :class:`_ChunkTable` stacks a chunk of explained rows on top of it and
builds hybrid rows column by column. :class:`_HybridGame` is the black-box evaluation path:
coalition values from hybrid rows passed to the model, at most ``max_batch_rows`` at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _common_dtype(x: pd.Series, bg: pd.Series):
    """A dtype for a column that holds the values of both ``x`` and ``bg`` (pandas' own
    common type; categoricals: ``x``'s categories then the background's others)."""
    xd, bd = x.dtype, bg.dtype
    if xd == bd:
        return xd
    if isinstance(xd, pd.CategoricalDtype):
        values = bd.categories if isinstance(bd, pd.CategoricalDtype) else bg.dropna().unique()
        known = set(xd.categories)
        extra = [v for v in values if v not in known]
        if not extra:
            return xd
        if xd.ordered:
            raise TypeError(
                f"column {x.name!r}: the background holds {extra[:3]}, which the ordered "
                f"categories of `X` ({list(xd.categories)}) do not; give `X` the training "
                "data's dtype for this column."
            )
        return pd.CategoricalDtype(list(xd.categories) + extra)
    if isinstance(bd, pd.CategoricalDtype):
        return xd  # plain values in X: the background's categories as those values
    return pd.concat([x.iloc[:1], bg.iloc[:1]], ignore_index=True).dtype


def _same_numbers(before: pd.Series, after: pd.Series) -> bool:
    """Whether a numeric cast kept every value (an int cast truncates floats silently)."""
    if not (pd.api.types.is_numeric_dtype(before.dtype)
            and pd.api.types.is_numeric_dtype(after.dtype)):
        return True
    if pd.api.types.is_bool_dtype(before.dtype) or pd.api.types.is_bool_dtype(after.dtype):
        return True
    a = before.to_numpy(dtype=np.float64, na_value=np.nan)
    b = after.to_numpy(dtype=np.float64, na_value=np.nan)
    return bool(np.array_equal(a, b, equal_nan=True))


class _Table:
    """Explained rows and background rows, ready to be mixed column by column."""

    def __init__(self, X, background):
        self.is_frame = isinstance(X, pd.DataFrame)
        if self.is_frame:
            self.columns = X.columns
            self.dtypes = list(X.dtypes)
            bg = background
            if not isinstance(bg, pd.DataFrame):
                bg = np.asarray(bg)
                if bg.ndim != 2 or bg.shape[1] != X.shape[1]:
                    raise ValueError(
                        f"`background` must have {X.shape[1]} columns like `X`; got shape "
                        f"{bg.shape}."
                    )
                bg = pd.DataFrame(bg, columns=X.columns)
            elif bg.shape[1] != X.shape[1] or not bg.columns.equals(X.columns):
                if bg.shape[1] == X.shape[1] and set(bg.columns) == set(X.columns):
                    bg = bg[X.columns]
                else:
                    raise ValueError(
                        "`background` must have the same columns as `X`; got "
                        f"{list(bg.columns)} vs {list(X.columns)}."
                    )
            # one dtype per column that holds both sides' values: the background is the
            # training data's, the explained rows may come narrower (an int column, fewer
            # categories), and casting the background to them would change its values
            # (a numpy background has no dtypes of its own: it takes X's, losslessly)
            self.dtypes = (list(X.dtypes) if not isinstance(background, pd.DataFrame) else
                           [_common_dtype(X.iloc[:, c], bg.iloc[:, c]) for c in range(X.shape[1])])
            self.recast = self.dtypes != list(X.dtypes)
            self.bg_cols = [self._cast(bg.iloc[:, c], self.dtypes[c]) for c in range(X.shape[1])]
            self.n_background = bg.shape[0]
        else:
            X = np.asarray(X)
            bg = background.to_numpy() if isinstance(background, pd.DataFrame) else background
            bg = np.asarray(bg)
            if bg.ndim != 2 or bg.shape[1] != X.shape[1]:
                raise ValueError(
                    f"`background` must have {X.shape[1]} columns like `X`; got shape {bg.shape}."
                )
            if X.dtype == object or bg.dtype == object:
                self.dtype = np.dtype(object)
            else:
                self.dtype = np.result_type(X.dtype, bg.dtype)
            self.bg = bg.astype(self.dtype, copy=False)
            self.n_background = bg.shape[0]
        self.n_columns = X.shape[1]

    @staticmethod
    def _cast(col: pd.Series, dtype, which: str = "background") -> pd.Series:
        col = col.reset_index(drop=True)
        if col.dtype != dtype:
            try:
                cast = col.astype(dtype)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{which} column {col.name!r} of dtype {col.dtype} cannot be cast to "
                    f"{dtype}, the dtype both `X` and the background fit in: {exc}"
                ) from exc
            if int(cast.isna().sum()) > int(col.isna().sum()) or not _same_numbers(col, cast):
                raise TypeError(
                    f"{which} column {col.name!r} of dtype {col.dtype} loses values when cast "
                    f"to {dtype} (the dtype of the other side); give `X` and the background "
                    "the same dtype for this column (e.g. the training data's)."
                )
            col = cast
        return col

    def keeps_rows(self, X_chunk) -> bool:
        """Whether hybrid rows hold ``X_chunk``'s values in its own dtypes (a frame's columns
        keep theirs unless the background's widen them; a numpy chunk keeps its dtype unless
        the background's widens it)."""
        if self.is_frame:
            return not self.recast
        return np.asarray(X_chunk).dtype == self.dtype

    def chunk(self, X_chunk) -> _ChunkTable:
        return _ChunkTable(self, X_chunk)

    def background_rows(self):
        if self.is_frame:
            return self._frame([c.array for c in self.bg_cols])
        return self.bg

    def _frame(self, arrays) -> pd.DataFrame:
        df = pd.DataFrame(dict(enumerate(arrays)), copy=False)
        df.columns = self.columns
        return df


class _ChunkTable:
    """One chunk of explained rows stacked on top of the background, per column."""

    def __init__(self, table: _Table, X_chunk):
        self.table = table
        self.n = X_chunk.shape[0]
        if table.is_frame:
            self.cols = []
            for c in range(table.n_columns):
                xc = table._cast(X_chunk.iloc[:, c], table.dtypes[c], "`X`")
                both = pd.concat([xc, table.bg_cols[c]], ignore_index=True)
                if both.dtype != table.dtypes[c]:  # pragma: no cover - defensive
                    both = both.astype(table.dtypes[c])
                arr = both.array
                self.cols.append(
                    arr.to_numpy() if isinstance(arr, pd.arrays.NumpyExtensionArray) else arr
                )
        else:
            self.X = np.asarray(X_chunk).astype(table.dtype, copy=False)

    def hybrid(self, i: np.ndarray, j: np.ndarray, pmask: np.ndarray, owner: np.ndarray):
        """Rows mixing explained row ``i`` with background row ``j``.

        Column ``c`` comes from the explained row where ``pmask[:, owner[c]]`` (the mask of
        the player owning the column).
        """
        t = self.table
        if not t.is_frame:
            return np.where(pmask[:, owner], self.X[i], t.bg[j])
        bg_pos = j + self.n
        arrays = []
        for c, arr in enumerate(self.cols):
            m = pmask[:, owner[c]]
            arrays.append(arr.take(np.where(m, i, bg_pos)))
        return t._frame(arrays)


def _as_outputs(out, n: int) -> np.ndarray:
    arr = np.asarray(out, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(
            f"`f` must return an array of shape (n_rows,) or (n_rows, n_outputs); for {n} rows it "
            f"returned shape {np.shape(out)}."
        )
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
        raise ValueError(
            f"`f` returned NaN or infinite values for {bad.size} of {n} rows (first: row "
            f"{int(bad[0])} of the call); Shapley values of non-finite outputs are undefined. "
            "Make the model finite on every combination of the rows' and the background's "
            "column values (e.g. impute or clip)."
        )
    return arr


# --------------------------------------------------------------------------------------------
# Evaluation engine: batched over rows x coalitions x background, bounded hybrid rows per call
# --------------------------------------------------------------------------------------------


class _HybridGame:
    """Coalition values from hybrid rows passed to ``f`` (the black-box evaluation path).

    An *item* is a coalition together with a background row ``j`` (``j = -1`` means the
    weighted mean over every background row). Items are evaluated for every row of the chunk:
    ``n_rows * n_items`` hybrid rows, passed to ``f`` at most ``max_batch_rows`` at a time.
    ``chunk`` is anything with ``n`` and ``hybrid(i, j, pmask, owner)`` (raw rows here;
    engineered rows for the separable path of :mod:`._evaluators`); ``player_cols`` (M, d)
    maps players to the chunk's columns.
    """

    def __init__(self, f, chunk, player_cols, bg_weights, max_batch_rows, n_out):
        self.f = f
        self.chunk = chunk
        self.player_cols = player_cols  # (M, d) bool
        self.owner = np.argmax(player_cols, axis=0)  # player of each column
        self.w = bg_weights
        self.max_batch_rows = max_batch_rows
        self.n = chunk.n
        self.n_out = n_out
        self.n_evaluations = 0

    def evaluate(self, masks: np.ndarray, bg: np.ndarray, rows=None) -> np.ndarray:
        """Evaluate items (masks, bg) for the chunk's rows (or ``rows`` of it).

        Returns an array of shape (n_rows, n_items, O).
        """
        rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        n = self.n if rows is None else rows.shape[0]
        m = self.w.shape[0]
        # expand mean-over-background items into one sub-item per background row
        mean_items = bg < 0
        reps = np.where(mean_items, m, 1)
        item_of = np.repeat(np.arange(len(bg)), reps)  # sub-item -> item
        sub_bg = np.concatenate(
            [np.arange(m) if mi else [b] for mi, b in zip(mean_items, bg, strict=True)]
        ).astype(np.intp)
        sub_w = np.where(mean_items[item_of], self.w[sub_bg], 1.0)
        L = len(sub_bg)
        acc = np.zeros((n * len(bg), self.n_out))
        total = n * L
        for start in range(0, total, self.max_batch_rows):
            flat = np.arange(start, min(total, start + self.max_batch_rows), dtype=np.int64)
            i, sub = np.divmod(flat, L)
            item = item_of[sub]
            hybrid = self.chunk.hybrid(i if rows is None else rows[i], sub_bg[sub], masks[item],
                                       self.owner)
            y = _as_outputs(self.f(hybrid), flat.shape[0])
            if y.shape[1] != self.n_out:
                raise ValueError(
                    f"`f` returned {y.shape[1]} outputs on hybrid rows, expected {self.n_out}."
                )
            target = i * len(bg) + item
            y = y * sub_w[sub, None]
            lo = target.min()
            for o in range(self.n_out):
                part = np.bincount(target - lo, weights=y[:, o])
                acc[lo : lo + part.shape[0], o] += part
        self.n_evaluations += total
        return acc.reshape(n, len(bg), self.n_out)

    def evaluate_triples(self, rows: np.ndarray, masks: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Values (T, O) of single hybrid rows: chunk row ``rows[t]``, coalition ``masks[t]``,
        background row ``bg[t]`` (>= 0), in calls of at most ``max_batch_rows`` rows."""
        out = np.empty((rows.shape[0], self.n_out))
        for start in range(0, rows.shape[0], self.max_batch_rows):
            part = slice(start, start + self.max_batch_rows)
            hybrid = self.chunk.hybrid(rows[part], bg[part], masks[part], self.owner)
            y = _as_outputs(self.f(hybrid), out[part].shape[0])
            if y.shape[1] != self.n_out:
                raise ValueError(
                    f"`f` returned {y.shape[1]} outputs on hybrid rows, expected {self.n_out}."
                )
            out[part] = y
        self.n_evaluations += rows.shape[0]
        return out
