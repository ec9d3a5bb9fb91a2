"""A missing optional dependency fails with a message saying how to install it.

The package is not on a package index, so each message gives the checkout / wheel command of
the right extra (docs/install.md), not ``pip install explainable-pipeline[...]``.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from explainable_pipeline import ExplainablePipeline, GlobalExplanation

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 5.0], "b": [1.0, 0.0, 1.0, 3.0, 2.0]})
y = np.array([1.0, 2.0, 2.5, 4.0, 6.0])


def _block(monkeypatch, *packages: str) -> None:
    """Make ``import <package>`` (and its submodules) fail as if it were not installed."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def _assert_hint(message: str, extra: str) -> None:
    assert f'pip install -e ".[{extra}]"' in message, message
    assert f'"<wheel>.whl[{extra}]"' in message and "docs/install.md" in message
    assert not re.search(r"pip install\s+['\"]?explainable-pipeline\b", message), message


@pytest.fixture(scope="module")
def ep():
    return ExplainablePipeline(StandardScaler(), LinearRegression()).fit(X, y)


def test_plots_name_the_plot_extra(monkeypatch, ep, tmp_path):
    from explainable_pipeline._plot import save_global_bar

    glob = ep.explain_global(X)
    _block(monkeypatch, "matplotlib")
    with pytest.raises(ImportError, match="matplotlib") as info:
        glob.plot()
    _assert_hint(str(info.value), "plot")
    with pytest.raises(ImportError, match="matplotlib") as info:
        save_global_bar(glob, tmp_path / "g.png", title="t")
    _assert_hint(str(info.value), "plot")
    assert isinstance(glob, GlobalExplanation)


def test_serving_store_parquet_spark_and_dashboard_name_their_extra(monkeypatch, ep, tmp_path):
    from explainable_pipeline import distributed as epd
    from explainable_pipeline.serving import serve
    from explainable_pipeline.store import ExplanationClient

    _block(monkeypatch, "uvicorn", "mlflow", "pyarrow", "pyspark", "dash")
    cases = [
        (lambda: serve(tmp_path / "m.skops"), "serve", "uvicorn"),
        (lambda: ExplanationClient.from_run_id("0123abcd"), "mlflow", "mlflow"),
        (lambda: ep.explain_local_to_parquet(X, tmp_path / "a.parquet"), "distributed",
         "pyarrow"),
        (lambda: epd.spark_schema(ep), "spark", "pyspark"),
    ]
    from explainable_pipeline.dashboard import ExplanationDashboard

    cases.append((lambda: ExplanationDashboard(ep.explain_local(X)), "dashboard", "dash"))
    for call, extra, package in cases:
        with pytest.raises(ImportError, match=package) as info:
            call()
        _assert_hint(str(info.value), extra)
    assert not (tmp_path / "a.parquet").exists()


def test_lightgbm_surrogate_and_demo_name_their_extra(monkeypatch, capsys):
    from explainable_pipeline.cli import main
    from explainable_pipeline.explainers._mimic import make_surrogate

    _block(monkeypatch, "lightgbm")
    monkeypatch.delitem(sys.modules, "explainable_pipeline.demo", raising=False)
    with pytest.raises(ImportError, match="surrogate='lightgbm' needs lightgbm") as info:
        make_surrogate("lightgbm", 0)
    _assert_hint(str(info.value), "lightgbm")
    assert main(["demo"]) == 1
    _assert_hint(capsys.readouterr().err, "demo")
