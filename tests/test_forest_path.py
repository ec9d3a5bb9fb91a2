"""The forest path (`explainers/_eval_forest.py`): trees and forests walked per coalition.

Each (explained row, background row) game is rewritten as leaf terms and tested on 64
coalitions per machine word; the values must be the model's own to 1e-10: classification and
regression, NaN routed by the trees' learned missing-value side, scikit-learn's float32
rounding at a threshold, coalition counts that are not multiples of 64, players that own
several columns, and under a calibrator.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification, make_regression
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from explainable_pipeline.explainers import _eval_forest
from explainable_pipeline.explainers._evaluators import pipeline_evaluator
from explainable_pipeline.explainers._shapley import shapley_values

TOL = 1e-10


def _same(model, response, X, bg, path="forest", **kw):
    f = getattr(model, response)
    ev = pipeline_evaluator(None, model, response)
    kw = kw or {"method": "exact"}
    fast = shapley_values(f, X, bg, evaluator=ev, **kw)
    slow = shapley_values(f, X, bg, **kw)
    assert fast.evaluation == path, (fast.evaluation, ev.reason)
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=TOL)
    np.testing.assert_allclose(fast.base_values, slow.base_values, rtol=0, atol=TOL)
    return fast


def _with_nan(X, seed):
    X = X.copy()
    rng = np.random.RandomState(seed)
    X[rng.rand(*X.shape) < 0.12] = np.nan
    return X


@pytest.mark.parametrize("Model", [RandomForestClassifier, DecisionTreeClassifier])
def test_classifier_with_missing_values_equals_the_model(Model):
    X, y = make_classification(n_samples=200, n_features=7, n_informative=5, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    X = _with_nan(X, 0)
    kw = {"n_estimators": 12} if Model is RandomForestClassifier else {}
    model = Model(random_state=0, **kw).fit(X, y)
    # 7 players: 126 interior coalitions per game, two words, the second one partly used
    _same(model, "predict_proba", X[:4], X[150:153])


@pytest.mark.parametrize("Model", [RandomForestRegressor, ExtraTreesRegressor,
                                   DecisionTreeRegressor])
def test_regressor_equals_the_model(Model):
    X, y = make_regression(n_samples=200, n_features=6, noise=1.0, random_state=1)
    X = _with_nan(X, 1)
    kw = {"n_estimators": 8} if Model is not DecisionTreeRegressor else {}
    model = Model(random_state=0, **kw).fit(X, y)
    _same(model, "predict", X[:4], X[150:153])
    _same(model, "predict", X[:3], X[150:152], method="kernel", n_samples=40,
          kernel_design="shared", random_state=0, tol=None)


def test_float32_rounding_at_a_threshold():
    """Trees compare the float32 value: 0.5 + 1e-11 rounds to 0.5 and goes left of a 0.5
    threshold, where float64 would go right."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]] * 10)
    y = X[:, 0] + 2 * X[:, 1]
    model = DecisionTreeRegressor(random_state=0).fit(X, y)
    assert np.isclose(model.tree_.threshold[0], 0.5)
    row = np.array([[0.5 + 1e-11, 0.5 + 1e-11]])
    res = _same(model, "predict", row, X[3:4])
    assert res.values.sum() + res.base_values.sum() == pytest.approx(model.predict(row)[0])


def test_players_owning_several_columns():
    X, y = make_classification(n_samples=200, n_features=8, n_informative=6, n_redundant=0,
                               random_state=2)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    groups = [[0, 5], [1], [2, 3, 4], [6, 7]]
    _same(model, "predict_proba", X[:3], X[100:103], method="exact", groups=groups)


def test_calibrated_forest_equals_the_model():
    X, y = make_classification(n_samples=200, n_features=5, random_state=3)
    model = CalibratedClassifierCV(RandomForestClassifier(n_estimators=10, random_state=0),
                                   method="isotonic", cv=3).fit(X, y)
    _same(model, "predict_proba", X[:3], X[100:103], path="calibrated forest")


def test_leaf_terms_are_the_tree_walk():
    """The leaf-term form of a game equals walking each tree, on every coalition."""
    X, y = make_regression(n_samples=150, n_features=6, random_state=4)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    fo, _ = _eval_forest.build(model, "predict", X[100:101], np.eye(6, dtype=bool), None)
    bound = fo.bind(X[:1])
    Z = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(float)
    got = bound.single(Z, 0, [0])[0, :, 0]
    hybrid = np.where(Z > 0.5, X[0], X[100])
    np.testing.assert_allclose(got, model.predict(hybrid), rtol=0, atol=TOL)


def test_more_than_64_players_is_not_on_the_path():
    X, y = make_classification(n_samples=100, n_features=70, random_state=5)
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = shapley_values(model.predict_proba, X[:1], X[50:51], evaluator=ev, method="kernel",
                         n_samples=140, random_state=0, tol=None)
    assert res.evaluation == "black-box"
    assert "up to 64 players" in ev.reason


