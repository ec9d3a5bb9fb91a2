"""explainer="mimic" (global surrogates) and explainer="pfi" (permutation importance)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.explainers._mimic import augment_rows

#: Fidelity floors on a smooth model (held-out R^2 of the surrogate against the model).
R2_FLOOR = {"lightgbm": 0.9, "decision_tree": 0.8, "linear": 0.5, "sgd": 0.5}


def _smooth_regression(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": rng.uniform(-2, 2, n),
        "b": rng.uniform(-2, 2, n),
        "c": rng.uniform(-2, 2, n),
        "city": rng.choice(["oslo", "rome", "lima"], n),
    })  # fmt: skip
    y = np.sin(X["a"]) + 0.5 * X["b"] ** 2 + X["c"] + (X["city"] == "rome") + rng.normal(0, 0.1, n)
    return X, y.to_numpy()


def _preprocessor():
    return ColumnTransformer(
        [("num", StandardScaler(), ["a", "b", "c"]), ("cat", OneHotEncoder(), ["city"])]
    )


@pytest.fixture(scope="module")
def smooth():
    X, y = _smooth_regression()
    return X.iloc[:400], y[:400], X.iloc[400:], y[400:]


# --------------------------------------------------------------------------- mimic
@pytest.mark.parametrize("surrogate", list(R2_FLOOR))
def test_surrogate_fidelity_above_floor_on_smooth_model(smooth, surrogate):
    X, y, X_test, _ = smooth
    ep = ExplainablePipeline(_preprocessor(), SVR(C=10.0), explainer="mimic",
                             surrogate=surrogate, random_state=0).fit(X, y)  # fmt: skip
    glob = ep.explain_global(X_test)
    assert glob.method == "mimic" and glob.fidelity["n_rows"] == len(X_test)
    assert glob.fidelity["r2"] >= R2_FLOOR[surrogate]
    assert "agreement" not in glob.fidelity  # regression
    # local accuracy holds exactly for the surrogate, in raw columns
    local = ep.explain_local(X_test.iloc[:20])
    assert local.features == ["a", "b", "c", "city"]
    surrogate_out = ep.surrogate_.predict(ep.preprocessor_.transform(X_test.iloc[:20]))[0]
    assert local.check_additivity(surrogate_out) < 1e-6
    # raw = sum of the engineered children (the one-hot columns of "city")
    eng = ep.explain_local(X_test.iloc[:20], space="engineered")
    np.testing.assert_allclose(eng.values[:, 3:].sum(1), local.values[:, 3], atol=1e-10)


def test_mimic_ranks_like_the_model(smooth):
    """c (linear, mean |effect| 1) drives the model most; a, b, city about 0.4-0.6 each."""
    X, y, X_test, _ = smooth
    ep = ExplainablePipeline(_preprocessor(), SVR(C=10.0), explainer="mimic", random_state=0)
    names = ep.fit(X, y).explain_global(X_test).get_ranked_global_names()
    assert names[0] == "c"


def test_mimic_classifier_probabilities_and_agreement():
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.3))
    ep = ExplainablePipeline(None, model, explainer="mimic", random_state=0).fit(X, y)
    local = ep.explain_local(X.iloc[::10])
    assert local.values.shape == (3, 15, 4) and local.output == "probability"
    assert local.meta["fidelity"]["agreement"] >= 0.9
    assert local.meta["fidelity"]["r2"] >= 0.9
    # the surrogate's per-class probabilities add up like the model's: about one
    total = local.values.sum(-1) + local.expected_values[:, None]
    np.testing.assert_allclose(total.sum(0), 1.0, atol=0.1)


def test_mimic_binary_classifier_both_classes():
    X, y = load_iris(return_X_y=True, as_frame=True)
    y = (y == 2).astype(int)
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer="mimic",
                             surrogate="linear").fit(X, y)  # fmt: skip
    local = ep.explain_local(X.iloc[:10])
    assert local.values.shape == (2, 10, 4) and len(ep.surrogate_.estimators) == 1
    np.testing.assert_allclose(local.values[0], -local.values[1])  # P(0) = 1 - P(1)
    np.testing.assert_allclose(local.expected_values.sum(), 1.0)


def test_surrogate_estimator_instance_and_bad_surrogates(smooth):
    X, y, X_test, _ = smooth
    ep = ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic",
                             surrogate=DecisionTreeRegressor(max_depth=2)).fit(X, y)  # fmt: skip
    assert ep.surrogate_.estimators[0].get_depth() == 2
    assert ep.explain_local(X_test.iloc[:3]).values.shape == (3, 4)
    with pytest.raises(ValueError, match="must be a regressor"):
        ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic",
                            surrogate=DecisionTreeClassifier()).fit(X, y)  # fmt: skip
    with pytest.raises(ValueError, match="neither a tree model nor a linear model"):
        ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic",
                            surrogate=KNeighborsRegressor()).fit(X, y)  # fmt: skip
    with pytest.raises(ValueError, match="surrogate"):
        ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic", surrogate="forest").fit(X, y)


def test_augment_rows_samples_each_column_from_its_values():
    X, _ = _smooth_regression(n=12)
    out = augment_rows(X, max_num_of_augmentations=3, random_state=0)
    assert len(out) == 12 * 4  # 12 rows, 4 columns: capped by max_num_of_augmentations
    pd.testing.assert_frame_equal(out.iloc[:12], X.reset_index(drop=True))
    assert (out.dtypes == X.dtypes).all()
    for col in X.columns:
        assert set(out[col]) <= set(X[col])
    # blocks are added until there are 100 rows per column: 12 * 9 = 108 >= 100
    assert augment_rows(X[["a"]].to_numpy(), 10).shape == (108, 1)
    # enough rows per column already: nothing added
    big = np.zeros((500, 2))
    assert augment_rows(big, 10) is big


def test_augment_data_trains_on_more_rows(smooth):
    X, y, _, _ = smooth
    small = X.iloc[:15]
    ep = ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic", surrogate="decision_tree",
                             augment_data=True, max_num_of_augmentations=5,
                             random_state=0).fit(small, y[:15])  # fmt: skip
    assert ep.surrogate_.estimators[0].tree_.n_node_samples[0] == 15 * 6


def test_mimic_pickles_and_explains_after_loading(smooth):
    X, y, X_test, _ = smooth
    ep = ExplainablePipeline(_preprocessor(), SVR(), explainer="mimic", random_state=0).fit(X, y)
    before = ep.explain_global(X_test)
    loaded = pickle.loads(pickle.dumps(ep))
    after = loaded.explain_global(X_test)
    np.testing.assert_array_equal(before.local.values, after.local.values)
    assert before.fidelity == after.fidelity
    np.testing.assert_array_equal(ep.predict(X_test), loaded.predict(X_test))


def test_grid_search_over_surrogate_and_n_repeats(smooth):
    X, y, X_test, _ = smooth
    ep = ExplainablePipeline(_preprocessor(), Ridge(), explainer="mimic", random_state=0)
    grid = GridSearchCV(ep, {"surrogate": ["linear", "decision_tree"], "n_repeats": [2, 3]}, cv=2)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    best = grid.best_estimator_
    assert best.surrogate in ("linear", "decision_tree") and best.n_repeats in (2, 3)
    assert best.explain_global(X_test).fidelity["r2"] > 0.5
    # the same parameters drive PFI
    pfi = GridSearchCV(ExplainablePipeline(_preprocessor(), Ridge(), explainer="pfi"),
                       {"n_repeats": [1, 2]}, cv=2).fit(X, y)  # fmt: skip
    exp = pfi.best_estimator_.explain_global(X_test, pfi.predict(X_test))
    assert exp.meta["n_repeats"] == pfi.best_estimator_.n_repeats


# --------------------------------------------------------------------------- pfi
def _planted(n=500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "noise": rng.normal(size=n),
        "strong": rng.normal(size=n),
        "weak": rng.normal(size=n),
        "color": rng.choice(["red", "blue"], n),
    })  # fmt: skip
    y = 3 * X["strong"] + 0.5 * X["weak"] + 0.5 * (X["color"] == "red") + rng.normal(0, 0.1, n)
    pre = ColumnTransformer([("num", StandardScaler(), ["noise", "strong", "weak"]),
                             ("cat", OneHotEncoder(), ["color"])])  # fmt: skip
    return X, y.to_numpy(), pre


def test_pfi_ranks_planted_feature_first_and_noise_near_zero():
    X, y, pre = _planted()
    ep = ExplainablePipeline(pre, Ridge(), explainer="pfi", n_repeats=5, random_state=0).fit(X, y)
    exp = ep.explain_global(X, y)
    assert exp.method == "pfi" and exp.space == "raw" and exp.output == "decrease in score"
    assert exp.features == ["noise", "strong", "weak", "color"]  # raw columns, color as one
    assert exp.get_ranked_global_names()[0] == "strong"
    imp = exp.get_feature_importance_dict()
    assert abs(imp["noise"]) < 0.01 < imp["weak"] < imp["strong"]
    assert exp.std.shape == (4,) and (exp.std >= 0).all()
    assert exp.n_rows == len(X)


def test_pfi_is_sklearn_permutation_importance_over_the_whole_pipeline():
    X, y, pre = _planted(n=200)
    ep = ExplainablePipeline(pre, Ridge(), explainer="pfi", scoring="neg_mean_absolute_error",
                             n_repeats=3, random_state=7).fit(X, y)  # fmt: skip
    exp = ep.explain_global(X, y)
    ref = permutation_importance(make_pipeline(pre, Ridge()).fit(X, y), X, y,
                                 scoring="neg_mean_absolute_error", n_repeats=3, random_state=7)  # fmt: skip
    np.testing.assert_allclose(exp.values, ref.importances_mean, atol=1e-12)
    np.testing.assert_allclose(exp.std, ref.importances_std, atol=1e-12)
    assert exp.output == "decrease in neg_mean_absolute_error"


def test_pfi_errors():
    X, y, pre = _planted(n=100)
    ep = ExplainablePipeline(pre, Ridge(), explainer="pfi").fit(X, y)
    with pytest.raises(ValueError, match="needs the true targets: call explain_global"):
        ep.explain_global(X)
    with pytest.raises(ValueError, match="global only"):
        ep.explain_local(X)
    with pytest.raises(ValueError, match="space='raw'"):
        ep.explain_global(X, y, space="engineered")
    multi = ExplainablePipeline(pre, Ridge(), explainer="pfi", scoring=["r2"])
    with pytest.raises(ValueError, match="scoring"):  # rejected by the parameter constraints
        multi.fit(X, y)


def test_frozen_estimators_are_not_refitted():
    X, y, pre = _planted(n=100)
    pre.fit(X)
    model = Ridge().fit(pre.transform(X), y)
    coef = model.coef_.copy()
    ep = ExplainablePipeline(
        FrozenEstimator(pre), FrozenEstimator(model), explainer="mimic", surrogate="linear"
    ).fit(X, 0 * y)  # fmt: skip  (y ignored)
    assert ep.estimator_ is model and ep.preprocessor_ is pre
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_allclose(ep.predict(X), model.predict(pre.transform(X)))
    assert ep.explain_global(X).fidelity["r2"] > 0.99  # linear surrogate of a linear model
