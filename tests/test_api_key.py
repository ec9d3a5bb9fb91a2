"""The scoring service's API key: on a live uvicorn server started by `serve --api-key-env`,
every route but /health needs `Authorization: Bearer` or `X-API-Key` (401 without, never
echoing the key); a non-loopback host needs a key unless --insecure."""

from __future__ import annotations

import secrets

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from test_serving import _records, serve_ridge

from explainable_pipeline import ExplainablePipeline, save
from explainable_pipeline.cli import main

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
KEY = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("key")
    with serve_ridge(folder, "--api-key-env", "EP_TEST_KEY", env={"EP_TEST_KEY": KEY}) as server:
        yield server[:3]


def test_health_is_open_everything_else_needs_the_key(keyed_server):
    base, ep, X = keyed_server
    rows = _records(X.iloc[:2])
    assert httpx.get(f"{base}/health", timeout=10).json() == {"status": "ok"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": KEY[:-1]},
                    {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}):  # fmt: skip
        for method, route in (("POST", "/score"), ("GET", "/metadata"), ("GET", "/openapi.json"),
                              ("GET", "/docs")):  # fmt: skip
            r = httpx.request(method, f"{base}{route}", json=rows, headers=headers, timeout=10)
            assert r.status_code == 401, (headers, route)
            assert r.headers["www-authenticate"] == "Bearer"
            assert KEY not in r.text and "wrong" not in r.text
            assert "Authorization: Bearer" in r.json()["detail"]
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}):
        r = httpx.post(f"{base}/score", json=rows, headers=headers, timeout=10)
        assert r.status_code == 200
        np.testing.assert_allclose(r.json()["predictions"], ep.predict(X.iloc[:2]))
        assert httpx.get(f"{base}/metadata", headers=headers, timeout=10).status_code == 200
    doc = httpx.get(f"{base}/openapi.json", headers={"X-API-Key": KEY}, timeout=10).json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["paths"]["/health"]["get"]["security"] == []


def test_an_unauthenticated_body_is_not_read(keyed_server):
    base, *_ = keyed_server
    r = httpx.post(f"{base}/score", content=b"[" + b" " * 3_000_000 + b"]", timeout=10)
    assert r.status_code == 401  # not 413: refused before the body


def test_cli_refuses_a_public_host_without_a_key(tmp_path, monkeypatch, capsys):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    path = save(ExplainablePipeline(None, Ridge()).fit(X, y), tmp_path / "m.skops", format="skops")
    started = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.append(kw))
    assert main(["serve", str(path), "--host", "0.0.0.0"]) == 1
    assert "without an API key" in capsys.readouterr().err and not started
    monkeypatch.delenv("EP_UNSET_KEY", raising=False)
    assert main(["serve", str(path), "--api-key-env", "EP_UNSET_KEY"]) == 1
    assert "EP_UNSET_KEY" in capsys.readouterr().err and not started
    # accepted: a key (from the environment), or --insecure; uvicorn.run is stubbed out here
    monkeypatch.setenv("EP_SET_KEY", KEY)
    assert main(["serve", str(path), "--host", "0.0.0.0", "--api-key-env", "EP_SET_KEY"]) == 0
    assert main(["serve", str(path), "--host", "0.0.0.0", "--insecure"]) == 0
    assert main(["serve", str(path), "--host", "::1"]) == 0
    assert [kw["host"] for kw in started] == ["0.0.0.0", "0.0.0.0", "::1"]


def test_create_app_checks_the_key():
    from explainable_pipeline.serving import create_app, is_loopback, serve

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    ep = ExplainablePipeline(None, Ridge()).fit(X, y)
    for bad in ("", "has space", 123):
        with pytest.raises(ValueError, match="api_key"):
            create_app(ep, api_key=bad)
    with pytest.raises(ValueError, match="without an API key"):
        serve("unused.skops", host="192.0.2.1")
    assert is_loopback("127.0.0.2") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
