"""A shap user's habits on ``to_shap()``: the recipes of shap's own documentation run on our
explanations as they run on shap's, with the same shapes, names and data.

Each test is one habit an outside audit found broken: shap's slicing of a 2-D explanation
with ``output_names``, the binary margin as one output (shap's TreeExplainer gives it so),
``.data`` for frames with integer labels and for ``feature_groups``, and numpy background
rows (``shap.kmeans(X, 10).data``) with a preprocessor that selects columns by name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder

from explainable_pipeline import ExplainablePipeline

shap = pytest.importorskip("shap")
lightgbm = pytest.importorskip("lightgbm")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"age": rng.normal(40, 10, n), "score": rng.uniform(size=n),
                      "color": rng.choice(["red", "blue"], n)})  # fmt: skip
    y = ((X.age > 40) ^ (X.color == "red")).astype(int)
    return X, y


def _pre():
    return ColumnTransformer([("num", "passthrough", ["age", "score"]),
                              ("cat", OneHotEncoder(), ["color"])])  # fmt: skip


def test_binary_margin_is_one_output_like_shap_and_its_recipes_run(data):
    X, y = data
    ep = ExplainablePipeline(_pre(), lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
                             explainer="tree").fit(X, y)
    local = ep.explain_local(X[:40])
    exp = local.to_shap()
    native = shap.TreeExplainer(ep.estimator_)(ep.preprocessor_.transform(X[:40]))
    assert exp.values.shape == (40, 3) and native.values.ndim == 2  # one log-odds output
    np.testing.assert_array_equal(exp.values, local.values[1])
    np.testing.assert_allclose(exp.values.sum(1) + exp.base_values,
                               native.values.sum(1) + native.base_values, atol=1e-9)
    assert exp.output_names is None and list(exp.feature_names) == ["age", "score", "color"]
    np.testing.assert_array_equal(local.to_shap(class_index=0).values, local.values[0])
    # shap's documented recipes, which copy and slice the explanation
    shap.plots.heatmap(exp, instance_order=exp.sum(1), show=False)
    shap.plots.beeswarm(exp, order=exp.abs.max(0), show=False)
    shap.plots.waterfall(exp[0], show=False)
    shap.plots.bar(exp[0], show=False)
    shap.plots.scatter(exp[:, "age"], color=exp, show=False)
    assert exp[:, "age"].abs.values.shape == (40,)
    plt.close("all")
    # probabilities keep both classes, as shap's explainers give a forest's
    rf = ExplainablePipeline(_pre(), RandomForestClassifier(n_estimators=5, random_state=0),
                             explainer="tree").fit(X, y)
    probs = rf.explain_local(X[:5]).to_shap()
    assert probs.values.shape == (5, 3, 2) and list(probs.output_names) == ["0", "1"]


def test_regression_and_interactions_have_no_output_names(data):
    X, _ = data
    ep = ExplainablePipeline(_pre(), lightgbm.LGBMRegressor(n_estimators=10, verbose=-1),
                             explainer="tree").fit(X, X.age * 2)
    exp = ep.explain_local(X[:20]).to_shap()
    assert exp.output_names is None
    shap.plots.beeswarm(exp, order=exp.abs.max(0), show=False)
    inter = ep.explain_interactions(X[:20]).to_shap()
    assert inter.output_names is None and inter.values.shape == (20, 3, 3)
    plt.close("all")


def test_integer_labelled_frames_keep_their_data_and_background(data):
    """``pd.read_csv(header=None)`` frames: columns 0, 1, ... (named x0, x1 in explanations,
    as scikit-learn names them); rows of X as background are accepted."""
    X, _ = data
    Xi = pd.DataFrame(X[["age", "score"]].to_numpy())
    pre = ColumnTransformer([("n", "passthrough", [0, 1])])
    ep = ExplainablePipeline(pre, lightgbm.LGBMRegressor(n_estimators=10, verbose=-1),
                             explainer="tree").fit(Xi, X.age)
    exp = ep.explain_local(Xi[:20]).to_shap()
    assert list(exp.feature_names) == ["x0", "x1"]
    np.testing.assert_array_equal(exp.data, Xi[:20].to_numpy())
    shap.plots.scatter(exp[:, 0], show=False)
    plt.close("all")
    for explainer in ("exact", "linear"):
        ep = ExplainablePipeline(pre, Ridge(), explainer=explainer,
                                 background=Xi.iloc[:10]).fit(Xi, X.age)
        local = ep.explain_local(Xi[:5])
        assert local.check_additivity() < 1e-9
        np.testing.assert_array_equal(local.to_shap().data, Xi[:5].to_numpy())


def test_feature_groups_keep_the_ungrouped_columns_data(data):
    X, y = data
    ep = ExplainablePipeline(_pre(), lightgbm.LGBMClassifier(n_estimators=20, verbose=-1),
                             explainer="tree", feature_groups={"g": ["score", "color"]})
    exp = ep.fit(X, y).explain_local(X[:20]).to_shap()
    assert list(exp.feature_names) == ["g", "age"]
    assert np.isnan(exp.data[:, 0].astype(float)).all()
    np.testing.assert_array_equal(exp.data[:, 1].astype(float), X.age[:20].to_numpy())
    shap.plots.scatter(exp[:, "age"], show=False)
    plt.close("all")


@pytest.mark.parametrize("explainer", ["tree", "linear", "exact"])
def test_numpy_background_with_a_name_selecting_preprocessor(data, explainer):
    """``background=shap.kmeans(X, 10).data`` (an array) for a frame fitted pipeline: the rows
    become a frame with X's columns and dtypes, for every explainer alike."""
    X, _ = data
    Xn = X[["age", "score"]]
    summary = shap.kmeans(Xn, 10)
    pre = ColumnTransformer([("num", "passthrough", ["age", "score"])])
    est = Ridge() if explainer == "linear" else RandomForestRegressor(n_estimators=5,
                                                                      random_state=0)
    ep = ExplainablePipeline(pre, est, explainer=explainer, background=summary.data,
                             background_weights=summary.weights).fit(Xn, X.age * 2)
    assert list(ep.background_.columns) == ["age", "score"]
    assert (ep.background_.dtypes == Xn.dtypes).all()
    local = ep.explain_local(Xn[:5])
    assert local.check_additivity() < 1e-9
    if explainer != "exact":  # the closed forms against the raw-space game, same rows
        exact = ExplainablePipeline(pre, est, explainer="exact", background=summary.data,
                                    background_weights=summary.weights).fit(Xn, X.age * 2)
        np.testing.assert_allclose(local.values, exact.explain_local(Xn[:5]).values,
                                   atol=1e-9)


def test_numpy_background_that_x_cannot_hold_is_refused_at_fit(data):
    X, _ = data
    Xc = X.assign(color=X.color.astype("category"))
    rows = Xc.iloc[:3].to_numpy()
    rows[0, 2] = "green"  # not a category of X's column
    with pytest.raises(ValueError, match=r"Background column 'color' holds 'green'"):
        ExplainablePipeline(_pre(), Ridge(), explainer="exact", background=rows).fit(Xc, X.age)
    rows = X.iloc[:3].to_numpy()
    rows[1, 0] = "old"
    with pytest.raises(ValueError, match=r"Background column 'age' cannot hold"):
        ExplainablePipeline(_pre(), Ridge(), explainer="exact", background=rows).fit(X, X.age)
