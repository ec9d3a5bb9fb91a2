"""Model-agnostic interventional Shapley values in raw-column space.

The engine knows nothing about pipelines. It receives a callable ``f`` that takes raw rows (the
same container type as ``X``: a DataFrame, or a 2-D numpy array possibly of object dtype) and
returns model outputs. Players are raw columns, or groups of raw columns. The value of a
coalition ``S`` for a row ``x`` is::

    v(S) = sum_j w_j f(hybrid(x, b_j, S))

where ``hybrid`` keeps ``x``'s values on the columns of ``S`` and takes the other columns from
background row ``b_j``, and ``w_j`` are the background weights (normalised to sum to one).
Because the preprocessing lives inside ``f``, the attributions are exact raw-column attributions
for any transformer.

Three estimators share one evaluation engine:

``"exact"``
    All ``2**M`` coalitions and the Shapley weights (refused above ``MAX_EXACT_PLAYERS``).
``"kernel"``
    KernelSHAP: a least-squares fit weighted by the Shapley kernel, with the efficiency
    constraint imposed exactly (additive by construction). Design, per background row ``j``
    (the game ``v_j(S) = f(x_S, b_j)``; ``v = sum_j w_j v_j`` and Shapley values are linear, so
    the estimates are averaged with the weights): coalition sizes whose whole stratum fits in the
    budget are enumerated (small and large sizes first, as shap does); the rest of the budget is
    spread over the other sizes in proportion to their kernel mass (stratified by size) and
    filled with PAIRED coalitions ``(S, complement of S)`` drawn uniformly without replacement.
    Independent designs per background row cost the same model rows as one shared design but
    their errors average out instead of adding up. Each design is shared by every explained row
    so model calls batch across rows, and one small system is solved per game.
    Paired sampling already makes the linear fit exact for games with interactions of order
    <= 2; the remaining error comes from higher-order interactions, which for most models sit
    among a few dominant players. The regression therefore adds product terms ``prod_{i in T}
    z_i`` for every subset ``T`` (size >= 2) of the ``k`` most important players (from a linear
    pilot fit on the same samples, ``2**k - 1 - k <= K / 6``), with a small ridge. These act as
    control variates: whatever their coefficients, the estimate is exact under full
    enumeration, and the variance drops several-fold (measured in ``benchmarks/agnostic.py``).
    The sample is consumed in doubling rounds; sampling stops when the relative change of the
    attributions between two rounds is at most ``tol``.
    When averaging a coalition over the background costs about one model row instead of one
    per background row (the ``"kernel-machine"`` path with an rbf or linear kernel, below), one
    *shared* design for the background-averaged game is used instead, with four times the
    default budget (``kernel_design``).
``"permutation"``
    Antithetic permutation sampling: each permutation is used with its reverse; marginal
    contributions along a permutation telescope, so attributions are additive by construction.

Every method satisfies ``values.sum(axis=1) + base_values == f(X)`` (to floating-point
precision).

Evaluation paths. By default coalition values come from hybrid raw rows passed to ``f`` (the
*black box*: any model, any transformer). An ``evaluator`` (:mod:`._evaluators`, which
``ExplainablePipeline`` always passes) may supply an exact shortcut: ``"separable"`` (hybrid
rows assembled from transformed blocks when every engineered column has one raw parent) or
``"kernel-machine"`` (SVC / NuSVC / SVR / NuSVR with a built-in kernel: coalition values from
per-player partial distances or dot products). A shortcut is used for a chunk of rows only
after it reproduced ``f`` on probe coalitions of that chunk to 1e-9; ``ShapleyResult.evaluation``
records the path that ran.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from .._progress import tqdm

__all__ = ["ShapleyResult", "shapley_values", "MAX_EXACT_PLAYERS", "DEFAULT_MAX_BATCH_ROWS"]

logger = logging.getLogger(__name__)

MAX_EXACT_PLAYERS = 16
"""Largest number of players ``method="exact"`` accepts (``2**16`` coalitions per row)."""

DEFAULT_MAX_BATCH_ROWS = 50_000
"""Default bound on the number of hybrid rows passed to ``f`` in one call."""

DEFAULT_BATCH_SIZE = 128
"""Default number of explained rows per task (independent of ``n_jobs``)."""

_METHODS = ("exact", "kernel", "permutation")


@dataclass
class ShapleyResult:
    """Result of :func:`shapley_values`.

    Attributes
    ----------
    values : numpy.ndarray of shape (n_rows, n_players, n_outputs)
        Shapley values per explained row, player and model output.
    base_values : numpy.ndarray of shape (n_outputs,)
        Weighted mean of ``f`` over the background: the value of the empty coalition.
    n_evaluations : int
        Number of rows passed to ``f`` in total (background, explained and hybrid rows).
    method : str
        ``"exact"``, ``"kernel"`` or ``"permutation"``.
    converged : bool or None
        ``True`` when every row chunk met ``tol`` (always ``True`` for exact enumeration),
        ``False`` when the budget ran out first, ``None`` when no tolerance was checked.
    evaluation : str
        How coalition values were computed: ``"black-box"`` (hybrid raw rows through ``f``),
        or the name of the evaluator's faster path (``"separable"``, ``"kernel-machine"``),
        with ``" (black-box on k of n chunks)"`` appended when some chunks fell back.
    """

    values: np.ndarray
    base_values: np.ndarray
    n_evaluations: int
    method: str
    converged: bool | None = None
    evaluation: str = "black-box"


# --------------------------------------------------------------------------------------------
# Tables: vectorised hybrid rows for numpy (any dtype) and pandas (any dtype, categoricals kept)
# --------------------------------------------------------------------------------------------


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
    def _cast(col: pd.Series, dtype) -> pd.Series:
        col = col.reset_index(drop=True)
        if col.dtype != dtype:
            try:
                col = col.astype(dtype)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"background column {col.name!r} of dtype {col.dtype} cannot be cast to the "
                    f"dtype of `X` ({dtype}): {exc}"
                ) from exc
        return col

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
                xc = X_chunk.iloc[:, c].reset_index(drop=True)
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

    def evaluate(self, masks: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Evaluate items (masks, bg) for every row; returns (n, n_items, O)."""
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
        acc = np.zeros((self.n * len(bg), self.n_out))
        total = self.n * L
        for start in range(0, total, self.max_batch_rows):
            flat = np.arange(start, min(total, start + self.max_batch_rows), dtype=np.int64)
            i, sub = np.divmod(flat, L)
            item = item_of[sub]
            rows = self.chunk.hybrid(i, sub_bg[sub], masks[item], self.owner)
            y = _as_outputs(self.f(rows), flat.shape[0])
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
        return acc.reshape(self.n, len(bg), self.n_out)


