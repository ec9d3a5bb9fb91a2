"""Split decisions, leaf paths and failed-player masks of the compiled TreeSHAP engine.

A leaf's path lists its distinct players in first-seen order; every split knows the bit of
its player in the path order below it (``node_pos``). ``_fail_block`` pushes blocks of rows
down a tree and leaves, at every node, the mask of path players each row has failed so far:
a leaf sees a row only through that mask (see ``_treeshap``).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._tree_model import CAT, CAT_TRUNC, LE, NAN_AS_ZERO, ZERO, TreeEnsemble


# --------------------------------------------------------------------------- decisions
@jit(inline="always")
def _in_sorted(values, lo, hi, c):
    """Whether ``c`` is in the sorted ``values[lo:hi]`` (binary search)."""
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < c:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and values[lo] == c


@jit(inline="always")
def _goes_left(x, n, kind, thr, miss, nan_left, unk_left, cat_lo, cat_mid, cat_hi, cats,
               cast32):  # fmt: skip
    k = kind[n]
    if k >= CAT:
        if np.isnan(x):
            return nan_left[n]
        if k == CAT_TRUNC:
            if np.int64(x) < 0:
                return unk_left[n]
        elif x < 0.0:
            return unk_left[n]
        c = np.int64(x)
        if _in_sorted(cats, cat_lo[n], cat_mid[n], c):
            return True
        if _in_sorted(cats, cat_mid[n], cat_hi[n], c):
            return False
        return unk_left[n]
    m = miss[n]
    if np.isnan(x):
        if m == NAN_AS_ZERO:
            x = 0.0
        else:
            return nan_left[n]
    if m == ZERO and abs(x) <= 1e-35:
        return nan_left[n]
    if cast32:
        x = np.float64(np.float32(x))
    if k == LE:
        return x <= thr[n]
    return x < thr[n]


@jit
def _predict_raw(X, left, right, feature, thr, kind, miss, nan_left, unk_left, cat_lo, cat_mid,
                 cat_hi, cats, cast32, value, tree_start, tree_output, offset):  # fmt: skip
    n_rows = X.shape[0]
    width = value.shape[1]
    out = np.zeros((n_rows, offset.shape[0]))
    for r in range(n_rows):
        for j in range(offset.shape[0]):
            out[r, j] = offset[j]
        for t in range(tree_start.shape[0] - 1):
            n = tree_start[t]
            while left[n] >= 0:
                if _goes_left(X[r, feature[n]], n, kind, thr, miss, nan_left, unk_left, cat_lo,
                              cat_mid, cat_hi, cats, cast32):  # fmt: skip
                    n = left[n]
                else:
                    n = right[n]
            for w in range(width):
                out[r, tree_output[t] + w] += value[n, w]
    return out


def _ens_args(ens: TreeEnsemble) -> tuple:
    return (ens.left, ens.right, ens.feature, ens.threshold, ens.kind, ens.miss, ens.nan_left,
            ens.unk_left, ens.cat_lo, ens.cat_mid, ens.cat_hi, ens.cats, ens.cast32)  # fmt: skip


def predict_raw(ens: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    """``offset + sum of the leaves reached`` for each row (n_rows, n_outputs)."""
    return _predict_raw(np.ascontiguousarray(X, dtype=np.float64), *_ens_args(ens), ens.value,
                        ens.tree_start, ens.tree_output, ens.offset)  # fmt: skip


# --------------------------------------------------------------------------- paths
@jit
def _paths(left, right, cover, feature, player_of, tree_start, max_depth):
    """Per leaf: its distinct players in first-seen order and their cover-ratio products.

    Returns ``node_pos`` (the bit of each split's player in the path order below it),
    ``leaf_node``, ``path_len``, ``path_player`` and ``path_z`` (leaves in node order).
    """
    n_nodes = left.shape[0]
    n_leaves = 0
    for n in range(n_nodes):
        if left[n] < 0:
            n_leaves += 1
    node_pos = np.full(n_nodes, -1, np.int64)
    leaf_node = np.empty(n_leaves, np.int64)
    path_len = np.zeros(n_leaves, np.int64)
    path_player = np.full((n_leaves, max_depth), -1, np.int64)
    path_z = np.ones((n_leaves, max_depth))
    lvl_player = np.empty((max_depth + 1, max_depth), np.int64)
    lvl_z = np.empty((max_depth + 1, max_depth))
    lvl_len = np.zeros(max_depth + 1, np.int64)
    stack_node = np.empty(2 * max_depth + 2, np.int64)
    stack_level = np.empty(2 * max_depth + 2, np.int64)
    stack_parent = np.empty(2 * max_depth + 2, np.int64)
    li = 0
    for t in range(tree_start.shape[0] - 1):
        top = 0
        stack_node[0] = tree_start[t]
        stack_level[0] = 0
        stack_parent[0] = -1
        top = 1
        while top > 0:
            top -= 1
            n = stack_node[top]
            level = stack_level[top]
            parent = stack_parent[top]
            if level > 0:
                prev = level - 1
                length = lvl_len[prev]
                for k in range(length):
                    lvl_player[level, k] = lvl_player[prev, k]
                    lvl_z[level, k] = lvl_z[prev, k]
                p = player_of[feature[parent]]
                ratio = cover[n] / cover[parent] if cover[parent] > 0 else 0.0
                pos = -1
                for k in range(length):
                    if lvl_player[level, k] == p:
                        pos = k
                        break
                if pos < 0:
                    pos = length
                    lvl_player[level, pos] = p
                    lvl_z[level, pos] = ratio
                    length += 1
                else:
                    lvl_z[level, pos] *= ratio
                lvl_len[level] = length
                node_pos[parent] = pos
            else:
                lvl_len[0] = 0
            if left[n] < 0:
                leaf_node[li] = n
                path_len[li] = lvl_len[level]
                for k in range(lvl_len[level]):
                    path_player[li, k] = lvl_player[level, k]
                    path_z[li, k] = lvl_z[level, k]
                li += 1
            else:
                stack_node[top] = right[n]
                stack_level[top] = level + 1
                stack_parent[top] = n
                stack_node[top + 1] = left[n]
                stack_level[top + 1] = level + 1
                stack_parent[top + 1] = n
                top += 2
    return node_pos, leaf_node, path_len, path_player, path_z


@jit
def _max_depth(left, right, tree_start):
    depth = np.zeros(left.shape[0], np.int64)
    best = 0
    for t in range(tree_start.shape[0] - 1):
        depth[tree_start[t]] = 0
        for n in range(tree_start[t], tree_start[t + 1]):
            if left[n] >= 0:
                depth[left[n]] = depth[n] + 1
                depth[right[n]] = depth[n] + 1
                if depth[n] + 1 > best:
                    best = depth[n] + 1
    return best


# --------------------------------------------------------------------------- masks
#: Rows processed together: the failed-player masks of a block are (nodes, _BLOCK) int64.
_BLOCK = 128


@jit
def _fail_block(XT, r0, nb, ts, te, left, right, feature, thr, kind, miss, nan_left, unk_left,
                cat_lo, cat_mid, cat_hi, cats, cast32, node_pos, fail):  # fmt: skip
    """Bit mask of the path players each row of ``XT[:, r0:r0+nb]`` fails, at every node.

    Node-major and branch-free on numeric splits, so the row loop vectorises; parents
    precede children (preorder), so one pass fills the tree.
    """
    for r in range(nb):
        fail[0, r] = 0
    for n in range(ts, te):
        lc = left[n]
        if lc < 0:
            continue
        i, li, ri = n - ts, lc - ts, right[n] - ts
        bit = np.int64(1) << node_pos[n]
        x = XT[feature[n]]
        k = kind[n]
        if k < CAT and miss[n] != ZERO:
            t = thr[n]
            nl = np.int64(nan_left[n])
            as_zero = miss[n] == NAN_AS_ZERO
            for r in range(nb):
                v = x[r0 + r]
                isn = v != v
                if as_zero:
                    v = 0.0 if isn else v
                    isn = False
                if cast32:
                    v = np.float64(np.float32(v))
                if k == LE:
                    g = np.int64(v <= t) | (nl & np.int64(isn))
                else:
                    g = np.int64(v < t) | (nl & np.int64(isn))
                fb = fail[i, r]
                fail[li, r] = fb | (bit * (1 - g))
                fail[ri, r] = fb | (bit * g)
        else:
            for r in range(nb):
                g = np.int64(_goes_left(x[r0 + r], n, kind, thr, miss, nan_left, unk_left, cat_lo,
                                        cat_mid, cat_hi, cats, cast32))  # fmt: skip
                fb = fail[i, r]
                fail[li, r] = fb | (bit * (1 - g))
                fail[ri, r] = fb | (bit * g)


@jit
def background_sets(XbT, wb, left, right, feature, thr, kind, miss, nan_left, unk_left, cat_lo,
                    cat_mid, cat_hi, cats, cast32, tree_start, tree_leaf0, node_pos, leaf_node,
                    path_len):  # fmt: skip
    """Per leaf, the distinct sets of path players the background rows fail, with summed
    weights and their sizes (CSR: ``off``, ``fail``, ``pop``, ``w``), in a fixed order.

    Works tree by tree: the memory is that of the result plus one tree's masks.
    """
    n_bg = XbT.shape[1]
    n_leaves = leaf_node.shape[0]
    cap = 0
    max_nodes = 1
    max_leaves = 1
    for li in range(n_leaves):
        cap += min(n_bg, np.int64(1) << min(path_len[li], 62))
    for t in range(tree_start.shape[0] - 1):
        max_nodes = max(max_nodes, tree_start[t + 1] - tree_start[t])
        max_leaves = max(max_leaves, tree_leaf0[t + 1] - tree_leaf0[t])
    fail = np.empty((max_nodes, _BLOCK), np.int64)
    satisfied = np.empty((max_leaves, n_bg), np.int64)
    off = np.zeros(n_leaves + 1, np.int64)
    out_fail = np.empty(cap, np.int64)
    out_pop = np.empty(cap, np.int64)
    out_w = np.empty(cap)
    pos = 0
    for t in range(tree_start.shape[0] - 1):
        ts, te = tree_start[t], tree_start[t + 1]
        leaf0 = tree_leaf0[t]
        n_lt = tree_leaf0[t + 1] - leaf0
        for r0 in range(0, n_bg, _BLOCK):
            nb = min(_BLOCK, n_bg - r0)
            _fail_block(XbT, r0, nb, ts, te, left, right, feature, thr, kind, miss, nan_left,
                        unk_left, cat_lo, cat_mid, cat_hi, cats, cast32, node_pos, fail)  # fmt: skip
            for j in range(n_lt):
                full = (np.int64(1) << path_len[leaf0 + j]) - 1
                node = leaf_node[leaf0 + j] - ts
                for r in range(nb):
                    satisfied[j, r0 + r] = full & ~fail[node, r]
        for j in range(n_lt):
            li = leaf0 + j
            full = (np.int64(1) << path_len[li]) - 1
            off[li] = pos
            order = np.argsort(satisfied[j], kind="mergesort")
            last = np.int64(-1)
            for k in order:
                if wb[k] == 0.0:
                    continue
                mk = satisfied[j, k]
                if mk == last:
                    out_w[pos - 1] += wb[k]
                else:
                    f = full & ~mk
                    out_fail[pos] = f
                    c = 0
                    while f:
                        f &= f - 1
                        c += 1
                    out_pop[pos] = c
                    out_w[pos] = wb[k]
                    pos += 1
                    last = mk
    off[n_leaves] = pos
    return off, out_fail[:pos].copy(), out_pop[:pos].copy(), out_w[:pos].copy()
