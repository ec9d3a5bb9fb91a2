"""The k nearest candidates of each coalition, sorted: the neighbors path's inner loop.

:func:`nearest` computes a coalition's distances to the candidates and selects the nearest in
one pass over a buffer that stays in cache: the distances are ``base + z @ delta``, summed from
the rows of ``delta`` of the coalition's members when they are at most half the players, else
from ``total`` (``base`` plus every row) minus the rows of its non-members, so a coalition
costs at most ``M / 2`` vector additions and no (coalitions x candidates) array is written.
The selection keeps an insertion buffer of ``kk`` entries (``kk`` is ``n_neighbors + 1``, a
handful): about one comparison per candidate. Equal distances keep the candidate order
(stable); ties at the k-th neighbour are judged by the caller.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def nearest(Z, base, total, delta, kk):  # pragma: no cover - compiled (numba); tested directly
    """(dist, idx), each (b, kk): per coalition (row of ``Z``, (b, M), 1.0 for a member), the
    ``kk`` smallest of its distances ``base + z @ delta`` to the candidates (``base`` and
    ``total = base + delta.sum(0)``: (c,); ``delta``: (M, c), C order), ascending, and their
    columns. ``kk <= c``."""
    b, M = Z.shape
    c = base.shape[0]
    dist = np.empty((b, kk))
    idx = np.empty((b, kk), dtype=np.intp)
    buf = np.empty(c)
    bd = np.empty(kk)
    bi = np.empty(kk, dtype=np.intp)
    for i in range(b):
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