_VERIFY_RTOL = 1e-9
"""A faster evaluation path is used for a chunk only when it reproduces the model's own output
on probe coalitions to ``_VERIFY_RTOL * max(1, max |output|)``."""

_N_PROBES = 4


class _Engine:
    """Coalition values for one chunk of rows, batched, with a cache of evaluated items.

    The values come from a *game* (``evaluate(masks, bg) -> (n, n_items, O)``): hybrid rows
    through ``f`` (:class:`_HybridGame`, always available), or a faster path prepared by an
    evaluator (:mod:`._evaluators`), used only after it reproduced ``f`` on probe coalitions
    of this chunk (full, empty and random mixed coalitions).
    """

    def __init__(self, f, table: _Table, X_chunk, bg_weights, player_cols, f_background,
                 max_batch_rows, evaluator=None):
        self.f = f
        self.w = bg_weights
        self.f_background = f_background  # (m, O)
        self.base = bg_weights @ f_background  # (O,)
        self.player_cols = player_cols  # (M, d) bool
        self.n = X_chunk.shape[0]
        self.n_out = f_background.shape[1]
        fx = _as_outputs(f(X_chunk), self.n)
        if fx.shape[1] != self.n_out:
            raise ValueError(
                f"`f` returned {fx.shape[1]} outputs on X but {self.n_out} on the background."
            )
        self.fx = fx
        self.n_evaluations = self.n
        self.black_box = _HybridGame(f, table.chunk(X_chunk), player_cols, bg_weights,
                                     max_batch_rows, self.n_out)
        self.game = self.black_box
        self.path = "black-box"
        if evaluator is not None:
            game = evaluator.bind(X_chunk, max_batch_rows)
            if game is not None and self._verify(game):
                self.game = game
                self.path = evaluator.name
        self._index: dict[bytes, int] = {}
        self._blocks: list[np.ndarray] = []  # (n, k, O) blocks in index order
        self._stacked = np.empty((self.n, 0, self.n_out))

    def _verify(self, game) -> bool:
        """Whether ``game`` reproduces ``f`` on probe coalitions of this chunk."""
        M, m = self.player_cols.shape[0], self.w.shape[0]
        rng = np.random.RandomState(M * 7919 + m)
        bg = rng.randint(m, size=_N_PROBES + 2)
        masks = rng.rand(_N_PROBES + 2, M) < 0.5
        masks[0], masks[1] = True, False
        try:
            got = game.evaluate(masks, bg)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the black box
            logger.info("evaluation path %s failed on probes (%r); using the black box",
                        type(game).__name__, exc)
            return False
        mixed = self.black_box.evaluate(masks[2:], bg[2:])
        want = np.concatenate(
            [self.fx[:, None], self.f_background[bg[1]][None, None].repeat(self.n, 0), mixed],
            axis=1,
        )
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        err = float(np.abs(got - want).max(initial=0.0)) if got.shape == want.shape else np.inf
        if not err <= _VERIFY_RTOL * scale:
            logger.info("evaluation path %s differs from the model by %.3g on probes; using "
                        "the black box", type(game).__name__, err)
            return False
        return True

    @staticmethod
    def _keys(masks: np.ndarray, bg: np.ndarray) -> list[bytes]:
        packed = np.packbits(masks, axis=1)
        tags = bg.astype(np.int64).reshape(-1, 1).view(np.uint8)
        return [row.tobytes() for row in np.hstack([packed, tags])]

    def values(self, masks: np.ndarray, bg=None) -> np.ndarray:
        """Values (n_rows, n_masks, n_outputs) of ``masks`` (K, M).

        ``bg`` is None (weighted mean over the background), an int, or an int array (K,) of
        background rows (single-baseline games).
        """
        masks = np.asarray(masks, dtype=bool)
        K, M = masks.shape
        bg_arr = np.full(K, -1, dtype=np.int64) if bg is None else np.broadcast_to(
            np.asarray(bg, dtype=np.int64), (K,))
        sizes = masks.sum(axis=1)
        interior = (sizes > 0) & (sizes < M)
        keys = self._keys(masks, bg_arr)
        new: dict[bytes, int] = {}
        for q in np.flatnonzero(interior):
            key = keys[q]
            if key not in self._index and key not in new:
                new[key] = q
        if new:
            pos = np.fromiter(new.values(), dtype=np.intp, count=len(new))
            block = self.game.evaluate(masks[pos], bg_arr[pos])
            for key in new:
                self._index[key] = len(self._index)
            self._blocks.append(block)
            self._stacked = np.concatenate(self._blocks, axis=1)
            self._blocks = [self._stacked]
        out = np.empty((self.n, K, self.n_out))
        idx = np.array([self._index[keys[q]] for q in np.flatnonzero(interior)], dtype=np.intp)
        out[:, interior] = self._stacked[:, idx]
        empty = sizes == 0
        if empty.any():
            single = bg_arr[empty]
            out[:, empty] = np.where(
                (single < 0)[:, None], self.base, self.f_background[np.maximum(single, 0)]
            )
        out[:, sizes == M] = self.fx[:, None, :]
        return out

    @property
    def evaluations(self) -> int:
        n = self.n_evaluations + self.black_box.n_evaluations
        return n + (self.game.n_evaluations if self.game is not self.black_box else 0)


