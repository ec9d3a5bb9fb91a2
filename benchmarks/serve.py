"""Single-row scoring latency: predict + explain in-process and over HTTP.

Penguins data (mixed numeric/categorical with NaN) behind a ColumnTransformer with imputers:

* LightGBM (100 trees, ``n_jobs=1``), TreeSHAP mapped to raw columns;
* ``SVC(probability=True)`` explained by KernelSHAP over the 7 raw columns (20 background rows).

For each: p50/p99 of ``ep.predict_and_explain(one_row)`` in-process, beside the peer measured in
the same run, the bare scikit-learn ``Pipeline.predict_proba(one_row)`` (no explanation). The tree
model is also timed over HTTP: ``explainable-pipeline serve`` in a subprocess on 127.0.0.1,
``POST /score`` with one record from one keep-alive client.

Targets: in-process p50 <= 5 ms (tree) and <= 50 ms (kernel); HTTP p50 <= 15 ms (tree).
Usage: ``python benchmarks/serve.py [--n N]``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx
import lightgbm
import numpy as np
from _common import print_table
from palmerpenguins import load_penguins
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from explainable_pipeline import ExplainablePipeline, save

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]


def preprocessor():
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                ["island", "sex"],
            ),
        ]
    )


def percentiles(fn, n: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_latency(ep, X, n: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = save(ep, Path(tmp) / "model.joblib")
        port = free_port()
        cmd = [sys.executable, "-m", "explainable_pipeline.cli", "serve", str(path),
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
        proc = subprocess.Popen(cmd)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            record = {
                k: None if v != v else (v.item() if hasattr(v, "item") else v)
                for k, v in X.iloc[0].items()
            }
            with httpx.Client(base_url=base, timeout=30) as client:

                def call():
                    response = client.post("/score", json=[record])
                    assert response.status_code == 200, response.text

                return percentiles(call, n)
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="timed calls per row of the table")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    df = load_penguins()
    y = df.pop("species").astype(str)
    X = df
    row = X.iloc[[0]]
    models = {
        "LightGBM (tree)": (
            lightgbm.LGBMClassifier(n_estimators=100, verbose=-1, n_jobs=1),
            "auto",
            5.0,
        ),
        "SVC (kernel)": (SVC(probability=True, random_state=0), "kernel", 50.0),
    }
    rows, tree_ep = [], None
    for name, (est, method, target) in models.items():
        ep = ExplainablePipeline(preprocessor(), est, explainer=method, random_state=0).fit(X, y)
        bare = make_pipeline(ep.preprocessor_, ep.estimator_)
        p50, p99 = percentiles(lambda ep=ep: ep.predict_and_explain(row), args.n)
        b50, _ = percentiles(lambda bare=bare: bare.predict_proba(row), args.n)
        rows.append([name, "in-process", ep.explainer_, f"{p50:.2f}", f"{p99:.2f}",
                     f"<= {target:g}", f"{b50:.2f}", f"{p50 / b50:.1f}x"])  # fmt: skip
        if method == "auto":
            tree_ep, tree_b50 = ep, b50
    p50, p99 = http_latency(tree_ep, X, args.n)
    rows.append(["LightGBM (tree)", "HTTP POST /score", "tree", f"{p50:.2f}", f"{p99:.2f}",
                 "<= 15", f"{tree_b50:.2f}", f"{p50 / tree_b50:.1f}x"])  # fmt: skip
    print_table(
        ["model", "path", "explainer", "p50 ms", "p99 ms", "target p50 ms",
         "peer: bare predict_proba p50 ms", "ratio"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
