"""The served dashboard in headless Debian chromium, driven by playwright.

Needs ``apt-get install chromium`` (``/usr/bin/chromium``) and ``pip install playwright``; never
``playwright install``. Set ``DASHBOARD_SCREENSHOTS=docs/img`` to refresh the documentation's
screenshots (``dashboard_<view>.png``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import penguin_preprocessor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
pytest.importorskip("dash")
lightgbm = pytest.importorskip("lightgbm")
sync_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a broken CI, not a skip
        raise RuntimeError(f"{CHROMIUM} not found: .ci/run must apt-get install chromium")
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)

from explainable_pipeline import ExplainablePipeline  # noqa: E402
from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402
from explainable_pipeline.dashboard._data import format_prediction  # noqa: E402

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def served(penguins):
    X, y = penguins
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0)
    ep = ExplainablePipeline(penguin_preprocessor(), model, random_state=0).fit(X, y)
    local = ep.explain_local(X)
    dashboard = ExplanationDashboard(local, model=ep, true_y=y)
    url = dashboard.serve(port=0)
    assert url.startswith("http://127.0.0.1:")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     timeout=TIMEOUT_MS)  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.wait_for_selector("#importance-graph .main-svg")
        try:
            yield page, ep, X, local
        finally:
            browser.close()
            dashboard.stop()


def _shot(page, name: str) -> None:
    folder = os.environ.get("DASHBOARD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"dashboard_{name}.png"))


def _open_tab(page, label: str, graph: str) -> None:
    """Select a tab and wait until its callback has drawn a real figure in ``graph``.

    Graphs of tabs not yet opened hold a blank placeholder (no title), so waiting for a
    title rather than for any ``.main-svg`` waits for the figure computed for this tab.
    """
    page.get_by_text(label, exact=True).click()
    page.wait_for_selector(f"#{graph} .main-svg", state="visible")
    page.wait_for_function(
        "g => { const t = document.querySelector(`#${g} .gtitle`);"
        " return t !== null && t.textContent.length > 0; }",
        arg=graph,
    )


def _selected_row(page) -> int:
    return int(re.search(r"\d+", page.inner_text("#selected-row-text")).group())


@pytest.mark.browser
def test_views_render_and_click_selects_a_row(served):
    page, ep, X, local = served
    titles = {
        ("Global importance", "importance-graph"): "Global importance",
        ("Data exploration", "data-graph"): "vs bill_length_mm",
        ("Explanation exploration", "dep-graph"): "Dependence of",
        ("Summary importance", "summary-graph"): "Summary of attributions",
    }
    # top K: the importance chart shows the K most important features, as soon as typed
    k_box = page.locator("#topk-input")
    k_box.fill("3")  # no blur, no Enter
    page.wait_for_function(
        "document.querySelector('#importance-graph .gtitle').textContent.endsWith('top 3')"
    )
    ticks = page.locator("#importance-graph .yaxislayer-above .ytick").all_text_contents()
    assert ticks == local.get_ranked_global_names(top_k=3)[::-1]
    # out of range: box, slider and chart agree on the clamped value, and a note says why
    n = len(local.features)
    k_box.fill("0")
    page.wait_for_function(
        "document.querySelector('#importance-graph .gtitle').textContent.endsWith('top 1')"
    )
    assert k_box.input_value() == "1" and "between 1 and" in page.inner_text("#topk-note")
    assert page.get_attribute("#topk-slider [role=slider]", "aria-valuenow") == "1"
    k_box.fill("99")
    page.wait_for_function(
        f"document.querySelector('#importance-graph .gtitle').textContent.endsWith('top {n}')"
    )
    assert k_box.input_value() == str(n)
    assert page.get_attribute("#topk-slider [role=slider]", "aria-valuenow") == str(n)
    for (label, graph), title in titles.items():
        _open_tab(page, label, graph)
        assert title in page.text_content(f"#{graph} .gtitle")
        _shot(page, {"dep": "dependence"}.get(graph.split("-")[0], graph.split("-")[0]))
    # click the right-most point of the data scatter (row 0 is selected at start)
    _open_tab(page, "Data exploration", "data-graph")
    assert _selected_row(page) == 0
    points = page.locator("#data-graph .scatterlayer .trace:first-child path.point")
    boxes = [points.nth(i).bounding_box() for i in range(min(points.count(), 60))]
    box = max(boxes, key=lambda b: b["x"])
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("!document.querySelector('#selected-row-text')"
                           ".innerText.endsWith(': 0')")  # fmt: skip
    row = _selected_row(page)
    # the scatter is re-drawn with the selected row starred, at its full height
    page.wait_for_function(f"document.querySelector('#data-graph .legend').textContent"
                           f".includes('row {row}')")  # fmt: skip
    assert page.locator("#data-graph .main-svg").first.bounding_box()["height"] >= 400
    _open_tab(page, "Local importance", "local-graph")
    page.wait_for_function(
        f"/^Row {row}[,:]/.test(document.querySelector('#local-top').innerText)"
    )
    c = int(np.argmax(ep.predict_proba(X.iloc[[row]])[0]))
    top = local.features[int(np.argmax(np.abs(local.values[c, row])))]
    assert f"Top feature: {top}" in page.inner_text("#local-top")
    assert top in page.text_content("#local-graph .yaxislayer-above")
    _shot(page, "local")
    served_row = row

    # what-if: change bill_length_mm, the prediction text becomes the model's answer
    _open_tab(page, "What-if", "whatif-graph")
    before = format_prediction(ep.predict_proba(X.iloc[[row]])[0], list(ep.classes_), True)
    page.wait_for_function(  # filled when the tab opens, for the row selected above
        "e => document.querySelector('#whatif-prediction').innerText === e", arg=before
    )
    assert page.inner_text("#whatif-original") == f"Original: {before}"
    box = page.locator('[id*="bill_length_mm"] input, input[id*="bill_length_mm"]').first
    box.fill("59")
    box.press("Enter")
    page.wait_for_function(
        "b => document.querySelector('#whatif-prediction').innerText !== b", arg=before
    )
    edited = X.iloc[[row]].copy()
    edited["bill_length_mm"] = 59.0
    expected = format_prediction(ep.predict_proba(edited)[0], list(ep.classes_), True)
    page.wait_for_function(
        "e => document.querySelector('#whatif-prediction').innerText === e", arg=expected
    )
    _shot(page, "whatif")

    # ICE: the selected row's curve is drawn with the other rows'
    _open_tab(page, "ICE", "ice-graph")
    legend = page.text_content("#ice-graph .legend")
    assert f"row {served_row} (selected)" in legend and "mean (PD)" in legend
    assert page.locator("#ice-graph .scatterlayer .trace").count() == 22  # 20 others, mean, row
    _shot(page, "ice")

    # per class: the local view of the selected row for another class than its top one
    page.locator("#class-dropdown").click()
    page.get_by_role("option", name="Gentoo").click()
    page.get_by_text("Local importance", exact=True).click()
    page.wait_for_function(
        "document.querySelector('#local-graph .gtitle').textContent.endsWith('class Gentoo')"
    )
    top = local.features[int(np.argmax(np.abs(local.values[2, row])))]
    assert f"Top feature: {top}" in page.inner_text("#local-top")

    # one plotly.js for the whole session: the cartesian bundle, loaded with the page
    bundles = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)"
                            ".filter(n => n.includes('plotly'))")  # fmt: skip
    assert [b.rsplit("/", 1)[-1] for b in bundles] == ["plotly-cartesian.min.js"]