# --------------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------------


def _all_masks(M: int) -> np.ndarray:
    codes = np.arange(2**M, dtype=np.int64)
    return ((codes[:, None] >> np.arange(M)) & 1).astype(bool)


def _exact_weights(masks: np.ndarray) -> np.ndarray:
    """Matrix W (M, K) such that phi = W @ v for the full set of coalitions ``masks``."""
    M = masks.shape[1]
    s = masks.sum(axis=1)
    # w(t) = t! (M - t - 1)! / M!  for t = 0..M-1 (weight of a coalition of size t without i)
    w = np.array([1.0 / (M * math.comb(M - 1, t)) for t in range(M)])
    with_i = w[np.clip(s - 1, 0, M - 1)]
    without_i = w[np.clip(s, 0, M - 1)]
    return np.where(masks, with_i[:, None], -without_i[:, None]).T


def _kernel_mass(M: int, s: int) -> float:
    """Total Shapley-kernel mass of all coalitions of size ``s`` (up to a constant)."""
    return (M - 1) / (s * (M - s))


def _sample_pairs(M: int, s: int, r: int, rng) -> np.ndarray:
    """``r`` distinct coalitions of size ``s`` (distinct as pairs when ``2 s == M``)."""
    half = 2 * s == M
    n_unique = math.comb(M, s) // (2 if half else 1)
    r = min(r, n_unique)
    if math.comb(M, s) <= 20_000:
        combos = np.array(list(combinations(range(M), s)), dtype=np.intp)
        if half:  # keep one representative per pair: the one holding player 0
            combos = combos[combos[:, 0] == 0]
        chosen = combos[rng.choice(len(combos), size=r, replace=False)]
        masks = np.zeros((r, M), dtype=bool)
        np.put_along_axis(masks, chosen, True, axis=1)
        return masks
    seen: set[bytes] = set()
    out = []
    while len(out) < r:
        mask = np.zeros(M, dtype=bool)
        mask[rng.choice(M, size=s, replace=False)] = True
        if half and not mask[0]:
            mask = ~mask
        key = np.packbits(mask).tobytes()
        if key not in seen:
            seen.add(key)
            out.append(mask)
    return np.array(out)


