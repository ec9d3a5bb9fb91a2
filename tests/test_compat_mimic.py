"""MimicExplainer with interpret-community's surrogate rules (``compat/_distill.py``).

Code written for interpret-community relies on what its surrogate learns: log-odds for a
binary model (``expit(expected + sum)`` is a probability), a classifier's margins per class
for a multiclass model, the prediction for a regressor; ``shap_values_output`` rescales to
probabilities. Each test checks one of these properties, exactly where it is exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from lightgbm import LGBMClassifier, LGBMRegressor
from scipy.special import expit, logit
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from explainable_pipeline.compat import (
    DecisionTreeExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    MimicExplainer,
    ModelTask,
    ScenarioNotSupportedException,
    SGDExplainableModel,
    ShapValuesOutput,
)
from explainable_pipeline.compat._distill import (
    augment_like_interpret_community,
    rescale_to_total,
)


def _totals(exp):
    values = np.asarray(exp.local_importance_values)
    expected = np.asarray(exp.expected_values)
    return values.sum(-1) + (expected[:, None] if values.ndim == 3 else expected[0])


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    Xs = StandardScaler().fit_transform(X)
    model = LogisticRegression(max_iter=2000).fit(Xs, y)
    return Xs, y, model


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)


# --------------------------------------------------------------------------- binary
@pytest.mark.parametrize("surrogate", [LGBMExplainableModel, LinearExplainableModel,
                                       DecisionTreeExplainableModel])  # fmt: skip
def test_binary_surrogate_learns_log_odds(cancer, surrogate):
    X, _, model = cancer
    exp = MimicExplainer(model, X, surrogate, augment_data=False)
    local = exp.explain_local(X[:25])
    log_odds = exp.surrogate_model.predict(X[:25])
    totals = _totals(local)
    np.testing.assert_allclose(totals[1], log_odds, atol=1e-8)  # additive in log-odds
    np.testing.assert_allclose(totals[0], -log_odds, atol=1e-8)  # the negative class
    np.testing.assert_allclose(local.expected_values[0], -local.expected_values[1])
    # the surrogate was fitted on the model's log-odds clipped to [-5, 5]
    target = np.clip(logit(model.predict_proba(X[:25])[:, 1]), -5, 5)
    assert np.corrcoef(log_odds, target)[0, 1] > 0.85
    if surrogate is DecisionTreeExplainableModel:  # leaf means of the targets: the bound
        np.testing.assert_allclose(log_odds, target, atol=1e-9)
        assert np.abs(log_odds).max() == pytest.approx(5.0)
    assert local.explanation.output == "log_odds"


def test_binary_linear_surrogate_closed_form(cancer):
    """LinearRegression on the log-odds: coef * (x - training mean), exactly."""
    X, _, model = cancer
    exp = MimicExplainer(model, X, LinearExplainableModel, augment_data=False)
    lin = exp.surrogate_model.model
    target = np.clip(logit(model.predict_proba(X)[:, 1]), -5, 5)
    refit = LinearRegression().fit(X, target)
    np.testing.assert_allclose(lin.coef_, refit.coef_, rtol=1e-8, atol=1e-10)
    values = np.asarray(exp.explain_local(X[:7]).local_importance_values)[1]
    np.testing.assert_allclose(values, lin.coef_ * (X[:7] - X.mean(axis=0)), atol=1e-10)


def test_binary_probability_outputs(cancer):
    X, _, model = cancer
    proba = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False,
                           shap_values_output=ShapValuesOutput.PROBABILITY)  # fmt: skip
    local = proba.explain_local(X[:30])
    surrogate_p = expit(proba.surrogate_model.predict(X[:30]))
    np.testing.assert_allclose(_totals(local), np.vstack([1 - surrogate_p, surrogate_p]),
                               atol=1e-10)  # fmt: skip
    teacher = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False,
                             shap_values_output=ShapValuesOutput.TEACHER_PROBABILITY)  # fmt: skip
    np.testing.assert_allclose(_totals(teacher.explain_local(X[:30])),
                               model.predict_proba(X[:30]).T, atol=1e-10)  # fmt: skip


def test_fidelity_is_measured_in_the_models_space(cancer):
    X, _, model = cancer
    exp = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False)
    g = exp.explain_global(X[:120])
    p_model = model.predict_proba(X[:120])[:, 1]
    p_surrogate = expit(exp.surrogate_model.predict(X[:120]))
    agree = np.mean((p_model > 0.5) == (p_surrogate > 0.5))
    assert g.fidelity["agreement"] == pytest.approx(agree)
    assert g.fidelity["r2"] > 0.8


# --------------------------------------------------------------------------- multiclass
def test_multiclass_surrogate_is_a_classifier(iris):
    X, _, model = iris
    exp = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False)
    assert isinstance(exp.surrogate_model.model, LGBMClassifier)
    local = exp.explain_local(X[::10])
    margins = exp.surrogate_model.model.predict(X[::10], raw_score=True)
    np.testing.assert_allclose(_totals(local), margins.T, atol=1e-8)
    # interpret-community's surrogate_model.predict: the surrogate's class
    np.testing.assert_array_equal(exp.surrogate_model.predict(X[::10]),
                                  model.predict(X[::10]))  # fmt: skip


def test_every_class_is_learnt_even_when_never_predicted(iris):
    X, y, _ = iris

    class NeverTwo:  # probabilities for three classes, but class 2 never wins
        classes_ = np.array([0, 1, 2])

        def predict_proba(self, X):
            p = np.full((len(X), 3), 0.1)
            p[:, 2] = np.where(X[:, 2] > 4.0, 0.45, 0.1)
            p[:, 0] = np.where(X[:, 2] > 4.0, 0.1, 0.8)
            p[:, 1] = 1.0 - p[:, 0] - p[:, 2]
            return p

        def predict(self, X):
            return self.predict_proba(X).argmax(axis=1)

    exp = MimicExplainer(NeverTwo(), X, LGBMExplainableModel, augment_data=False)
    assert list(exp.surrogate_model.model.classes_) == [0, 1, 2]
    assert np.asarray(exp.explain_local(X[:3]).local_importance_values).shape == (3, 3, 4)


def test_multiclass_probability_and_teacher_probability(iris):
    X, _, model = iris
    proba = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False,
                           shap_values_output="probability")  # fmt: skip
    np.testing.assert_allclose(_totals(proba.explain_local(X[:12])),
                               proba.surrogate_model.model.predict_proba(X[:12]).T,
                               atol=1e-10)  # fmt: skip
    teacher = MimicExplainer(model, X, LinearExplainableModel, augment_data=False,
                             shap_values_output="teacher_probability")  # fmt: skip
    np.testing.assert_allclose(_totals(teacher.explain_local(X[:12])),
                               model.predict_proba(X[:12]).T, atol=1e-10)  # fmt: skip
    with pytest.raises(ValueError, match="probabilities"):  # hinge SGD has none
        MimicExplainer(model, X, SGDExplainableModel, augment_data=False,
                       shap_values_output="probability")  # fmt: skip


def test_liblinear_linear_surrogate_is_one_vs_rest(iris):
    """interpret-community's tests pass solver='liblinear': one-vs-rest, as it always was."""
    X, _, model = iris
    exp = MimicExplainer(model, X, LinearExplainableModel, augment_data=False,
                         explainable_model_args={"solver": "liblinear"})  # fmt: skip
    ovr = exp.surrogate_model.model
    local = exp.explain_local(X[:9])
    np.testing.assert_allclose(_totals(local), ovr.decision_function(X[:9]).T, atol=1e-8)


