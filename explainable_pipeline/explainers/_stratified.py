"""KernelSHAP-family estimators: designs per game, budget allocation, rounds, standard errors.

The value ``v(S) = sum_j w_j v_j(S)`` averages single-reference games ``v_j(S) = f(x_S, b_j)``
and Shapley values are linear, so ``phi = sum_j w_j phi(v_j)``. A *plan* says which games are
estimated and with how many coalitions:

``"neyman"`` (the default of ``method="kernel"``)
    One game per row and background row. The error of ``phi`` is ``sum_j w_j^2 Var(phi_j)``;
    for a fixed total it is smallest when game ``j`` gets coalitions in proportion to
    ``w_j sigma_j`` (Neyman allocation), ``sigma_j`` being the error scale of one coalition of
    that game. A pilot gives every game a quarter of the equal share; the rest of each row's
    budget then goes to its games in proportion to ``w_j sigma_j``, with ``sigma_j`` estimated
    from the pilot's own standard errors (budgets on a grid of quarter octaves, so rows with the same
    budget share one solve). Games where the row and the background row agree get little,
    games with large uncertain effects get more.
``"equal"``
    One game per background row, the same budget for each.
``"shared"``
    One design for the background-averaged game (as ``shap.KernelExplainer``): the choice when
    averaging over the background costs about one model row (the kernel-machine path with an
    rbf kernel).

Each game samples coalitions from a :class:`~._designs.NestedDesign` (small and large sizes
enumerated while affordable, the rest stratified by size in complementary pairs without
replacement, spread over sizes by their leverage scores for the stratified estimator and by
kernel mass for plain KernelSHAP), drawn from the seed and the background row only: every row meets the same
coalitions whatever the chunking, and growing a budget extends the sample. Budgets grow in
rounds: under ``"neyman"`` sampling stops after the pilot when the estimated error (the sum of
the standard errors over the sum of ``|phi|``) is at most ``tol``; the other plans double their
budget until that estimated error is at most ``tol`` and the attributions change by at most
``tol`` between rounds. The
regression adds interaction terms among the chunk's most important players (control variates,
:func:`~._kernel_shap.kernel_fit`) and estimates each game's standard error from the spread of
its sampled pairs' influences within their strata; independent games' errors add with weights
``w_j^2``. When a game's values are probabilities, it is also split into a logistic proxy and a
residual game (:mod:`._logit_proxy`): the residual from the game's coalitions, the proxy on one
large design shared by the chunk (:meth:`KernelPlan.proxy_sample`); per row (for every output
at once) the split is kept only where its estimated variance (the proxy design's own
error included) is lower; a row's proxies share that design, so their variance is counted on
their sum over the row's games. The pilot already uses the terms and the proxies, so the
allocation follows the error of the estimator that finally runs (the residual's: the proxy
design's error is weighed in the final round only).
"""

from __future__ import annotations

import numpy as np

from . import _logit_proxy
from ._designs import NestedDesign
from ._engine import _Engine, _rel_change, single_threaded_blas
from ._kernel_shap import KernelFit, interaction_terms, kernel_fit

PLANS = ("neyman", "equal", "shared")

_MAX_TRIPLES = 1 << 19
"""Hybrid rows gathered per model pass on the black-box paths (their masks stay under 20 MB
for 30 players; ``max_batch_rows`` still bounds each model call)."""

PILOT_FRACTION = 0.25
"""Share of the budget the ``"neyman"`` plan spends equally before allocating the rest."""


