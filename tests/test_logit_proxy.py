"""The logistic proxy control variate of the stratified estimator (`explainers/_logit_proxy.py`,
`_stratified.py`) and the prepared kernel fit it relies on (`_kernel_shap.KernelFit`).

On games with probability outputs the proxy must keep every property of the estimator (exact
efficiency, exactness under full enumeration, unbiasedness, honest standard errors) and lower
its error; games with other outputs must not be touched.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from explainable_pipeline.explainers import _logit_proxy, _stratified
from explainable_pipeline.explainers._designs import NestedDesign
from explainable_pipeline.explainers._kernel_shap import KernelFit, kernel_fit
from explainable_pipeline.explainers._shapley import shapley_values

M = 10


def _prob_game(Z):
    """A squashed game with interactions of every order (no closed form)."""
    Z = np.asarray(Z, dtype=float)
    beta = np.linspace(-1.2, 1.5, M)
    return expit(3 * (Z @ beta) + Z[:, 0] * Z[:, 1] * Z[:, 2] + np.sin(Z[:, 3] * Z[:, 4]))


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(1)
    X, bg = rng.normal(size=(6, M)), rng.normal(size=(4, M))
    w = np.array([0.4, 0.3, 0.2, 0.1])
    return X, bg, w, shapley_values(_prob_game, X, bg, w).values


def _run(X, bg, w, n_samples, seed, f=_prob_game):
    return shapley_values(f, X, bg, w, method="kernel", n_samples=n_samples, tol=None,
                          random_state=seed)


def _rel_err(a, b):
    return float(np.abs(a - b).sum() / np.abs(b).sum())


@pytest.fixture
def no_proxy(monkeypatch):
    monkeypatch.setattr(_stratified.KernelPlan, "proxy_sample", lambda self: None)


def _proxies_used(monkeypatch, X, bg, w, n_samples):
    """How many (row, game) proxies one run explains."""
    seen = []
    original = _stratified._explain_proxies

    def spy(proxies, *args):
        seen.append(sum(len(item[0]) for item in proxies))
        return original(proxies, *args)

    monkeypatch.setattr(_stratified, "_explain_proxies", spy)
    _run(X, bg, w, n_samples, 0)
    monkeypatch.undo()
    return sum(seen)


def test_proxy_runs_on_probabilities_only(problem, monkeypatch):
    X, bg, w, _ = problem
    assert _proxies_used(monkeypatch, X, bg, w, 300) > 0
    # outputs outside [0, 1]: the same game shifted is never split by a proxy
    seen = []
    monkeypatch.setattr(_stratified, "_explain_proxies",
                        lambda p, *a: seen.append(p) or _stratified._ProxyDesign(p, *a))
    shapley_values(lambda Z: _prob_game(Z) + 1.0, X, bg, w, method="kernel", n_samples=300,
                   tol=None, random_state=0)
    assert seen == []


def test_proxy_needs_enough_coalitions_per_coefficient(problem, monkeypatch):
    X, bg, w, _ = problem
    # 60 coalitions for 1 + 10 + 28 coefficients: below MIN_RATIO, no proxy
    assert _proxies_used(monkeypatch, X, bg, w, 60) == 0


def test_efficiency_and_full_enumeration_are_exact(problem):
    X, bg, w, exact = problem
    res = _run(X, bg, w, 300, 0)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values,
                               _prob_game(X)[:, None], atol=1e-10)
    full = _run(X, bg, w, 2**M - 2, 0)
    np.testing.assert_allclose(full.values, exact, atol=1e-9)


def test_unbiased_over_seeds(problem):
    X, bg, w, exact = problem
    runs = np.stack([_run(X, bg, w, 300, seed).values for seed in range(12)])
    mean, sem = runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
    assert np.mean(np.abs(mean - exact) <= 3 * sem + 1e-9) >= 0.85
    single = np.mean([_rel_err(r, exact) for r in runs])
    assert _rel_err(mean, exact) < single / 2, (_rel_err(mean, exact), single)


def test_standard_errors_cover_the_true_error(problem):
    X, bg, w, exact = problem
    covered, ratio = [], []
    for seed in range(8):
        res = _run(X, bg, w, 300, seed)
        err, se = np.abs(res.values - exact), res.standard_errors
        covered.append(err <= 1.96 * se + 1e-12)
        ratio.append(((err / np.maximum(se, 1e-12)) ** 2).mean())
    covered = np.stack(covered)
    assert covered.mean() >= 0.9, covered.mean()
    assert np.mean(covered.mean(axis=(2, 3)).ravel() >= 0.75) >= 0.9
    assert 0.5 < np.mean(ratio) < 2.0, np.mean(ratio)


def test_proxy_lowers_the_error_at_equal_budget(problem, monkeypatch):
    X, bg, w, exact = problem
    with_proxy = np.mean([_rel_err(_run(X, bg, w, 300, s).values, exact) for s in range(4)])
    monkeypatch.setattr(_stratified.KernelPlan, "proxy_sample", lambda self: None)
    without = np.mean([_rel_err(_run(X, bg, w, 300, s).values, exact) for s in range(4)])
    assert with_proxy < 0.8 * without, (with_proxy, without)


def test_a_coarse_proxy_design_never_costs_accuracy(problem, monkeypatch, no_proxy):
    """The proxies' Shapley values come from their own design, capped at ``PROXY_MAX``
    coalitions. Capped far below the games' budget, that design's error exceeds what a split
    saves; each (game, row) then keeps its plain estimate (the proxy design's variance is part
    of the choice), so the error stays that of the estimator without proxies (it was 1.9x that
    when the choice ignored the proxy design) and the standard errors stay honest."""
    X, bg, w, exact = problem
    seeds = range(6)
    plain = np.mean([_rel_err(_run(X, bg, w, 400, s).values, exact) for s in seeds])
    monkeypatch.undo()  # proxies back on, on a 200-coalition design (enumeration: 1,022)
    monkeypatch.setattr(_logit_proxy, "PROXY_MAX", 200)
    assert _proxies_used(monkeypatch, X, bg, w, 400) > 0
    monkeypatch.setattr(_logit_proxy, "PROXY_MAX", 200)
    runs = [_run(X, bg, w, 400, s) for s in seeds]
    capped = np.mean([_rel_err(r.values, exact) for r in runs])
    assert capped <= 1.1 * plain, (capped, plain)
    covered = [np.abs(r.values - exact) <= 1.96 * r.standard_errors + 1e-12 for r in runs]
    assert np.mean(covered) >= 0.9


def test_proxy_errors_shared_by_a_rows_games_are_counted_together(monkeypatch):
    """One proxy design serves every game (background row) of a chunk, so a row's proxy errors
    are correlated over its games: the row's variance is that of the summed proxy game, not the
    sum of the games' variances (with 60 background rows and a sampled design, the latter
    understated it about 2x: 85% coverage, mean (error / se)^2 of 1.9). The bound on
    coalitions per coefficient for many games is lifted here to isolate the variance."""
    rng = np.random.RandomState(1)
    X, bg = rng.normal(size=(6, M)), rng.normal(size=(60, M))
    w = np.full(60, 1 / 60)
    exact = shapley_values(_prob_game, X, bg, w).values
    for name, value in (("PROXY_MAX", 500), ("min_ratio", lambda w: _logit_proxy.MIN_RATIO)):
        monkeypatch.setattr(_logit_proxy, name, value)  # 500: sampled (enumeration: 1,022)
    assert _proxies_used(monkeypatch, X, bg, w, 300) > 100
    for name, value in (("PROXY_MAX", 500), ("min_ratio", lambda w: _logit_proxy.MIN_RATIO)):
        monkeypatch.setattr(_logit_proxy, name, value)
    covered, ratio = [], []
    for seed in range(12):
        res = _run(X, bg, w, 300, seed)
        err, se = np.abs(res.values - exact), res.standard_errors
        covered.append(np.mean(err <= 1.96 * se + 1e-12))
        ratio.append(np.mean((err / np.maximum(se, 1e-12)) ** 2))
    assert np.mean(covered) >= 0.9, np.mean(covered)
    assert np.mean(ratio) < 1.5, np.mean(ratio)


def test_many_background_rows_keep_honest_errors():
    """A proxy fitted to a game's own coalitions biases it a little, the same way in every game,
    while the standard error of the average over many games shrinks: with 120 background rows
    and 300 coalitions per game the 95% bands covered 82% (squared bias / variance 0.76). Games
    need ``sqrt(G)`` coalitions per proxy coefficient (``_logit_proxy.min_ratio``)."""
    rng = np.random.RandomState(1)
    X, bg = rng.normal(size=(6, M)), rng.normal(size=(120, M))
    w = np.full(120, 1 / 120)
    exact = shapley_values(_prob_game, X, bg, w).values
    covered = []
    for seed in range(8):
        res = _run(X, bg, w, 300, seed)
        covered.append(np.mean(np.abs(res.values - exact) <= 1.96 * res.standard_errors + 1e-12))
    assert np.mean(covered) >= 0.9, np.mean(covered)
    assert _logit_proxy.min_ratio(w) == pytest.approx(np.sqrt(120))
    assert _logit_proxy.min_ratio(np.ones(4)) == _logit_proxy.MIN_RATIO
    assert _logit_proxy.min_ratio(np.array([1.0, 0.0, 0.0])) == _logit_proxy.MIN_RATIO


def test_row_variance_of_one_game_is_that_games_variance(problem, monkeypatch):
    """With one proxied game per row, the row's summed proxy variance is the game's own
    variance times its weight squared."""
    X, bg, w, _ = problem
    monkeypatch.setattr(_logit_proxy, "PROXY_MAX", 500)
    designs = []
    original = _stratified._explain_proxies
    monkeypatch.setattr(_stratified, "_explain_proxies",
                        lambda p, *a: designs.append(original(p, *a)) or designs[-1])
    _run(X, bg[:1], np.ones(1), 300, 0)
    design = designs[-1]
    assert len(np.unique(design.rows)) == len(design.rows) > 0
    chosen = np.ones(len(design.rows), dtype=bool)
    row_var = design.row_variance(chosen, X.shape[0])
    np.testing.assert_allclose(row_var[design.rows], design.w[:, None, None] ** 2 * design.var,
                               rtol=1e-9, atol=1e-18)
    assert design.var.sum() > 0
    assert not design.row_variance(np.zeros_like(chosen), X.shape[0]).any()


def test_fit_recovers_a_game_in_its_family(monkeypatch):
    """A game that is exactly sigma(additive + pairs) is reproduced by the proxy (without the
    small ridge that keeps real fits stable), so the residual game is zero."""
    monkeypatch.setattr(_logit_proxy, "_RIDGE", 1e-9)
    rng = np.random.RandomState(0)
    design = NestedDesign(M, 0)
    masks = np.concatenate([design.pairs(s, 20) for s in range(1, 6)])
    masks = np.concatenate([masks, ~masks])
    pairs = _logit_proxy.top_pairs(rng.uniform(size=M), 4)
    truth = rng.normal(size=(2, 1, 1 + M + len(pairs)))
    F = _logit_proxy.features(masks, pairs)
    ends = _logit_proxy.evaluate(_logit_proxy.features(
        np.array([[True] * M, [False] * M]), pairs), truth)
    values = _logit_proxy.evaluate(F, truth)
    beta = _logit_proxy.fit(masks, values, ends[:, 0], ends[:, 1], pairs)
    np.testing.assert_allclose(_logit_proxy.evaluate(F, beta), values, atol=1e-5)


def test_fit_in_blocks_of_rows_is_the_same_fit(monkeypatch):
    """Rows are fitted in blocks that bound the Hessians' memory whatever the budget, and the
    blocks do not change the coefficients."""
    rng = np.random.RandomState(1)
    design = NestedDesign(M, 3)
    masks = np.concatenate([design.pairs(s, 12) for s in range(1, 6)])
    masks = np.concatenate([masks, ~masks])
    values = rng.uniform(size=(5, len(masks), 2))
    fx, base = rng.uniform(size=(5, 2)), rng.uniform(size=2)
    pairs = _logit_proxy.top_pairs(rng.uniform(size=M), 4)
    whole = _logit_proxy.fit(masks, values, fx, base, pairs)
    monkeypatch.setattr(_logit_proxy, "BATCH_FLOATS", 1)  # one (row, output) per block
    np.testing.assert_allclose(_logit_proxy.fit(masks, values, fx, base, pairs), whole,
                               rtol=1e-10, atol=1e-12)
    assert whole.shape == (5, 2, 1 + M + len(pairs)) and np.isfinite(whole).all()


def test_prepared_fit_equals_kernel_fit():
    rng = np.random.RandomState(0)
    design = NestedDesign(8, 3)
    masks = np.concatenate([design.pairs(s, 6) for s in range(1, 5)])
    masks = np.concatenate([masks, ~masks])
    weights = rng.uniform(size=len(masks))
    layout = [(0, len(masks) // 2, 10**6)]
    values, fx, base = rng.normal(size=(3, len(masks), 2)), rng.normal(size=(3, 2)), rng.normal(size=2)
    terms = [(0, 1), (1, 2), (0, 1, 2)]
    prepared = KernelFit(masks, weights, terms, layout=None)
    np.testing.assert_allclose(prepared.apply(values, fx, base)[0],
                               kernel_fit(masks, weights, values, fx, base, terms)[0],
                               rtol=1e-9, atol=1e-12)
    phi, var = KernelFit(masks, weights, layout=[(0, 4, 50)]).apply(values, fx, base)
    np.testing.assert_allclose(phi.sum(axis=1), fx - base, atol=1e-10)
    assert var.shape == phi.shape and (var >= 0).all()
    del layout


def test_stopping_after_the_pilot_keeps_honest_errors(problem):
    """With a loose ``tol`` the neyman plan may stop after its pilot, whose values do not use
    the proxies: the reported errors must still describe the values returned."""
    X, bg, w, exact = problem
    covered = []
    for seed in range(8):
        res = shapley_values(_prob_game, X, bg, w, method="kernel", n_samples=300, tol=0.5,
                             random_state=seed)
        covered.append(np.abs(res.values - exact) <= 1.96 * res.standard_errors + 1e-12)
    assert np.mean(covered) >= 0.85, np.mean(covered)


def test_proxies_off_where_coalitions_are_cheap(monkeypatch):
    """On evaluation paths where more coalitions cost less than the proxies (the MLP's
    neural-network path, k-NN's partial distances) the proxies stay off; where a coalition is a
    model call (the same k-NN with a metric off its path) they run."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from explainable_pipeline import ExplainablePipeline

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :14]
    used = {}
    original = _stratified._explain_proxies
    for name, model in [("mlp", MLPClassifier((8,), max_iter=300, random_state=0)),
                        ("knn", KNeighborsClassifier()),
                        ("box", KNeighborsClassifier(metric="chebyshev"))]:
        calls = []

        def spy(proxies, *args, calls=calls):
            calls.append(len(proxies))
            return original(proxies, *args)

        monkeypatch.setattr(_stratified, "_explain_proxies", spy)
        ep = ExplainablePipeline(StandardScaler(), model, explainer="kernel",
                                 random_state=0).fit(X, y)
        local = ep.explain_local(X.iloc[:4])
        used[name] = (sum(calls), local.meta["evaluation"])
    assert used["mlp"][1] == "neural-network" and used["mlp"][0] == 0, used
    assert used["knn"][1] == "neighbors" and used["knn"][0] == 0, used
    assert used["box"][1] in ("separable", "black-box") and used["box"][0] > 0, used


