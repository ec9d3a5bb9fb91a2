"""The compiled loops of the TreeSHAP engine: a range of trees, every row, into one buffer.

``kernel(pairs)`` returns the loop that adds the contributions of trees ``t0..t1-1`` to
``phi`` (outputs, players, rows) and, for ``pairs=True``, the off-diagonal interaction
values to ``inter`` (outputs, players, players, rows). Per tree: rows go down the tree
``_BLOCK`` at a time (``_fail_block``), then every leaf turns each row's failed-player mask
``m`` into its entries and adds them to the row's players. A leaf's entries depend on the
row only through ``m``: when ``2**d`` is small next to the rows they are tabulated (an index
of ``2**d`` slots, filled lazily the first time a mask is met, already multiplied by the
leaf's value) and every later row with that mask costs ``d`` additions; otherwise they are
computed per row. Both give the same bits: an entry is the same function of the same inputs
either way. The additions run player by player over the block's rows (the buffers are
row-minor), which the compiler turns into vector gathers.

Each row's sums run over the range's trees, leaves and path players in a fixed order that
depends on nothing but the model, so the values are the same whatever rows are passed
together (chunks, threads). The driver (``_treeshap``) fixes the ranges and adds their
buffers in a fixed order.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._treeshap_entries import entry, zeta_fill
from ._treeshap_masks import _BLOCK, _fail_block
from ._treeshap_pairs import pair_entry

#: A leaf tabulates its entries when 2**d is at most this many times the rows of the call.
TABLE_RATIO = 2
#: Largest path (distinct players) tabulated, for values and for pairs.
TABLE_MAX_D = 16
TABLE_MAX_D_PAIRS = 14
#: Table entries (floats) one tree may hold at once; leaves past it compute directly.
TABLE_BUDGET = 1 << 22


def _make_kernel(pairs: bool):
    """The tree-range loop; ``pairs`` is a compile-time constant (numba prunes the other
    branch), so values alone never compile the interaction code."""

    @jit
    def run(XT, left, right, feature, thr, kind, miss, nan_left, unk_left, cat_lo, cat_mid,
            cat_hi, cats, cast32, value, tree_start, tree_output, tree_leaf0, node_pos,
            leaf_node, path_len, path_player, path_z, interventional, bg_off, bg_fail, bg_pop,
            bg_w, bg_zeta, G, Q, t0, t1, phi, inter):  # fmt: skip
        """Add trees ``t0..t1-1`` to ``phi`` (outputs, players, rows) and, with pairs, to
        ``inter`` (outputs, players, players, rows)."""
        n_rows = XT.shape[1]
        width = value.shape[1]
        max_d = path_player.shape[1]
        max_tab = TABLE_MAX_D_PAIRS if pairs else TABLE_MAX_D
        max_stride = max_d * width * (max_d + 1 if pairs else 1)
        zs = np.empty(max_d)
        fac = np.empty(max_d)
        acc = np.empty(max_d)
        acc2 = np.empty((max_d, max_d))
        e = np.empty(max_d)
        e2 = np.empty((max_d, max_d))
        # sizes of the per-tree buffers: the largest tree of the range
        max_nodes = 1
        max_leaves = 1
        max_idx = 0
        max_tab_f = 0
        max_z = 0
        for t in range(t0, t1):
            max_nodes = max(max_nodes, tree_start[t + 1] - tree_start[t])
            max_leaves = max(max_leaves, tree_leaf0[t + 1] - tree_leaf0[t])
            n_idx, n_tab, n_z = 0, 0, 0
            for li in range(tree_leaf0[t], tree_leaf0[t + 1]):
                d = path_len[li]
                size = np.int64(1) << min(d, 62)
                if d <= max_tab and size <= TABLE_RATIO * n_rows:
                    n_idx += size
                    n_tab += min(size, n_rows) * d * width * (d + 1 if pairs else 1)
                if _zeta_fits(interventional, bg_zeta[li], bg_off[li], bg_off[li + 1], d, n_z):
                    n_z += (d + 1) * size
            max_idx = max(max_idx, n_idx)
            max_tab_f = max(max_tab_f, min(n_tab, TABLE_BUDGET))
            max_z = max(max_z, n_z)
        fail = np.empty((max_nodes, _BLOCK), np.int64)
        index = np.empty(max_idx, np.int64)
        # the tables, then one block's per-row entries (leaves computed row by row)
        table = np.empty(max_tab_f + _BLOCK * max_stride)
        scratch = max_tab_f
        Z = np.empty(max_z)
        slot = np.empty(_BLOCK, np.int64)
        tabulated = np.empty(max_leaves, np.bool_)
        ioff = np.empty(max_leaves, np.int64)
        toff = np.empty(max_leaves, np.int64)
        zoff = np.empty(max_leaves, np.int64)
        nslot = np.empty(max_leaves, np.int64)
        for t in range(t0, t1):
            ts, te = tree_start[t], tree_start[t + 1]
            leaf0 = tree_leaf0[t]
            n_lt = tree_leaf0[t + 1] - leaf0
            used_i, used_t, used_z = 0, 0, 0
            for j in range(n_lt):
                li = leaf0 + j
                d = path_len[li]
                tabulated[j] = False
                zoff[j] = -1
                size = np.int64(1) << min(d, 62)
                cost = min(size, n_rows) * d * width * (d + 1 if pairs else 1)
                if d <= max_tab and size <= TABLE_RATIO * n_rows and used_t + cost <= max_tab_f:
                    tabulated[j] = True
                    ioff[j] = used_i
                    toff[j] = used_t
                    nslot[j] = 0
                    for i in range(used_i, used_i + size):
                        index[i] = -1
                    used_i += size
                    used_t += cost
                if _zeta_fits(interventional, bg_zeta[li], bg_off[li], bg_off[li + 1], d, used_z):
                    zoff[j] = used_z
                    zeta_fill(d, bg_fail, bg_w, bg_off[li], bg_off[li + 1], Z, used_z)
                    used_z += (d + 1) * size
            for r0 in range(0, n_rows, _BLOCK):
                nb = min(_BLOCK, n_rows - r0)
                _fail_block(XT, r0, nb, ts, te, left, right, feature, thr, kind, miss, nan_left,
                            unk_left, cat_lo, cat_mid, cat_hi, cats, cast32, node_pos, fail)  # fmt: skip
                for j in range(n_lt):
                    li = leaf0 + j
                    d = path_len[li]
                    b0, b1 = bg_off[li], bg_off[li + 1]
                    if d == 0 or (interventional and b0 == b1):
                        continue  # no player on the path, or no background reaches the leaf
                    full = (np.int64(1) << d) - 1
                    row_fail = fail[leaf_node[li] - ts]
                    v = value[leaf_node[li]]
                    z = path_z[li]
                    zo = zoff[j]
                    stride = d * width * (d + 1 if pairs else 1)
                    # 1. each row's entries: a slot of the leaf's table (filled on first
                    #    sight of the mask), or computed for the row into the scratch block
                    for r in range(nb):
                        m = full & ~row_fail[r]
                        if tabulated[j]:
                            s = index[ioff[j] + m]
                            if s >= 0:
                                slot[r] = s
                                continue
                            s = nslot[j]
                            nslot[j] = s + 1
                            index[ioff[j] + m] = s
                            slot[r] = s
                            o = toff[j] + s * stride
                        else:
                            o = scratch + r * stride
                            slot[r] = o
                        entry(m, d, z, interventional, zo, Z, bg_fail, bg_pop, bg_w, b0, b1, G,
                              Q, e, zs, fac, acc)  # fmt: skip
                        for k in range(d):
                            for w in range(width):
                                table[o + k * width + w] = e[k] * v[w]
                        if pairs:
                            pair_entry(m, d, z, interventional, zo, Z, bg_fail, bg_pop, bg_w,
                                       b0, b1, G, Q, e2, zs, fac, acc, acc2)  # fmt: skip
                            o += d * width
                            for k in range(d):
                                for k2 in range(d):
                                    for w in range(width):
                                        table[o + (k * d + k2) * width + w] = e2[k, k2] * v[w]
                    if tabulated[j]:
                        base = toff[j]
                        for r in range(nb):
                            slot[r] = base + slot[r] * stride
                    # 2. add them to the rows, one player at a time (contiguous over rows)
                    _accumulate(phi, inter, table, slot, nb, r0, d, width, tree_output[t],
                                path_player[li], pairs)  # fmt: skip

    return run


@jit(inline="always")
def _zeta_fits(interventional, zeta, b0, b1, d, used):
    """Whether a leaf takes its entries from graded background sums: chosen for it (model and
    background alone) and its ``(d + 1) 2**d`` sums fit the tree's budget after ``used``
    (leaves in a fixed order: the choice never depends on the rows)."""
    size = np.int64(1) << min(d, 62)
    return interventional and zeta and b0 < b1 and used + (d + 1) * size <= TABLE_BUDGET


@jit
def _accumulate(phi, inter, table, slot, nb, r0, d, width, out0, players, pairs):
    """Add the block's entries (table offsets ``slot``) to each path player's row of sums."""
    for w in range(width):
        for k in range(d):
            row = phi[out0 + w, players[k]]
            o = k * width + w
            for r in range(nb):
                row[r0 + r] += table[slot[r] + o]
        if pairs:
            for k in range(d):
                for k2 in range(d):
                    if k2 != k:
                        row = inter[out0 + w, players[k], players[k2]]
                        o = d * width + (k * d + k2) * width + w
                        for r in range(nb):
                            row[r0 + r] += table[slot[r] + o]


_KERNELS: dict = {}


def kernel(pairs: bool):
    """The compiled tree-range loop (built on first use)."""
    if pairs not in _KERNELS:
        _KERNELS[pairs] = _make_kernel(pairs)
    return _KERNELS[pairs]
