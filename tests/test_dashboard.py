"""Dashboard figure builders, callbacks and static export, called directly (no browser)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import penguin_preprocessor

pytest.importorskip("dash")
pytest.importorskip("plotly")
lightgbm = pytest.importorskip("lightgbm")

from explainable_pipeline import ExplainablePipeline, GlobalExplanation, LocalExplanation  # noqa: E402
from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402
from explainable_pipeline.dashboard import _figures as figs  # noqa: E402
from explainable_pipeline.dashboard._callbacks import Views, row_from_click  # noqa: E402
from explainable_pipeline.dashboard._data import (  # noqa: E402
    AUTO_CLASS,
    DashboardData,
    format_prediction,
)


@pytest.fixture(scope="module")
def fitted(penguin_explained):
    return penguin_explained


@pytest.fixture(scope="module")
def views(fitted):
    ep, X, y, local = fitted
    return Views(DashboardData(local, ep, true_y=y))


def test_data_holds_predictions_and_levels(fitted, views):
    ep, X, y, local = fitted
    data = views.data
    assert data.classes == ["Adelie", "Chinstrap", "Gentoo"]
    np.testing.assert_allclose(data.frame[["p(Adelie)", "p(Chinstrap)", "p(Gentoo)"]],
                               ep.predict_proba(X))  # fmt: skip
    assert (data.frame["predicted"] == ep.predict(X)).all()
    assert data.categorical["island"] == ["Biscoe", "Dream", "Torgersen"]
    assert set(data.numeric) >= {"bill_length_mm", "year"}
    assert not data.sampled and figs.sample_note(data) == ""


def test_global_bar_is_top_k_per_class(views):
    data = views.data
    fig = figs.global_bar(data, k=3)
    assert [t.name for t in fig.data] == data.classes
    top = data.local.get_ranked_global_names(top_k=3)
    assert list(fig.data[0].y) == top[::-1]  # most important on top
    for c, trace in enumerate(fig.data):  # each class's share of the mean over classes
        expected = [data.per_class[c, data.features.index(f)] / 3 for f in trace.y]
        np.testing.assert_allclose(trace.x, expected)
    # a bar is as long as the API's global importance (the mean over classes), not 3x it
    np.testing.assert_allclose(sum(np.asarray(t.x) for t in fig.data),
                               np.asarray(data.local.get_ranked_global_values(3)[::-1]))  # fmt: skip


def test_data_scatter_carries_rows_and_highlights_selection(views):
    fig = views.data_figure("bill_length_mm", "flipper_length_mm", "island", row=5)
    levels = [t.name for t in fig.data[:-1]]
    assert levels == ["Biscoe", "Dream", "Torgersen"]
    rows = np.concatenate([t.customdata for t in fig.data[:-1]])
    assert sorted(rows.tolist()) == list(range(views.data.n_rows))
    # plain lists: dcc.Graph cannot index plotly's base64 arrays to fill clickData
    assert all(isinstance(t["customdata"], list) for t in fig.to_plotly_json()["data"])
    star = fig.data[-1]
    assert list(star.customdata) == [5]
    assert star.x[0] == views.data.data["bill_length_mm"].iloc[5]


def test_dependence_plots_value_against_attribution(views):
    data = views.data
    fig = figs.dependence(data, "bill_length_mm", None, "Gentoo")
    j, c = data.features.index("bill_length_mm"), 2
    np.testing.assert_allclose(fig.data[0].y, data.values[c, :, j])
    np.testing.assert_allclose(fig.data[0].x, data.data["bill_length_mm"], equal_nan=True)
    assert "class Gentoo" in fig.layout.title.text


@pytest.mark.parametrize("kind", ["beeswarm", "box", "violin"])
def test_summary_kinds_show_top_k_distributions(views, kind):
    data = views.data
    fig = figs.summary(data, k=4, kind=kind, cls="Adelie")
    assert len(fig.data) == 4
    names = data.top_features(4)[::-1]
    for trace, name in zip(fig.data, names, strict=True):
        j = data.features.index(name)
        if kind == "beeswarm":  # at most 300 markers a feature: a random 300 of the 344 rows
            rows = np.asarray(trace.customdata)
            assert len(rows) == 300 and len(set(rows)) == 300
            np.testing.assert_allclose(trace.x, data.values[0, rows, j], rtol=1e-6)
        else:  # one shape a feature, from every row
            np.testing.assert_allclose(trace.x, data.values[0, :, j], rtol=1e-6)
    with pytest.raises(ValueError, match="beeswarm"):
        figs.summary(data, kind="pie")


def test_local_view_shows_the_rows_top_feature(fitted, views):
    ep, X, _, local = fitted
    row = 7
    fig, text, table = views.local(row, k=3, cls=AUTO_CLASS)
    c = int(np.argmax(ep.predict_proba(X.iloc[[row]])[0]))  # auto: the row's top class
    values = local.values[c, row]
    top = local.features[int(np.argmax(np.abs(values)))]
    assert f"Top feature: {top}" in text
    bar = fig.data[0]  # waterfall, top to bottom: the 3 largest |attributions|, then the rest
    assert bar.y[0] == top and len(bar.y) == 4
    np.testing.assert_allclose(np.abs(bar.x[:3]), np.sort(np.abs(values))[::-1][:3])
    assert [f for f, _, _ in table] == list(bar.y[:3])
    # the waterfall's order is the explanation's own rank_by="abs" order
    ranked = local.select(rows=[row], classes=[c]).get_ranked_local_names(3, rank_by="abs")
    assert list(bar.y[:3]) == ranked[0][0]


def test_row_from_click():
    assert row_from_click({"points": [{"customdata": 12}]}) == 12
    assert row_from_click({"points": [{"customdata": [3]}]}) == 3
    assert row_from_click(None) is None and row_from_click({"points": []}) is None


def test_whatif_prediction_and_attributions_come_from_the_model(fitted, views):
    ep, X, _, _ = fitted
    row = 0
    columns = views.whatif_columns()
    values = views.whatif_values(row)
    assert values[columns.index("island")] == X["island"].iloc[row]
    edits = dict(zip(columns, values, strict=True))
    edits["bill_length_mm"], edits["island"] = 55.0, "Biscoe"
    text, fig = views.whatif(row, list(edits.values()), k=10, cls="Gentoo")
    edited = X.iloc[[row]].copy()
    edited.loc[edited.index[0], ["bill_length_mm", "island"]] = [55.0, "Biscoe"]
    expected = format_prediction(ep.predict_proba(edited)[0], list(ep.classes_), True)
    assert text == expected
    assert text != views.prediction_text(X.iloc[[row]])
    new = ep.explain_local(edited)
    bar = fig.data[0]
    got = dict(zip(bar.y, bar.x, strict=True))
    for f, v in zip(new.features, new.values[2, 0], strict=True):
        assert got[f] == pytest.approx(v)


def test_edited_row_keeps_dtypes(views):
    frame = views.data.edited_row(3, {"year": 2009.0, "body_mass_g": None, "sex": "female"})
    assert frame["year"].dtype == views.data.data["year"].dtype and frame["year"][0] == 2009
    assert np.isnan(frame["body_mass_g"][0])
    assert frame["sex"][0] == "female"


def test_ice_varies_one_feature_for_the_row_and_others(fitted, views):
    ep, X, _, _ = fitted
    grid, rows, curves = views.data.ice_curves(4, "island", n_others=5)
    assert grid == ["Biscoe", "Dream", "Torgersen"] and rows[0] == 4 and len(rows) == 6
    for g, level in enumerate(grid):
        probe = X.iloc[[4]].copy()
        probe["island"] = level
        np.testing.assert_allclose(curves[0, g], ep.predict_proba(probe)[0])
    fig = views.ice_figure(4, "bill_length_mm", "Chinstrap", n_others=5)
    sel = fig.data[-1]
    assert sel.name.startswith("row 4")
    probe = pd.concat([X.iloc[[4]]] * len(sel.x), ignore_index=True)
    probe["bill_length_mm"] = list(sel.x)
    np.testing.assert_allclose(sel.y, ep.predict_proba(probe)[:, 1])
    assert sel.x[0] == X["bill_length_mm"].min() and sel.x[-1] == X["bill_length_mm"].max()


def test_large_data_is_sampled_with_a_note_and_top_k():
    rng = np.random.default_rng(0)
    n, f = 20_000, 200
    values = rng.normal(size=(n, f)) * 0.95 ** np.arange(f)
    names = [f"x{i}" for i in range(f)]
    local = LocalExplanation(values, 0.0, names, method="tree", space="raw", output="prediction",
                             data=pd.DataFrame(rng.normal(size=(n, f)), columns=names))  # fmt: skip
    data = DashboardData(local, max_points=1000)
    assert data.sampled and len(data.sample) == 1000
    assert "1,000 of 20,000" in figs.sample_note(data)
    fig = figs.data_scatter(data, "x0", "x1")
    assert len(fig.data[0].x) == 1000 and "1,000 of 20,000" in fig.layout.title.text
    assert list(figs.global_bar(data, 10).data[0].y) == names[:10][::-1]
    assert len(figs.summary(data, 15).data) == 15


def test_global_explanation_needs_its_local_part(fitted):
    _, _, _, local = fitted
    glob = GlobalExplanation.from_local(local)
    assert DashboardData(glob).features == local.features
    with pytest.raises(AttributeError, match="from_local"):
        DashboardData(GlobalExplanation.from_local(local, keep_local=False))
    with pytest.raises(ValueError, match="rows"):
        DashboardData(local, dataset=local.data.iloc[:10])


def test_app_layout_and_static_html(fitted, tmp_path):
    ep, X, y, local = fitted
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    layout = str(dash.app.layout())
    for id_ in ("data-graph", "importance-graph", "dep-graph", "summary-graph", "local-graph",
                "whatif-prediction", "ice-graph", "selected-row"):  # fmt: skip
        assert id_ in layout
    path = dash.save_html(tmp_path / "dash.html")
    html = path.read_text()
    assert html.count("<script") >= 2 and 'src="http' not in html  # plotly.js inlined
    assert "plotly.js (cartesian - minified)" in html and len(html) < 4_000_000
    assert re.findall(r'<section id="(\w+)"', html) == [
        "importance", "performance", "cohorts", "errors", "data", "dependence", "summary",
        "local", "whatif", "ice", "pdp"]  # fmt: skip
    assert html.count("static file cannot recompute") == 2
    assert local.get_ranked_global_names(top_k=1)[0] in html


def test_no_model_views_say_so(fitted):
    _, _, _, local = fitted
    dash = ExplanationDashboard(local)
    layout = str(dash.app.layout())
    assert "ice-graph" not in layout and "pdp-graph" not in layout
    assert layout.count("needs a live model") == 3  # what-if, ICE, partial dependence
    # without a model the data view shows the explained output per class
    assert "log_odds(Gentoo)" in dash.data.plot_columns


def test_cli_dashboard_command_writes_html(fitted, tmp_path, capsys):
    import argparse

    from explainable_pipeline.dashboard._cli import add_dashboard_command
    from explainable_pipeline.persistence import save

    ep, X, y, _ = fitted
    model_path = save(ep, tmp_path / "model.joblib")
    csv = tmp_path / "rows.csv"
    X.assign(species=y).iloc[:60].to_csv(csv, index=False)
    parser = argparse.ArgumentParser()
    add_dashboard_command(parser.add_subparsers(dest="command"))
    out = tmp_path / "out.html"
    args = parser.parse_args(["dashboard", str(model_path), str(csv), "--html", str(out),
                              "--target", "species", "--max-rows", "50",
                              "--cohort", "Dream=island == 'Dream'",
                              "--cohort", "long = bill_length_mm > 40"])  # fmt: skip
    assert args.handler(args) == 0
    assert "Wrote" in capsys.readouterr().out
    html = out.read_text()
    assert "50 rows, 7 features" in html and "static file cannot recompute" in html
    assert "query &quot;island == &#x27;Dream&#x27;&quot;" in html  # the cohort table
    assert "<td>long</td>" in html and "Model performance" in html  # truth from --target
    bad = parser.parse_args(["dashboard", str(model_path), str(csv), "--cohort", "no-equals"])
    with pytest.raises(ValueError, match="NAME=QUERY"):
        bad.handler(bad)
    args = parser.parse_args(["dashboard", str(tmp_path / "missing.joblib"), str(csv)])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        args.handler(args)


def _graphs(layout) -> dict:
    """{graph id: figure} of every dcc.Graph in a Dash layout."""
    from dash import dcc

    out, stack = {}, [layout]
    while stack:
        node = stack.pop()
        if isinstance(node, dcc.Graph):
            out[node.id] = node.figure
        children = getattr(node, "children", None)
        if children is not None:  # a single component child is falsy (no children of its own)
            stack.extend(children if isinstance(children, list) else [children])
    return out


def test_first_paint_layout_holds_only_the_landing_figure(fitted):
    from dash._utils import to_json

    from explainable_pipeline.dashboard._app import LANDING, PLACEHOLDER

    ep, X, y, local = fitted
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    graphs = _graphs(dash.app.layout())
    assert set(graphs) == {"importance-graph", "data-graph", "dep-graph", "summary-graph",
                           "local-graph", "whatif-graph", "ice-graph", "error-tree",
                           "error-heatmap", "pdp-graph",
                           *(f"perf-graph-{i}" for i in range(1, 5))}  # fmt: skip
    assert LANDING == "importance" and len(graphs.pop("importance-graph").data) == 3  # per class
    assert all(fig is PLACEHOLDER for fig in graphs.values())
    assert len(to_json(dash.app.layout())) < 40_000  # controls of 12 tabs; no data


def _post_update(client, output: str, inputs: list, state: list | None = None):
    """One ``/_dash-update-component`` request, as dash-renderer sends it."""
    graph, prop = output.split(".")
    payload = {"output": output, "outputs": {"id": graph, "property": prop},
               "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
               "changedPropIds": ["tabs.value"], "state": state or []}  # fmt: skip
    return client.post("/_dash-update-component", json=payload)


def test_views_are_computed_when_their_tab_is_selected(fitted):
    ep, X, y, local = fitted
    client = ExplanationDashboard(local, model=ep, true_y=y).app.server.test_client()
    inputs = [("data-x", "value", "bill_length_mm"), ("data-y", "value", "island"),
              ("data-color", "value", "predicted"), ("selected-row", "data", 5)]  # fmt: skip
    cohort = [("cohort-dropdown", "value", "All data")]
    hidden = _post_update(client, "data-graph.figure",
                          [*inputs, ("tabs", "value", "importance"), *cohort])  # fmt: skip
    assert hidden.status_code == 204  # PreventUpdate: nothing computed for a hidden tab
    shown = _post_update(client, "data-graph.figure", [*inputs, ("tabs", "value", "data"), *cohort])
    assert shown.status_code == 200
    fig = shown.get_json()["response"]["data-graph"]["figure"]
    assert fig["layout"]["title"]["text"].startswith("island vs bill_length_mm")
    assert fig["data"][-1]["name"] == "row 5"  # the selected row is starred


def test_page_loads_the_cartesian_plotly_bundle_up_front(fitted, monkeypatch):
    from explainable_pipeline.dashboard import _plotlyjs
    from explainable_pipeline.dashboard._app import PLOTLYJS_PATH

    ep, X, y, local = fitted
    app = ExplanationDashboard(local).app
    client = app.server.test_client()
    index = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', index)
    assert scripts[-1] == "/assets/plotly-cartesian.min.js"  # after Dash's, before the renderer
    assert index.index(scripts[-1]) < index.index('id="_dash-renderer"')
    assert not any("plotly.min.js" in s for s in scripts)
    bundle = client.get(scripts[-1]).get_data(as_text=True)
    assert "plotly.js (cartesian - minified) v" in bundle[:200]
    # every trace type the views draw is in that bundle
    views = Views(DashboardData(local, ep, true_y=y))
    figures = [views.data_figure("bill_length_mm", "island", "island", 3),
               views.importance_figure(5), views.dependence_figure("island", "sex", "Adelie", 3),
               *(views.summary_figure(5, kind, AUTO_CLASS) for kind in ("beeswarm", "box", "violin")),
               views.local(3, 5, AUTO_CLASS)[0], views.whatif(3, views.whatif_values(3), 5,
                                                               AUTO_CLASS)[1],
               views.ice_figure(3, "island", AUTO_CLASS), figs.empty("x")]  # fmt: skip
    from explainable_pipeline.dashboard._model_views import ModelViews

    mv = ModelViews(DashboardData(local, ep, true_y=y))
    figures += [*mv.performance_figures("All data", [], None, AUTO_CLASS),
                *mv.error_figures("All data", 3, 0.9, "island", "bill_length_mm"),
                mv.pdp_figure("All data", "bill_length_mm", None, AUTO_CLASS),
                mv.pdp_figure("All data", "bill_length_mm", "island", AUTO_CLASS)]  # fmt: skip
    used = {trace.type for fig in figures for trace in fig.data}
    assert used <= _plotlyjs.CARTESIAN_TRACES
    assert {"scatter", "bar", "box", "violin", "heatmap"} <= used
    # a plotly.py whose plotly.js differs from the bundle's version: the full bundle, up front
    monkeypatch.setattr("plotly.offline.get_plotlyjs_version", lambda: "0.0.1")
    _plotlyjs.cartesian_bundle.cache_clear()
    try:
        index = ExplanationDashboard(local).app.server.test_client().get("/").get_data(True)
        assert f'<script src="/{PLOTLYJS_PATH}"></script>' in index
        assert "plotly-cartesian" not in index
        assert "plotly.js (cartesian" not in _plotlyjs.plotlyjs_source()[:300]
    finally:
        _plotlyjs.cartesian_bundle.cache_clear()


# ---------------------------------------------------------------------------------------------
# Defects found in a user's walk through the dashboard (issue 16): one test each.


@pytest.fixture(scope="module")
def regression(penguins):
    """LightGBM regression of body mass on the other penguin columns."""
    X, _ = penguins
    keep = X["body_mass_g"].notna().to_numpy()
    X = X[keep].reset_index(drop=True)
    y = X.pop("body_mass_g").to_numpy()
    pre = penguin_preprocessor()
    pre.transformers[0] = ("num", pre.transformers[0][1],
                           ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "year"])  # fmt: skip
    model = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1, random_state=0)
    ep = ExplainablePipeline(pre, model, random_state=0).fit(X, y)
    return ep, X, y, ep.explain_local(X)


def _callback_key(app, outputs: list) -> str:
    """The key Dash files a callback under, found from its (string) output ids."""
    wanted = {f"{i}.{p}" for i, p in outputs}
    for key in app.callback_map:
        if set(re.findall(r"[\w-]+\.\w+", key)) == wanted:
            return key
    raise KeyError(outputs)


def _post(client, outputs: list, inputs: list, state: list | None = None, changed=None,
          app=None):  # fmt: skip
    """One multi-output ``/_dash-update-component`` request; returns the response json."""
    output = _callback_key(app, outputs)
    payload = {"output": output,
               "outputs": [{"id": i, "property": p} for i, p in outputs]
               if len(outputs) > 1 else {"id": outputs[0][0], "property": outputs[0][1]},
               "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
               "changedPropIds": changed or [f"{inputs[0][0]}.{inputs[0][1]}"],
               "state": [{"id": i, "property": p, "value": v} for i, p, v in state or []]}  # fmt: skip
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:2000]
    return response.get_json() if response.status_code == 200 else None


@pytest.mark.parametrize(("typed", "expected"), [(0, 1), (-3, 1), (3, 3), (999, 7), (2.6, 3)])
def test_top_k_box_is_clamped_and_box_slider_and_store_agree(fitted, typed, expected):
    ep, X, y, local = fitted
    app = ExplanationDashboard(local, model=ep, true_y=y).app
    client = app.server.test_client()
    out = _post(client, [("topk-input", "value"), ("topk-slider", "value"), ("topk", "data"),
                         ("topk-note", "children")],
                [("topk-input", "value", typed), ("topk-slider", "value", 5)], app=app)  # fmt: skip
    response = out["response"]
    assert response["topk-input"]["value"] == expected
    assert response["topk-slider"]["value"] == expected
    assert response["topk"]["data"] == expected
    note = response["topk-note"]["children"]
    assert ("between 1 and 7" in note) == (typed != expected)
    # the slider moved: the box follows
    out = _post(client, [("topk-input", "value"), ("topk-slider", "value"), ("topk", "data"),
                         ("topk-note", "children")],
                [("topk-input", "value", 5), ("topk-slider", "value", 2)],
                changed=["topk-slider.value"], app=app)  # fmt: skip
    assert out["response"]["topk-input"]["value"] == 2 and out["response"]["topk"]["data"] == 2


def test_top_k_box_applies_while_typing(fitted):
    """The box is a plain number input that fires on every keystroke (no blur needed)."""
    from dash import dcc

    ep, X, y, local = fitted
    layout = ExplanationDashboard(local, model=ep, true_y=y).app.layout()
    box = layout["topk-input"]
    assert isinstance(box, dcc.Input) and box.type == "number" and not box.debounce
    # no min/max/step: dcc.Input sends None for a value the browser deems invalid, so the
    # server could not see (nor correct) a typed 0 or 999; it clamps and writes back instead
    assert not any(hasattr(box, a) for a in ("min", "max", "step"))
    assert layout["topk-slider"].allow_direct_input is False  # one box, not two


def test_whatif_shows_the_data_range_and_warns_out_of_range(fitted, views):
    ep, X, _, _ = fitted
    columns, values = views.whatif_columns(), views.whatif_values(0)
    labels = dict(zip(columns, views.whatif_labels(), strict=True))
    lo, hi = X["bill_length_mm"].min(), X["bill_length_mm"].max()
    assert labels["bill_length_mm"] == f"bill_length_mm ({lo:.4g} to {hi:.4g})"
    assert views.whatif_warnings(values) == ""
    values[columns.index("bill_length_mm")] = -99999
    warning = views.whatif_warnings(values)
    assert "bill_length_mm = -99999" in warning and f"{lo:.4g} to {hi:.4g}" in warning
    assert "extrapolat" in warning


def test_whatif_title_says_edited_only_after_an_edit(views):
    row = 3
    values = views.whatif_values(row)
    _, fig = views.whatif(row, values, 5, AUTO_CLASS)
    assert "(edited)" not in fig.layout.title.text
    edited = list(values)
    edited[views.whatif_columns().index("bill_length_mm")] = 58.0
    _, fig = views.whatif(row, edited, 5, AUTO_CLASS)
    assert "(edited)" in fig.layout.title.text


def test_whatif_has_a_reset_button_that_restores_the_row(fitted):
    ep, X, y, local = fitted
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    assert "whatif-reset" in str(dash.app.layout())
    client = dash.app.server.test_client()
    views = Views(dash.data)
    n = len(views.whatif_columns())
    outputs = [({"type": "whatif", "column": c}, "value") for c in views.whatif_columns()]
    key = next(k for k in dash.app.callback_map if k.startswith("{") and "whatif" in k)
    payload = {"output": key, "outputs": [
        {"id": {"type": "whatif", "column": c}, "property": "value"} for c in
        views.whatif_columns()], "inputs": [{"id": "selected-row", "property": "data", "value": 4},
                                            {"id": "whatif-reset", "property": "n_clicks",
                                             "value": 1}],
        "changedPropIds": ["whatif-reset.n_clicks"], "state": []}  # fmt: skip
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    got = response.get_json()["response"]
    assert len(outputs) == n and len(got) == n
    assert [got[k]["value"] for k in got] == [
        v for v in views.whatif_values(4)
    ]


def test_ice_on_a_categorical_column_draws_markers_not_lines(views):
    fig = views.ice_figure(4, "island", "Adelie", n_others=5)
    assert all(t.mode == "markers" for t in fig.data)
    fig = views.ice_figure(4, "bill_length_mm", "Adelie", n_others=5)
    assert all("lines" in t.mode for t in fig.data)


def test_beeswarm_colours_categorical_columns_neutral_and_says_so(views):
    fig = figs.summary(views.data, k=7, kind="beeswarm", cls="Adelie")
    by_name = {t.name: t for t in fig.data}
    for name in ("island", "sex"):
        assert by_name[name].marker.color == figs.GREY
    assert isinstance(by_name["bill_length_mm"].marker.color, np.ndarray)  # shaded
    assert "grey" in fig.layout.title.text and "categorical" in fig.layout.title.text


def test_regression_hides_the_class_dropdown(regression):
    ep, X, y, local = regression
    layout = ExplanationDashboard(local, model=ep, true_y=y).app.layout()
    assert layout["class-control"].style["display"] == "none"
    assert "auto (row's top class)" not in str(layout["class-control"])


def test_legend_does_not_overlap_the_colour_bar(views):
    fig = views.data_figure("bill_length_mm", "flipper_length_mm", "body_mass_g", row=5)
    assert fig.data[0].marker.showscale  # a colour bar on the right...
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yanchor == "bottom" and legend.y >= 1
    fig = views.dependence_figure("bill_length_mm", "body_mass_g", "Adelie", 5)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y >= 1


def test_local_view_is_a_waterfall_from_base_value_to_output(fitted, views):
    ep, X, _, local = fitted
    row, k = 7, 3
    fig, text, table = views.local(row, k=k, cls="Gentoo")
    c = 2
    bars = fig.data[0]
    base = local.expected_values[c]
    out = base + local.values[c, row].sum()
    starts, widths = np.asarray(bars.base, float), np.asarray(bars.x, float)
    assert starts[0] == pytest.approx(base)
    np.testing.assert_allclose(starts[1:], (starts + widths)[:-1])  # each step starts where the last ended
    assert (starts + widths)[-1] == pytest.approx(out)  # ... and the last ends at the output
    # top k features by |attribution| then the rest in one bar, top to bottom
    top = np.argsort(-np.abs(local.values[c, row]), kind="stable")[:k]
    assert list(bars.y) == [local.features[j] for j in top] + ["4 other features"]
    np.testing.assert_allclose(widths[:k], local.values[c, row, top])
    # the text gives the base value and output in log-odds and the model's probability
    p = ep.predict_proba(X.iloc[[row]])[0, c]
    assert f"base value {base:.4f}" in text and f"{out:.4f}" in text and f"p(Gentoo) = {p:.4f}" in text
    # the table lists the bars' features in the bars' order, with raw values and attributions
    assert [r[0] for r in table] == list(bars.y)[:k]
    for (name, raw, value), j in zip(table, top, strict=True):
        assert raw == f"{X[name].iloc[row]:.4g}" if X[name].dtype.kind == "f" else str(X[name].iloc[row])
        assert value == f"{local.values[c, row, j]:+.4f}"


def test_binary_local_waterfall_gives_probabilities_at_each_step():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[:200, :6], y[:200]
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), random_state=0).fit(X, y)
    local = ep.explain_local(X)
    views = Views(DashboardData(local))  # no model: the probability comes from the log-odds
    fig, text, _ = views.local(0, 6, AUTO_CLASS)
    c = int(ep.predict(X.iloc[[0]])[0])
    p = ep.predict_proba(X.iloc[[0]])[0, c]
    assert f"p({c}) = {p:.4f}" in text
    ends = np.asarray(fig.data[0].base, float) + np.asarray(fig.data[0].x, float)
    for end, label in zip(ends, fig.data[0].customdata, strict=True):
        assert label == pytest.approx(1 / (1 + np.exp(-end)))  # hover: p after the step


def test_static_export_order_titles_and_messages(fitted, tmp_path):
    from explainable_pipeline.dashboard._app import TABS

    ep, X, y, local = fitted
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    html = dash.save_html(tmp_path / "d.html").read_text()
    sections = re.findall(r'<section id="(\w+)"', html)
    live = [v for v, _ in TABS if v in sections]
    assert sections == live  # same order as the live dashboard's tabs
    # what-if and ICE: a model was passed, the static file just cannot recompute
    assert "pass model=" not in html and "needs a live model" not in html
    assert html.count("static file cannot recompute") == 2
    # the dependence menu keeps the class in its titles
    fig = __import__("explainable_pipeline.dashboard._static", fromlist=["x"]).dependence_menu(
        dash.data)
    for button in fig.layout.updatemenus[0].buttons:
        assert button.args[1]["title.text"].endswith("— class Adelie")
    # the local rows are a slider under the plot, not a dropdown clipped by it
    from explainable_pipeline.dashboard._static import local_menu

    fig = local_menu(dash.data, 5)
    assert not fig.layout.updatemenus and len(fig.layout.sliders[0].steps) == 50
