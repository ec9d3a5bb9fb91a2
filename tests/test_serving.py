"""predict_and_explain and the HTTP scoring service (in-process, and one real server)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from conftest import penguin_lgbm
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from explainable_pipeline import ExplainablePipeline, save

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
lightgbm = pytest.importorskip("lightgbm")
from fastapi.testclient import TestClient  # noqa: E402

from explainable_pipeline.serving import create_app  # noqa: E402


@pytest.fixture(scope="module")
def lgbm(penguins):
    X, y = penguins
    return penguin_lgbm(X, y), X


@pytest.fixture(scope="module")
def client(lgbm):
    ep, _ = lgbm
    return TestClient(create_app(ep, max_rows=25, max_body_bytes=30_000))


def _plain(value):
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(X):
    """Rows as JSON records with exact floats (NaN -> null)."""
    return [{k: _plain(v) for k, v in row.items()} for row in X.to_dict(orient="records")]


def _split(X):
    return {"columns": list(X.columns), "data": [list(r.values()) for r in _records(X)]}


# ---------------------------------------------------------------- predict_and_explain
def test_predict_and_explain_matches_predict_and_explain_local(lgbm):
    ep, X = lgbm
    rows = X.iloc[:6]
    out = ep.predict_and_explain(rows)
    json.dumps(out, allow_nan=False)  # strict JSON
    assert out["predictions"] == ep.predict(rows).tolist()
    np.testing.assert_allclose(out["probabilities"], ep.predict_proba(rows), rtol=1e-12)
    local = ep.explain_local(rows)
    values = np.array(out["local_importance_values"])
    assert values.shape == (3, 6, 7)
    np.testing.assert_allclose(values, local.values, rtol=1e-12)
    assert out["features"] == local.features and out["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    # local accuracy: attributions + expected value = the explained log-odds of each class
    margins = values.sum(-1) + np.array(out["expected_values"])[:, None]
    raw = ep.estimator_.predict(ep.preprocessor_.transform(rows), raw_score=True)
    np.testing.assert_allclose(margins, raw.T, atol=1e-6)
    assert out["method"] == "tree" and out["output"] == local.output and out["top_k"] is None


def test_predict_and_explain_transforms_the_rows_once(lgbm, monkeypatch):
    ep, X = lgbm
    calls = []
    original = ep._transform

    def spy(Z, **kw):
        calls.append(len(Z))
        return original(Z, **kw)

    monkeypatch.setattr(ep, "_transform", spy)
    ep.predict_and_explain(X.iloc[:3])
    # the 3 rows once; a first explanation may also transform the background once (100 rows)
    # for its lazily built explainer, which is why counting every call depended on test order
    assert calls.count(3) == 1 and set(calls) <= {3, len(ep.background_)}


def test_predict_and_explain_top_k_ranks_by_signed_value(lgbm):
    ep, X = lgbm
    rows = X.iloc[:4]
    out = ep.predict_and_explain(rows, top_k=2)
    assert "local_importance_values" not in out and out["top_k"] == 2
    full = ep.explain_local(rows)
    assert out["ranked_local_names"] == full.get_ranked_local_names(top_k=2)
    np.testing.assert_allclose(out["ranked_local_values"], full.get_ranked_local_values(top_k=2))
    assert np.array(out["ranked_local_values"]).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="top_k"):
        ep.predict_and_explain(rows, top_k=0)


def test_predict_and_explain_regression_and_raw_space_explainer():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X[["age", "bmi", "bp", "s5"]]
    ep = ExplainablePipeline(StandardScaler(), SVR(), explainer="exact", random_state=0)
    ep.fit(X[:200], y[:200])
    out = ep.predict_and_explain(X[:3])
    assert out["probabilities"] is None and out["classes"] is None
    assert isinstance(out["expected_values"], float)
    np.testing.assert_allclose(out["predictions"], ep.predict(X[:3]))
    values = np.array(out["local_importance_values"])
    np.testing.assert_allclose(
        values.sum(1) + out["expected_values"], out["predictions"], atol=1e-8
    )


# ---------------------------------------------------------------- the app in-process
def test_score_records_and_split_give_predict_and_explain(lgbm, client):
    ep, X = lgbm
    rows = X.iloc[:5]  # includes a row with NaN values
    expected = ep.predict_and_explain(rows)
    records = client.post("/score", json=_records(rows))
    assert records.status_code == 200
    split = client.post("/score", json=_split(rows))
    assert split.status_code == 200
    for got in (records.json(), split.json()):
        assert got["predictions"] == expected["predictions"]
        np.testing.assert_allclose(
            got["local_importance_values"], expected["local_importance_values"], rtol=1e-12
        )
        np.testing.assert_allclose(got["probabilities"], expected["probabilities"], rtol=1e-12)
    top = client.post("/score?top_k=3", json=_records(rows)).json()
    assert np.array(top["ranked_local_names"]).shape == (3, 5, 3)


@pytest.mark.parametrize(
    "case, status, needle",
    [
        ("malformed", 400, "Malformed JSON"),
        ("missing column", 422, "island: Field required"),
        ("false is not a float", 422, "bill_length_mm: Input should be a valid number"),
        ("string is not a float", 422, "bill_length_mm: Input should be a valid number"),
        ("number is not a string", 422, "sex: Input should be a valid string"),
        ("NaN literal", 422, "finite number"),
        ("unknown column", 422, "colour: Extra inputs are not permitted"),
        ("too many rows", 422, "at most 25 items"),
        ("body too large", 413, "larger than the limit of 30000 bytes"),
        ("not rows", 422, "JSON array of records"),
        ("no rows", 422, "at least 1 item"),
        ("split in another order", 422, "raw columns in fit order"),
        ("split short row", 422, "body.split.data[0]"),
        ("bad top_k", 422, "top_k"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(lgbm, client, case, status, needle):
    _, X = lgbm
    row = _records(X.iloc[:1])[0]
    split = _split(X.iloc[:1])
    url, kwargs = "/score", None
    bodies = {
        "missing column": [{k: v for k, v in row.items() if k != "island"}],
        "false is not a float": [{**row, "bill_length_mm": False}],
        "string is not a float": [{**row, "bill_length_mm": "39.1"}],
        "number is not a string": [{**row, "sex": 1}],
        "unknown column": [{**row, "colour": "blue"}],
        "too many rows": [row] * 26,
        "body too large": [{**row, "island": "x" * 40_000}],
        "not rows": "hello",
        "no rows": [],
        "split in another order": {"columns": split["columns"][::-1], "data": split["data"]},
        "split short row": {"columns": split["columns"], "data": [split["data"][0][:-1]]},
    }
    if case == "malformed":
        kwargs = {"content": b'[{"island": ', "headers": {"content-type": "application/json"}}
    elif case == "NaN literal":
        text = json.dumps([{**row, "bill_length_mm": float("nan")}])
        kwargs = {"content": text.encode(), "headers": {"content-type": "application/json"}}
    elif case == "bad top_k":
        url, kwargs = "/score?top_k=0", {"json": [row]}
    else:
        kwargs = {"json": bodies[case]}
    response = client.post(url, **kwargs)
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert client.get("/health").json() == {"status": "ok"}  # still serving


def test_rows_the_model_rejects_get_422_not_500(penguins):
    X, y = penguins
    X = X.dropna()
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder

    strict = ColumnTransformer(
        [("num", StandardScaler(), ["bill_length_mm", "flipper_length_mm"]),
         ("cat", OneHotEncoder(handle_unknown="error"), ["island"])]
    )  # fmt: skip
    cols = ["bill_length_mm", "flipper_length_mm", "island"]
    ep = ExplainablePipeline(strict, LogisticRegression()).fit(X[cols], y[X.index])
    client = TestClient(create_app(ep))
    row = {"bill_length_mm": 40.0, "flipper_length_mm": 190.0, "island": "Atlantis"}
    response = client.post("/score", json=[row])
    assert response.status_code == 422
    assert "could not score" in response.json()["detail"] and "Atlantis" in response.text
    # no imputer: the start-up probe finds that null breaks the model, so the schema refuses it
    assert client.get("/metadata").json()["nullable_columns"] == []
    response = client.post("/score", json=[{**row, "island": "Dream", "bill_length_mm": None}])
    assert response.status_code == 422
    assert "bill_length_mm: Input should be a valid number" in response.json()["detail"]
    response = client.post("/score", json=[{**row, "island": "Dream", "bill_length_mm": 1e300}])
    assert response.status_code == 422 and "less than or equal to 1000000000000000" in response.text


def test_metadata_health_and_openapi(lgbm, client):
    ep, _ = lgbm
    meta = client.get("/metadata").json()
    assert meta["columns"] == list(ep.feature_names_in_)
    assert meta["dtypes"] == ep.feature_dtypes_
    assert meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert meta["explainer"] == "tree" and meta["estimator"].endswith("LGBMClassifier")
    assert meta["versions"]["runtime"]["scikit-learn"] == __import__("sklearn").__version__
    assert meta["max_rows"] == 25
    assert meta["nullable_columns"] == meta["columns"]  # imputers and LightGBM take NaN
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/score"]["post"]["responses"]
    assert {"200", "400", "413", "422"} <= set(responses)
    assert "Malformed JSON" in responses["400"]["description"]
    row_schema = spec["components"]["schemas"]["Row"]
    assert row_schema["additionalProperties"] is False
    assert set(row_schema["required"]) == set(ep.feature_names_in_)


def test_create_app_from_a_skops_file_needs_the_trust(lgbm, tmp_path):
    from explainable_pipeline.persistence import UntrustedTypesError, get_untrusted_types

    ep, X = lgbm
    path = save(ep, tmp_path / "m.skops", format="skops")
    with pytest.raises(UntrustedTypesError):
        create_app(path)
    client = TestClient(create_app(path, trusted=get_untrusted_types(path)))
    got = client.post("/score", json=_records(X.iloc[:2])).json()
    assert got["predictions"] == ep.predict(X.iloc[:2]).tolist()
    assert client.get("/metadata").json()["versions"]["saved"]["lightgbm"] == lightgbm.__version__


# ---------------------------------------------------------------- schemathesis
def _fuzz(schema, max_examples: int, **call_kwargs):
    """Bounded positive and negative runs; every check must pass (no 5xx, schema-conformant)."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    statuses = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=schema.as_strategy(generation_mode=mode))
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            statuses.append(case.call_and_validate(**call_kwargs).status_code)

        run()
    return statuses


