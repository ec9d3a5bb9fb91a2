"""One leaf's contribution to each of its path players, given the row's satisfied-player mask.

A leaf ``l`` with ``d`` distinct players on its path is a product game: it sees a row only
through the mask ``m`` of path players the row satisfies (see ``_treeshap``). The Shapley
value of each path player in that game is an *entry*; all weights are
``G[p, q] = p! q! / (p + q + 1)!``.

* Path-dependent (``_pd_entry``): the value of a coalition ``S`` is
  ``prod_{j in S} o_j * prod_{j not in S} z_j`` (``o_j`` the satisfied bit, ``z_j`` the
  product of the cover ratios of the player's splits). The Shapley weights turn each entry
  into the integral over [0, 1] of a polynomial of degree ``d - 1`` in product form,
  computed exactly by ``ceil(d / 2)``-point Gauss-Legendre quadrature (as Linear TreeSHAP
  and Quadrature TreeSHAP do): ``O(d**2 / 2)`` per mask, all terms positive.
* Interventional (``_iv_entry``): the mean over background rows ``b`` of
  ``prod_{j in S} o_j(x) * prod_{j not in S} o_j(b)``. A background row of failed set ``F``
  contributes exactly when ``F <= m``; then its players in ``F`` share
  ``w G[|F| - 1, c]`` and the ``c`` players the row fails pay ``w G[|F|, c - 1]``. The leaf's
  background is reduced to distinct ``F`` with summed weights (``K_l`` of them), so an entry
  costs ``O(K_l)`` plus ``d`` per contributing set.
* The same from graded subset sums of the background (``_zeta_fill``, ``_zeta_entry``), for
  leaves whose background has many distinct sets: ``O(d**2 2**d)`` once per leaf, then
  ``O(d**2)`` per entry whatever the background size.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit


def _g_table(n: int = 66) -> np.ndarray:
    """G[p, q] = p! q! / (p + q + 1)! for p, q < n (zero elsewhere)."""
    G = np.zeros((n, n))
    for p in range(n):
        for q in range(n - p):
            G[p, q] = math.exp(math.lgamma(p + 1) + math.lgamma(q + 1) - math.lgamma(p + q + 2))
            if p + q < 40:  # exact rational for the common sizes
                G[p, q] = math.factorial(p) * math.factorial(q) / math.factorial(p + q + 1)
    return G


G_TABLE = _g_table()


@jit(inline="always")
def _popcount(m):
    c = 0
    while m:
        m &= m - 1
        c += 1
    return c


# --------------------------------------------------------------------------- path-dependent
def _quad_table(n_max: int = 32) -> np.ndarray:
    """Gauss-Legendre rules on [0, 1]: ``Q[0, n, :n]`` nodes and ``Q[1, n, :n]`` weights of the
    ``n``-point rule (exact for polynomials of degree ``2n - 1``)."""
    Q = np.zeros((2, n_max, n_max))
    for n in range(1, n_max):
        x, w = np.polynomial.legendre.leggauss(n)
        Q[0, n, :n] = (x + 1.0) / 2.0
        Q[1, n, :n] = w / 2.0
    return Q


QUAD = _quad_table()


@jit(inline="always")
def _satisfied(z, m, d, zs):
    """The cover ratios of the satisfied players into ``zs``; returns (s, c_U), c_U the
    product of the others' ratios."""
    s = 0
    cu = 1.0
    for j in range(d):
        if (m >> j) & 1:
            zs[s] = z[j]
            s += 1
        else:
            cu *= z[j]
    return s, cu


@jit(inline="always")
def _node_weight(Q, nq, i, power):
    """(t_i, w_i * (1 - t_i) ** power) of node ``i`` of the ``nq``-point rule."""
    t = Q[0, nq, i]
    g = Q[1, nq, i]
    omt = 1.0 - t
    for _ in range(power):
        g *= omt
    return t, g


@jit(inline="always")
def node_product(Q, nq, i, d, s, zs, fac):
    """Node ``i`` of the ``nq``-point rule for ``s`` satisfied players of ``d``: fills
    ``fac[k] = zs[k] (1 - t) + t`` and returns ``(1 - t, w_i (1 - t)**(d - s) prod_k fac[k])``."""
    t, g = _node_weight(Q, nq, i, d - s)
    omt = 1.0 - t
    prod = g
    for k in range(s):
        fac[k] = zs[k] * omt + t
        prod *= fac[k]
    return omt, prod


