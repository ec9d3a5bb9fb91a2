"""The dashboard inline in Jupyter: the iframe it displays points at a server that answers.

``test_repr_html_*`` runs in-process. ``test_notebook_*`` executes a notebook in a real
ipykernel with nbclient (the ``test`` extra), checks the cells' outputs hold the iframe,
fetches its URL from this process while the kernel serves it and, with /usr/bin/chromium,
renders the cell's HTML output in a browser until the dashboard's first graph is drawn.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest
from conftest import notebook_client

pytest.importorskip("dash")

from explainable_pipeline import LocalExplanation  # noqa: E402
from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
IFRAME = re.compile(r'<iframe[^>]*src="(http://127\.0\.0\.1:\d+/)"')
HTTP_TIMEOUT = 10


def _explanation(n: int = 60) -> LocalExplanation:
    rng = np.random.default_rng(0)
    names = ["age", "income", "tenure"]
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=names)
    return LocalExplanation(rng.normal(size=(n, 3)), 0.5, names, method="tree", space="raw",
                            output="prediction", data=data)  # fmt: skip


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        assert response.status == 200
        return response.read().decode()


def _assert_dashboard_at(url: str) -> None:
    """``url`` serves the dashboard: its page, and a layout with the landing figure."""
    assert "<title>Explanation dashboard</title>" in _get(url)
    layout = json.loads(_get(url + "_dash-layout"))
    assert "importance-graph" in json.dumps(layout)


def _assert_stopped(url: str) -> None:
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=HTTP_TIMEOUT)


@pytest.mark.timeout(60)
def test_repr_html_serves_an_iframe_that_answers():
    dashboard = ExplanationDashboard(_explanation())
    try:
        markup = dashboard._repr_html_()
        url = IFRAME.search(markup).group(1)
        assert url == dashboard.url and "serving at" in repr(dashboard)
        assert dashboard._repr_html_() == markup  # displayed again: the same server
        _assert_dashboard_at(url)
    finally:
        dashboard.stop()
    _assert_stopped(url)
    assert dashboard.url is None


def test_show_rejects_unknown_modes():
    with pytest.raises(ValueError, match="inline"):
        ExplanationDashboard(_explanation()).show(mode="jupyterlab")


NOTEBOOK = [
    # 0: build, and end the cell with the object (rich display -> _repr_html_)
    """\
import numpy as np, pandas as pd
from explainable_pipeline import LocalExplanation
from explainable_pipeline.dashboard import ExplanationDashboard
rng = np.random.default_rng(0)
names = ["age", "income", "tenure"]
data = pd.DataFrame(rng.normal(size=(60, 3)), columns=names)
local = LocalExplanation(rng.normal(size=(60, 3)), 0.5, names, method="tree", space="raw",
                         output="prediction", data=data)
dashboard = ExplanationDashboard(local)
dashboard""",
    # 1: show() displays an IFrame of the same server
    "dashboard.show(height=600)",
    # 2: stop the server
    "dashboard.stop()\nprint(dashboard)",
]


def _html_outputs(cell) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs
            if o.get("output_type") in ("execute_result", "display_data")
            and "text/html" in o.get("data", {})]  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_notebook_renders_the_dashboard_inline(tmp_path):
    nb, client = notebook_client(NOTEBOOK, tmp_path)
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        (markup,) = _html_outputs(nb.cells[0])
        url = IFRAME.search(markup).group(1)
        client.execute_cell(nb.cells[1], 1)
        (shown,) = _html_outputs(nb.cells[1])
        assert f'src="{url}"' in shown and 'height="600"' in shown  # IPython's IFrame
        _assert_dashboard_at(url)  # the kernel serves it to another process
        if os.path.exists(CHROMIUM):
            _render_in_chromium(markup)
        client.execute_cell(nb.cells[2], 2)
        assert "not serving" in nb.cells[2].outputs[0]["text"]
    _assert_stopped(url)


def _render_in_chromium(markup: str) -> None:
    """The cell's HTML output in a page: the iframe draws the dashboard's first graph."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     timeout=30_000)  # fmt: skip
        try:
            page = browser.new_page()
            page.set_content(f"<html><body>{markup}</body></html>")
            frame = page.frame_locator("iframe")
            frame.locator("#importance-graph .main-svg").first.wait_for(timeout=30_000)
            assert "Global importance" in frame.locator("#importance-graph .gtitle").text_content()
        finally:
            browser.close()
