"""Static export: one self-contained HTML file with the views that need no live model.

Interactivity left without a server is plotly's own: zoom, hover, and dropdown menus
(``updatemenus``) that switch the dependence feature and the local row. No custom JavaScript.
"""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go

from . import _figures as figs
from ._app import NEEDS_MODEL
from ._callbacks import Views
from ._data import AUTO_CLASS, DashboardData
from ._plotlyjs import plotlyjs_source

MAX_LOCAL_ROWS = 50
MAX_DEPENDENCE_FEATURES = 10


def dependence_menu(data: DashboardData) -> go.Figure:
    """Dependence plot of the top feature, with a dropdown over the top features."""
    feats = [f for f in data.top_features(len(data.features)) if f in data.columns]
    feats = feats[:MAX_DEPENDENCE_FEATURES]
    fig = figs.dependence(data, feats[0], None, AUTO_CLASS)
    c = data.class_index(AUTO_CLASS)
    buttons = []
    for f in feats:
        j = data.features.index(f)
        x = data.data[f].iloc[data.sample]
        x = x.astype(object).where(x.notna(), None).tolist()
        buttons.append(dict(label=f, method="update", args=[
            {"x": [x], "y": [data.values[c, data.sample, j].tolist()]},
            {"title.text": f"Dependence of {f}", "xaxis.title.text": f,
             "yaxis.title.text": f"attribution of {f}"},
        ]))  # fmt: skip
    fig.update_layout(updatemenus=[dict(buttons=buttons, x=1.0, xanchor="right", y=1.15,
                                        yanchor="top", direction="down")])  # fmt: skip
    return fig


def local_menu(data: DashboardData, k: int) -> go.Figure:
    """Local importance of the first sampled row, with a dropdown over up to 50 rows."""
    rows = data.sample[:MAX_LOCAL_ROWS]
    fig = figs.local_row(data, int(rows[0]), k, AUTO_CLASS)
    buttons = []
    for row in rows:
        one = figs.local_row(data, int(row), k, AUTO_CLASS)
        bar = one.data[0]
        buttons.append(dict(label=f"row {row}", method="update", args=[
            {"x": [list(bar.x)], "y": [list(bar.y)], "marker.color": [list(bar.marker.color)]},
            {"title.text": one.layout.title.text},
        ]))  # fmt: skip
    fig.update_layout(updatemenus=[dict(buttons=buttons, x=1.0, xanchor="right", y=1.12,
                                        yanchor="top", direction="down")])  # fmt: skip
    return fig


def static_figures(data: DashboardData) -> list[tuple[str, str, go.Figure]]:
    """(section id, heading, figure) for each static view."""
    from ._app import _defaults

    d = _defaults(data)
    views = Views(data)
    k = min(20, len(data.features))
    return [
        ("data", "Data exploration", views.data_figure(d["x"], d["y"], d["color"], None)),
        ("importance", "Global importance", views.importance_figure(k)),
        ("dependence", "Explanation exploration", dependence_menu(data)),
        (
            "summary",
            "Summary importance",
            views.summary_figure(min(10, k), "beeswarm", AUTO_CLASS),
        ),  # fmt: skip
        ("local", "Local importance", local_menu(data, min(10, k))),
    ]


def write_html(data: DashboardData, path: Path) -> Path:
    """Write the static dashboard to ``path`` and return it."""
    parts = []
    for i, (section, heading, fig) in enumerate(static_figures(data)):
        body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"graph-{section}",
                           config={"displaylogo": False, "responsive": True})  # fmt: skip
        parts.append(f'<section id="{section}"><h2>{i + 1}. {html.escape(heading)}</h2>{body}'
                     "</section>")  # fmt: skip
    for section, heading in (("whatif", "What-if"), ("ice", "ICE")):
        parts.append(f'<section id="{section}"><h2>{heading}</h2><p class="needs-model">'
                     f"{html.escape(NEEDS_MODEL)}</p></section>")  # fmt: skip
    note = figs.sample_note(data)
    n_out = "" if data.classes is None else f", classes {', '.join(map(str, data.classes))}"
    summary = (f"{data.n_rows:,} rows, {len(data.features)} features{n_out}; "
               f"method {data.local.method}, output {data.local.output}.")  # fmt: skip
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Explanation dashboard</title>
<style>body{{font-family:sans-serif;margin:0 16px}} section{{margin:16px 0}}
.note{{color:#a05a00}} .needs-model{{color:#666;font-style:italic}}</style>
<script type="text/javascript">{plotlyjs_source()}</script></head>
<body><h1>Explanation dashboard (static export)</h1><p>{html.escape(summary)}</p>
<p class="note">{html.escape(note)}</p>
{"".join(parts)}
</body></html>
"""
    from .._fileio import atomic_write_text

    atomic_write_text(path, doc)  # never a half-written page
    return path
