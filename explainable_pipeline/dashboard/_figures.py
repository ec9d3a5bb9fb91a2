"""Pure plotly figure builders: ``DashboardData`` and a few choices in, ``go.Figure`` out.

Every scatter carries the dataset row position in ``customdata`` so a click selects a row.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._ranking import rank_order
from ._data import DashboardData

POS, NEG, GREY = "#d62728", "#1f77b4", "#b0b0b0"
# A light explicit style: plotly's named templates cost ~0.15 s per figure to copy.
_LAYOUT = dict(template="none", margin=dict(l=10, r=10, t=60, b=40), plot_bgcolor="white",
               font=dict(family="sans-serif", size=12))  # fmt: skip
HEIGHT = 450
_AXIS = dict(gridcolor="#e5e5e5", zerolinecolor="#999", automargin=True)
# Scatter legends sit in one row above the plot area, right-aligned: plotly's default (top
# right, vertical) is where a colour bar and its title go, and the two overlapped.
LEGEND_ABOVE = dict(orientation="h", x=1, xanchor="right", y=1.01, yanchor="bottom")


def plotly_text(text: Any) -> str:
    """Text for a plotly title or legend, which render a subset of HTML: ``<``, ``>`` and
    ``&`` escaped (a cohort named "x < 3 <b>" shows as typed)."""
    return html.escape(str(text), quote=False)


def _f4(values: Any) -> np.ndarray:
    """float32 copy of values that are shown to 4 decimals or only positioned (jitter).

    plotly.py sends numpy arrays base64-encoded with their dtype: half the bytes of float64.
    Raw feature values keep float64 (their hover shows them in full).
    """
    return np.asarray(values, dtype=np.float32)


def _layout(fig: go.Figure, title: str, height: int = HEIGHT, **kwargs: Any) -> go.Figure:
    # An explicit height: a responsive dcc.Graph sized by its parent collapses to nothing
    # when a figure without one replaces another (e.g. after a click re-draws the scatter).
    fig.update_layout(title=dict(text=title, x=0.01), height=height, **_LAYOUT, **kwargs)
    fig.update_xaxes(**_AXIS)
    fig.update_yaxes(**_AXIS)
    return fig


def class_suffix(data: DashboardData, c: int) -> str:
    return "" if data.classes is None else f" — class {data.classes[c]}"


def _color_kwargs(series: pd.Series) -> tuple[dict, bool]:
    """Marker colour settings for a column: a colourscale for numbers, else category codes."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return dict(color=series.to_numpy(dtype=float), colorscale="Viridis", showscale=True,
                    colorbar=dict(title=str(series.name), thickness=12)), False  # fmt: skip
    return {}, True


def _scatter_traces(x: pd.Series, y: pd.Series, color: pd.Series | None, rows: np.ndarray,
                    hover: str) -> list:  # fmt: skip
    """One trace (numeric/no colour) or one trace per category of ``color``.

    ``customdata`` is a plain list: dcc.Graph reads it back into ``clickData`` by indexing the
    figure's data, which fails on plotly.py's base64-encoded numpy arrays.
    """
    marker = dict(size=6, opacity=0.75)
    rows = np.asarray(rows)
    if color is None:
        return [go.Scatter(x=x, y=y, mode="markers", marker=marker, customdata=rows.tolist(),
                           hovertemplate=hover, showlegend=False)]  # fmt: skip
    kw, categorical = _color_kwargs(color)
    if not categorical:
        return [go.Scatter(x=x, y=y, mode="markers", marker={**marker, **kw}, customdata=rows.tolist(),
                           hovertemplate=hover, showlegend=False)]  # fmt: skip
    labels = color.astype(object).where(color.notna(), "missing").astype(str)
    traces = []
    for level in sorted(labels.unique()):
        mask = (labels == level).to_numpy()
        traces.append(go.Scatter(x=x[mask], y=y[mask], mode="markers", name=level, marker=marker,
                                 customdata=rows[mask].tolist(), hovertemplate=hover))  # fmt: skip
    return traces


def _highlight(fig: go.Figure, x: Any, y: Any, row: int | None) -> None:
    if row is None:
        return
    fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name=f"row {row}", customdata=[int(row)],
                             marker=dict(size=16, symbol="star", color="black",
                                         line=dict(color="white", width=1))))  # fmt: skip


def sample_note(data: DashboardData) -> str:
    """The visible note on sampled views (empty when every row is shown)."""
    if not data.sampled:
        return ""
    return f"Showing a random sample of {len(data.sample):,} of {data.n_rows:,} rows."


