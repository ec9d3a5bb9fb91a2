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
  Rows cost ``O(nodes + leaves * d)`` per tree.
* Path-dependent entries: a polynomial in ``t`` (``prod (z_j + t)`` over satisfied
  players, ``O(d**2)``), divided by one factor per player. Interventional entries: the
  background rows of each leaf are first reduced to their distinct masks with summed
  weights (``K_l <= min(n_background, 2**d)``); an entry costs ``O(K_l * d)``. The
  background is never paired with the rows: the work is ``O(rows * leaves * d +
  distinct masks * K_l * d)``, not ``O(rows * background * leaves)``.
* Shapley interaction values (shap's convention: half the Shapley interaction index off
  the diagonal, the diagonal the remainder of the Shapley value) come from the same
  masks, with closed forms for product games.

All weights are ``G[p, q] = p! q! / (p + q + 1)!``. Everything is float64; tests hold it to
the boosters' ``pred_contrib`` and to brute-force enumeration at 1e-9.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from ._tree_model import CAT, CAT_TRUNC, LE, NAN_AS_ZERO, ZERO, TreeEnsemble

#: Leaves with more distinct players than this on their path are not supported (mask bits).
MAX_PATH_PLAYERS = 62
#: A leaf tabulates its entries when 2**d is at most this many times the rows of the call.
_TABLE_RATIO = 2
_TABLE_MAX_D = 16
_TABLE_MAX_D_PAIRS = 14


def _g_table(n: int = 66) -> np.ndarray:
    """G[p, q] = p! q! / (p + q + 1)! for p, q < n (zero elsewhere)."""
    G = np.zeros((n, n))
    for p in range(n):
        for q in range(n - p):
            G[p, q] = math.exp(math.lgamma(p + 1) + math.lgamma(q + 1) - math.lgamma(p + q + 2))
            if p + q < 40:  # exact rational for the common sizes
                G[p, q] = math.factorial(p) * math.factorial(q) / math.factorial(p + q + 1)
    return G


_G = _g_table()


# --------------------------------------------------------------------------- decisions
@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True)
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
@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
_BLOCK = 256


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _tree_leaves(tree_start, left, node_leaf, t):
    """(first global leaf index, number of leaves) of tree ``t``."""
    leaf0 = -1
    n_lt = 0
    for n in range(tree_start[t], tree_start[t + 1]):
        if left[n] < 0:
            if leaf0 < 0:
                leaf0 = node_leaf[n]
            n_lt += 1
    return leaf0, n_lt


# --------------------------------------------------------------------------- leaf entries
@njit(cache=True, nogil=True, inline="always")
def _poly(z, m, d, p):
    """p[0..s] = coefficients of prod over satisfied j of (z_j + t); returns (s, c_U)."""
    p[0] = 1.0
    s = 0
    cu = 1.0
    for j in range(d):
        if (m >> j) & 1:
            zj = z[j]
            p[s + 1] = p[s]
            for k in range(s, 0, -1):
                p[k] = p[k - 1] + zj * p[k]
            p[0] = zj * p[0]
            s += 1
        else:
            cu *= z[j]
    return s, cu


@njit(cache=True, nogil=True, inline="always")
def _divide(p, s, zj, q):
    """q[0..s-1] = p / (t + zj)."""
    q[s - 1] = p[s]
    for k in range(s - 1, 0, -1):
        q[k - 1] = p[k] - zj * q[k]


@njit(cache=True, nogil=True)
def _pd_entry(z, m, d, G, out, p, q):
    s, cu = _poly(z, m, d, p)
    total = 0.0
    for k in range(s + 1):
        total += p[k] * G[k, d - 1 - k]
    for j in range(d):
        if (m >> j) & 1:
            _divide(p, s, z[j], q)
            acc = 0.0
            for k in range(s):
                acc += q[k] * G[k, d - 1 - k]
            out[j] = (1.0 - z[j]) * cu * acc
        else:
            out[j] = -cu * total


