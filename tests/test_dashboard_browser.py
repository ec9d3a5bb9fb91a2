"""The served dashboard in headless Debian chromium, driven by playwright.

Needs ``apt-get install chromium`` (``/usr/bin/chromium``) and ``pip install playwright``; never
``playwright install``. Set ``DASHBOARD_SCREENSHOTS=docs/img`` to refresh the documentation's
screenshots (``dashboard_<view>.png``).

One browser for the module, three dashboards served on 127.0.0.1 for the module: the 3-class
penguin LightGBM, a binary logistic regression of the penguin's sex (93% accurate: a
threshold, errors to analyse; scatters sampled to 150 rows), and generated data with exact
interaction values. Each test opens its own page.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import interacting_explanation, penguin_sex_model
from sklearn import metrics as skm
from sklearn.inspection import partial_dependence

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

from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402
from explainable_pipeline.dashboard._data import format_prediction  # noqa: E402

TIMEOUT_MS = 20_000
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      timeout=TIMEOUT_MS)  # fmt: skip
        try:
            yield chromium
        finally:
            chromium.close()


def _serve(dashboard):
    url = dashboard.serve(port=0)
    assert url.startswith("http://127.0.0.1:")
    return url


def _page(browser, url: str, height: int = 860):
    """A new page of the dashboard at ``url``, its landing graph drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#importance-graph .main-svg")
    return page


@contextlib.contextmanager
def _opened(browser, url: str, height: int = 860):
    """A page of the dashboard for one test, closed after it."""
    page = _page(browser, url, height)
    try:
        yield page
    finally:
        page.close()


@pytest.fixture(scope="module")
def served(penguin_explained, browser):
    ep, X, y, local = penguin_explained
    dashboard = ExplanationDashboard(local, model=ep, true_y=y)
    with dashboard, _opened(browser, _serve(dashboard)) as page:  # exiting stops the server
        yield page, ep, X, local, dashboard


@pytest.fixture(scope="module")
def served_binary(penguins, browser):
    ep, X, y = penguin_sex_model(penguins)
    local = ep.explain_local(X)
    dashboard = ExplanationDashboard(local, model=ep, true_y=y, max_points=150,
                                     cohorts={"Biscoe": "island == 'Biscoe'"})  # fmt: skip
    with dashboard:  # exiting stops the server
        yield _serve(dashboard), ep, X, y, local, dashboard


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
    page, ep, X, local, _ = served
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


# ---------------------------------------------------------------------------------------------
# Model views (issue 16)


def _traces(page, graph: str) -> list:
    """The plotly traces drawn in ``graph`` (typed arrays as plain lists).

    Read from plotly.js's ``_fullData``: ``data`` keeps numpy arrays as plotly.py sent them
    (base64 specs), ``_fullData`` holds them decoded.
    """
    return page.evaluate(
        """g => document.querySelector(`#${g} .js-plotly-plot`)._fullData.map(t => ({
            name: t.name, type: t.type,
            x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
            customdata: t.customdata ? Array.from(t.customdata,
                r => (r && r.length !== undefined && typeof r !== "string") ? Array.from(r) : r)
                : null,
            text: t.text ? Array.from(t.text) : null,
            color: t.marker && t.marker.color && typeof t.marker.color !== "string"
                ? Array.from(t.marker.color) : null}))""",
        graph,
    )


def _wait_title(page, graph: str, text: str) -> None:
    page.wait_for_function(
        "([g, t]) => { const e = document.querySelector(`#${g} .gtitle`);"
        " return e !== null && e.textContent.includes(t); }",
        arg=[graph, text],
    )


def _choose(page, dropdown: str, option: str, label: str | None = None) -> None:
    """Pick ``option`` in a Dash dropdown (typing filters long lists); ``label``: the
    option's whole label when it says more (e.g. "Biscoe (120 rows)")."""
    page.locator(f"#{dropdown}").click()
    # Dash 4's menu has a search box (focused only when the dropdown holds no value)
    page.locator("input[placeholder='Search']:visible").fill(option)
    page.get_by_role("option", name=label or option, exact=True).click()
    page.keyboard.press("Escape")