def data_scatter(data: DashboardData, x: str, y: str, color: str | None = None,
                 row: int | None = None, rows: np.ndarray | None = None,
                 note: str | None = None) -> go.Figure:  # fmt: skip
    """Data exploration: two dataset / prediction columns, coloured by a third.

    ``rows`` are the dataset rows to draw (default: the sample), ``note`` what the title's
    second line says about them (default: the sample note).
    """
    frame = data.frame.iloc[data.sample if rows is None else rows].reset_index(drop=True)
    hover = f"row %{{customdata}}<br>{x}=%{{x}}<br>{y}=%{{y}}<extra></extra>"
    col = frame[color] if color else None
    fig = go.Figure(_scatter_traces(frame[x], frame[y], col, frame["row"].to_numpy(), hover))
    if row is not None and row in set(frame["row"]):
        pos = int(np.flatnonzero(frame["row"].to_numpy() == row)[0])
        _highlight(fig, frame[x].iloc[pos], frame[y].iloc[pos], row)
    title = f"{y} vs {x}" + (f", coloured by {color}" if color else "")
    note = plotly_text(sample_note(data) if note is None else note)
    return _layout(fig, title + (f"<br><sup>{note}</sup>" if note else ""), xaxis_title=x,
                   yaxis_title=y, clickmode="event", legend=LEGEND_ABOVE)  # fmt: skip


def _stats(data: DashboardData, stats: Any) -> Any:
    """The cohort statistics to draw (default: all rows)."""
    return data.cohorts.stats(None) if stats is None else stats


def global_bar(data: DashboardData, k: int = 10, stats: Any = None, cohort: str = "") -> go.Figure:
    """Global importance: top-k features by overall importance, one stacked bar per class.

    A bar's length is the API's global importance (mean |attribution|, averaged over classes:
    ``GlobalExplanation.values``); its segments are each class's share of that mean
    (``per_class_values / n_classes``). ``stats``: a cohort's ``CohortStats`` (default: all
    rows), named ``cohort`` in the title.
    """
    st = _stats(data, stats)
    top = st.order[: max(1, int(k))][::-1]
    names = [data.features[i] for i in top]
    fig = go.Figure()
    where = f" — cohort {plotly_text(cohort)} ({st.rows.size:,} rows)" if cohort else ""
    if st.per_class is not None and data.classes is not None:
        share = np.asarray(st.per_class) / len(data.classes)  # segments add up to the mean
        for c, label in enumerate(data.classes):
            fig.add_trace(go.Bar(x=share[c, top], y=names, orientation="h",
                                 name=str(label)))  # fmt: skip
        fig.update_layout(barmode="stack", legend_title_text="class")
        title = (f"Global importance (mean |attribution| over classes; segments: each class's "
                 f"share){where}, top {len(top)}")  # fmt: skip
    else:
        fig.add_trace(go.Bar(x=st.importance[top], y=names, orientation="h", marker_color=POS,
                             showlegend=False))  # fmt: skip
        title = f"Global importance (mean |attribution|){where}, top {len(top)}"
    height = max(300, 28 * len(top) + 120)
    return _layout(fig, title, height=height, xaxis_title="importance")


def dependence(data: DashboardData, feature: str, color: str | None = None, cls: Any = None,
               row: int | None = None, rows: np.ndarray | None = None,
               note: str | None = None) -> go.Figure:  # fmt: skip
    """Explanation exploration: a feature's value against its attribution (``rows``: the
    rows to draw, default the sample; ``note``: the title's second line)."""
    c = data.class_index(cls)
    j = data.features.index(feature)
    rows = data.sample if rows is None else rows
    attribution = pd.Series(_f4(data.values[c, rows, j]), name=f"attribution of {feature}")
    x = data.data[feature].iloc[rows].reset_index(drop=True) if feature in data.columns else None
    if x is None:
        x = pd.Series(np.zeros(len(rows)), name=feature)
    col = data.data[color].iloc[rows].reset_index(drop=True) if color else None
    hover = f"row %{{customdata}}<br>{feature}=%{{x}}<br>attribution=%{{y:.4f}}<extra></extra>"
    fig = go.Figure(_scatter_traces(x, attribution, col, rows, hover))
    if row is not None and row in set(rows.tolist()):
        _highlight(fig, data.data[feature].iloc[row], data.values[c, row, j], row)
    note = plotly_text(sample_note(data) if note is None else note)
    title = f"Dependence of {feature}{class_suffix(data, c)}"
    title += f", coloured by {color}" if color else ""
    return _layout(fig, title + (f"<br><sup>{note}</sup>" if note else ""), xaxis_title=feature,
                   yaxis_title=f"attribution of {feature}", clickmode="event",
                   legend=LEGEND_ABOVE)  # fmt: skip


