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
        new, var, start = 0.0, 0.0, 0
        for j in active:
            p = prefix[j].shape[0]
            v = values[:, start : start + p * (M + 1)].reshape(eng.n, p, M + 1, -1)
            start += p * (M + 1)
            est, v_j = _permutation_estimate(perms[j], v)
            new = new + w[j] * est
            var = var + w[j] ** 2 * v_j
        if phi is not None and tol is not None:
            converged = _rel_change(new, phi) <= tol
        phi = new
        if converged:
            break
    if tol is not None and converged is None:
        converged = False
    return phi, np.sqrt(var), converged
