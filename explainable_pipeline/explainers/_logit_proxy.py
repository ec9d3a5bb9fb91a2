"""A logistic proxy game as a control variate for probability outputs.

A classifier's probability along a game, ``v(S) = f(x_S, b)``, is usually a squashed smooth
function of the coalition: ``sigma(eta(z))`` with ``eta`` close to additive plus a few pairwise
terms. KernelSHAP's regression fits additive games (and, with paired sampling, pairwise ones)
exactly; the squashing creates interactions of every order, which are what its sampling error
is made of. So when a game's values lie in ``[0, 1]``, a proxy

    p(z) = sigma(beta_0 + sum_i g_i z_i + sum_{(i, k) in pairs} h_ik z_i z_k)

is fitted to the game's coalitions (soft-label logistic regression on up to 32 of them per
coefficient, every size weighing the same, anchored at the full and empty coalitions), and Shapley
values are split as ``phi(v) = phi(p) + phi(v - p)``:

* ``phi(v - p)`` comes from the same sampled coalitions as before (the residual game is much
  flatter, so its regression error is smaller);
* ``phi(p)`` costs no model call: the proxy is evaluated on a design many times larger, drawn
  from another seed (its error is independent of the residual's and is added to the standard
  errors; the design is shared by the chunk's games, so a row's proxy errors over its games are
  correlated and their variance is that of the row's summed proxy game).

Efficiency stays exact: each part is fitted under its own efficiency constraint, and the two
constraints add up to ``v(N) - v(empty)``. Under full enumeration the split is exact whatever the
proxy. The proxy is fitted for every row, output and game (two Newton steps from a weighted
least-squares start on clipped logits), with players ranked by the chunk's importance. The
caller (:func:`._stratified._solve`) keeps the split for a (game, row) only where its
estimated variance, the proxy design's included, is below the plain regression's, and shifts
class-probability proxies onto the simplex (:func:`evaluate`) so that attributions still sum to
zero over the classes.
"""

from __future__ import annotations

import numpy as np

PROXY_PAIRS = 8
"""Pairwise terms of the proxy: every pair among the chunk's ``PROXY_PAIRS`` most important
players (28 for 8). Measured on the benchmark models: 4 players lose about a third of the
gain, 12 or 16 add nothing."""

PROXY_FACTOR = 32
"""The proxy's Shapley values come from a design ``PROXY_FACTOR`` times the game's budget..."""

PROXY_MAX = 65_536
"""... of at most ``PROXY_MAX`` coalitions (its regressors take about ``PROXY_MAX x (M + 60)``
floats three times over, 100 MB for 60 players)."""

BATCH_FLOATS = 1 << 22
"""Proxy values evaluated at once on the large design (32 MB of float64)."""

MIN_RATIO = 4
"""A game is split by a proxy only when its sample holds at least ``MIN_RATIO`` coalitions per
proxy coefficient (an over-fitted proxy would hide the residual game's error), and at least
the square root of the effective number of games (:func:`min_ratio`)."""


def min_ratio(weights: np.ndarray) -> float:
    """Coalitions per proxy coefficient a game needs before it is split, for games of weights
    ``weights`` (the background rows').

    A proxy fitted to a game's own coalitions biases its estimate by about ``p / n`` (``p``
    coefficients, ``n`` coalitions), the same way in every game, while the standard error of
    the average over ``G`` games falls as ``1 / sqrt(n G)``: the bias, relative to the standard
    error, grows as ``p sqrt(G / n)``. Requiring ``n / p >= sqrt(G)`` (``G = 1 / sum(w^2)`` for
    normalised weights) keeps it bounded. Measured on a 10-player probability game at 300
    coalitions per game: with 60 background rows the 95% bands covered 92%, with 120 and 200
    rows only 82% and 80% (squared bias / variance 0.76 and 1.1) before this bound.
    """
    w = np.asarray(weights, dtype=float)
    w = w[w > 0] / w.sum()
    return max(float(MIN_RATIO), float(np.sqrt(1.0 / np.sum(w * w))) if w.size else 0.0)

_RIDGE = 1e-3
_FIT_PER_COEF = 32
"""At most this many coalitions per proxy coefficient enter the fit (spread equally over
sizes)."""
_CLIP = 1e-3
_NEWTON_STEPS = 2


def applies(values: np.ndarray, fx: np.ndarray, base: np.ndarray) -> bool:
    """Whether every value of the game (sampled, full, empty) is a probability."""
    lo = min(values.min(initial=0.0), fx.min(initial=0.0), np.min(base))
    hi = max(values.max(initial=1.0), fx.max(initial=1.0), np.max(base))
    return lo >= 0.0 and hi <= 1.0


def top_pairs(importance: np.ndarray, n_players: int | None = None) -> list[tuple[int, int]]:
    """Every pair among the ``n_players`` (default: ``PROXY_PAIRS``, read at call time) most
    important players (ascending)."""
    n_players = PROXY_PAIRS if n_players is None else n_players
    top = sorted(np.argsort(-importance, kind="stable")[:n_players].tolist())
    return [(a, c) for i, a in enumerate(top) for c in top[i + 1 :]]


def features(masks: np.ndarray, pairs) -> np.ndarray:
    """The proxy's regressors on coalitions ``masks``: intercept, indicators, pair products."""
    Z = masks.astype(float)
    cols = [np.ones((Z.shape[0], 1)), Z]
    if pairs:
        a, c = np.array(pairs).T
        cols.append(Z[:, a] * Z[:, c])
    return np.hstack(cols)


