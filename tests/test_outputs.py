"""The explained output: stored on every explanation, named in one vocabulary, available at fit.

* ``check_additivity()`` with no argument (as the README shows it) works for every explainer
  and output, against the model's *own* output in the named unit (computed here
  independently, not from the attributions);
* ``explanation.output``, ``/metadata`` and ``/score`` use one vocabulary
  (``_outputs.OUTPUTS``);
* ``explainer="auto"`` on a classifier without ``predict_proba`` (a plain ``SVC()``) explains
  its margin and says so; impossible requests fail at ``fit``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._explanation import AdditivityWarning
from explainable_pipeline._outputs import OUTPUTS, explained_output


def _data(task: str, n: int = 160):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.uniform(-2, 2, n),
        "colour": rng.choice(["red", "green", "blue"], n),
    })  # fmt: skip
    score = X["a"] - 0.5 * X["b"] + (X["colour"] == "red") + 0.3 * X["c"] ** 2
    if task == "regression":
        return X, score + rng.normal(0, 0.1, n)
    if task == "binary":
        return X, (score + rng.normal(0, 0.5, n) > 0.5).astype(int)
    return X, np.digitize(score, [0.0, 1.0])  # three classes


def _pre():
    return ColumnTransformer([("num", StandardScaler(), ["a", "b", "c"]),
                              ("cat", OneHotEncoder(), ["colour"])])  # fmt: skip


def _model_output(ep, X, unit: str) -> np.ndarray:
    """The model's own output in ``unit``, laid out like ``LocalExplanation.predictions``."""
    est, Xt = ep.estimator_, ep._transform(X)
    if unit == "probability":
        return ep.predict_proba(X).T
    if unit == "prediction":
        return ep.predict(X)[None] if isinstance(est, LGBMClassifier) else ep.predict(X)
    if isinstance(est, LGBMClassifier):
        out = est.predict(Xt, raw_score=True)
    else:
        out = ep.decision_function(X)
    out = np.asarray(out, dtype=float)
    return np.stack([-out, out]) if out.ndim == 1 else out.T  # binary margins: both classes


