"""Callbacks of the model tabs and of the cohort controls (the computing is in
``_model_views.ModelViews``). Each view's callback runs only while its tab is shown.

One callback owns every change to the set of cohorts (add a filter, clear, save from the
builder, save an error-analysis selection, delete), so the cohort dropdowns have one writer.
"""

from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from ._cohorts import ALL, MAX_COMPARE, describe_filter
from ._model_views import ModelViews

ONCE = {"prevent_initial_call": True}


def _shown(tab: str, view: str) -> None:
    if tab != view:
        raise PreventUpdate


def table(header: list, rows: list, id_: str | None = None, attr: str = "metric") -> html.Table:
    """An HTML table; each cell carries ``data-<attr>`` (its row's first cell) and
    ``data-column`` (its column's header) so tests and users can address it."""
    cell = {"padding": "2px 10px", "borderBottom": "1px solid #eee", "textAlign": "left"}
    head = html.Thead(html.Tr([html.Th(h, style=cell) for h in header]))
    body = [html.Tr([html.Td(v, style=cell, **{f"data-{attr}": str(row[0]), "data-column": str(h)})
                     for h, v in zip(header, row, strict=True)]) for row in rows]  # fmt: skip
    kwargs = {"id": id_} if id_ else {}
    return html.Table([head, html.Tbody(body)], style={"borderCollapse": "collapse"}, **kwargs)


def _pending_text(filters: list) -> str:
    if not filters:
        return "Filters: none"
    return "Filters: " + " and ".join(describe_filter(f) for f in filters)