def fit(masks, values, fx, base, pairs) -> np.ndarray:
    """Proxy coefficients (n, O, p) for every row and output of one game's sample.

    ``values`` (n, K, O), ``fx`` (n, O), ``base`` (O,) or (n, O), all in ``[0, 1]``. Every
    coalition size weighs the same (the sampled middle sizes, where the regression's error
    comes from, count as much as the enumerated small and large ones). Up to ``_FIT_PER_COEF``
    coalitions per coefficient enter the fit (the first of each size: the design's strata are
    in random order). At shap's budget (2,108 coalitions for 30 players) that is nearly all of
    them, and k-NN's error is 3% lower than with 8 per coefficient (stacking's 4%); larger
    budgets do not make the fit (its cost grows with p^2 per coalition) costlier still.
    """
    n, _, n_out = values.shape
    M = masks.shape[1]
    keep = _subsample(masks.sum(axis=1), -(-_FIT_PER_COEF * (1 + M + len(pairs))
                                           // max(M - 1, 1)))
    masks, values = masks[keep], values[:, keep]
    K = len(keep)
    F = features(np.vstack([masks, np.zeros((1, M), bool), np.ones((1, M), bool)]), pairs)
    sizes = masks.sum(axis=1)  # every coalition size weighs the same in the fit
    fw = 1.0 / np.bincount(sizes, minlength=M + 1)[sizes]
    sw = np.concatenate([fw / fw.sum(), [1.0, 1.0]])  # anchored at both ends
    base = np.broadcast_to(np.asarray(base, dtype=float), (n, n_out))
    target = np.concatenate([values, base[:, None, :], fx[:, None, :]], axis=1)  # (n, K+2, O)
    target = target.transpose(0, 2, 1).reshape(n * n_out, K + 2)  # (r, K+2)
    p = F.shape[1]
    beta = np.empty((n * n_out, p))
    step = max(1, BATCH_FLOATS // (p * (K + 2)))  # rows of (step, p, K+2) products at a time
    for lo in range(0, n * n_out, step):
        beta[lo : lo + step] = _newton(F, sw, target[lo : lo + step])
    return beta.reshape(n, n_out, p)


def _newton(F: np.ndarray, sw: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Coefficients (r, p) of soft-label logistic fits of ``target`` (r, K) on ``F`` (K, p)
    with weights ``sw``: a weighted least-squares start on clipped logits, then Newton steps."""
    p = F.shape[1]
    ridge = _RIDGE * np.eye(p)
    clipped = np.clip(target, _CLIP, 1 - _CLIP)
    logit = np.log(clipped / (1 - clipped))
    Fw = F * sw[:, None]
    beta = np.linalg.solve(Fw.T @ F + ridge, Fw.T @ logit.T).T  # (r, p): the WLS start
    for _ in range(_NEWTON_STEPS):
        prob = _sigmoid(beta @ F.T)  # (r, K)
        grad = (sw * (prob - target)) @ F + beta @ ridge
        curv = sw * prob * (1 - prob)  # (r, K)
        hess = np.matmul(F.T[None] * curv[:, None, :], F) + ridge  # (r, p, p)
        beta = beta - np.linalg.solve(hess, grad[..., None])[..., 0]
    return beta


def _subsample(sizes: np.ndarray, per_size: int) -> np.ndarray:
    """Positions of the first ``per_size`` coalitions of each size, in their order."""
    order = np.argsort(sizes, kind="stable")
    sorted_sizes = sizes[order]
    first = np.searchsorted(sorted_sizes, sorted_sizes, side="left")
    rank = np.arange(len(sizes)) - first
    return np.sort(order[rank < per_size])


def evaluate(F: np.ndarray, beta: np.ndarray, simplex=False) -> np.ndarray:
    """Proxy values (n, K, O) of coefficients ``beta`` (n, O, p) on regressors ``F`` (K, p)
    (:func:`features`).

    ``simplex`` (bool, or one per row): the game's outputs sum to one (class probabilities);
    the proxies are then shifted by an equal share of ``1 - sum`` so that they sum to one too.
    Their Shapley values then sum to zero over the outputs on any design, as the residual
    games' do, and so do the attributions.
    """
    n, n_out, p = beta.shape
    eta = F @ beta.reshape(n * n_out, p).T  # (K, n * O)
    values = _sigmoid(eta).reshape(-1, n, n_out).transpose(1, 0, 2)
    simplex = np.broadcast_to(np.asarray(simplex, dtype=bool), (n,))
    if simplex.any():
        gap = (1.0 - values[simplex].sum(axis=2, keepdims=True)) / n_out
        values[simplex] += gap
    return values


def on_simplex(values: np.ndarray, fx: np.ndarray, base: np.ndarray) -> bool:
    """Whether the game's outputs are class probabilities: two or more, summing to one."""
    if values.shape[2] < 2:
        return False
    return bool(np.abs(values.sum(axis=2) - 1).max(initial=0.0) < 1e-9
                and np.abs(fx.sum(axis=1) - 1).max(initial=0.0) < 1e-9
                and abs(float(np.sum(base)) - 1) < 1e-9) if np.ndim(base) == 1 else False


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
