"""Saved explanations: exact round trip, atomic writes, versioning, interpret-community layout."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from test_store import backdate, kill, needs_flock, stall_after, stalled_child

import explainable_pipeline._explanation_io as eio
from explainable_pipeline import (
    ExplainablePipeline,
    GlobalExplanation,
    LocalExplanation,
    load_explanation,
)
from explainable_pipeline._explanation_io import ExplanationFormatError
from explainable_pipeline._fileio import atomic_path, atomic_write_bytes

FEATURES = ["num", "text", "cat", "count"]


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    num = rng.normal(size=n)
    num[::3] = np.nan
    return pd.DataFrame(
        {
            "num": num,
            "text": pd.Series([None if i % 4 == 0 else f"t{i}" for i in range(n)], dtype="str"),
            "cat": pd.Categorical(["ab"[i % 2] for i in range(n)], categories=["b", "a"]),
            "count": np.arange(n, dtype=np.int32),
        },
        index=pd.Index([f"r{i}" for i in range(n)], name="row"),
    )


def make_global(
    kind: str, space: str = "raw", n: int = 7, data: str = "frame"
) -> GlobalExplanation:
    """A global explanation carrying every optional field, with NaN/inf where allowed."""
    rng = np.random.default_rng(len(kind))
    k = {"regression": None, "binary": 2, "multiclass": 3}[kind]
    shape = (n, len(FEATURES)) if k is None else (k, n, len(FEATURES))
    values = rng.normal(size=shape)
    expected = 1.25 if k is None else rng.normal(size=k)
    preds = values.sum(-1) + (expected if k is None else expected[:, None])
    preds[..., 0] = np.nan
    X = frame(n) if data == "frame" else rng.normal(size=(n, len(FEATURES)))
    local = LocalExplanation(
        values, expected, FEATURES,
        classes=None if k is None else (["no", "yes"] if k == 2 else [0, "b", 2.5]),
        method="kernel", space=space, output="prediction" if k is None else "probability",
        data=X, predictions=preds, groups={"num": ["a", "b"]} if space == "raw" else None,
        meta={"seed": 3, "nested": {"x": [1, None, "s"]}},
    )  # fmt: skip
    intervals = np.vstack([local.global_importance_values - 0.1, np.full(len(FEATURES), np.inf)])
    return GlobalExplanation.from_local(
        local, intervals=intervals, std=np.array([0.1, np.nan, 0.0, 2.0]),
        fidelity={"r2": 0.93, "per_class": [0.5, 0.75]},
    )  # fmt: skip


def assert_identical(a, b) -> None:
    """Every field equal: to_dict is exact (floats, NaN, dtypes, index), plus array checks."""
    assert type(a) is type(b)
    assert a.to_dict() == b.to_dict()
    np.testing.assert_array_equal(a.values, b.values)
    assert type(a.expected_values) is type(b.expected_values)
    local_a = a.local if isinstance(a, GlobalExplanation) else a
    local_b = b.local if isinstance(b, GlobalExplanation) else b
    if isinstance(local_a, LocalExplanation):
        np.testing.assert_array_equal(local_a.values, local_b.values)
        np.testing.assert_array_equal(local_a.predictions, local_b.predictions)
        if isinstance(local_a.data, pd.DataFrame):
            pd.testing.assert_frame_equal(local_a.data, local_b.data, check_exact=True)
        else:
            assert local_a.data.dtype == local_b.data.dtype
            np.testing.assert_array_equal(local_a.data, local_b.data)


@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("space", ["raw", "engineered"])
def test_round_trip_every_field(tmp_path, kind, space):
    exp = make_global(kind, space, data="frame" if space == "raw" else "array")
    exp.save(tmp_path / "g")
    back = load_explanation(tmp_path / "g")
    assert_identical(exp, back)
    assert back.space == space and back.is_raw == (space == "raw")
    assert back.intervals[1, 0] == np.inf and np.isnan(back.std[1])
    assert back.fidelity == {"r2": 0.93, "per_class": [0.5, 0.75]}
    assert back.get_ranked_global_names() == exp.get_ranked_global_names()
    if kind != "regression":
        np.testing.assert_array_equal(back.per_class_values, exp.per_class_values)
        assert back.classes == exp.classes and [type(c) for c in back.classes] == [
            type(c) for c in exp.classes
        ]
    # the local part alone, and a global without local
    exp.local.save(tmp_path / "l")
    assert_identical(exp.local, load_explanation(tmp_path / "l"))
    bare = GlobalExplanation.from_local(exp.local, keep_local=False)
    bare.save(tmp_path / "b")
    assert load_explanation(tmp_path / "b").to_dict() == bare.to_dict()


def test_round_trip_of_fitted_pipelines_raw_and_engineered(tmp_path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    reg = ExplainablePipeline(StandardScaler(), LinearRegression()).fit(X, y)
    Xi, yi = load_iris(return_X_y=True, as_frame=True)
    Xi["kind"] = np.where(Xi.iloc[:, 0] > 5.8, "long", "short")
    pre = ColumnTransformer(
        [("num", StandardScaler(), list(Xi.columns[:4])), ("cat", OneHotEncoder(), ["kind"])]
    )
    clf = ExplainablePipeline(pre, LogisticRegression(max_iter=500)).fit(Xi, yi)
    for i, (model, data) in enumerate([(reg, X.iloc[:20]), (clf, Xi.iloc[::10])]):
        for space in ("raw", "engineered"):
            exp = model.explain_global(data, space=space)
            exp.save(tmp_path / f"{i}{space}")
            back = load_explanation(tmp_path / f"{i}{space}")
            assert_identical(exp, back)
            assert back.space == space


def test_files_are_readable_without_the_library(tmp_path):
    exp = make_global("multiclass", data="array")
    exp.save(tmp_path / "e")
    doc = json.loads((tmp_path / "e" / "explanation.json").read_text())
    assert doc["format"] == "explainable-pipeline/explanation" and doc["format_version"] == 1
    body = doc["explanation"]
    assert body["kind"] == "global" and body["features"] == FEATURES
    assert body["values"] == {"$array": "values"}
    with np.load(tmp_path / "e" / doc["arrays"], allow_pickle=False) as arrays:
        np.testing.assert_array_equal(arrays["local.values"], exp.local.values)
        np.testing.assert_array_equal(arrays["per_class_values"], exp.per_class_values)
        np.testing.assert_array_equal(arrays["local.data.values"], exp.local.data)
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == sorted(
        ["explanation.json", doc["arrays"]]
    )


def test_overwrite_replaces_and_cleans_up(tmp_path):
    make_global("binary").save(tmp_path / "e")
    second = make_global("regression")
    second.save(tmp_path / "e")
    assert_identical(second, load_explanation(tmp_path / "e"))
    assert len(list((tmp_path / "e").glob("arrays.*.npz"))) == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a saved explanation"):
        second.save(tmp_path / "other")


@pytest.mark.parametrize("crash_at", ["npz", "json"])
def test_crash_mid_write_keeps_previous_version(tmp_path, monkeypatch, crash_at):
    first, second = make_global("binary"), make_global("multiclass")
    first.save(tmp_path / "e")

    def half_then_crash(f, *args, **kwargs):  # a partial write, then the process "dies"
        f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    def crash_json(target, payload):
        tmp = Path(target).with_name(".explanation.json.crash.tmp")
        tmp.write_bytes(payload[: len(payload) // 2])
        raise OSError("power cut")

    if crash_at == "npz":
        monkeypatch.setattr(eio.np, "savez_compressed", half_then_crash)
    else:
        monkeypatch.setattr(eio, "atomic_write_bytes", crash_json)
    with pytest.raises(OSError):
        second.save(tmp_path / "e")
    assert_identical(first, load_explanation(tmp_path / "e"))
    with pytest.raises(OSError):  # a first save that crashes leaves nothing loadable
        second.save(tmp_path / "fresh")
    with pytest.raises(FileNotFoundError, match="No saved explanation"):
        load_explanation(tmp_path / "fresh")
    monkeypatch.undo()
    second.save(tmp_path / "e")
    assert_identical(second, load_explanation(tmp_path / "e"))
    npz = json.loads((tmp_path / "e" / "explanation.json").read_text())["arrays"]
    # the failed calls removed their own temporary files; a file that is not a name generated
    # by a call (here the simulated dead writer's) is never removed
    debris = [".explanation.json.crash.tmp"] if crash_at == "json" else []
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == debris + [npz, "explanation.json"]


def test_newer_version_and_corrupt_files_give_clear_errors(tmp_path):
    make_global("regression").save(tmp_path / "e")
    meta = tmp_path / "e" / "explanation.json"
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps({**doc, "format_version": 99}))
    with pytest.raises(ExplanationFormatError, match=r"format_version 99.*Upgrade"):
        load_explanation(tmp_path / "e")
    meta.write_text(json.dumps(doc)[:50])
    with pytest.raises(ExplanationFormatError, match=r"explanation\.json.*corrupt or truncated"):
        load_explanation(tmp_path / "e")
    meta.write_text(json.dumps(doc))
    npz = tmp_path / "e" / doc["arrays"]
    npz.write_bytes(npz.read_bytes()[:40])
    with pytest.raises(ExplanationFormatError, match=rf"{doc['arrays']}.*corrupt"):
        load_explanation(tmp_path / "e")
    with pytest.raises(FileNotFoundError, match="explanation.json"):
        load_explanation(tmp_path / "missing")


# ----------------------------------------------------------------------------- interpret-community
def write_ic(path: Path, props: dict, **meta) -> None:
    """A directory in interpret-community's save_explanation layout (serialization_version 1)."""
    path.mkdir()
    for name, (kind, value) in props.items():
        (path / f"{name}.json").write_text(json.dumps({"metadata": kind, "data": value}))
    md = {
        "explanation_id": "abc-123", "model_type": "classification", "data_type": "tabular",
        "model_task": "classification", "method": "shap.tree", "model_class": "tree",
        "is_raw": False, "is_engineered": False, "global": True, "local": True,
        "num_classes": 1, "num_examples": 0, "num_features": 0, "is_local_sparse": False,
        "serialization_version": 1,
    }  # fmt: skip
    (path / "explanation_metadata.json").write_text(json.dumps({**md, **meta}))


