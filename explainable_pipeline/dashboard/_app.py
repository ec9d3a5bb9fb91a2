"""Dash layout and callback wiring (the computing is in ``_callbacks.Views``).

First paint: only the landing tab's figure is in the initial layout. Every other graph starts
as a light placeholder and its callback computes the figure when its tab is selected (and
again, while it is selected, when an input changes), so the page a browser first receives is
small whatever the data. plotly.js, which dominates the time to first paint, is the smaller
cartesian bundle (``_plotlyjs``), loaded with a plain ``<script>`` tag among the page's own
scripts (:class:`DashboardApp`) instead of on demand once the layout has arrived.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from . import _figures as figs
from . import _layout_model as lm
from ._callbacks import Views, clamp_top_k, row_from_click
from ._data import AUTO_CLASS, DashboardData
from ._model_views import ModelViews
from ._plotlyjs import ASSETS, cartesian_bundle
from ._wiring import register_model_callbacks

_ROW = {"display": "flex", "gap": "12px", "alignItems": "center", "flexWrap": "wrap"}
_CTRL = {"minWidth": "220px"}
_GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
# Twelve tabs fit in 1,280 px only if they shrink to their label (Dash's tabs share the width
# equally and have a minimum width).
_TAB = {"padding": "6px 6px", "minWidth": "0", "flex": "1 1 auto", "lineHeight": "1.2",
        "fontSize": "0.92em"}
_TABLE_CELL = {"padding": "2px 10px", "borderBottom": "1px solid #eee", "textAlign": "left"}
NEEDS_MODEL = (
    "This view needs a live model: pass model= to ExplanationDashboard and call serve() "
    "(or run `explainable-pipeline dashboard MODEL DATA.csv`)."
)
# Global importance first: a bar chart paints fastest, the scatters follow on click.
LANDING = "importance"
TABS = [
    ("importance", "Global importance"),
    ("performance", "Model performance"),
    ("cohorts", "Cohorts"),
    ("errors", "Error analysis"),
    ("data", "Data exploration"),
    ("dependence", "Explanation exploration"),
    ("summary", "Summary importance"),
    ("interactions", "Interactions"),  # only when interaction values are given
    ("local", "Local importance"),
    ("whatif", "What-if"),
    ("ice", "ICE"),
    ("pdp", "Partial dependence"),
]
# The full plotly.js bundle as dash serves it (the URL dcc.Graph loads on demand).
PLOTLYJS_PATH = "_dash-component-suites/plotly/package_data/plotly.min.js"
# What a graph of a tab not yet opened holds: no axes, no data (a few bytes of layout).
PLACEHOLDER = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False},
                                      "height": figs.HEIGHT}}  # fmt: skip


class DashboardApp(Dash):
    """``dash.Dash`` whose index page loads plotly.js up front, the smallest bundle that fits.

    By default ``dcc.Graph`` fetches plotly.js only once the layout has been fetched and
    rendered, and the browser then spends over a second compiling the full 4.8 MB bundle
    before the first graph is drawn. Here a ``<script>`` tag among the page's own scripts
    loads the cartesian partial bundle (``_plotlyjs.cartesian_bundle``, from the package's
    assets folder; the full bundle when it does not match plotly.py's plotly.js), so the
    browser downloads and compiles it while it evaluates the Dash bundles, and ``dcc.Graph``
    uses the ``window.Plotly`` already defined. With ``serve_locally=False`` Dash's own loading
    is kept.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The assets folder holds the bundle; interpolate_index loads it explicitly.
        kwargs.setdefault("assets_folder", str(ASSETS))
        kwargs.setdefault("assets_ignore", r".*")
        super().__init__(*args, **kwargs)

    def plotlyjs_url(self) -> str | None:
        """URL of the plotly.js bundle the page loads (``None``: Dash's default loading)."""
        if not self.config.serve_locally:
            return None
        bundle = cartesian_bundle()
        if bundle is not None and Path(self.config.assets_folder) == bundle.parent:
            return self.get_asset_url(bundle.name)
        return f"{self.config.requests_pathname_prefix or '/'}{PLOTLYJS_PATH}"

    def interpolate_index(self, **kwargs: Any) -> str:
        url = self.plotlyjs_url()
        if url is not None:
            kwargs["scripts"] = kwargs.get("scripts", "") + f'\n<script src="{url}"></script>'
        return super().interpolate_index(**kwargs)


def _labelled(label: str, component: Any) -> html.Div:
    return html.Div([html.Label(label, style={"fontSize": "0.85em"}), component], style=_CTRL)


def _dropdown(id_: str, options: list, value: Any, clearable: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, options=[{"label": str(o), "value": o} for o in options],
                        value=value, clearable=clearable)  # fmt: skip


def _graph(id_: str, figure: Any = None) -> dcc.Graph:
    """A graph; without a figure, a blank placeholder its tab's callback fills."""
    return dcc.Graph(id=id_, figure=PLACEHOLDER if figure is None else figure,
                     config=_GRAPH_CONFIG)  # fmt: skip


def _defaults(data: DashboardData) -> dict:
    top = [f for f in data.top_features(len(data.features)) if f in data.columns]
    pred_cols = [c for c in data.plot_columns if c not in data.columns]
    x = top[0] if top else data.columns[0]
    y = top[1] if len(top) > 1 else (pred_cols[0] if pred_cols else x)
    color = pred_cols[0] if pred_cols else None
    return {"x": x, "y": y, "color": color, "dep_feature": x, "k": min(10, len(data.features))}


def _header(data: DashboardData, views: Views, mv: ModelViews, d: dict) -> html.Div:
    classes = data.classes or []
    class_options = [{"label": "auto (row's top class)", "value": AUTO_CLASS}] + [
        {"label": c, "value": c} for c in classes
    ] if classes else [{"label": "single output", "value": AUTO_CLASS}]
    n = len(data.features)
    marks = {i: str(i) for i in sorted({1, min(5, n), min(10, n), min(20, n), n})}
    # A single-output model has no class to choose: the control is not shown (the dropdown
    # stays in the layout, hidden, because callbacks take its value).
    class_control = html.Div(
        _labelled("Class", dcc.Dropdown(id="class-dropdown", options=class_options,
                                        value=AUTO_CLASS, clearable=False)),
        id="class-control", style={} if classes else {"display": "none"},
    )  # fmt: skip
    # Top K: one number box (fires on every keystroke, no blur needed) and the slider; a
    # callback clamps the value to 1..n and writes it back to both and to the "topk" store.
    topk = html.Div(
        [
            html.Label("Top K features", style={"fontSize": "0.85em"}),
            html.Div(
                [
                    dcc.Input(id="topk-input", type="number", value=d["k"], debounce=False,
                              style={"width": "64px"}),
                    html.Div(dcc.Slider(id="topk-slider", min=1, max=n, step=1, value=d["k"],
                                        marks=marks, allow_direct_input=False),
                             style={"flex": "1"}),
                ],
                style={"display": "flex", "gap": "8px", "alignItems": "center"},
            ),
            html.Div(id="topk-note", style={"fontSize": "0.8em", "color": "#a05a00"}),
        ],
        style={"minWidth": "360px"},
    )  # fmt: skip
    return html.Div(
        [
            html.H2("Explanation dashboard", style={"margin": "4px 0"}),
            html.Div(
                [
                    class_control,
                    topk,
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
            lm.cohort_controls(mv),
            html.Div(
                "Click a point in any scatter to select a row.",
                style={"fontSize": "0.8em", "color": "#666"},
            ),  # fmt: skip
        ]
    )


def _tab_contents(data: DashboardData, views: Views, mv: ModelViews, d: dict) -> dict:
    """Each tab's controls and graphs. Only the landing tab's figure is computed here."""
    row, k = views.initial_row, d["k"]
    cols, raw = data.plot_columns, data.columns
    out = {
        "performance": lm.performance_tab(mv, PLACEHOLDER, _GRAPH_CONFIG),
        "cohorts": lm.cohorts_tab(mv),
        "errors": lm.errors_tab(mv, PLACEHOLDER, _GRAPH_CONFIG),
        "pdp": lm.pdp_tab(mv, PLACEHOLDER, _GRAPH_CONFIG),
        "data": [
            html.Div(
                [
                    _labelled("x axis", _dropdown("data-x", cols, d["x"])),
                    _labelled("y axis", _dropdown("data-y", cols, d["y"])),
                    _labelled("colour", _dropdown("data-color", cols, d["color"], True)),
                ],
                style=_ROW,
            ),  # fmt: skip
            _graph("data-graph"),
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
            _graph("dep-graph"),
        ],
        "summary": [
            dcc.RadioItems(
                id="summary-kind",
                options=["beeswarm", "box", "violin"],
                value="beeswarm",
                inline=True,
            ),  # fmt: skip
            _graph("summary-graph"),
        ],
        "local": [
            html.Div(id="local-top", style={"margin": "8px 0"}),
            html.Div(
                [html.Div([_graph("local-graph")], style={"flex": "2"}),
                 html.Div(id="local-table", style={"flex": "1"})],
                style={"display": "flex", "gap": "12px", "alignItems": "flex-start"},
            ),  # fmt: skip
        ],
    }
    if data.interactions is not None:
        out["interactions"] = lm.interactions_tab(mv, PLACEHOLDER, _GRAPH_CONFIG)
    if data.model is None:
        out["whatif"] = [html.P(NEEDS_MODEL, id="whatif-note")]
        out["ice"] = [html.P(NEEDS_MODEL, id="ice-note")]
        return out
    inputs = []
    for col, label, value in zip(views.whatif_columns(), views.whatif_labels(),
                                 views.whatif_values(row), strict=True):  # fmt: skip
        id_ = {"type": "whatif", "column": col}
        if col in data.categorical:
            ctrl = dcc.Dropdown(id=id_, options=[str(v) for v in data.categorical[col]],
                                value=value)  # fmt: skip
        else:
            ctrl = dcc.Input(id=id_, type="number", value=value, debounce=True,
                             style={"width": "100%"})  # fmt: skip
        inputs.append(_labelled(label, ctrl))
    out["whatif"] = [
        html.Div([html.Div(id="whatif-original"),
                  html.Button("Reset to the row's values", id="whatif-reset", n_clicks=0)],
                 style=_ROW),  # fmt: skip
        html.Div(id="whatif-prediction", style={"fontWeight": "bold", "margin": "6px 0"}),
        html.Div(id="whatif-warning", style={"color": "#b00020"}),
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
                html.Div(_graph("whatif-graph"), style={"flex": "1"}),
            ],
            style={"display": "flex", "gap": "16px"},
        ),  # fmt: skip
    ]
    ice_cols = views.whatif_columns()
    out["ice"] = [
        html.Div(
            [_labelled("feature", _dropdown("ice-feature", ice_cols, ice_cols[0]))], style=_ROW
        ),  # fmt: skip
        _graph("ice-graph"),
    ]
    return out


def _table(rows: list, header: tuple = ("feature", "value", "attribution")) -> html.Table:
    body = [html.Tr([html.Td(v, style=_TABLE_CELL) for v in row]) for row in rows]
    head = html.Thead(html.Tr([html.Th(h, style=_TABLE_CELL) for h in header]))
    return html.Table([head, html.Tbody(body)], style={"borderCollapse": "collapse"})


def build_app(data: DashboardData, **dash_kwargs: Any) -> Dash:
    """The Dash app: a header (class, top K, selected row) over one tab per view.

    Parameters
    ----------
    data : DashboardData
        The rows, explanation and model to show.
    **dash_kwargs
        Passed to :class:`dash.Dash` (e.g. ``requests_pathname_prefix``).

    Returns
    -------
    DashboardApp
        The app; its ``server`` is the Flask application to serve.
    """
    views, mv = Views(data), ModelViews(data)
    d = _defaults(data)
    app = DashboardApp(__name__, title="Explanation dashboard", **dash_kwargs)
    tabs = [(v, label) for v, label in TABS if v != "interactions" or data.interactions is not None]

    def layout() -> html.Div:
        """Built for every page load, so cohorts made earlier (on the server) are offered."""
        contents = _tab_contents(data, views, mv, d)
        return html.Div(
            [
                dcc.Store(id="selected-row", data=views.initial_row),
                dcc.Store(id="topk", data=d["k"]),
                _header(data, views, mv, d),
                dcc.Tabs(
                    id="tabs",
                    value=LANDING,
                    children=[
                        dcc.Tab(label=label, value=value, style=_TAB, selected_style=_TAB,
                                children=html.Div(contents[value], id=f"tab-{value}",
                                                  style={"padding": "8px"}))
                        for value, label in tabs
                    ],
                ),  # fmt: skip
            ],
            style={"fontFamily": "sans-serif", "margin": "0 12px"},
        )

    app.layout = layout
    _register(app, views, data)
    register_model_callbacks(app, mv)
    return app


def _shown(tab: str, view: str) -> None:
    """Skip a view's callback while its tab is hidden (it runs when the tab is selected)."""
    if tab != view:
        raise PreventUpdate


def _register(app: Dash, views: Views, data: DashboardData) -> None:  # noqa: C901
    row_in, k_in, cls_in = Input("selected-row", "data"), Input("topk", "data"), Input(
        "class-dropdown", "value")  # fmt: skip
    tab_in = Input("tabs", "value")
    once = {"prevent_initial_call": True}

    cohort_in = Input("cohort-dropdown", "value")
    graphs = ["data-graph", "dep-graph", "summary-graph"]

    @app.callback(Output("selected-row", "data"), *[Input(g, "clickData") for g in graphs],
                  cohort_in, State("selected-row", "data"), **once)  # fmt: skip
    def _select(*args):
        clicks, cohort, current = args[:3], args[3], args[4]
        if ctx.triggered_id == "cohort-dropdown":  # keep the row if it is in the new cohort
            rows = data.cohorts.rows(cohort)
            if current in set(rows.tolist()):
                raise PreventUpdate
            return int(rows[0])
        row = row_from_click(dict(zip(graphs, clicks)).get(ctx.triggered_id))
        if row is None:
            raise PreventUpdate
        return row

    @app.callback(Output("sample-note", "children"), cohort_in, **once)
    def _sample_note(cohort):
        return data.cohorts.sample_note(cohort)

    n_features = len(data.features)

    @app.callback(Output("topk-input", "value"), Output("topk-slider", "value"),
                  Output("topk", "data"), Output("topk-note", "children"),
                  Input("topk-input", "value"), Input("topk-slider", "value"), **once)  # fmt: skip
    def _topk(typed, slid):
        raw = typed if ctx.triggered_id == "topk-input" else slid
        if raw is None:  # an empty box while the user types: keep the current K
            raise PreventUpdate
        k = clamp_top_k(raw, n_features)
        note = "" if k == raw else f"Top K must be between 1 and {n_features}: using {k}."
        return k, k, k, note

    @app.callback(Output("selected-row-text", "children"), row_in, **once)
    def _row_text(row):
        return f"Selected row: {row}"

    @app.callback(Output("data-graph", "figure"), Input("data-x", "value"),
                  Input("data-y", "value"), Input("data-color", "value"), row_in, tab_in,
                  cohort_in, **once)  # fmt: skip
    def _data(x, y, color, row, tab, cohort):
        _shown(tab, "data")
        return views.data_figure(x, y, color, row, cohort)

    @app.callback(Output("importance-graph", "figure"), k_in, tab_in, cohort_in,
                  Input("compare-dropdown", "value"), cls_in, **once)  # fmt: skip
    def _importance(k, tab, cohort, compare, cls):
        _shown(tab, "importance")
        return views.importance_figure(k, cohort, compare, cls)

    @app.callback(Output("dep-graph", "figure"), Input("dep-feature", "value"),
                  Input("dep-color", "value"), cls_in, row_in, tab_in, cohort_in, **once)  # fmt: skip
    def _dependence(feature, color, cls, row, tab, cohort):
        _shown(tab, "dependence")
        return views.dependence_figure(feature, color, cls, row, cohort)

    @app.callback(Output("summary-graph", "figure"), k_in, Input("summary-kind", "value"), cls_in,
                  tab_in, cohort_in, **once)  # fmt: skip
    def _summary(k, kind, cls, tab, cohort):
        _shown(tab, "summary")
        return views.summary_figure(k, kind, cls, cohort)

    @app.callback(Output("local-graph", "figure"), Output("local-top", "children"),
                  Output("local-table", "children"), row_in, k_in, cls_in, tab_in, **once)  # fmt: skip
    def _local(row, k, cls, tab):
        _shown(tab, "local")
        fig, text, table = views.local(row, k, cls)
        return fig, text, _table(table)

    if data.model is None:
        return

    @app.callback(Output({"type": "whatif", "column": ALL}, "value"), row_in,
                  Input("whatif-reset", "n_clicks"), **once)  # fmt: skip
    def _whatif_reset(row, _clicks):
        return views.whatif_values(row)

    @app.callback(Output("whatif-original", "children"), Output("whatif-prediction", "children"),
                  Output("whatif-warning", "children"), Output("whatif-graph", "figure"),
                  Input({"type": "whatif", "column": ALL}, "value"), k_in, cls_in, tab_in,
                  State("selected-row", "data"), **once)  # fmt: skip
    def _whatif(values, k, cls, tab, row):
        _shown(tab, "whatif")
        original = f"Original: {views.prediction_text(data.row_frame(row))}"
        text, fig = views.whatif(row, values, k, cls)
        return original, text, views.whatif_warnings(values), fig

    @app.callback(Output("ice-graph", "figure"), Input("ice-feature", "value"), row_in, cls_in,
                  tab_in, **once)  # fmt: skip
    def _ice(column, row, cls, tab):
        _shown(tab, "ice")
        return views.ice_figure(row, column, cls)