@njit(cache=True, nogil=True)
def _pd_pairs(z, m, d, G, out, p, q, q2, su):
    """Off-diagonal interaction entries (half the Shapley interaction index) of one mask."""
    s, cu = _poly(z, m, d, p)
    if d < 2:
        return
    uu = 0.0
    for k in range(s + 1):
        uu += p[k] * G[k, d - 2 - k]
    for i in range(d):  # satisfied i against any unsatisfied j
        su[i] = 0.0
        if (m >> i) & 1:
            _divide(p, s, z[i], q)
            acc = 0.0
            for k in range(s):
                acc += q[k] * G[k, d - 2 - k]
            su[i] = -0.5 * (1.0 - z[i]) * cu * acc
    for i in range(d):
        out[i, i] = 0.0
        i_sat = (m >> i) & 1
        if i_sat:
            _divide(p, s, z[i], q)
        for j in range(d):
            if j == i:
                continue
            j_sat = (m >> j) & 1
            if i_sat and j_sat:
                _divide(q, s - 1, z[j], q2)
                acc = 0.0
                for k in range(s - 1):
                    acc += q2[k] * G[k, d - 2 - k]
                out[i, j] = 0.5 * (1.0 - z[i]) * (1.0 - z[j]) * cu * acc
            elif i_sat:
                out[i, j] = su[i]
            elif j_sat:
                out[i, j] = su[j]
            else:
                out[i, j] = 0.5 * cu * uu


@njit(cache=True, nogil=True)
def _iv_entry(m, d, bmask, bw, b0, b1, G, out, out2, with_inter):
    """Interventional entries of mask ``m`` (and pair entries when ``with_inter``), summing
    over the leaf's distinct background masks ``bmask[b0:b1]`` with weights ``bw``."""
    u = ((np.int64(1) << d) - 1) & ~m
    c = _popcount(u)
    out[:d] = 0.0
    if with_inter:
        out2[:d, :d] = 0.0
    cu = 0.0
    for k in range(b0, b1):
        mb = bmask[k]
        if (mb & u) != u:
            continue
        a_set = m & ~mb
        a = _popcount(a_set)
        if a > 0:
            wa = bw[k] * G[a - 1, c]
            for j in range(d):
                if (a_set >> j) & 1:
                    out[j] += wa
        if c > 0:
            cu -= bw[k] * G[a, c - 1]
        if with_inter:
            _iv_pair_terms(d, a_set, u, a, c, bw[k], G, out2)
    for j in range(d):
        if (u >> j) & 1:
            out[j] = cu


@njit(cache=True, nogil=True, inline="always")
def _iv_pair_terms(d, a_set, u, a, c, w, G, out):
    waa = 0.5 * w * G[a - 2, c] if a >= 2 else 0.0
    wac = -0.5 * w * G[a - 1, c - 1] if (a >= 1 and c >= 1) else 0.0
    wcc = 0.5 * w * G[a, c - 2] if c >= 2 else 0.0
    for i in range(d):
        ia = (a_set >> i) & 1
        iu = (u >> i) & 1
        if not (ia or iu):
            continue
        for j in range(d):
            if j == i:
                continue
            ja = (a_set >> j) & 1
            ju = (u >> j) & 1
            if ia and ja:
                out[i, j] += waa
            elif ia and ju or iu and ja:
                out[i, j] += wac
            elif iu and ju:
                out[i, j] += wcc


# --------------------------------------------------------------------------- background lattice
@njit(cache=True, nogil=True, inline="always")
def _popcount(m):
    c = 0
    while m:
        m &= m - 1
        c += 1
    return c


