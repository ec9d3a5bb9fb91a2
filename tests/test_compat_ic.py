"""interpret-community users' code (beyond the how-to) against ``explainable_pipeline.compat``.

Each test is about one behaviour interpret-community documents or one bug of issue 13,
on interpret-community-style inputs (numpy, sparse, DataFrame, wrapper models, lists of
``([columns], transformer)`` tuples), and checks a property: additivity to the model
output, the closed form of linear models, equality with another path that must agree.
"""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline import load_explanation as core_load
from explainable_pipeline.compat import (
    DecisionTreeExplainableModel,
    ExplainParams,
    InterpretData,
    KernelExplainer,
    KernelScoringExplainer,
    LinearExplainableModel,
    LinearExplainer,
    LinearScoringExplainer,
    MimicExplainer,
    ModelTask,
    PFIExplainer,
    SamplingPolicy,
    ShapValuesOutput,
    TabularExplainer,
    TreeExplainer,
    load,
    load_explanation,
    save,
    save_explanation,
    summarize_data,
)


class Wrapper:
    """A fitted model served from elsewhere: predict / predict_proba, no BaseEstimator."""

    def __init__(self, model):
        self._model = model

    def predict(self, X):
        return self._model.predict(X)

    def predict_proba(self, X):
        return self._model.predict_proba(X)


class RegressorWrapper:
    def __init__(self, model):
        self._model = model

    def predict(self, X):
        return self._model.predict(X)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    names = ["sepal length", "sepal width", "petal length", "petal width"]
    return X, y, names


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


# --------------------------------------------------------------------------- core bug 1
def test_duck_typed_model_in_explainable_pipeline(iris):
    """A wrapper without __sklearn_tags__ explains like the model it wraps (exact, 1e-10)."""
    X, y, _ = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    kw = dict(explainer="exact", background=X[::15])
    duck = ExplainablePipeline(None, FrozenEstimator(Wrapper(lr)), **kw).fit(X, y)
    real = ExplainablePipeline(None, FrozenEstimator(lr), **kw).fit(X, y)
    a, b = duck.explain_local(X[:6]), real.explain_local(X[:6])
    np.testing.assert_allclose(a.values, b.values, atol=1e-10)
    assert a.classes == [0, 1, 2]  # no classes_: 0 .. k-1
    total = a.values.sum(-1) + a.expected_values[:, None]
    np.testing.assert_allclose(total, lr.predict_proba(X[:6]).T, atol=1e-10)
    assert duck.__sklearn_tags__().estimator_type == "classifier"


def test_duck_typed_regressor_and_bad_duck(diabetes):
    X, y = diabetes
    ridge = Ridge().fit(X, y)
    ep = ExplainablePipeline(None, FrozenEstimator(RegressorWrapper(ridge)), explainer="kernel",
                             background=10, random_state=0).fit(X, y)  # fmt: skip
    local = ep.explain_local(X.iloc[:3])
    total = local.values.sum(-1) + local.expected_values
    np.testing.assert_allclose(total, ridge.predict(X.iloc[:3]), atol=1e-8)

    class LabelsOnly(RegressorWrapper):
        _estimator_type = "classifier"

    with pytest.raises(ValueError, match="must provide predict_proba"):
        ExplainablePipeline(None, FrozenEstimator(LabelsOnly(ridge))).fit(X, y)


def test_duck_model_through_compat(iris):
    X, y, names = iris
    rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    exp = TabularExplainer(Wrapper(rf), X, features=names, random_state=0)
    local = exp.explain_local(X[:4])
    values = np.asarray(local.local_importance_values)
    total = values.sum(-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(total, rf.predict_proba(X[:4]).T, atol=1e-8)
    # interpret-community's method string for model-agnostic Shapley values; the core
    # explanation says these were computed exactly
    assert local.method == "shap_kernel" and local.model_task == "classification"
    assert local.explanation.method == "exact"


def test_predict_only_classifier_with_model_task(iris):
    """interpret-community's "predict returns probabilities" wrapper, model_task given."""
    X, y, _ = iris
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)

    class ProbaInPredict:
        def predict(self, X):
            return rf.predict_proba(X)

    exp = TabularExplainer(ProbaInPredict(), X, model_task=ModelTask.Classification)
    g = exp.explain_global(X[:10])
    assert set(np.unique(g.eval_y_predicted)) <= {0, 1, 2}
    assert np.asarray(g.local_importance_values).shape == (3, 10, 4)