CASES = {
    "linear-logistic-binary": ("binary", LogisticRegression(), {}, "log_odds"),
    "linear-svc-binary": ("binary", LinearSVC(), {}, "margin"),
    "linear-logistic-multiclass": ("multiclass", LogisticRegression(max_iter=500), {}, "log_odds"),
    "linear-ridge-regression": ("regression", Ridge(), {}, "prediction"),
    "tree-gbm-binary-log-odds": ("binary", GradientBoostingClassifier(n_estimators=10), {},
                                 "log_odds"),
    "tree-gbm-multiclass": ("multiclass", GradientBoostingClassifier(n_estimators=5), {},
                            "log_odds"),
    "tree-lgbm-binary-log-odds": ("binary", LGBMClassifier(n_estimators=10, verbose=-1), {},
                                  "log_odds"),
    "tree-lgbm-probability": ("binary", LGBMClassifier(n_estimators=10, verbose=-1),
                              {"model_output": "probability"}, "probability"),
    "tree-forest-multiclass": ("multiclass", RandomForestClassifier(n_estimators=5), {},
                               "probability"),
    "tree-hgb-regression": ("regression", HistGradientBoostingRegressor(max_iter=10), {},
                            "prediction"),
    "exact-svc-probability": ("binary", SVC(probability=True, random_state=0),
                              {"explainer": "exact"}, "probability"),
    "kernel-svc-margin-auto": ("binary", SVC(), {"explainer": "kernel"}, "margin"),
    # the model's output on the rows comes from the same model call as the probes that check
    # the evaluation path (neighbors; gradient-boosting; separable: naive Bayes on engineered
    # hybrid rows)
    "kernel-knn-probability": ("multiclass", KNeighborsClassifier(), {"explainer": "kernel"},
                               "probability"),
    "kernel-gbm-probability": ("binary", GradientBoostingClassifier(n_estimators=5),
                               {"explainer": "kernel"}, "probability"),
    "kernel-nb-separable-probability": ("binary", GaussianNB(), {"explainer": "kernel"},
                                        "probability"),
    "permutation-sgd-log-odds": ("binary", SGDClassifier(loss="log_loss", random_state=0),
                                 {"explainer": "permutation", "model_output": "margin"},
                                 "log_odds"),
    "mimic-logistic": ("multiclass", LogisticRegression(max_iter=500), {"explainer": "mimic"},
                       "probability"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_check_additivity_needs_no_argument_for_any_explainer_or_output(name):
    task, est, params, unit = CASES[name]
    X, y = _data(task)
    params = {"background": 10, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # SVC(probability=True) on sklearn 1.9
        ep = ExplainablePipeline(_pre(), est, **params).fit(X, y)
    rows = X.iloc[:12]
    local = ep.explain_local(rows)
    assert local.output == unit and unit in OUTPUTS
    assert explained_output(ep) == unit  # what /metadata says before anything is explained
    assert local.predictions is not None
    if ep.explainer_ == "mimic":  # a surrogate is explained: its output, not the model's
        surrogate = ep.surrogate_.predict(ep._transform(rows))
        np.testing.assert_allclose(local.predictions, surrogate, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(local.predictions, _model_output(ep, rows, unit), rtol=1e-7,
                                   atol=1e-7)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", AdditivityWarning)
        assert local.check_additivity(rtol=1e-6, atol=1e-6) < 1e-6
        # the README's call on a global explanation goes to its local part
        assert ep.explain_global(rows).check_additivity(rtol=1e-6, atol=1e-6) < 1e-6
    # and it can fail: a shifted expected value is caught
    shifted = type(local).from_dict({**local.to_dict(),
                                     "expected_values": np.asarray(local.expected_values) + 1.0})  # fmt: skip
    with pytest.warns(AdditivityWarning):
        assert shifted.check_additivity() == pytest.approx(1.0)


def test_plain_svc_with_auto_explains_its_margin_and_says_so():
    X, y = _data("binary")
    ep = ExplainablePipeline(_pre(), SVC(), background=10).fit(X, y)  # no predict_proba
    assert ep.explainer_ == "exact"
    local = ep.explain_local(X.iloc[:5])
    assert local.output == "margin"
    assert "no predict_proba" in local.meta["model_output"]
    assert "decision_function" in local.meta["model_output"]
    np.testing.assert_allclose(local.values[1].sum(-1) + local.expected_values[1],
                               ep.decision_function(X.iloc[:5]), atol=1e-9)  # fmt: skip
    # a model with predict_proba keeps probabilities and no note
    ep = ExplainablePipeline(_pre(), LogisticRegression(), explainer="exact", background=10)
    local = ep.fit(X, y).explain_local(X.iloc[:3])
    assert local.output == "probability" and "model_output" not in local.meta


def test_impossible_outputs_fail_at_fit_not_at_explain_time():
    X, y = _data("binary")
    with pytest.raises(ValueError, match=r"model_output='probability' needs predict_proba.*SVC"):
        ExplainablePipeline(_pre(), SVC(), model_output="probability").fit(X, y)

    class LabelsOnly(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return np.full(X.shape[0], self.classes_[0])

    with pytest.raises(ValueError, match="LabelsOnly has neither predict_proba nor decision"):
        ExplainablePipeline(_pre(), LabelsOnly()).fit(X, y)
    # permutation importance needs only predictions
    ExplainablePipeline(_pre(), LabelsOnly(), explainer="pfi").fit(X, y)


def test_metadata_and_score_name_the_same_unit():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from explainable_pipeline.serving import create_app

    X, y = _data("binary")
    for est in (LogisticRegression(), LinearSVC(), LGBMClassifier(n_estimators=5, verbose=-1)):
        ep = ExplainablePipeline(_pre(), est).fit(X, y)
        client = TestClient(create_app(ep))
        meta = client.get("/metadata").json()
        rows = X.iloc[:2].to_dict(orient="records")
        score = client.post("/score", json=rows).json()
        assert meta["output"] == score["output"] == ep.explain_local(X.iloc[:2]).output
        assert meta["output"] in ("log_odds", "margin")


def test_iris_multiclass_tree_and_linear_units():
    X, y = load_iris(return_X_y=True, as_frame=True)
    for est, unit in ((GradientBoostingClassifier(n_estimators=5), "log_odds"),
                      (RandomForestClassifier(n_estimators=5), "probability"),
                      (LinearSVC(), "margin")):  # fmt: skip
        ep = ExplainablePipeline(StandardScaler(), est).fit(X, y)
        local = ep.explain_local(X.iloc[::30])
        assert local.output == unit == explained_output(ep)
        assert local.check_additivity() < 1e-6