@njit(cache=True, nogil=True)
def _zeta_fill(d, bg_mask, bg_w, b0, b1, Z):
    """Graded subset sums of the background: ``Z[k*2**d + m]`` = weight of the background
    rows whose set ``F`` of failed path players has ``|F| = k`` and ``F <= m``.

    A background row pairs with a row satisfying ``m`` exactly when ``F <= m``; then the
    row's own players in ``F`` are the ones the coalition must hold and ``|F|`` fixes the
    weights, so every entry is a short sum over grades of ``Z`` (no loop over rows of the
    background): ``O(d**2 2**d)`` once per leaf, whatever the background size.
    """
    size = np.int64(1) << d
    full = size - 1
    for k in range(b0, b1):
        f = full & ~bg_mask[k]
        Z[_popcount(f) * size + f] += bg_w[k]
    for g in range(d + 1):
        base = g * size
        for bit in range(d):
            b = np.int64(1) << bit
            for m in range(size):
                if m & b:
                    Z[base + m] += Z[base + (m ^ b)]


@njit(cache=True, nogil=True, inline="always")
def _graded(Z, size, m, s, G, col, k0):
    """sum over grades k0..s of G[k - k0, col] * Z[k, m]."""
    acc = 0.0
    for k in range(k0, s + 1):
        acc += G[k - k0, col] * Z[k * size + m]
    return acc


@njit(cache=True, nogil=True)
def _zeta_entry(m, d, Z, G, out):
    size = np.int64(1) << d
    s = _popcount(m)
    c = d - s
    uval = -_graded(Z, size, m, s, G, c - 1, 0) if c > 0 else 0.0
    for j in range(d):
        if (m >> j) & 1:
            mj = m ^ (np.int64(1) << j)
            acc = 0.0
            for k in range(1, s + 1):
                acc += G[k - 1, c] * (Z[k * size + m] - Z[k * size + mj])
            out[j] = acc
        else:
            out[j] = uval


@njit(cache=True, nogil=True)
def _zeta_pairs(m, d, Z, G, out):
    size = np.int64(1) << d
    s = _popcount(m)
    c = d - s
    cc = 0.5 * _graded(Z, size, m, s, G, c - 2, 0) if c >= 2 else 0.0
    for i in range(d):
        out[i, i] = 0.0
        ii = (m >> i) & 1
        mi = m ^ (np.int64(1) << i)
        for j in range(d):
            if j == i:
                continue
            jj = (m >> j) & 1
            if ii and jj:
                mj = m ^ (np.int64(1) << j)
                mij = mi ^ (np.int64(1) << j)
                acc = 0.0
                for k in range(2, s + 1):
                    o = k * size
                    acc += G[k - 2, c] * (Z[o + m] - Z[o + mi] - Z[o + mj] + Z[o + mij])
                out[i, j] = 0.5 * acc
            elif ii or jj:
                mm = mi if ii else m ^ (np.int64(1) << j)
                acc = 0.0
                for k in range(1, s + 1):
                    acc += G[k - 1, c - 1] * (Z[k * size + m] - Z[k * size + mm])
                out[i, j] = -0.5 * acc
            else:
                out[i, j] = cc


@njit(cache=True, nogil=True)
def _entry(m, d, z, zeta, Zl, interventional, bg_mask, bg_w, b0, b1, G, with_inter, e, e2, p, q,
           q2, su):  # fmt: skip
    """One leaf's contributions ``e`` (and pair entries ``e2``) for the satisfied mask ``m``."""
    if zeta:
        _zeta_entry(m, d, Zl, G, e)
        if with_inter:
            _zeta_pairs(m, d, Zl, G, e2)
    elif interventional:
        _iv_entry(m, d, bg_mask, bg_w, b0, b1, G, e, e2, with_inter)
    else:
        _pd_entry(z, m, d, G, e, p, q)
        if with_inter:
            _pd_pairs(z, m, d, G, e2, p, q, q2, su)


# --------------------------------------------------------------------------- main kernel
#: Table entries (floats) one tree may hold at once; leaves past it compute directly.
_TABLE_BUDGET = 1 << 22