def register_model_callbacks(app: Dash, mv: ModelViews) -> None:  # noqa: C901
    """Wire the model tabs, the cohort builder and the cohort dropdowns."""
    data = mv.data
    tab_in, cohort_in = Input("tabs", "value"), Input("cohort-dropdown", "value")
    compare_in, cls_in = Input("compare-dropdown", "value"), Input("class-dropdown", "value")
    k_in = Input("topk", "data")

    @app.callback(Output("compare-dropdown", "value", allow_duplicate=True),
                  Output("compare-note", "children"), compare_in, **ONCE)  # fmt: skip
    def _compare_limit(compare):
        if compare and len(compare) > MAX_COMPARE - 1:
            return compare[: MAX_COMPARE - 1], f"At most {MAX_COMPARE} cohorts side by side."
        return no_update, ""

    # ---------------------------------------------------------------- performance
    if mv.has_truth:
        thr = [Input("threshold-slider", "value")] if mv.threshold_applies() else []
        col = [] if data.is_classifier else [Input("perf-column", "value")]

        @app.callback(Output("perf-table", "children"),
                      *[Output(f"perf-graph-{i}", "figure") for i in range(1, 5)],
                      cohort_in, compare_in, cls_in, tab_in, *thr, *col, **ONCE)  # fmt: skip
        def _performance(cohort, compare, cls, tab, *extra):
            _shown(tab, "performance")
            threshold = extra[0] if thr else None
            column = extra[-1] if col else None
            header, rows, notes = mv.performance_table(cohort, compare, threshold)
            figures = mv.performance_figures(cohort, compare, threshold, cls, column)
            note = html.Div("; ".join(notes), style={"fontSize": "0.85em", "color": "#666"})
            return [table(header, rows, "perf-metrics"), note], *figures

    # ---------------------------------------------------------------- cohort builder
    @app.callback(Output("cohort-range", "style"), Output("cohort-levels-box", "style"),
                  Output("cohort-levels", "options"), Output("cohort-levels", "value"),
                  Output("cohort-min", "value"), Output("cohort-max", "value"),
                  Output("cohort-range-note", "children"), Input("cohort-column", "value"),
                  **ONCE)  # fmt: skip
    def _builder_column(column):
        hide, show = {"display": "none"}, {"display": "flex", "gap": "12px"}
        if not column:
            return hide, hide, [], [], None, None, ""
        kind, choice = mv.column_choice(column)
        if kind == "range":
            lo, hi = choice
            note = "" if lo is None else f"{column} ranges from {lo:.6g} to {hi:.6g} in the data."
            return show, hide, [], [], None, None, note
        options = [{"label": "missing" if v is None else str(v), "value": v} for v in choice]
        return hide, show, options, [], None, None, ""

    save_inputs = [Input("cohort-save", "n_clicks"), Input("cohort-delete", "n_clicks"),
                   Input("cohort-add", "n_clicks"), Input("cohort-clear", "n_clicks")]  # fmt: skip
    error_io = []
    if mv.has_truth:
        save_inputs.append(Input("error-save", "n_clicks"))
        error_io = [State("error-selected", "data"), State("error-cohort-name", "value")]

    @app.callback(Output("cohort-pending", "data"), Output("cohort-pending-text", "children"),
                  Output("cohort-dropdown", "options"), Output("cohort-dropdown", "value"),
                  Output("compare-dropdown", "options"),
                  Output("compare-dropdown", "value", allow_duplicate=True),
                  Output("cohort-message", "children"), Output("cohort-name", "value"),
                  *save_inputs, State("cohort-pending", "data"), State("cohort-name", "value"),
                  State("cohort-column", "value"), State("cohort-min", "value"),
                  State("cohort-max", "value"), State("cohort-levels", "value"),
                  State("cohort-dropdown", "value"), State("compare-dropdown", "value"),
                  *error_io, **ONCE)  # fmt: skip
    def _cohort_actions(*args):
        n = len(save_inputs)
        pending, name, column, lo, hi, levels, active, compare = args[n : n + 8]
        selection, error_name = (args[n + 8], args[n + 9]) if error_io else (None, None)
        pending = list(pending or [])
        trigger = ctx.triggered_id
        keep = no_update
        try:
            if trigger == "cohort-add":
                pending += mv.builder_filters(column, lo, hi, levels)
                return pending, _pending_text(pending), keep, keep, keep, keep, "", keep
            if trigger == "cohort-clear":
                return [], _pending_text([]), keep, keep, keep, keep, "", keep
            if trigger == "cohort-delete":
                if active in (None, ALL):
                    raise ValueError(f"{ALL!r} cannot be deleted; choose another cohort.")
                data.cohorts.remove(active)
                options = mv.cohort_options()
                rest = [c for c in compare or [] if c != active]
                return keep, keep, options, ALL, options, rest, f"Deleted {active!r}.", keep
            if trigger == "error-save":
                if not selection:
                    raise ValueError("Click a node or a cell first.")
                if not selection["filters"]:
                    raise ValueError("The root node is the whole cohort already.")
                new = mv.save_cohort(error_name or selection["name"], selection["filters"],
                                     base=selection["cohort"])  # fmt: skip
            else:
                new = mv.save_cohort(name, pending)
                pending = []
        except (ValueError, KeyError) as exc:
            message = str(exc).strip("'\"")
            return keep, keep, keep, keep, keep, keep, message, keep
        options = mv.cohort_options()
        size = data.cohorts.rows(new).size
        message = f"Saved cohort {new!r} ({size:,} rows); every view now shows it."
        return (pending, _pending_text(pending), options, new, options, keep, message,
                "")  # fmt: skip

    if mv.has_truth:

        @app.callback(Output("error-message", "children"),
                      Input("cohort-message", "children"), State("tabs", "value"), **ONCE)  # fmt: skip
        def _error_message(message, tab):
            return message if tab == "errors" else ""

    @app.callback(Output("cohort-table", "children"), tab_in,
                  Input("cohort-dropdown", "options"), **ONCE)  # fmt: skip
    def _cohort_table(tab, _options):
        _shown(tab, "cohorts")
        header, rows = mv.cohort_table()
        return table(header, rows, "cohort-list", attr="cohort")

    # ---------------------------------------------------------------- error analysis
    if mv.has_truth:
        q_in = [Input("error-quantile", "value")] if not data.is_classifier else []
        settings = [cohort_in, Input("error-depth", "value"), Input("error-x", "value"),
                    Input("error-y", "value"), *q_in]  # fmt: skip

        @app.callback(Output("error-tree", "figure"), Output("error-heatmap", "figure"),
                      *settings, Input("error-selected", "data"), tab_in, **ONCE)  # fmt: skip
        def _errors(cohort, depth, x, y, *rest):
            quantile = rest[0] if q_in else 0.9
            selection, tab = rest[-2], rest[-1]
            _shown(tab, "errors")
            return mv.error_figures(cohort, depth, quantile, x, y, selection)

        @app.callback(Output("error-selected", "data"), Output("error-selection", "children"),
                      Output("error-cohort-name", "value"), Input("error-tree", "clickData"),
                      Input("error-heatmap", "clickData"), *settings, **ONCE)  # fmt: skip
        def _error_select(tree_click, cell_click, cohort, depth, x, y, *rest):
            quantile = rest[0] if q_in else 0.9
            trigger = ctx.triggered_id
            click = tree_click if trigger == "error-tree" else cell_click
            point = (click or {}).get("points", [{}])[0] if trigger in (
                "error-tree", "error-heatmap") else {}  # fmt: skip
            custom = point.get("customdata")
            if custom is None:
                return None, mv.selection_text(None), ""
            if trigger == "error-tree":
                selection = mv.select_node(cohort, depth, quantile, custom)
            else:
                selection = mv.select_cell(cohort, quantile, x, y, custom)
            return selection, mv.selection_text(selection), selection["name"]

    # ---------------------------------------------------------------- partial dependence
    if data.model is not None:

        @app.callback(Output("pdp-graph", "figure"), cohort_in, Input("pdp-column", "value"),
                      Input("pdp-column2", "value"), Input("pdp-ice", "value"), cls_in, tab_in,
                      **ONCE)  # fmt: skip
        def _pdp(cohort, column, column2, ice, cls, tab):
            _shown(tab, "pdp")
            return mv.pdp_figure(cohort, column, column2, cls, "ice" in (ice or []))

    # ---------------------------------------------------------------- interactions
    if data.interactions is not None:

        @app.callback(Output("inter-rank", "figure"), Output("inter-matrix", "figure"),
                      Output("inter-scatter", "figure"), cohort_in, k_in, cls_in,
                      Input("inter-pair", "value"), tab_in, **ONCE)  # fmt: skip
        def _interactions(cohort, k, cls, pair, tab):
            _shown(tab, "interactions")
            return mv.interaction_figures(cohort, k, cls, pair)
