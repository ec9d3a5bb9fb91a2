"""ExplanationClient on the embedded local store: upload/download, top_k, filters, faults."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest

from explainable_pipeline import GlobalExplanation, LocalExplanation
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
