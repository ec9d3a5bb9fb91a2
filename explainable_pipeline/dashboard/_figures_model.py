"""Figure builders of the model views: performance, cohorts, error analysis, partial
dependence and interactions. Plain numbers in, ``go.Figure`` out (no ``DashboardData``
except where rows are drawn), every trace type in plotly.js's cartesian bundle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._ranking import rank_order
from ._errors import ErrorTree, HeatMap
from ._figures import GREY, LEGEND_ABOVE, NEG, POS, _f4, _layout, _scatter_traces, plotly_text
from ._pdp import PartialDependence

# one colour per compared cohort (at most 4), the active one first
COHORT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]


def cohort_importance(names: list, values: list, features: list, k: int,
                      title: str) -> go.Figure:  # fmt: skip
    """Grouped bars: mean |attribution| of the top-k features (of the first cohort) per cohort."""
    top = rank_order(values[0])[: max(1, int(k))][::-1]
    fig = go.Figure()
    for i, (name, vals) in enumerate(zip(names, values, strict=True)):
        fig.add_trace(go.Bar(x=np.asarray(vals)[top], y=[features[j] for j in top],
                             orientation="h", name=plotly_text(name),
                             marker_color=COHORT_COLOURS[i]))  # fmt: skip
    fig.update_layout(barmode="group", legend_title_text="cohort")
    height = max(300, 22 * len(top) * len(names) + 140)
    return _layout(fig, title, height=height, xaxis_title="mean |attribution|", legend=LEGEND_ABOVE)


def confusion(matrix: np.ndarray, labels: list, title: str) -> go.Figure:
    """Confusion matrix: counts as text, colour = share of the true class (row)."""
    matrix = np.asarray(matrix)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    text = [[f"{matrix[i, j]:,}<br>{share[i, j]:.0%}" for j in range(len(labels))]
            for i in range(len(labels))]  # fmt: skip
    fig = go.Figure(go.Heatmap(
        z=share, x=[f"pred {lab}" for lab in labels], y=[f"true {lab}" for lab in labels],
        text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        customdata=matrix.tolist(),  # plain lists: small, and readable from the page
        hovertemplate="%{y}, %{x}: %{customdata:,} rows<extra></extra>",
        colorbar=dict(title="share of row", thickness=12),
    ))  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(300, 60 * len(labels) + 160))


def curves(kind: str, per_cohort: dict, title: str, marker: tuple | None = None) -> go.Figure:
    """ROC (``kind="roc"``) or precision-recall (``"pr"``) curves, one per cohort.

    ``per_cohort``: name -> ``_metrics.roc_pr_curves`` output. ``marker``: (x, y) of the
    current threshold on the first cohort's curve.
    """
    fig = go.Figure()
    for i, (name, c) in enumerate(per_cohort.items()):
        if not c:
            continue
        x, y, thr = c[kind]
        score = f"AUC {c['auc']:.3f}" if kind == "roc" else f"AP {c['ap']:.3f}"
        fig.add_trace(go.Scatter(
            x=_f4(x), y=_f4(y), mode="lines", name=f"{plotly_text(name)} ({score})",
            line=dict(color=COHORT_COLOURS[i % 4], width=2), customdata=_f4(thr),
            hovertemplate="threshold %{customdata:.3f}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        ))  # fmt: skip
    if kind == "roc":
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                                 line=dict(color=GREY, dash="dot")))  # fmt: skip
    if marker is not None:
        fig.add_trace(go.Scatter(x=[marker[0]], y=[marker[1]], mode="markers", name="threshold",
                                 marker=dict(color="black", size=11, symbol="x")))  # fmt: skip
    axes = ("false positive rate", "true positive rate") if kind == "roc" else ("recall",
                                                                              "precision")
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(range=[-0.02, 1.02])
    return _layout(fig, title, height=420, xaxis_title=axes[0], yaxis_title=axes[1],
                   legend=LEGEND_ABOVE)  # fmt: skip


def calibration(per_cohort: dict, title: str) -> go.Figure:
    """Reliability curves: mean predicted probability vs observed frequency per bin."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                               line=dict(color=GREY, dash="dot")))  # fmt: skip
    for i, (name, c) in enumerate(per_cohort.items()):
        if not c:
            continue
        fig.add_trace(go.Scatter(
            x=c["predicted"], y=c["observed"], mode="lines+markers", name=plotly_text(name),
            line=dict(color=COHORT_COLOURS[i % 4]), customdata=c["count"],
            hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>%{customdata:,} rows"
            "<extra></extra>",
        ))  # fmt: skip
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(range=[-0.02, 1.02])
    return _layout(fig, title, height=420, xaxis_title="mean predicted probability",
                   yaxis_title="observed frequency", legend=LEGEND_ABOVE)  # fmt: skip