def _open_and_choose(page, tab: tuple, dropdown: str, option: str, title: str) -> None:
    """Open ``tab`` (label, graph), pick ``option`` in ``dropdown``, wait for the redraw."""
    _open_tab(page, *tab)
    _choose(page, dropdown, option)
    _wait_title(page, tab[1], title)


def _table_cell(page, table: str, row: str, column: str) -> str:
    return page.inner_text(f'#{table} td[data-metric="{row}"][data-column="{column}"]')


def _rows_of(filters: list, frame) -> np.ndarray:
    """The test's own reading of cohort filters (independent of the dashboard's code)."""
    mask = np.ones(len(frame), bool)
    for f in filters:
        s = frame[f["column"]]
        if f["op"] == "in":
            hit = s.isin([v for v in f["values"] if v is not None]).to_numpy()
            hit |= s.isna().to_numpy() & (None in f["values"])
        else:
            v = s.to_numpy(dtype=float)
            with np.errstate(invalid="ignore"):
                hit = {"<=": v <= f["value"], ">": v > f["value"], ">=": v >= f["value"],
                       "<": v < f["value"]}[f["op"]]  # fmt: skip
            hit |= np.isnan(v) & bool(f.get("missing"))
        mask &= hit
    return np.flatnonzero(mask)


def _shown_importance(page) -> dict:
    """{(class or cohort trace, feature): bar value} of the global importance chart."""
    return {(t["name"], f): v for t in _traces(page, "importance-graph")
            for f, v in zip(t["y"], t["x"], strict=True)}  # fmt: skip


def _assert_importance_of_rows(page, local, rows: np.ndarray) -> None:
    """Each class's segment is its share of the mean over classes (the API's global value):
    mean |phi| of the rows for that class / n_classes, so a bar is as long as the API's."""
    shown = _shown_importance(page)
    assert shown, "no bars"
    n_classes = len(local.classes)
    for (cls, feature), value in shown.items():
        c = list(map(str, local.classes)).index(cls)
        j = local.features.index(feature)
        expected = np.abs(local.values[c, rows, j]).mean() / n_classes
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.browser
def test_performance_metrics_on_the_page_equal_scikit_learn(served, browser):
    _, ep, X, local, dashboard = served
    with _opened(browser, dashboard.url, height=1400) as page:
        _open_tab(page, "Model performance", "perf-graph-1")
        proba = ep.predict_proba(X)
        pred = ep.classes_[proba.argmax(1)]
        y = dashboard.data.true_y
        expected = {"accuracy": skm.accuracy_score(y, pred),
                    "F1 (macro)": skm.f1_score(y, pred, average="macro"),
                    "log-loss": skm.log_loss(y, proba, labels=ep.classes_),
                    "ROC AUC": skm.roc_auc_score(y, proba, multi_class="ovr")}  # fmt: skip
        for metric, value in expected.items():
            assert _table_cell(page, "perf-metrics", metric, "All data") == f"{value:.4f}"
        confusion = _traces(page, "perf-graph-1")[0]["customdata"]
        np.testing.assert_array_equal(confusion, skm.confusion_matrix(y, pred, labels=ep.classes_))


