"""KernelSHAP: efficiency-constrained weighted least squares over sampled coalitions.

:func:`kernel_fit` solves one game's regression for every row and output that share a
coalition design, and estimates the standard error of the result from the design's strata.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

_MAX_ELEMENTS = 1 << 22


def kernel_fit(masks, weights, values, fx, base, terms=(), ridge=1e-4, layout=None):
    """Efficiency-constrained weighted least squares, vectorised over rows and outputs.

    Fits ``v(S) - v(empty) ~ sum_i a_i z_i + sum_T c_T prod_{i in T} z_i`` with the Shapley
    kernel weights, under ``sum(a) + sum(c) = v(N) - v(empty)``, and returns the Shapley values
    of the fitted game, ``phi_i = a_i + sum_{T containing i} c_T / |T|``. With no ``terms`` this
    is KernelSHAP. The interaction terms act as control variates: whatever their coefficients,
    the linear part of the kernel fit recovers the Shapley value of the residual game, so the
    estimate stays exact under full enumeration while the variance drops when the game has
    high-order interactions among the players in ``terms``. The small ``ridge`` (relative to the
    linear block's scale) only touches the interaction coefficients.

    Parameters
    ----------
    masks : ndarray (K, M) bool; weights : ndarray (K,)
        Coalitions and their regression (Horvitz-Thompson kernel) weights.
    values : ndarray (n, K, O)
        Values of the coalitions for ``n`` rows and ``O`` outputs.
    fx, base : ndarray (n, O) and (O,) or (n, O)
        Values of the full and empty coalitions.
    layout : list of (start, r, population) or None
        Sampled strata of the design: ``r`` sides at ``start`` followed by their ``r``
        complements, drawn without replacement from ``population`` pairs (None: drawn with
        replacement). Without a layout no standard error is computed.

    Returns
    -------
    phi : ndarray (n, M, O)
    var : ndarray (n, M, O) or None
        Linearisation (sandwich) estimate of the variance of ``phi`` over the design's random
        samples: each sampled pair's influence on the solution, varying within its stratum.
    """
    M = masks.shape[1]
    delta = fx - base  # (n, O)
    n, K, n_out = values.shape
    if M == 1:
        return delta[:, None, :] * np.ones((n, 1, 1)), np.zeros((n, 1, n_out))
    Z = masks.astype(float)
    F = np.hstack([Z, _products(Z, terms)]) if terms else Z
    Fw = F * weights[:, None]
    A = Fw.T @ F
    if terms:
        scale = np.trace(A[:M, :M]) / M
        A[M:, M:] += np.eye(len(terms)) * ridge * scale
    p = A.shape[0]
    y = values - np.asarray(base)[..., None, :] if np.ndim(base) == 2 else values - base
    rhs = Fw.T @ y.transpose(1, 0, 2).reshape(K, n * n_out)  # (p, n * O)
    rhs = np.hstack([rhs, np.ones((p, 1)), np.eye(p)])
    sol = _solve(A, rhs)
    Ab = sol[:, : n * n_out].reshape(p, n, n_out).transpose(1, 0, 2)  # (n, p, O)
    u = sol[:, n * n_out]
    A_inv = sol[:, n * n_out + 1 :]
    nu = (Ab.sum(axis=1) - delta) / u.sum()
    theta = Ab - u[None, :, None] * nu[:, None, :]
    T = _to_shapley(M, terms)  # (M, p)
    phi = np.einsum("mp,npo->nmo", T, theta)
    if layout is None:
        return phi, None
    P = np.eye(p) - np.outer(u, np.ones(p)) / u.sum()
    H = F @ (T @ P @ A_inv).T  # (K, M): influence direction of each coalition
    resid = y - np.einsum("kp,npo->nko", F, theta)  # (n, K, O)
    var = np.zeros((n, M, n_out))
    pooled = []  # strata with a single sampled pair: pooled into one collapsed stratum
    for start, r, population in layout:
        side, comp = np.arange(start, start + r), np.arange(start + r, start + 2 * r)
        if r == 1:
            pooled.append(_pair_influence(H, weights, resid, side, comp))
            continue
        fpc = 1.0 if population is None else max(0.0, 1.0 - r / population)
        var += fpc * r * _stratum_variance(H, weights, resid, side, comp)
    if len(pooled) > 1:
        g = np.concatenate(pooled, axis=1)
        var += g.shape[1] * g.var(axis=1, ddof=1)
    elif pooled:  # one unit alone: its squared deviation from zero, a conservative guess
        var += pooled[0][:, 0] ** 2
    # residuals of a fit with p coefficients understate the noise: the usual degrees-of-freedom
    # correction, with sampled pairs as the units (measured: it brings the variance of
    # (error / standard error) to about one, with and without interaction terms)
    units = sum(r for _, r, _ in layout)
    var *= units / max(units - p, units / 4) if units else 1.0
    return phi, var


def _solve(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``A^-1 rhs``; the minimum-norm least-squares solution when ``A`` is (nearly) singular, as
    with tiny budgets, where a plain solve can return arbitrarily large values."""
    if np.linalg.cond(A) < 1e10:
        return np.linalg.solve(A, rhs)
    return np.linalg.lstsq(A, rhs, rcond=1e-10)[0]


def _products(Z: np.ndarray, terms) -> np.ndarray:
    return np.stack([Z[:, list(T)].prod(axis=1) for T in terms], axis=1)


def _to_shapley(M: int, terms) -> np.ndarray:
    """(M, p): the Shapley values of a fitted game from its coefficients."""
    T = np.zeros((M, M + len(terms)))
    T[:, :M] = np.eye(M)
    for q, members in enumerate(terms):
        T[list(members), M + q] = 1.0 / len(members)
    return T


def _pair_influence(H, weights, resid, side, comp) -> np.ndarray:
    """(n, b, M, O): each sampled pair's contribution to the linearised error of phi."""
    es = resid[:, side] * weights[side][None, :, None]  # (n, b, O)
    ec = resid[:, comp] * weights[comp][None, :, None]
    return H[side][None, :, :, None] * es[:, :, None, :] + H[comp][None, :, :, None] * ec[:, :, None, :]


def _stratum_variance(H, weights, resid, side, comp) -> np.ndarray:
    """Sample variance (ddof=1) of the pairs' influences in one stratum, in blocks of pairs."""
    n, _, n_out = resid.shape
    r, M = side.shape[0], H.shape[1]
    step = max(1, _MAX_ELEMENTS // max(1, n * M * n_out))
    blocks = [slice(a, a + step) for a in range(0, r, step)]
    total = sum(_pair_influence(H, weights, resid, side[b], comp[b]).sum(axis=1) for b in blocks)
    mean = total / r
    sq = sum(((_pair_influence(H, weights, resid, side[b], comp[b]) - mean[:, None]) ** 2)
             .sum(axis=1) for b in blocks)
    return sq / (r - 1)


def interaction_terms(importance: np.ndarray, n_sampled: int, max_players: int = 6):
    """All subsets (size >= 2) of the ``k`` most important players, ``2**k - 1 - k <= K / 6``.

    ``n_sampled`` (``K``) is the number of sampled (not enumerated) coalitions of the design:
    the terms only reduce the error of the sampled part. ``k <= 6`` (57 terms): more players
    cost far more time (the regression grows with the square of its terms) for little gain
    (``benchmarks/agnostic.py``).
    """
    M = importance.shape[0]
    k = 0
    while k < min(M, max_players) and 2 ** (k + 1) - 2 - k <= n_sampled / 6:
        k += 1
    if k < 2:
        return []
    top = sorted(np.argsort(-importance, kind="stable")[:k].tolist())
    return [T for r in range(2, k + 1) for T in combinations(top, r)]