def test_leaf_terms_cache_is_bounded(monkeypatch):
    """Past its size bound the cache starts over; the values stay the same."""
    X, y = make_regression(n_samples=150, n_features=6, random_state=6)
    model = RandomForestRegressor(n_estimators=5, random_state=0).fit(X, y)
    monkeypatch.setattr(_eval_forest, "_CACHE_BYTES", 0)
    res = _same(model, "predict", X[:3], X[100:103])
    assert res.evaluation == "forest"
    fo, _ = _eval_forest.build(model, "predict", X[100:103], np.eye(6, dtype=bool), None)
    bound = fo.bind(X[:3])
    for r in range(3):
        bound.terms(r, 0)
    assert len(bound._terms) == 1


@pytest.mark.parametrize("n_classes, response", [(2, "predict_proba"), (3, "predict_proba"),
                                                 (2, "decision_function"),
                                                 (3, "decision_function")])
def test_hist_gradient_boosting_classifier_equals_the_model(n_classes, response):
    X, y = make_classification(n_samples=300, n_features=6, n_informative=5, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=7)
    X = _with_nan(X, 7)
    model = HistGradientBoostingClassifier(max_iter=15, random_state=0).fit(X, y)
    _same(model, response, X[:4], X[200:203], path="hist-boosting")


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_hist_gradient_boosting_regressor_equals_the_model(loss):
    X, y = make_regression(n_samples=300, n_features=6, noise=1.0, random_state=8)
    X = _with_nan(X, 8)
    y = np.exp(y / 200) if loss == "poisson" else y
    model = HistGradientBoostingRegressor(loss=loss, max_iter=15, random_state=0).fit(X, y)
    _same(model, "predict", X[:4], X[200:203], path="hist-boosting")
    _same(model, "predict", X[:3], X[200:202], path="hist-boosting", method="kernel",
          n_samples=40, random_state=0, tol=None)


def test_hist_gradient_boosting_with_categorical_splits_is_not_on_the_path():
    rng = np.random.RandomState(9)
    X = np.column_stack([rng.randint(0, 4, 300), rng.normal(size=300)]).astype(float)
    y = (X[:, 0] == 2) ^ (X[:, 1] > 0)
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0],
                                           random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = shapley_values(model.predict_proba, X[:2], X[100:102], evaluator=ev)
    assert res.evaluation == "black-box"
    assert "categorical splits" in ev.reason


# ------------------------------------------------------------------ gradient boosting


@pytest.mark.parametrize("n_classes, loss, response", [
    (2, "log_loss", "predict_proba"), (3, "log_loss", "predict_proba"),
    (2, "exponential", "predict_proba"), (2, "log_loss", "decision_function"),
    (3, "log_loss", "decision_function"),
])
def test_gradient_boosting_classifier_equals_the_model(n_classes, loss, response):
    X, y = make_classification(n_samples=300, n_features=6, n_informative=5, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=7)
    # subsampled stages with early stopping: fewer stages than asked for
    model = GradientBoostingClassifier(loss=loss, n_estimators=40, subsample=0.8,
                                       n_iter_no_change=2, random_state=0).fit(X, y)
    _same(model, response, X[:4], X[200:203], path="gradient-boosting")


@pytest.mark.parametrize("loss, init", [("squared_error", None), ("huber", None),
                                        ("quantile", None), ("squared_error", "zero"),
                                        ("absolute_error", DummyRegressor(strategy="median"))])
def test_gradient_boosting_regressor_equals_the_model(loss, init):
    X, y = make_regression(n_samples=300, n_features=6, noise=1.0, random_state=8)
    model = GradientBoostingRegressor(loss=loss, init=init, n_estimators=15,
                                      random_state=0).fit(X, y)
    _same(model, "predict", X[:4], X[200:203], path="gradient-boosting")
    _same(model, "predict", X[:3], X[200:202], path="gradient-boosting", method="kernel",
          n_samples=40, random_state=0, tol=None)


