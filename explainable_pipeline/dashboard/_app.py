"""Dash layout and callback wiring (the computing is in ``_callbacks.Views``)."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from . import _figures as figs
from ._callbacks import Views, row_from_click
from ._data import AUTO_CLASS, DashboardData

_ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap"}
_CTRL = {"minWidth": "220px"}
_GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
NEEDS_MODEL = (
    "This view needs a live model: pass model= to ExplanationDashboard and call serve() "
    "(or run `explainable-pipeline dashboard MODEL DATA.csv`)."
)
# Global importance first: a bar chart paints fastest, the scatters follow on click.
TABS = [
    ("importance", "Global importance"),
    ("data", "Data exploration"),
    ("dependence", "Explanation exploration"),
    ("summary", "Summary importance"),
    ("local", "Local importance"),
    ("whatif", "What-if"),
    ("ice", "ICE"),
]


def _labelled(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, style={"fontSize": "0.85em"}), component], style=_CTRL)


def _dropdown(id_: str, options: list, value: Any, clearable: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[{"label": str(o), "value": o} for o in options],
                        value=value, clearable=clearable)  # fmt: skip


def _graph(id_: str, figure: Any) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=figure, config=_GRAPH_CONFIG)


def _defaults(data: DashboardData) -> dict:
    top = [f for f in data.top_features(len(data.features)) if f in data.columns]
    pred_cols = [c for c in data.plot_columns if c not in data.columns]
    x = top[0] if top else data.columns[0]
    y = top[1] if len(top) > 1 else (pred_cols[0] if pred_cols else x)
    color = pred_cols[0] if pred_cols else None
    return {"x": x, "y": y, "color": color, "dep_feature": x, "k": min(10, len(data.features))}


def _header(data: DashboardData, views: Views, d: dict) -> html.Div:
    classes = data.classes or []
    class_options = [{"label": "auto (row's top class)", "value": AUTO_CLASS}] + [
        {"label": c, "value": c} for c in classes
    ]
    n = len(data.features)
    marks = {i: str(i) for i in sorted({1, min(5, n), min(10, n), min(20, n), n})}
    return html.Div(
        [
            html.H2("Explanation dashboard", style={"margin": "4px 0"}),
            html.Div(
                [
                    _labelled(
                        "Class",
                        dcc.Dropdown(
                            id="class-dropdown",
                            options=class_options,
                            value=AUTO_CLASS,
                            clearable=False,
                            disabled=not classes,
                        ),
                    ),  # fmt: skip
                    html.Div(
                        [
                            html.Label("Top K features", style={"fontSize": "0.85em"}),
                            dcc.Slider(
                                id="topk-slider", min=1, max=n, step=1, value=d["k"], marks=marks
                            ),
                        ],  # fmt: skip
                        style={"minWidth": "320px"},
                    ),  # fmt: skip
                    html.Div(
                        f"Selected row: {views.initial_row}",
                        id="selected-row-text",
                        style={"fontWeight": "bold"},
                    ),  # fmt: skip
                    html.Div(
                        figs.sample_note(data), id="sample-note", style={"color": "#a05a00"}
                    ),  # fmt: skip
                ],
                style=_ROW,
            ),
            html.Div(
                "Click a point in any scatter to select a row.",
                style={"fontSize": "0.8em", "color": "#666"},
            ),  # fmt: skip
        ]
    )


def _tab_contents(data: DashboardData, views: Views, d: dict) -> dict:
    row, k = views.initial_row, d["k"]
    cols, raw = data.plot_columns, data.columns
    fig, text, table = views.local(row, k, AUTO_CLASS)
    out = {
        "data": [
            html.Div(
                [
                    _labelled("x axis", _dropdown("data-x", cols, d["x"])),
                    _labelled("y axis", _dropdown("data-y", cols, d["y"])),
                    _labelled("colour", _dropdown("data-color", cols, d["color"], True)),
                ],
                style=_ROW,
            ),  # fmt: skip
            _graph("data-graph", views.data_figure(d["x"], d["y"], d["color"], row)),
        ],
        "importance": [_graph("importance-graph", views.importance_figure(k))],
        "dependence": [
            html.Div(
                [
                    _labelled(
                        "feature",
                        _dropdown(
                            "dep-feature", [f for f in data.features if f in raw], d["dep_feature"]
                        ),
                    ),
                    _labelled("colour by", _dropdown("dep-color", raw, None, True)),
                ],
                style=_ROW,
            ),  # fmt: skip
            _graph("dep-graph", views.dependence_figure(d["dep_feature"], None, AUTO_CLASS, row)),
        ],
        "summary": [
            dcc.RadioItems(
                id="summary-kind",
                options=["beeswarm", "box", "violin"],
                value="beeswarm",
                inline=True,
            ),  # fmt: skip
            _graph("summary-graph", views.summary_figure(k, "beeswarm", AUTO_CLASS)),
        ],
        "local": [
            html.Div(text, id="local-top", style={"margin": "8px 0"}),
            html.Div([_graph("local-graph", fig)], style={"flex": "2"}),
            html.Div(_table(table), id="local-table", style={"flex": "1"}),
        ],
    }
    if data.model is None:
        out["whatif"] = [html.P(NEEDS_MODEL, id="whatif-note")]
        out["ice"] = [html.P(NEEDS_MODEL, id="ice-note")]
        return out
    inputs = []
    for col, value in zip(views.whatif_columns(), views.whatif_values(row), strict=True):
        id_ = {"type": "whatif", "column": col}
        if col in data.categorical:
            ctrl = dcc.Dropdown(id=id_, options=[str(v) for v in data.categorical[col]],
                                value=value)  # fmt: skip
        else:
            ctrl = dcc.Input(id=id_, type="number", value=value, debounce=True,
                             style={"width": "100%"})  # fmt: skip
        inputs.append(_labelled(col, ctrl))
    frame = data.row_frame(row)
    pred = views.prediction_text(frame)
    text0, fig0 = views.whatif(row, views.whatif_values(row), k, AUTO_CLASS)
    out["whatif"] = [
        html.Div(f"Original: {pred}", id="whatif-original"),
        html.Div(text0, id="whatif-prediction", style={"fontWeight": "bold", "margin": "6px 0"}),
        html.Div(
            [
                html.Div(
                    inputs,
                    style={
                        "flex": "1",
                        "display": "grid",
                        "gap": "4px",
                        "gridTemplateColumns": "repeat(2, 1fr)",
                    },
                ),
                html.Div(_graph("whatif-graph", fig0), style={"flex": "1"}),
            ],
            style={"display": "flex", "gap": "16px"},
        ),  # fmt: skip
    ]
    ice_cols = views.whatif_columns()
    out["ice"] = [
        html.Div(
            [_labelled("feature", _dropdown("ice-feature", ice_cols, ice_cols[0]))], style=_ROW
        ),  # fmt: skip
        _graph("ice-graph", views.ice_figure(row, ice_cols[0], AUTO_CLASS)),
    ]
    return out


def _table(rows: list) -> html.Table:
    body = [html.Tr([html.Td(f), html.Td(v)]) for f, v in rows]
    return html.Table([html.Thead(html.Tr([html.Th("feature"), html.Th("value")])),
                       html.Tbody(body)])  # fmt: skip


def build_app(data: DashboardData, **dash_kwargs: Any) -> Dash:
    """The Dash app: a header (class, top K, selected row) over one tab per view."""
    views = Views(data)
    d = _defaults(data)
    contents = _tab_contents(data, views, d)
    app = Dash(__name__, title="Explanation dashboard", **dash_kwargs)
    app.layout = html.Div(
        [
            dcc.Store(id="selected-row", data=views.initial_row),
            _header(data, views, d),
            dcc.Tabs(
                id="tabs",
                value="importance",
                children=[
                    dcc.Tab(
                        label=label,
                        value=value,
                        children=html.Div(
                            contents[value], id=f"tab-{value}", style={"padding": "8px"}
                        ),
                    )
                    for value, label in TABS
                ],
            ),  # fmt: skip
        ],
        style={"fontFamily": "sans-serif", "margin": "0 12px"},
    )
    _register(app, views, data)
    return app


def _register(app: Dash, views: Views, data: DashboardData) -> None:  # noqa: C901
    row_in, k_in, cls_in = Input("selected-row", "data"), Input("topk-slider", "value"), Input(
        "class-dropdown", "value")  # fmt: skip
    once = {"prevent_initial_call": True}

    @app.callback(Output("selected-row", "data"), Input("data-graph", "clickData"),
                  Input("dep-graph", "clickData"), Input("summary-graph", "clickData"), **once)  # fmt: skip
    def _select(*clicks):
        click = dict(zip(["data-graph", "dep-graph", "summary-graph"], clicks)).get(
            ctx.triggered_id
        )
        row = row_from_click(click)
        return no_update if row is None else row

    @app.callback(Output("selected-row-text", "children"), row_in, **once)
    def _row_text(row):
        return f"Selected row: {row}"

    @app.callback(Output("data-graph", "figure"), Input("data-x", "value"),
                  Input("data-y", "value"), Input("data-color", "value"), row_in, **once)  # fmt: skip
    def _data(x, y, color, row):
        return views.data_figure(x, y, color, row)

    @app.callback(Output("importance-graph", "figure"), k_in, **once)
    def _importance(k):
        return views.importance_figure(k)

    @app.callback(Output("dep-graph", "figure"), Input("dep-feature", "value"),
                  Input("dep-color", "value"), cls_in, row_in, **once)  # fmt: skip
    def _dependence(feature, color, cls, row):
        return views.dependence_figure(feature, color, cls, row)

    @app.callback(Output("summary-graph", "figure"), k_in, Input("summary-kind", "value"), cls_in,
                  **once)  # fmt: skip
    def _summary(k, kind, cls):
        return views.summary_figure(k, kind, cls)

    @app.callback(Output("local-graph", "figure"), Output("local-top", "children"),
                  Output("local-table", "children"), row_in, k_in, cls_in, **once)  # fmt: skip
    def _local(row, k, cls):
        fig, text, table = views.local(row, k, cls)
        return fig, text, _table(table)

    if data.model is None:
        return

    @app.callback(Output({"type": "whatif", "column": ALL}, "value"),
                  Output("whatif-original", "children"), row_in, **once)  # fmt: skip
    def _whatif_reset(row):
        return views.whatif_values(row), f"Original: {views.prediction_text(data.row_frame(row))}"

    @app.callback(Output("whatif-prediction", "children"), Output("whatif-graph", "figure"),
                  Input({"type": "whatif", "column": ALL}, "value"), k_in, cls_in,
                  State("selected-row", "data"), **once)  # fmt: skip
    def _whatif(values, k, cls, row):
        return views.whatif(row, values, k, cls)

    @app.callback(Output("ice-graph", "figure"), Input("ice-feature", "value"), row_in, cls_in,
                  **once)  # fmt: skip
    def _ice(column, row, cls):
        return views.ice_figure(row, column, cls)