def test_schemathesis_in_process_finds_no_5xx_and_no_schema_violation(client):
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    statuses = _fuzz(schema, max_examples=15)
    assert statuses and max(statuses) < 500
    assert 200 in statuses and any(400 <= s < 500 for s in statuses)


# ---------------------------------------------------------------- a real server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_ridge(folder, *extra_args, env=None):
    """`explainable-pipeline serve` of a fast Ridge model in a subprocess on 127.0.0.1, with
    ``extra_args`` on its command line; yields ``(base_url, ep, X, proc)``."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    ep = ExplainablePipeline(StandardScaler(), Ridge()).fit(X, y)
    path = save(ep, folder / "ridge.skops", format="skops")
    port = _free_port()
    cmd = [sys.executable, "-m", "explainable_pipeline.cli", "serve", str(path),
           "--port", str(port), "--log-level", "warning", *extra_args]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stdout.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not come up within 90 s")
            time.sleep(0.2)
        yield base, ep, X, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with serve_ridge(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.mark.slow
def test_live_server_scores_and_survives_bad_requests(live_server):
    base, ep, X, proc = live_server
    rows = X.iloc[:3]
    got = httpx.post(f"{base}/score", json=_records(rows), timeout=10).json()
    np.testing.assert_allclose(got["predictions"], ep.predict(rows))
    np.testing.assert_allclose(
        got["local_importance_values"], ep.explain_local(rows).values, rtol=1e-10
    )
    bad = httpx.post(
        f"{base}/score", content=b"{", headers={"content-type": "application/json"}, timeout=10
    )
    assert bad.status_code == 400
    huge = httpx.post(f"{base}/score", content=b"[" + b" " * 2_000_000 + b"]", timeout=10)
    assert huge.status_code == 413
    assert httpx.get(f"{base}/metadata", timeout=10).json()["columns"] == list(X.columns)
    assert proc.poll() is None


@pytest.mark.slow
def test_live_server_schemathesis_run(live_server):
    schemathesis = pytest.importorskip("schemathesis")
    base, *_ = live_server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    statuses = _fuzz(schema, max_examples=10, base_url=base)
    assert statuses and max(statuses) < 500


@pytest.mark.slow
def test_live_server_load_2000_requests_8_concurrent(live_server):
    base, ep, X, proc = live_server
    records = _records(X.iloc[:50])
    expected = ep.predict(X.iloc[:50])
    n_requests, workers = 2000, 8

    def worker(k: int) -> list:
        out = []
        with httpx.Client(base_url=base, timeout=30) as session:
            for i in range(k, n_requests, workers):
                response = session.post("/score?top_k=3", json=[records[i % 50]])
                body = response.json() if response.status_code == 200 else None
                out.append((i, response.status_code, body and body["predictions"][0]))
        return out

    with ThreadPoolExecutor(workers) as pool:
        results = [r for chunk in pool.map(worker, range(workers)) for r in chunk]
    assert len(results) == n_requests
    assert {status for _, status, _ in results} == {200}
    got = np.array([pred for _, _, pred in results])
    np.testing.assert_allclose(got, expected[[i % 50 for i, _, _ in results]])
    assert proc.poll() is None
    assert pd.notna(got).all()


def _server_log(folder, *args) -> str:
    """Everything a real ``serve`` printed while it answered three requests."""
    folder.mkdir()
    with serve_ridge(folder, *args) as (base, _, X, proc):
        for _ in range(3):
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        httpx.post(f"{base}/score", json=_records(X.iloc[:2]), timeout=10).raise_for_status()
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    return out.decode()


@pytest.mark.slow
def test_serve_logs_requests_only_at_debug_or_with_access_log(tmp_path):
    quiet = _server_log(tmp_path / "a", "--log-level", "info")
    assert "Uvicorn running on" in quiet  # info-level startup lines still shown...
    assert "GET /health" not in quiet and "POST /score" not in quiet  # ...but no requests
    loud = _server_log(tmp_path / "b", "--log-level", "info", "--access-log")
    assert loud.count("GET /health") >= 3 and "POST /score" in loud  # (+ readiness polls)
    assert "GET /health" in _server_log(tmp_path / "c", "--log-level", "debug")
