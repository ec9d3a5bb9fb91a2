"""Dashboard first paint: ExplanationDashboard vs a bare Dash app with one scatter of all rows.

First paint = playwright time from ``page.goto`` to the first plotly graph rendered
(``.js-plotly-plot .main-svg``) in headless chromium, fresh browser context (cold cache) each
time, median of 3. The peer is the smallest Dash app that shows the same rows: one
``go.Scatter`` of every row (no sampling), served the same way. Also: Python build time of the
dashboard (explanation given), the size of its initial layout (``/_dash-layout``), the time from
clicking the data-exploration tab to its scatter drawn (views other than the landing one are
computed when their tab is opened), and the static HTML export.

Run: ``python benchmarks/dashboard.py`` (needs /usr/bin/chromium, dash, plotly, playwright).
"""

from __future__ import annotations

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


def first_paint(browser, url: str, repeat: int = 3, data_tab: bool = False):
    """Median first paint; with ``data_tab``, also the median time to open the data view."""
    times, tab_times = [], []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        times.append(time.perf_counter() - start)
        if data_tab:
            start = time.perf_counter()
            page.get_by_text("Data exploration", exact=True).click()
            page.wait_for_selector("#data-graph .gtitle", timeout=60_000)
            tab_times.append(time.perf_counter() - start)
        context.close()
    if data_tab:
        return statistics.median(times), statistics.median(tab_times)
    return statistics.median(times)


def main() -> int:
    import logging

    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    cases = [(10_000, 10), (100_000, 20), (10_000, 200)]
    load_before = os.getloadavg()
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for n_rows, n_features in cases:
            ep, X, y, local = make_case(n_rows, n_features)
            start = time.perf_counter()
            dashboard = ExplanationDashboard(local, model=ep, true_y=y)
            dashboard.app  # noqa: B018 - builds the Dash app and its initial figures
            build = time.perf_counter() - start
            url = dashboard.serve(port=0)
            with urllib.request.urlopen(url + "_dash-layout", timeout=60) as response:
                layout_kb = len(response.read()) / 1e3
            ours, data_view = first_paint(browser, url, data_tab=True)
            dashboard.stop()
            peer = _Served(_peer_app(X, y).server)
            theirs = first_paint(browser, peer.url)
            peer.stop()
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                path = dashboard.save_html(Path(tmp) / "d.html")
                export = time.perf_counter() - start
                size = path.stat().st_size / 1e6
            shown = f"{len(dashboard.data.sample):,}" + (" (sampled)" if dashboard.data.sampled
                                                          else "")  # fmt: skip
            rows.append([f"{n_rows:,}", n_features, shown, f"{build:.2f}", f"{layout_kb:.0f}",
                         f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}",
                         f"{data_view:.2f}", f"{export:.2f}", f"{size:.1f}"])  # fmt: skip
        browser.close()
    print_table(["rows", "features", "points shown", "build s", "layout KB", "first paint s",
                 "peer first paint s", "ratio", "data view s", "save_html s", "html MB"],
                rows)  # fmt: skip
    # other jobs on the machine inflate every time: say how loaded it was
    loads = [" ".join(f"{x:.2f}" for x in load) for load in (load_before, os.getloadavg())]
    print(f"load average (1, 5, 15 min) before: {loads[0]}, after: {loads[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
