"""The k nearest candidates of each coalition, sorted: the neighbors path's inner loop.

:func:`nearest` computes a coalition's distances to the candidates and selects the nearest in
one pass over a buffer that stays in cache: the distances are ``base + z @ delta``, summed from
the rows of ``delta`` of the coalition's members when they are at most half the players, else
from ``total`` (``base`` plus every row) minus the rows of its non-members, so a coalition
costs at most ``M / 2`` vector additions and no (coalitions x candidates) array is written.
A coalition whose complement is in the same call (the kernel designs evaluate pairs) gets the
complement's distances from its own in one more pass, ``base + total - d(S)``
(:func:`complements` finds them).
The selection keeps an insertion buffer of ``kk`` entries (``kk`` is ``n_neighbors + 1``, a
handful): about one comparison per candidate. Equal distances keep the candidate order
(stable); ties at the k-th neighbour are judged by the caller.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

_MAX_CODED = 62
"""Coalitions of at most this many players are coded as int64 bit masks to find complements."""


def complements(Z: np.ndarray) -> np.ndarray:
    """(b,) for :func:`nearest`: per row of ``Z`` (b, M), the position of the row holding its
    complement when that row comes later (``i``'s distances give it its own), ``-2`` for such a
    later row, ``-1`` otherwise (no complement in ``Z``, more than ``_MAX_CODED`` players, or
    a repeat of an earlier row)."""
    b, M = Z.shape
    partner = np.full(b, -1, dtype=np.intp)
    if b < 2 or M > _MAX_CODED:
        return partner
    code = (Z > 0.5) @ (np.int64(1) << np.arange(M, dtype=np.int64))
    unique, first = np.unique(code, return_index=True)  # first row of each coalition
    want = ((np.int64(1) << M) - 1) - unique
    pos = np.minimum(np.searchsorted(unique, want), unique.shape[0] - 1)
    found = unique[pos] == want
    i, j = first[found], first[pos[found]]
    keep = i < j  # each pair once, from its earlier row
    partner[i[keep]] = j[keep]
    partner[j[keep]] = -2
    return partner


@jit
def nearest(Z, base, total, delta, kk, partner):  # pragma: no cover - compiled (numba)
    """(dist, idx), each (b, kk): per coalition (row of ``Z``, (b, M), 1.0 for a member), the
    ``kk`` smallest of its distances ``base + z @ delta`` to the candidates (``base`` and
    ``total = base + delta.sum(0)``: (c,); ``delta``: (M, c), C order), ascending, and their
    columns. ``kk <= c``. ``partner`` (b,), from :func:`complements`: a row ``j = partner[i] >= 0``
    is ``i``'s complement, whose distances are ``base + total - d(i)`` (``-2``: filled so)."""
    b, M = Z.shape
    c = base.shape[0]
    dist = np.empty((b, kk))
    idx = np.empty((b, kk), dtype=np.intp)
    buf = np.empty(c)
    other = np.empty(c)
    ends = base + total
    bd = np.empty(kk)
    bi = np.empty(kk, dtype=np.intp)
    for i in range(b):
        if partner[i] == -2:
            continue
        n_in = 0
        for p in range(M):
            if Z[i, p] > 0.5:
                n_in += 1
        members = 2 * n_in <= M
        buf[:] = base if members else total
        sign = 1.0 if members else -1.0  # exact: the sums are the same either way
        for p in range(M):
            if (Z[i, p] > 0.5) == members:
                row = delta[p]
                for t in range(c):
                    buf[t] += sign * row[t]
        _select(buf, kk, bd, bi)
        dist[i] = bd
        idx[i] = bi
        j = partner[i]
        if j >= 0:
            for t in range(c):
                other[t] = ends[t] - buf[t]
            _select(other, kk, bd, bi)
            dist[j] = bd
            idx[j] = bi
    return dist, idx


@jit
def _select(values, kk, bd, bi):  # pragma: no cover - compiled (numba)
    """The ``kk`` smallest of ``values`` into ``bd`` (ascending) and their positions into
    ``bi``; the buffer's largest entry is kept in a local (one comparison per value)."""
    n = 0
    largest = np.inf
    for j in range(values.shape[0]):
        d = values[j]
        if n < kk:
            p = n
            n += 1
        elif d < largest:
            p = kk - 1
        else:
            continue
        while p > 0 and bd[p - 1] > d:
            bd[p] = bd[p - 1]
            bi[p] = bi[p - 1]
            p -= 1
        bd[p] = d
        bi[p] = j
        if n == kk:
            largest = bd[kk - 1]
