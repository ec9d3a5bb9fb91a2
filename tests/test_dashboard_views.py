"""Dashboard model views without a browser: cohorts, performance, error analysis, partial
dependence and interactions, each against an independent computation (scikit-learn's
metrics and partial_dependence, a decision tree's own decision_path, brute-force Shapley
interaction values)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import (
    brute_force_shapley_rows,
    interacting_explanation,
    penguin_preprocessor,
    penguin_sex_model,
)

pytest.importorskip("dash")
lightgbm = pytest.importorskip("lightgbm")

from sklearn import metrics as skm  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.inspection import partial_dependence  # noqa: E402

from explainable_pipeline import ExplainablePipeline, LocalExplanation  # noqa: E402
from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402
from explainable_pipeline.dashboard._callbacks import Views  # noqa: E402
from explainable_pipeline.dashboard._cohorts import ALL, filter_mask, python_cohort  # noqa: E402
from explainable_pipeline.dashboard._data import AUTO_CLASS, DashboardData  # noqa: E402
from explainable_pipeline.dashboard._errors import (  # noqa: E402
    encode_columns,
    error_indicator,
    fit_error_tree,
)
from explainable_pipeline.dashboard._model_views import ModelViews  # noqa: E402


@pytest.fixture(scope="module")
def multi(penguin_explained):
    """3-class LightGBM on the penguins (NaN in numeric and categorical columns)."""
    return penguin_explained


@pytest.fixture(scope="module")
def binary(penguins):
    ep, X, y = penguin_sex_model(penguins)
    return ep, X, y, ep.explain_local(X)


# --------------------------------------------------------------------------------- cohorts
def test_filter_semantics_on_every_op():
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "c": ["a", None, "b", "a"],
                          "flag": [True, False, True, False], "k": [1, 2, 3, 1]})  # fmt: skip

    def rows(f):
        return np.flatnonzero(filter_mask(frame, f)).tolist()

    assert rows({"column": "x", "op": "<=", "value": 2}) == [0, 1]
    assert rows({"column": "x", "op": "<=", "value": 2, "missing": True}) == [0, 1, 2]
    assert rows({"column": "x", "op": ">", "value": 2}) == [3]
    assert rows({"column": "x", "op": "isna"}) == [2]
    assert rows({"column": "c", "op": "in", "values": ["a"]}) == [0, 3]
    assert rows({"column": "c", "op": "in", "values": ["b", None]}) == [1, 2]
    assert rows({"column": "c", "op": "not in", "values": ["a"]}) == [1, 2]  # missing: not "a"
    assert rows({"column": "c", "op": "not in", "values": ["a", None]}) == [2]
    # values as they come back from the browser (JSON): True, 1.0, "1"
    assert rows({"column": "flag", "op": "in", "values": [True]}) == [0, 2]
    assert rows({"column": "k", "op": "in", "values": [1.0]}) == [0, 3]
    assert rows({"column": "k", "op": "in", "values": ["1"]}) == [0, 3]
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        filter_mask(frame, {"column": "nope", "op": "isna"})


def test_python_cohorts_mask_rows_query_and_filters(multi):
    ep, X, y, local = multi
    dream = (X["island"] == "Dream").to_numpy()
    dash = ExplanationDashboard(local, model=ep, true_y=y, cohorts={
        "mask": dream, "rows": np.arange(10), "query": "island == 'Dream' and bill_length_mm > 45",
        "filters": [{"column": "island", "op": "in", "values": ["Dream"]}],
        "wrong": "correct == False",
    })  # fmt: skip
    got = dash.cohorts
    assert list(got) == [ALL, "mask", "rows", "query", "filters", "wrong"]
    np.testing.assert_array_equal(got["mask"], np.flatnonzero(dream))
    np.testing.assert_array_equal(got["filters"], np.flatnonzero(dream))
    np.testing.assert_array_equal(got["rows"], np.arange(10))
    np.testing.assert_array_equal(
        got["query"], np.flatnonzero(dream & (X["bill_length_mm"] > 45).to_numpy()))
    np.testing.assert_array_equal(got["wrong"], np.flatnonzero(ep.predict(X) != y))
    bad = [({"m": np.ones(5, bool)}, ValueError, "one value per row"),
           ({"q": "no_such_column > 1"}, ValueError, "query"),
           ({"r": np.array([0, 999])}, ValueError, "row positions"),
           ({"e": "island == 'Mars'"}, ValueError, "has no rows"),
           ({"t": 3.5}, TypeError, "boolean mask"),
           ({"All data": np.ones(len(X), bool)}, ValueError, "already exists"),
           ({"x" * 81: np.ones(len(X), bool)}, ValueError, "at most 80")]  # fmt: skip
    for cohorts, error, match in bad:
        with pytest.raises(error, match=match):
            ExplanationDashboard(local, cohorts=cohorts)


def test_cohort_statistics_come_from_the_cached_explanation(multi):
    ep, X, y, local = multi
    data = DashboardData(local, ep, true_y=y, max_points=50, cohorts={
        "gentoo-ish": "flipper_length_mm > 205"})  # fmt: skip
    rows = np.flatnonzero((X["flipper_length_mm"] > 205).to_numpy())
    st = data.cohorts.stats("gentoo-ish")
    np.testing.assert_array_equal(st.rows, rows)
    per_class = np.abs(local.values[:, rows, :]).mean(axis=1)
    np.testing.assert_allclose(st.per_class, per_class)
    np.testing.assert_allclose(st.importance, per_class.mean(axis=0))
    assert st.sample.size == 50 and set(st.sample) <= set(rows)
    assert data.cohorts.stats("gentoo-ish") is st  # cached: a switch back costs nothing
    # the views follow the cohort: the scatter draws only its rows, the bars its importance
    views = Views(data)
    fig = views.data_figure("bill_length_mm", "flipper_length_mm", None, None, "gentoo-ish")
    assert set(fig.data[0].customdata) == set(st.sample.tolist())
    assert "50 of" in fig.layout.title.text and "gentoo-ish" in fig.layout.title.text
    fig = views.importance_figure(7, "gentoo-ish")
    for c, trace in enumerate(fig.data):
        np.testing.assert_allclose(trace.x, [per_class[c, local.features.index(f)] / len(per_class)
                                             for f in trace.y])  # fmt: skip
    assert "cohort gentoo-ish" in fig.layout.title.text


def test_importance_compares_up_to_four_cohorts(multi):
    ep, X, y, local = multi
    islands = {i: f"island == '{i}'" for i in ("Dream", "Biscoe", "Torgersen")}
    data = DashboardData(local, ep, true_y=y, cohorts={**islands, "male": "sex == 'male'"})
    data.cohorts.add(python_cohort("female", "sex == 'female'", data.frame))
    fig = Views(data).importance_figure(3, "Dream", ["Biscoe", "Torgersen", "male", "female"],
                                        "Gentoo")  # fmt: skip
    assert [t.name.split(" (")[0] for t in fig.data] == ["Dream", "Biscoe", "Torgersen", "male"]
    top = np.argsort(-data.cohorts.stats("Dream").per_class[2], kind="stable")[:3]
    for trace in fig.data:
        name = trace.name.split(" (")[0]
        rows = np.flatnonzero(X["sex"] == name if name == "male" else X["island"] == name)
        expected = np.abs(local.values[2][rows]).mean(axis=0)
        np.testing.assert_allclose(trace.x, expected[top[::-1]])


def _action(client, app, trigger: str, state: dict) -> dict:
    """Post the cohort-actions callback as dash-renderer would after a click on ``trigger``."""
    key = next(k for k in app.callback_map if "cohort-pending.data" in k)
    spec = app.callback_map[key]
    inputs = [{"id": i["id"], "property": i["property"], "value": 1 if i["id"] == trigger else 0}
              for i in spec["inputs"]]  # fmt: skip
    states = [{"id": s["id"], "property": s["property"], "value": state.get(s["id"])}
              for s in spec["state"]]  # fmt: skip
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
               for o in key.strip(".").split("...")]  # fmt: skip
    response = client.post("/_dash-update-component", json={
        "output": key, "outputs": outputs, "inputs": inputs, "state": states,
        "changedPropIds": [f"{trigger}.n_clicks"]})  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


def test_cohort_made_in_the_browser_is_kept_on_the_server(multi, tmp_path):
    ep, X, y, local = multi
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    app, client = dash.app, dash.app.server.test_client()
    state = {"cohort-column": "bill_length_mm", "cohort-min": 45, "cohort-max": None,
             "cohort-pending": [], "cohort-dropdown": ALL, "compare-dropdown": []}  # fmt: skip
    out = _action(client, app, "cohort-add", state)
    pending = out["cohort-pending"]["data"]
    assert pending == [{"column": "bill_length_mm", "op": ">=", "value": 45.0}]
    state.update({"cohort-pending": pending + [{"column": "island", "op": "in",
                                                 "values": ["Dream"]}],
                  "cohort-name": "long Dream"})  # fmt: skip
    out = _action(client, app, "cohort-save", state)
    assert out["cohort-dropdown"]["value"] == "long Dream"
    assert "Saved cohort 'long Dream'" in out["cohort-message"]["children"]
    expected = np.flatnonzero(((X["bill_length_mm"] >= 45) & (X["island"] == "Dream")).to_numpy())
    np.testing.assert_array_equal(dash.cohorts["long Dream"], expected)
    # a taken name, an empty builder and deleting "All data" are refused with a message
    for trigger, extra, match in [("cohort-save", {}, "already exists"),
                                  ("cohort-save", {"cohort-pending": []}, "at least one filter"),
                                  ("cohort-delete", {}, "cannot be deleted")]:  # fmt: skip
        out = _action(client, app, trigger, {**state, **extra})
        assert match in out["cohort-message"]["children"]
    # kept in the static export, then deleted
    html = dash.save_html(tmp_path / "d.html").read_text()
    assert "long Dream" in html and "bill_length_mm &gt;= 45 and island in {Dream}" in html
    out = _action(client, app, "cohort-delete", {**state, "cohort-dropdown": "long Dream"})
    assert out["cohort-dropdown"]["value"] == ALL and "long Dream" not in dash.cohorts


# --------------------------------------------------------------------------------- performance
def test_multiclass_metrics_equal_scikit_learn_on_all_rows_and_a_cohort(multi):
    ep, X, y, local = multi
    data = DashboardData(local, ep, true_y=y, cohorts={"Biscoe": "island == 'Biscoe'"})
    mv = ModelViews(data)
    header, rows, notes = mv.performance_table(ALL, ["Biscoe"], None)
    assert header == ["metric", ALL, "Biscoe"] and "macro" in notes[0]
    table = {r[0]: r[1:] for r in rows}
    proba = ep.predict_proba(X)
    for j, mask in enumerate([np.ones(len(X), bool), (X["island"] == "Biscoe").to_numpy()]):
        yt, p = y[mask], proba[mask]
        pred = ep.classes_[p.argmax(1)]
        expected = {
            "accuracy": skm.accuracy_score(yt, pred),
            "precision (macro)": skm.precision_score(yt, pred, average="macro", zero_division=0),
            "recall (macro)": skm.recall_score(yt, pred, average="macro", zero_division=0),
            "F1 (macro)": skm.f1_score(yt, pred, average="macro", zero_division=0),
            "log-loss": skm.log_loss(yt, p, labels=ep.classes_),
        }
        if len(set(yt)) == 3:
            expected["ROC AUC"] = skm.roc_auc_score(yt, p, multi_class="ovr", labels=ep.classes_)
        assert table["rows"][j] == f"{mask.sum():,}"
        for name, value in expected.items():
            assert table[name][j] == f"{value:.4f}", name
    confusion = mv.performance_figures(ALL, [], None, AUTO_CLASS)[0]
    np.testing.assert_array_equal(confusion.data[0].customdata,
                                  skm.confusion_matrix(y, ep.predict(X), labels=ep.classes_))


def test_binary_threshold_moves_the_confusion_matrix_and_metrics(binary):
    ep, X, y, local = binary
    mv = ModelViews(DashboardData(local, ep, true_y=y))
    assert mv.threshold_applies()
    p = ep.predict_proba(X)[:, 1]
    for t in (0.3, 0.5, 0.8):
        pred = np.where(p >= t, "male", "female")
        fig = mv.performance_figures(ALL, [], t, AUTO_CLASS)[0]
        np.testing.assert_array_equal(fig.data[0].customdata,
                                      skm.confusion_matrix(y, pred, labels=["female", "male"]))
        _, rows, _ = mv.performance_table(ALL, [], t)
        table = {r[0]: r[1] for r in rows}
        assert table["accuracy"] == f"{skm.accuracy_score(y, pred):.4f}"
        assert table["precision (male)"] == f"{skm.precision_score(y, pred, pos_label='male'):.4f}"
        assert table["ROC AUC"] == f"{skm.roc_auc_score(y == 'male', p):.4f}"  # no threshold
    # the ROC curve marks the threshold's (FPR, TPR); calibration equals scikit-learn's
    figures = mv.performance_figures(ALL, [], 0.5, AUTO_CLASS)
    tn, fp, fn, tp = skm.confusion_matrix(y == "male", p >= 0.5).ravel()
    mark = figures[1].data[-1]
    assert (mark.x[0], mark.y[0]) == pytest.approx((fp / (fp + tn), tp / (tp + fn)))
    observed, predicted = calibration_curve(y == "male", p, n_bins=10)
    np.testing.assert_allclose(figures[3].data[1].y, observed)
    np.testing.assert_allclose(figures[3].data[1].x, predicted)


def test_without_a_model_probabilities_come_from_the_log_odds(binary):
    ep, X, y, local = binary
    mv = ModelViews(DashboardData(local, true_y=y))  # no model: explained log-odds only
    _, rows, _ = mv.performance_table(ALL, [], 0.5)
    table = {r[0]: r[1] for r in rows}
    assert table["log-loss"] == f"{skm.log_loss(y, ep.predict_proba(X)):.4f}"
    assert table["accuracy"] == f"{ep.score(X, y):.4f}"


def test_regression_metrics_and_residuals(penguins):
    X, _ = penguins
    X = X[X["body_mass_g"].notna()].reset_index(drop=True)
    y = X.pop("body_mass_g").to_numpy()
    pre = penguin_preprocessor()
    pre.transformers[0] = ("num", pre.transformers[0][1],
                           ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "year"])  # fmt: skip
    ep = ExplainablePipeline(pre, lightgbm.LGBMRegressor(n_estimators=20, verbose=-1),
                             random_state=0).fit(X, y)  # fmt: skip
    y_noisy = y.astype(float).copy()
    y_noisy[:3] = np.nan  # rows without a target are left out, and said so
    mv = ModelViews(DashboardData(ep.explain_local(X), ep, true_y=y_noisy))
    assert not mv.threshold_applies()
    _, rows, notes = mv.performance_table(ALL, [], None)
    table = {r[0]: r[1] for r in rows}
    pred = ep.predict(X)[3:]
    assert table["rows"] == f"{len(X) - 3:,}" and "3 rows without a finite target" in notes[0]
    assert table["R2"] == f"{skm.r2_score(y[3:], pred):.4f}"
    assert table["MAE"] == f"{skm.mean_absolute_error(y[3:], pred):.4f}"
    assert table["RMSE"] == f"{np.sqrt(skm.mean_squared_error(y[3:], pred)):.4f}"
    actual, resid, by_col, boxes = mv.performance_figures(ALL, [], None, AUTO_CLASS, "island")
    rows = np.asarray(resid.data[0].customdata)
    np.testing.assert_allclose(resid.data[0].y, (y - ep.predict(X))[rows],
                               rtol=1e-6)  # float32 on the wire  # fmt: skip
    assert by_col.layout.xaxis.title.text == "island"
    r = (y - ep.predict(X))[3:]  # the box's statistics are computed on the server, all rows
    box = boxes.data[0]
    q1, med, q3 = np.percentile(r, [25, 50, 75])
    assert (box.q1[0], box.median[0], box.q3[0], box.mean[0]) == pytest.approx(
        (q1, med, q3, r.mean()))  # fmt: skip
    assert box.upperfence[0] == r[r <= q3 + 1.5 * (q3 - q1)].max()
    # the error tree of a regression: errors are the top 10% absolute errors
    is_error, what = error_indicator(mv.data, np.arange(len(X)))
    assert is_error.sum() == pytest.approx(0.1 * (len(X) - 3), abs=2) and "top 10%" in what


def test_performance_view_says_it_needs_the_truth(multi):
    ep, X, y, local = multi
    layout = str(ExplanationDashboard(local, model=ep).app.layout())
    assert "needs the true targets: pass true_y=" in layout
    assert "perf-graph-1" not in layout and "error-tree" not in layout


# --------------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def planted(multi):
    """The penguin model, with "true" labels flipped where bill_depth > 18 on Dream island."""
    ep, X, y, local = multi
    region = ((X["bill_depth_mm"] > 18) & (X["island"] == "Dream")).to_numpy()
    truth = y.to_numpy().copy()
    truth[region] = np.where(ep.predict(X)[region] == "Adelie", "Gentoo", "Adelie")
    return DashboardData(local, ep, true_y=truth), region


def test_error_tree_nodes_are_filters_that_reproduce_the_tree(planted):
    data, region = planted
    rows = np.arange(data.n_rows)
    is_error, what = error_indicator(data, rows)
    tree = fit_error_tree(data, rows, is_error, what, max_depth=3)
    X, _ = encode_columns(data, rows, is_error)
    membership = tree.estimator.decision_path(X).toarray().astype(bool)  # (rows, nodes)
    for node in tree.nodes:
        mask = np.ones(data.n_rows, bool)
        for f in node.filters:
            mask &= filter_mask(data.frame, f)
        np.testing.assert_array_equal(mask, membership[:, node.id], err_msg=str(node.filters))
        assert node.n == mask.sum() and node.errors == is_error[mask].sum()
    leaves = [nd for nd in tree.nodes if nd.is_leaf]
    assert sum(nd.n for nd in leaves) == data.n_rows
    assert sum(nd.coverage for nd in leaves) == pytest.approx(1.0)
    # the tree finds the planted region: a leaf almost all errors, described by its columns
    worst = max(leaves, key=lambda nd: (nd.error_rate, nd.n))
    assert worst.error_rate > 0.9 and worst.coverage > 0.8
    words = " ".join(f["column"] for f in worst.filters)
    assert "bill_depth_mm" in words and "island" in words


def test_error_tree_routes_missing_values_like_the_tree():
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v", None], n)})
    X.loc[rng.choice(n, 120, replace=False), "a"] = np.nan
    wrong = (X["a"].isna() | (X["a"] > 1)).to_numpy() & (rng.random(n) < 0.9)
    local = LocalExplanation(rng.normal(size=(2, n, 2)), [0.0, 0.0], ["a", "b"], classes=[0, 1],
                             method="tree", space="raw", output="log_odds", data=X)  # fmt: skip
    pred = (local.values[1].sum(1) > 0).astype(int)
    data = DashboardData(local, true_y=np.where(wrong, 1 - pred, pred))
    rows = np.arange(n)
    is_error, what = error_indicator(data, rows)
    tree = fit_error_tree(data, rows, is_error, what, max_depth=3)
    membership = tree.estimator.decision_path(encode_columns(data, rows, is_error)[0]).toarray()
    assert any(f.get("missing") for nd in tree.nodes for f in nd.filters)  # NaN routed by a split
    for node in tree.nodes:
        mask = np.ones(n, bool)
        for f in node.filters:
            mask &= filter_mask(data.frame, f)
        np.testing.assert_array_equal(mask, membership[:, node.id].astype(bool))


def test_heatmap_cells_are_filters_with_their_counts(planted):
    data, region = planted
    mv = ModelViews(data)
    rows = np.arange(data.n_rows)
    is_error, _ = error_indicator(data, rows)
    hm = mv.heatmap(ALL, "bill_depth_mm", "island")
    assert hm.counts.sum() == data.n_rows  # every row in one cell (missing has its own bin)
    assert "missing" in hm.x_labels and hm.y_labels == ["Biscoe", "Dream", "Torgersen"]
    for (i, j), filters in hm.filters.items():
        mask = np.ones(data.n_rows, bool)
        for f in filters:
            mask &= filter_mask(data.frame, f)
        assert mask.sum() == hm.counts[i, j] and is_error[mask].sum() == hm.errors[i, j]
    # a click selects a cell; saving it makes a cohort of exactly those rows
    i, j = np.unravel_index(np.nanargmax(np.where(hm.counts > 10, hm.rate, -1)), hm.rate.shape)
    sel = mv.select_cell(ALL, 0.9, "bill_depth_mm", "island", f"{i},{j}")
    assert hm.y_labels[i] == "Dream" and sel["n"] == hm.counts[i, j]
    name = mv.save_cohort(sel["name"], sel["filters"], base=sel["cohort"])
    assert data.cohorts.rows(name).size == hm.counts[i, j]
    assert f"{sel['n']:,} rows" in mv.selection_text(sel)


def test_error_node_inside_a_cohort_is_a_cohort_of_that_cohort(planted):
    data, region = planted
    mv = ModelViews(data)
    dream = mv.save_cohort("Dream", [{"column": "island", "op": "in", "values": ["Dream"]}])
    tree = mv.error_tree(dream, 2)
    node = max((nd for nd in tree.nodes if nd.is_leaf), key=lambda nd: nd.error_rate)
    sel = mv.select_node(dream, 2, 0.9, node.id)
    name = mv.save_cohort(None, sel["filters"], base=sel["cohort"])
    rows = data.cohorts.rows(name)
    assert rows.size == node.n and set(rows) <= set(data.cohorts.rows(dream))
    assert data.cohorts.get(name).description().startswith("[Dream] and ")


# --------------------------------------------------------------------------------- partial dependence
@pytest.mark.parametrize("columns", [["bill_depth_mm"], ["species"], ["bill_depth_mm", "species"],
                                     ["year"]])  # fmt: skip
def test_partial_dependence_equals_scikit_learn(binary, columns):
    from explainable_pipeline.dashboard._pdp import partial_dependence as ours

    ep, X, y, local = binary
    data = DashboardData(local, ep, true_y=y)
    cat = [c for c in columns if c in data.categorical]
    res = 10 if len(columns) == 2 else 20
    # scikit-learn refuses integer columns (year); the dashboard sweeps their values as ints
    Xf = X.astype({"year": float})
    ref = partial_dependence(ep, Xf, columns, categorical_features=cat or None,
                             grid_resolution=res, kind="both" if len(columns) == 1 else "average")  # fmt: skip
    got = ours(data, np.arange(len(X)), columns, n_ice=len(X), max_rows=len(X))
    for g, r in zip(got.grids, ref["grid_values"], strict=True):
        assert list(map(str, g)) == list(map(str, r)) if cat else np.allclose(g, r)
    np.testing.assert_allclose(got.average[..., 1], ref["average"][0], atol=1e-12)
    if len(columns) == 1:  # ICE of every row equals scikit-learn's individual curves
        np.testing.assert_allclose(got.ice[..., 1], ref["individual"][0][got.ice_rows], atol=1e-12)


def test_partial_dependence_figure_per_class_and_cohort(multi):
    ep, X, y, local = multi
    data = DashboardData(local, ep, true_y=y, cohorts={"Dream": "island == 'Dream'"})
    mv = ModelViews(data)
    fig = mv.pdp_figure("Dream", "flipper_length_mm", None, "Chinstrap")
    dream = X[X["island"] == "Dream"]
    pd_trace = fig.data[-1]
    ref = partial_dependence(ep, dream, ["flipper_length_mm"], grid_resolution=20)
    np.testing.assert_allclose(pd_trace.x, ref["grid_values"][0])
    np.testing.assert_allclose(pd_trace.y, ref["average"][1])  # Chinstrap
    assert "p(Chinstrap)" in fig.layout.title.text and "124 rows" in fig.layout.title.text
    fig = mv.pdp_figure(ALL, "island", None, "Adelie")  # categorical: markers only
    assert all(t.mode == "markers" for t in fig.data) and fig.layout.xaxis.type == "category"
    fig = mv.pdp_figure(ALL, "bill_length_mm", "island", "Adelie")  # 2-D: a heat map
    assert fig.data[0].type == "heatmap" and list(fig.data[0].y) == ["Biscoe", "Dream",
                                                                     "Torgersen"]  # fmt: skip
    assert "needs a live model" in ModelViews(DashboardData(local)).pdp_figure(
        ALL, "island", None, AUTO_CLASS).layout.annotations[0].text  # fmt: skip


# --------------------------------------------------------------------------------- interactions
@pytest.fixture(scope="module")
def interacting():
    local, inter, X, _ = interacting_explanation()
    return local, inter, X, list(local.features)


class _Interactions:
    """Duck type of the coming InteractionExplanation: values, features, classes."""

    def __init__(self, values, features, classes=None):
        self.values, self.features, self.classes = values, features, classes


def test_interaction_ranking_and_dependence_equal_brute_force(interacting):
    local, inter, X, names = interacting
    assert np.allclose(inter.sum(-1), local.values)  # main effects + interactions = attributions
    _, _, _, f = interacting_explanation()
    for row in (0, 7):  # the enumeration's Shapley values equal the permutation definition's
        np.testing.assert_allclose(local.values[row], brute_force_shapley_rows(
            f, X[row], X[:40], np.full(40, 1 / 40)), atol=1e-12)  # fmt: skip
    mv = ModelViews(DashboardData(local, interactions=inter))
    pairs = mv.interaction_pairs(ALL, AUTO_CLASS)
    assert pairs[0][:2] == ("a", "b") and pairs[1][:2] == ("c", "d")  # the planted products
    expected = np.abs(2 * inter[:, 0, 1]).mean()
    assert pairs[0][2] == pytest.approx(expected)
    ranking, matrix, scatter = mv.interaction_figures(ALL, 3, AUTO_CLASS, "c × d")
    assert list(ranking.data[0].y) == [f"{a} × {b}" for a, b, _ in pairs[:3]][::-1]  # top up
    np.testing.assert_allclose(ranking.data[0].x, [v for _, _, v in pairs[:3]][::-1])
    rows = np.asarray(scatter.data[0].customdata)
    np.testing.assert_allclose(scatter.data[0].y, inter[rows, 2, 3] + inter[rows, 3, 2], rtol=1e-6)
    np.testing.assert_allclose(scatter.data[0].x, X[rows, 2])
    # the matrix: mean |phi_ij + phi_ji| off the diagonal, mean |main effect| on it
    top = [names.index(f) for f in matrix.data[0].x]
    sym = np.abs(inter + np.swapaxes(inter, 1, 2)).mean(0)
    np.fill_diagonal(sym, np.abs(np.diagonal(inter, axis1=1, axis2=2)).mean(0))
    np.testing.assert_allclose(matrix.data[0].z, sym[np.ix_(top, top)], rtol=1e-6)


def test_interactions_accept_the_duck_type_in_any_feature_order_and_shap_layout(interacting):
    local, inter, X, names = interacting
    order = [2, 0, 3, 1]
    shuffled = _Interactions(inter[:, order][:, :, order], [names[i] for i in order])
    a = DashboardData(local, interactions=shuffled).interactions
    np.testing.assert_allclose(a.values[0], inter)
    # per class: class-major or shap's classes-last; both classes of a binary "model"
    local2 = LocalExplanation(np.stack([-local.values, local.values]), [-0.1, 0.1], names,
                              classes=["no", "yes"], method="exact", space="raw",
                              output="log_odds", data=local.data)  # fmt: skip
    per_class = np.stack([-inter, inter])
    for values in (per_class, np.moveaxis(per_class, 0, -1)):
        got = DashboardData(local2, interactions=_Interactions(values, names, ["no", "yes"]))
        np.testing.assert_allclose(got.interactions.values, per_class)
    with pytest.raises(ValueError, match="must have shape"):
        DashboardData(local, interactions=inter[:10])
    with pytest.raises(ValueError, match="not the explanation's features"):
        DashboardData(local, interactions=_Interactions(inter, ["a", "b", "c", "x"]))
    with pytest.raises(ValueError, match="classes"):
        DashboardData(local2, interactions=_Interactions(per_class, names, ["yes", "no"]))
    with pytest.warns(UserWarning, match="do not add up"):
        DashboardData(local, interactions=inter * 1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DashboardData(local, interactions=inter)  # consistent: no warning


def test_interactions_tab_only_with_interaction_values(interacting, tmp_path):
    local, inter, X, names = interacting
    assert "Interactions" not in str(ExplanationDashboard(local).app.layout())
    dash = ExplanationDashboard(local, interactions=inter)
    assert "inter-scatter" in str(dash.app.layout())
    html = dash.save_html(tmp_path / "d.html").read_text()
    assert re.search(r'<section id="interactions">', html) and 'id="graph-interactions"' in html
    assert "a \\u00d7 b" in html  # the strongest pair, in plotly's JSON


def test_cohort_names_are_shown_as_typed_not_as_html(multi):
    ep, X, y, local = multi
    name = "bill < 40 & <b>bold</b>"
    data = DashboardData(local, ep, true_y=y, cohorts={name: "bill_length_mm < 40"})
    views, mv = Views(data), ModelViews(data)
    escaped = "bill &lt; 40 &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert escaped in views.importance_figure(5, name).layout.title.text
    assert escaped in views.data_figure("bill_length_mm", "island", None, None, name).layout.title.text
    legend = [t.name for t in views.importance_figure(5, ALL, [name]).data]
    assert legend[1].startswith(escaped)
    figures = mv.performance_figures(name, [], None, AUTO_CLASS)
    assert escaped in figures[0].layout.title.text
    assert all("<b>" not in (t.name or "") for f in figures for t in f.data)
    # Dash components (dropdown labels, tables) escape on their own: the name stays as typed
    assert {"label": f"{name} ({(X['bill_length_mm'] < 40).sum()} rows)", "value": name} in (
        mv.cohort_options())  # fmt: skip