@pytest.mark.parametrize("n_classes", [2, 3])
def test_class_attributions_sum_to_zero_with_proxies(n_classes, monkeypatch):
    """Class probabilities sum to one, so their Shapley values sum to zero over the classes;
    the proxies (shifted onto the simplex, chosen per row for every class at once) keep that,
    and each class stays additive."""
    rng = np.random.RandomState(0)
    W = rng.normal(size=(M, n_classes)) * 1.5

    def f(Z):
        logits = np.asarray(Z, dtype=float) @ W
        logits[:, 0] += np.sin(Z[:, 0] * Z[:, 1])
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    X, bg = rng.normal(size=(5, M)), rng.normal(size=(4, M))
    calls = []
    original = _stratified._explain_proxies
    monkeypatch.setattr(_stratified, "_explain_proxies",
                        lambda p, *a: calls.append(len(p)) or original(p, *a))
    res = shapley_values(f, X, bg, method="kernel", n_samples=300, tol=None, random_state=0)
    assert sum(calls) > 0
    np.testing.assert_allclose(res.values.sum(axis=2), 0.0, atol=1e-10)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, f(X), atol=1e-10)
    exact = shapley_values(f, X, bg).values
    assert _rel_err(res.values, exact) < 0.1


def test_rough_probability_game_keeps_honest_errors():
    """A k-NN's piecewise-constant probability (the game the proxy fits worst): the split is
    still unbiased, and its standard errors still cover the true error."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.RandomState(2)
    Xt = rng.normal(size=(300, M))
    yt = (Xt[:, :3].sum(axis=1) + 0.5 * Xt[:, 3] * Xt[:, 4] > 0).astype(int)
    knn = KNeighborsClassifier(5).fit(Xt, yt)

    def f(Z):
        return knn.predict_proba(Z)[:, 1]

    X, bg, w = Xt[:5], Xt[100:104], np.array([0.4, 0.3, 0.2, 0.1])
    exact = shapley_values(f, X, bg, w).values
    runs, covered = [], []
    for seed in range(8):
        res = _run(X, bg, w, 300, seed, f)
        runs.append(res.values)
        covered.append(np.abs(res.values - exact) <= 1.96 * res.standard_errors + 1e-12)
    assert np.mean(covered) >= 0.9, np.mean(covered)
    runs = np.stack(runs)
    single = np.mean([_rel_err(r, exact) for r in runs])
    assert _rel_err(runs.mean(axis=0), exact) < single / 2


def test_non_finite_model_output_is_refused_by_the_engine():
    """A NaN on a hybrid row stops the engine with a clear error instead of flowing into the
    regressions, the proxies and the budget allocation."""
    rng = np.random.RandomState(0)
    X, bg = rng.normal(size=(3, M)), rng.normal(size=(4, M))

    def f(Z):
        out = _prob_game(Z)
        Z = np.asarray(Z)
        out[(Z[:, 0] > 1.5) & (Z[:, 1] > 1.5)] = np.nan
        return out

    X[:, :2], bg[:, :2] = (2.0, 0.0), (0.0, 2.0)  # X and background finite; some hybrids not
    assert np.isfinite(f(X)).all() and np.isfinite(f(bg)).all()
    with pytest.raises(ValueError, match="NaN or infinite"):
        shapley_values(f, X, bg, method="kernel", n_samples=300, tol=None, random_state=0)