# --------------------------------------------------------------------------- regression
def test_regression_and_teacher_output():
    X, y = load_diabetes(return_X_y=True)
    model = LGBMRegressor(n_estimators=40, verbose=-1, random_state=0).fit(X, y)
    exp = MimicExplainer(model, X, DecisionTreeExplainableModel, augment_data=False)
    local = exp.explain_local(X[:20])
    np.testing.assert_allclose(_totals(local), exp.surrogate_model.predict(X[:20]), atol=1e-8)
    teacher = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False,
                             shap_values_output="teacher_probability")  # fmt: skip
    np.testing.assert_allclose(_totals(teacher.explain_local(X[:20])), model.predict(X[:20]),
                               atol=1e-8)  # fmt: skip
    sgd = MimicExplainer(model, X, SGDExplainableModel, augment_data=False)
    assert sgd.explain_global(X).fidelity["r2"] > 0.5  # diabetes columns are pre-scaled


def test_rescale_to_total_properties():
    rng = np.random.RandomState(0)
    values = rng.randn(50, 6)
    gap = rng.randn(50) * 3
    out = rescale_to_total(values, gap)
    np.testing.assert_allclose(out.sum(axis=1), gap, atol=1e-12)
    small = np.abs(gap - values.sum(1)) <= np.abs(values).sum(1)
    # within reach, each value moves in proportion to its size (zeros stay zero)
    values[0, 2] = 0.0
    out = rescale_to_total(values, gap)
    if small[0]:
        assert out[0, 2] == 0.0
    # nothing to move: the gap is spread evenly
    np.testing.assert_allclose(rescale_to_total(np.zeros((1, 4)), [2.0]), [[0.5] * 4])


