"""Prefit preprocessing and models that scikit-learn's fitted checks refuse (issue 13, core bug 1).

scikit-learn 1.9's ``Pipeline.transform`` / ``predict`` first check the pipeline's last
step: a stateless step without fitted attributes raises ``NotFittedError`` and a step
without ``BaseEstimator`` raises ``AttributeError`` (no tags), although every step's own
method works. interpret-community applies such steps one by one; ExplainablePipeline with
frozen (prefit) parts must accept them too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._prefit import PrefitStep, prefit_view


class FrameOnly(TransformerMixin):  # no BaseEstimator: no tags, as in user code
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if not isinstance(X, pd.DataFrame):
            raise TypeError("DataFrame rows only")
        return X


class Identity(BaseEstimator):  # stateless: no fitted attribute at all
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


class FrameModel:  # a duck-typed model, no BaseEstimator
    def __init__(self, model):
        self.model = model

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        assert isinstance(X, pd.DataFrame)
        return self.model.predict(X.to_numpy())

    def predict_proba(self, X):
        assert isinstance(X, pd.DataFrame)
        return self.model.predict_proba(X.to_numpy())


@pytest.fixture(scope="module")
def iris_frame():
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sl", "sw", "pl", "pw"]
    return X, y.to_numpy()


def test_frame_only_step_in_a_prefit_preprocessor(iris_frame):
    X, y = iris_frame
    model = Pipeline([("frame", FrameOnly()), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)
    with pytest.raises(AttributeError):  # scikit-learn itself refuses to transform
        model[:-1].transform(X)
    ep = ExplainablePipeline(FrozenEstimator(model[:-1]), FrozenEstimator(model[-1]),
                             explainer="exact").fit(X, y)  # fmt: skip
    local = ep.explain_local(X.iloc[:6])
    total = local.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(total, model.predict_proba(X.iloc[:6]).T, atol=1e-10)
    assert model.steps[-1][1] is ep.estimator_  # nothing copied or refitted
    assert type(model[0]) is FrameOnly  # the user's pipeline is not modified


def test_stateless_step_inside_a_column_transformer(iris_frame):
    X, y = iris_frame
    ct = ColumnTransformer([
        ("scaled", Pipeline([("scale", StandardScaler()), ("identity", Identity())]), ["sl"]),
        ("rest", StandardScaler(), ["sw", "pl", "pw"]),
    ]).fit(X)  # fmt: skip
    with pytest.raises(NotFittedError):  # scikit-learn: the pipeline's last step "unfitted"
        ct.transform(X)
    clf = LogisticRegression(max_iter=500).fit(prefit_view(ct).transform(X), y)
    ep = ExplainablePipeline(FrozenEstimator(ct), FrozenEstimator(clf),
                             explainer="linear", model_output="margin").fit(X, y)  # fmt: skip
    assert ep.feature_map_.is_exact  # the identity over one column stays one-to-one
    local = ep.explain_local(X.iloc[:5])
    total = local.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    Xt = prefit_view(ct).transform(X.iloc[:5])
    np.testing.assert_allclose(total, clf.decision_function(Xt).T, atol=1e-10)


def test_prefit_view_changes_only_what_scikit_learn_refuses(iris_frame):
    X, y = iris_frame
    fine = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    assert prefit_view(fine) is fine
    ct = ColumnTransformer([("s", StandardScaler(), ["sl"])]).fit(X)
    assert prefit_view(ct) is ct
    refused = Pipeline([("scale", StandardScaler()), ("id", Identity())]).fit(X)
    view = prefit_view(refused)
    assert view is not refused and isinstance(view.steps[-1][1], PrefitStep)
    assert view.steps[0][1] is refused.steps[0][1]  # the same fitted objects
    np.testing.assert_allclose(view.transform(X), refused[0].transform(X))
    # a step that checks its own state still says it was never fitted
    unfitted = Pipeline([("scale", StandardScaler()), ("id", Identity())])
    with pytest.raises(NotFittedError):
        prefit_view(unfitted).transform(X)


def test_duck_model_as_the_only_step_of_a_pipeline(iris_frame):
    X, y = iris_frame
    inner = LogisticRegression(max_iter=500).fit(X.to_numpy(), y)
    model = Pipeline([("model", FrameModel(inner))])
    with pytest.raises(AttributeError):  # scikit-learn's Pipeline.predict refuses it
        model.predict(X)
    ep = ExplainablePipeline(None, FrozenEstimator(model), explainer="exact").fit(X, y)
    np.testing.assert_array_equal(ep.predict(X), inner.predict(X.to_numpy()))
    local = ep.explain_local(X.iloc[:4])
    total = local.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(total, inner.predict_proba(X.to_numpy()[:4]).T, atol=1e-10)


def test_prefit_classifier_accepts_rows_of_one_class(iris_frame):
    """Nothing is trained on y with a frozen model: one row (one class) is fine, as for PFI."""
    X, y = iris_frame
    clf = LogisticRegression(max_iter=500).fit(X, y)
    ep = ExplainablePipeline(None, FrozenEstimator(clf), explainer="pfi").fit(X.iloc[:1], y[:1])
    assert ep.estimator_ is clf
    with pytest.raises(ValueError, match="one class"):  # a model trained here still needs two
        ExplainablePipeline(None, LogisticRegression()).fit(X.iloc[:5], y[:5])
