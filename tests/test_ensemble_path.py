"""The ensemble path (`explainers/_eval_ensemble.py`): stacking and soft voting.

Each base's response comes from its own model path or, without one, from the base run on the
hybrid engineered rows; the ensemble's final step runs on them. The values must be the black
box's (hybrid raw rows through the whole pipeline) to 1e-10 under every plan of the kernel
estimator (the per-game plans batch single hybrid rows, the shared plan averages over the
background), behind a column-wise preprocessor with NaN, categories and pandas output, and the
path must step aside where it does not apply.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import mixed_preprocessor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    AdaBoostClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, SVR

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._feature_map_build import build_feature_map
from explainable_pipeline.explainers import _evaluators
from explainable_pipeline.explainers._evaluators import pipeline_evaluator
from explainable_pipeline.explainers._shapley import shapley_values

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = 1e-10
STACK = "stacking (forest, kernel-machine, linear-model)"  # the paths of _stacking()'s bases


def _same(f, X, bg, ev, path, method="kernel", design="neyman", **kw):
    """The engine with the evaluator equals the black box under the same plan."""
    if method == "kernel":
        kw = {"n_samples": 24, "random_state": 0, "tol": None, "kernel_design": design, **kw}
    fast = shapley_values(f, X, bg, evaluator=ev, method=method, **kw)
    slow = shapley_values(f, X, bg, method=method, **kw)
    assert fast.evaluation == path, (fast.evaluation, ev.reason)
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=TOL)
    np.testing.assert_allclose(fast.base_values, slow.base_values, rtol=0, atol=TOL)
    additive = fast.values.sum(axis=1) + fast.base_values
    np.testing.assert_allclose(additive, np.asarray(f(X)).reshape(len(X), -1), atol=1e-9)
    return fast


def _classes(n_classes):
    X, y = make_classification(n_samples=160, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=3)
    return X / np.abs(X).max(axis=0), y


def _stacking(passthrough=False, drop=True, box=False):
    """SVC (kernel-machine path), a forest (forest path) and logistic regression
    (linear-model path, its ``predict_proba``); ``box``: plus naive Bayes, which has no path
    and runs itself on the hybrid rows. The final estimator is explicit:
    CalibratedClassifierCV asks the unfitted ensemble for its methods."""
    bases = [("svc", SVC(random_state=0)), ("lr", LogisticRegression(max_iter=500)),
             ("rf", RandomForestClassifier(n_estimators=15, random_state=0))]
    extra = [("nb", GaussianNB())] if box else [("nb", "drop")] if drop else []
    return StackingClassifier(bases + extra,
                              final_estimator=LogisticRegression(), passthrough=passthrough,
                              cv=3)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("design", ["neyman", "shared", "exact"])
def test_stacking_classifier_equals_black_box(n_classes, design):
    X, y = _classes(n_classes)
    model = _stacking().fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    method = "exact" if design == "exact" else "kernel"
    _same(model.predict_proba, X[:4], X[100:103], ev, STACK,
          method=method, design=design)


def test_stacking_decision_function_and_passthrough():
    X, y = _classes(2)
    model = _stacking(passthrough=True).fit(X, y)
    ev = pipeline_evaluator(None, model, "decision_function")
    _same(model.decision_function, X[:4], X[100:103], ev, STACK)


def test_stacking_regressor_equals_black_box():
    X, y = make_regression(n_samples=160, n_features=5, noise=1.0, random_state=4)
    model = StackingRegressor(
        [("svr", SVR()), ("knn", KNeighborsRegressor(p=1)),
         ("rf", RandomForestRegressor(n_estimators=10, random_state=0))],
        final_estimator=Ridge(), passthrough=True, cv=3).fit(X, y / 50)
    ev = pipeline_evaluator(None, model, "predict")
    _same(model.predict, X[:4], X[100:103], ev, "stacking (forest, kernel-machine, neighbors)")


@pytest.mark.parametrize("design", ["neyman", "shared"])
def test_soft_voting_equals_black_box(design):
    X, y = _classes(3)
    model = VotingClassifier(
        [("mlp", MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0)),
         ("knn", KNeighborsClassifier(weights="distance")),
         ("nb", "drop"), ("rf", RandomForestClassifier(n_estimators=10, random_state=0))],
        voting="soft", weights=[2.0, 1.0, 3.0, 0.5]).fit(X, y)  # a dropped base's weight
    ev = pipeline_evaluator(None, model, "predict_proba")
    _same(model.predict_proba, X[:4], X[100:103], ev, "voting (forest, neighbors, neural-network)",
          design=design)


def test_voting_regressor_equals_black_box():
    X, y = make_regression(n_samples=160, n_features=5, noise=1.0, random_state=5)
    model = VotingRegressor([("svr", SVR()), ("ridge", Ridge()),
                             ("rf", RandomForestRegressor(n_estimators=10, random_state=0))]
                            ).fit(X, y / 50)
    ev = pipeline_evaluator(None, model, "predict")
    _same(model.predict, X[:4], X[100:103], ev, "voting (forest, kernel-machine)")


def test_calibrated_stacking_equals_black_box():
    """A stacking ensemble as the base of CalibratedClassifierCV: the calibrators run on the
    ensemble's decision values."""
    X, y = _classes(2)
    model = CalibratedClassifierCV(_stacking(), ensemble=False, cv=3).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    _same(model.predict_proba, X[:3], X[100:102], ev, f"calibrated {STACK}")