@pytest.mark.browser
def test_cohort_by_filter_switches_the_importance_to_its_rows(served, browser):
    _, ep, X, local, dashboard = served
    with _opened(browser, dashboard.url) as page:
        page.get_by_text("Cohorts", exact=True).click()
        _choose(page, "cohort-column", "island")
        _choose(page, "cohort-levels", "Dream")
        page.click("#cohort-add")
        page.wait_for_function("document.querySelector('#cohort-pending-text').innerText"
                               ".includes('island in {Dream}')")  # fmt: skip
        _choose(page, "cohort-column", "bill_length_mm")
        page.wait_for_selector("#cohort-min", state="visible")
        page.fill("#cohort-min", "45")
        page.click("#cohort-add")
        page.wait_for_function("document.querySelector('#cohort-pending-text').innerText"
                               ".includes('bill_length_mm >= 45')")  # fmt: skip
        page.fill("#cohort-name", "long Dream")
        page.click("#cohort-save")
        page.wait_for_function("document.querySelector('#cohort-message').innerText"
                               ".startsWith(\"Saved cohort 'long Dream'\")")  # fmt: skip
        rows = np.flatnonzero(((X["island"] == "Dream") & (X["bill_length_mm"] >= 45)).to_numpy())
        assert f"({rows.size:,} rows)" in page.inner_text("#cohort-message")
        page.wait_for_selector('#cohort-list td[data-cohort="long Dream"]')
        _shot(page, "cohorts")
        page.get_by_text("Global importance", exact=True).click()
        _wait_title(page, "importance-graph", "cohort long Dream")
        _assert_importance_of_rows(page, local, rows)
        # the scatters follow: every point drawn is a row of the cohort
        _open_tab(page, "Data exploration", "data-graph")
        _wait_title(page, "data-graph", "long Dream")
        drawn = {r for t in _traces(page, "data-graph") for r in (t["customdata"] or [])}
        assert drawn and drawn <= set(rows.tolist())


@pytest.mark.browser
def test_threshold_slider_moves_the_confusion_matrix(served_binary, browser):
    url, ep, X, y, local, dashboard = served_binary
    with _opened(browser, url, height=1400) as page:
        _open_tab(page, "Model performance", "perf-graph-1")
        _wait_title(page, "perf-graph-1", "threshold 0.50")
        thumb = page.locator("#threshold-slider [role=slider]")
        thumb.focus()
        for _ in range(20):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("document.querySelector('#threshold-slider [role=slider]')"
                               ".getAttribute('aria-valuenow') !== '0.5'")  # fmt: skip
        threshold = float(thumb.get_attribute("aria-valuenow"))
        assert threshold == pytest.approx(0.7)
        _wait_title(page, "perf-graph-1", f"threshold {threshold:.2f}")
        pred = np.where(ep.predict_proba(X)[:, 1] >= threshold, "male", "female")
        confusion = _traces(page, "perf-graph-1")[0]["customdata"]
        expected = skm.confusion_matrix(y, pred, labels=["female", "male"])
        np.testing.assert_array_equal(confusion, expected)
        assert expected.tolist() != skm.confusion_matrix(y, ep.predict(X)).tolist()  # it moved
        accuracy = _table_cell(page, "perf-metrics", "accuracy", "All data")
        assert accuracy == f"{skm.accuracy_score(y, pred):.4f}"
        # the other cohort is compared side by side
        biscoe = (X["island"] == "Biscoe").to_numpy()
        _choose(page, "compare-dropdown", "Biscoe", f"Biscoe ({biscoe.sum()} rows)")
        page.wait_for_selector('#perf-metrics td[data-column="Biscoe"]')
        assert _table_cell(page, "perf-metrics", "accuracy", "Biscoe") == (
            f"{skm.accuracy_score(y[biscoe], pred[biscoe]):.4f}")  # fmt: skip
        _wait_title(page, "perf-graph-2", "ROC")
        page.mouse.move(5, 5)
        _shot(page, "performance")


