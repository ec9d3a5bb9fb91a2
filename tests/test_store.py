"""ExplanationClient on the embedded local store: upload/download, top_k, filters, faults."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from explainable_pipeline import GlobalExplanation, LocalExplanation
from explainable_pipeline._fileio import STALE_AFTER_SECONDS
from explainable_pipeline.store import (
    ExplanationClient,
    ExplanationFormatError,
    ExplanationNotFoundError,
)

FEATURES = ["a", "b", "c", "d", "e"]


def make(kind: str = "multiclass", space: str = "raw", seed: int = 0) -> GlobalExplanation:
    rng = np.random.default_rng(seed)
    k = {"regression": None, "multiclass": 3}[kind]
    scale = np.array([5.0, 1.0, 3.0, 0.5, 2.0])  # global rank: a, c, e, b, d
    values = rng.normal(size=(6, 5) if k is None else (k, 6, 5)) * scale
    expected = 0.5 if k is None else np.array([0.1, 0.2, 0.3])
    local = LocalExplanation(
        values, expected, FEATURES, classes=None if k is None else ["x", "y", "z"],
        method="tree", space=space, output="prediction", data=rng.normal(size=(6, 5)),
    )  # fmt: skip
    return GlobalExplanation.from_local(local, std=np.arange(5.0), intervals=np.ones((2, 5)))


def test_upload_download_round_trip_and_list(tmp_path):
    client = ExplanationClient.local(tmp_path / "store")
    exp = make()
    eid = client.upload_model_explanation(exp, comment="first")
    back = client.download_model_explanation(eid)
    assert back.to_dict() == exp.to_dict()
    (entry,) = client.list_model_explanations()
    assert entry["id"] == eid and entry["comment"] == "first" and entry["method"] == "tree"
    assert entry["kind"] == "global" and entry["raw"] and not entry["engineered"]
    assert entry["time"].endswith("+00:00")
    # ExplanationClient(path=...) is the same store
    assert ExplanationClient(path=tmp_path / "store").download_model_explanation().to_dict() == (
        exp.to_dict()
    )


@pytest.mark.parametrize("where", ["upload", "download"])
def test_top_k_keeps_k_features_globally_and_per_row(tmp_path, where):
    client = ExplanationClient.local(tmp_path)
    exp = make()
    top3 = exp.get_ranked_global_names(top_k=3)
    assert sorted(top3) == ["a", "c", "e"]
    client.upload_model_explanation(exp, top_k=3 if where == "upload" else None)
    got = client.download_model_explanation(top_k=3 if where == "download" else None)
    assert got.get_ranked_global_names() == top3
    assert got.get_ranked_global_values() == exp.get_ranked_global_values(top_k=3)
    assert got.per_class_values.shape == (3, 3) and got.std.tolist() == [0.0, 2.0, 4.0]
    assert got.local.values.shape == (3, 6, 3)  # every row keeps exactly k features
    idx = [FEATURES.index(f) for f in got.features]
    np.testing.assert_array_equal(got.local.values, exp.local.values[..., idx])
    assert all(len(row) == 3 for cls in got.get_ranked_local_names() for row in cls)
    assert got.meta["top_k"] == 3 and got.meta["n_features_total"] == 5
    # top_k on download never adds back what the upload cut
    assert client.download_model_explanation(top_k=4).num_features == (
        3 if where == "upload" else 4
    )
    assert client.download_model_explanation(top_k=2).get_ranked_global_names() == top3[:2]


def test_top_k_on_a_local_explanation(tmp_path):
    client = ExplanationClient.local(tmp_path)
    local = make("regression").local
    eid = client.upload_model_explanation(local, top_k=2)
    got = client.download_model_explanation(eid)
    assert isinstance(got, LocalExplanation) and got.values.shape == (6, 2)
    assert got.features == [f for f in FEATURES if f in local.get_ranked_global_names(top_k=2)]


def test_list_and_download_filters(tmp_path):
    client = ExplanationClient.local(tmp_path)
    ids = {
        "raw1": client.upload_model_explanation(make(seed=1), comment="lgbm"),
        "eng": client.upload_model_explanation(make(space="engineered"), comment="lgbm"),
        "raw2": client.upload_model_explanation(make("regression", seed=2), comment="ridge"),
    }
    assert [e["id"] for e in client.list_model_explanations()] == list(ids.values())  # by time
    assert [e["id"] for e in client.list_model_explanations(comment="lgbm")] == [
        ids["raw1"],
        ids["eng"],
    ]
    assert [e["id"] for e in client.list_model_explanations(raw=True)] == [ids["raw1"], ids["raw2"]]
    assert [e["id"] for e in client.list_model_explanations(engineered=True)] == [ids["eng"]]
    assert [e["id"] for e in client.list_model_explanations(comment="lgbm", raw=True)] == [
        ids["raw1"]
    ]
    assert client.list_model_explanations(comment="nope") == []
    assert client.download_model_explanation(comment="lgbm", raw=True).to_dict() == (
        make(seed=1).to_dict()
    )
    latest = client.download_model_explanation()
    assert latest.classes is None  # the regression one, uploaded last
    assert client.download_model_explanation(engineered=True).is_engineered


def test_missing_id_and_corrupt_file_errors_name_them(tmp_path):
    client = ExplanationClient.local(tmp_path)
    with pytest.raises(ExplanationNotFoundError, match="matches comment='x'"):
        client.download_model_explanation(comment="x")
    eid = client.upload_model_explanation(make())
    with pytest.raises(ExplanationNotFoundError, match=rf"'deadbeef'.*known ids: \['{eid}'\]"):
        client.download_model_explanation("deadbeef")
    npz = next((tmp_path / eid).glob("arrays.*.npz"))
    npz.write_bytes(b"garbage")
    with pytest.raises(ExplanationFormatError, match=rf"{eid}.*{npz.name}.*corrupt"):
        client.download_model_explanation(eid)
    with pytest.raises(TypeError, match="LocalExplanation or GlobalExplanation"):
        client.upload_model_explanation({"values": [1]})
    with pytest.raises(ValueError, match="top_k must be None or a positive int"):
        client.upload_model_explanation(make(), top_k=0)


def _upload_many(path: str, worker: int, n: int, barrier) -> list[str]:
    client = ExplanationClient.local(path)
    barrier.wait(timeout=30)
    return [
        client.upload_model_explanation(make(seed=worker * 100 + i), comment=f"w{worker}-{i}")
        for i in range(n)
    ]


def test_concurrent_uploads_from_two_processes_lose_nothing(tmp_path):
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    barrier = ctx.Manager().Barrier(2)
    with ctx.Pool(2) as pool:
        results = pool.starmap(_upload_many, [(str(tmp_path), w, 8, barrier) for w in (1, 2)])
    client = ExplanationClient.local(tmp_path)
    listed = client.list_model_explanations()
    assert sorted(e["id"] for e in listed) == sorted(results[0] + results[1])
    assert len(listed) == 16
    for e in listed:
        w, i = (int(x) for x in e["comment"][1:].split("-"))
        got = client.download_model_explanation(e["id"])
        assert got.to_dict() == make(seed=w * 100 + i).to_dict()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp debris


# --------------------------------------------------------------------------- killed writers
needs_flock = pytest.mark.skipif(os.name == "nt", reason="no fcntl.flock: nothing is swept")
TIMEOUT = 60.0


@contextlib.contextmanager
def stalled_child(code: str, *args: object, ready: Path) -> Iterator[subprocess.Popen]:
    """A Python process running ``code`` with ``args``; it touches ``ready`` (its last
    argument) in the middle of a write, then sleeps. Yielded once ready, killed on exit."""
    argv = [sys.executable, "-c", code, *map(str, args), str(ready)]
    proc = subprocess.Popen(argv, cwd=Path(__file__).parent)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not ready.exists():
            assert proc.poll() is None, f"the writer exited with {proc.returncode}"
            assert time.monotonic() < deadline, "the writer never got ready"
            time.sleep(0.02)
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=TIMEOUT) == -signal.SIGKILL


def backdate(path: Path) -> None:
    """Make ``path`` older than the grace period of the sweep."""
    old = time.time() - STALE_AFTER_SECONDS - 10
    os.utime(path, (old, old))


def stall_after(module: str, function: str, call: str) -> str:
    """Code of a child that runs ``call`` with ``module.function`` wrapped: the original runs,
    then the child touches its ready file (its last argument) and sleeps, to be killed there."""
    return f"""