# --------------------------------------------------------------------------- core bugs 2, 3
def _frame(iris):
    X, y, names = iris
    return pd.DataFrame(X, columns=names), y, names


@pytest.mark.parametrize("selector", [list, pd.Index], ids=["list", "pd.Index"])
def test_multi_column_tuple_is_looked_inside(iris, selector):
    """One StandardScaler over several columns maps each output to its own column."""
    df, y, names = _frame(iris)
    scaler = StandardScaler().fit(df[names])
    lr = LogisticRegression(max_iter=500).fit(scaler.transform(df[names]), y)
    tuples = TabularExplainer(lr, df, transformations=[(selector(names), scaler)])
    ct = ColumnTransformer([("s", scaler, names)]).fit(df)
    column = TabularExplainer(lr, df, transformations=ct)
    assert tuples.pipeline_.explainer_ == "linear"  # not silently "exact"
    a, b = tuples.explain_local(df.iloc[:5]), column.explain_local(df.iloc[:5])
    np.testing.assert_allclose(a.values, b.values, atol=1e-12)
    assert a.is_raw and a.features == names
    # and the surrogate path does not raise MixedFeatureError
    MimicExplainer(lr, df, LinearExplainableModel, transformations=[(selector(names), scaler)],
                   augment_data=False).explain_local(df.iloc[:3])  # fmt: skip


def test_mixing_transformer_needs_allow_all_transformations(iris):
    df, y, names = _frame(iris)

    class Identity:  # custom, not recognised: mixes its columns conservatively
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.asarray(X, dtype=float)

    lr = LogisticRegression(max_iter=500).fit(df.to_numpy(), y)
    tuples = [(names, Identity())]
    with pytest.raises(ValueError, match="allow_all_transformations=True"):
        MimicExplainer(lr, df, LinearExplainableModel, transformations=tuples, augment_data=False)
    mimic = MimicExplainer(lr, df, LinearExplainableModel, transformations=tuples,
                           augment_data=False, allow_all_transformations=True)  # fmt: skip
    local = mimic.explain_local(df.iloc[:4])
    total = local.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    surrogate = mimic.pipeline_.surrogate_.predict(df.iloc[:4].to_numpy())
    np.testing.assert_allclose(total, surrogate, atol=1e-10)  # the split keeps additivity
    # the model-agnostic explainer needs no mapping at all
    assert TabularExplainer(lr, df, transformations=tuples).pipeline_.explainer_ == "exact"


# --------------------------------------------------------------------------- core bug 4
def test_pfi_on_sparse_input_and_classes():
    rng = np.random.RandomState(0)
    X = sp.random(300, 6, density=0.5, format="csr", random_state=rng)
    X[:, 5] = 0  # an all-zero column
    y = (X[:, 0].toarray().ravel() > 0.3).astype(int)
    lr = LogisticRegression().fit(X[:, :1], y)

    class FirstColumn:  # uses column 0 only
        classes_ = lr.classes_

        def predict(self, X):
            return lr.predict(X[:, :1])

        def predict_proba(self, X):
            return lr.predict_proba(X[:, :1])

    g = PFIExplainer(FirstColumn(), classes=["no", "yes"]).explain_global(X, y)
    values = np.asarray(g.global_importance_values)
    assert values[0] > 0.1
    np.testing.assert_array_equal(values[1:], 0.0)  # unused and all-zero columns
    assert g.classes == ["no", "yes"] and g.method == "pfi" and g.std.shape == (6,)

    class LabelsOnly:
        def predict(self, X):
            return lr.predict(X[:, :1])

    with pytest.raises(ValueError, match="does not define predict_proba"):
        PFIExplainer(LabelsOnly(), classes=["no", "yes"])
    with pytest.raises(TypeError):
        PFIExplainer(FirstColumn()).explain_global(X)  # true_labels is required


