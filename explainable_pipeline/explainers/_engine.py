"""Coalition values of one chunk of explained rows: a cache, and the checked choice of a fast path."""

from __future__ import annotations

import logging

import numpy as np

from ._hybrid import _as_outputs, _HybridGame, _Table

logger = logging.getLogger(__name__)


_VERIFY_RTOL = 1e-9
"""A faster evaluation path is used for a chunk only when it reproduces the model's own output
on probe coalitions to ``_VERIFY_RTOL * max(1, max |output|)``."""

_N_PROBES = 4
_N_MEAN_PROBES = 1


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
        self.n_evaluations = 0
        self.black_box = _HybridGame(f, table.chunk(X_chunk), player_cols, bg_weights,
                                     max_batch_rows, self.n_out)
        self.game = self.black_box
        self.path = "black-box"
        game = None
        if evaluator is not None:
            try:
                game = evaluator.bind(X_chunk, max_batch_rows)
            except Exception as exc:  # noqa: BLE001 - rows the path cannot read: the black box
                logger.info("evaluation path %s cannot take these rows (%r); using the black "
                            "box", getattr(evaluator, "name", type(evaluator).__name__), exc)
        # with a path to check, the rows' outputs come from the probes' call when the full
        # coalition's hybrid rows are the rows themselves (same values and dtypes)
        merged = game is not None and table.keeps_rows(X_chunk)
        if not merged:
            fx = _as_outputs(f(X_chunk), self.n)
            if fx.shape[1] != self.n_out:
                raise ValueError(
                    f"`f` returned {fx.shape[1]} outputs on X but {self.n_out} on the background."
                )
            self.fx = fx
            self.n_evaluations = self.n
        if game is not None and self._verify(game, merged):
            self.game = game
            self.path = evaluator.name
        self._mean_checked = False  # a path's background mean is checked at its first use
        self._out = None  # all outputs, or the one kept by keep_output
        self.sums_broken = False
        self._index: dict[bytes, int] = {}
        self._blocks: list[np.ndarray] = []  # (n, k, O) blocks in index order
        self._stacked = np.empty((self.n, 0, self.n_out))

    def keep_output(self, o: int) -> None:
        """From now on, coalition values hold output ``o`` alone (the full and empty
        coalitions' too): the estimators then work on that output only. Every evaluated
        coalition is checked to keep the outputs summing to one (``sums_broken`` otherwise)."""
        self._out = slice(o, o + 1)
        self.n_out = 1
        self.fx = self.fx[:, self._out]
        self.f_background = self.f_background[:, self._out]
        self.base = self.base[self._out]
        self._index, self._blocks = {}, []
        self._stacked = np.empty((self.n, 0, 1))

    def _game(self, method: str, *args) -> np.ndarray:
        out = getattr(self.game, method)(*args)
        if self._out is None:
            return out
        if simplex_gap(out) > 1e-9:
            self.sums_broken = True
        return out[..., self._out]

    def _verify(self, game, merged: bool) -> bool:
        """Whether ``game`` reproduces ``f`` on probe coalitions of this chunk. With
        ``merged``, sets ``fx`` (the model's output on the rows) from the same model call as
        the probes' hybrid rows: the full coalition's hybrid rows are the rows themselves."""
        M, m = self.player_cols.shape[0], self.w.shape[0]
        rng = np.random.RandomState(M * 7919 + m)
        bg = rng.randint(m, size=_N_PROBES + 2)
        masks = rng.rand(_N_PROBES + 2, M) < 0.5
        masks[0], masks[1] = True, False
        if merged:
            model = self.black_box.evaluate(np.concatenate([masks[:1], masks[2:]]),
                                            np.concatenate([bg[:1], bg[2:]]))
            self.fx, mixed = model[:, 0], model[:, 1:]
        else:
            mixed = self.black_box.evaluate(masks[2:], bg[2:])
        try:
            got = game.evaluate(masks, bg)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the black box
            logger.info("evaluation path %s failed on probes (%r); using the black box",
                        type(game).__name__, exc)
            return False
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

    def _check_mean(self) -> None:
        """Check the path's background-mean values against the model before their first use.

        Paths compute the weighted mean over the background with their own code (the shared
        design and exact enumeration use it; the per-background-row designs never do), so
        the probes of :meth:`_verify`, which are single background rows, do not cover it.
        One mixed coalition through the model (``n_rows * n_background`` rows, once per
        chunk); if they differ, the chunk goes on with the black box (values already
        computed on the path were checked by :meth:`_verify` and are kept).
        """
        self._mean_checked = True
        if self.game is self.black_box:
            return
        M, m = self.player_cols.shape[0], self.w.shape[0]
        rng = np.random.RandomState(M * 7919 + m + 1)
        masks = rng.rand(_N_MEAN_PROBES, M) < 0.5
        masks[:, 0], masks[:, -1] = True, M < 2  # mixed (interior) coalitions
        bg = np.full(_N_MEAN_PROBES, -1, dtype=np.int64)
        want = self.black_box.evaluate(masks, bg)
        try:
            got = self.game.evaluate(masks, bg)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the black box
            logger.info("evaluation path %s failed on background-mean probes (%r); using "
                        "the black box", type(self.game).__name__, exc)
            got = None
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        ok = got is not None and got.shape == want.shape and bool(
            np.abs(got - want).max(initial=0.0) <= _VERIFY_RTOL * scale)
        if not ok:
            if got is not None:
                logger.info("evaluation path %s differs from the model on background-mean "
                            "probes; using the black box", type(self.game).__name__)
            self.n_evaluations += self.game.n_evaluations
            self.game, self.path = self.black_box, "black-box"

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
            if not self._mean_checked and (bg_arr[pos] < 0).any():
                self._check_mean()
            block = self._game("evaluate", masks[pos], bg_arr[pos])
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

    def values_rows(self, rows: np.ndarray, masks: np.ndarray, bg) -> np.ndarray:
        """Values (len(rows), K, O) of ``masks`` for some rows against background rows ``bg``
        (an int or one per mask; ``-1``: the weighted background mean). No cache: callers
        evaluate each coalition once."""
        masks = np.asarray(masks, dtype=bool)
        K, M = masks.shape
        bg = np.broadcast_to(np.asarray(bg, dtype=np.int64), (K,))
        out = np.empty((len(rows), K, self.n_out))
        sizes = masks.sum(axis=1)
        interior = np.flatnonzero((sizes > 0) & (sizes < M))
        if interior.size:
            if not self._mean_checked and (bg[interior] < 0).any():
                self._check_mean()
            out[:, interior] = self._game("evaluate", masks[interior], bg[interior], rows)
        empty = np.flatnonzero(sizes == 0)
        if empty.size:
            single = self.f_background[np.maximum(bg[empty], 0)]
            out[:, empty] = np.where((bg[empty] < 0)[:, None], self.base, single)[None]
        out[:, sizes == M] = self.fx[rows][:, None, :]
        return out

    def values_triples(self, rows: np.ndarray, masks: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Values (T, O) of single (row, coalition, background row >= 0) triples; the game
        must have ``evaluate_triples`` (the hybrid-row paths)."""
        masks = np.asarray(masks, dtype=bool)
        sizes = masks.sum(axis=1)
        M = masks.shape[1]
        out = np.empty((masks.shape[0], self.n_out))
        interior = np.flatnonzero((sizes > 0) & (sizes < M))
        if interior.size:
            out[interior] = self._game("evaluate_triples", rows[interior], masks[interior],
                                       bg[interior])
        empty, full = sizes == 0, sizes == M
        out[empty] = self.f_background[bg[empty]]
        out[full] = self.fx[rows[full]]
        return out

    @property
    def evaluations(self) -> int:
        n = self.n_evaluations + self.black_box.n_evaluations
        return n + (self.game.n_evaluations if self.game is not self.black_box else 0)


_BLAS = None


def single_threaded_blas():
    """A context in which BLAS runs on one thread.

    The engine's own numerics are many small and medium matrix products (model paths, one
    regression per game): BLAS threads only add overhead there, several-fold on a busy machine
    (measured with OpenBLAS on 2 cores). Parallelism comes from ``n_jobs`` over row chunks.
    """
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _rel_change(new: np.ndarray, old: np.ndarray) -> float:
    return float(np.abs(new - old).sum() / max(np.abs(new).sum(), 1e-300))


def simplex_gap(P: np.ndarray) -> float:
    """How far the outputs (last axis) of the rows of ``P`` sum from one, at most (NaN if any
    output is NaN; 0 for no rows)."""
    return float(np.abs(P.sum(axis=-1) - 1.0).max(initial=0.0))