import sys, time
from pathlib import Path
import {module} as mod
from test_store import make

def then_stall(*args):
    original(*args)
    Path(sys.argv[-1]).touch()
    time.sleep(600)

original, mod.{function} = mod.{function}, then_stall
{call}
"""


# an upload that stops (and is killed) after the explanation is saved in its temporary folder
_UPLOADER = stall_after("explainable_pipeline.store", "save_explanation",
                        "mod.ExplanationClient.local(sys.argv[1]).upload_model_explanation(make())")


def _uploads(store) -> list[Path]:
    return sorted(store.glob(".upload-*"))


@needs_flock
def test_a_killed_uploads_folder_is_removed_by_the_next_upload(tmp_path):
    store = tmp_path / "store"
    client = ExplanationClient.local(store)
    with stalled_child(_UPLOADER, store, ready=tmp_path / "ready") as proc:
        kill(proc)
    (left,) = _uploads(store)
    assert (left / ".lock").is_file() and (left / "explanation" / "explanation.json").is_file()
    first = client.upload_model_explanation(make(seed=1))
    assert _uploads(store) == [left]  # fresh: within the grace period, kept
    backdate(left)
    second = client.upload_model_explanation(make(seed=2))
    assert sorted(p.name for p in store.iterdir()) == sorted([first, second])
    assert client.download_model_explanation(second).to_dict() == make(seed=2).to_dict()


@needs_flock
def test_a_live_uploads_folder_is_never_removed(tmp_path):
    store = tmp_path / "store"
    client = ExplanationClient.local(store)
    with stalled_child(_UPLOADER, store, ready=tmp_path / "ready") as proc:
        (live,) = _uploads(store)
        backdate(live)  # old, but its writer holds the lock
        client.upload_model_explanation(make(seed=1))
        assert _uploads(store) == [live]
        assert (live / "explanation" / "explanation.json").is_file()
        kill(proc)
    client.upload_model_explanation(make(seed=2))  # now its writer is dead
    assert _uploads(store) == []
    assert len(client.list_model_explanations()) == 2


@needs_flock
def test_the_sweep_takes_only_upload_folders(tmp_path):
    store = tmp_path / "store"
    unlocked = store / ".upload-0123456789abcdef-abc_1234"  # its writer died before locking
    mine = [store / ".upload-mine", store / ".upload-0123456789abcdef-x", store / ".lock"]
    unlocked.mkdir(parents=True)
    for folder in mine[:2]:
        folder.mkdir()
        (folder / "keep").write_text("k")
    mine[2].write_text("k")
    for path in [unlocked, *mine]:
        backdate(path)
    ExplanationClient.local(store).upload_model_explanation(make())
    assert not unlocked.exists()
    assert all(p.exists() for p in mine)
    assert (mine[0] / "keep").read_text() == "k"
