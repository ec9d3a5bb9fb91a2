"""Exact fast evaluation paths of the raw-space Shapley engine (`explainers/_evaluators.py`).

Each fast path must give the black-box values (hybrid raw rows through the whole pipeline) to
floating-point precision, and fall back to the black box whenever it does not apply.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import brute_force_shapley_rows
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM
from sklearn.tree import DecisionTreeClassifier

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._feature_map_build import build_feature_map
from explainable_pipeline.explainers import _eval_svm, _evaluators
from explainable_pipeline.explainers._eval_svm import couple
from explainable_pipeline.explainers._evaluators import pipeline_evaluator
from explainable_pipeline.explainers._shapley import shapley_values

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # SVC(probability=True), sklearn 1.9
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

TOL = 1e-10


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=160, n_features=6, n_informative=4, random_state=0)
    X[:, 0] *= 30.0  # a badly scaled column: large partial distances
    return X, y


def _both(f, X, bg, ev, **kw):
    fast = shapley_values(f, X, bg, evaluator=ev, **kw)
    slow = shapley_values(f, X, bg, **kw)
    return fast, slow


def _assert_same(fast, slow, path):
    assert fast.evaluation == path
    assert slow.evaluation == "black-box"
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=TOL)
    np.testing.assert_allclose(fast.base_values, slow.base_values, rtol=0, atol=TOL)


# ------------------------------------------------------------------ kernel machines


@pytest.mark.parametrize("kernel", ["rbf", "poly", "linear", "sigmoid"])
@pytest.mark.parametrize("method", ["decision_function", "predict_proba"])
def test_svc_kernel_machine_equals_black_box(binary, kernel, method):
    X, y = binary
    model = SVC(kernel=kernel, gamma="scale", coef0=0.5, degree=3, probability=True,
                random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, method)
    fast, slow = _both(getattr(model, method), X[:9], X[100:107], ev, method="exact")
    _assert_same(fast, slow, "kernel-machine")
    assert ev.path == "kernel-machine" and ev.reason is None


@pytest.mark.parametrize("kernel", ["rbf", "poly"])
@pytest.mark.parametrize("design", ["independent", "shared"])
def test_kernel_estimator_same_design_same_values(binary, kernel, design):
    X, y = binary
    model = SVC(kernel=kernel, probability=True, random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    kw = dict(method="kernel", n_samples=24, random_state=3, kernel_design=design, tol=None)
    fast, slow = _both(model.predict_proba, X[:5], X[100:104], ev, **kw)
    _assert_same(fast, slow, "kernel-machine")


@pytest.mark.parametrize("Model", [SVR, NuSVR])
@pytest.mark.parametrize("kernel", ["rbf", "poly", "linear"])
def test_svr_kernel_machine_equals_black_box(Model, kernel):
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=1)
    model = Model(kernel=kernel, C=10.0).fit(X, y / 10)
    ev = pipeline_evaluator(None, model, "predict")
    fast, slow = _both(model.predict, X[:7], X[60:66], ev, method="exact")
    _assert_same(fast, slow, "kernel-machine")


def test_nusvc_probability(binary):
    X, y = binary
    model = NuSVC(probability=True, random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    fast, slow = _both(model.predict_proba, X[:6], X[100:105], ev, method="exact")
    _assert_same(fast, slow, "kernel-machine")


def test_kernel_machine_exact_equals_brute_force(binary):
    """Exact enumeration on the fast path equals the Shapley formula over all permutations."""
    X, y = binary
    model = SVC(probability=True, random_state=0).fit(X, y)
    x, bg = X[:1], X[100:103]
    w = np.array([0.2, 0.5, 0.3])
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = shapley_values(model.predict_proba, x, bg, w, method="exact", evaluator=ev)
    assert res.evaluation == "kernel-machine"
    phi = brute_force_shapley_rows(lambda rows: model.predict_proba(rows)[:, 1], x[0], bg, w)
    np.testing.assert_allclose(res.values[0, :, 1], phi, rtol=0, atol=TOL)
    # additivity
    total = res.values[0, :, :].sum(axis=0) + res.base_values
    np.testing.assert_allclose(total, model.predict_proba(x)[0], rtol=0, atol=1e-12)


def test_libsvm_probability_reproduced_on_many_rows(binary):
    X, y = binary
    model = SVC(probability=True, random_state=0).fit(X, y)
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(5000, X.shape[1])) * X.std(axis=0) * 2
    libsvm_dec = -model.decision_function(Z)  # libsvm's sign for two classes
    km, why = _eval_svm.build(model, "predict_proba", X[:2], np.eye(6, dtype=bool),
                              np.full(2, 0.5))
    assert why is None
    np.testing.assert_allclose(km.outputs(libsvm_dec[:, None]), model.predict_proba(Z),
                               rtol=0, atol=1e-12)


def test_couple_two_converges_like_libsvm():
    r = np.array([1e-7, 0.1, 0.5, 0.77, 1 - 1e-7])
    p = couple(r[:, None], 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(p[:, 0], r, atol=0.005)  # libsvm's stopping tolerance 0.005 / k


@pytest.mark.parametrize(
    "model, method, why",
    [
        (SVC(kernel=lambda A, B: A @ B.T), "decision_function", "kernel="),
        (SVC(probability=False), "predict", "not on the fast path"),
        (SGDClassifier(loss="log_loss", random_state=0), "predict_proba",
         "not on the fast path"),
        (OneClassSVM(), "decision_function", "no model path"),
    ],
)
def test_unsupported_models_fall_back_to_black_box(model, method, why):
    X, y = make_classification(n_samples=90, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)
    model.fit(X, y)
    ev = pipeline_evaluator(None, model, method)
    fast, slow = _both(getattr(model, method), X[:4], X[50:53], ev, method="exact")
    assert fast.evaluation == "black-box" and ev.path is None
    assert why in ev.reason
    # to rounding: with the evaluator, a binary predict_proba is estimated for one class and
    # mirrored for the other (tests/test_shapley.py)
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-14)


def test_precomputed_kernel_falls_back():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    G = X @ X.T
    model = SVC(kernel="precomputed").fit(G, y)
    ev = pipeline_evaluator(None, model, "decision_function")
    res = shapley_values(model.decision_function, G[:3], G[40:43], method="kernel",
                         n_samples=120, random_state=0, evaluator=ev)
    assert res.evaluation == "black-box"
    assert "precomputed" in ev.reason


def test_wrong_fast_path_is_caught_and_falls_back(binary, monkeypatch):
    """A path that does not reproduce the model on the probe coalitions is not used."""
    X, y = binary
    model = SVC(probability=True, random_state=0).fit(X, y)
    real = _eval_svm._svm_spec

    def off_by_a_bit(estimator, method):
        spec, why = real(estimator, method)
        spec["intercept"] = spec["intercept"] + 1e-6
        return spec, why

    monkeypatch.setattr(_eval_svm, "_svm_spec", off_by_a_bit)
    ev = pipeline_evaluator(None, model, "predict_proba")
    fast, slow = _both(model.predict_proba, X[:5], X[100:103], ev, method="exact")
    assert fast.evaluation == "black-box"
    # to rounding: one class estimated, the other mirrored (see above)
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-14)


def test_fallback_is_per_chunk_and_recorded(binary, monkeypatch):
    X, y = binary
    model = SVC(random_state=0).fit(X, y)
    calls = []
    real_bind = _evaluators._ModelPath.bind

    def bind(self, X_chunk, max_batch_rows):
        calls.append(len(calls))
        return None if len(calls) == 2 else real_bind(self, X_chunk, max_batch_rows)

    monkeypatch.setattr(_evaluators._ModelPath, "bind", bind)
    ev = pipeline_evaluator(None, model, "decision_function")
    fast, slow = _both(model.decision_function, X[:9], X[100:103], ev, method="exact",
                       batch_size=3)
    assert fast.evaluation == "kernel-machine (black-box on 1 of 3 chunks)"
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=TOL)


def test_kernel_machine_memory_blocks_do_not_change_values(binary, monkeypatch):
    X, y = binary
    model = SVC(probability=True, random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    big = shapley_values(model.predict_proba, X[:6], X[100:104], method="exact", evaluator=ev)
    monkeypatch.setattr(_evaluators, "_MAX_ELEMENTS", 64)
    small = shapley_values(model.predict_proba, X[:6], X[100:104], method="exact", evaluator=ev)
    np.testing.assert_allclose(small.values, big.values, rtol=0, atol=1e-13)


# ------------------------------------------------------------------ separable preprocessors


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.RandomState(0)
    n = 200
    df = pd.DataFrame({
        "city": rng.choice(["a", "b", "c", "d"], size=n),
        "kind": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        "age": rng.normal(40, 10, size=n),
        "income": rng.lognormal(3, 1, size=n),
        "score": rng.normal(size=n),
    })
    df.loc[rng.rand(n) < 0.1, "income"] = np.nan
    y = ((df["city"] == "a") ^ (df["age"] > 40) | (df["score"] > 1)).astype(int).to_numpy()
    return df, y


def _preprocessor(sparse: bool, pandas_out: bool = False):
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=sparse), ["city", "kind"]),
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income", "score"]),
    ], sparse_threshold=1.0 if sparse else 0.0)
    if pandas_out:
        pre.set_output(transform="pandas")
    return pre


def _fitted(pre, est, df, y):
    pre.fit(df)
    est.fit(pre.transform(df), y)
    fmap = build_feature_map(pre, list(df.columns), X_sample=df.iloc[:20])
    return pre, est, fmap


@pytest.mark.parametrize("sparse, pandas_out", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("method", ["exact", "kernel", "permutation"])
@pytest.mark.parametrize("model, path", [("adaboost", "separable"), ("tree", "forest"),
                                         ("boosting", "gradient-boosting")])
def test_separable_equals_raw_path(mixed, sparse, pandas_out, method, model, path):
    """Behind dense, sparse and pandas column-wise preprocessors: a model without a model path
    runs on hybrid engineered rows (separable), a tree on the forest path, gradient boosting
    on its own."""
    df, y = mixed
    est = {"adaboost": AdaBoostClassifier(n_estimators=5, random_state=0),
           "tree": DecisionTreeClassifier(max_depth=5, random_state=0),
           "boosting": GradientBoostingClassifier(n_estimators=5, max_depth=3, random_state=0),
           }[model]
    pre, est, fmap = _fitted(_preprocessor(sparse, pandas_out), est, df, y)

    def f(rows):
        return est.predict_proba(pre.transform(rows))

    X = df.iloc[:7].copy()
    X.loc[X.index[0], "city"] = "never seen"  # unknown category: an all-zero one-hot block
    ev = pipeline_evaluator(pre, est, "predict_proba", fmap)
    kw = dict(method=method, n_samples=40, random_state=0, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown category
        fast, slow = _both(f, X, df.iloc[150:155], ev, **kw)
    _assert_same(fast, slow, path)


def test_separable_with_groups(mixed):
    df, y = mixed
    pre, est, fmap = _fitted(_preprocessor(False), GaussianNB(), df, y)  # no model path

    def f(rows):
        return est.predict_proba(pre.transform(rows))

    groups = [["city", "kind"], ["age", "income"], ["score"]]
    ev = pipeline_evaluator(pre, est, "predict_proba", fmap)
    fast, slow = _both(f, df.iloc[:6], df.iloc[150:154], ev, method="exact", groups=groups)
    _assert_same(fast, slow, "separable")


def test_mixing_preprocessor_falls_back(mixed):
    df, y = mixed
    num = df[["age", "score"]].to_numpy()
    X = np.column_stack([num, num[:, :1] * 2 + num[:, 1:]])
    pre = PCA(n_components=2).fit(X)
    est = SVC(random_state=0).fit(pre.transform(X), y)
    fmap = build_feature_map(pre, ["a", "b", "c"], X_sample=X[:20])
    ev = pipeline_evaluator(pre, est, "decision_function", fmap)
    res = shapley_values(lambda r: est.decision_function(pre.transform(r)), X[:4], X[100:103],
                         method="exact", evaluator=ev)
    assert res.evaluation == "black-box"
    assert "mixes raw columns" in ev.reason


def test_svc_behind_one_hot_uses_kernel_machine(mixed):
    df, y = mixed
    for sparse in (False, True):
        pre, est, fmap = _fitted(_preprocessor(sparse),
                                 SVC(probability=True, random_state=0), df, y)

        def f(rows, pre=pre, est=est):
            return est.predict_proba(pre.transform(rows))

        ev = pipeline_evaluator(pre, est, "predict_proba", fmap)
        fast, slow = _both(f, df.iloc[:6], df.iloc[150:155], ev, method="exact")
        _assert_same(fast, slow, "kernel-machine")


# ------------------------------------------------------------------ through ExplainablePipeline


def test_explainable_pipeline_uses_fast_path_and_stays_additive(mixed):
    df, y = mixed
    ep = ExplainablePipeline(_preprocessor(False), SVC(probability=True, random_state=0),
                             explainer="exact", background=6, random_state=0).fit(df, y)
    X = df.iloc[:8]
    local = ep.explain_local(X)
    ref = shapley_values(ep.predict_proba, X, ep.background_, ep.background_weights_,
                         method="exact")
    np.testing.assert_allclose(local.local_importance_values[1], ref.values[:, :, 1],
                               rtol=0, atol=TOL)
    total = local.local_importance_values[1].sum(axis=1) + local.expected_values[1]
    np.testing.assert_allclose(total, ep.predict_proba(X)[:, 1], rtol=0, atol=1e-12)
    ev = pipeline_evaluator(ep.preprocessor_, ep.estimator_, "predict_proba", ep.feature_map_)
    res = shapley_values(ep.predict_proba, X, ep.background_, ep.background_weights_,
                         method="exact", evaluator=ev)
    assert res.evaluation == "kernel-machine"
    assert local.meta["evaluation"] == "kernel-machine"  # recorded on the explanation
    ep_mlp = ExplainablePipeline(_preprocessor(False), MLPClassifier((4,), max_iter=50, random_state=0),
                                 explainer="exact", background=4, random_state=0).fit(df, y)
    assert ep_mlp.explain_local(X[:2]).meta["evaluation"] == "neural-network"


def test_kernel_design_is_validated(binary):
    X, _ = binary
    with pytest.raises(ValueError, match="kernel_design"):
        shapley_values(lambda Z: Z[:, 0], X[:2], X[2:4], method="kernel", kernel_design="x")
