"""ExplainablePipeline as a scikit-learn estimator: checks, cloning, search, nesting, pickling."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
import sklearn
from conftest import mixed_preprocessor
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from explainable_pipeline import ExplainablePipeline

lightgbm = pytest.importorskip("lightgbm")

# Checks we expect to fail, with the reason. Empty means every check passes on
# scikit-learn the version installed here.
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [
        ExplainablePipeline(estimator=LogisticRegression()),
        ExplainablePipeline(StandardScaler(), Ridge()),
        ExplainablePipeline(estimator=DecisionTreeClassifier(random_state=0)),
        ExplainablePipeline("passthrough", LinearSVR(random_state=0)),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_tags_follow_the_estimator():
    assert is_classifier(ExplainablePipeline(estimator=LogisticRegression()))
    assert is_regressor(ExplainablePipeline(estimator=Ridge()))


def test_delegated_methods_exist_only_where_the_estimator_has_them(mixed_data):
    X, y, yr = mixed_data
    reg = ExplainablePipeline(mixed_preprocessor(), Ridge())
    assert not hasattr(reg, "predict_proba") and not hasattr(reg, "decision_function")
    clf = ExplainablePipeline(mixed_preprocessor(), LogisticRegression())
    assert hasattr(clf, "predict_proba") and hasattr(clf, "decision_function")
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == 5
    assert list(clf.feature_names_in_) == list(X.columns)
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.estimator_.predict_proba(clf.preprocessor_.transform(X))
    )
    assert 0.5 < clf.score(X, y) <= 1.0


def test_get_params_nested_and_set_params():
    ep = ExplainablePipeline(mixed_preprocessor(), LogisticRegression(C=2.0), n_samples=64)
    params = ep.get_params(deep=True)
    assert params["estimator__C"] == 2.0
    assert params["preprocessor__num__standardscaler__with_mean"] is True
    assert params["n_samples"] == 64
    ep.set_params(estimator__C=0.5, preprocessor__num__standardscaler__with_mean=False)
    assert ep.estimator.C == 0.5
    cloned = clone(ep)
    assert cloned.get_params()["estimator__C"] == 0.5
    assert cloned.estimator is not ep.estimator


def test_grid_search_over_estimator_and_explainer_params(mixed_data):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(mixed_preprocessor(), LogisticRegression(max_iter=200))
    search = GridSearchCV(
        ep,
        {
            "estimator__C": [0.1, 1.0],
            "model_output": ["margin", "auto"],
            "background": [20, 50],
        },
        cv=3,
    ).fit(X, y)
    best = search.best_estimator_
    assert best.background == search.best_params_["background"]
    assert len(best.background_) == search.best_params_["background"]
    assert best.explain_global(X.iloc[:50]).get_ranked_global_names()[0] in {"age", "city"}


def test_nested_in_an_outer_pipeline(mixed_data):
    X, y, _ = mixed_data
    outer = Pipeline(
        [
            ("model", ExplainablePipeline(mixed_preprocessor(), LogisticRegression())),
        ]
    ).fit(X, y)
    np.testing.assert_array_equal(outer.predict(X), outer[-1].predict(X))
    local = outer[-1].explain_local(X.iloc[:3])
    assert local.local_importance_values.shape == (2, 3, 5)
    assert outer.get_params()["model__estimator__C"] == 1.0


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_round_trip_explains_identically_without_training_data(dump, mixed_data, tmp_path):
    X, y, _ = mixed_data
    ep = ExplainablePipeline(
        mixed_preprocessor(), lightgbm.LGBMClassifier(n_estimators=30, verbose=-1)
    ).fit(X, y)
    before = ep.explain_local(X.iloc[:20])
    path = tmp_path / "model.bin"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(ep))
        del ep
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(ep, path)
        del ep
        loaded = joblib.load(path)
    after = loaded.explain_local(X.iloc[:20])
    np.testing.assert_array_equal(before.local_importance_values, after.local_importance_values)
    np.testing.assert_array_equal(before.expected_values, after.expected_values)
    # the explainer state is a summary, never the training set
    assert len(loaded.background_) <= 100 < len(X)


def test_cached_shap_explainer_is_not_pickled(mixed_data):
    X, y, _ = mixed_data
    from sklearn.ensemble import RandomForestClassifier

    ep = ExplainablePipeline(
        mixed_preprocessor(), RandomForestClassifier(n_estimators=10, random_state=0)
    ).fit(X, y)
    ep.explain_local(X.iloc[:2])
    assert "_cache" in ep.__dict__
    assert "_cache" not in pickle.loads(pickle.dumps(ep)).__dict__


def test_how_to_svc_data_linear_pipeline():
    """The how-to's breast-cancer data, with a linear model, in a plain numpy pipeline."""
    data = load_breast_cancer()
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        data.data, data.target
    )
    local = ep.explain_local(data.data[:5])
    assert local.features == [f"x{i}" for i in range(30)]
    np.testing.assert_allclose(
        local.local_importance_values[1].sum(1) + local.expected_values[1],
        ep.decision_function(data.data[:5]),
        atol=1e-9,
    )


def test_metadata_routing_sample_weight(mixed_data):
    X, y, _ = mixed_data
    w = np.where(y == 1, 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = LogisticRegression().set_fit_request(sample_weight=True).set_score_request(
            sample_weight=True
        )
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        pre = ColumnTransformer(
            [
                ("num", StandardScaler().set_fit_request(sample_weight=False), ["income", "noise"]),
                ("cat", OneHotEncoder(), ["city", "plan"]),
            ]
        )
        ep = ExplainablePipeline(pre, est).fit(X, y, sample_weight=w)
        ref = LogisticRegression().fit(
            ep.preprocessor_.transform(X), y, sample_weight=w
        )
        np.testing.assert_allclose(ep.estimator_.coef_, ref.coef_)
        assert ep.score(X, y, sample_weight=w) == pytest.approx(
            ref.score(ep.preprocessor_.transform(X), y, sample_weight=w)
        )
    # without routing, fit params go to the estimator (as TransformedTargetRegressor does)
    ep2 = ExplainablePipeline(clone(pre), LogisticRegression()).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ep2.estimator_.coef_, ref.coef_)