def test_reads_interpret_community_multiclass_local_and_global(tmp_path):
    rng = np.random.default_rng(5)
    local = rng.normal(size=(3, 4, 2))
    per_class = np.abs(local).mean(axis=1)
    write_ic(
        tmp_path / "ic",
        {
            "features": ("list", ["f0", "f1"]),
            "classes": ("ndarray", ["a", "b", "c"]),
            "local_importance_values": ("ndarray", local.tolist()),
            "expected_values": ("ndarray", [0.1, 0.2, 0.3]),
            "global_importance_values": ("ndarray", per_class.mean(0).tolist()),
            "global_importance_rank": ("ndarray", [0, 1]),
            "per_class_values": ("ndarray", per_class.tolist()),
            "eval_data": ("ndarray", rng.normal(size=(4, 2)).tolist()),
        },
        num_classes=3, num_examples=4, num_features=2, is_raw=True,
    )  # fmt: skip
    exp = load_explanation(tmp_path / "ic")
    assert isinstance(exp, GlobalExplanation) and exp.space == "raw" and exp.method == "shap.tree"
    assert exp.classes == ["a", "b", "c"] and exp.features == ["f0", "f1"]
    np.testing.assert_allclose(exp.local.values, local)
    np.testing.assert_allclose(exp.per_class_values, per_class)
    np.testing.assert_allclose(exp.expected_values, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(exp.values, exp.local.global_importance_values)
    assert exp.local.data.shape == (4, 2) and exp.n_rows == 4
    assert exp.meta["interpret_community"]["explanation_id"] == "abc-123"


def test_reads_interpret_community_regression_sparse_and_top_k_global(tmp_path):
    dense = np.array([[0.0, 2.0, 0.0], [1.5, 0.0, -1.0]])
    sparse = [[2.0, 1.5, -1.0], [1, 0, 2], [0, 1, 3], [2, 3]]  # csr data, indices, indptr, shape
    write_ic(
        tmp_path / "reg",
        {
            "features": ("list", ["a", "b", "c"]),
            "local_importance_values": ("sparse", sparse),
            "expected_values": ("other", 4.0),
            "eval_y_predicted": ("ndarray", [6.0, 4.5]),
        },
        model_type="regression", model_task="regression",
        is_local_sparse=True, is_engineered=True, **{"global": False},
    )  # fmt: skip
    reg = load_explanation(tmp_path / "reg")
    assert isinstance(reg, LocalExplanation) and reg.space == "engineered"
    np.testing.assert_array_equal(reg.values, dense)
    assert reg.expected_values == 4.0 and reg.check_additivity() == 0.0
    # a global-only explanation uploaded with top_k: ranked values named by global_importance_names
    write_ic(
        tmp_path / "top",
        {
            "features": ("list", ["a", "b", "c", "d"]),
            "global_importance_values": ("list", [0.9, 0.4]),
            "global_importance_names": ("list", ["c", "a"]),
        },
        model_type="regression", num_examples=50, **{"local": False},
    )  # fmt: skip
    top = load_explanation(tmp_path / "top")
    assert top.get_ranked_global_names() == ["c", "a"] and top.n_rows == 50
    assert top.get_ranked_global_values() == [0.9, 0.4]


def test_interpret_community_dir_missing_flags_is_a_clear_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "explanation_metadata.json").write_text("{}")
    with pytest.raises(ExplanationFormatError, match="'global'/'local' flags"):
        load_explanation(tmp_path / "bad")
    assert os.listdir(tmp_path / "bad") == ["explanation_metadata.json"]


