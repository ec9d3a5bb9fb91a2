"""Compiled TreeSHAP over players (raw columns, groups or engineered columns), with numba.

The algorithm (a leaf-path decomposition in the spirit of GPUTreeShap, FastTreeSHAP v2 and
WOODELF):

* Every split is labelled with its **player** (the raw column its engineered column comes
  from). Along the path to a leaf, the splits of one player merge into one condition: the
  row *satisfies* the player when it takes the path's direction at every split on it.
  A leaf with ``d`` distinct players on its path sees a row only through the bit mask
  ``m`` of satisfied players.
* The value of a coalition ``S`` is a sum over leaves of product games. Path-dependent
  TreeSHAP: ``v_l * prod_{j in S} o_j * prod_{j not in S} z_j`` with ``o_j`` the satisfied
  bit and ``z_j`` the product of the cover ratios of the player's splits on the path.
  Interventional TreeSHAP with background rows ``b``: the mean over ``b`` of
  ``v_l * prod_{j in S} o_j(x) * prod_{j not in S} o_j(b)``. Both depend on the row only
  through ``m``, so a leaf's contribution to each player is a function of ``m``: it is
  computed once per distinct mask met (a lazily filled table of ``2**d`` entries when that
  is small next to the rows, directly otherwise) and added to every row with that mask.
  Rows cost ``O(nodes + leaves * d)`` per tree (``_treeshap_masks``, ``_treeshap_kernel``).
* Path-dependent entries: a polynomial in ``t`` (``prod (z_j + t)`` over satisfied
  players, ``O(d**2)``), divided by one factor per player. Interventional entries: the
  background rows of each leaf are first reduced to their distinct masks with summed
  weights (``K_l <= min(n_background, 2**d)``); an entry costs ``O(K_l + d)``, or
  ``O(d**2)`` from the background's graded subset sums when ``K_l`` is large
  (``_treeshap_entries``). The
  background is never paired with the rows: the work is ``O(rows * leaves * d +
  distinct masks * K_l * d)``, not ``O(rows * background * leaves)``.
* Shapley interaction values (shap's convention: half the Shapley interaction index off
  the diagonal, the diagonal the remainder of the Shapley value) come from the same
  masks, with closed forms for product games (``_treeshap_pairs``).
* Threads split the **trees**, so each leaf's table is built once: the trees are cut into
  ``N_BLOCKS`` fixed ranges (balanced by nodes, a function of the model alone); each range
  adds its contributions to its own buffer and the buffers are added in range order. Every
  row's sums therefore run in one order whatever ``n_jobs`` and however the rows are
  chunked: the values are the same to the last bit. Rows are processed in chunks that keep
  the buffers under ``BUFFER_FLOATS`` floats.

All weights are ``G[p, q] = p! q! / (p + q + 1)!``. Everything is float64; tests hold it to
the boosters' ``pred_contrib`` and to brute-force enumeration at 1e-9.
"""


from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._tree_model import TreeEnsemble
from ._treeshap_entries import G_TABLE, QUAD
from ._treeshap_kernel import TABLE_MAX_D, kernel
from ._treeshap_masks import _ens_args, _max_depth, _paths, background_sets, predict_raw

__all__ = ["MAX_PATH_PLAYERS", "TreeShap", "predict_raw"]

#: Leaves with more distinct players than this on their path are not supported (mask bits).
MAX_PATH_PLAYERS = 62
#: Fixed tree ranges: the unit of parallel work and of the order of the sums.
N_BLOCKS = 8
#: Floats of the per-range buffers of one chunk of rows (64 MB).
BUFFER_FLOATS = 1 << 23
#: Rows x nodes under which one thread does the work (threads cost more than they save).
_MIN_PARALLEL_WORK = 1 << 20


def tree_blocks(tree_start: np.ndarray, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """Boundaries (n_ranges + 1,) of contiguous tree ranges of about equal node counts."""
    n_trees = len(tree_start) - 1
    k = max(1, min(n_blocks, n_trees))
    sizes = np.diff(tree_start)
    cum = np.concatenate([[0], np.cumsum(sizes)])
    targets = cum[-1] * np.arange(1, k) / k
    cuts = np.searchsorted(cum, targets, side="left")
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 1, n_trees - 1), [n_trees]]))
    return bounds.astype(np.int64)


def zeta_leaves(path_len: np.ndarray, n_sets: np.ndarray) -> np.ndarray:
    """Leaves whose interventional entries come from graded subset sums of the background:
    when its distinct failed sets are many next to the ``d**2`` cost of those sums (a
    choice of the model and the background alone, so it never depends on the rows)."""
    d = path_len.astype(np.int64)
    return (d <= TABLE_MAX_D) & (n_sets >= 4 * (d + 1) * np.maximum(d, 1))


