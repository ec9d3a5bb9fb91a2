"""KernelSHAP: efficiency-constrained weighted least squares over sampled coalitions."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ._designs import _KernelDesign
from ._engine import _Engine, _rel_change


def _kernel_solve(masks, weights, values, fx, base, terms=(), ridge=1e-4) -> np.ndarray:
    """Efficiency-constrained weighted least squares, vectorised over rows and outputs.

    Fits ``v(S) - v(empty) ~ sum_i a_i z_i + sum_T c_T prod_{i in T} z_i`` with the Shapley
    kernel weights, under ``sum(a) + sum(c) = v(N) - v(empty)``, and returns the Shapley values
    of the fitted game, ``phi_i = a_i + sum_{T containing i} c_T / |T|``. With no ``terms`` this
    is KernelSHAP. The interaction terms act as control variates: whatever their coefficients,
    the linear part of the kernel fit recovers the Shapley value of the residual game, so the
    estimate stays exact under full enumeration while the variance drops when the game has
    high-order interactions among the players in ``terms``. The small ``ridge`` (relative to the
    linear block's scale) only touches the interaction coefficients.
    """
    M = masks.shape[1]
    delta = fx - base  # (n, O)
    if M == 1:
        return delta[:, None, :]
    Z = masks.astype(float)
    if terms:
        F = np.hstack([Z, np.stack([Z[:, list(T)].prod(axis=1) for T in terms], axis=1)])
    else:
        F = Z
    Fw = F * weights[:, None]
    A = Fw.T @ F
    if terms:
        scale = np.trace(A[:M, :M]) / M
        A[M:, M:] += np.eye(len(terms)) * ridge * scale
    p = A.shape[0]
    n, K, n_out = values.shape
    # right-hand sides of every row and output at once: (p, n * O); plus the ones vector
    rhs = Fw.T @ (values - base).transpose(1, 0, 2).reshape(K, n * n_out)
    rhs = np.hstack([rhs, np.ones((p, 1))])
    try:
        sol = np.linalg.solve(A, rhs)
    except np.linalg.LinAlgError:  # singular design (tiny budgets): minimum-norm solution
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
    Ab = sol[:, :-1].reshape(p, n, n_out).transpose(1, 0, 2)  # (n, p, O)
    u = sol[:, -1]
    nu = (Ab.sum(axis=1) - delta) / u.sum()
    theta = Ab - u[None, :, None] * nu[:, None, :]
    phi = theta[:, :M].copy()
    for q, T in enumerate(terms):
        for i in T:
            phi[:, i] += theta[:, M + q] / len(T)
    return phi


def _interaction_terms(importance: np.ndarray, n_coalitions: int, max_players: int = 8):
    """All subsets (size >= 2) of the ``k`` most important players, ``2**k - 1 - k <= K / 6``."""
    M = importance.shape[0]
    k = 0
    while k < min(M, max_players) and 2 ** (k + 1) - 2 - k <= n_coalitions / 6:
        k += 1
    if k < 2:
        return []
    top = sorted(np.argsort(-importance, kind="stable")[:k].tolist())
    return [T for r in range(2, k + 1) for T in combinations(top, r)]



def _kernel_rounds(n_rounds: int, complete: bool, tol, round_solver):
    """Run KernelSHAP rounds until the estimate is stable (or the design is exhausted).

    ``round_solver(t)`` returns ``(solve, n_coalitions)`` for round ``t``: ``solve(terms)`` is the
    Shapley estimate of the coalitions drawn so far with interaction control variates ``terms``.
    Unless the design enumerates every coalition, a pilot fit without terms picks them.
    """
    phi, converged = None, None
    for t in range(n_rounds):
        solve, n_coalitions = round_solver(t)
        terms = []
        if not complete:
            pilot = solve(())
            terms = _interaction_terms(np.abs(pilot).mean(axis=(0, 2)), n_coalitions)
        new = solve(terms)
        if phi is not None and tol is not None:
            converged = _rel_change(new, phi) <= tol
        phi = new
        if converged:
            break
    if complete:
        converged = True
    elif tol is not None and converged is None:
        converged = False
    return phi, converged


def run_kernel(eng: _Engine, designs, active, tol):
    if isinstance(designs, _KernelDesign):  # one design for the background-averaged game
        design = designs

        def shared_round(t):
            masks, weights = design.round(t)
            fit = (masks, weights, eng.values(masks), eng.fx, eng.base)
            return (lambda terms: _kernel_solve(*fit, terms=terms)), len(masks)

        complete = design.complete and not design.strata
        return _kernel_rounds(design.n_rounds, complete, tol, shared_round)

    w = eng.w
    first = designs[active[0]]

    def independent_round(t):  # one design per background row, weighted by the row's weight
        rounds = {j: designs[j].round(t) for j in active}
        masks = np.concatenate([rounds[j][0] for j in active])
        bg = np.concatenate([np.full(len(rounds[j][0]), j) for j in active])
        values = eng.values(masks, bg)
        stops = np.cumsum([len(rounds[j][0]) for j in active])[:-1]
        per_game = dict(zip(active, np.split(values, stops, axis=1), strict=True))
        fits = {j: (rounds[j][0], rounds[j][1], per_game[j], eng.fx, eng.f_background[j])
                for j in active}

        def solve(terms):
            return sum(w[j] * _kernel_solve(*fits[j], terms=terms) for j in active)

        return solve, len(rounds[active[0]][0])

    complete = first.complete and not first.strata
    return _kernel_rounds(first.n_rounds, complete, tol, independent_round)
