"""Static export: one self-contained HTML file with the views that need no live model.

Interactivity left without a server is plotly's own: zoom, hover, a dropdown menu
(``updatemenus``) that switches the dependence feature and a slider that switches the local
row. No custom JavaScript. Sections follow the live dashboard's tab order.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from . import _figures as figs
from ._app import TABS
from ._callbacks import Views
from ._cohorts import ALL, MAX_COMPARE
from ._data import AUTO_CLASS, DashboardData
from ._metrics import NO_TRUTH
from ._model_views import ModelViews
from ._plotlyjs import plotlyjs_source

MAX_LOCAL_ROWS = 50
MAX_DEPENDENCE_FEATURES = 10
CANNOT_RECOMPUTE = (
    "The static file cannot recompute predictions: {view} runs in the live dashboard "
    "(ExplanationDashboard(explanation, model=...).serve(), or `explainable-pipeline "
    "dashboard MODEL DATA.csv`)."
)


def dependence_menu(data: DashboardData) -> go.Figure:
    """Dependence plot of the top feature, with a dropdown over the top features."""
    feats = [f for f in data.top_features(len(data.features)) if f in data.columns]
    feats = feats[:MAX_DEPENDENCE_FEATURES]
    fig = figs.dependence(data, feats[0], None, AUTO_CLASS)
    c = data.class_index(AUTO_CLASS)
    suffix = figs.class_suffix(data, c)
    buttons = []
    for f in feats:
        j = data.features.index(f)
        x = data.data[f].iloc[data.sample]
        x = x.astype(object).where(x.notna(), None).tolist()
        buttons.append(dict(label=f, method="update", args=[
            {"x": [x], "y": [data.values[c, data.sample, j].tolist()]},
            {"title.text": f"Dependence of {f}{suffix}", "xaxis.title.text": f,
             "yaxis.title.text": f"attribution of {f}"},
        ]))  # fmt: skip
    fig.update_layout(updatemenus=[dict(buttons=buttons, x=1.0, xanchor="right", y=1.15,
                                        yanchor="top", direction="down")])  # fmt: skip
    return fig


def local_menu(data: DashboardData, k: int) -> go.Figure:
    """Local waterfall of the first sampled row, with a slider over up to 50 rows.

    A slider under the plot, not a dropdown: a 50-row list was clipped by the plot and
    covered by the modebar.
    """
    rows = data.sample[:MAX_LOCAL_ROWS]
    fig = figs.local_row(data, int(rows[0]), k, AUTO_CLASS)
    steps = []
    for row in rows:
        one = figs.local_row(data, int(row), k, AUTO_CLASS)
        bar, shapes, notes = one.data[0], one.layout.shapes, one.layout.annotations
        relayout = {"title.text": one.layout.title.text}
        for i in range(2):  # the base value and output lines and their labels
            relayout.update({f"shapes[{i}].x0": shapes[i].x0, f"shapes[{i}].x1": shapes[i].x1,
                             f"annotations[{i}].x": notes[i].x,
                             f"annotations[{i}].text": notes[i].text})  # fmt: skip
        steps.append(dict(label=str(row), method="update", args=[
            {"x": [list(bar.x)], "y": [list(bar.y)], "base": [list(bar.base)],
             "text": [list(bar.text)], "customdata": [list(bar.customdata)],
             "marker.color": [list(bar.marker.color)]},
            relayout,
        ]))  # fmt: skip
    fig.update_layout(sliders=[dict(steps=steps, active=0, currentvalue=dict(prefix="row "),
                                    pad=dict(t=50), len=1.0)])  # fmt: skip
    fig.update_layout(height=fig.layout.height + 80)
    return fig


def static_figures(data: DashboardData) -> list[tuple[str, str, go.Figure]]:
    """(section id, heading, figure) of the explanation views, in the live tabs' order."""
    from ._app import _defaults

    d = _defaults(data)
    views = Views(data)
    k = min(20, len(data.features))
    compare = data.cohorts.names[1:MAX_COMPARE]
    figures = {
        "importance": views.importance_figure(k, ALL, compare),
        "data": views.data_figure(d["x"], d["y"], d["color"], None),
        "dependence": dependence_menu(data),
        "summary": views.summary_figure(min(10, k), "beeswarm", AUTO_CLASS),
        "local": local_menu(data, min(10, k)),
    }
    return [(value, label, figures[value]) for value, label in TABS if value in figures]