def test_where_the_path_does_not_apply_it_says_why():
    X, y = _classes(2)
    hard = VotingClassifier([("svc", SVC()), ("lr", LogisticRegression())]).fit(X, y)
    ev = pipeline_evaluator(None, hard, "predict")
    assert shapley_values(hard.predict, X[:2], X[50:52], evaluator=ev).evaluation == "black-box"
    assert "voting='hard'" in ev.reason
    no_path = StackingClassifier([("nb", GaussianNB()), ("ada", AdaBoostClassifier(
        n_estimators=5, random_state=0))], cv=3).fit(X, y)
    ev = pipeline_evaluator(None, no_path, "predict_proba")
    assert shapley_values(no_path.predict_proba, X[:2], X[50:52],
                          evaluator=ev).evaluation == "black-box"
    assert "none of its bases has a model path" in ev.reason


def test_wrong_ensemble_path_falls_back(monkeypatch):
    """A base path that does not reproduce the base makes the probes fail: black box."""
    X, y = _classes(3)
    model = _stacking().fit(X, y)
    real = _evaluators.fast_model

    def skewed(estimator, *args, **kwargs):
        model_, why = real(estimator, *args, **kwargs)
        if isinstance(estimator, SVC):
            bind = model_.bind
            model_.bind = lambda Xt: bind(Xt * 3.0 + 1.0)
        return model_, why

    monkeypatch.setattr(_evaluators, "fast_model", skewed)
    ev = pipeline_evaluator(None, model, "predict_proba")
    fast = shapley_values(model.predict_proba, X[:3], X[100:102], evaluator=ev)
    slow = shapley_values(model.predict_proba, X[:3], X[100:102])
    assert ev.path == STACK and fast.evaluation == "black-box"
    # the rows' outputs come from the probes' model call (other rows in the batch): the
    # same values up to the model's summation order
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-12)


def _pre(pandas):
    pre = mixed_preprocessor(sparse_output=False)  # numeric columns with NaN, two categoricals
    return pre.set_output(transform="pandas") if pandas else pre


@pytest.mark.parametrize("pandas", [False, True])
def test_behind_preprocessor_with_nan_categories_and_pandas_output(mixed_data, pandas):
    """With pandas output the bases were fitted with feature names: the bases that run
    themselves get their hybrid rows as frames (no warning, the same values)."""
    df, y, _ = mixed_data
    pre = _pre(pandas).fit(df)
    model = _stacking(box=True).fit(pre.transform(df), y)  # naive Bayes runs itself
    fmap = build_feature_map(pre, list(df.columns), X_sample=df.iloc[:30])

    def f(rows):
        return model.predict_proba(pre.transform(rows))

    X = df.iloc[:4].copy()
    X.loc[X.index[0], "city"] = "never seen"
    ev = pipeline_evaluator(pre, model, "predict_proba", fmap)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found unknown categories")
        warnings.filterwarnings("error", message="X does not have valid feature names")
        _same(f, X, df.iloc[200:203], ev, STACK)


def test_explainable_pipeline_uses_the_ensemble_path(mixed_data):
    df, y, _ = mixed_data
    ep = ExplainablePipeline(_pre(False), _stacking(), explainer="kernel", background=5,
                             random_state=0).fit(df, y)
    local = ep.explain_local(df.iloc[:4])
    assert local.meta["evaluation"] == STACK
    total = local.local_importance_values.sum(-1).T + local.expected_values
    np.testing.assert_allclose(total, ep.predict_proba(df.iloc[:4]), atol=1e-10)


def test_budget_factor_is_that_of_the_costliest_base():
    """Bases all on paths (forest: 2, kernel machine and linear model: 4): factor 2, so twice
    the coalitions and no logistic proxies; a base that runs itself costs a model call: 1."""
    X, y = _classes(2)
    on_paths = _stacking(passthrough=True).fit(X, y)  # the passthrough rows cost nothing
    with_box = StackingClassifier([("svc", SVC()), ("nb", GaussianNB())], cv=3).fit(X, y)
    for model, factor in ((on_paths, 2), (with_box, 1)):
        ev = pipeline_evaluator(None, model, "predict_proba")
        prepared = ev.prepare(X[50:53], np.eye(5, dtype=bool), np.full(3, 1 / 3))
        assert prepared.budget_factor == factor, ev.path