def summary(data: DashboardData, k: int = 10, kind: str = "beeswarm", cls: Any = None,
            max_points: int = 300, stats: Any = None) -> go.Figure:  # fmt: skip
    """Summary importance: each top-k feature's distribution of attributions (over the
    sample of ``stats``, a cohort's ``CohortStats``, default all rows; a beeswarm shows at
    most ``max_points`` of them)."""
    if kind not in ("beeswarm", "box", "violin"):
        raise ValueError(f"kind must be 'beeswarm', 'box' or 'violin'; got {kind!r}.")
    st = _stats(data, stats)
    c = data.class_index(cls)
    top = st.order[: max(1, int(k))][::-1]
    # a beeswarm draws one SVG marker per point: at most max_points per feature; a box or a
    # violin is one shape per feature, computed by plotly.js from the cohort's whole sample
    cap = max_points if kind == "beeswarm" else len(st.sample)
    rows = st.sample if len(st.sample) <= cap else np.sort(
        np.random.default_rng(0).choice(st.sample, cap, replace=False))  # fmt: skip
    fig = go.Figure()
    rng = np.random.default_rng(1)
    first_shaded = True  # one colour bar, on the first numeric feature drawn
    for pos, j in enumerate(top):
        name = data.features[j]
        vals = _f4(data.values[c, rows, j])
        if kind == "box":
            fig.add_trace(go.Box(x=vals, name=name, orientation="h", showlegend=False,
                                 marker_color=NEG, boxpoints=False))  # fmt: skip
        elif kind == "violin":
            fig.add_trace(go.Violin(x=vals, name=name, orientation="h", showlegend=False,
                                    line_color=NEG, points=False))  # fmt: skip
        else:
            color = _beeswarm_shade(data, name, rows)
            scale = {} if isinstance(color, str) else dict(
                colorscale="Bluered", cmin=0, cmax=100, showscale=first_shaded,
                colorbar=dict(title="feature value", tickvals=[0, 100], ticktext=["low", "high"],
                              thickness=12))  # fmt: skip
            first_shaded &= isinstance(color, str)
            fig.add_trace(go.Scatter(
                x=vals, y=_f4(pos + rng.uniform(-0.3, 0.3, len(rows))), mode="markers",
                customdata=rows.tolist(), name=name, showlegend=False,
                marker=dict(size=4, color=color, **scale),
                hovertemplate=f"{name}<br>row %{{customdata}}<br>attribution=%{{x:.4f}}"
                "<extra></extra>",
            ))  # fmt: skip
    if kind == "beeswarm":
        names = [data.features[j] for j in top]
        fig.update_yaxes(tickvals=list(range(len(top))), ticktext=names)
    height = max(300, 36 * len(top) + 120)
    notes = [] if len(rows) == st.rows.size else [f"{len(rows):,} of {st.rows.size:,} rows shown"]
    if kind == "beeswarm" and any(data.features[j] not in data.numeric for j in top):
        notes.append("grey: categorical column (its values have no low/high order)")
    note = "; ".join(notes)
    title = f"Summary of attributions ({kind}){class_suffix(data, c)}"
    return _layout(fig, title + (f"<br><sup>{note}</sup>" if note else ""), height=height,
                   xaxis_title="attribution", clickmode="event")  # fmt: skip


def _beeswarm_shade(data: DashboardData, name: str, rows: np.ndarray) -> Any:
    """Marker colours of one beeswarm row: 0 (low) .. 100 (high) as uint8, or GREY.

    Categorical (or non-raw) columns have no low/high order: one neutral colour, not the
    colour scale's middle, which read as "medium value".
    """
    if name not in data.numeric:
        return GREY
    v = data.data[name].iloc[rows].to_numpy(dtype=float)
    lo, hi = np.nanpercentile(v, [5, 95]) if np.isfinite(v).any() else (0.0, 1.0)
    shade = np.clip((v - lo) / ((hi - lo) or 1.0), 0, 1)
    shade = np.where(np.isfinite(shade), shade, 0.5)
    return np.round(shade * 100).astype(np.uint8)  # 1 byte a point