def regression_scatter(x: np.ndarray, y: np.ndarray, rows: np.ndarray, x_title: str,
                       y_title: str, title: str, diagonal: bool = False,
                       zero_line: bool = False) -> go.Figure:  # fmt: skip
    """Predicted vs actual (``diagonal``) or residuals vs something (``zero_line``)."""
    hover = f"row %{{customdata}}<br>{x_title}=%{{x}}<br>{y_title}=%{{y:.4g}}<extra></extra>"
    fig = go.Figure(_scatter_traces(pd.Series(x), pd.Series(_f4(y)), None, rows, hover))
    if diagonal and len(x):
        finite = np.concatenate([np.asarray(x, float), np.asarray(y, float)])
        lo, hi = np.nanmin(finite), np.nanmax(finite)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                                 line=dict(color=GREY, dash="dot")))  # fmt: skip
    if zero_line:
        fig.add_hline(y=0, line=dict(color=GREY, dash="dot"))
    return _layout(fig, title, height=420, xaxis_title=x_title, yaxis_title=y_title,
                   clickmode="event", legend=LEGEND_ABOVE)  # fmt: skip


def residual_boxes(per_cohort: dict, title: str) -> go.Figure:
    """One box per cohort from statistics computed here (quartiles, 1.5 IQR whiskers, mean):
    five numbers per cohort travel to the browser, not every residual."""
    fig = go.Figure()
    for i, (name, r) in enumerate(per_cohort.items()):
        r = np.asarray(r, dtype=float)
        if r.size == 0:
            continue
        q1, med, q3 = np.percentile(r, [25, 50, 75])
        lo = float(r[r >= q1 - 1.5 * (q3 - q1)].min())
        hi = float(r[r <= q3 + 1.5 * (q3 - q1)].max())
        fig.add_trace(go.Box(y=[plotly_text(name)], q1=[q1], median=[med], q3=[q3],
                             lowerfence=[lo], upperfence=[hi], mean=[float(r.mean())],
                             name=plotly_text(name),
                             orientation="h", marker_color=COHORT_COLOURS[i % 4]))  # fmt: skip
    return _layout(fig, f"Residuals by cohort (box: quartiles, whiskers: 1.5 IQR, {title})",
                   height=300, xaxis_title="residual (true - predicted)")  # fmt: skip