# --------------------------------------------------------------------------- killed writers
# a writer that stops (and is killed) in the middle of an atomic write to sys.argv[1]
_WRITER = """
import sys, time
from pathlib import Path
from explainable_pipeline._fileio import atomic_write

with atomic_write(sys.argv[1]) as f:
    f.write(b"half")
    f.flush()
    Path(sys.argv[-1]).touch()
    time.sleep(600)
"""


def _leftovers(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


@needs_flock
def test_a_killed_writers_tmp_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")
    with stalled_child(_WRITER, target, ready=tmp_path / "ready") as proc:
        kill(proc)
    (left,) = _leftovers(target)
    assert left.read_bytes() == b"half" and target.read_bytes() == b"old"
    atomic_write_bytes(target, b"new")
    assert _leftovers(target) == [left]  # fresh: within the grace period, kept
    backdate(left)
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"newer")
    assert sorted(os.listdir(target.parent)) == ["data.bin"]
    assert target.read_bytes() == b"newer"


@needs_flock
def test_a_live_writers_tmp_file_is_never_removed(tmp_path):
    target = tmp_path / "data.bin"
    with stalled_child(_WRITER, target, ready=tmp_path / "ready") as proc:
        (live,) = _leftovers(target)
        backdate(live)  # old, but its writer holds the lock
        atomic_write_bytes(target, b"new")
        assert _leftovers(target) == [live] and live.read_bytes() == b"half"
        kill(proc)
    atomic_write_bytes(target, b"newer")  # now its writer is dead
    assert _leftovers(target) == [] and target.read_bytes() == b"newer"