def test_pfi_metrics_and_function(diabetes):
    X, y = diabetes
    model = LinearRegression().fit(X, y)
    mae = PFIExplainer(model).explain_global(X, y)  # default for regression: MAE increase
    r2 = PFIExplainer(model, metric="r2_score").explain_global(X, y)
    fn = PFIExplainer(model.predict, is_function=True).explain_global(X, y)
    assert mae.get_ranked_global_names()[:2] == r2.get_ranked_global_names()[:2]
    np.testing.assert_allclose(fn.global_importance_values, mae.global_importance_values)
    with pytest.raises(ValueError, match="not supported"):
        PFIExplainer(model, metric="accuracy_of_nothing").explain_global(X, y)


# --------------------------------------------------------------------------- core bug 5
def test_sparse_explanation_saves_and_loads(tmp_path, diabetes):
    X, y = diabetes
    Xs = sp.csr_matrix(X.to_numpy() * (np.abs(X.to_numpy()) > 0.02))
    ep = ExplainablePipeline(None, Ridge(), explainer="linear").fit(Xs, y)
    local = ep.explain_local(Xs[:5])
    back = core_load(local.save(tmp_path / "exp"))
    np.testing.assert_array_equal(back.values, local.values)
    assert sp.issparse(back.data) and (back.data != Xs[:5]).nnz == 0
    # a tampered file: a column index past the matrix is refused, not kept for later
    d = local.to_dict()
    d["data"]["indices"][0] = 10**6
    with pytest.raises(ValueError, match="indices"):
        type(local).from_dict(d)


# --------------------------------------------------------------------------- API gaps
def test_interpret_community_semantics(iris, diabetes):
    X, y, names = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    g = TabularExplainer(lr, X, classes=["a", "b", "c"]).explain_global(X[:8])
    assert g.features == [0, 1, 2, 3] and not g.is_raw  # integer names, no transformations
    assert isinstance(g.expected_values, list) and len(g.expected_values) == 3
    assert g.num_classes == 3 and g.num_features == 4 and g.num_examples == 8
    assert g.method == "shap_linear" and g.model_task == "classification"
    assert g.model_type == str(type(lr))  # interpret-community's spelling
    np.testing.assert_array_equal(g.eval_y_predicted, lr.predict(X[:8]))
    np.testing.assert_allclose(g.eval_y_predicted_proba, lr.predict_proba(X[:8]))
    assert g.data()[InterpretData.SCORES] == g.global_importance_values
    full = g.data(-1)
    assert full[InterpretData.MLI][0][InterpretData.VALUE][InterpretData.SCORES] == (
        g.local_importance_values
    )
    assert g.data(0)[InterpretData.NAMES] == [0, 1, 2, 3]
    # the closed form: coef * (x - mean of the background rows)
    local = g.local
    ep = local.explanation
    assert ep.method == "linear"

    Xd, yd = diabetes
    reg = TabularExplainer(LinearRegression().fit(Xd, yd), Xd)
    one = reg.explain_local(Xd.iloc[0])  # a Series: one 1-D row
    assert np.asarray(one.local_importance_values).shape == (10,)
    assert isinstance(one.expected_values, list) and len(one.expected_values) == 1
    only_global = reg.explain_global(Xd, include_local=False)
    assert only_global.explanation.n_rows == len(Xd)
    for local_part in ("local_importance_values", "num_examples"):  # absent, as there
        assert not hasattr(only_global, local_part)


def test_sampling_policy_and_batch_size(diabetes):
    X, y = diabetes
    exp = TabularExplainer(Ridge().fit(X, y), X)
    g = exp.explain_global(X, **{ExplainParams.SAMPLING_POLICY: SamplingPolicy(
        allow_eval_sampling=True, max_dim_clustering=30)}, batch_size=7)  # fmt: skip
    assert g.num_examples == 30
    assert exp.explain_global(X.iloc[:40], sampling_policy=SamplingPolicy()).num_examples == 40
    with pytest.raises(ValueError, match="batch_size"):
        exp.explain_global(X, batch_size=0)


def test_explain_subset_selects_columns(diabetes):
    X, y = diabetes
    model = Ridge().fit(X, y)
    full = TabularExplainer(model, X).explain_local(X.iloc[:5])
    sub = TabularExplainer(model, X, explain_subset=[3, 1]).explain_local(X.iloc[:5])
    np.testing.assert_allclose(sub.local_importance_values,
                               np.asarray(full.local_importance_values)[:, [3, 1]])  # fmt: skip
    assert sub.features == ["bp", "sex"]