@njit(cache=True, nogil=True)
def _shap_block(XT, left, right, feature, thr, kind, miss, nan_left, unk_left, cat_lo, cat_mid,
                cat_hi, cats, cast32, value, tree_start, tree_output, node_pos, node_leaf,
                leaf_node, path_len, path_player, path_z, interventional, bg_off, bg_mask, bg_w,
                G, phi, inter, with_inter, strategy):  # fmt: skip
    """Add each row's values to ``phi`` (and ``inter``); ``strategy`` 0 picks per leaf, 1 forces
    direct background sums, 2 the subset-sum lattice (tests)."""
    n_rows = XT.shape[1]
    width = value.shape[1]
    max_d = path_player.shape[1]
    p = np.empty(max_d + 2)
    q = np.empty(max_d + 2)
    q2 = np.empty(max_d + 2)
    su = np.empty(max_d)
    u = np.empty(max_d)
    u2 = np.empty((max_d, max_d))
    fail = np.empty((np.max(np.diff(tree_start)), _BLOCK), np.int64)
    max_tab = _TABLE_MAX_D_PAIRS if with_inter else _TABLE_MAX_D
    max_leaves = 0
    for t in range(tree_start.shape[0] - 1):
        max_leaves = max(max_leaves, _tree_leaves(tree_start, left, node_leaf, t)[1])
    toff = np.empty(max_leaves + 1, np.int64)
    zoff = np.full(max_leaves + 1, -1, np.int64)
    eoff = np.zeros(max_leaves, np.int64)
    e2off = np.zeros(max_leaves, np.int64)
    empty_b = np.zeros(0, np.bool_)
    empty_f = np.zeros(0)
    for t in range(tree_start.shape[0] - 1):
        ts, te = tree_start[t], tree_start[t + 1]
        leaf0, n_lt = _tree_leaves(tree_start, left, node_leaf, t)
        # lazily filled tables of this tree's leaves: toff < 0 marks a tabulated leaf and
        # encodes its first entry; eoff / e2off locate its values (d, and d * d for pairs)
        used = np.int64(0)
        acc1 = np.int64(0)
        acc2 = np.int64(0)
        for j in range(n_lt):
            d = path_len[leaf0 + j]
            size = np.int64(1) << d
            cost = size * d * (d if with_inter else 1)
            toff[j] = 0
            if d <= max_tab and size <= _TABLE_RATIO * n_rows and used + cost <= _TABLE_BUDGET:
                toff[j] = -1 - used
                used += size
                eoff[j] = acc1
                acc1 += size * d
                e2off[j] = acc2
                if with_inter:
                    acc2 += size * d * d
        filled = np.zeros(used, np.bool_) if used > 0 else empty_b
        table = np.empty(acc1) if acc1 > 0 else empty_f
        table2 = np.empty(acc2) if acc2 > 0 else empty_f
        # interventional leaves whose background is cheaper as a subset-sum lattice
        zsize = np.int64(0)
        if interventional:
            for j in range(n_lt):
                li = leaf0 + j
                d = path_len[li]
                zoff[j] = -1
                size = np.int64(1) << d
                k_l = bg_off[li + 1] - bg_off[li]
                if d == 0 or k_l == 0 or d > _TABLE_MAX_D:
                    continue
                cheaper = (d + 1) * size < min(size, n_rows) * k_l
                if strategy == 1 or (strategy == 0 and not cheaper):
                    continue
                if zsize + (d + 1) * size <= _TABLE_BUDGET:
                    zoff[j] = zsize
                    zsize += (d + 1) * size
        Z = np.zeros(zsize) if zsize > 0 else empty_f
        if zsize > 0:
            for j in range(n_lt):
                if zoff[j] >= 0:
                    li = leaf0 + j
                    d = path_len[li]
                    _zeta_fill(d, bg_mask, bg_w, bg_off[li], bg_off[li + 1],
                               Z[zoff[j]: zoff[j] + (d + 1) * (np.int64(1) << d)])  # fmt: skip
        out0 = tree_output[t]
        for r0 in range(0, n_rows, _BLOCK):
            nb = min(_BLOCK, n_rows - r0)
            _fail_block(XT, r0, nb, ts, te, left, right, feature, thr, kind, miss, nan_left,
                        unk_left, cat_lo, cat_mid, cat_hi, cats, cast32, node_pos, fail)  # fmt: skip
            for j in range(n_lt):
                li = leaf0 + j
                d = path_len[li]
                if d == 0:
                    continue
                b0 = bg_off[li]
                b1 = bg_off[li + 1]
                if interventional and b0 == b1:
                    continue  # no background row reaches this leaf: no contribution
                z = path_z[li]
                v = value[leaf_node[li]]
                fl = fail[leaf_node[li] - ts]
                full = (np.int64(1) << d) - 1
                tab = toff[j] < 0
                base = -1 - toff[j]
                zeta = interventional and zoff[j] >= 0
                Zl = Z[zoff[j]: zoff[j] + (d + 1) * (np.int64(1) << d)] if zeta else empty_f
                for r in range(nb):
                    m = full & ~fl[r]
                    if tab:
                        e = table[eoff[j] + m * d: eoff[j] + (m + 1) * d]
                        e2 = u2
                        if with_inter:
                            e2 = table2[e2off[j] + m * d * d: e2off[j] + (m + 1) * d * d
                                        ].reshape((d, d))  # fmt: skip
                        if not filled[base + m]:
                            _entry(m, d, z, zeta, Zl, interventional, bg_mask, bg_w, b0, b1, G,
                                   with_inter, e, e2, p, q, q2, su)  # fmt: skip
                            filled[base + m] = True
                    else:
                        e = u
                        e2 = u2
                        _entry(m, d, z, zeta, Zl, interventional, bg_mask, bg_w, b0, b1, G,
                               with_inter, e, e2, p, q, q2, su)  # fmt: skip
                    rr = r0 + r
                    for k in range(d):
                        pk = path_player[li, k]
                        for w in range(width):
                            phi[rr, out0 + w, pk] += e[k] * v[w]
                    if with_inter:
                        for k in range(d):
                            pk = path_player[li, k]
                            for k2 in range(d):
                                if k2 != k:
                                    for w in range(width):
                                        inter[rr, out0 + w, pk, path_player[li, k2]] += (
                                            e2[k, k2] * v[w]
                                        )