class KernelPlan:
    """How a call's games are designed; shared by every chunk of rows.

    Parameters
    ----------
    M : int
        Players.
    budget : int
        Coalitions per row and background row on average (``"shared"``: per row).
    seed : int
        Every design derives from it and the background row.
    n_rounds : int
        Rounds of growing budgets (1: no early stopping; the ``"neyman"`` plan always has its
        pilot round first).
    mode : {"neyman", "equal", "shared"}
    alloc : {"kernel", "leverage", "sqrt"}
        How each design spreads its samples over coalition sizes.
    terms : bool
        Interaction control variates in the regression.
    proxies : bool
        Logistic proxy games for probability outputs (:mod:`._logit_proxy`; with ``terms``).
    """

    def __init__(self, M, budget, seed, n_rounds, mode="neyman", alloc="kernel", terms=True,
                 proxies=True):
        if mode not in PLANS:
            raise ValueError(f"unknown plan {mode!r}")
        self.M, self.budget, self.seed = M, int(budget), int(seed)
        self.mode, self.alloc, self.terms, self.proxies = mode, alloc, terms, proxies
        if M < 62 and self.budget >= 2**M - 2:
            # the budget enumerates every coalition: no pilot, no early stop on an estimated
            # error (a pilot's bands can miss; enumeration is exact and costs the budget)
            self.fractions = [1.0]
        elif mode == "neyman":
            self.fractions = [PILOT_FRACTION, 1.0]
        else:
            self.fractions = [2.0 ** (t + 1 - n_rounds) for t in range(n_rounds)]

    def design(self, j: int) -> NestedDesign:
        seed = int(np.random.SeedSequence([self.seed, j + 1]).generate_state(1)[0])
        return NestedDesign(self.M, seed, self.alloc)

    def proxy_sample(self):
        """Masks, weights, layout and sampled count of the design on which logistic proxies
        are explained (:mod:`._logit_proxy`): ``PROXY_FACTOR`` times the budget, its own seed."""
        if not self.proxies:
            return None
        if getattr(self, "_proxy", None) is None:
            seed = int(np.random.SeedSequence([self.seed, 0, 7]).generate_state(1)[0])
            design = NestedDesign(self.M, seed, self.alloc)
            cap = 2**self.M - 2 if self.M < 62 else 1 << 62
            counts = design.counts(min(_logit_proxy.PROXY_FACTOR * self.budget, cap,
                                       _logit_proxy.PROXY_MAX))
            self._proxy = _sample_of(design, counts)
        return self._proxy