def test_shap_values_output_probability(iris):
    X, y, _ = iris
    rf = RandomForestClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    margin = TabularExplainer(rf, X).explain_local(X[:5])
    proba = TabularExplainer(rf, X, shap_values_output=ShapValuesOutput.PROBABILITY,
                             background=40).explain_local(X[:5])  # fmt: skip
    total = np.asarray(proba.local_importance_values).sum(-1)
    total += np.asarray(proba.expected_values)[:, None]
    # interventional TreeSHAP in probability space (shap's): additive to ~1e-3 here
    np.testing.assert_allclose(total, rf.predict_proba(X[:5]).T, atol=5e-3)
    assert margin.method == proba.method == "shap_tree"
    lr = LogisticRegression(max_iter=500).fit(X, y)
    p = TabularExplainer(lr, X, shap_values_output="probability").explain_local(X[:3])
    assert p.explanation.method == "exact"  # the closed form is for margins only
    t = np.asarray(p.local_importance_values).sum(-1) + np.asarray(p.expected_values)[:, None]
    np.testing.assert_allclose(t, lr.predict_proba(X[:3]).T, atol=1e-10)


def test_shap_family_and_kmeans_summary(iris):
    X, y, _ = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    summary = summarize_data(X, 10)
    kern = KernelExplainer(lr, summary, nsamples=200, random_state=0).explain_local(X[:3])
    assert kern.method == "shap_kernel" and kern.explanation.method == "kernel"
    exact = TabularExplainer(lr, summary, shap_values_output="probability").explain_local(X[:3])
    np.testing.assert_allclose(kern.local_importance_values, exact.local_importance_values,
                               atol=1e-6)  # fmt: skip
    lin = LinearExplainer(lr, X).explain_local(X[:3])
    assert lin.method == "shap_linear"
    rf = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    tree = TreeExplainer(rf).explain_global(X[:6])
    assert tree.method == "shap_tree" and tree.num_examples == 6


def test_mimic_explainer_interpret_community_arguments(diabetes):
    X, y = diabetes
    model = Ridge().fit(X, y)
    # interpret-community's internal surrogate arguments are ignored, the others are the
    # estimator's (an unknown one is the estimator's own error, as there)
    mimic = MimicExplainer(model, X, DecisionTreeExplainableModel,
                           explainable_model_args={"max_depth": 2, "classification": False},
                           augment_data=False)  # fmt: skip
    assert mimic.surrogate_model.model.get_depth() <= 2
    assert mimic.surrogate_model.model.random_state == 123  # interpret-community's seed
    with pytest.raises(TypeError, match="solver"):
        MimicExplainer(model, X, DecisionTreeExplainableModel,
                       explainable_model_args={"solver": "liblinear"})  # fmt: skip
    g = mimic.explain_global()  # no evaluation rows: the surrogate's own importance
    assert g.method == "mimic.tree" and g.expected_values is None
    np.testing.assert_array_equal(g.global_importance_values,
                                  mimic.surrogate_model.model.feature_importances_)  # fmt: skip
    assert np.asarray(g.init_data).shape == X.shape
    indexed = X.set_index(pd.RangeIndex(100, 100 + len(X), name="row_id"))
    seen = []

    class IndexedModel:  # needs its index, as a time-series model would
        def predict(self, rows):
            seen.append(rows.index.name)
            return rows["bmi"].to_numpy() * 2.0 + rows.index.to_numpy() / 1000.0

    reset = MimicExplainer(IndexedModel(), indexed, LinearExplainableModel,
                           reset_index="reset", augment_data=False)  # fmt: skip
    local = reset.explain_local(indexed.iloc[:2])
    assert local.features[0] == "row_id" and set(seen) == {"row_id"}
    # the index is a feature of the surrogate: a linear surrogate recovers its weight
    assert abs(np.asarray(local.local_importance_values)[:, 0]).max() > 0