@needs_flock
def test_the_sweep_takes_only_leftovers_of_the_same_target(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    other = folder / "other.bin"
    with stalled_child(_WRITER, other, ready=tmp_path / "ready") as proc:
        kill(proc)
    keep = [
        *_leftovers(other),  # a dead writer's, of another target
        folder / ".foo.tmp",
        folder / ".data.bin.tmp",
        folder / ".data.bin.0123456789ABCDEF.tmp",  # not lowercase hex
        folder / ".data.bin.0123456789abcdef.tmp.bak",
        folder / "x.data.bin.0123456789abcdef.tmp",
    ]
    assert len(keep) == 6
    for path in keep[1:]:
        path.write_text("mine")
    lookalike = folder / ".data.bin.0123456789abcdef.tmp"  # the right name, but a folder
    lookalike.mkdir()
    for path in [*keep, lookalike]:
        backdate(path)
    atomic_write_bytes(folder / "data.bin", b"new")
    assert all(p.is_file() for p in keep) and lookalike.is_dir()
    assert (folder / "data.bin").read_bytes() == b"new"


# a save that stops (and is killed) while writing its arrays to a temporary file
_SAVER = stall_after("explainable_pipeline._explanation_io", "_write_npz",
                     "mod.save_explanation(make(), sys.argv[1])")


@needs_flock
def test_a_killed_saves_array_file_is_removed_by_the_next_save(tmp_path):
    """A save killed while writing its arrays left ``.arrays.<hex>.npz.<hex>.tmp`` for good:
    the next save into the folder removes it once its writer is dead (never a live one's)."""
    folder = tmp_path / "exp"
    with stalled_child(_SAVER, folder, ready=tmp_path / "dead") as proc:
        kill(proc)
    (dead,) = folder.glob(".arrays.*.npz.*.tmp")
    backdate(dead)
    with stalled_child(_SAVER, folder, ready=tmp_path / "live"):
        (live,) = set(folder.glob(".arrays.*.npz.*.tmp")) - {dead}
        backdate(live)  # old, but its writer holds the lock
        eio.save_explanation(make_global("binary"), folder)
        assert not dead.exists() and live.exists()
    np.testing.assert_array_equal(load_explanation(folder).global_importance_values,
                                  make_global("binary").global_importance_values)


def test_a_writer_that_writes_nothing_leaves_the_target(tmp_path):
    """``atomic_path`` pre-creates its (locked) temporary file: a writer that wrote elsewhere
    (another filesystem) would have moved an empty file over the target. It raises instead
    and leaves the target; ``atomic_write`` of empty content still writes an empty file."""
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError, match="Nothing was written"):
        with atomic_path(target):
            pass
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["data.bin"]
    atomic_write_bytes(target, b"")
    assert target.read_bytes() == b""