@njit(cache=True, nogil=True)
def _background_lists(XbT, wb, left, right, feature, thr, kind, miss, nan_left, unk_left, cat_lo,
                      cat_mid, cat_hi, cats, cast32, tree_start, node_pos, node_leaf, leaf_node,
                      path_len):  # fmt: skip
    """Distinct background masks per leaf with summed weights (CSR layout)."""
    n_bg = XbT.shape[1]
    n_leaves = leaf_node.shape[0]
    fail = np.empty((np.max(np.diff(tree_start)), _BLOCK), np.int64)
    all_masks = np.empty((n_leaves, n_bg), np.int64)
    for t in range(tree_start.shape[0] - 1):
        ts, te = tree_start[t], tree_start[t + 1]
        leaf0, n_lt = _tree_leaves(tree_start, left, node_leaf, t)
        for r0 in range(0, n_bg, _BLOCK):
            nb = min(_BLOCK, n_bg - r0)
            _fail_block(XbT, r0, nb, ts, te, left, right, feature, thr, kind, miss, nan_left,
                        unk_left, cat_lo, cat_mid, cat_hi, cats, cast32, node_pos, fail)  # fmt: skip
            for j in range(n_lt):
                li = leaf0 + j
                full = (np.int64(1) << path_len[li]) - 1
                for r in range(nb):
                    all_masks[li, r0 + r] = full & ~fail[leaf_node[li] - ts, r]
    counts = np.zeros(n_leaves + 1, np.int64)
    out_mask = np.empty(n_leaves * n_bg, np.int64)
    out_w = np.empty(n_leaves * n_bg)
    pos = 0
    for li in range(n_leaves):
        counts[li] = pos
        order = np.argsort(all_masks[li], kind="mergesort")
        last = np.int64(-1)
        for k in order:
            if wb[k] == 0.0:
                continue
            mk = all_masks[li, k]
            if mk == last:
                out_w[pos - 1] += wb[k]
            else:
                out_mask[pos] = mk
                out_w[pos] = wb[k]
                pos += 1
                last = mk
    counts[n_leaves] = pos
    return counts, out_mask[:pos].copy(), out_w[:pos].copy()


