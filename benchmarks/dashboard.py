"""Dashboard first paint and view-open times: ExplanationDashboard vs a bare Dash app.

First paint = playwright time from ``page.goto`` to the first plotly graph rendered
(``.js-plotly-plot .main-svg``) in headless chromium, fresh browser context (cold cache) each
time, median of ``--repeat`` (3). The peer is the smallest Dash app that shows the same rows:
one ``go.Scatter`` of every row (no sampling), served the same way.

View open = from clicking a tab to its figures drawn (every view other than the landing one
is computed when its tab is opened), for every view, in the same page one after the other:
"cold" is the first repeat (the server's caches empty: the error tree is fitted, interaction
strengths aggregated), "median" the median over the repeats; "cohort switch" = choosing a cohort (``x0 > 0``, given from Python)
on the landing view until the importance chart shows it. Also: Python build time (the
explanation given; includes the model's predictions on every row), the initial layout's size
(``/_dash-layout``) and the static HTML export.

Case: LightGBM regression (50 trees) behind a ColumnTransformer, ``n_features - 1`` numeric
columns and one categorical, ``true_y`` given, a python cohort; interaction values (main
effects = the attributions plus symmetric noise, float32) when rows x features^2 <= 4e7.

Run: ``python benchmarks/dashboard.py [--cases 100000x20] [--repeat 3]`` (needs
/usr/bin/chromium, dash, plotly, playwright).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
from _common import print_table
from lightgbm import LGBMRegressor
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.dashboard import ExplanationDashboard

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# (tab label, selector that exists once the view is drawn)
VIEWS = [
    ("Model performance", "#perf-graph-4 .gtitle"),
    ("Cohorts", "#cohort-list"),
    ("Error analysis", "#error-heatmap .gtitle"),
    ("Data exploration", "#data-graph .gtitle"),
    ("Explanation exploration", "#dep-graph .gtitle"),
    ("Summary importance", "#summary-graph .gtitle"),
    ("Interactions", "#inter-scatter .gtitle"),
    ("Local importance", "#local-graph .gtitle"),
    ("What-if", "#whatif-graph .gtitle"),
    ("ICE", "#ice-graph .gtitle"),
    ("Partial dependence", "#pdp-graph .gtitle"),
]
MAX_INTERACTION_CELLS = 40_000_000


def make_case(n_rows: int, n_features: int):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n_rows, n_features - 1)),
                     columns=[f"x{i}" for i in range(n_features - 1)])  # fmt: skip
    X["city"] = rng.choice(["paris", "rome", "oslo", "lima"], n_rows)
    y = X["x0"] * 2 + X["x1"] ** 2 + (X["city"] == "oslo") + rng.normal(size=n_rows)
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["city"])], remainder="passthrough",
                            verbose_feature_names_out=False)  # fmt: skip
    ep = ExplainablePipeline(pre, LGBMRegressor(n_estimators=50, verbose=-1), random_state=0)
    ep.fit(X, y)
    return ep, X, y, ep.explain_local(X)


def fake_interactions(local) -> np.ndarray | None:
    """Consistent interaction values (rows sum to the attributions), float32, or None if big."""
    n, p = local.values.shape
    if n * p * p > MAX_INTERACTION_CELLS:
        return None
    rng = np.random.default_rng(1)
    noise = rng.normal(scale=0.01, size=(n, p, p)).astype(np.float32)
    noise += np.swapaxes(noise, 1, 2)
    idx = np.arange(p)
    noise[:, idx, idx] = 0
    noise[:, idx, idx] = local.values.astype(np.float32) - noise.sum(axis=2)
    return noise


def _peer_app(X: pd.DataFrame, y):
    import plotly.graph_objects as go
    from dash import Dash, dcc, html

    app = Dash(__name__)
    fig = go.Figure(go.Scatter(x=X["x0"].tolist(), y=np.asarray(y).tolist(), mode="markers"))
    app.layout = html.Div([dcc.Graph(id="g", figure=fig)])
    return app


class _Served:
    def __init__(self, flask_app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, flask_app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _open(page, label: str, selector: str) -> float:
    start = time.perf_counter()
    page.get_by_text(label, exact=True).click()
    page.wait_for_selector(selector, timeout=120_000)
    return time.perf_counter() - start


def _switch_cohort(page, name: str) -> float:
    page.locator("#cohort-dropdown").click()
    page.locator("input[placeholder='Search']:visible").fill(name)
    option = page.get_by_role("option").filter(has_text=name).first
    start = time.perf_counter()
    option.click()
    page.wait_for_function(
        "n => (document.querySelector('#importance-graph .gtitle') || {textContent: ''})"
        ".textContent.includes('cohort ' + n)", arg=name, timeout=120_000)  # fmt: skip
    return time.perf_counter() - start


def measure(browser, url: str, repeat: int, views: bool, cohort: str | None = None) -> dict:
    """{"first paint" or view: [seconds per repeat]} (with ``views``, every view too)."""
    times: dict = {"first paint": []}
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=120_000)
        times["first paint"].append(time.perf_counter() - start)
        if views:
            if cohort:
                times.setdefault("cohort switch", []).append(_switch_cohort(page, cohort))
                page.keyboard.press("Escape")
            for label, selector in VIEWS:
                if page.get_by_text(label, exact=True).count():
                    times.setdefault(label, []).append(_open(page, label, selector))
        context.close()
    return times


def main() -> int:
    import logging

    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="10000x10,100000x20,10000x200",
                        help="rows x features, comma separated (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = [tuple(int(v) for v in c.split("x")) for c in args.cases.split(",")]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    load_before = os.getloadavg()
    summary, per_view = [], {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for n_rows, n_features in cases:
            ep, X, y, local = make_case(n_rows, n_features)
            interactions = fake_interactions(local)
            start = time.perf_counter()
            dashboard = ExplanationDashboard(local, model=ep, true_y=y, interactions=interactions,
                                             cohorts={"x0 > 0": "x0 > 0"})  # fmt: skip
            dashboard.app  # noqa: B018 - builds the Dash app
            build = time.perf_counter() - start
            url = dashboard.serve(port=0)
            with urllib.request.urlopen(url + "_dash-layout", timeout=60) as response:
                layout_kb = len(response.read()) / 1e3
            ours = measure(browser, url, args.repeat, views=True, cohort="x0 > 0")
            dashboard.stop()
            peer = _Served(_peer_app(X, y).server)
            theirs = statistics.median(measure(browser, peer.url, args.repeat, False)["first paint"])
            peer.stop()
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                path = dashboard.save_html(Path(tmp) / "d.html")
                export = time.perf_counter() - start
                size = path.stat().st_size / 1e6
            case = f"{n_rows:,} x {n_features}"
            paint = statistics.median(ours["first paint"])
            summary.append([case, f"{build:.2f}", f"{layout_kb:.0f}", f"{paint:.2f}",
                            f"{theirs:.2f}", f"{paint / theirs:.2f}", f"{export:.2f}",
                            f"{size:.1f}"])  # fmt: skip
            per_view[case] = ours
        browser.close()
    print_table(["rows x features", "build s", "layout KB", "first paint s", "peer first paint s",
                 "ratio", "save_html s", "html MB"], summary)  # fmt: skip
    print()
    views = ["first paint", "cohort switch", *(label for label, _ in VIEWS)]
    rows = []
    for view in views:
        row = [view]
        for case in per_view:
            t = per_view[case].get(view)
            row += [f"{t[0]:.2f}", f"{statistics.median(t):.2f}"] if t else ["—", "—"]
        rows.append(row)
    print_table(["seconds", *(f"{c} {w}" for c in per_view for w in ("cold", "median"))], rows)
    # other jobs on the machine inflate every time: say how loaded it was
    loads = [" ".join(f"{x:.2f}" for x in load) for load in (load_before, os.getloadavg())]
    print(f"load average (1, 5, 15 min) before: {loads[0]}, after: {loads[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