def test_gradient_boosting_rounds_to_float32_at_a_threshold():
    """Its stages are scikit-learn regression trees: 0.5 + 1e-11 goes left of a 0.5 split."""
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]] * 10)
    y = X[:, 0] + 2 * X[:, 1]
    model = GradientBoostingRegressor(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    row = np.array([[0.5 + 1e-11, 0.5 + 1e-11]])
    res = _same(model, "predict", row, X[3:4], path="gradient-boosting")
    assert res.values.sum() + res.base_values.sum() == pytest.approx(model.predict(row)[0])


@pytest.mark.parametrize("strategy, response", [
    ("prior", "decision_function"), ("uniform", "decision_function"),
    ("constant", "predict_proba"), ("most_frequent", "predict_proba"),
    ("zero", "predict_proba"),
])
def test_gradient_boosting_classifier_with_a_constant_init(strategy, response):
    """Every DummyClassifier whose predict_proba is the same for every row (most_frequent
    and constant give raw predictions near +-1e14, whose probabilities are still exact), and
    init='zero'; the exponential loss's decision_function with a uniform init too."""
    X, y = make_classification(n_samples=200, n_features=5, n_classes=3, n_informative=4,
                               n_redundant=0, random_state=3)
    init = "zero" if strategy == "zero" else DummyClassifier(
        strategy=strategy, **({"constant": 1} if strategy == "constant" else {}))
    model = GradientBoostingClassifier(init=init, n_estimators=8, random_state=0).fit(X, y)
    _same(model, response, X[:3], X[100:102], path="gradient-boosting")
    binary = y > 0
    model = GradientBoostingClassifier(loss="exponential", init=DummyClassifier(
        strategy="uniform"), n_estimators=8, random_state=0).fit(X, binary)
    _same(model, "decision_function", X[:3], X[100:102], path="gradient-boosting")


@pytest.mark.parametrize("Model, init, what", [
    (GradientBoostingClassifier, LogisticRegression(), "LogisticRegression()"),
    (GradientBoostingClassifier, DummyClassifier(strategy="stratified"), "stratified"),
    (GradientBoostingRegressor, DummyClassifier(strategy="uniform"), "uniform"),
])
def test_gradient_boosting_with_a_per_row_init_is_not_on_the_path(Model, init, what):
    """An initial estimator whose prediction depends on the row (or is random): black box,
    and the reason names it."""
    X, y = make_classification(n_samples=200, n_features=5, random_state=4)
    model = Model(init=init, n_estimators=5, random_state=0).fit(X, y)
    response = "predict_proba" if Model is GradientBoostingClassifier else "predict"
    ev = pipeline_evaluator(None, model, response)
    res = shapley_values(getattr(model, response), X[:2], X[100:102], evaluator=ev)
    assert res.evaluation == "black-box"
    assert "initial estimator" in ev.reason and what in ev.reason


def test_gradient_boosting_with_a_wrong_baseline_falls_back(monkeypatch):
    """The probes compare the path with the model on every chunk: a shifted constant is
    caught and the black box runs."""
    X, y = make_classification(n_samples=200, n_features=5, random_state=5)
    model = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y)
    real = _eval_forest._gradient_boosting

    def shifted(*args):
        forest, why = real(*args)
        finish = forest.finish
        forest.finish = lambda summed: finish(summed + 1e-6)
        return forest, why

    monkeypatch.setattr(_eval_forest, "_gradient_boosting", shifted)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = shapley_values(model.predict_proba, X[:3], X[100:102], evaluator=ev, method="exact")
    assert res.evaluation == "black-box"
    exact = shapley_values(model.predict_proba, X[:3], X[100:102], method="exact")
    np.testing.assert_allclose(res.values, exact.values, rtol=0, atol=1e-12)


def test_gradient_boosting_fitted_with_feature_names_does_not_warn():
    """Behind a pandas-output preprocessor the model knows its columns' names: the path builds
    its constant from a frame, so scikit-learn's "X does not have valid feature names" warning
    (an error here) never fires, alone, calibrated or in soft voting."""
    import warnings

    from sklearn.ensemble import VotingClassifier
    from sklearn.preprocessing import StandardScaler

    from explainable_pipeline import ExplainablePipeline

    X, y = make_classification(n_samples=200, n_features=5, random_state=8)
    import pandas as pd

    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(5)])
    gb = GradientBoostingClassifier(n_estimators=8, random_state=0)
    models = {"gradient-boosting": gb,
              "calibrated gradient-boosting": CalibratedClassifierCV(gb, cv=3),
              "voting (forest, gradient-boosting)": VotingClassifier(
                  [("gb", gb), ("rf", RandomForestClassifier(n_estimators=5, random_state=0))],
                  voting="soft")}
    for path, model in models.items():
        ep = ExplainablePipeline(StandardScaler().set_output(transform="pandas"), model,
                                 explainer="kernel", model_output="probability",
                                 background=10, random_state=0).fit(df, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            local = ep.explain_local(df.iloc[:4])
        assert local.meta["evaluation"] == path
        assert local.check_additivity(rtol=1e-9, atol=1e-9) < 1e-9


def test_gradient_boosting_base_in_a_stacking_ensemble():
    X, y = make_classification(n_samples=300, n_features=6, random_state=6)
    model = StackingClassifier([("gb", GradientBoostingClassifier(n_estimators=10,
                                                                  random_state=0)),
                                ("rf", RandomForestClassifier(n_estimators=5, random_state=0))],
                               cv=3).fit(X, y)
    _same(model, "predict_proba", X[:3], X[200:202], path="stacking (forest, gradient-boosting)")