# --------------------------------------------------------------------------- driver
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
        self.node_leaf = np.full(len(ens.left), -1, np.int64)
        self.node_leaf[self.leaf_node] = np.arange(len(self.leaf_node))
        values = ens.value[self.leaf_node]  # (n_leaves, width)
        z_prod = np.prod(np.where(self.path_player >= 0, self.path_z, 1.0), axis=1)
        self.expected_path = ens.offset.copy()
        self._scatter_expected(self.expected_path, values * z_prod[:, None])
        self._no_background = (np.zeros(len(self.leaf_node) + 1, np.int64),
                               np.zeros(0, np.int64), np.zeros(0))  # fmt: skip

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
        off, mask, bw = _background_lists(
            np.ascontiguousarray(Xb.T), w, *_ens_args(ens), ens.tree_start, self.node_pos,
            self.node_leaf, self.leaf_node, self.path_len,
        )
        # expected value: the weighted mean background prediction
        full = (np.int64(1) << self.path_len) - 1
        reach = np.zeros(len(self.leaf_node))
        leaf_of = np.repeat(np.arange(len(self.leaf_node)), np.diff(off))
        hit = mask == full[leaf_of]
        np.add.at(reach, leaf_of[hit], bw[hit])
        expected = ens.offset.copy()
        self._scatter_expected(expected, ens.value[self.leaf_node] * reach[:, None])
        return (off, mask, bw), expected

    def values(self, X: np.ndarray, background=None, *, interactions: bool = False,
               n_jobs: int | None = 1, _strategy: int = 0):  # fmt: skip
        """Attributions (n_outputs, n_rows, n_players), expected (n_outputs,), interactions.

        ``background``: the result of :meth:`background` (interventional), or None
        (path-dependent). ``interactions=True`` also returns (n_outputs, n_rows, n_players,
        n_players) Shapley interaction values whose rows sum to the attributions.
        """
        ens = self.ensemble
        X = np.ascontiguousarray(X, dtype=np.float64)
        if background is None:
            lists, expected, interventional = self._no_background, self.expected_path, False
        else:
            (lists, expected), interventional = background, True
        n, P, K = X.shape[0], self.n_players, ens.n_outputs
        phi = np.zeros((n, K, P))
        inter = np.zeros((n, K, P, P) if interactions else (1, 1, 1, 1))
        args = (*_ens_args(ens), ens.value, ens.tree_start, ens.tree_output, self.node_pos,
                self.node_leaf, self.leaf_node, self.path_len, self.path_player, self.path_z,
                interventional, *lists, _G)  # fmt: skip
        jobs = _n_threads(n_jobs, n)
        XT = np.ascontiguousarray(X.T)
        if jobs == 1:
            _shap_block(XT, *args, phi, inter, interactions, _strategy)
        else:
            bounds = np.linspace(0, n, jobs + 1).astype(int)

            def run(i):
                a, b = bounds[i], bounds[i + 1]
                sub_inter = inter[a:b] if interactions else inter
                _shap_block(np.ascontiguousarray(XT[:, a:b]), *args, phi[a:b], sub_inter,
                            interactions, _strategy)  # fmt: skip

            with ThreadPoolExecutor(jobs) as pool:
                list(pool.map(run, range(jobs)))
        values = np.ascontiguousarray(phi.transpose(1, 0, 2))
        if not interactions:
            return values, expected, None
        inter = inter.transpose(1, 0, 2, 3)
        diag = values - inter.sum(axis=3)
        idx = np.arange(P)
        inter[:, :, idx, idx] = diag
        return values, expected, np.ascontiguousarray(inter)


def _n_threads(n_jobs: int | None, n_rows: int) -> int:
    if n_jobs is None:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = os.cpu_count() or 1
    return int(max(1, min(n_jobs, n_rows // 64 or 1)))