# --------------------------------------------------------------------------- augmentation
def test_augmentation_follows_interpret_community():
    narrow = np.arange(40.0).reshape(10, 4)
    assert augment_like_interpret_community(narrow, 10) is narrow  # more rows than columns
    wide = np.random.RandomState(0).rand(5, 23)
    out = augment_like_interpret_community(wide, 10)
    assert out.shape == (5 * (1 + 23 // 5 - 1), 23)
    for block in range(1, out.shape[0] // 5):  # each copy permutes the columns of the rows
        copy = out[5 * block: 5 * (block + 1)]
        np.testing.assert_allclose(np.sort(copy, axis=1), np.sort(wide, axis=1))
    assert augment_like_interpret_community(wide, 1).shape == (10, 23)
    sparse = augment_like_interpret_community(sp.csr_matrix(wide), 2)
    assert sp.issparse(sparse) and sparse.shape == (15, 23)


# --------------------------------------------------------------------------- featurisation
def _mixed_frame(n=300, seed=0):
    rng = np.random.RandomState(seed)
    df = pd.DataFrame({
        "amount": rng.gamma(2.0, 10.0, n),
        "city": rng.choice(["lyon", "oslo", "kyiv"], n),
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.randint(0, 700, n), unit="D"),
    })  # fmt: skip
    return df


class MixedModel:
    """A model served from elsewhere that reads a typed DataFrame."""

    def predict(self, X):
        assert isinstance(X, pd.DataFrame) and X["when"].dtype.kind == "M"
        bonus = X["city"].map({"lyon": 5.0, "oslo": -3.0}).fillna(0.0).to_numpy()
        return 0.2 * X["amount"].to_numpy() + bonus + 0.5 * X["when"].dt.month.to_numpy()


@pytest.mark.parametrize("surrogate", [LGBMExplainableModel, LinearExplainableModel])
def test_strings_and_datetimes_are_featurised_and_summed_back(surrogate):
    df = _mixed_frame()
    exp = MimicExplainer(MixedModel(), df, surrogate, augment_data=False,
                         categorical_features=["city"])  # fmt: skip
    local = exp.explain_local(df.iloc[:15])
    assert local.features == ["amount", "city", "when"]  # one value per raw column
    np.testing.assert_allclose(_totals(local), exp.surrogate_model.predict(df.iloc[:15]),
                               atol=1e-8)  # fmt: skip
    importance = dict(zip(local.features, exp.explain_global(df).global_importance_values))
    assert min(importance.values()) > 0  # each column, expanded or not, carries weight
    unseen = df.iloc[:2].copy()
    unseen["city"] = ["paris", np.nan]  # unseen and missing categories still explain
    assert np.isfinite(np.asarray(exp.explain_local(unseen).local_importance_values)).all()


def _indexed_frame():
    df = _mixed_frame(120).drop(columns="city")
    return df.set_index(pd.RangeIndex(1000, 1120, name="ticket"))


class IndexReader:
    def __init__(self):
        self.index_names = set()

    def predict(self, X):
        self.index_names.add(X.index.name)
        return X["amount"].to_numpy() + (X.index.to_numpy() % 7)


def test_reset_index_modes():
    df = _indexed_frame()
    for mode, seen, first in (("reset", "ticket", "ticket"), ("reset_teacher", "ticket", "amount"),
                              ("ignore", None, "amount")):  # fmt: skip
        model = IndexReader()
        exp = MimicExplainer(model, df, LGBMExplainableModel, reset_index=mode,
                             augment_data=False)  # fmt: skip
        local = exp.explain_local(df.iloc[:5])
        assert model.index_names == {seen}, mode  # what the model was given
        assert local.features[0] == first, mode  # what the surrogate learns from


# --------------------------------------------------------------------------- models
def test_whole_pipeline_is_the_teacher():
    """As in interpret-community, a Pipeline model is not split: the surrogate learns raw rows."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    model.fit(X, y)
    exp = MimicExplainer(model, X, LGBMExplainableModel, augment_data=False)
    assert exp.pipeline_.preprocessor_ is None and exp.pipeline_.estimator_ is model
    assert exp.explain_global(X).fidelity["agreement"] > 0.9


def test_replication_measure(iris, cancer):
    X, _, model = iris
    exp = MimicExplainer(model, X, LGBMExplainableModel, classes=["s", "v", "g"],
                         augment_data=False)  # fmt: skip
    teacher = exp._get_teacher_model_predictions(X)
    surrogate = exp._get_surrogate_model_predictions(X)  # in the model's labels
    assert set(surrogate) <= {0, 1, 2}
    expected = np.mean(teacher == surrogate.astype(int))
    assert exp.get_surrogate_model_replication_measure(X) == pytest.approx(expected)
    assert expected > 0.9
    Xc, _, binary = cancer
    b = MimicExplainer(binary, Xc, LGBMExplainableModel, classes=["no", "yes"],
                       augment_data=False)  # fmt: skip
    labels = b._get_surrogate_model_predictions(Xc[:20])  # positive log-odds: class 1
    np.testing.assert_array_equal(labels == 1, b.surrogate_model.predict(Xc[:20]) > 0)
    Xd, yd = load_diabetes(return_X_y=True)
    reg = MimicExplainer(LinearRegression().fit(Xd, yd), Xd, LinearExplainableModel,
                         augment_data=False)  # fmt: skip
    assert reg.get_surrogate_model_replication_measure(Xd) == pytest.approx(1.0)
    with pytest.raises(ScenarioNotSupportedException, match="single instance"):
        reg.get_surrogate_model_replication_measure(Xd[:1])


def test_predict_only_classifier_gets_one_hot_probabilities(iris):
    X, y, _ = iris
    sgd = SGDClassifier(random_state=0).fit(StandardScaler().fit_transform(X), y)
    Xs = StandardScaler().fit(X).transform(X)
    exp = MimicExplainer(sgd, Xs, LGBMExplainableModel, classes=[0, 1, 2],
                         model_task=ModelTask.Classification, augment_data=False)  # fmt: skip
    proba = exp.model_.predict_proba(Xs[:10])
    np.testing.assert_array_equal(proba.argmax(axis=1), sgd.predict(Xs[:10]))
    assert set(np.unique(proba)) <= {0.0, 1.0}


def test_core_pipeline_takes_a_surrogate_strategy(cancer):
    """The core hook: ExplainablePipeline(surrogate=<object with fit_surrogate>)."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import r2_score

    from explainable_pipeline import ExplainablePipeline
    from explainable_pipeline.compat._distill import DistillStrategy

    X, y, model = cancer
    ep = ExplainablePipeline(None, FrozenEstimator(model), explainer="mimic",
                             surrogate=DistillStrategy("decision_tree")).fit(X, y)  # fmt: skip
    local = ep.explain_local(X[:40])
    assert local.output == "log_odds"
    log_odds = ep.surrogate_.predict(X[:40])[0]
    np.testing.assert_allclose(local.values[1].sum(-1) + local.expected_values[1], log_odds,
                               atol=1e-9)  # fmt: skip
    # the fidelity compares probabilities with probabilities, not with log-odds
    p_model, p_surrogate = model.predict_proba(X[:40])[:, 1], expit(log_odds)
    assert local.meta["fidelity"]["r2"] == pytest.approx(r2_score(p_model, p_surrogate))


# --------------------------------------------------------------------------- no evaluation rows
def test_global_without_evaluation_rows_is_the_surrogates_own_importance():
    """interpret-community's ``explain_global()``: split counts, impurity, mean coefficient.

    Its iris SVM expectations (test_explain_model_local_without_evaluation_examples) rank
    these, not SHAP over the initialization rows: the LightGBM split counts put sepal
    length second where mean |SHAP| puts petal width.
    """
    X, y = load_iris(return_X_y=True)
    names = ["sepal length", "sepal width", "petal length", "petal width"]
    model = LogisticRegression(max_iter=500).fit(X, y)
    for surrogate, args in [(LGBMExplainableModel, {"verbosity": -1}),
                            (DecisionTreeExplainableModel, {}),
                            (LinearExplainableModel, {"solver": "liblinear"}),
                            (SGDExplainableModel, {})]:  # fmt: skip
        exp = MimicExplainer(model, X, surrogate, explainable_model_args=args,
                             features=names, model_task=ModelTask.Classification)  # fmt: skip
        g = exp.explain_global()
        fitted = exp.surrogate_model.model
        if hasattr(fitted, "feature_importances_"):
            expected = fitted.feature_importances_
        else:  # one-vs-rest: one coefficient row per class, averaged (signed)
            rows = [e.coef_ for e in getattr(fitted, "estimators_", [fitted])]
            expected = np.vstack(rows).mean(axis=0)
        np.testing.assert_allclose(g.global_importance_values, expected)
        assert g.expected_values is None and not g.is_raw
        assert g.get_ranked_global_names()[0] == names[int(np.argmax(expected))]
        with pytest.raises(AttributeError):
            _ = g.local_importance_values  # global only, as there
        # with rows, the SHAP aggregate (and its local part) as before
        assert np.asarray(exp.explain_global(X[:5]).local_importance_values).shape[1] == 5


def test_global_without_evaluation_rows_sums_featurised_columns():
    df = _mixed_frame()
    exp = MimicExplainer(MixedModel(), df, LinearExplainableModel, augment_data=False,
                         categorical_features=["city"])  # fmt: skip
    g = exp.explain_global()
    coef = np.ravel(exp.surrogate_model.model.coef_)
    owner = exp.pipeline_.surrogate_.featurizer.owner_
    expected = np.bincount(owner, weights=coef, minlength=3)
    np.testing.assert_allclose(g.global_importance_values, expected)
    assert g.features == ["amount", "city", "when"]


def test_global_without_evaluation_rows_splits_mixed_columns_equally():
    """``allow_all_transformations=True``: a column built from two raw ones gives each half."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X[["bmi", "bp", "age", "s5"]]
    ct = ColumnTransformer([
        ("both", FunctionTransformer(lambda d: d.sum(axis=1).to_frame("s")), ["bmi", "bp"]),
        ("rest", "passthrough", ["age", "s5"]),
    ])  # fmt: skip
    Xt = ct.fit_transform(X)
    model = LinearRegression().fit(Xt, y)
    exp = MimicExplainer(model, X, DecisionTreeExplainableModel,
                         transformations=ct, allow_all_transformations=True,
                         explainable_model_args={"max_depth": 4})  # fmt: skip
    g = exp.explain_global()
    native = exp.surrogate_model.model.feature_importances_  # over [s, age, s5]
    np.testing.assert_allclose(g.global_importance_values,
                               [native[0] / 2, native[0] / 2, native[1], native[2]])  # fmt: skip
    assert g.is_raw and g.features == ["bmi", "bp", "age", "s5"]