def _short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def error_tree(tree: ErrorTree, selected: int | None = None) -> go.Figure:
    """The error tree: node colour = error rate, size = rows, label = rate and counts.

    ``customdata`` of each node marker is its id (a click selects the node).
    """
    nodes = tree.nodes
    by_id = {nd.id: nd for nd in nodes}
    ex, ey = [], []
    for nd in nodes:
        if nd.parent is not None:
            parent = by_id[nd.parent]
            ex += [parent.x, nd.x, None]
            ey += [-parent.depth, -nd.depth, None]
    fig = go.Figure(go.Scatter(x=ex, y=ey, mode="lines", line=dict(color="#bbb", width=1),
                               hoverinfo="skip", showlegend=False))  # fmt: skip
    top = max(nd.error_rate for nd in nodes) or 1.0
    sizes = [18 + 30 * np.sqrt(nd.n / max(tree.n, 1)) for nd in nodes]
    labels = [f"{nd.error_rate:.0%} · {nd.errors}/{nd.n}" for nd in nodes]
    splits = ["all rows" if nd.parent is None else nd.split for nd in nodes]
    fig.add_trace(go.Scatter(
        x=[nd.x for nd in nodes], y=[-nd.depth for nd in nodes], mode="markers+text",
        customdata=[nd.id for nd in nodes], text=labels, textposition="bottom center",
        marker=dict(size=sizes, color=[nd.error_rate for nd in nodes], cmin=0, cmax=top,
                    colorscale="Reds", line=dict(color="#555", width=1), showscale=True,
                    colorbar=dict(title="error rate", thickness=12, tickformat=".0%")),
        hovertext=[f"{s}<br>error rate {nd.error_rate:.1%} ({nd.errors:,} of {nd.n:,} rows)"
                   f"<br>error coverage {nd.coverage:.1%} of the cohort's errors"
                   for s, nd in zip(splits, nodes, strict=True)],
        hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
    ))  # fmt: skip
    for nd in nodes:
        if nd.parent is not None:
            fig.add_annotation(x=nd.x, y=-nd.depth + 0.28, text=_short(nd.split), showarrow=False,
                               font=dict(size=10, color="#333"), bgcolor="rgba(255,255,255,0.8)")  # fmt: skip
    if selected is not None and selected in by_id:
        nd = by_id[selected]
        fig.add_trace(go.Scatter(x=[nd.x], y=[-nd.depth], mode="markers", hoverinfo="skip",
                                 marker=dict(size=60, color="rgba(0,0,0,0)",
                                             line=dict(color="black", width=3)),
                                 showlegend=False))  # fmt: skip
    depth = max(nd.depth for nd in nodes)
    fig.update_xaxes(visible=False, range=[-0.6, max(nd.x for nd in nodes) + 0.6])
    fig.update_yaxes(visible=False, range=[-depth - 0.6, 0.5])
    title = (f"Error tree: {tree.what}; {tree.errors:,} errors in {tree.n:,} rows "
             f"({tree.errors / max(tree.n, 1):.1%}). Click a node, then save it as a cohort")  # fmt: skip
    if tree.fitted_on < tree.n:
        title += f"<br><sup>splits fitted on a random {tree.fitted_on:,} of the rows</sup>"
    return _layout(fig, title, height=170 * (depth + 1) + 120, clickmode="event")


def error_heatmap(hm: HeatMap, selected: tuple | None = None) -> go.Figure:
    """Error rate per bin (or cell); text: rate and errors/rows; click: select the cell."""
    rate = hm.rate
    text = [[("" if hm.counts[i, j] == 0 else
              f"{rate[i, j]:.0%}<br>{hm.errors[i, j]}/{hm.counts[i, j]}")
             for j in range(len(hm.x_labels))] for i in range(len(hm.y_labels))]  # fmt: skip
    custom = [[f"{i},{j}" for j in range(len(hm.x_labels))] for i in range(len(hm.y_labels))]
    fig = go.Figure(go.Heatmap(
        z=rate, x=hm.x_labels, y=hm.y_labels if hm.y_column else ["all"], text=text,
        texttemplate="%{text}", customdata=custom, colorscale="Reds", zmin=0,
        colorbar=dict(title="error rate", thickness=12, tickformat=".0%"),
        hovertemplate="%{x} %{y}<br>%{text}<extra></extra>", xgap=2, ygap=2,
    ))  # fmt: skip
    if selected is not None:
        i, j = selected
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                      line=dict(color="black", width=3))  # fmt: skip
    fig.update_xaxes(type="category", title=hm.x_column)
    fig.update_yaxes(type="category", title=hm.y_column or "")
    title = f"Error rate by {hm.x_column}" + (f" and {hm.y_column}" if hm.y_column else "")
    return _layout(fig, title + ". Click a cell, then save it as a cohort",
                   height=max(260, 50 * len(hm.y_labels) + 200), clickmode="event")  # fmt: skip


