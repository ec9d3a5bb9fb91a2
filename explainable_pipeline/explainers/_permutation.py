"""Antithetic permutation sampling: marginal contributions along permutations and their reverses."""

from __future__ import annotations

import numpy as np

from ._designs import _permutation_masks
from ._engine import _Engine, _rel_change


def _permutation_estimate(perms, v) -> tuple[np.ndarray, np.ndarray]:
    """Mean marginal contributions and their variance; ``v`` has shape (n, p, M + 1, O).

    Permutations come in antithetic pairs (a permutation, then its reverse): the pairs are
    independent draws, so the variance of the mean is the pairs' sample variance over their
    number.
    """
    d = v[:, :, 1:] - v[:, :, :-1]  # contribution of perms[q, j]
    pos = np.argsort(perms, axis=1)
    contrib = np.take_along_axis(d, pos[None, :, :, None], axis=2)  # (n, p, M, O)
    n, p = contrib.shape[:2]
    pairs = contrib.reshape(n, p // 2, 2, *contrib.shape[2:]).mean(axis=2)
    if pairs.shape[1] > 1:
        var = pairs.var(axis=1, ddof=1) / pairs.shape[1]
    else:  # one pair: no spread to measure; its squared distance from zero, conservatively
        var = pairs[:, 0] ** 2
    return contrib.mean(axis=1), var


def run_permutation(eng: _Engine, designs, active, tol):
    w = eng.w
    phi, var, converged = None, None, None
    for t in range(len(designs[active[0]])):
        perms = {j: designs[j][t] for j in active}
        prefix = {j: _permutation_masks(perms[j]) for j in active}
        M = perms[active[0]].shape[1]
        masks = np.concatenate([prefix[j].reshape(-1, M) for j in active])
        bg = np.concatenate([np.full(prefix[j].shape[0] * (M + 1), j) for j in active])
        values = eng.values(masks, bg)
        # variances in units of a power of two near the largest output: squares of outputs
        # above 1e154 overflow, and dividing by a power of two is exact
        top = float(np.abs(values).max(initial=0.0))
        unit = 2.0 ** np.ceil(np.log2(top)) if 0.0 < top < np.inf else 1.0
        new, var, start, parts = 0.0, 0.0, 0, []
        for j in active:
            p = prefix[j].shape[0]
            v = values[:, start : start + p * (M + 1)].reshape(eng.n, p, M + 1, -1)
            start += p * (M + 1)
            est, v_j = _permutation_estimate(perms[j], v / unit)
            new = new + w[j] * est * unit
            var = var + w[j] ** 2 * v_j
            parts.append((w[j] ** 2 * v_j, p // 2))
        var = var * _small_sample_factor(var, parts)
        if phi is not None and tol is not None:
            converged = _rel_change(new, phi) <= tol
        phi = new
        if converged:
            break
    if tol is not None and converged is None:
        converged = False
    return phi, np.sqrt(var) * unit, converged


def _small_sample_factor(total, parts) -> np.ndarray:
    """``(t / z)^2``: the squared ratio of Student's 97.5% quantile, at the degrees of freedom
    of the weighted sum of per-background-row variances (Welch-Satterthwaite), to the
    normal's, so that ``+-1.96 se`` stays a 95% band with few antithetic pairs (2 pairs:
    45-82% of the bands held the exact values; the factor is 1.0 at large budgets)."""
    from scipy.stats import t as student

    denom = 0.0
    for part, pairs in parts:
        if pairs > 1:  # one pair: its squared distance from zero, already conservative
            denom = denom + part**2 / (pairs - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(np.asarray(denom) > 0, total**2 / denom, np.inf)
    df = np.maximum(df, 1.0)
    return (student.ppf(0.975, df) / 1.959963984540054) ** 2
