"""The k smallest distances of each coalition, sorted: the neighbors path's inner loop.

One pass over the candidates per coalition with an insertion buffer of ``kk`` entries (``kk``
is ``n_neighbors + 1``, a handful): about one comparison per candidate, instead of numpy's
``argpartition`` + ``take_along_axis`` + ``argsort`` with their temporaries. Equal distances
keep the candidate order (stable); ties at the k-th neighbour are judged by the caller.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def smallest(D, kk):  # pragma: no cover - compiled (numba); tested through its callers
    """(dist, idx), each (b, kk): the ``kk`` smallest entries of each row of ``D`` (b, c),
    ascending, and their columns. ``kk <= c``."""
    b, c = D.shape
    dist = np.empty((b, kk))
    idx = np.empty((b, kk), dtype=np.intp)
    for i in range(b):
        n = 0
        for j in range(c):
            d = D[i, j]
            if n < kk:
                p = n
                n += 1
            elif d < dist[i, kk - 1]:
                p = kk - 1
            else:
                continue
            while p > 0 and dist[i, p - 1] > d:
                dist[i, p] = dist[i, p - 1]
                idx[i, p] = idx[i, p - 1]
                p -= 1
            dist[i, p] = d
            idx[i, p] = j
    return dist, idx