def test_raw_feature_importances_from_maps(diabetes):
    X, y = diabetes
    local = TabularExplainer(LinearRegression().fit(X, y), X).explain_local(X.iloc[:4])
    values = np.asarray(local.local_importance_values)
    m = np.zeros((2, 10))
    m[0, [1, 3]] = 1
    m[1, [0, 2, 4, 5, 6, 7, 8, 9]] = 1
    raw = np.asarray(local.get_raw_feature_importances([m]))
    np.testing.assert_allclose(raw[:, 0], values[:, [1, 3]].sum(1))
    np.testing.assert_allclose(raw.sum(1), values.sum(1))
    raw_exp = local.get_raw_explanation([m], raw_feature_names=["a", "b"])
    assert raw_exp.is_raw and raw_exp.features == ["a", "b"]


# --------------------------------------------------------------------------- folders
def test_save_explanation_round_trip(tmp_path, iris):
    X, y, names = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    g = TabularExplainer(lr, X, features=names, classes=["a", "b", "c"]).explain_global(X[:9])
    path = save_explanation(g, tmp_path / "ic")
    assert json.loads((path / "explanation_metadata.json").read_text())["method"] == "shap_linear"
    with pytest.raises(FileExistsError):
        save_explanation(g, tmp_path / "ic")
    save_explanation(g, tmp_path / "ic", exist_ok=True)
    back = load_explanation(path)
    for attr in ("local_importance_values", "global_importance_values", "expected_values",
                 "features", "classes", "eval_data", "eval_y_predicted", "method", "id",
                 "per_class_values", "is_raw", "model_task", "num_examples"):  # fmt: skip
        a, b = getattr(back, attr), getattr(g, attr)
        if isinstance(b, (str, bool)) or attr in ("features", "classes", "id"):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    core = core_load(path)  # the core reader of interpret-community's layout agrees
    np.testing.assert_allclose(core.values, g.global_importance_values)
    assert not list(tmp_path.glob(".*.tmp"))


# --------------------------------------------------------------------------- scoring
def test_scoring_explainers_and_score_py(tmp_path, iris):
    """The how-to's inference-time section: save, then score.py's init()/run()."""
    X, y, names = iris
    df = pd.DataFrame(X, columns=names)
    lr = LogisticRegression(max_iter=500).fit(df, y)
    explainer = TabularExplainer(lr, df, features=names)
    scoring_explainer = LinearScoringExplainer(explainer)
    save(scoring_explainer, directory=tmp_path / "scoring", exist_ok=True)
    joblib.dump(lr, tmp_path / "original_model.pkl")
    with pytest.raises(FileExistsError):
        save(scoring_explainer, directory=tmp_path / "scoring")
    with pytest.raises(ValueError, match="needs an explainer using"):
        KernelScoringExplainer(explainer)

    state = {}

    def init():  # score.py
        state["model"] = joblib.load(tmp_path / "original_model.pkl")
        state["explainer"] = load(tmp_path / "scoring")

    def run(raw_data):
        data = pd.read_json(io.StringIO(raw_data), orient="records")
        predictions = state["model"].predict(data)
        local_importance_values = state["explainer"].explain(data)
        return {"predictions": predictions.tolist(),
                "local_importance_values": local_importance_values}  # fmt: skip

    init()
    out = run(df.iloc[:3].to_json(orient="records"))
    json.dumps(out)
    assert out["predictions"] == lr.predict(df.iloc[:3]).tolist()
    expected = explainer.explain_local(df.iloc[:3]).local_importance_values
    np.testing.assert_allclose(out["local_importance_values"], expected, atol=1e-12)

    kernel = KernelScoringExplainer(TabularExplainer(Wrapper(lr), df, random_state=0),
                                    initialization_examples=df.iloc[:5])  # fmt: skip
    values = np.asarray(kernel.explain(df.iloc[:2]))
    assert values.shape == (3, 2, 4)


