"""KernelSHAP: efficiency-constrained weighted least squares over sampled coalitions.

:func:`kernel_fit` solves one game's regression for every row and output that share a
coalition design, and estimates the standard error of the result from the design's strata.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

import numpy as np

from ._designs import pack_bits


def kernel_fit(masks, weights, values, fx, base, terms=(), ridge=1e-10, layout=None):
    """Efficiency-constrained weighted least squares, vectorised over rows and outputs.

    Fits ``v(S) - v(empty) ~ sum_i a_i z_i + sum_T c_T prod_{i in T} z_i`` with the Shapley
    kernel weights, under ``sum(a) + sum(c) = v(N) - v(empty)``, and returns the Shapley values
    of the fitted game, ``phi_i = a_i + sum_{T containing i} c_T / |T|``. With no ``terms`` this
    is KernelSHAP. The interaction terms act as control variates: whatever their coefficients,
    the linear part of the kernel fit recovers the Shapley value of the residual game, so the
    estimate stays exact under full enumeration while the variance drops when the game has
    high-order interactions among the players in ``terms``. A tiny ``ridge`` (relative to the
    linear block's scale) keeps the system well posed; larger ones bias games of order two,
    which paired designs otherwise fit exactly, and measured no better on the benchmarks.

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
    return KernelFit(masks, weights, terms, ridge, layout).apply(values, fx, base)


class KernelFit:
    """The design-only half of :func:`kernel_fit`, prepared once for many value sets.

    Everything that depends only on the coalitions, their weights and the terms (the normal
    matrix, its solve, the influence directions) is computed here; :meth:`apply` then costs a
    few products per set of values. Used where one design serves many games (the logistic
    proxies of :mod:`._logit_proxy`).
    """

    def __init__(self, masks, weights, terms=(), ridge=1e-10, layout=None):
        M = masks.shape[1]
        self.M, self.terms, self.layout, self.weights = M, terms, layout, weights
        if M == 1:
            return
        Z = masks.astype(float)
        F = np.hstack([Z, _products(masks, terms)]) if terms else Z
        root = np.sqrt(weights)[:, None]
        Fw = F * root
        A = Fw.T @ Fw  # symmetric: numpy computes the product of a matrix with itself once
        Fw *= root  # F * weights, in place: no third (K, p) array on the proxies' designs
        p = A.shape[0]
        scale = np.trace(A[:M, :M]) / M
        # tiny ridges keep a (nearly) singular design from returning huge values (tiny
        # budgets); every coalition enumerated needs none, and stays exact (a ridge of 1e-9
        # moved the values by 1e-9 relative)
        if not (M < 62 and masks.shape[0] >= 2**M - 2):
            A[np.arange(M), np.arange(M)] += 1e-9 * scale
        if terms:
            A[np.arange(M, p), np.arange(M, p)] += ridge * scale
        sol = _solve(A, np.hstack([np.ones((p, 1)), np.eye(p)]))
        u, A_inv = sol[:, 0], sol[:, 1:]
        self.F, self.Fw, self.u, self.p = F, Fw, u, p
        self.T = _shapley_map(M, terms)  # (M, p)
        self.A_inv = A_inv
        if layout is not None:
            TP = self.T - (self.T @ u)[:, None] / u.sum()  # T @ (I - u 1' / sum(u))
            self.H = F @ (TP @ A_inv).T  # (K, M): influence direction of each coalition

    def apply(self, values, fx, base):
        """Shapley values (n, M, O) and variances (or None) of the fitted games."""
        M = self.M
        delta = fx - base  # (n, O)
        n, K, n_out = values.shape
        if M == 1:
            return delta[:, None, :] * np.ones((n, 1, 1)), np.zeros((n, 1, n_out))
        p, u = self.p, self.u
        y = values - np.asarray(base)[..., None, :] if np.ndim(base) == 2 else values - base
        y_flat = y.transpose(1, 0, 2).reshape(K, n * n_out)
        Ab = self.A_inv @ (self.Fw.T @ y_flat)  # (p, n * O)
        nu = (Ab.reshape(p, n, n_out).sum(axis=0) - delta) / u.sum()  # (n, O)
        theta = Ab - u[:, None] * nu.reshape(1, n * n_out)  # (p, n * O)
        phi = (self.T @ theta).reshape(M, n, n_out).transpose(1, 0, 2)
        layout = self.layout
        if layout is None:
            return phi, None
        resid = (y_flat - self.F @ theta).reshape(K, n, n_out).transpose(1, 0, 2)  # (n, K, O)
        var = _layout_variance(self.H, self.weights, resid, layout)
        # residuals of a fit with p coefficients understate the noise: the usual degrees-of-
        # freedom correction, with sampled pairs as the units (measured: it brings the variance
        # of (error / standard error) to about one, with and without interaction terms)
        units = sum(r for _, r, _ in layout)
        var *= units / max(units - p, units / 4) if units else 1.0
        return phi, var


def _solve(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, rhs)
    except np.linalg.LinAlgError:  # singular: the minimum-norm least-squares solution
        return np.linalg.lstsq(A, rhs, rcond=None)[0]


def _layout_variance(H, weights, resid, layout) -> np.ndarray:
    """Stratified variance of the sum of the sampled pairs' influences (n, M, O).

    A pair's influence is ``g = H[S] w_S e_S + H[C] w_C e_C`` (``e``: residuals). Within a
    stratum of ``r`` pairs drawn without replacement from ``N``, the variance of the sum is
    ``(1 - r / N) r s^2`` with ``s^2`` the pairs' sample variance; strata with a single pair are
    pooled into one collapsed stratum. The sums of ``g`` and ``g^2`` are matrix products.
    """
    n, _, n_out = resid.shape
    M = H.shape[1]
    E = (resid * weights[None, :, None]).transpose(1, 0, 2).reshape(-1, n * n_out)  # (K, nO)
    var = np.zeros((M, n * n_out))
    singles = []
    for start, r, population in layout:
        hs, hc = H[start : start + r], H[start + r : start + 2 * r]  # (r, M)
        es, ec = E[start : start + r], E[start + r : start + 2 * r]  # (r, nO)
        total = hs.T @ es + hc.T @ ec  # (M, nO)
        if r == 1:
            singles.append(total)
            continue
        square = ((hs * hs).T @ (es * es) + 2 * (hs * hc).T @ (es * ec)
                  + (hc * hc).T @ (ec * ec))
        fpc = 1.0 if population is None else max(0.0, 1.0 - r / population)
        var += fpc * r * np.maximum(square - total * total / r, 0.0) / (r - 1)
    if len(singles) > 1:  # collapsed strata: the singletons' spread around their mean
        var += len(singles) * np.var(np.stack(singles), axis=0, ddof=1)
    elif singles:  # one unit alone: its squared distance from zero, conservatively
        var += singles[0] ** 2
    return var.reshape(M, n, n_out).transpose(1, 0, 2)


def _products(masks: np.ndarray, terms) -> np.ndarray:
    """(K, len(terms)) float: whether each coalition holds every player of each term.

    The terms' players (at most 62) are packed into one integer per coalition, so all the
    products are one AND and compare (a quarter of the time of a product per term)."""
    players = sorted({i for T in terms for i in T})
    if len(players) > 62:
        return np.stack([masks[:, list(T)].all(axis=1) for T in terms], axis=1).astype(float)
    column = {p: q for q, p in enumerate(players)}
    code = pack_bits(masks[:, players])
    want = np.array([sum(1 << column[i] for i in T) for T in terms], dtype=np.int64)
    return ((code[:, None] & want) == want).astype(float)


def _shapley_map(M: int, terms) -> np.ndarray:
    """:func:`_to_shapley`, cached up to 64 players (the games of a chunk share their terms;
    above that the map is large and cheap next to the solve)."""
    key = tuple(map(tuple, terms))
    return _to_shapley(M, key) if M <= 64 else _to_shapley.__wrapped__(M, key)


@lru_cache(maxsize=64)
def _to_shapley(M: int, terms: tuple) -> np.ndarray:
    """(M, p): the Shapley values of a fitted game from its coefficients (read-only)."""
    T = np.zeros((M, M + len(terms)))
    T[:, :M] = np.eye(M)
    for q, members in enumerate(terms):
        T[list(members), M + q] = 1.0 / len(members)
    T.flags.writeable = False
    return T


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
