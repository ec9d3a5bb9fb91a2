"""The dashboard's server is quiet: requests are logged at DEBUG unless access_log=True."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("dash")
httpx = pytest.importorskip("httpx")

from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402


def _request_lines(local, caplog, **serve_kwargs) -> tuple[list[str], list[str]]:
    """(werkzeug's INFO request lines, our DEBUG request lines) of three page loads."""
    werkzeug: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = werkzeug.append
    log = logging.getLogger("werkzeug")
    log.addHandler(handler)
    caplog.clear()
    try:
        with caplog.at_level(logging.DEBUG, logger="explainable_pipeline.dashboard"), \
                ExplanationDashboard(local) as dashboard:  # fmt: skip
            url = dashboard.serve(port=0, **serve_kwargs)
            for _ in range(3):
                assert httpx.get(url, timeout=30).status_code == 200
    finally:
        log.removeHandler(handler)
    ours = [r.getMessage() for r in caplog.records
            if r.name.startswith("explainable_pipeline.dashboard") and "GET / " in r.getMessage()]
    theirs = [r.getMessage() for r in werkzeug
              if r.levelno >= logging.INFO and "GET / " in r.getMessage()]  # fmt: skip
    return theirs, ours


def test_dashboard_server_logs_requests_only_at_debug(penguin_explained, caplog):
    local = penguin_explained[3]
    theirs, ours = _request_lines(local, caplog)
    assert theirs == [] and len(ours) == 3  # nothing at INFO (stderr); each request at DEBUG
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "GET / " in r.getMessage())
    theirs, _ = _request_lines(local, caplog, access_log=True)
    assert len(theirs) == 3  # werkzeug's access log, one line per request


def test_cli_dashboard_has_an_access_log_flag():
    import argparse

    from explainable_pipeline.dashboard._cli import add_dashboard_command

    parser = argparse.ArgumentParser()
    add_dashboard_command(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["dashboard", "m", "d.csv"]).access_log is False
    assert parser.parse_args(["dashboard", "m", "d.csv", "--access-log"]).access_log is True
