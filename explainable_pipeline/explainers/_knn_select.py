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
    bd = np.empty(kk)  # the row's buffer, and its largest entry in a local (one compare each)
    bi = np.empty(kk, dtype=np.intp)
    for i in range(b):
        n = 0
        largest = np.inf
        for j in range(c):
            d = D[i, j]
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
        for j in range(kk):
            dist[i, j] = bd[j]
            idx[i, j] = bi[j]
    return dist, idx