def partial_dependence(pd_: PartialDependence, output: int, output_name: str,
                       categorical: list) -> go.Figure:  # fmt: skip
    """PD of one column with ICE lines (markers for a categorical column), or of two (heat map)."""
    note = (f"average over {pd_.rows.size:,} of the cohort's {pd_.n_cohort:,} rows"
            if pd_.rows.size < pd_.n_cohort else f"average over {pd_.rows.size:,} rows")  # fmt: skip
    if len(pd_.columns) == 2:
        a, b = pd_.columns
        x = [str(v) for v in pd_.grids[0]] if categorical[0] else pd_.grids[0]
        y = [str(v) for v in pd_.grids[1]] if categorical[1] else pd_.grids[1]
        fig = go.Figure(go.Heatmap(z=pd_.average[:, :, output].T, x=x, y=y, colorscale="Viridis",
                                   colorbar=dict(title=output_name, thickness=12),
                                   hovertemplate=f"{a}=%{{x}}<br>{b}=%{{y}}<br>"
                                   f"{output_name}=%{{z:.4f}}<extra></extra>"))  # fmt: skip
        return _layout(fig, f"Partial dependence of {output_name} on {a} and {b}<br><sup>{note}"
                       "</sup>", xaxis_title=a, yaxis_title=b)  # fmt: skip
    (column,), grid, cat = pd_.columns, pd_.grids[0], categorical[0]
    x = [str(v) for v in grid] if cat else list(grid)
    fig = go.Figure()
    if pd_.ice is not None:
        n = pd_.ice.shape[0]
        if cat:  # unordered levels: markers, no lines between them
            fig.add_trace(go.Scatter(x=np.tile(x, n), y=_f4(pd_.ice[:, :, output].ravel()),
                                     mode="markers", marker=dict(color=GREY, size=5, opacity=0.5),
                                     name=f"ICE ({n} rows)", hoverinfo="skip"))  # fmt: skip
        else:  # one trace, curves separated by gaps
            xs = np.concatenate([np.append(np.asarray(x, float), np.nan)] * n)
            ys = np.concatenate([np.append(pd_.ice[i, :, output], np.nan) for i in range(n)])
            fig.add_trace(go.Scatter(x=xs, y=_f4(ys), mode="lines", line=dict(color=GREY, width=1),
                                     opacity=0.6, name=f"ICE ({n} rows)", hoverinfo="skip"))  # fmt: skip
    mode = dict(mode="markers", marker=dict(color=POS, size=13, symbol="diamond")) if cat else (
        dict(mode="lines+markers", line=dict(color=POS, width=3)))
    fig.add_trace(go.Scatter(x=x, y=pd_.average[:, output], name="partial dependence",
                             hovertemplate=f"{column}=%{{x}}<br>PD=%{{y:.4f}}<extra></extra>",
                             **mode))  # fmt: skip
    if cat:
        fig.update_xaxes(type="category")
    return _layout(fig, f"Partial dependence of {output_name} on {column}<br><sup>{note}</sup>",
                   xaxis_title=column, yaxis_title=output_name, legend=LEGEND_ABOVE)  # fmt: skip


def interaction_ranking(pairs: list, k: int, title: str) -> go.Figure:
    """Top-k pairs by mean |interaction| (the pair's two halves summed), strongest on top."""
    top = pairs[: max(1, int(k))][::-1]
    fig = go.Figure(go.Bar(x=[v for _, _, v in top], y=[f"{a} × {b}" for a, b, _ in top],
                           orientation="h", marker_color=NEG, showlegend=False,
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))  # fmt: skip
    return _layout(fig, title, height=max(300, 26 * len(top) + 120),
                   xaxis_title="mean |interaction value|")  # fmt: skip


def interaction_matrix(matrix: np.ndarray, names: list, title: str) -> go.Figure:
    """Mean |interaction| between the top features (diagonal: main effects)."""
    fig = go.Figure(go.Heatmap(z=_f4(matrix), x=names, y=names, colorscale="Blues",
                               colorbar=dict(thickness=12),
                               hovertemplate="%{y} × %{x}: %{z:.4f}<extra></extra>"))  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(320, 30 * len(names) + 160))


def interaction_scatter(x: pd.Series, values: np.ndarray, color: pd.Series | None,
                        rows: np.ndarray, a: str, b: str, title: str) -> go.Figure:  # fmt: skip
    """Interaction dependence: a's value against the a-b interaction, coloured by b."""
    label = f"main effect of {a}" if a == b else f"interaction {a} × {b}"
    hover = f"row %{{customdata}}<br>{a}=%{{x}}<br>{label}=%{{y:.4f}}<extra></extra>"
    fig = go.Figure(_scatter_traces(x, pd.Series(_f4(values)), color, rows, hover))
    fig.add_hline(y=0, line=dict(color=GREY, dash="dot"))
    return _layout(fig, title, xaxis_title=a, yaxis_title=label, clickmode="event",
                   legend=LEGEND_ABOVE)  # fmt: skip

