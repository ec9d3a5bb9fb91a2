"""ExplanationClient on MLflow: a local file store, and a real `mlflow server` on 127.0.0.1.

In CI (env var CI set) a missing mlflow fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from explainable_pipeline import GlobalExplanation, LocalExplanation
from explainable_pipeline.store import ExplanationClient, ExplanationNotFoundError

if os.environ.get("CI"):
    import mlflow  # noqa: F401 - CI must run these tests: fail loudly when mlflow is missing
else:
    mlflow = pytest.importorskip("mlflow")

FEATURES = ["a", "b", "c", "d"]


def make(seed: int = 0, space: str = "raw") -> GlobalExplanation:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(2, 5, 4)) * np.array([4.0, 1.0, 2.0, 0.5])  # rank a, c, b, d
    local = LocalExplanation(
        values, [0.2, -0.2], FEATURES, classes=["no", "yes"], method="tree", space=space,
        output="log_odds", data=rng.normal(size=(5, 4)),
    )  # fmt: skip
    return GlobalExplanation.from_local(local)


def test_mlflow_local_store_round_trip_and_filters(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"  # a local store: nothing to start
    mlflow.set_tracking_uri(uri)
    try:
        exp_id = mlflow.create_experiment("store", artifact_location=(tmp_path / "art").as_uri())
        with mlflow.start_run(experiment_id=exp_id) as run:
            client = ExplanationClient.from_run(run)
            eid = client.upload_model_explanation(make(), top_k=2, comment="global, top 2")
            client.upload_model_explanation(make(1, space="engineered"), comment="eng")
    finally:
        mlflow.set_tracking_uri(None)
    other = ExplanationClient.from_run_id(run.info.run_id, tracking_uri=uri)
    got = other.download_model_explanation(eid)
    assert got.get_ranked_global_names() == ["a", "c"]
    assert got.get_ranked_global_values() == make().get_ranked_global_values(top_k=2)
    assert got.local.values.shape == (2, 5, 2)
    assert [e["comment"] for e in other.list_model_explanations(raw=True)] == ["global, top 2"]
    assert other.download_model_explanation(engineered=True).is_engineered
    latest_top1 = other.download_model_explanation(top_k=1).get_ranked_global_names()
    assert latest_top1 == make(1, space="engineered").get_ranked_global_names(top_k=1)
    # the artifacts are the documented files, the index is one tag per explanation
    files = sorted(p.name for p in Path(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path=f"explanations/{eid}", tracking_uri=uri,
        dst_path=str(tmp_path / "dl"))).iterdir())  # fmt: skip
    assert files[0].startswith("arrays.") and files[1:] == ["entry.json", "explanation.json"]
    with pytest.raises(ExplanationNotFoundError, match="'nope'"):
        other.download_model_explanation("nope")


# ----------------------------------------------------------------------------- real server
# Both scripts wait until the other is ready, then upload to the same run at the same time.
WAIT = """
ready.joinpath(f"ready{worker}").touch()
deadline = time.monotonic() + 60
while len(list(ready.iterdir())) < 2 and time.monotonic() < deadline:
    time.sleep(0.02)
"""

# The how-to's remote run: train, explain and upload inside `mlflow.start_run()`.
TRAIN = (
    """
import sys, time
from pathlib import Path
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.store import ExplanationClient

mlflow.set_tracking_uri(sys.argv[1])
run_id, worker, ready = sys.argv[2], 0, Path(sys.argv[3])
X, y = load_iris(return_X_y=True, as_frame=True)
with mlflow.start_run(run_id=run_id) as run:
    model = ExplainablePipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    exp = model.explain_global(X.iloc[::5])
    client = ExplanationClient.from_run(run)
"""
    + textwrap.indent(WAIT, "    ")
    + """
    client.upload_model_explanation(exp, top_k=2, comment="global explanation: top 2")
    client.upload_model_explanation(exp, comment="global explanation: all features")
"""
)

UPLOAD = (
    """
import sys, time
from pathlib import Path
from tests.test_store_mlflow import make
from explainable_pipeline.store import ExplanationClient

uri, run_id, worker, ready = sys.argv[1], sys.argv[2], 1, Path(sys.argv[3])
client = ExplanationClient.from_run_id(run_id, tracking_uri=uri)
"""
    + WAIT
    + """
for i in range(3):
    client.upload_model_explanation(make(10 + i), comment=f"1-{i}")
"""
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path}/mlflow.db",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # generous: CI machines can be loaded
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not start:\n{(tmp_path / 'server.log').read_text()}"
                )
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the whole group: gunicorn/uvicorn workers too
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


@pytest.mark.mlflow_server  # runs in CI: never skipped there
def test_mlflow_server_remote_run_flow_and_concurrent_uploads(mlflow_server, tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    store = mlflow.MlflowClient(mlflow_server)
    run_id = store.create_run(store.create_experiment("how-to")).info.run_id
    (tmp_path / "ready").mkdir()
    # two processes at once on one run: the training run itself, and another uploader
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, mlflow_server, run_id, str(tmp_path / "ready")],
            env=env,
            cwd=root,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for script in (TRAIN, UPLOAD)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
    # this process: download and rank
    client = ExplanationClient.from_run_id(run_id, tracking_uri=mlflow_server)
    top2 = client.download_model_explanation(comment="global explanation: top 2")
    full = client.download_model_explanation(comment="global explanation: all features")
    assert full.num_features == 4 and top2.num_features == 2
    assert top2.get_ranked_global_names() == full.get_ranked_global_names(top_k=2)
    assert top2.get_ranked_global_values() == full.get_ranked_global_values(top_k=2)
    assert top2.classes == [0, 1, 2] and top2.local.values.shape[::2] == (3, 2)
    # nothing lost: 2 + 3 uploads, each intact
    listed = client.list_model_explanations()
    assert len(listed) == 5
    uploaded = [e for e in listed if e["comment"].startswith("1-")]
    assert sorted(e["comment"] for e in uploaded) == ["1-0", "1-1", "1-2"]
    for e in uploaded:
        i = int(e["comment"][2:])
        assert client.download_model_explanation(e["id"]).to_dict() == make(10 + i).to_dict()
    tags = store.get_run(run_id).data.tags
    entries = [json.loads(v) for k, v in tags.items() if k.startswith("explainable_pipeline.")]
    assert sorted(e["id"] for e in entries) == sorted(e["id"] for e in listed)
