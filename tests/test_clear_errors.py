"""Clear errors instead of confusing ones: a model with NaN outputs is named as such (on
background or on hybrid rows), overlapping feature_groups name the column, and a classifier
fitted on one class is refused at fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LogisticRegression, Ridge

from explainable_pipeline import ExplainablePipeline


class NaNAbove(RegressorMixin, BaseEstimator):
    """a + b, but NaN wherever a > threshold (a model with a hole in its domain)."""

    def __init__(self, threshold=2.0):
        self.threshold = threshold

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return np.where(X[:, 0] > self.threshold, np.nan, X[:, 0] + X[:, 1])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    return X, X.a + X.b


def test_nan_model_output_on_hybrid_rows_is_named(data):
    X, y = data
    background = X[X.a < 1].iloc[:10]
    ep = ExplainablePipeline(None, NaNAbove(), explainer="exact", background=background).fit(X, y)
    row = pd.DataFrame({"a": [3.0], "b": [0.0], "c": [0.0]})
    with pytest.raises(ValueError, match=r"model's output \(prediction\) is NaN or infinite on "
                                         r"\d+ of \d+ hybrid rows.*'a': 3\.0"):  # fmt: skip
        ep.explain_local(row)


def test_nan_model_output_on_background_rows_is_named(data):
    X, y = data
    background = pd.concat([X[X.a < 1].iloc[:5], pd.DataFrame({"a": [5.0], "b": [0.0], "c": [0.0]})])
    ep = ExplainablePipeline(None, NaNAbove(), explainer="kernel", background=background).fit(X, y)
    with pytest.raises(ValueError, match=r"NaN or infinite on 1 of 6 background rows.*row 5"):
        ep.explain_local(X.iloc[:3])


@pytest.mark.parametrize("explainer", ["linear", "exact"])
def test_overlapping_feature_groups_name_the_column(data, explainer):
    X, y = data
    groups = {"g1": ["a", "b"], "g2": ["b", "c"]}
    ep = ExplainablePipeline(None, Ridge(), explainer=explainer, feature_groups=groups)
    with pytest.raises(ValueError, match=r"Column 'b' is in feature_groups\['g1'\] and in "
                                         r"feature_groups\['g2'\]"):  # fmt: skip
        ep.fit(X, y)  # at fit, not at the first explanation


@pytest.mark.parametrize("make", ["lightgbm", "logreg"])
def test_a_classifier_fitted_on_one_class_is_refused_at_fit(data, make):
    X, _ = data
    if make == "lightgbm":
        lightgbm = pytest.importorskip("lightgbm")
        est = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1)
    else:
        est = LogisticRegression()
    with pytest.raises(ValueError, match=r"only one class \('yes' in all 200 rows\)"):
        ExplainablePipeline(None, est).fit(X, np.array(["yes"] * 200))


@pytest.mark.parametrize("n_classes, fails", [(2, False), (3, True), (4, True)])
def test_one_vs_one_margins_are_refused_at_fit(n_classes, fails):
    """decision_function_shape='ovo' gives one margin per pair of classes: with three classes
    the shapes coincide and the pairs would be labelled as classes, so fit refuses it."""
    from sklearn.svm import SVC

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(90, 3), columns=list("abc"))
    y = np.arange(90) % n_classes
    ep = ExplainablePipeline(None, SVC(decision_function_shape="ovo"), model_output="margin",
                             explainer="exact")
    if not fails:
        local = ep.fit(X, y).explain_local(X.iloc[:2])
        np.testing.assert_allclose(local.local_importance_values.sum(-1)[1]
                                   + local.expected_values[1], ep.decision_function(X.iloc[:2]),
                                   atol=1e-10)
        return
    pairs = n_classes * (n_classes - 1) // 2
    with pytest.raises(ValueError, match=rf"one decision value per pair of classes \({pairs} for"):
        ep.fit(X, y)
    ovr = ExplainablePipeline(None, SVC(), model_output="margin", explainer="exact").fit(X, y)
    assert np.shape(ovr.explain_local(X.iloc[:2]).local_importance_values) == (n_classes, 2, 3)


@pytest.mark.parametrize("groups, error, pattern", [
    ({"g": []}, ValueError, r"feature_groups\['g'\] is empty"),
    ({"a": ["b", "c"]}, ValueError, r"group named 'a', like the raw column 'a'"),
    ({"g": ["a", "a"]}, ValueError, r"feature_groups\['g'\] lists \['a'\] more than once"),
    ({"g": ["a", "zz"]}, ValueError, r"names columns \['zz'\]"),
    ({1: ["a"]}, TypeError, r"keys are group names \(str\); got 1"),
    ({"g": "ab"}, TypeError, r"feature_groups\['g'\] must be a list"),
    ({"g": ["a"], "h": ["a", "b"]}, ValueError, r"groups must not overlap"),
])
def test_bad_feature_groups_fail_at_fit_naming_the_group(groups, error, pattern):
    """They passed fit and failed at the first explanation, in the engine's words."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(40, 4), columns=list("abcd"))
    ep = ExplainablePipeline(StandardScaler(), Ridge(), explainer="exact",
                             feature_groups=groups, background=5)
    with pytest.raises(error, match=pattern):
        ep.fit(X, X.a + X.b)


def test_a_kernel_budget_below_two_coalitions_per_player_fails_at_fit():
    """It passed fit (and a grid search over it) and failed at the first explanation."""
    from sklearn.neural_network import MLPRegressor

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(60, 5), columns=list("abcde"))
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=50, random_state=0)
    with pytest.raises(ValueError, match=r"`n_samples`=9 is too small .* n_samples >= 10"):
        ExplainablePipeline(None, model, explainer="kernel", n_samples=9).fit(X, X.a)
    ep = ExplainablePipeline(None, model, explainer="kernel", n_samples=10, background=3,
                             random_state=0).fit(X, X.a)
    assert np.isfinite(np.asarray(ep.explain_local(X.iloc[:2]).local_importance_values)).all()
