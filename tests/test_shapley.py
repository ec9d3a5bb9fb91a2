"""Properties of the raw-space Shapley engine (`explainers/_shapley.py`, `_background.py`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import brute_force_shapley_rows
from threadpoolctl import threadpool_limits

from explainable_pipeline.explainers._background import summarize_background
from explainable_pipeline.explainers._shapley import (
    MAX_EXACT_PLAYERS,
    ShapleyResult,
    shapley_values,
)

METHODS = ["exact", "kernel", "permutation"]


def _nonlinear(Z):
    Z = np.asarray(Z, dtype=float)
    return np.sin(Z[:, 0]) * Z[:, 1] + np.exp(0.3 * Z[:, 2]) * Z[:, 3] ** 2 + Z[:, 0] * Z[:, 2] * Z[
        :, 4
    ] + np.tanh(Z[:, 5] + Z[:, 1] * Z[:, 3])


def _two_outputs(Z):
    y = _nonlinear(Z)
    return np.column_stack([y, -2.0 * y + np.asarray(Z, dtype=float)[:, 0]])


@pytest.fixture(scope="module")
def problem():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(7, 6))
    background = rng.normal(size=(5, 6))
    weights = rng.uniform(0.5, 2.0, size=5)
    return X, background, weights


def _rel_err(a, b):
    return np.abs(a - b).sum() / np.abs(b).sum()


# ------------------------------------------------------------------ exactness


def test_exact_matches_closed_form_on_tiny_model():
    def f(Z):
        return Z[:, 0] * Z[:, 1] + Z[:, 2]

    x = np.array([[2.0, 3.0, 5.0]])
    b = np.array([[1.0, -1.0, 4.0]])
    res = shapley_values(f, x, b)
    expected = [
        0.5 * (2 - 1) * (-1 + 3),  # (x0 - b0)(b1 + x1) / 2
        0.5 * (3 + 1) * (1 + 2),  # (x1 - b1)(b0 + x0) / 2
        5.0 - 4.0,
    ]
    assert isinstance(res, ShapleyResult)
    assert res.values.shape == (1, 3, 1)
    np.testing.assert_allclose(res.values[0, :, 0], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.base_values, [1 * -1 + 4.0])
    assert res.method == "exact" and res.converged is True
    assert res.n_evaluations == 1 + 1 + 6  # background + row + 6 interior coalitions


def test_exact_matches_permutation_enumeration(problem):
    X, background, weights = problem
    X, background = X[:3, :5], background[:, :5]

    def f(Z):
        return np.sin(Z[:, 0]) * Z[:, 1] + Z[:, 2] * Z[:, 3] * Z[:, 4] + np.exp(Z[:, 1] * 0.5)

    res = shapley_values(f, X, background, weights)
    for r in range(X.shape[0]):
        ref = brute_force_shapley_rows(f, X[r], background, weights / weights.sum())
        np.testing.assert_allclose(res.values[r, :, 0], ref, rtol=1e-10, atol=1e-12)


def test_agrees_with_shap_kernel_explainer_full_enumeration(problem):
    shap = pytest.importorskip("shap")
    X, background, _ = problem
    X, background = X[:, :5], background[:, :5]

    def f(Z):
        return _nonlinear(np.column_stack([Z, Z[:, :1]]))

    X = X[:3]
    ours = shapley_values(f, X, background).values[:, :, 0]
    # shap enumerates every coalition when nsamples >= 2**M - 2
    ke = shap.KernelExplainer(f, background)
    ref = np.asarray(ke.shap_values(X, nsamples=2**5, l1_reg=0, silent=True))
    np.testing.assert_allclose(ours, ref, atol=1e-8)


def test_weighted_background_reproduces_shap_kmeans_run():
    shap = pytest.importorskip("shap")
    rng = np.random.RandomState(3)
    data = rng.normal(size=(60, 4))
    X = rng.normal(size=(3, 4))
    summary = shap.kmeans(data, 5)

    def f(Z):
        return np.tanh(Z[:, 0] * Z[:, 1]) + Z[:, 2] * Z[:, 3]

    ours = shapley_values(f, X, summary.data, summary.weights)
    ref = np.asarray(shap.KernelExplainer(f, summary).shap_values(X, nsamples=14, l1_reg=0,
                                                                  silent=True))
    np.testing.assert_allclose(ours.values[:, :, 0], ref, atol=1e-8)
    np.testing.assert_allclose(ours.base_values[0], summary.weights @ f(summary.data)
                               / summary.weights.sum())


# ------------------------------------------------------------------ estimators


@pytest.mark.parametrize("method", METHODS)
def test_additivity_every_method(problem, method):
    X, background, weights = problem
    res = shapley_values(_two_outputs, X, background, weights, method=method, n_samples=30,
                         random_state=0)
    assert res.values.shape == (7, 6, 2)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, _two_outputs(X),
                               atol=1e-10)


def test_kernel_with_full_budget_is_exact(problem):
    X, background, weights = problem
    exact = shapley_values(_nonlinear, X, background, weights).values
    for estimator in ("stratified", "kernelshap", "leverage", "regression-msr"):
        kern = shapley_values(_nonlinear, X, background, weights, method="kernel",
                              n_samples=2**6 - 2, random_state=0, estimator=estimator)
        # exact, not within a ridge's 1e-9 (every coalition enumerated needs none)
        np.testing.assert_allclose(kern.values, exact, rtol=0, atol=1e-12 * np.abs(exact).max())
        if estimator == "stratified":
            assert kern.converged is True


@pytest.mark.parametrize(
    "method, n_samples, tolerance",
    # relative mean absolute error against exact enumeration (M = 6, 62 coalitions in all)
    [("kernel", 24, 0.25), ("kernel", 44, 0.10), ("kernel", 56, 0.05),
     ("permutation", 200, 0.12), ("permutation", 2000, 0.05)],
)
def test_sampling_methods_converge_to_exact(problem, method, n_samples, tolerance):
    X, background, weights = problem
    exact = shapley_values(_nonlinear, X, background, weights).values
    errors = [
        _rel_err(shapley_values(_nonlinear, X, background, weights, method=method,
                                n_samples=n_samples, random_state=seed, tol=None).values, exact)
        for seed in range(3)
    ]
    assert np.mean(errors) < tolerance, errors


def test_sampling_error_decreases_with_budget():
    rng = np.random.RandomState(1)
    X, background = rng.normal(size=(10, 10)), rng.normal(size=(4, 10))

    def f(Z):
        return np.tanh(Z @ np.linspace(-1, 1, 10)) * Z[:, 0] + Z[:, 1] * Z[:, 2] * Z[:, 3]

    exact = shapley_values(f, X, background).values
    # stated tolerances at 600 coalitions per row (M = 10): kernel 5%, permutation 15%
    for method, limit in (("kernel", 0.05), ("permutation", 0.15)):
        small, large = (
            np.mean([_rel_err(shapley_values(f, X, background, method=method, n_samples=n,
                                             random_state=s, tol=None).values, exact)
                     for s in range(3)])
            for n in (60, 600)
        )
        assert large < small, (method, small, large)
        assert large < limit, (method, large)


def test_early_stopping_reports_convergence(problem):
    X, background, weights = problem
    loose = shapley_values(_nonlinear, X, background, weights, method="kernel", n_samples=56,
                           tol=10.0, random_state=0)
    full = shapley_values(_nonlinear, X, background, weights, method="kernel", n_samples=56,
                          tol=None, random_state=0)
    assert loose.converged is True
    assert full.converged is None
    assert loose.n_evaluations < full.n_evaluations
    strict = shapley_values(_nonlinear, X, background, weights, method="permutation",
                            n_samples=100, tol=0.0, random_state=0)
    assert strict.converged is False


# ------------------------------------------------------------------ data handling


def _mixed_frame(n, seed):
    rng = np.random.RandomState(seed)
    colours = pd.CategoricalDtype(["red", "green", "blue", "violet"])
    df = pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "count": rng.randint(0, 5, size=n).astype("int64"),
            "city": rng.choice(["paris", "oslo", "rome"], size=n).astype(object),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n),
                                     dtype=colours),
            "flag": rng.rand(n) > 0.5,
        }
    )
    df.loc[df.index[::3], "num"] = np.nan
    df.loc[df.index[1::4], "city"] = np.nan
    return df


def test_mixed_dtypes_keep_dtypes_in_hybrid_rows():
    X = _mixed_frame(6, 0)
    X.loc[X.index[0], "colour"] = "violet"  # a category unseen in the background
    background = _mixed_frame(4, 1)
    dtypes = X.dtypes
    calls = []
    bonus = {"paris": 1.0, "oslo": -1.0, "rome": 0.5}
    codes = {"red": 0.3, "green": -0.7, "blue": 1.1, "violet": 2.0}

    def f(df):
        assert isinstance(df, pd.DataFrame)
        assert list(df.columns) == list(X.columns)
        pd.testing.assert_series_equal(df.dtypes, dtypes)
        assert list(df["colour"].cat.categories) == ["red", "green", "blue", "violet"]
        calls.append(len(df))
        num = df["num"].fillna(-1.0).to_numpy()
        city = df["city"].map(bonus).fillna(0.0).to_numpy()
        colour = df["colour"].map(codes).astype(float).to_numpy()
        return num * colour + df["count"].to_numpy() * city + df["flag"].to_numpy()

    res = shapley_values(f, X, background, max_batch_rows=50)
    np.testing.assert_allclose(res.values.sum(axis=1)[:, 0] + res.base_values[0], f(X),
                               atol=1e-12)
    assert max(calls) <= 50
    # column "flag" enters additively: its Shapley value is flag(x) - mean flag(background)
    np.testing.assert_allclose(res.values[:, 4, 0],
                               X["flag"].to_numpy() - background["flag"].mean(), atol=1e-12)


def test_numpy_object_array_with_nan():
    X = np.array([[1.5, "a", np.nan], [np.nan, "b", 2.0]], dtype=object)
    background = np.array([[0.5, "b", 1.0], [2.0, "a", np.nan]], dtype=object)

    def f(Z):
        assert Z.dtype == object and Z.shape[1] == 3
        a = np.array([0.0 if v != v else float(v) for v in Z[:, 0]])
        c = np.array([0.0 if v != v else float(v) for v in Z[:, 2]])
        return a * (Z[:, 1] == "a") + c

    res = shapley_values(f, X, background)
    np.testing.assert_allclose(res.values.sum(axis=1)[:, 0] + res.base_values[0], f(X))


def test_background_numpy_for_dataframe_is_cast_to_frame_dtypes():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})

    def f(df):
        assert df["b"].dtype == np.int64
        return df["a"].to_numpy() * df["b"].to_numpy()

    res = shapley_values(f, X, np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(res.values.sum(axis=1)[:, 0] + res.base_values[0], [3.0, 8.0])


def test_groups_are_players(problem):
    X, background, weights = problem
    groups = [[0, 2], [1], [3, 4, 5]]
    res = shapley_values(_nonlinear, X, background, weights, groups=groups)
    assert res.values.shape == (7, 3, 1)
    np.testing.assert_allclose(res.values.sum(axis=1)[:, 0] + res.base_values[0],
                               _nonlinear(X), atol=1e-12)

    # on an additive model a group's value is the sum of its members' values
    def additive(Z):
        return Z @ np.arange(1.0, 7.0) + np.sin(Z[:, 1])

    single = shapley_values(additive, X, background, weights).values[:, :, 0]
    grouped = shapley_values(additive, X, background, weights, groups=groups).values[:, :, 0]
    np.testing.assert_allclose(grouped, np.column_stack([single[:, g].sum(axis=1)
                                                         for g in groups]), atol=1e-12)
    # names work for DataFrames, and kernel / permutation accept groups too
    frame = pd.DataFrame(X, columns=list("abcdef"))
    named = shapley_values(lambda df: additive(df.to_numpy()), frame,
                           pd.DataFrame(background, columns=list("abcdef")), weights,
                           groups={"ac": ["a", "c"], "b": ["b"], "rest": ["d", "e", "f"]},
                           method="kernel", random_state=0)
    np.testing.assert_allclose(named.values[:, :, 0], grouped, atol=1e-9)


def test_group_validation_errors(problem):
    X, background, _ = problem
    with pytest.raises(ValueError, match="more than one group"):
        shapley_values(_nonlinear, X, background, groups=[[0, 1], [1, 2, 3, 4, 5]])
    with pytest.raises(ValueError, match="in no group"):
        shapley_values(_nonlinear, X, background, groups=[[0, 1], [2]])


def test_exact_refuses_too_many_players():
    X = np.zeros((1, MAX_EXACT_PLAYERS + 1))
    with pytest.raises(ValueError, match="at most 16 players"):
        shapley_values(lambda Z: Z.sum(axis=1), X, X)
    with pytest.raises(ValueError, match="method"):
        shapley_values(lambda Z: Z.sum(axis=1), X, X, method="lime")


def test_multi_output_matches_per_output_runs(problem):
    X, background, weights = problem
    both = shapley_values(_two_outputs, X, background, weights)
    for o in range(2):
        one = shapley_values(lambda Z, o=o: _two_outputs(Z)[:, o], X, background, weights)
        np.testing.assert_allclose(both.values[:, :, o], one.values[:, :, 0], atol=1e-12)


# ------------------------------------------------------------------ execution


@pytest.mark.parametrize("method", ["kernel", "permutation"])
def test_reproducible_with_random_state(problem, method):
    X, background, weights = problem
    run = [shapley_values(_nonlinear, X, background, weights, method=method, n_samples=30,
                          random_state=s).values for s in (7, 7, 8)]
    np.testing.assert_array_equal(run[0], run[1])
    assert not np.allclose(run[0], run[2])


@pytest.mark.parametrize("method", METHODS)
def test_batch_bound_respected(problem, method):
    X, background, weights = problem
    sizes = []

    def f(Z):
        sizes.append(len(Z))
        return _nonlinear(Z)

    bounded = shapley_values(f, X, background, weights, method=method, max_batch_rows=37,
                             n_samples=40, random_state=0)
    hybrid_calls = sizes[2:]  # the background and the explained rows come first
    assert max(hybrid_calls) <= 37
    assert sum(sizes) == bounded.n_evaluations
    free = shapley_values(_nonlinear, X, background, weights, method=method, n_samples=40,
                          random_state=0)
    np.testing.assert_allclose(bounded.values, free.values, atol=1e-12)


def test_n_jobs_and_progress_do_not_change_results(problem):
    X, background, weights = problem
    X = np.vstack([X] * 3)
    kw = dict(method="kernel", n_samples=40, random_state=0, batch_size=5)
    # joblib's workers run BLAS on one thread; so does this process here, since a threaded
    # OpenBLAS (numpy < 2) sums in another order and moves the last bit
    with threadpool_limits(1):
        one = shapley_values(_nonlinear, X, background, weights, n_jobs=1, **kw)
    two = shapley_values(_nonlinear, X, background, weights, n_jobs=2, progress=True, **kw)
    np.testing.assert_array_equal(one.values, two.values)
    assert one.n_evaluations == two.n_evaluations


def test_pca_pipeline_in_raw_space():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    data = rng.normal(size=(200, 5)) * [1, 2, 3, 4, 5]
    target = data @ [1.0, -2.0, 0.5, 0.0, 3.0] + rng.normal(size=200)
    model = make_pipeline(StandardScaler(), PCA(n_components=3), LinearRegression())
    model.fit(data, target)
    # the whole pipeline is linear in the raw columns: phi_i = beta_i (x_i - E[b_i])
    beta = np.linalg.lstsq(np.column_stack([data, np.ones(200)]), model.predict(data),
                           rcond=None)[0][:5]
    X, background = data[:4], data[50:80]
    res = shapley_values(model.predict, X, background, method="kernel", random_state=0)
    np.testing.assert_allclose(res.values[:, :, 0], beta * (X - background.mean(axis=0)),
                               atol=1e-8)


def test_regression_and_classification_models():
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X, y)
    res = shapley_values(clf.predict_proba, X[:4], X[40:50], method="kernel", random_state=0)
    assert res.values.shape == (4, 5, 2)
    # two classes: the attributions of the second class mirror the first
    np.testing.assert_allclose(res.values[:, :, 0], -res.values[:, :, 1], atol=1e-10)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, clf.predict_proba(X[:4]),
                               atol=1e-10)


# ------------------------------------------------------------------ background summaries


def test_summarize_background_numeric_kmeans():
    rng = np.random.RandomState(0)
    data = np.column_stack([rng.normal(size=300), rng.randint(0, 3, size=300)])
    rows, weights = summarize_background(data, n=10, random_state=0)
    assert rows.shape == (10, 2) and weights.shape == (10,)
    assert math.isclose(weights.sum(), 1.0)
    assert set(np.unique(rows[:, 1])) <= {0.0, 1.0, 2.0}  # snapped to observed values
    assert np.isin(rows[:, 0], data[:, 0]).all()
    frame = pd.DataFrame(data, columns=["x", "k"]).astype({"k": "int64"})
    rows_df, _ = summarize_background(frame, n=10, random_state=0)
    assert list(rows_df.dtypes) == list(frame.dtypes)


def test_summarize_background_mixed_and_small():
    X = _mixed_frame(50, 0)
    rows, weights = summarize_background(X, n=8, random_state=0)
    assert len(rows) == 8 and np.allclose(weights, 1 / 8)
    pd.testing.assert_series_equal(rows.dtypes, X.dtypes)
    same, w = summarize_background(X, n=100)
    assert same is X and np.allclose(w, 1 / 50)
    with pytest.raises(ValueError, match="positive integer"):
        summarize_background(X, n=0)


# ------------------------------------------------------------------ binary probabilities


class _Proba:
    """``predict_proba`` of a binary classifier, seen by the engine through an evaluator that
    says so (as ``ExplainablePipeline`` passes it); ``skew`` breaks the sum to one (and the
    mirror: the first output's values are no longer minus the second's)."""

    method = "predict_proba"

    def __init__(self, skew=0.0):
        self.skew = skew

    def prepare(self, background_rows, player_cols, weights):
        return None  # no fast path: the black box

    def __call__(self, Z):
        p = 1.0 / (1.0 + np.exp(-_nonlinear(Z)))
        return np.column_stack([1.0 - p + self.skew * np.tanh(np.asarray(Z)[:, 0]), p])


@pytest.mark.parametrize("method", METHODS)
def test_binary_probabilities_estimate_one_class_and_mirror_the_other(problem, method,
                                                                       monkeypatch):
    from explainable_pipeline.explainers import _shapley

    X, background, weights = problem
    f = _Proba()
    kw = dict(method=method, random_state=0, n_samples=256, evaluator=f)
    res = shapley_values(f, X, background, weights, **kw)
    # the first class's values are minus the second's (plus an equal share of the rows' sums'
    # rounding), with the same errors, and both add up to their outputs
    np.testing.assert_allclose(res.values[:, :, 0], -res.values[:, :, 1], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(res.standard_errors[:, :, 0], res.standard_errors[:, :, 1])
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, f(X), rtol=0,
                               atol=1e-14)
    # ...and what both classes estimated separately give (the estimators are symmetric under
    # v -> 1 - v), to rounding
    monkeypatch.setattr(_shapley, "_sum_to_one", lambda P: False)
    both = shapley_values(f, X, background, weights, **kw)
    np.testing.assert_allclose(res.values, both.values, atol=1e-9)
    if method == "exact":  # and the exact values by enumeration
        want = brute_force_shapley_rows(lambda Z: f(Z)[:, 0], X[0], background,
                                        weights / weights.sum())
        np.testing.assert_allclose(res.values[0, :, 0], want, atol=1e-12)


def test_outputs_that_do_not_sum_to_one_are_estimated_each(problem):
    X, background, weights = problem
    f = _Proba(skew=0.1)  # not probabilities: nothing to mirror
    res = shapley_values(f, X, background, weights, method="kernel", random_state=0,
                         n_samples=256, evaluator=f)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, f(X), atol=1e-12)
    assert not np.allclose(res.values[:, :, 0], -res.values[:, :, 1], atol=1e-6)


def test_mirror_adds_up_when_probabilities_sum_to_one_within_rounding(problem):
    X, background, weights = problem

    def f(Z):  # the first class is off by up to 5e-10: still probabilities to the check
        p = _Proba()(Z)
        p[:, 0] += 5e-10 * np.tanh(np.asarray(Z)[:, 0])
        return p

    ev = _Proba()
    res = shapley_values(f, X, background, weights, method="kernel", random_state=0,
                         n_samples=256, evaluator=ev)
    np.testing.assert_allclose(res.values[:, :, 0], -res.values[:, :, 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, f(X), rtol=0,
                               atol=1e-14)


def test_mirror_is_dropped_when_hybrid_rows_do_not_sum_to_one(problem, monkeypatch):
    """Outputs that sum to one on the rows and the background but not on some hybrid row: the
    chunk is estimated again for both outputs, as if no mirror had been tried."""
    from explainable_pipeline.explainers import _shapley

    X, background, weights = problem
    known = {tuple(r) for r in np.vstack([X, background])}

    def f(Z):
        Z = np.asarray(Z, dtype=float)
        p = _Proba()(Z)
        hybrid = np.array([tuple(r) not in known for r in Z])
        p[hybrid, 0] += 0.1 * np.tanh(Z[hybrid, 0])
        return p

    kw = dict(method="kernel", random_state=0, n_samples=256, evaluator=_Proba())
    res = shapley_values(f, X, background, weights, **kw)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values, f(X), atol=1e-12)
    assert not np.allclose(res.values[:, :, 0], -res.values[:, :, 1], atol=1e-6)
    monkeypatch.setattr(_shapley, "_sum_to_one", lambda P: False)
    np.testing.assert_allclose(res.values, shapley_values(f, X, background, weights, **kw).values,
                               rtol=0, atol=1e-12)
