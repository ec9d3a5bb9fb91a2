"""A save removes only what it created (names generated in that call) and array files of earlier
saves: a user's hidden files, *.tmp files and .something.tmp/ folders survive and do not break it."""

from __future__ import annotations

from test_store import make

from explainable_pipeline import load_explanation
from explainable_pipeline.store import ExplanationClient


def test_hidden_tmp_files_and_folders_of_the_user_survive_saves(tmp_path):
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / ".notes.tmp").write_text("mine")
    (folder / ".draft.json.tmp").write_text("mine too")
    (folder / ".cache.tmp").mkdir()
    (folder / ".cache.tmp" / "x").write_text("nested")
    (folder / ".git").mkdir()
    for kind in ("multiclass", "regression", "multiclass"):  # first save, then overwrites
        make(kind).save(folder)
    assert load_explanation(folder).to_dict() == make("multiclass").to_dict()
    assert (folder / ".notes.tmp").read_text() == "mine"
    assert (folder / ".draft.json.tmp").read_text() == "mine too"
    assert (folder / ".cache.tmp" / "x").read_text() == "nested"
    assert (folder / ".git").is_dir()
    ours = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert len(ours) == 2 and ours[0].startswith("arrays.") and ours[1] == "explanation.json"


def test_the_store_keeps_the_users_files_too(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / ".upload-mine.tmp").mkdir()
    (store / ".upload-mine.tmp" / "keep").write_text("k")
    (store / "README.tmp").write_text("r")
    client = ExplanationClient.local(store)
    eid = client.upload_model_explanation(make("regression"))
    assert client.download_model_explanation(eid).to_dict() == make("regression").to_dict()
    assert (store / ".upload-mine.tmp" / "keep").read_text() == "k"
    assert (store / "README.tmp").read_text() == "r"
    assert sorted(p.name for p in store.iterdir()) == sorted([".upload-mine.tmp", "README.tmp", eid])