@pytest.mark.browser
def test_error_tree_node_becomes_a_cohort(served_binary, browser):
    url, ep, X, y, local, dashboard = served_binary
    with _opened(browser, url, height=1300) as page:
        _open_tab(page, "Error analysis", "error-tree")
        nodes = _traces(page, "error-tree")[1]  # trace 0: the edges
        # the node with the highest error rate below the root
        k = max((i for i, node in enumerate(nodes["customdata"]) if node != 0),
                key=lambda i: nodes["color"][i])  # fmt: skip
        node_id = nodes["customdata"][k]
        point = page.locator("#error-tree .scatterlayer .trace:nth-child(2) path.point").nth(k)
        box = point.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("document.querySelector('#error-selection').innerText"
                               ".startsWith('Selected:')")  # fmt: skip
        _shot(page, "errors")
        page.click("#error-save")
        page.wait_for_function("document.querySelector('#error-message').innerText"
                               ".startsWith('Saved cohort')")  # fmt: skip
        name = f"error node {node_id}"
        filters = dashboard.data.cohorts.get(name).filters
        rows = _rows_of(filters, X)
        # the node's label (errors/rows) counts exactly the cohort's rows
        label = nodes["text"][k]
        assert label.endswith(f"/{rows.size}")
        wrong = ep.predict(X) != y
        assert label.startswith(f"{wrong[rows].sum() / rows.size:.0%} · {wrong[rows].sum()}/")
        page.get_by_text("Global importance", exact=True).click()
        _wait_title(page, "importance-graph", f"cohort {name}")
        _assert_importance_of_rows(page, local, rows)


@pytest.mark.browser
def test_partial_dependence_point_equals_scikit_learn(served_binary, browser):
    url, ep, X, y, local, dashboard = served_binary
    with _opened(browser, url) as page:
        _open_and_choose(page, ("Partial dependence", "pdp-graph"), "pdp-column", "bill_depth_mm",
                         "on bill_depth_mm")  # fmt: skip
        pd_trace = _traces(page, "pdp-graph")[-1]
        ref = partial_dependence(ep, X, ["bill_depth_mm"], grid_resolution=20)
        assert "p(male)" in page.text_content("#pdp-graph .gtitle")  # sklearn: positive class
        i = 7
        assert pd_trace["x"][i] == pytest.approx(ref["grid_values"][0][i], rel=1e-12)
        assert pd_trace["y"][i] == pytest.approx(ref["average"][0][i], rel=1e-9)
        np.testing.assert_allclose(pd_trace["y"], ref["average"][0], rtol=1e-9)
        _shot(page, "pdp")


@pytest.mark.browser
def test_sampled_scatter_legend_clears_the_colour_bar(served_binary, browser):
    url, ep, X, y, local, dashboard = served_binary
    with _opened(browser, url) as page:
        _open_and_choose(page, ("Data exploration", "data-graph"), "data-color", "body_mass_g",
                         "coloured by body_mass_g")  # fmt: skip
        assert "150 of 333" in page.text_content("#data-graph .gtitle")  # sampled
        legend = page.locator("#data-graph .legend").bounding_box()
        bar = page.locator("#data-graph .colorbar").bounding_box()
        assert "row" in page.text_content("#data-graph .legend")  # the selected row's star
        overlap_x = min(legend["x"] + legend["width"], bar["x"] + bar["width"]) - max(
            legend["x"], bar["x"])  # fmt: skip
        overlap_y = min(legend["y"] + legend["height"], bar["y"] + bar["height"]) - max(
            legend["y"], bar["y"])  # fmt: skip
        assert overlap_x <= 0 or overlap_y <= 0


@pytest.mark.browser
def test_interactions_view_ranks_the_planted_pairs(browser):
    local, inter, X, _ = interacting_explanation()
    dashboard = ExplanationDashboard(local, interactions=inter)
    with dashboard, _opened(browser, _serve(dashboard), 1100) as page:
        _open_tab(page, "Interactions", "inter-rank")
        ranking = _traces(page, "inter-rank")[0]
        assert ranking["y"][-2:] == ["c × d", "a × b"]  # strongest on top
        assert ranking["x"][-1] == pytest.approx(np.abs(2 * inter[:, 0, 1]).mean(), rel=1e-9)
        _wait_title(page, "inter-scatter", "Interaction of a and b")
        _shot(page, "interactions")
