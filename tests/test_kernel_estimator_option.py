"""``ExplainablePipeline(kernel_estimator=...)``: the user-facing choice of the kernel estimator.

The parameter follows scikit-learn's conventions (stored untouched, validated at fit, cloned,
grid-searchable), reaches the engine (``meta["estimator"]`` names what ran, values differ by
estimator), keeps additivity, agrees with exact enumeration, and is ignored by the other
explainers.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import ParameterGrid
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from explainable_pipeline import ExplainablePipeline

CHOICES = ["stratified", "kernelshap", "leverage", "regression-msr"]
DESIGN = {"stratified": "neyman", "kernelshap": "shared", "leverage": "shared",
          "regression-msr": "shared"}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, random_state=0)
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(8)]), y


@pytest.fixture(scope="module")
def models(data):
    X, y = data
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=400, random_state=0)
    hgb = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    return {"mlp": mlp.fit(StandardScaler().fit_transform(X), y), "hgb": hgb.fit(X, y)}


def _pipeline(models, name, **params):
    from sklearn.frozen import FrozenEstimator

    pre = StandardScaler() if name == "mlp" else None
    return ExplainablePipeline(pre, FrozenEstimator(models[name]), background=6,
                               random_state=0, **params)


@pytest.fixture(scope="module")
def exact(data, models):
    X, y = data
    return {name: _pipeline(models, name, explainer="exact").fit(X, y).explain_local(X.iloc[:6])
            for name in models}


@pytest.mark.parametrize("name", ["mlp", "hgb"])  # a fast path and the black box
@pytest.mark.parametrize("choice", CHOICES)
def test_each_estimator_runs_adds_up_and_agrees_with_exact(data, models, exact, name, choice):
    X, y = data
    ep = _pipeline(models, name, explainer="kernel", kernel_estimator=choice, n_samples=120)
    local = ep.fit(X, y).explain_local(X.iloc[:6])
    # the neural-network path's "auto" design is shared (its coalitions are cheaper than
    # per-game regressions); the black box's is the estimator's own
    design = "shared" if name == "mlp" else DESIGN[choice]
    assert local.meta["estimator"] == f"{choice} ({design})"
    values = np.asarray(local.local_importance_values)
    total = values.sum(axis=-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(total, ep.predict_proba(X.iloc[:6]).T, atol=1e-9)  # additivity
    ref = np.asarray(exact[name].local_importance_values)
    err = np.abs(values - ref).sum() / np.abs(ref).sum()
    assert err < 0.2, err  # 120 of 254 coalitions per row: near exact (2% to 13% measured)
    se = np.asarray(local.meta["standard_errors"])
    assert np.mean(np.abs(values - ref) <= 1.96 * se + 1e-12) >= 0.7  # bands about honest


def test_the_estimators_differ_and_auto_is_stratified(data, models):
    X, y = data
    runs = {c: _pipeline(models, "hgb", explainer="kernel", kernel_estimator=c, n_samples=60)
            .fit(X, y).explain_local(X.iloc[:4]).local_importance_values
            for c in ["auto", *CHOICES]}
    np.testing.assert_array_equal(runs["auto"], runs["stratified"])
    for a, b in [("stratified", "kernelshap"), ("stratified", "regression-msr"),
                 ("kernelshap", "regression-msr")]:  # the parameter reaches the engine
        assert not np.allclose(runs[a], runs[b]), (a, b)


def test_full_budget_is_exact_for_every_estimator(data, models, exact):
    X, y = data
    for choice in CHOICES:
        ep = _pipeline(models, "mlp", explainer="kernel", kernel_estimator=choice,
                       n_samples=254)  # 2**8 - 2: every coalition
        values = ep.fit(X, y).explain_local(X.iloc[:6]).local_importance_values
        np.testing.assert_allclose(values, exact["mlp"].local_importance_values, atol=1e-8,
                                   err_msg=choice)


def test_validated_at_fit_not_in_init(data, models):
    X, y = data
    ep = _pipeline(models, "hgb", explainer="kernel", kernel_estimator="shap")
    assert ep.kernel_estimator == "shap"  # stored untouched
    with pytest.raises(InvalidParameterError, match="kernel_estimator"):
        ep.fit(X, y)
    with pytest.raises(InvalidParameterError, match="kernel_estimator"):
        _pipeline(models, "hgb", kernel_estimator=None).fit(X, y)


def test_ignored_by_the_other_explainers(data, models, exact):
    X, y = data
    ep = _pipeline(models, "mlp", explainer="exact", kernel_estimator="leverage").fit(X, y)
    local = ep.explain_local(X.iloc[:6])
    np.testing.assert_array_equal(local.local_importance_values,
                                  exact["mlp"].local_importance_values)
    assert local.meta["estimator"] == "exact"


def test_clone_grid_and_pickle(data, models):
    X, y = data
    ep = _pipeline(models, "hgb", explainer="kernel", kernel_estimator="leverage", n_samples=40)
    assert clone(ep).get_params()["kernel_estimator"] == "leverage"
    grid = list(ParameterGrid({"kernel_estimator": CHOICES}))
    assert [clone(ep).set_params(**g).kernel_estimator for g in grid] == CHOICES
    ep.fit(X, y)
    again = pickle.loads(pickle.dumps(ep))
    np.testing.assert_array_equal(again.explain_local(X.iloc[:3]).local_importance_values,
                                  ep.explain_local(X.iloc[:3]).local_importance_values)


def test_a_pipeline_pickled_before_the_parameter_uses_the_default(data, models):
    X, y = data
    ep = _pipeline(models, "hgb", explainer="kernel", n_samples=40).fit(X, y)
    want = ep.explain_local(X.iloc[:3]).local_importance_values
    state = ep.__getstate__()
    state.pop("kernel_estimator")  # as an older version wrote it
    old = ExplainablePipeline.__new__(ExplainablePipeline)
    old.__setstate__(state)
    local = old.explain_local(X.iloc[:3])
    assert local.meta["estimator"] == "stratified (neyman)"
    np.testing.assert_array_equal(local.local_importance_values, want)
    assert old.get_params()["kernel_estimator"] == "auto"  # repr, clone, grid search work
    assert "ExplainablePipeline(" in repr(old) and clone(old).kernel_estimator == "auto"
    state = ep.__getstate__()
    state.update(kernel_estimator="leverage", tree_players="sum")
    old.__setstate__(state)  # the parameters a file has are kept
    assert old.kernel_estimator == "leverage" and old.tree_players == "sum"
