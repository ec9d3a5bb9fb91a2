"""Layout of the model tabs (performance, cohorts, error analysis, partial dependence,
interactions) and of the header's cohort controls. Graphs start as placeholders; their
callbacks (``_wiring.py``) fill them when the tab is opened.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from . import _metrics
from ._cohorts import ALL, MAX_COMPARE
from ._data import AUTO_CLASS
from ._model_views import ModelViews

ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap"}
CTRL = {"minWidth": "220px"}
HALF = {"flex": "1 1 560px", "minWidth": "420px"}
NOTE = {"fontSize": "0.85em", "color": "#666"}
NEEDS_MODEL_PDP = (
    "Partial dependence needs a live model: pass model= to ExplanationDashboard and call "
    "serve() (or run `explainable-pipeline dashboard MODEL DATA.csv`)."
)


def labelled(label: str, component: Any, style: dict | None = None) -> html.Div:
    return html.Div([html.Label(label, style={"fontSize": "0.85em"}), component],
                    style=style or CTRL)  # fmt: skip


def dropdown(id_: str, options: list, value: Any, clearable: bool = False,
             **kwargs: Any) -> dcc.Dropdown:  # fmt: skip
    return dcc.Dropdown(id=id_, options=[{"label": str(o), "value": o} for o in options],
                        value=value, clearable=clearable, **kwargs)  # fmt: skip


def cohort_controls(mv: ModelViews) -> html.Div:
    """Header: the active cohort (every view follows it) and the cohorts compared with it."""
    options = mv.cohort_options()
    return html.Div(
        [
            labelled("Cohort", dcc.Dropdown(id="cohort-dropdown", options=options, value=ALL,
                                            clearable=False)),  # fmt: skip
            labelled(f"Compare with (up to {MAX_COMPARE - 1})",
                     dcc.Dropdown(id="compare-dropdown", options=options, value=[], multi=True),
                     style={"minWidth": "300px"}),  # fmt: skip
            html.Div(id="compare-note", style={"fontSize": "0.8em", "color": "#a05a00"}),
        ],
        style=ROW,
    )


def _graph(id_: str, placeholder: dict, config: dict, style: dict | None = None) -> html.Div:
    return html.Div(dcc.Graph(id=id_, figure=placeholder, config=config), style=style or HALF)


def performance_tab(mv: ModelViews, placeholder: dict, config: dict) -> list:
    if not mv.has_truth:
        return [html.P(_metrics.NO_TRUTH, id="perf-note")]
    controls = []
    if mv.threshold_applies():
        labels = [str(v) for v in mv.data.output_labels]
        controls.append(labelled(
            f"Probability threshold for {labels[1]}",
            dcc.Slider(id="threshold-slider", min=0, max=1, step=0.01, value=0.5,
                       marks={0: "0", 0.25: "0.25", 0.5: "0.5", 0.75: "0.75", 1: "1"}),
            style={"minWidth": "420px"},
        ))  # fmt: skip
    if not mv.data.is_classifier:
        columns = list(mv.data.columns)
        controls.append(labelled("residuals vs", dropdown("perf-column", columns,
                                                          mv.data.top_features(1)[0])))  # fmt: skip
    graphs = [_graph(f"perf-graph-{i}", placeholder, config) for i in range(1, 5)]
    return [
        html.Div(controls, style=ROW),
        html.Div(id="perf-table", style={"margin": "8px 0"}),
        html.Div(graphs, style={**ROW, "alignItems": "flex-start"}),
    ]


def cohorts_tab(mv: ModelViews) -> list:
    columns = mv.filter_columns()
    return [
        dcc.Store(id="cohort-pending", data=[]),
        html.H4("New cohort", style={"margin": "4px 0"}),
        html.Div(
            [
                labelled("column", dropdown("cohort-column", columns, None, clearable=True)),
                html.Div([labelled("minimum", dcc.Input(id="cohort-min", type="number")),
                          labelled("maximum", dcc.Input(id="cohort-max", type="number"))],
                         id="cohort-range", style={**ROW, "display": "none"}),  # fmt: skip
                html.Div(labelled("values", dcc.Dropdown(id="cohort-levels", multi=True),
                                  style={"minWidth": "320px"}),
                         id="cohort-levels-box", style={"display": "none"}),  # fmt: skip
                html.Button("Add filter", id="cohort-add", n_clicks=0),
                html.Button("Clear filters", id="cohort-clear", n_clicks=0),
            ],
            style=ROW,
        ),
        html.Div(id="cohort-range-note", style=NOTE),
        html.Div("Filters: none", id="cohort-pending-text", style={"margin": "6px 0"}),
        html.Div(
            [
                labelled("name", dcc.Input(id="cohort-name", type="text",
                                           placeholder=mv.data.cohorts.default_name())),  # fmt: skip
                html.Button("Save cohort", id="cohort-save", n_clicks=0),
                html.Button("Delete the active cohort", id="cohort-delete", n_clicks=0),
            ],
            style=ROW,
        ),
        html.Div(id="cohort-message", style={"margin": "6px 0", "fontWeight": "bold"}),
        html.H4("Cohorts", style={"margin": "12px 0 4px"}),
        html.Div(id="cohort-table"),
        html.P("A cohort made here, from an error-analysis node or cell, or passed as "
               "ExplanationDashboard(cohorts={name: mask or query}) switches every view; "
               "cohorts are kept in save_html and in ExplanationDashboard.cohorts.",
               style=NOTE),  # fmt: skip
    ]


def errors_tab(mv: ModelViews, placeholder: dict, config: dict) -> list:
    if not mv.has_truth:
        return [html.P(_metrics.NO_TRUTH.replace("Model performance", "Error analysis"),
                       id="errors-note")]  # fmt: skip
    data = mv.data
    columns = list(data.columns)
    top = data.top_features(2)
    controls = [
        labelled("tree depth", dropdown("error-depth", [1, 2, 3, 4, 5], 3)),
        labelled("heat map x", dropdown("error-x", columns, top[0])),
        labelled("heat map y", dropdown("error-y", columns, None, clearable=True)),
    ]
    if not data.is_classifier:
        controls.insert(1, labelled("an error is", dcc.Dropdown(
            id="error-quantile", value=0.9, clearable=False, options=[
                {"label": f"top {p}% absolute error", "value": 1 - p / 100} for p in (5, 10, 20)
            ])))  # fmt: skip
    return [
        dcc.Store(id="error-selected", data=None),
        html.Div(controls, style=ROW),
        html.Div([_graph("error-tree", placeholder, config, {"flex": "1 1 100%"})]),
        html.Div(
            [
                html.Div(mv.selection_text(None), id="error-selection", style={"flex": "1"}),
                dcc.Input(id="error-cohort-name", type="text", placeholder="cohort name",
                          style={"width": "240px"}),
                html.Button("Save selection as cohort", id="error-save", n_clicks=0),
            ],
            style={**ROW, "margin": "6px 0"},
        ),
        html.Div(id="error-message", style={"fontWeight": "bold"}),
        html.Div([_graph("error-heatmap", placeholder, config, {"flex": "1 1 100%"})]),
    ]


def pdp_tab(mv: ModelViews, placeholder: dict, config: dict) -> list:
    data = mv.data
    if data.model is None:
        return [html.P(NEEDS_MODEL_PDP, id="pdp-note")]
    columns = list(data.columns)
    first = next((f for f in data.top_features(len(data.features)) if f in columns), columns[0])
    return [
        html.Div(
            [
                labelled("column", dropdown("pdp-column", columns, first)),
                labelled("second column (2-D)", dropdown("pdp-column2", columns, None, True)),
                dcc.Checklist(id="pdp-ice", options=[{"label": " ICE lines", "value": "ice"}],
                              value=["ice"]),  # fmt: skip
            ],
            style=ROW,
        ),
        _graph("pdp-graph", placeholder, config, {"width": "100%"}),
    ]


def interactions_tab(mv: ModelViews, placeholder: dict, config: dict) -> list:
    pairs = [f"{a} × {b}" for a, b, _ in mv.interaction_pairs(ALL, AUTO_CLASS)][:50]
    return [
        html.Div(html.Div([_graph("inter-rank", placeholder, config),
                           _graph("inter-matrix", placeholder, config)],
                          style={**ROW, "alignItems": "flex-start"})),  # fmt: skip
        html.Div(labelled("pair", dropdown("inter-pair", pairs, pairs[0] if pairs else None),
                          style={"minWidth": "360px"}), style=ROW),  # fmt: skip
        _graph("inter-scatter", placeholder, config, {"width": "100%"}),
    ]