def waterfall(values: np.ndarray, features: list, base: float, k: int = 10, title: str = "",
              probability: Any = None) -> go.Figure:  # fmt: skip
    """Local attributions as a waterfall: base value, the top-k steps, the rest, the output.

    One horizontal bar per step, from where the previous one ended (``base``) to that plus
    the attribution (``x``), top to bottom: the k largest |attributions|, then "N other
    features" in one bar; the last ends at the explained output (additivity). Dashed lines
    mark the base value and the output. ``probability`` (a function, e.g. the sigmoid of a
    binary model's log-odds) adds the probability after each step to the hover
    (``customdata``).
    """
    values = np.asarray(values, dtype=float)
    order = rank_order(values, "abs")  # largest effect first, either sign
    top, rest = order[: max(1, int(k))], order[max(1, int(k)):]
    steps = values[top].tolist() + ([float(values[rest].sum())] if rest.size else [])
    names = [str(features[i]) for i in top] + ([f"{rest.size} other features"] if rest.size else [])
    starts = base + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    ends = starts + np.asarray(steps)
    output = float(ends[-1])
    hover = "%{y}: %{x:+.4f}<br>%{base:.4f} → %{customdata[0]:.4f}"
    custom = [[e] for e in ends]
    if probability is not None:
        custom = [float(probability(e)) for e in ends]
        hover = "%{y}: %{x:+.4f}<br>→ p = %{customdata:.4f}"
    fig = go.Figure(go.Bar(
        x=steps, y=names, base=starts.tolist(), orientation="h", customdata=custom,
        marker_color=[POS if v >= 0 else NEG for v in steps], showlegend=False,
        text=[f"{v:+.4f}" for v in steps], textposition="outside", cliponaxis=False,
        hovertemplate=hover + "<extra></extra>",
    ))  # fmt: skip
    lo, hi = float(min(starts.min(), ends.min())), float(max(starts.max(), ends.max()))
    pad = 0.18 * ((hi - lo) or 1.0)  # room for the labels outside the bars
    fig.update_xaxes(range=[lo - pad, hi + pad])
    for x, label in ((base, f"base value {base:.4f}"), (output, f"output {output:.4f}")):
        fig.add_vline(x=x, line=dict(color="#666", dash="dash", width=1))
        fig.add_annotation(x=x, y=1, yref="paper", yanchor="bottom", text=label, showarrow=False,
                           font=dict(size=11, color="#444"))  # fmt: skip
    fig.update_yaxes(autorange="reversed", type="category")
    height = max(300, 28 * len(names) + 140)
    return _layout(fig, title, height=height, xaxis_title="cumulative explained output")


def local_row(data: DashboardData, row: int, k: int = 10, cls: Any = None) -> go.Figure:
    """Local importance of a dataset row as a waterfall (class ``cls``, or the row's top)."""
    c = data.class_index(cls, row)
    return waterfall(data.values[c, row], data.features, float(data.expected[c]), k,
                     f"Local explanation of row {row}{class_suffix(data, c)}",
                     data.step_probability(c))  # fmt: skip


def ice(grid: list, rows: np.ndarray, curves: np.ndarray, column: str, output: int,
        output_name: str, categorical: bool = False) -> go.Figure:  # fmt: skip
    """ICE: the model output of each row while ``column`` sweeps ``grid``; the selected row first.

    A categorical column's levels have no order: markers per level, no lines between them.
    """
    x = [str(g) for g in grid] if categorical or any(isinstance(g, str) for g in grid) else grid
    other = dict(mode="markers", marker=dict(color=GREY, size=6)) if categorical else dict(
        mode="lines", line=dict(color=GREY, width=1))  # fmt: skip
    fig = go.Figure()
    for i in range(1, len(rows)):
        fig.add_trace(go.Scatter(x=x, y=curves[i, :, output], name=f"row {rows[i]}",
                                 showlegend=False, opacity=0.6, **other))  # fmt: skip
    if len(rows) > 1:
        mean = dict(mode="markers", marker=dict(color="black", symbol="diamond", size=11)) if (
            categorical) else dict(mode="lines", line=dict(color="black", dash="dash"))
        fig.add_trace(go.Scatter(x=x, y=curves[:, :, output].mean(0), name="mean (PD)", **mean))
    sel = dict(mode="markers", marker=dict(color=POS, size=12, symbol="star")) if categorical else (
        dict(mode="lines+markers", line=dict(color=POS, width=3)))
    fig.add_trace(go.Scatter(x=x, y=curves[0, :, output], name=f"row {rows[0]} (selected)", **sel))
    if categorical:
        fig.update_xaxes(type="category")
    return _layout(fig, f"ICE: {output_name} as {column} varies ({len(rows) - 1} other rows)",
                   xaxis_title=column, yaxis_title=output_name, legend=LEGEND_ABOVE)  # fmt: skip


def empty(message: str) -> go.Figure:
    """A blank figure carrying a message (for views that cannot be drawn)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "")
