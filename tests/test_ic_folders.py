"""load_explanation reads interpret-community folders of every explainer type it writes.

The folders are written by ``tests/_ic_layout.py`` (interpret-community's layout, from its
source, checked against real interpret-community 0.32 output by ``benchmarks/ic_layout.py``)
with values computed here by our own explainers on real models, laid out as each
interpret-community explainer lays them out (the binary linear model's ``[-phi, phi]`` with
one expected value, class-major values, one expected value for regression, ...). Loading must
give back the values, the full expected values, the rows, and the unit the file proves.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _ic_layout import ic_layout, write_ic
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR

from explainable_pipeline import (
    ExplainablePipeline,
    GlobalExplanation,
    LocalExplanation,
    load_explanation,
)
from explainable_pipeline._explanation import AdditivityWarning
from explainable_pipeline._explanation_io import ExplanationFormatError

KINDS = ("linear", "tree", "kernel", "mimic", "pfi")
TASKS = ("binary", "multiclass", "regression")
PARTS = ("local", "global", "globalonly")
N_ROWS = 6


def _data(task: str, n: int = 90):
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"radius": rng.normal(14, 3, n).round(2), "texture": rng.normal(19, 4, n),
                      "colour": rng.choice(["red", "green", "blue"], n)})  # fmt: skip
    score = (X["radius"] - 14) / 3 - (X["texture"] - 19) / 8 + (X["colour"] == "red")
    if task == "regression":
        return X, 100 + 20 * score + rng.normal(0, 1, n)
    if task == "binary":
        return X, (score + rng.normal(0, 0.5, n) > 0.3).astype(int)
    return X, np.digitize(score + rng.normal(0, 0.3, n), [-0.3, 0.8])


def _model(kind: str, task: str):
    clf = task != "regression"
    if kind == "linear":
        return LogisticRegression(max_iter=1000) if clf else Ridge(), "linear"
    if kind in ("tree", "pfi"):
        forest = RandomForestClassifier if clf else RandomForestRegressor
        return forest(n_estimators=5, max_depth=3, random_state=0), kind
    if kind == "kernel":
        return (SVC(probability=True, random_state=0) if clf else SVR()), "exact"
    return (LogisticRegression(max_iter=1000) if clf else Ridge()), "mimic"


_FITTED: dict = {}


def _fitted(kind: str, task: str):
    key = (kind, task)
    if key not in _FITTED:
        X, y = _data(task)
        pre = ColumnTransformer([("num", StandardScaler(), ["radius", "texture"]),
                                 ("cat", OneHotEncoder(), ["colour"])])  # fmt: skip
        est, explainer = _model(kind, task)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # SVC(probability=True), sklearn 1.9
            ep = ExplainablePipeline(pre, est, explainer=explainer, background=10,
                                     random_state=0).fit(X, y)  # fmt: skip
        _FITTED[key] = ep, X.iloc[-N_ROWS:].reset_index(drop=True), y[-N_ROWS:]
    return _FITTED[key]


def _engineered_local(kind: str, ep, X) -> LocalExplanation:
    """Our explanation of the model's input columns (interpret-community without
    ``transformations``): the kernel explainer treats them as its players."""
    if kind != "kernel":
        return ep.explain_local(X, space="engineered")
    names = [str(f) for f in ep.feature_map_.engineered_features]
    Xt = pd.DataFrame(ep.preprocessor_.transform(X), columns=names)
    train = pd.DataFrame(ep.preprocessor_.transform(_data("binary")[0]), columns=names)
    model = ExplainablePipeline(None, FrozenEstimator(ep.estimator_), explainer="exact",
                                background=10, random_state=0)  # fmt: skip
    with warnings.catch_warnings():  # named columns for a model fitted on an array
        warnings.filterwarnings("ignore", "X has feature names", UserWarning)
        return model.fit(train).explain_local(Xt)


def _ic_values(kind: str, local: LocalExplanation):
    """Our values and expected values as the interpret-community explainer stores them."""
    values, expected = local.values, local.expected_values
    if kind == "linear" and values.ndim == 3 and values.shape[0] == 2:
        assert np.allclose(values[0], -values[1])  # [-phi, phi], as IC's linear explainer
        return values, expected[1:]  # ...with shap's one expected value
    return values, expected


def _expected_unit(kind: str, task: str, part: str, space: str) -> str:
    if task == "regression":
        return "prediction"
    # the unit is proven when the file has local values and the model's probabilities
    proven = part == "global" or (part == "local" and space == "engineered")
    if kind == "kernel" or (kind == "tree" and proven):
        return "probability"  # random forests explain probabilities
    if kind == "linear" and proven:
        return "log_odds"
    return "unknown"


CASES = [(k, t, p, s) for k in KINDS for t in TASKS for p in PARTS for s in ("raw", "engineered")
         if k != "pfi" or p == "global"]  # fmt: skip


@pytest.mark.parametrize(("kind", "task", "part", "space"), CASES,
                         ids=["-".join(c) for c in CASES])  # fmt: skip
def test_every_interpret_community_explainer_folder_loads(tmp_path, kind, task, part, space):
    ep, X, y = _fitted(kind, task)
    clf = task != "regression"
    classes = ep.classes_.tolist() if clf else None
    rows = X if space == "raw" else ep.preprocessor_.transform(X)
    eval_rows = rows.astype(object).values.tolist() if space == "raw" else rows.tolist()
    proba = ep.predict_proba(X) if clf else None
    predicted = ep.predict(X).tolist()
    if kind == "pfi":
        glob = ep.explain_global(X, y)
        features = glob.features if space == "raw" else list(ep.feature_map_.engineered_features)
        values = glob.values if space == "raw" else np.linspace(0.3, -0.1, len(features))
        props, md = ic_layout(kind, task, local=values, expected=None, features=features,
                              classes=classes, raw=space == "raw", eval_rows=eval_rows)  # fmt: skip
        exp = load_explanation(write_ic(tmp_path / "ic", props, md))
        assert isinstance(exp, GlobalExplanation) and exp.local is None
        np.testing.assert_array_equal(exp.values, values)
        assert exp.features == [str(f) for f in features] and exp.classes == classes
        assert exp.space == space and exp.method == "pfi"
        assert exp.output == ("prediction" if task == "regression" else "unknown")
        return
    local = ep.explain_local(X) if space == "raw" else _engineered_local(kind, ep, X)
    values, expected = _ic_values(kind, local)
    props, md = ic_layout(kind, task, local=values, expected=expected, features=local.features,
                          classes=classes, part=part, raw=space == "raw", eval_rows=eval_rows,
                          predicted=predicted, proba=proba)  # fmt: skip
    exp = load_explanation(write_ic(tmp_path / "ic", props, md))
    assert exp.space == space and exp.features == local.features
    assert exp.method == {"linear": "shap_linear", "tree": "shap_tree", "kernel": "shap_kernel",
                          "mimic": "mimic.lightgbm"}[kind]  # fmt: skip
    assert exp.output == _expected_unit(kind, task, part, space)
    if part == "local":
        assert isinstance(exp, LocalExplanation)
    else:
        assert isinstance(exp, GlobalExplanation)
        glob = GlobalExplanation.from_local(local)
        np.testing.assert_allclose(exp.values, glob.values, rtol=1e-12)
        if clf:
            np.testing.assert_allclose(exp.per_class_values, glob.per_class_values, rtol=1e-12)
        np.testing.assert_allclose(exp.expected_values, local.expected_values, rtol=1e-12)
        if part == "globalonly":
            assert exp.local is None
            return
        exp = exp.local
    # local part: values, every class's expected value, the rows
    np.testing.assert_allclose(exp.values, local.values, rtol=1e-12)
    np.testing.assert_allclose(exp.expected_values, local.expected_values, rtol=1e-12)
    assert exp.classes == (classes if clf else None)
    if space == "raw" and part == "local":
        assert exp.data is None  # interpret-community keeps no rows in raw local files
    elif space == "raw":
        assert isinstance(exp.data, pd.DataFrame) and list(exp.data.columns) == list(X.columns)
        pd.testing.assert_frame_equal(exp.data, X, check_dtype=False)
        assert exp.data["radius"].dtype == np.float64  # numbers stay numbers beside text
    else:
        np.testing.assert_allclose(exp.data, rows)
    # a proven unit comes with the model's outputs: additivity can be checked (and holds)
    if exp.predictions is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", AdditivityWarning)
            assert exp.check_additivity() < 1e-9
        np.testing.assert_allclose(exp.predictions, local.predictions, rtol=1e-9, atol=1e-9)
    proven_with_outputs = (exp.output in ("probability", "prediction")
                           or (exp.output == "log_odds" and task == "binary"))  # fmt: skip
    has_outputs = part != "local" or space == "engineered"
    if kind != "mimic" and proven_with_outputs and has_outputs:
        assert exp.predictions is not None


def test_binary_linear_folder_of_the_issue(tmp_path):
    """The failing case of the issue: one expected value for a binary linear explanation."""
    ep, X, _ = _fitted("linear", "binary")
    local = ep.explain_local(X)
    props, md = ic_layout("linear", "binary", local=local.values,
                          expected=local.expected_values[1:], features=local.features,
                          classes=[0, 1], part="local", raw=True)  # fmt: skip
    assert props["expected_values"] == ("list", [float(local.expected_values[1])])
    exp = load_explanation(write_ic(tmp_path / "ic", props, md))
    np.testing.assert_allclose(exp.expected_values, local.expected_values)
    np.testing.assert_allclose(exp.values[1].sum(-1) + exp.expected_values[1],
                               ep.decision_function(X), atol=1e-10)  # fmt: skip


def test_sparse_local_values_of_a_binary_linear_model(tmp_path):
    ep, X, _ = _fitted("linear", "binary")
    local = ep.explain_local(X, space="engineered")
    props, md = ic_layout("linear", "binary", local=local.values,
                          expected=local.expected_values[1:], features=local.features,
                          classes=[0, 1], part="global", raw=False, sparse_local=True,
                          eval_rows=ep.preprocessor_.transform(X).tolist(), predicted=ep.predict(X).tolist(),
                          proba=ep.predict_proba(X))  # fmt: skip
    assert props["local_importance_values"][0] == "sparse" and md["is_local_sparse"]
    exp = load_explanation(write_ic(tmp_path / "ic", props, md))
    np.testing.assert_allclose(exp.local.values, local.values)
    assert exp.output == "log_odds" and exp.check_additivity() < 1e-9


def test_one_expected_value_for_two_unrelated_classes_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    props, md = ic_layout("tree", "binary", local=rng.normal(size=(2, 4, 3)), expected=[0.5],
                          features=["a", "b", "c"], classes=[0, 1], part="local", raw=True)  # fmt: skip
    with pytest.raises(ExplanationFormatError, match="one expected value for two classes"):
        load_explanation(write_ic(tmp_path / "ic", props, md))
