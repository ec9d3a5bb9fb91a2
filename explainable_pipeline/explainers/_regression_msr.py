"""Regression-adjusted maximum sample reuse (Witter, Liu & Musco, 2025).

For the background-averaged game ``v`` of a row: fit a proxy game ``g`` (a gradient-boosted tree
ensemble over the coalition indicators, :mod:`._proxy_tree`) to sampled coalition values,
compute ``phi(g)`` exactly, and correct it with an unbiased Monte Carlo estimate of the
residual game ``v - g``:

    phi(v) = phi(g) + phi(v - g).

The residual's Shapley value is estimated by stratified sampling by coalition size (sizes
``s`` and ``M - s`` sampled in complementary pairs without replacement, small and large sizes
enumerated while the budget allows; the design of :class:`~._designs._KernelDesign`). In the
stratum of size ``s``, ``binom(M, s)`` times player ``i``'s Shapley weight is ``1 / s`` when
``i`` is in the coalition and ``-1 / (M - s)`` otherwise, so each stratum's part of
``phi_i(v - g)`` is the mean of ``(1[i in S] / s - 1[i not in S] / (M - s)) (v - g)(S)`` over
its sampled coalitions: unbiased, and summing to zero over players in every stratum. With the
end points ``(v - g)(N) - (v - g)(empty)`` spread equally, the estimate is exactly efficient.

Cross-fitting keeps it unbiased: the coalitions are two independent designs of half the
budget; the proxy fitted on one half corrects with the other, and the two estimates are
averaged. The standard error is the stratified-sampling variance of the residual estimates,
scaled by Student's 97.5% quantile over 1.96 at the strata's pooled degrees of freedom
(:func:`student_factor`; one per single-pair stratum): at small budgets a stratum holds one or
two pairs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._designs import _kernel_mass, _KernelDesign
from ._engine import _Engine, single_threaded_blas
from ._proxy_tree import fit_proxy, proxy_shapley

MIN_PAIRS = 2
"""Sampled pairs each fold keeps beyond its enumerated sizes (when sizes are left)."""


class MsrPlan:
    """Two independent half-budget designs of the background-averaged game."""

    def __init__(self, M: int, budget: int, seed: int):
        self.M = M
        rng = np.random.RandomState(seed)
        half = max(1, int(budget) // 2)
        if M < 62 and budget >= 2**M - 2:  # every coalition: both folds enumerate (exact)
            half = 2**M - 2
        # each fold samples at least MIN_PAIRS pairs beyond what it enumerates: a fold that
        # only enumerates sizes 1 and M - 1 leaves the middle sizes unseen, and its residual
        # estimate there (zero) with a standard error of zero
        self.folds = [_KernelDesign(M, half, rng, 1, min_pairs=MIN_PAIRS) for _ in range(2)]
        self.seed = seed


def run_regression_msr(eng: _Engine, plan: MsrPlan):
    """Shapley values (n, M, O), standard errors and convergence (always None) of a chunk."""
    M, rows = plan.M, np.arange(eng.n)
    folds = []
    enum_values = None
    for design in plan.folds:
        masks, _ = design.round(0)
        n_enum = design.enum_masks.shape[0]
        if enum_values is None:
            enum_values = eng.values_rows(rows, masks[:n_enum], -1)
        sampled = eng.values_rows(rows, masks[n_enum:], -1)
        folds.append((design, masks, np.concatenate([enum_values, sampled], axis=1)))
    ends = np.vstack([np.zeros(M, dtype=bool), np.ones(M, dtype=bool)])
    with single_threaded_blas():
        phi, var = _estimate(eng, plan, folds, ends)
    return phi, np.sqrt(var), None


def _estimate(eng, plan, folds, ends):
    M, n, n_out = plan.M, eng.n, eng.n_out
    phi, var = np.zeros((n, M, n_out)), np.zeros((n, M, n_out))
    for fit_fold, est_fold in ((0, 1), (1, 0)):
        _, fit_masks, fit_values = folds[fit_fold]
        design, masks, values = folds[est_fold]
        Z_fit = np.vstack([fit_masks, ends])
        for r in range(n):
            for o in range(n_out):
                y = np.concatenate([fit_values[r, :, o], [eng.base[o], eng.fx[r, o]]])
                proxy = fit_proxy(Z_fit, y, plan.seed)
                g = proxy.predict(np.vstack([masks, ends]).astype(np.float64))
                resid = values[r, :, o] - g[:-2]
                r0, rN = eng.base[o] - g[-2], eng.fx[r, o] - g[-1]
                est, v = msr_estimate(design, masks, resid, r0, rN)
                phi[r, :, o] += 0.5 * (proxy_shapley(proxy, M) + est)
                var[r, :, o] += 0.25 * v
    return phi, var


def msr_estimate(design: _KernelDesign, masks: np.ndarray, resid: np.ndarray, r0: float,
                 rN: float):
    """Stratified estimate (M,) of the Shapley values of a game known on ``masks`` (the
    design's round-0 layout) with end points ``r0`` and ``rN``, and its variance (M,)."""
    M = masks.shape[1]
    phi = np.full(M, (rN - r0) / M)
    var = np.zeros(M)
    n_enum = design.enum_masks.shape[0]
    if n_enum:
        Z = masks[:n_enum]
        s = Z.sum(axis=1)
        count = np.array([_comb(M, k) for k in s], dtype=float)
        coef = np.where(Z, 1.0 / s[:, None], -1.0 / (M - s)[:, None]) / count[:, None]
        phi += resid[:n_enum] @ coef
    start = n_enum
    parts, dfs = [], []  # each stratum's variance (M,) and its degrees of freedom
    for (mass, sampled, population), r in zip(design.strata, design.pairs_in_round(0),
                                              strict=True):
        side, comp = resid[start : start + r], resid[start + r : start + 2 * r]
        S = sampled[:r]
        s = S.sum(axis=1)
        units = _unit(S, s, M, side) + _unit(~S, M - s, M, comp)  # (r, M)
        units /= np.where(2 * s == M, 2.0, 1.0)[:, None]  # both sides in one stratum
        if population is None:  # sizes drawn with probability pair mass / stratum mass
            units *= (mass / np.array([_pair_mass(M, k) for k in s]))[:, None]
        phi += units.mean(axis=0)
        if r > 1:
            fpc = 1.0 if population is None else max(0.0, 1.0 - r / population)
            parts.append(fpc * units.var(axis=0, ddof=1) / r)
        else:
            parts.append(units[0] ** 2)
        dfs.append(max(r - 1, 1))  # one pair: its square, one degree of freedom
        start += 2 * r
    if parts:
        var += np.sum(parts, axis=0) * student_factor(int(sum(dfs))) ** 2  # pooled
    return phi, var


@lru_cache(maxsize=256)
def student_factor(df: int) -> float:
    """Factor on a standard error with ``df`` degrees of freedom (at least 1) so that ``1.96``
    of them span Student's 95% band. Strata of one or two pairs make the variance a noisy
    estimate of itself: without it, 78% of the bands held the exact values at 40 coalitions
    for 8 players."""
    from scipy.stats import t

    return float(t.ppf(0.975, max(df, 1)) / t.ppf(0.975, np.inf))


def _unit(Z: np.ndarray, s: np.ndarray, M: int, values: np.ndarray) -> np.ndarray:
    """(r, M): ``(1[i in S] / s - 1[i not in S] / (M - s)) v(S)`` for coalitions of sizes s."""
    return np.where(Z, 1.0 / s[:, None], -1.0 / (M - s)[:, None]) * values[:, None]


def _pair_mass(M: int, s: int) -> float:
    return _kernel_mass(M, s) * (1 if 2 * s == M else 2)


def _comb(M: int, k: int) -> int:
    from math import comb

    return comb(M, k)