class _Game:
    """One background row's game (``j = -1``: the background-averaged game) for every row of a
    chunk: per row, how many pairs of each stratum were evaluated, and their values."""

    def __init__(self, eng: _Engine, j: int, weight: float, design: NestedDesign):
        self.eng, self.j, self.w, self.design = eng, j, weight, design
        self.sizes = design.sizes
        self.count = np.zeros((eng.n, len(self.sizes)), dtype=np.int64)
        self.vals = [np.zeros((eng.n, 0, 2, eng.n_out)) for _ in self.sizes]

    @property
    def base(self) -> np.ndarray:
        return self.eng.base if self.j < 0 else self.eng.f_background[self.j]

    def grow(self, budgets: np.ndarray) -> list:
        """Requests that extend each row's sample to the design of its budget (a stratum never
        shrinks): ``(rows, masks, store)``, ``store(values)`` keeping the evaluated values.
        Rows whose samples grow alike share one request (every stratum's new pairs)."""
        target = np.zeros_like(self.count)
        for b in np.unique(budgets):
            counts = self.design.counts(int(b))
            target[budgets == b] = [counts.get(s, 0) for s in self.sizes]
        target = np.maximum(target, self.count)
        for q in np.flatnonzero((target > self.count).any(axis=0)):
            top = int(target[:, q].max())
            if self.vals[q].shape[1] < top:
                pad = np.zeros((self.eng.n, top - self.vals[q].shape[1], 2, self.eng.n_out))
                self.vals[q] = np.concatenate([self.vals[q], pad], axis=1)
        requests = []
        grows = (target > self.count).any(axis=1)
        keys = np.hstack([self.count, target])[grows]
        Q = len(self.sizes)
        for key, rows in _group(map(tuple, keys.tolist()), np.flatnonzero(grows)):
            parts = [(q, key[q], key[Q + q]) for q in range(Q) if key[Q + q] > key[q]]
            sides = [self.design.pairs(self.sizes[q], hi)[lo:hi] for q, lo, hi in parts]
            masks = np.concatenate([m for side in sides for m in (side, ~side)])
            step = max(1, _MAX_TRIPLES // len(masks))  # a request's triples stay bounded
            for lo in range(0, len(rows), step):
                part = rows[lo : lo + step]
                requests.append((part, masks, self._store(parts, part)))
        self.count = target
        return requests

    def _store(self, parts, rows: np.ndarray):
        def store(values):
            start = 0
            for q, lo, hi in parts:
                r = hi - lo
                self.vals[q][rows, lo:hi, 0] = values[:, start : start + r]
                self.vals[q][rows, lo:hi, 1] = values[:, start + r : start + 2 * r]
                start += 2 * r

        return store

    def groups(self):
        """Rows with the same sample, and the sample's pairs per stratum."""
        for key, rows in _group(map(tuple, self.count.tolist()), np.arange(self.eng.n)):
            yield rows, np.array(key)

    def data(self, rows: np.ndarray, key: np.ndarray):
        """Masks, weights, values (n_rows, K, O), sampled-strata layout, sampled count."""
        masks, weights, values, layout = [], [], [], []
        start, sampled = 0, 0
        for q, (s, r) in enumerate(zip(self.sizes, key, strict=True)):
            if r == 0:
                continue
            sides = self.design.pairs(s, int(r))
            masks += [sides, ~sides]
            weights.append(np.full(2 * r, self.design.pair_mass[s] / (2 * r)))
            v = self.vals[q][rows, :r]
            values += [v[:, :, 0], v[:, :, 1]]
            population = self.design.population[s]
            if r < population:
                layout.append((start, int(r), population))
                sampled += 2 * int(r)
            start += 2 * int(r)
        M = self.design.M
        if not masks:
            empty = np.zeros((0, M), dtype=bool)
            return empty, np.zeros(0), np.zeros((len(rows), 0, self.eng.n_out)), [], 0
        return (np.concatenate(masks), np.concatenate(weights), np.concatenate(values, axis=1),
                layout, sampled)

    def exact(self) -> bool:
        return all((self.count[:, q] >= self.design.population[s]).all()
                   for q, s in enumerate(self.sizes))


def _sample_of(design: NestedDesign, counts: dict):
    """Masks, weights, sampled-strata layout and sampled count of a design's ``counts``."""
    masks, weights, layout, start, sampled = [], [], [], 0, 0
    for s, r in counts.items():
        sides = design.pairs(s, r)
        masks += [sides, ~sides]
        weights.append(np.full(2 * r, design.pair_mass[s] / (2 * r)))
        if r < design.population[s]:
            layout.append((start, r, design.population[s]))
            sampled += 2 * r
        start += 2 * r
    return np.concatenate(masks), np.concatenate(weights), layout, sampled


def _group(keys, items: np.ndarray):
    """``(key, items with that key)`` in order of first appearance."""
    out: dict = {}
    for key, item in zip(keys, items, strict=True):
        out.setdefault(key, []).append(item)
    return [(key, np.array(members)) for key, members in out.items()]


def run_kernel(eng: _Engine, plan: KernelPlan, tol):
    """Shapley values (n, M, O), their standard errors and the convergence flag of a chunk."""
    if plan.mode == "shared":
        games = [_Game(eng, -1, 1.0, plan.design(-1))]
    else:
        games = [_Game(eng, int(j), float(eng.w[j]), plan.design(int(j)))
                 for j in np.flatnonzero(eng.w > 0)]
    phi, converged, spread = None, None, None
    for t, fraction in enumerate(plan.fractions):
        budgets = _budgets(plan, games, eng.n, fraction, spread if t else None)
        _evaluate(eng, [(game.j, request) for g, game in enumerate(games)
                        for request in game.grow(budgets[:, g])])
        exact = all(game.exact() for game in games)
        # the neyman pilot measures each game's error with the final estimator (interaction
        # terms and logistic proxies): the allocation follows what that estimator leaves
        terms = plan.terms and not exact
        # many small regressions: BLAS threads only add overhead (several-fold on a busy machine)
        final = t == len(plan.fractions) - 1 or plan.mode != "neyman"
        with single_threaded_blas():
            new, var, spread = _solve(eng, games, terms, phi,
                                      plan.proxy_sample() if terms else None, final)
        # stop when the estimated error is small: sum of standard errors / sum of |phi|
        small = tol is not None and float(np.sqrt(var).sum()) <= tol * float(np.abs(new).sum())
        if tol is not None and plan.mode == "neyman":
            converged = small
        elif phi is not None and tol is not None:
            # a small change alone is not enough: the first rounds enumerate the smallest and
            # largest sizes, which move the values little while the middle sizes are unseen
            converged = small and _rel_change(new, phi) <= tol
        phi = new
        if converged or exact:
            break
    if exact:
        converged = True
    elif tol is not None and converged is None:
        converged = False
    return phi, np.sqrt(var), converged


def _evaluate(eng: _Engine, requests) -> None:
    """Evaluate ``(j, (rows, masks, store))`` requests with as few model calls as possible:
    every (row, coalition, background row) of the round at once when the evaluation path takes
    single hybrid rows (the black box: model calls have a fixed cost), else one pass per set of
    rows (the games of a round share their rows)."""
    if not requests:
        return
    # the background-averaged game (j = -1, "shared") is not a single hybrid row
    if hasattr(eng.game, "evaluate_triples") and all(j >= 0 for j, _ in requests):
        batch, size = [], 0
        for request in requests + [None]:  # requests in batches of about _MAX_TRIPLES
            if request is not None:
                batch.append(request)
                size += len(request[1][0]) * len(request[1][1])
            if batch and (request is None or size >= _MAX_TRIPLES):
                _evaluate_triples(eng, batch)
                batch, size = [], 0
        return
    by_rows: dict[bytes, list] = {}
    for j, (rows, masks, store) in requests:
        by_rows.setdefault(rows.tobytes(), []).append((j, rows, masks, store))
    for group in by_rows.values():
        rows = group[0][1]
        masks = np.concatenate([masks for _, _, masks, _ in group])
        bg = np.concatenate([np.full(len(masks), j) for j, _, masks, _ in group])
        values = eng.values_rows(rows, masks, bg)
        start = 0
        for _, _, masks, store in group:
            store(values[:, start : start + len(masks)])
            start += len(masks)


def _evaluate_triples(eng: _Engine, requests) -> None:
    rows = np.concatenate([np.repeat(r, len(m)) for _, (r, m, _) in requests])
    masks = np.concatenate([np.tile(m, (len(r), 1)) for _, (r, m, _) in requests])
    bg = np.concatenate([np.full(len(r) * len(m), j) for j, (r, m, _) in requests])
    values = eng.values_triples(rows, masks, bg)
    start = 0
    for _, (r, m, store) in requests:
        size = len(r) * len(m)
        store(values[start : start + size].reshape(len(r), len(m), -1))
        start += size


def _budgets(plan: KernelPlan, games, n: int, fraction: float, spread) -> np.ndarray:
    """(n, n_games) coalition budgets of this round."""
    M, per_game = plan.M, max(1, round(plan.budget * fraction))
    if plan.mode != "neyman" or spread is None:  # equal shares (and the neyman pilot)
        size = max(per_game, min(4 * M, plan.budget))
        return np.full((n, len(games)), size, dtype=np.int64)
    w = np.array([game.w for game in games])
    used = np.stack([_used(game) for game in games], axis=1)
    return neyman_budgets(w[None, :] * spread, per_game * len(games), M, used)


def _used(game: _Game) -> np.ndarray:
    return 2 * game.count.sum(axis=1)


_GRID = 0.25
"""Step (in octaves) of the grid of per-game budgets: rows whose games get the same budget share
one solve; a quarter octave leaves about 3% of a row's budget unspent (an octave: about 10%)."""


def neyman_budgets(share: np.ndarray, total: int, M: int, used: np.ndarray) -> np.ndarray:
    """Per-(row, game) budgets in proportion to ``share`` (``w_j sigma_j``), at least what each
    game already used, on a grid of ``_GRID`` octaves, at most ``total`` per row where
    possible."""
    cap = 2**M - 2 if M < 62 else 1 << 62
    share = share + 1e-3 * share.max(axis=1, keepdims=True) + 1e-300
    share = share / share.sum(axis=1, keepdims=True)
    floor = float(max(1, min(4 * M, cap)))

    def level(x):
        step = np.round(np.log2(np.maximum(x, floor) / floor) / _GRID) * _GRID
        return np.maximum(np.minimum(np.round(floor * 2.0**step), cap), used)

    lo, hi = np.full(share.shape[0], -30.0), np.full(share.shape[0], 30.0)
    for _ in range(50):  # the largest multiplier whose levels fit each row's total
        mid = (lo + hi) / 2
        ok = level(share * total * 2.0 ** mid[:, None]).sum(axis=1) <= total
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return level(share * total * 2.0 ** lo[:, None]).astype(np.int64)


def _solve(eng: _Engine, games, with_terms: bool, previous=None, proxy_sample=None,
           final=True):
    """Shapley values and variances of the chunk, and each game's per-coalition error scale
    (n, n_games) for the next allocation. The interaction terms are among the chunk's most
    important players by ``previous`` (the last round's values), or a linear pilot fit."""
    M = eng.player_cols.shape[0]
    shape = (eng.n, M, eng.n_out)
    work = [(g, rows, game.data(rows, key)) for g, game in enumerate(games)
            for rows, key in game.groups()]
    terms_of = {}
    if with_terms:
        pilot = previous
        if pilot is None:
            pilot = np.zeros(shape)
            for g, rows, (masks, weights, values, _, _) in work:
                game = games[g]
                pilot[rows] += game.w * kernel_fit(masks, weights, values, eng.fx[rows],
                                                   game.base)[0]
        importance = np.abs(pilot).mean(axis=(0, 2))
        for g, rows, (*_, sampled) in work:
            terms_of[(g, rows[0])] = interaction_terms(importance, sampled) if sampled else []
    phi, var = np.zeros(shape), np.zeros(shape)
    spread = np.zeros((eng.n, len(games)))
    pairs = _logit_proxy.top_pairs(importance) if proxy_sample is not None else []
    min_ratio = _logit_proxy.min_ratio(np.array([game.w for game in games]))
    proxies = []  # games split by a proxy: (rows, game weight, coefficients, simplex, plain, split)
    for g, rows, (masks, weights, values, layout, sampled) in work:
        game = games[g]
        fx, base = eng.fx[rows], game.base
        prepared = KernelFit(masks, weights, terms_of.get((g, rows[0]), ()), layout=layout)
        split = None
        if (proxy_sample is not None and sampled and len(masks) >= min_ratio
                * (1 + M + len(pairs)) and _logit_proxy.applies(values, fx, base)):
            beta = _logit_proxy.fit(masks, values, fx, base, pairs)
            simplex = _logit_proxy.on_simplex(values, fx, base)
            ends = _logit_proxy.evaluate(_logit_proxy.features(_ENDS[M], pairs), beta, simplex)
            proxy = _logit_proxy.evaluate(_logit_proxy.features(masks, pairs), beta, simplex)
            split = prepared.apply(values - proxy, fx - ends[:, 0], base - ends[:, 1])
        est, v = prepared.apply(values, fx, base)
        terms = terms_of.get((g, rows[0]), ())
        # (pairs sampled per coefficient: where they are many the terms are well determined)
        if terms and final and sampled < 2 * _TERMS_CHECK_PAIRS * (M + len(terms)):
            unstable, plain = _unstable_terms(masks, weights, layout, values, fx, base, est, v)
            if unstable.size:
                est[unstable], v[unstable] = plain
                if split is not None:  # the split's fit has the same terms: not used there
                    split[1][unstable] = np.inf
        if sampled and final:
            _unseen_floor(prepared, values, fx, base, layout, v,
                          None if split is None else split[1], eng.f_background)
        error = v  # what the allocation follows: the error of the estimator that finally runs
        if split is not None:
            # per row, the split only where it lowers the estimated error (all outputs alike:
            # class probabilities keep attributions that sum to zero over the classes)
            use = (split[1].sum(axis=(1, 2)) < v.sum(axis=(1, 2)))[:, None, None]  # (n, 1, 1)
            error = np.where(use, split[1], v)
            # a pilot's values only rank the players (and stop early when already precise):
            # the proxies' own Shapley values are computed in the final round only, and the
            # split is settled once their error on the proxy design is known (_settle)
        spread[rows, g] = np.sqrt(error.sum(axis=(1, 2)) * max(sampled, 1))
        if split is not None and final and use.any():
            keep = use[:, 0, 0]
            proxies.append((rows[keep], game.w, beta[keep], simplex, (est[keep], v[keep]),
                            (split[0][keep], split[1][keep])))
            rows, est, v = rows[~keep], est[~keep], v[~keep]  # the others: plain now
        phi[rows] += game.w * est
        var[rows] += game.w**2 * v
    if proxies:
        _settle(proxies, _explain_proxies(proxies, proxy_sample, pairs, importance), phi, var)
    return phi, var, spread


def _unstable_terms(masks, weights, layout, values, fx, base, est, v):
    """Rows whose fit with interaction terms is unstable: their values differ from the plain
    fit's (no terms) by more than ``_TERMS_Z`` standard errors of the two. A term nearly
    collinear with its players in a small sample can take a large coefficient that the main
    effects offset: each value then moves a lot while the sum stays right, and the
    residuals (the standard errors) do not show it (measured: a random forest on 12 breast
    cancer columns, 200 coalitions, 0.34 off with a standard error of 0.0027). Such rows keep
    the plain fit, which the terms only refine. Returns those rows' positions and their
    plain (values, variances)."""
    plain_est, plain_var = KernelFit(masks, weights, (), layout=layout).apply(values, fx, base)
    gap = np.abs(est - plain_est)
    band = _TERMS_Z * np.sqrt(v + plain_var) + 1e-12 * np.abs(plain_est)
    rows = np.flatnonzero((gap > band).any(axis=(1, 2)))
    return rows, (plain_est[rows], plain_var[rows])


_TERMS_Z = 6.0
_TERMS_CHECK_PAIRS = 2
"""The check of :func:`_unstable_terms` runs for games with fewer sampled pairs than this per
coefficient (main effects and terms): an unstable fit needs a sample that barely determines
its terms (the forest above was caught at this threshold), and the check costs a second fit
(8-11% of the k-NN and stacking defaults when run on every game, 3% so)."""
"""How many standard errors (of the fits with and without interaction terms together) their
values may differ by before the terms are judged unstable (:func:`_unstable_terms`); both
fits are consistent, so a stable pair rarely differs by more than a few."""


def _unseen_floor(prepared, values, fx, base, layout, v, v_split, f_background) -> None:
    """Raise, in place, the variances of rows whose sampled coalitions the fit reproduces
    exactly, on games with few distinct values (thresholds: k-NN votes, trees, hard labels).

    Their residuals, hence their estimated errors, are zero, while the coalitions not sampled
    may still cross a threshold the sample missed (measured on a threshold game with 10
    players: 78% of the 95% bands held the exact values; 97% with this floor). Such rows get
    the variance of the same sample with one coalition per sampled stratum moved by the
    row's range of outputs (its own values, its output and the background's): a single
    unseen deviation per stratum, as in adding one success to a binomial count of none.
    Games with many distinct values (smooth, or exactly additive: linear models) keep their
    estimate. ``v`` and ``v_split`` (the proxy split's variances, or None) are (n, M, O).
    """
    v_min = v.sum(axis=(1, 2))
    if v_split is not None:
        v_min = np.minimum(v_min, v_split.sum(axis=(1, 2)))
    ends = np.concatenate([values, fx[:, None, :], np.broadcast_to(
        f_background[None], (fx.shape[0],) + f_background.shape)], axis=1)
    span = ends.max(axis=1) - ends.min(axis=1)  # (n, O)
    top = span.max(axis=1)
    flagged = np.flatnonzero((v_min <= _FLAT_RTOL * top**2) & (top > 0))
    rows = np.array([r for r in flagged if np.unique(ends[r]).size <= _FEW_VALUES], dtype=np.intp)
    if rows.size == 0:
        return
    pseudo = values[rows].copy()
    for start, _, _ in layout:
        pseudo[:, start] += span[rows]
    _, floor = prepared.apply(pseudo, fx[rows], base if np.ndim(base) < 2 else base[rows])
    v[rows] = np.maximum(v[rows], floor)
    if v_split is not None:
        v_split[rows] = np.maximum(v_split[rows], floor)


_FLAT_RTOL = 1e-12
"""A row's estimated variance (summed over players and outputs) at most this times its squared
range of outputs counts as zero (rounding of an exact fit)."""
_FEW_VALUES = 16
"""Games with at most this many distinct values (their coalitions', the row's output and the
background's) are treated as thresholds by :func:`_unseen_floor`."""


class _Ends(dict):
    """The full and empty coalitions (2, M) per number of players."""

    def __missing__(self, M):
        self[M] = np.array([[True] * M, [False] * M])
        return self[M]


_ENDS = _Ends()


def _explain_proxies(proxies, sample, pairs, importance):
    """The proxies of a chunk on their large design: :class:`_ProxyDesign`, whose
    ``phi`` and ``var`` (E, M, O) hold one entry per proxied (game, row) in the order of
    ``proxies``."""
    return _ProxyDesign(proxies, sample, pairs, importance)


class _ProxyDesign:
    """The proxies' Shapley values on one large design shared by every game of the chunk.

    Per (game, row) entry, ``phi`` and ``var`` are its own estimate and variance. The design is
    shared, so one row's entries (its games) have correlated errors: the variance of a row's
    weighted sum of proxies is :meth:`row_variance`, computed on the summed proxy game.
    """

    def __init__(self, proxies, sample, pairs, importance):
        masks, weights, layout, sampled = sample
        M = masks.shape[1]
        terms = interaction_terms(importance, sampled) if sampled else []
        self.rows = np.concatenate([item[0] for item in proxies])
        self.w = np.concatenate([np.full(len(item[0]), item[1]) for item in proxies])
        self.beta = np.concatenate([item[2] for item in proxies])
        self.simplex = np.concatenate([np.full(len(item[0]), item[3]) for item in proxies])
        self.fit = KernelFit(masks, weights, terms, layout=layout or None)
        self.F = _logit_proxy.features(masks, pairs)
        self.F_ends = _logit_proxy.features(_ENDS[M], pairs)
        n_out = self.beta.shape[1]
        self.step = max(1, _logit_proxy.BATCH_FLOATS // (len(masks) * n_out))
        self.phi = np.zeros((len(self.beta), M, n_out))
        self.var = np.zeros_like(self.phi)
        for part, values, full_empty in self._values(np.arange(len(self.beta))):
            self.phi[part], v = self.fit.apply(values, full_empty[:, 0], full_empty[:, 1])
            if v is not None:  # None: the design enumerates every coalition (exact)
                self.var[part] = v

    def _values(self, entries):
        """``(entries, values (b, K, O), full and empty (b, 2, O))`` in batches."""
        for lo in range(0, len(entries), self.step):
            part = entries[lo : lo + self.step]
            b, sx = self.beta[part], self.simplex[part]
            yield (part, _logit_proxy.evaluate(self.F, b, sx),
                   _logit_proxy.evaluate(self.F_ends, b, sx))

    def row_variance(self, chosen: np.ndarray, n: int) -> np.ndarray:
        """(n, M, O): per row, the variance of the weighted sum of its ``chosen`` entries'
        proxy estimates (their covariances included)."""
        var = np.zeros((n,) + self.phi.shape[1:])
        entries = np.flatnonzero(chosen)
        if self.fit.layout is None or not len(entries):
            return var
        rows = np.unique(self.rows[entries])
        for lo in range(0, len(rows), self.step):
            batch = rows[lo : lo + self.step]
            where = np.full(n, -1)
            where[batch] = np.arange(len(batch))
            total, ends = 0.0, 0.0
            for part, values, full_empty in self._values(entries[where[self.rows[entries]] >= 0]):
                S = np.zeros((len(batch), len(part)))  # (rows, entries) weights
                S[where[self.rows[part]], np.arange(len(part))] = self.w[part]
                total = total + np.tensordot(S, values, axes=1)
                ends = ends + np.tensordot(S, full_empty, axes=1)
            var[batch] = self.fit.apply(total, ends[:, 0], ends[:, 1])[1]
        return var


def _settle(proxies, design: _ProxyDesign, phi, var) -> None:
    """Add each proxied (game, row) to ``phi`` and ``var``: the split (the residual game's
    estimate plus the proxy's) where its variance, the proxy design's own included, is still
    below the plain estimate's, else the plain estimate. The proxy design is capped
    (``PROXY_MAX``), so at large budgets its error can exceed what the split saves. The kept
    proxies' variance is then added per row over its games at once (they share the design)."""
    start, chosen = 0, np.zeros(len(design.rows), dtype=bool)
    for rows, w, _, _, (est, v), (split_est, split_v) in proxies:
        part = slice(start, start + len(rows))
        start += len(rows)
        use = ((split_v + design.var[part]).sum(axis=(1, 2)) < v.sum(axis=(1, 2)))
        chosen[part] = use
        use = use[:, None, None]
        phi[rows] += w * np.where(use, split_est + design.phi[part], est)
        var[rows] += w**2 * np.where(use, split_v, v)
    var += design.row_variance(chosen, var.shape[0])