def _table_html(header: list, rows: list) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return f'<table class="ep-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def model_sections(data: DashboardData) -> dict:
    """{section id: [figure or HTML string, ...]} of the model views the file can hold.

    Every cohort is listed; the first four are compared (performance, importance). Partial
    dependence (needs the model at export time) covers the three most important columns.
    """
    mv = ModelViews(data)
    names = data.cohorts.names[:MAX_COMPARE]
    out: dict = {"cohorts": [_table_html(*mv.cohort_table())]}
    if mv.has_truth:
        thr = 0.5 if mv.threshold_applies() else None
        header, rows, notes = mv.performance_table(ALL, names[1:], thr)
        note = f'<p class="note">{html.escape("; ".join(notes))}</p>' if notes else ""
        out["performance"] = [_table_html(header, rows) + note,
                              *mv.performance_figures(ALL, names[1:], thr, AUTO_CLASS)]  # fmt: skip
        tree = mv.error_figures(ALL, 3, 0.9, data.top_features(1)[0], None)
        out["errors"] = list(tree)
    else:
        out["performance"] = [f'<p class="needs-model">{html.escape(NO_TRUTH)}</p>']
    if data.interactions is not None:
        out["interactions"] = list(mv.interaction_figures(ALL, 10, AUTO_CLASS, None)[:2])
    if data.model is not None:
        columns = [f for f in data.top_features(len(data.features)) if f in data.columns][:3]
        out["pdp"] = [mv.pdp_figure(ALL, c, None, AUTO_CLASS) for c in columns]
    return out


LIVE_ONLY = {"whatif": "what-if", "ice": "ICE", "pdp": "partial dependence"}


def _render(section: str, part: Any, i: int) -> str:
    if isinstance(part, str):
        return part
    div = f"graph-{section}" if i == 0 else f"graph-{section}-{i}"
    return part.to_html(full_html=False, include_plotlyjs=False, div_id=div,
                        config={"displaylogo": False, "responsive": True})  # fmt: skip


def write_html(data: DashboardData, path: Path) -> Path:
    """Write the static dashboard to ``path`` and return it."""
    sections = {section: [fig] for section, _, fig in static_figures(data)}
    sections.update(model_sections(data))
    parts = []
    for section, heading in TABS:
        if section in sections:
            body = "".join(_render(section, p, i) for i, p in enumerate(sections[section]))
        elif section in LIVE_ONLY:
            message = CANNOT_RECOMPUTE.format(view=LIVE_ONLY[section])
            body = f'<p class="needs-model">{html.escape(message)}</p>'
        else:
            continue
        parts.append(f'<section id="{section}"><h2>{len(parts) + 1}. {html.escape(heading)}</h2>'
                     f"{body}</section>")  # fmt: skip
    note = figs.sample_note(data)
    n_out = "" if data.classes is None else f", classes {', '.join(map(str, data.classes))}"
    summary = (f"{data.n_rows:,} rows, {len(data.features)} features{n_out}; "
               f"method {data.local.method}, output {data.local.output}.")  # fmt: skip
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Explanation dashboard</title>
<style>body{{font-family:sans-serif;margin:0 16px}} section{{margin:16px 0}}
.note{{color:#a05a00}} .needs-model{{color:#666;font-style:italic}}
.ep-table{{border-collapse:collapse}} .ep-table td,.ep-table th{{padding:2px 10px;
border-bottom:1px solid #eee;text-align:left}}</style>
<script type="text/javascript">{plotlyjs_source()}</script></head>
<body><h1>Explanation dashboard (static export)</h1><p>{html.escape(summary)}</p>
<p class="note">{html.escape(note)}</p>
{"".join(parts)}
</body></html>
"""
    from .._fileio import atomic_write_text

    atomic_write_text(path, doc)  # never a half-written page
    return path
