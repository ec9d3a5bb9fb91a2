"""Model-agnostic interventional Shapley values in raw-column space.

The engine knows nothing about pipelines. It receives a callable ``f`` that takes raw rows (the
same container type as ``X``: a DataFrame, or a 2-D numpy array possibly of object dtype) and
returns model outputs. Players are raw columns, or groups of raw columns. The value of a
coalition ``S`` for a row ``x`` is::

    v(S) = sum_j w_j f(hybrid(x, b_j, S))

where ``hybrid`` keeps ``x``'s values on the columns of ``S`` and takes the other columns from
background row ``b_j``, and ``w_j`` are the background weights (normalised to sum to one).
Because the preprocessing lives inside ``f``, the attributions are exact raw-column attributions
for any transformer.

Three estimators share one evaluation engine:

``"exact"``
    All ``2**M`` coalitions and the Shapley weights (refused above ``MAX_EXACT_PLAYERS``).
``"kernel"``
    KernelSHAP: a least-squares fit weighted by the Shapley kernel, with the efficiency
    constraint imposed exactly (additive by construction). Design, per background row ``j``
    (the game ``v_j(S) = f(x_S, b_j)``; ``v = sum_j w_j v_j`` and Shapley values are linear, so
    the estimates are averaged with the weights): coalition sizes whose whole stratum fits in the
    budget are enumerated (small and large sizes first, as shap does); the rest of the budget is
    spread over the other sizes in proportion to their kernel mass (stratified by size) and
    filled with PAIRED coalitions ``(S, complement of S)`` drawn uniformly without replacement.
    Independent designs per background row cost the same model rows as one shared design but
    their errors average out instead of adding up. Each design is shared by every explained row
    so model calls batch across rows, and one small system is solved per game.
    Paired sampling already makes the linear fit exact for games with interactions of order
    <= 2; the remaining error comes from higher-order interactions, which for most models sit
    among a few dominant players. The regression therefore adds product terms ``prod_{i in T}
    z_i`` for every subset ``T`` (size >= 2) of the ``k`` most important players (from a linear
    pilot fit on the same samples, ``2**k - 1 - k <= K / 6``), with a tiny ridge. These act as
    control variates: whatever their coefficients, the estimate is exact under full
    enumeration, and the variance drops several-fold (measured in ``benchmarks/agnostic.py``).
    For probability outputs each game is also split into a logistic proxy game, fitted to its
    own coalitions and explained on a much larger design at no model cost, and the residual
    game, which the regression estimates with less error (:mod:`._logit_proxy`).
    By default (the ``"neyman"`` plan of :mod:`._stratified`) a pilot spends a quarter of the
    budget equally over the (row, background row) games and the rest goes to each game in
    proportion to its weight times its pilot standard error; sampling stops after the pilot
    when the estimated relative error is at most ``tol``. ``estimator`` also offers plain
    KernelSHAP, Leverage SHAP (:mod:`._designs`) and regression-adjusted MSR with a boosted
    tree proxy (:mod:`._regression_msr`, :mod:`._proxy_tree`). Every estimator reports
    per-value standard errors (``ShapleyResult.standard_errors``).
    When averaging a coalition over the background costs about one model row instead of one
    per background row (the ``"kernel-machine"`` path with an rbf or linear kernel, below), one
    *shared* design for the background-averaged game is used instead, with four times the
    default budget (``kernel_design``).
``"permutation"``
    Antithetic permutation sampling: each permutation is used with its reverse; marginal
    contributions along a permutation telescope, so attributions are additive by construction.

Every method satisfies ``values.sum(axis=1) + base_values == f(X)`` (to floating-point
precision).

Layout: this module is the driver (validation, designs shared by every row, chunks over joblib).
Hybrid rows and the black-box game live in :mod:`._hybrid`, the per-chunk cache and the checked
choice of a fast path in :mod:`._engine`, coalition designs in :mod:`._designs`, and each
estimator in a module of its own (:mod:`._exact`, :mod:`._kernel_shap`, :mod:`._permutation`).

Evaluation paths. By default coalition values come from hybrid raw rows passed to ``f`` (the
*black box*: any model, any transformer). An ``evaluator`` (:mod:`._evaluators`, which
``ExplainablePipeline`` always passes) may supply an exact shortcut: ``"separable"`` (hybrid
rows assembled from transformed blocks when every engineered column has one raw parent) or
``"kernel-machine"`` (SVC / NuSVC / SVR / NuSVR with a built-in kernel: coalition values from
per-player partial distances or dot products). A shortcut is used for a chunk of rows only
after it reproduced ``f`` on probe coalitions of that chunk to 1e-9; ``ShapleyResult.evaluation``
records the path that ran.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

from .._progress import tqdm
from ._designs import _permutation_design
from ._engine import _Engine, simplex_gap
from ._exact import exact_design, run_exact
from ._hybrid import _as_outputs, _HybridGame, _Table  # noqa: F401 - _HybridGame re-exported
from ._permutation import run_permutation
from ._regression_msr import MsrPlan, run_regression_msr
from ._stratified import KernelPlan, run_kernel

__all__ = ["ShapleyResult", "shapley_values", "MAX_EXACT_PLAYERS", "DEFAULT_MAX_BATCH_ROWS"]

logger = logging.getLogger(__name__)

MAX_EXACT_PLAYERS = 16
"""Largest number of players ``method="exact"`` accepts (``2**16`` coalitions per row)."""

DEFAULT_MAX_BATCH_ROWS = 50_000
"""Default bound on the number of hybrid rows passed to ``f`` in one call."""

DEFAULT_BATCH_SIZE = 128
"""Default number of explained rows per task (independent of ``n_jobs``)."""

_METHODS = ("exact", "kernel", "permutation")
ESTIMATORS = ("auto", "stratified", "kernelshap", "leverage", "regression-msr")
"""Estimators of ``method="kernel"`` (see :func:`shapley_values`)."""
_DESIGNS = ("auto", "neyman", "independent", "shared")


@dataclass
class ShapleyResult:
    """Result of :func:`shapley_values`.

    Attributes
    ----------
    values : numpy.ndarray of shape (n_rows, n_players, n_outputs)
        Shapley values per explained row, player and model output.
    base_values : numpy.ndarray of shape (n_outputs,)
        Weighted mean of ``f`` over the background: the value of the empty coalition.
    n_evaluations : int
        Number of rows passed to ``f`` in total (background, explained and hybrid rows).
    method : str
        ``"exact"``, ``"kernel"`` or ``"permutation"``.
    converged : bool or None
        ``True`` when every row chunk met ``tol`` (always ``True`` for exact enumeration),
        ``False`` when the budget ran out first, ``None`` when no tolerance was checked.
    evaluation : str
        How coalition values were computed: ``"black-box"`` (hybrid raw rows through ``f``),
        or the name of the evaluator's faster path (``"separable"``, ``"kernel-machine"``,
        ``"neural-network"``, ...), with ``" (black-box on k of n chunks)"`` appended when
        some chunks fell back.
    standard_errors : numpy.ndarray of shape (n_rows, n_players, n_outputs)
        Estimated standard deviation of each value over the random coalitions (or
        permutations) of the design; zero for exact enumeration. ``values +- 1.96 *
        standard_errors`` is a 95% interval per value.
    estimator : str
        The estimator that ran: ``"exact"``, ``"permutation"``, or one of the kernel
        estimators (``"stratified"``, ``"kernelshap"``, ``"leverage"``, ``"regression-msr"``)
        with its design, e.g. ``"stratified (neyman)"``.
    outputs : numpy.ndarray of shape (n_rows, n_outputs) or None
        ``f`` on the explained rows (the full coalition's value), which the values add up to
        with ``base_values``.
    """

    values: np.ndarray
    base_values: np.ndarray
    n_evaluations: int
    method: str
    converged: bool | None = None
    evaluation: str = "black-box"
    standard_errors: np.ndarray | None = None
    estimator: str = ""
    outputs: np.ndarray | None = None



def _run_chunk(f, table, X_chunk, bg_weights, player_cols, f_background, max_batch_rows, method,
               design, tol, evaluator=None, binary_proba=False):
    eng = _Engine(f, table, X_chunk, bg_weights, player_cols, f_background, max_batch_rows,
                  evaluator)
    fx, base = eng.fx, eng.base
    # A binary classifier's two probabilities sum to one, so the Shapley values of the first
    # are minus those of the second (any estimator here is linear in the coalition values, or
    # symmetric under v -> 1 - v): estimate the second only, at half the cost.
    mirror = binary_proba and eng.n_out == 2 and _sum_to_one(fx) and _sum_to_one(f_background)
    if mirror:
        eng.keep_output(1)
    phi, se, converged = _estimate(eng, method, design, tol, bg_weights)
    evaluations = eng.evaluations
    if mirror and eng.sums_broken:  # some coalition's outputs did not sum to one: no mirror
        logger.info("binary probabilities do not sum to one on some hybrid rows; estimating "
                    "both outputs")
        eng = _Engine(f, table, X_chunk, bg_weights, player_cols, f_background, max_batch_rows,
                      evaluator)
        phi, se, converged = _estimate(eng, method, design, tol, bg_weights)
        evaluations += eng.evaluations
    elif mirror:
        # the first output's values: minus the second's, plus an equal share of the rows'
        # sums' rounding (at most 2e-9), so that they add up to its own output exactly
        gap = (fx[:, 0] - base[0]) + (fx[:, 1] - base[1])  # (n,)
        phi = np.concatenate([gap[:, None, None] / phi.shape[1] - phi, phi], axis=2)
        se = np.concatenate([se, se], axis=2)
    return phi, se, evaluations, converged, eng.path, fx


def _estimate(eng, method, design, tol, bg_weights):
    if method == "exact":
        phi, converged = run_exact(eng, design)
        return phi, np.zeros_like(phi), converged
    if isinstance(design, MsrPlan):
        return run_regression_msr(eng, design)
    if method == "kernel":
        return run_kernel(eng, design, tol)
    active = np.flatnonzero(bg_weights > 0).tolist()
    return run_permutation(eng, design, active, tol)


def _sum_to_one(P: np.ndarray) -> bool:
    """Whether every row of ``P`` is a probability distribution (to rounding)."""
    return bool(P.min(initial=0.0) >= 0.0) and simplex_gap(P) <= 1e-9


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _player_columns(groups, X, n_columns: int) -> np.ndarray:
    if groups is None:
        return np.eye(n_columns, dtype=bool)
    if isinstance(groups, dict):
        groups = list(groups.values())
    G = np.zeros((len(groups), n_columns), dtype=bool)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None
    for g, members in enumerate(groups):
        if isinstance(members, (str, numbers.Integral)):
            members = [members]
        if len(members) == 0:
            raise ValueError(f"`groups[{g}]` is empty; every group needs at least one column.")
        for col in members:
            if isinstance(col, numbers.Integral) and not isinstance(col, bool):
                if not 0 <= col < n_columns:
                    raise ValueError(
                        f"`groups[{g}]` holds column position {col}; X has {n_columns} columns."
                    )
                pos = int(col)
            elif names is not None and col in names:
                pos = names.index(col)
            else:
                raise ValueError(f"`groups[{g}]` holds {col!r}, not a column position or name.")
            if G[:, pos].any():
                raise ValueError(f"column {col!r} appears in more than one group.")
            G[g, pos] = True
    missing = np.flatnonzero(~G.any(axis=0))
    if missing.size:
        raise ValueError(
            f"`groups` must cover every column of X once; columns at positions {missing.tolist()} "
            "are in no group (add them as their own group)."
        )
    return G


def _auto_budget(M: int, factor: int = 1) -> int:
    """Default number of coalitions per row and background row for kernel and permutation.

    ``min(2**M - 2, max(8 M + 64, 128), 4096)`` times ``factor`` (still at most
    ``2**M - 2``): the evaluation path's ``budget_factor``, 4 where a coalition costs a small
    fraction of a model call (the ``"linear-model"`` path, and the ``"kernel-machine"`` path,
    whose rbf and linear kernels even average over the background for about one model row),
    8 on the ``"neural-network"`` path (its shared design spends more, cheaper coalitions),
    3 on the ``"neighbors"`` path (its coalitions cost less than the logistic proxies and the
    interaction terms, which it does without), 2 on the ``"forest"``, ``"hist-boosting"`` and
    ``"gradient-boosting"`` paths, the smallest of its bases' on an ensemble path, 1 elsewhere.
    For 30 players that is 304, 608, 912, 1,216 or 2,432 coalitions.
    """
    base = int(min(2**M - 2, max(8 * M + 64, 128), 4096)) if M < 63 else 8 * M + 64
    return int(min(2**M - 2, factor * base)) if M < 63 else factor * base


def shapley_values(
    f: Callable,
    X,
    background,
    background_weights=None,
    *,
    method: str = "exact",
    groups: Sequence | dict | None = None,
    n_samples: int | str = "auto",
    batch_size: int | None = None,
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
    random_state=None,
    n_jobs: int | None = None,
    progress: bool = False,
    tol: float | None = 0.01,
    evaluator=None,
    kernel_design: str = "auto",
    estimator: str = "auto",
) -> ShapleyResult:
    """Interventional Shapley values of ``f`` for the rows of ``X`` against a background.

    Parameters
    ----------
    f : callable
        Takes raw rows of the same container type as ``X`` (DataFrame with the same columns and
        dtypes, or 2-D array) and returns outputs of shape (n,) or (n, n_outputs).
    X : pandas.DataFrame or numpy.ndarray of shape (n_rows, n_columns)
        Rows to explain. Mixed dtypes (numbers, strings, categoricals, NaN) are kept as they are.
    background : pandas.DataFrame or numpy.ndarray of shape (n_background, n_columns)
        Background rows (e.g. from :func:`summarize_background` or ``shap.kmeans(X, k).data``),
        used as they are; DataFrame columns are cast to the dtypes of ``X``.
    background_weights : array-like of shape (n_background,), default=None
        Non-negative weights, normalised to sum to one; equal weights when None.
    method : {"exact", "kernel", "permutation"}, default="exact"
        Estimator; see the module documentation. ``"exact"`` is refused above
        ``MAX_EXACT_PLAYERS`` (16) players.
    groups : list of lists, or dict of name -> list, default=None
        Players as groups of columns (positions, or names for a DataFrame). The groups must
        partition the columns. Default: each column is a player.
    n_samples : int or "auto", default="auto"
        Coalitions evaluated per row and background row on average (kernel; with
        ``kernel_design="shared"`` per row, each costing one model row per background row;
        permutation uses ``n_samples // (2 (M - 1))`` antithetic pairs of permutations).
        ``"auto"`` is ``min(2**M - 2, max(8 M + 64, 128), 4096)``, four times that (at most
        ``2**M - 2``) on evaluation paths where a coalition costs a fraction of a model call
        (the ``"neural-network"``, ``"linear-model"`` and ``"kernel-machine"`` paths).
    batch_size : int, default=None
        Explained rows per task (``DEFAULT_BATCH_SIZE``, 128, when None). Tasks are fixed
        independently of ``n_jobs`` so results do not depend on it.
    max_batch_rows : int, default=50_000
        Largest number of hybrid rows passed to ``f`` in one call: memory stays bounded for any
        number of rows.
    random_state : int, RandomState instance or None, default=None
        Seed of the coalition or permutation sample (shared by every row).
    n_jobs : int, default=None
        Parallel tasks over row chunks with joblib; None means 1.
    progress : bool, default=False
        Show a tqdm progress bar over explained rows.
    tol : float or None, default=0.01
        Early stopping. ``kernel_design="neyman"`` stops after its pilot when the estimated
        relative error of a chunk (sum of standard errors over sum of ``|phi|``) is at most
        ``tol``; the other kernel designs when, besides, the relative L1 change of the chunk's
        attributions between two doubling rounds is at most ``tol``; permutation on that
        change alone. None uses the whole budget.
    evaluator : object, default=None
        A faster, exact way to compute coalition values, from
        :func:`~explainable_pipeline.explainers._evaluators.pipeline_evaluator` (column-wise
        preprocessors, kernel machines). It is used for a chunk of rows only after it
        reproduced ``f`` on probe coalitions of that chunk; otherwise, or when it does not
        apply, hybrid raw rows go through ``f``. ``ShapleyResult.evaluation`` records the path.
    kernel_design : {"auto", "neyman", "independent", "shared"}, default="auto"
        Coalition design of ``method="kernel"`` (:mod:`._stratified`). ``"neyman"``: one game
        per row and background row, the budget of ``n_samples`` coalitions per background row
        spread over them in proportion to ``w_j`` times the game's standard error measured
        by a pilot on a quarter of the budget (Neyman allocation);
        ``"independent"``: one design per background row, equal budgets; ``"shared"``: one
        design for the background-averaged game, which costs a model row per background row
        per coalition unless the evaluation path averages cheaply (the ``"kernel-machine"``
        path with an rbf kernel: one matrix product). ``"auto"``: ``"shared"`` then, and on
        paths where a coalition against every background row costs less than the per-game
        regressions of ``"neyman"`` (the ``"neural-network"`` path: the explained row's part
        of the first layer is shared by every background row), and for ``"kernelshap"``,
        ``"leverage"`` and ``"regression-msr"``, which are defined on the averaged game;
        else ``"neyman"``.
    estimator : {"auto", "stratified", "kernelshap", "leverage", "regression-msr"}, default="auto"
        Estimator of ``method="kernel"``. ``"stratified"`` (``"auto"``): KernelSHAP's
        regression with interaction control variates among the most important players, on
        stratified paired designs (sizes by leverage), and for probability outputs a logistic
        proxy game as a control variate. ``"kernelshap"``: the plain regression (KernelSHAP, paired
        sampling without replacement). ``"leverage"``: Leverage SHAP (Musco & Witter 2025):
        sizes sampled equally (leverage scores), paired, without replacement, projected least
        squares. ``"regression-msr"``: regression-adjusted maximum sample reuse (Witter, Liu &
        Musco 2025): a tree ensemble fitted to half of the coalitions' values is explained
        exactly over the coalition indicators, and an unbiased stratified Monte Carlo estimate
        of the residual game from the other half corrects it (and vice versa). All keep exact
        efficiency; ``benchmarks/agnostic.py`` compares them.

    Returns
    -------
    ShapleyResult
        ``values`` (n_rows, n_players, n_outputs), ``base_values`` (n_outputs,),
        ``n_evaluations``, ``method``, ``converged``, ``evaluation``, ``standard_errors``
        (same shape as ``values``), ``estimator``, ``outputs`` (n_rows, n_outputs: ``f`` on
        ``X``).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda Z: Z[:, 0] * Z[:, 1] + Z[:, 2]
    >>> res = shapley_values(f, np.array([[1.0, 2.0, 3.0]]), np.zeros((1, 3)))
    >>> res.values[0, :, 0].round(12).tolist()
    [1.0, 1.0, 3.0]
    """
    _check_arguments(method, f, max_batch_rows, tol, kernel_design, estimator)
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D (n_rows, n_columns); got shape {X.shape}.")
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer or None; got {batch_size!r}.")

    table = _Table(X, background)
    w = _background_weights(background_weights, table.n_background)
    player_cols = _player_columns(groups, X, table.n_columns)
    M = player_cols.shape[0]

    f_background = _as_outputs(f(table.background_rows()), w.shape[0])  # (m, O)
    prepared = None
    if evaluator is not None:
        prepared = evaluator.prepare(table.background_rows(), player_cols, w)
        if prepared is None:
            logger.debug("shapley_values: no fast evaluation path (%s); hybrid raw rows go "
                         "through f", getattr(evaluator, "reason", None))
    base = w @ f_background  # (O,)
    shared = prepared is not None and getattr(prepared, "shared_design", False)
    estimator, kernel_design = _resolve_estimator(method, estimator, kernel_design, shared)
    factor = getattr(prepared, "budget_factor", 1) if method == "kernel" else 1
    budget = _budget(n_samples, M, factor)
    if method == "kernel":
        check_kernel_budget(budget, M)
    design = _make_design(method, M, w.shape[0], budget, kernel_design, estimator,
                          check_random_state(random_state), 4 if tol is not None else 1,
                          proxies=factor == 1,
                          terms=getattr(prepared, "interaction_terms", True))
    name = estimator if method == "kernel" else method
    if method == "kernel":
        name = f"{estimator} ({kernel_design})"

    if X.shape[0] == 0:
        empty = np.zeros((0, M, base.shape[0]))
        return ShapleyResult(empty, base, w.shape[0], method, None,
                             "black-box" if prepared is None else prepared.name, empty, name,
                             np.zeros((0, base.shape[0])))
    binary_proba = getattr(evaluator, "method", None) == "predict_proba"
    args = (w, player_cols, f_background, max_batch_rows, method, design, tol, prepared,
            binary_proba)
    results = _map_chunks(f, table, X, batch_size, args, n_jobs, progress, method)
    values = np.concatenate([r[0] for r in results], axis=0)
    errors = np.concatenate([r[1] for r in results], axis=0)
    n_eval = w.shape[0] + sum(r[2] for r in results)
    flags = [r[3] for r in results]
    converged = None if any(fl is None for fl in flags) else all(flags)
    evaluation = _evaluation_label(prepared, [r[4] for r in results])
    logger.debug("shapley_values: method=%s estimator=%s players=%d evaluations=%d "
                 "evaluation=%s", method, name, M, n_eval, evaluation)
    outputs = np.concatenate([r[5] for r in results], axis=0)
    return ShapleyResult(values, base, int(n_eval), method, converged, evaluation, errors, name,
                         outputs)


def _check_arguments(method, f, max_batch_rows, tol, kernel_design, estimator) -> None:
    if method not in _METHODS:
        raise ValueError(f"`method` must be one of {_METHODS}; got {method!r}.")
    if not callable(f):
        raise TypeError(f"`f` must be callable; got {type(f).__name__}.")
    if not isinstance(max_batch_rows, numbers.Integral) or max_batch_rows < 1:
        raise ValueError(f"`max_batch_rows` must be a positive integer; got {max_batch_rows!r}.")
    if tol is not None and not tol >= 0:
        raise ValueError(f"`tol` must be a non-negative float or None; got {tol!r}.")
    if kernel_design not in _DESIGNS:
        raise ValueError(f"`kernel_design` must be one of {_DESIGNS}; got {kernel_design!r}.")
    if estimator not in ESTIMATORS:
        raise ValueError(f"`estimator` must be one of {ESTIMATORS}; got {estimator!r}.")
    if estimator == "regression-msr" and kernel_design not in ("auto", "shared"):
        raise ValueError("estimator='regression-msr' samples the background-averaged game: "
                         f"use kernel_design='auto' or 'shared', not {kernel_design!r}.")


def _resolve_estimator(method, estimator, kernel_design, shared: bool):
    """The kernel estimator and design that run (``"auto"`` resolved)."""
    if method != "kernel":
        return method, kernel_design
    if estimator == "auto":
        estimator = "stratified"
    if kernel_design == "auto":
        averaged = shared or estimator in ("kernelshap", "leverage", "regression-msr")
        kernel_design = "shared" if averaged else "neyman"
    return estimator, kernel_design


def _background_weights(background_weights, m: int) -> np.ndarray:
    """The background weights normalised to sum to one (equal weights when None)."""
    if m == 0:
        raise ValueError("`background` has no rows.")
    if background_weights is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(background_weights, dtype=float).reshape(-1)
    if w.shape[0] != m or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"`background_weights` must be {m} non-negative finite numbers with a positive "
            f"sum; got shape {w.shape}."
        )
    return w / w.sum()


def check_kernel_budget(n_samples: int, M: int) -> None:
    """Refuse a kernel budget below two coalitions per player (or every coalition when there
    are fewer): the regression cannot estimate the values, nor their errors, from it."""
    if M <= 1:
        return
    least = min(2**M - 2, 2 * M) if M < 62 else 2 * M
    if n_samples < least:
        raise ValueError(
            f"`n_samples`={n_samples} is too small for method='kernel' with {M} players: the "
            f"regression needs at least {least} coalitions per row and background row (two "
            "per player, or every coalition when there are fewer) to estimate the values and "
            f"their standard errors; use n_samples >= {least} or 'auto'."
        )


def _budget(n_samples, M: int, factor: int) -> int:
    if n_samples == "auto":
        return _auto_budget(M, factor)
    if isinstance(n_samples, numbers.Integral) and n_samples >= 1:
        return int(n_samples)
    raise ValueError(f"`n_samples` must be a positive integer or 'auto'; got {n_samples!r}.")


def _make_design(method, M, m, budget, kernel_design, estimator, rng, n_rounds, proxies=True,
                 terms=True):
    """The coalitions (or permutations) every row of the call shares. ``proxies``: the
    stratified estimator's logistic proxies, off on evaluation paths where a coalition costs a
    fraction of a model call (more coalitions are then the cheaper way to a small error).
    ``terms``: its interaction terms, off on paths where coalitions cost less than them (the
    ``"neighbors"`` path)."""
    if method == "exact":
        if M > MAX_EXACT_PLAYERS:
            raise ValueError(
                f"method='exact' enumerates 2**M coalitions and accepts at most "
                f"{MAX_EXACT_PLAYERS} players; got {M}. Use method='kernel' or 'permutation', "
                "or merge columns with `groups`."
            )
        return exact_design(M)
    if method == "kernel":
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if estimator == "regression-msr":
            return MsrPlan(M, budget, seed)
        mode = {"neyman": "neyman", "independent": "equal", "shared": "shared"}[kernel_design]
        return KernelPlan(M, budget, seed, n_rounds, mode,
                          alloc="kernel" if estimator == "kernelshap" else "leverage",
                          terms=estimator == "stratified" and terms,
                          proxies=estimator == "stratified" and proxies)
    return [_permutation_design(M, budget, rng, n_rounds) for _ in range(m)]


def _map_chunks(f, table, X, batch_size, args, n_jobs, progress, method) -> list:
    """``_run_chunk`` over chunks of ``batch_size`` rows, in order, with joblib and tqdm."""
    n_rows = X.shape[0]
    chunks = [
        X.iloc[s : s + batch_size] if isinstance(X, pd.DataFrame) else X[s : s + batch_size]
        for s in range(0, n_rows, batch_size)
    ]
    bar = tqdm(total=n_rows, disable=not progress, desc=f"shapley ({method})", unit="row")
    results = []
    try:
        if n_jobs in (None, 1) or len(chunks) == 1:
            for chunk in chunks:
                results.append(_run_chunk(f, table, chunk, *args))
                bar.update(chunk.shape[0])
        else:
            gen = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_run_chunk)(f, table, chunk, *args) for chunk in chunks
            )
            for chunk, res in zip(chunks, gen, strict=False):
                results.append(res)
                bar.update(chunk.shape[0])
    finally:
        bar.close()
    return results


def _evaluation_label(prepared, paths: list[str]) -> str:
    """The evaluation path of the call, noting chunks that fell back to the black box."""
    if prepared is None:
        return "black-box"
    fallbacks = sum(p == "black-box" for p in paths)
    if fallbacks == len(paths):
        return "black-box"
    if fallbacks:
        return f"{prepared.name} (black-box on {fallbacks} of {len(paths)} chunks)"
    return prepared.name
