"""Pair entries of one leaf: Shapley interaction values of its product game (shap's convention:
half the Shapley interaction index off the diagonal; the diagonal, the remainder of each
player's value, is filled by the driver).

Same three forms as the single entries (``_treeshap_entries``): path-dependent by
Gauss-Legendre quadrature, interventional by a pass over the
leaf's distinct background failed sets, or from their graded subset sums. Kept apart so that
a process compiles them only when it asks for interactions.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._treeshap_entries import _popcount, _satisfied, graded, node_product


@jit
def _pd_pairs(z, m, d, Q, out, zs, fac, acc, acc2):
    """Path-dependent pair entries of mask ``m`` by quadrature (see ``_pd_entry``): two
    satisfied players share the integral of ``(1 - t)**(d - s) prod_{S - {i, j}}``, a
    satisfied and an unsatisfied one that of ``(1 - t)**(d - 1 - s) prod_{S - {i}}``, two
    unsatisfied ones that of ``(1 - t)**(d - 2 - s) prod_S`` (degree ``d - 2``)."""
    if d < 2:
        return
    nq = (d + 1) >> 1
    s, cu = _satisfied(z, m, d, zs)
    for k in range(s):
        acc[k] = 0.0
        for k2 in range(s):
            acc2[k, k2] = 0.0
    both_out = 0.0
    for i in range(nq):
        omt, prod = node_product(Q, nq, i, d, s, zs, fac)
        one_out = prod / omt if s < d else 0.0
        if s + 2 <= d:
            both_out += one_out / omt
        for k in range(s):
            acc[k] += one_out / fac[k]
            inner = prod / fac[k]
            for k2 in range(k + 1, s):
                acc2[k, k2] += inner / fac[k2]
    # positions of the satisfied players among the satisfied ones
    ks = 0
    for i in range(d):
        out[i, i] = 0.0
        i_sat = (m >> i) & 1
        ki = ks
        if i_sat:
            ks += 1
        kj = 0
        for j in range(d):
            j_sat = (m >> j) & 1
            if j != i:
                if i_sat and j_sat:
                    lo, hi = (ki, kj) if ki < kj else (kj, ki)
                    out[i, j] = 0.5 * (1.0 - z[i]) * (1.0 - z[j]) * cu * acc2[lo, hi]
                elif i_sat:
                    out[i, j] = -0.5 * (1.0 - z[i]) * cu * acc[ki]
                elif j_sat:
                    out[i, j] = -0.5 * (1.0 - z[j]) * cu * acc[kj]
                else:
                    out[i, j] = 0.5 * cu * both_out
            if j_sat:
                kj += 1


@jit
def _iv_pairs(m, d, bfail, bpop, bw, b0, b1, G, out):
    """Interventional pair entries of mask ``m`` (see ``_treeshap_entries._iv_entry``)."""
    u = ((np.int64(1) << d) - 1) & ~m
    c = d - _popcount(m)
    for i in range(d):
        for j in range(d):
            out[i, j] = 0.0
    for k in range(b0, b1):
        f = bfail[k]
        if f & u:
            continue
        _iv_pair_terms(d, f, u, bpop[k], c, bw[k], G, out)


@jit(inline="always")
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


@jit
def _zeta_pairs(m, d, Z, zo, G, out):
    size = np.int64(1) << d
    s = _popcount(m)
    c = d - s
    cc = 0.5 * graded(Z, zo, size, m, s, G, c - 2, 0) if c >= 2 else 0.0
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
                    o = zo + k * size
                    acc += G[k - 2, c] * (Z[o + m] - Z[o + mi] - Z[o + mj] + Z[o + mij])
                out[i, j] = 0.5 * acc
            elif ii or jj:
                mm = mi if ii else m ^ (np.int64(1) << j)
                acc = 0.0
                for k in range(1, s + 1):
                    acc += G[k - 1, c - 1] * (Z[zo + k * size + m] - Z[zo + k * size + mm])
                out[i, j] = -0.5 * acc
            else:
                out[i, j] = cc


@jit
def pair_entry(m, d, z, interventional, zo, Z, bfail, bpop, bw, b0, b1, G, Q, out, zs, fac,
               acc, acc2):  # fmt: skip
    """The leaf's pair entries ``out[:d, :d]`` (off the diagonal) for the satisfied mask ``m``."""
    if not interventional:
        _pd_pairs(z, m, d, Q, out, zs, fac, acc, acc2)
    elif zo >= 0:
        _zeta_pairs(m, d, Z, zo, G, out)
    else:
        _iv_pairs(m, d, bfail, bpop, bw, b0, b1, G, out)