class _KernelDesign:
    """Enumerated strata + stratified paired samples consumed in doubling rounds."""

    def __init__(self, M: int, budget: int, rng, n_rounds: int):
        self.M = M
        sizes = list(range(1, M // 2 + 1))
        pair_mass = {s: _kernel_mass(M, s) * (1 if 2 * s == M else 2) for s in sizes}
        count = {s: math.comb(M, s) * (1 if 2 * s == M else 2) for s in sizes}
        remaining = float(budget)
        mass_left = sum(pair_mass.values())
        enumerated = []
        for s in sizes:
            if remaining * pair_mass[s] / mass_left >= count[s] - 1e-9:
                enumerated.append(s)
                remaining -= count[s]
                mass_left -= pair_mass[s]
            else:
                break
        blocks, weights = [], []
        for s in enumerated:
            for size in {s, M - s}:
                combos = np.array(list(combinations(range(M), size)), dtype=np.intp)
                masks = np.zeros((len(combos), M), dtype=bool)
                np.put_along_axis(masks, combos, True, axis=1)
                blocks.append(masks)
                weights.append(np.full(len(combos), _kernel_mass(M, size) / len(combos)))
        self.enum_masks = np.concatenate(blocks) if blocks else np.zeros((0, M), dtype=bool)
        self.enum_weights = np.concatenate(weights) if weights else np.zeros(0)
        self.complete = len(enumerated) == len(sizes)

        # strata: (pair mass, masks of the S side, in random order)
        self.strata: list[tuple[float, np.ndarray]] = []
        left = [s for s in sizes if s not in enumerated]
        n_pairs = int(remaining // 2)
        if left and n_pairs > 0:
            if n_pairs >= len(left):
                alloc = self._allocate(n_pairs, left, pair_mass, M)
                for s in left:
                    if alloc[s]:
                        self.strata.append((pair_mass[s], _sample_pairs(M, s, alloc[s], rng)))
            else:  # tiny budget: one stratum, sizes drawn in proportion to kernel mass
                p = np.array([pair_mass[s] for s in left])
                drawn = rng.choice(left, size=n_pairs, p=p / p.sum())
                masks = np.concatenate([_sample_pairs(M, s, 1, rng) for s in drawn])
                self.strata.append((mass_left, masks))
        longest = max((len(m) for _, m in self.strata), default=1)
        self.n_rounds = max(1, min(n_rounds, int(math.log2(longest)) + 1))

    @staticmethod
    def _allocate(n_pairs, left, pair_mass, M) -> dict[int, int]:
        cap = {s: math.comb(M, s) // (2 if 2 * s == M else 1) for s in left}
        alloc = dict.fromkeys(left, 1)
        budget = n_pairs - len(left)
        open_ = [s for s in left if alloc[s] < cap[s]]
        while budget > 0 and open_:
            mass = np.array([pair_mass[s] for s in open_])
            share = budget * mass / mass.sum()
            add = np.floor(share).astype(int)
            rest = budget - add.sum()
            for q in np.argsort(-(share - add))[:rest]:
                add[q] += 1
            for s, a in zip(open_, add, strict=False):
                take = min(int(a), cap[s] - alloc[s])
                alloc[s] += take
                budget -= take
            open_ = [s for s in open_ if alloc[s] < cap[s]]
        return alloc

    def round(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Masks and kernel weights of every coalition used up to round ``t`` (0-based)."""
        frac = 2.0 ** (t + 1 - self.n_rounds)
        masks, weights = [self.enum_masks], [self.enum_weights]
        for mass, sampled in self.strata:
            r = max(1, math.ceil(len(sampled) * frac))
            side = sampled[:r]
            masks += [side, ~side]
            weights.append(np.full(2 * r, mass / (2 * r)))
        return np.concatenate(masks), np.concatenate(weights)


def _kernel_solve(masks, weights, values, fx, base, terms=(), ridge=1e-4) -> np.ndarray:
    """Efficiency-constrained weighted least squares, vectorised over rows and outputs.

    Fits ``v(S) - v(empty) ~ sum_i a_i z_i + sum_T c_T prod_{i in T} z_i`` with the Shapley
    kernel weights, under ``sum(a) + sum(c) = v(N) - v(empty)``, and returns the Shapley values
    of the fitted game, ``phi_i = a_i + sum_{T containing i} c_T / |T|``. With no ``terms`` this
    is KernelSHAP. The interaction terms act as control variates: whatever their coefficients,
    the linear part of the kernel fit recovers the Shapley value of the residual game, so the
    estimate stays exact under full enumeration while the variance drops when the game has
    high-order interactions among the players in ``terms``. The small ``ridge`` (relative to the
    linear block's scale) only touches the interaction coefficients.
    """
    M = masks.shape[1]
    delta = fx - base  # (n, O)
    if M == 1:
        return delta[:, None, :]
    Z = masks.astype(float)
    if terms:
        F = np.hstack([Z, np.stack([Z[:, list(T)].prod(axis=1) for T in terms], axis=1)])
    else:
        F = Z
    Fw = F * weights[:, None]
    A = Fw.T @ F
    if terms:
        scale = np.trace(A[:M, :M]) / M
        A[M:, M:] += np.eye(len(terms)) * ridge * scale
    p = A.shape[0]
    n, K, n_out = values.shape
    # right-hand sides of every row and output at once: (p, n * O); plus the ones vector
    rhs = Fw.T @ (values - base).transpose(1, 0, 2).reshape(K, n * n_out)
    rhs = np.hstack([rhs, np.ones((p, 1))])
    try:
        sol = np.linalg.solve(A, rhs)
    except np.linalg.LinAlgError:  # singular design (tiny budgets): minimum-norm solution
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
    Ab = sol[:, :-1].reshape(p, n, n_out).transpose(1, 0, 2)  # (n, p, O)
    u = sol[:, -1]
    nu = (Ab.sum(axis=1) - delta) / u.sum()
    theta = Ab - u[None, :, None] * nu[:, None, :]
    phi = theta[:, :M].copy()
    for q, T in enumerate(terms):
        for i in T:
            phi[:, i] += theta[:, M + q] / len(T)
    return phi


def _interaction_terms(importance: np.ndarray, n_coalitions: int, max_players: int = 8):
    """All subsets (size >= 2) of the ``k`` most important players, ``2**k - 1 - k <= K / 6``."""
    M = importance.shape[0]
    k = 0
    while k < min(M, max_players) and 2 ** (k + 1) - 2 - k <= n_coalitions / 6:
        k += 1
    if k < 2:
        return []
    top = sorted(np.argsort(-importance, kind="stable")[:k].tolist())
    return [T for r in range(2, k + 1) for T in combinations(top, r)]


def _permutation_design(M: int, budget: int, rng, n_rounds: int) -> list[np.ndarray]:
    """Antithetic permutations (each followed by its reverse), as nested doubling rounds."""
    n_pairs = max(1, budget // max(2 * (M - 1), 1))
    perms = rng.rand(n_pairs, M).argsort(axis=1)
    perms = np.stack([perms, perms[:, ::-1]], axis=1)  # (pairs, 2, M)
    n_rounds = max(1, min(n_rounds, int(math.log2(n_pairs)) + 1))
    cuts = [max(1, math.ceil(n_pairs * 2.0 ** (t + 1 - n_rounds))) for t in range(n_rounds)]
    return [perms[:c].reshape(-1, M) for c in cuts]


def _permutation_masks(perms: np.ndarray) -> np.ndarray:
    """Prefix coalitions (p, M + 1, M) of each permutation, sizes 0..M."""
    p, M = perms.shape
    pos = np.argsort(perms, axis=1)  # position of each player in the permutation
    return pos[:, None, :] < np.arange(M + 1)[None, :, None]


def _permutation_estimate(perms, v) -> np.ndarray:
    """Mean marginal contributions; ``v`` has shape (n, p, M + 1, O)."""
    d = v[:, :, 1:] - v[:, :, :-1]  # contribution of perms[q, j]
    pos = np.argsort(perms, axis=1)
    contrib = np.take_along_axis(d, pos[None, :, :, None], axis=2)
    return contrib.mean(axis=1)


# --------------------------------------------------------------------------------------------
# Per-chunk drivers
# --------------------------------------------------------------------------------------------


def _rel_change(new: np.ndarray, old: np.ndarray) -> float:
    return float(np.abs(new - old).sum() / max(np.abs(new).sum(), 1e-300))


def _kernel_rounds(n_rounds: int, complete: bool, tol, round_solver):
    """Run KernelSHAP rounds until the estimate is stable (or the design is exhausted).

    ``round_solver(t)`` returns ``(solve, n_coalitions)`` for round ``t``: ``solve(terms)`` is the
    Shapley estimate of the coalitions drawn so far with interaction control variates ``terms``.
    Unless the design enumerates every coalition, a pilot fit without terms picks them.
    """
    phi, converged = None, None
    for t in range(n_rounds):
        solve, n_coalitions = round_solver(t)
        terms = []
        if not complete:
            pilot = solve(())
            terms = _interaction_terms(np.abs(pilot).mean(axis=(0, 2)), n_coalitions)
        new = solve(terms)
        if phi is not None and tol is not None:
            converged = _rel_change(new, phi) <= tol
        phi = new
        if converged:
            break
    if complete:
        converged = True
    elif tol is not None and converged is None:
        converged = False
    return phi, converged


def _run_kernel(eng: _Engine, designs, active, tol):
    if isinstance(designs, _KernelDesign):  # one design for the background-averaged game
        design = designs

        def shared_round(t):
            masks, weights = design.round(t)
            fit = (masks, weights, eng.values(masks), eng.fx, eng.base)
            return (lambda terms: _kernel_solve(*fit, terms=terms)), len(masks)

        complete = design.complete and not design.strata
        return _kernel_rounds(design.n_rounds, complete, tol, shared_round)

    w = eng.w
    first = designs[active[0]]

    def independent_round(t):  # one design per background row, weighted by the row's weight
        rounds = {j: designs[j].round(t) for j in active}
        masks = np.concatenate([rounds[j][0] for j in active])
        bg = np.concatenate([np.full(len(rounds[j][0]), j) for j in active])
        values = eng.values(masks, bg)
        stops = np.cumsum([len(rounds[j][0]) for j in active])[:-1]
        per_game = dict(zip(active, np.split(values, stops, axis=1), strict=True))
        fits = {j: (rounds[j][0], rounds[j][1], per_game[j], eng.fx, eng.f_background[j])
                for j in active}

        def solve(terms):
            return sum(w[j] * _kernel_solve(*fits[j], terms=terms) for j in active)

        return solve, len(rounds[active[0]][0])

    complete = first.complete and not first.strata
    return _kernel_rounds(first.n_rounds, complete, tol, independent_round)


def _run_permutation(eng: _Engine, designs, active, tol):
    w = eng.w
    phi, converged = None, None
    for t in range(len(designs[active[0]])):
        perms = {j: designs[j][t] for j in active}
        prefix = {j: _permutation_masks(perms[j]) for j in active}
        M = perms[active[0]].shape[1]
        masks = np.concatenate([prefix[j].reshape(-1, M) for j in active])
        bg = np.concatenate([np.full(prefix[j].shape[0] * (M + 1), j) for j in active])
        values = eng.values(masks, bg)
        new, start = 0.0, 0
        for j in active:
            p = prefix[j].shape[0]
            v = values[:, start : start + p * (M + 1)].reshape(eng.n, p, M + 1, -1)
            start += p * (M + 1)
            new = new + w[j] * _permutation_estimate(perms[j], v)
        if phi is not None and tol is not None:
            converged = _rel_change(new, phi) <= tol
        phi = new
        if converged:
            break
    if tol is not None and converged is None:
        converged = False
    return phi, converged


def _run_chunk(f, table, X_chunk, bg_weights, player_cols, f_background, max_batch_rows, method,
               design, tol, evaluator=None):
    eng = _Engine(f, table, X_chunk, bg_weights, player_cols, f_background, max_batch_rows,
                  evaluator)
    active = np.flatnonzero(bg_weights > 0).tolist()
    if method == "exact":
        masks, W = design
        phi = np.einsum("mk,nko->nmo", W, eng.values(masks))
        converged = True
    elif method == "kernel":
        phi, converged = _run_kernel(eng, design, active, tol)
    else:
        phi, converged = _run_permutation(eng, design, active, tol)
    return phi, eng.evaluations, converged, eng.path


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _player_columns(groups, X, n_columns: int) -> np.ndarray:
    if groups is None:
        return np.eye(n_columns, dtype=bool)
    if isinstance(groups, dict):
        groups = list(groups.values())
    G = np.zeros((len(groups), n_columns), dtype=bool)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    for g, members in enumerate(groups):
        if isinstance(members, (str, numbers.Integral)):
            members = [members]
        if len(members) == 0:
            raise ValueError(f"`groups[{g}]` is empty; every group needs at least one column.")
        for col in members:
            if isinstance(col, numbers.Integral) and not isinstance(col, bool):
                if not 0 <= col < n_columns:
                    raise ValueError(
                        f"`groups[{g}]` holds column position {col}; X has {n_columns} columns."
                    )
                pos = int(col)
            elif names is not None and col in names:
                pos = names.index(col)
            else:
                raise ValueError(f"`groups[{g}]` holds {col!r}, not a column position or name.")
            if G[:, pos].any():
                raise ValueError(f"column {col!r} appears in more than one group.")
            G[g, pos] = True
    missing = np.flatnonzero(~G.any(axis=0))
    if missing.size:
        raise ValueError(
            f"`groups` must cover every column of X once; columns at positions {missing.tolist()} "
            "are in no group (add them as their own group)."
        )
    return G


def _auto_budget(M: int, cheap: bool = False) -> int:
    """Default number of coalitions per row for kernel and permutation.

    ``min(2**M - 2, max(8 M + 64, 128), 4096)``; four times that (still at most
    ``2**M - 2``) when the evaluation path averages over the background cheaply
    (``kernel_design="shared"``), where a coalition costs about one model row instead of one
    per background row. For 30 players that is 1,216 coalitions, enough to enumerate every
    coalition of 1, 2, 28 and 29 players (930) and sample the rest: the error drops about
    fourfold from 304 (``benchmarks/agnostic.py``).
    """
    base = int(min(2**M - 2, max(8 * M + 64, 128), 4096)) if M < 63 else 8 * M + 64
    if cheap:
        return int(min(2**M - 2, 4 * base)) if M < 63 else 4 * base
    return base


def shapley_values(
    f: Callable,
    X,
    background,
    background_weights=None,
    *,
    method: str = "exact",
    groups: Sequence | dict | None = None,
    n_samples: int | str = "auto",
    batch_size: int | None = None,
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
    random_state=None,
    n_jobs: int | None = None,
    progress: bool = False,
    tol: float | None = 0.01,
    evaluator=None,
    kernel_design: str = "auto",
) -> ShapleyResult:
    """Interventional Shapley values of ``f`` for the rows of ``X`` against a background.

    Parameters
    ----------
    f : callable
        Takes raw rows of the same container type as ``X`` (DataFrame with the same columns and
        dtypes, or 2-D array) and returns outputs of shape (n,) or (n, n_outputs).
    X : pandas.DataFrame or numpy.ndarray of shape (n_rows, n_columns)
        Rows to explain. Mixed dtypes (numbers, strings, categoricals, NaN) are kept as they are.
    background : pandas.DataFrame or numpy.ndarray of shape (n_background, n_columns)
        Background rows (e.g. from :func:`summarize_background` or ``shap.kmeans(X, k).data``),
        used as they are; DataFrame columns are cast to the dtypes of ``X``.
    background_weights : array-like of shape (n_background,), default=None
        Non-negative weights, normalised to sum to one; equal weights when None.
    method : {"exact", "kernel", "permutation"}, default="exact"
        Estimator; see the module documentation. ``"exact"`` is refused above
        ``MAX_EXACT_PLAYERS`` (16) players.
    groups : list of lists, or dict of name -> list, default=None
        Players as groups of columns (positions, or names for a DataFrame). The groups must
        partition the columns. Default: each column is a player.
    n_samples : int or "auto", default="auto"
        Coalitions evaluated per row (kernel; permutation uses ``n_samples // (2 (M - 1))``
        antithetic pairs of permutations). ``"auto"`` is ``min(2**M - 2, max(8 M + 64, 128),
        4096)``, and four times that (at most ``2**M - 2``) for ``method="kernel"`` with a
        shared design (see ``kernel_design``).
    batch_size : int, default=None
        Explained rows per task (``DEFAULT_BATCH_SIZE``, 128, when None). Tasks are fixed
        independently of ``n_jobs`` so results do not depend on it.
    max_batch_rows : int, default=50_000
        Largest number of hybrid rows passed to ``f`` in one call: memory stays bounded for any
        number of rows.
    random_state : int, RandomState instance or None, default=None
        Seed of the coalition or permutation sample (shared by every row).
    n_jobs : int, default=None
        Parallel tasks over row chunks with joblib; None means 1.
    progress : bool, default=False
        Show a tqdm progress bar over explained rows.
    tol : float or None, default=0.01
        Kernel and permutation stop sampling when the relative L1 change of a chunk's
        attributions between two doubling rounds is at most ``tol``. None uses the whole budget.
    evaluator : object, default=None
        A faster, exact way to compute coalition values, from
        :func:`~explainable_pipeline.explainers._evaluators.pipeline_evaluator` (column-wise
        preprocessors, kernel machines). It is used for a chunk of rows only after it
        reproduced ``f`` on probe coalitions of that chunk; otherwise, or when it does not
        apply, hybrid raw rows go through ``f``. ``ShapleyResult.evaluation`` records the path.
    kernel_design : {"auto", "independent", "shared"}, default="auto"
        Coalition design of ``method="kernel"``. ``"independent"``: one design per background
        row (single-baseline games, averaged with the weights); each coalition costs one model
        row per background row either way, and independent errors average out. ``"shared"``:
        one design for the background-averaged game; better when averaging over the background
        is much cheaper than separate model rows, as on the ``"kernel-machine"`` path with an
        rbf kernel (the average is one matrix product). ``"auto"`` picks ``"shared"`` exactly
        then.

    Returns
    -------
    ShapleyResult
        ``values`` (n_rows, n_players, n_outputs), ``base_values`` (n_outputs,),
        ``n_evaluations``, ``method``, ``converged``, ``evaluation``.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 2]
    >>> res = shapley_values(f, np.array([[1.0, 2.0, 3.0]]), np.zeros((1, 3)))
    >>> res.values[0, :, 0].round(12).tolist()
    [1.0, 1.0, 3.0]
    """
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}; got {method!r}.")
    if not callable(f):
        raise TypeError(f"`f` must be callable; got {type(f).__name__}.")
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D (n_rows, n_columns); got shape {X.shape}.")
    if not isinstance(max_batch_rows, numbers.Integral) or max_batch_rows < 1:
        raise ValueError(f"`max_batch_rows` must be a positive integer; got {max_batch_rows!r}.")
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer or None; got {batch_size!r}.")
    if tol is not None and not tol >= 0:
        raise ValueError(f"`tol` must be a non-negative float or None; got {tol!r}.")

    table = _Table(X, background)
    m = table.n_background
    if m == 0:
        raise ValueError("`background` has no rows.")
    if background_weights is None:
        w = np.full(m, 1.0 / m)
    else:
        w = np.asarray(background_weights, dtype=float).reshape(-1)
        if w.shape[0] != m or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(
                f"`background_weights` must be {m} non-negative finite numbers with a positive "
                f"sum; got shape {w.shape}."
            )
        w = w / w.sum()
    player_cols = _player_columns(groups, X, table.n_columns)
    M = player_cols.shape[0]

    f_background = _as_outputs(f(table.background_rows()), m)  # (m, O)
    prepared = None
    if evaluator is not None:
        prepared = evaluator.prepare(table.background_rows(), player_cols, w)
        if prepared is None:
            logger.debug("shapley_values: no fast evaluation path (%s); hybrid raw rows go "
                         "through f", getattr(evaluator, "reason", None))
    base = w @ f_background  # (O,)
    n_eval = m
    n_rows = X.shape[0]

    if kernel_design not in ("auto", "independent", "shared"):
        raise ValueError(
            "`kernel_design` must be 'auto', 'independent' or 'shared'; got "
            f"{kernel_design!r}."
        )
    if kernel_design == "auto":
        cheap = prepared is not None and getattr(prepared, "cheap_background_mean", False)
        kernel_design = "shared" if cheap else "independent"

    if n_samples == "auto":
        budget = _auto_budget(M, cheap=method == "kernel" and kernel_design == "shared")
    elif isinstance(n_samples, numbers.Integral) and n_samples >= 1:
        budget = int(n_samples)
    else:
        raise ValueError(f"`n_samples` must be a positive integer or 'auto'; got {n_samples!r}.")

    rng = check_random_state(random_state)
    n_rounds = 4 if tol is not None else 1
    if method == "exact":
        if M > MAX_EXACT_PLAYERS:
            raise ValueError(
                f"method='exact' enumerates 2**M coalitions and accepts at most "
                f"{MAX_EXACT_PLAYERS} players; got {M}. Use method='kernel' or 'permutation', "
                "or merge columns with `groups`."
            )
        masks = _all_masks(M)
        design = (masks, _exact_weights(masks))
    elif method == "kernel":
        # one independent design per background row (single-baseline games, averaged)
        if kernel_design == "shared":
            design = _KernelDesign(M, budget, rng, n_rounds)
        else:
            design = [_KernelDesign(M, budget, rng, n_rounds) for _ in range(m)]
    else:
        design = [_permutation_design(M, budget, rng, n_rounds) for _ in range(m)]

    if n_rows == 0:
        return ShapleyResult(np.zeros((0, M, base.shape[0])), base, n_eval, method, None,
                             "black-box" if prepared is None else prepared.name)

    starts = list(range(0, n_rows, batch_size))
    chunks = [
        X.iloc[s : s + batch_size] if isinstance(X, pd.DataFrame) else X[s : s + batch_size]
        for s in starts
    ]
    task = delayed(_run_chunk)
    args = (w, player_cols, f_background, max_batch_rows, method, design, tol, prepared)
    bar = tqdm(total=n_rows, disable=not progress, desc=f"shapley ({method})", unit="row")
    results = []
    try:
        if n_jobs in (None, 1) or len(chunks) == 1:
            for chunk in chunks:
                results.append(_run_chunk(f, table, chunk, *args))
                bar.update(chunk.shape[0])
        else:
            gen = Parallel(n_jobs=n_jobs, return_as="generator")(
                task(f, table, chunk, *args) for chunk in chunks
            )
            for chunk, res in zip(chunks, gen, strict=False):
                results.append(res)
                bar.update(chunk.shape[0])
    finally:
        bar.close()
    values = np.concatenate([r[0] for r in results], axis=0)
    n_eval += sum(r[1] for r in results)
    flags = [r[2] for r in results]
    converged = None if any(fl is None for fl in flags) else all(flags)
    paths = [r[3] for r in results]
    evaluation = "black-box"
    if prepared is not None:
        fallbacks = sum(p == "black-box" for p in paths)
        if fallbacks < len(paths):
            evaluation = prepared.name
            if fallbacks:
                evaluation += f" (black-box on {fallbacks} of {len(paths)} chunks)"
    logger.debug("shapley_values: method=%s players=%d evaluations=%d evaluation=%s", method, M,
                 n_eval, evaluation)
    return ShapleyResult(values, base, int(n_eval), method, converged, evaluation)