# --------------------------------------------------------------------------- round 2 semantics
def test_pfi_single_shared_permutation_is_interpret_communitys(iris):
    """seed=s: one permutation of the rows, RandomState(s).choice(n, n), reorders each column."""
    X, y, _ = iris
    model = LogisticRegression(max_iter=500).fit(X[:, :3], y)

    class FirstThree:  # ignores the last column
        classes_ = model.classes_

        def predict(self, X):
            return model.predict(X[:, :3])

        def predict_proba(self, X):
            return model.predict_proba(X[:, :3])

    g = PFIExplainer(FirstThree(), seed=7).explain_global(X, y)
    order = np.random.RandomState(7).choice(len(X), len(X), replace=False)
    base = np.mean(model.predict(X[:, :3]) == y)  # micro F1 of labels == accuracy
    expected = []
    for j in range(4):
        shuffled = X.copy()
        shuffled[:, j] = X[order, j]
        expected.append(base - np.mean(model.predict(shuffled[:, :3]) == y))
    np.testing.assert_allclose(g.global_importance_values, expected, atol=1e-12)
    assert g.global_importance_values[3] == 0.0 and g.explanation.meta["n_repeats"] == 1
    repeated = PFIExplainer(FirstThree(), n_repeats=4).explain_global(X, y)
    assert repeated.explanation.meta["n_repeats"] == 4  # the core's repeated estimate
    with pytest.raises(ValueError, match="function was predict"):  # as there: decided at once
        PFIExplainer(model.predict_proba, is_function=True, classes=["a", "b", "c"])


def test_classes_names_and_counts_follow_interpret_community(iris, tmp_path):
    X, y, _ = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    g = TabularExplainer(lr, X).explain_global(X[:6])
    assert g.classes is None and g.num_classes == 3  # names only when given
    assert g.model_type == str(type(lr))
    only_global = TabularExplainer(lr, X).explain_global(X[:6], include_local=False)
    assert only_global.model_type is None and only_global.num_classes == 3
    path = save_explanation(only_global, tmp_path / "g")
    assert not (path / "classes.json").exists()
    back = load_explanation(path)
    assert back.classes is None and back.num_classes == 3  # from the metadata
    assert not hasattr(back, "num_examples")


def test_save_and_load_are_bit_for_bit(iris, tmp_path):
    X, y, names = iris
    df = pd.DataFrame(X, columns=names)
    ct = ColumnTransformer([("s", StandardScaler(), names[:2]), ("p", "passthrough", names[2:])])
    ct.fit(df)
    lr = LogisticRegression(max_iter=500).fit(ct.transform(df), y)
    exp = MimicExplainer(lr, df, LinearExplainableModel, transformations=ct,
                         augment_data=False)  # fmt: skip
    for i, explanation in enumerate((exp.explain_local(df.iloc[:11]), exp.explain_global(df))):
        back = load_explanation(save_explanation(explanation, tmp_path / str(i)))
        for attr in ("global_importance_values", "per_class_values", "local_importance_values",
                     "expected_values"):  # fmt: skip
            np.testing.assert_array_equal(getattr(back, attr), getattr(explanation, attr))


def test_raw_explanation_marks_the_engineered_one(iris, diabetes):
    X, y, names = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    g = TabularExplainer(lr, X, features=names, classes=["a", "b", "c"]).explain_global(X[:9])
    assert not g.is_engineered and not g.is_raw
    fmap = np.eye(3, 4)
    raw = g.get_raw_explanation([fmap], raw_feature_names=["x", "y", "z"], eval_data=X[:9, :3])
    assert g.is_engineered and raw.is_raw and not raw.is_engineered
    assert raw.expected_values == g.expected_values and raw.classes == ["a", "b", "c"]
    values = raw.local_importance_values
    np.testing.assert_array_equal(raw.global_importance_values,
                                  np.mean(np.mean(np.absolute(values), axis=1), axis=0))  # fmt: skip
    np.testing.assert_allclose(np.asarray(values), np.asarray(g.local_importance_values)[..., :3])
    np.testing.assert_array_equal(raw.eval_data, X[:9, :3])
    assert raw.eval_y_predicted_proba is not None
    Xd, yd = diabetes
    reg = TabularExplainer(LinearRegression().fit(Xd, yd), Xd).explain_global(Xd.iloc[:5])
    raw_reg = reg.get_raw_explanation([np.eye(9, 10)])
    assert reg.is_engineered and raw_reg.eval_data is None  # no raw rows given
    assert raw_reg.eval_y_predicted is not None and raw_reg.eval_y_predicted_proba is None