class TreeShap:
    """TreeSHAP of one :class:`TreeEnsemble` with a given player of each model column.

    Parameters
    ----------
    ensemble : TreeEnsemble
    player_of : ndarray of int, shape (n_model_columns,)
        The player (0..n_players-1) of each column the trees read.
    n_players : int
    """

    def __init__(self, ensemble: TreeEnsemble, player_of: np.ndarray, n_players: int):
        self.ensemble = ensemble
        self.player_of = np.ascontiguousarray(player_of, dtype=np.int64)
        self.n_players = int(n_players)
        ens = ensemble
        max_depth = max(int(_max_depth(ens.left, ens.right, ens.tree_start)), 1)
        (self.node_pos, self.leaf_node, self.path_len, self.path_player,
         self.path_z) = _paths(ens.left, ens.right, ens.cover, np.maximum(ens.feature, 0),
                               self.player_of, ens.tree_start, max_depth)  # fmt: skip
        too_long = int(self.path_len.max(initial=0))
        if too_long > MAX_PATH_PLAYERS:
            raise ValueError(
                f"A leaf path has {too_long} distinct players; the compiled TreeSHAP engine "
                f"supports at most {MAX_PATH_PLAYERS}."
            )
        # leaves are numbered tree by tree in node order: tree t owns tree_leaf0[t:t+2]
        self.tree_leaf0 = np.searchsorted(self.leaf_node, ens.tree_start).astype(np.int64)
        self.blocks = tree_blocks(ens.tree_start)
        values = ens.value[self.leaf_node]  # (n_leaves, width)
        z_prod = np.prod(np.where(self.path_player >= 0, self.path_z, 1.0), axis=1)
        self.expected_path = ens.offset.copy()
        self._scatter_expected(self.expected_path, values * z_prod[:, None])
        n_leaves = len(self.leaf_node)
        self._no_background = (np.zeros(n_leaves + 1, np.int64), np.zeros(0, np.int64),
                               np.zeros(0, np.int64), np.zeros(0), np.zeros(n_leaves, bool))  # fmt: skip

    def _leaf_tree(self) -> np.ndarray:
        return np.searchsorted(self.ensemble.tree_start, self.leaf_node, side="right") - 1

    def _scatter_expected(self, out: np.ndarray, per_leaf: np.ndarray) -> None:
        outputs = self.ensemble.tree_output[self._leaf_tree()]
        for w in range(per_leaf.shape[1]):
            np.add.at(out, outputs + w, per_leaf[:, w])

    def background(self, Xb: np.ndarray, weights: np.ndarray | None = None):
        """Prepare interventional TreeSHAP against background rows (model-input matrix)."""
        ens = self.ensemble
        Xb = np.ascontiguousarray(Xb, dtype=np.float64)
        w = np.full(Xb.shape[0], 1.0 / Xb.shape[0]) if weights is None else \
            np.asarray(weights, dtype=np.float64) / np.sum(weights)  # fmt: skip
        off, fail, pop, bw = background_sets(
            np.ascontiguousarray(Xb.T), w, *_ens_args(ens), ens.tree_start, self.tree_leaf0,
            self.node_pos, self.leaf_node, self.path_len,
        )
        # expected value: the weighted mean background prediction (rows failing no player)
        reach = np.zeros(len(self.leaf_node))
        leaf_of = np.repeat(np.arange(len(self.leaf_node)), np.diff(off))
        hit = fail == 0
        np.add.at(reach, leaf_of[hit], bw[hit])
        expected = ens.offset.copy()
        self._scatter_expected(expected, ens.value[self.leaf_node] * reach[:, None])
        zeta = zeta_leaves(self.path_len, np.diff(off))
        return (off, fail, pop, bw, zeta), expected

    def values(self, X: np.ndarray, background=None, *, interactions: bool = False,
               n_jobs: int | None = 1, _strategy: int = 0):  # fmt: skip
        """Attributions (n_outputs, n_rows, n_players), expected (n_outputs,), interactions.

        ``background``: the result of :meth:`background` (interventional), or None
        (path-dependent). ``interactions=True`` also returns (n_outputs, n_rows, n_players,
        n_players) Shapley interaction values whose rows sum to the attributions.
        ``_strategy`` (tests): 1 computes every interventional entry from the background
        sets, 2 from their graded subset sums.
        """
        ens = self.ensemble
        X = np.ascontiguousarray(X, dtype=np.float64)
        if background is None:
            lists, expected, interventional = self._no_background, self.expected_path, False
        else:
            (lists, expected), interventional = background, True
        if _strategy:
            zeta = np.zeros_like(lists[4]) if _strategy == 1 else self.path_len <= TABLE_MAX_D
            lists = (*lists[:4], zeta)
        n, P, K = X.shape[0], self.n_players, ens.n_outputs
        values = np.empty((K, n, P))
        inter = np.empty((K, n, P, P)) if interactions else None
        args = (*_ens_args(ens), ens.value, ens.tree_start, ens.tree_output, self.tree_leaf0,
                self.node_pos, self.leaf_node, self.path_len, self.path_player, self.path_z,
                interventional, *lists, G_TABLE, QUAD)  # fmt: skip
        n_ranges = len(self.blocks) - 1
        jobs = _n_threads(n_jobs, n * len(ens.left))
        per_row = K * P * (P + 1 if interactions else 1)
        chunk = max(1, min(n, BUFFER_FLOATS // (per_row * (2 if jobs == 1 else n_ranges))))
        run = kernel(bool(interactions))
        XT = X.T
        pool = ThreadPoolExecutor(jobs) if jobs > 1 else None
        try:
            for a in range(0, n, chunk):
                b = min(n, a + chunk)
                phi, pairs = _chunk(run, np.ascontiguousarray(XT[:, a:b]), args, self.blocks,
                                    (K, P), interactions, pool, jobs)  # fmt: skip
                values[:, a:b] = phi.transpose(0, 2, 1)
                if interactions:
                    inter[:, a:b] = pairs.transpose(0, 3, 1, 2)
        finally:
            if pool is not None:
                pool.shutdown()
        if not interactions:
            return values, expected, None
        idx = np.arange(P)
        inter[:, :, idx, idx] = 0.0
        inter[:, :, idx, idx] = values - inter.sum(axis=3)
        return values, expected, inter


def _chunk(run, xt, args, blocks, shape, interactions, pool, jobs):
    """Every tree range on the rows ``xt``: range 0 into the result, each later range into
    a zeroed buffer then added, in range order (the same sums whatever ``jobs``). Returns
    (outputs, players, rows) sums and (outputs, players, players, rows) pair sums."""
    n_ranges = len(blocks) - 1
    n = xt.shape[1]
    K, P = shape

    def zeros(count=1):
        phi = np.zeros((count, K, P, n))
        pairs = np.zeros((count, K, P, P, n) if interactions else (count, 1, 1, 1, 1))
        return phi, pairs

    def range_into(i, phi, pairs, lo=0, hi=n):
        sub = xt if (lo, hi) == (0, n) else np.ascontiguousarray(xt[:, lo:hi])
        if (lo, hi) != (0, n):  # rows split between threads: a contiguous part, copied back
            part, part_pairs = np.zeros(phi.shape[:-1] + (hi - lo,)), None
            part_pairs = np.zeros(pairs.shape[:-1] + (hi - lo,)) if interactions else pairs
            run(sub, *args, blocks[i], blocks[i + 1], part, part_pairs)
            phi[..., lo:hi] = part
            if interactions:
                pairs[..., lo:hi] = part_pairs
            return
        run(sub, *args, blocks[i], blocks[i + 1], phi, pairs)

    if pool is None:
        (phi,), (pairs,) = zeros()
        range_into(0, phi, pairs)
        if n_ranges > 1:
            (buf,), (buf_pairs,) = zeros()
            for i in range(1, n_ranges):
                buf[...] = 0.0
                buf_pairs[...] = 0.0
                range_into(i, buf, buf_pairs)
                phi += buf
                if interactions:
                    pairs += buf_pairs
        return phi, pairs
    bufs, pair_bufs = zeros(n_ranges)
    # more threads than ranges: the rows of each range are split too (rows are independent)
    parts = -(-jobs // n_ranges)
    cuts = np.linspace(0, n, parts + 1).astype(int)
    tasks = [(i, cuts[k], cuts[k + 1]) for i in range(n_ranges) for k in range(parts)
             if cuts[k] < cuts[k + 1]]  # fmt: skip
    list(pool.map(lambda t: range_into(t[0], bufs[t[0]], pair_bufs[t[0]], t[1], t[2]), tasks))
    phi, pairs = bufs[0], pair_bufs[0]
    for i in range(1, n_ranges):
        phi += bufs[i]
        if interactions:
            pairs += pair_bufs[i]
    return phi, pairs


def _n_threads(n_jobs: int | None, work: int) -> int:
    if n_jobs is None:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = os.cpu_count() or 1
    return 1 if work < _MIN_PARALLEL_WORK else int(max(1, n_jobs))