@jit
def _pd_entry(z, m, d, Q, out, zs, fac, acc):
    """Path-dependent entries of mask ``m`` by quadrature (Quadrature/Linear TreeSHAP).

    A satisfied player's entry is ``(1 - z_j) c_U sum_k G[k, d-1-k] q_k`` with ``q`` the
    coefficients of ``prod_{i in S, i != j} (z_i + t)``; as ``G[k, d-1-k]`` is the integral of
    ``t**k (1 - t)**(d-1-k)`` over [0, 1], the sum is the integral of
    ``(1 - t)**(d - s) prod_{i in S, i != j} (z_i (1 - t) + t)``, a polynomial of degree
    ``d - 1``: exact with ``ceil(d / 2)`` Gauss-Legendre nodes. Every term is positive (no
    cancellation) and the players are independent: ``O(d**2 / 2)`` instead of the
    polynomial divisions' dependent chains. The others' entry is ``-c_U`` times the
    integral of ``(1 - t)**(d - 1 - s) prod_{i in S} (z_i (1 - t) + t)``.
    """
    nq = (d + 1) >> 1
    s, cu = _satisfied(z, m, d, zs)
    for k in range(s):
        acc[k] = 0.0
    other = 0.0
    for i in range(nq):
        omt, prod = node_product(Q, nq, i, d, s, zs, fac)
        for k in range(s):
            acc[k] += prod / fac[k]
        if s < d:
            other += prod / omt
    k = 0
    for j in range(d):
        if (m >> j) & 1:
            out[j] = (1.0 - z[j]) * cu * acc[k]
            k += 1
        else:
            out[j] = -cu * other


# --------------------------------------------------------------------------- interventional
@jit
def _iv_entry(m, d, bfail, bpop, bw, b0, b1, G, out):
    """Entries of mask ``m`` from the leaf's distinct failed sets ``bfail[b0:b1]`` (their
    sizes ``bpop``, summed weights ``bw``)."""
    c = d - _popcount(m)
    others = ~m
    for j in range(d):
        out[j] = 0.0
    cu = 0.0
    for k in range(b0, b1):
        f = bfail[k]
        if f & others:
            continue
        a = bpop[k]
        if a > 0:
            wa = bw[k] * G[a - 1, c]
            while f:
                low = f & -f
                out[_bit_index(low)] += wa
                f ^= low
        if c > 0:
            cu -= bw[k] * G[a, c - 1]
    for j in range(d):
        if not (m >> j) & 1:
            out[j] = cu


@jit(inline="always")
def _bit_index(low):
    """Index of the single set bit of ``low`` (a power of two)."""
    return _popcount(low - 1)


# --------------------------------------------------------------------------- background lattice
@jit
def zeta_fill(d, bfail, bw, b0, b1, Z, zo):
    """Graded subset sums of the background: ``Z[zo + k*2**d + m]`` = weight of the background
    rows whose set ``F`` of failed path players has ``|F| = k`` and ``F <= m``.

    A background row pairs with a row satisfying ``m`` exactly when ``F <= m``; then the
    row's own players in ``F`` are the ones the coalition must hold and ``|F|`` fixes the
    weights, so every entry is a short sum over grades of ``Z`` (no loop over rows of the
    background): ``O(d**2 2**d)`` once per leaf, whatever the background size.
    """
    size = np.int64(1) << d
    for i in range(zo, zo + (d + 1) * size):
        Z[i] = 0.0
    for k in range(b0, b1):
        f = bfail[k]
        Z[zo + _popcount(f) * size + f] += bw[k]
    for g in range(d + 1):
        base = zo + g * size
        for bit in range(d):
            b = np.int64(1) << bit
            for m in range(size):
                if m & b:
                    Z[base + m] += Z[base + (m ^ b)]


@jit(inline="always")
def graded(Z, zo, size, m, s, G, col, k0):
    """sum over grades k0..s of G[k - k0, col] * Z[k, m]."""
    acc = 0.0
    for k in range(k0, s + 1):
        acc += G[k - k0, col] * Z[zo + k * size + m]
    return acc


@jit
def _zeta_entry(m, d, Z, zo, G, out):
    size = np.int64(1) << d
    s = _popcount(m)
    c = d - s
    uval = -graded(Z, zo, size, m, s, G, c - 1, 0) if c > 0 else 0.0
    for j in range(d):
        if (m >> j) & 1:
            mj = m ^ (np.int64(1) << j)
            acc = 0.0
            for k in range(1, s + 1):
                acc += G[k - 1, c] * (Z[zo + k * size + m] - Z[zo + k * size + mj])
            out[j] = acc
        else:
            out[j] = uval


@jit
def entry(m, d, z, interventional, zo, Z, bfail, bpop, bw, b0, b1, G, Q, out, zs, fac, acc):
    """The leaf's entries ``out[:d]`` for the satisfied mask ``m`` (``zo >= 0``: from the
    graded background sums at ``Z[zo:]``)."""
    if not interventional:
        _pd_entry(z, m, d, Q, out, zs, fac, acc)
    elif zo >= 0:
        _zeta_entry(m, d, Z, zo, G, out)
    else:
        _iv_entry(m, d, bfail, bpop, bw, b0, b1, G, out)