def test_predict_only_classifier_is_explained_as_interpret_community_does(iris):
    """No predict_proba: a regression of predict, unless declared a classifier (one-hot)."""
    X, y, _ = iris
    from sklearn.svm import SVC

    svc = SVC(probability=False).fit(X, y)
    reg = TabularExplainer(svc, X).explain_local(X[:5])
    assert reg.model_task == "regression"
    np.testing.assert_allclose(reg.explanation.values.sum(-1) + reg.expected_values[0],
                               svc.predict(X[:5]), atol=1e-10)  # fmt: skip
    clf = TabularExplainer(svc, X, model_task=ModelTask.Classification).explain_local(X[:5])
    totals = np.asarray(clf.local_importance_values).sum(-1)
    totals += np.asarray(clf.expected_values)[:, None]
    np.testing.assert_allclose(totals.T, np.eye(3)[svc.predict(X[:5])], atol=1e-10)


def test_concurrent_saves_of_one_folder(tmp_path, iris):
    """Two writers of one folder: exist_ok=False lets one win; exist_ok=True leaves one whole."""
    from concurrent.futures import ThreadPoolExecutor

    X, y, names = iris
    lr = LogisticRegression(max_iter=500).fit(X, y)
    exps = [TabularExplainer(lr, X, features=names).explain_local(X[i: i + 5]) for i in (0, 50)]

    def save(args):
        exp, exist_ok = args
        try:
            save_explanation(exp, tmp_path / "one", exist_ok=exist_ok)
            return "saved"
        except FileExistsError:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        assert sorted(pool.map(save, [(e, False) for e in exps])) == ["refused", "saved"]
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(save, [(e, True) for e in exps])) == ["saved", "saved"]
    back = load_explanation(tmp_path / "one")
    assert any(np.array_equal(back.local_importance_values, e.local_importance_values)
               for e in exps)  # fmt: skip
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*lock"))


def test_lightgbm_on_a_pandas_category_column():
    """interpret-community's pandas-string case: the booster reads the category column."""
    from lightgbm import LGBMClassifier

    rng = np.random.RandomState(0)
    X = pd.DataFrame({"a": rng.randint(10, size=200), "b": rng.rand(200),
                      "city": pd.Categorical(rng.choice(["oslo", "lima", "kyiv"], 200))})  # fmt: skip
    y = ((X["city"] == "oslo") ^ (X["b"] > 0.5)).astype(int)
    clf = LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    local = TabularExplainer(clf, X, features=list(X.columns)).explain_local(X.iloc[:15])
    assert local.method == "shap_tree"
    totals = local.explanation.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    margin = clf.predict(X.iloc[:15], raw_score=True)
    np.testing.assert_allclose(totals[1], margin, atol=1e-8)
    assert np.abs(local.explanation.values[1][:, 2]).sum() > 0  # the category column counts


def test_model_agnostic_background_is_interpret_communitys_kmeans(iris):
    """KernelExplainer's background is shap.kmeans(X, nclusters): the same here, so the values
    are the quantity its KernelSHAP estimates, and the same from run to run."""
    X, y, _ = iris
    from sklearn.svm import SVC

    svc = SVC(probability=True, random_state=0).fit(X, y)
    first = TabularExplainer(svc, X)
    summary = summarize_data(X, 10)
    np.testing.assert_allclose(first.pipeline_.background_, summary.data)
    np.testing.assert_allclose(first.pipeline_.background_weights_,
                               summary.weights / summary.weights.sum())  # fmt: skip
    again = TabularExplainer(svc, X)
    np.testing.assert_array_equal(first.explain_local(X[:4]).local_importance_values,
                                  again.explain_local(X[:4]).local_importance_values)  # fmt: skip
    six = KernelExplainer(svc, X, nclusters=6, nsamples=300, random_state=0)
    assert len(six.pipeline_.background_) == 6
    rows = TabularExplainer(svc, X, background=X[:7])  # rows given: kept as they are
    np.testing.assert_array_equal(rows.pipeline_.background_, X[:7])
    lr = LogisticRegression(max_iter=500).fit(X, y)  # the closed form keeps the training mean
    lin = TabularExplainer(lr, X).pipeline_
    assert lin.explainer_ == "linear"
    np.testing.assert_allclose(lin.engineered_mean_, X.mean(axis=0))
