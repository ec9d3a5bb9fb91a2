"""Every name read from a stored file is a plain name inside its folder: traversal ids in
entry.json or MLflow tags, array-file fields in explanation.json, and symlinks pointing out of
the folder are refused with ExplanationFormatError before anything outside is read."""

from __future__ import annotations

import json
import os
import shutil
from types import SimpleNamespace

import pytest
from test_store import make

from explainable_pipeline import load_explanation
from explainable_pipeline.store import (
    TAG_PREFIX,
    ExplanationClient,
    ExplanationFormatError,
    _MlflowBackend,
)

TRAVERSALS = ["../elsewhere", "..", "a/../../b", "/etc", "sub/dir", "..\\x", ""]


@pytest.fixture()
def store(tmp_path):
    """A local store with one explanation, and a second explanation outside it."""
    client = ExplanationClient.local(tmp_path / "store")
    eid = client.upload_model_explanation(make("multiclass"), comment="inside")
    make("regression").save(tmp_path / "elsewhere")
    return client, tmp_path / "store", eid


@pytest.mark.parametrize("bad_id", TRAVERSALS)
def test_an_entry_id_that_leaves_the_store_is_refused(store, bad_id):
    client, folder, eid = store
    entry_file = folder / eid / "entry.json"
    entry = json.loads(entry_file.read_text())
    entry_file.write_text(json.dumps({**entry, "id": bad_id}))
    with pytest.raises(ExplanationFormatError, match="entry.json"):
        client.list_model_explanations()
    with pytest.raises(ExplanationFormatError):
        client.download_model_explanation(comment="inside")


def test_an_entry_must_carry_its_folders_id(store, tmp_path):
    client, folder, eid = store
    other = client.upload_model_explanation(make("regression"), comment="other")
    entry_file = folder / eid / "entry.json"
    entry_file.write_text(json.dumps({**json.loads(entry_file.read_text()), "id": other}))
    with pytest.raises(ExplanationFormatError, match="claims id"):
        client.list_model_explanations()


@pytest.mark.parametrize(
    "field", ["../elsewhere/{npz}", "{abs}", "sub/{npz}", "..", "arrays.zz.npz", 7, ["x"]]
)
def test_an_array_file_field_that_leaves_the_folder_is_refused(tmp_path, field):
    make("multiclass").save(tmp_path / "e")
    make("regression").save(tmp_path / "elsewhere")
    npz = json.loads((tmp_path / "elsewhere" / "explanation.json").read_text())["arrays"]
    meta = tmp_path / "e" / "explanation.json"
    doc = json.loads(meta.read_text())
    if isinstance(field, str):
        field = field.format(npz=npz, abs=str(tmp_path / "elsewhere" / npz))
    meta.write_text(json.dumps({**doc, "arrays": field}))
    with pytest.raises(ExplanationFormatError, match="explanation.json"):
        load_explanation(tmp_path / "e")


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlinks_pointing_out_of_the_folder_are_refused(tmp_path):
    make("multiclass").save(tmp_path / "e")
    make("regression").save(tmp_path / "elsewhere")
    doc = json.loads((tmp_path / "e" / "explanation.json").read_text())
    theirs = json.loads((tmp_path / "elsewhere" / "explanation.json").read_text())["arrays"]
    (tmp_path / "e" / doc["arrays"]).unlink()
    (tmp_path / "e" / doc["arrays"]).symlink_to(tmp_path / "elsewhere" / theirs)
    with pytest.raises(ExplanationFormatError, match="outside"):
        load_explanation(tmp_path / "e")
    # interpret-community folders: a property file that is a symlink to a file elsewhere
    ic = tmp_path / "ic"
    ic.mkdir()
    (ic / "explanation_metadata.json").write_text(json.dumps({"global": True, "local": False}))
    (tmp_path / "secret.json").write_text(json.dumps({"metadata": "list", "data": [1.0]}))
    (ic / "global_importance_values.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(ExplanationFormatError, match="outside"):
        load_explanation(ic)
    # a store folder that is a symlink to a folder elsewhere
    client = ExplanationClient.local(tmp_path / "store")
    eid = client.upload_model_explanation(make("multiclass"))
    shutil.copytree(tmp_path / "store" / eid, tmp_path / "outside")
    shutil.rmtree(tmp_path / "store" / eid)
    (tmp_path / "store" / eid).symlink_to(tmp_path / "outside")
    with pytest.raises(ExplanationFormatError, match="outside"):
        client.list_model_explanations()


@pytest.mark.parametrize("bad_id", TRAVERSALS)
def test_mlflow_tags_with_traversal_ids_are_refused(bad_id):
    downloads = []

    class FakeMlflow:  # the two MlflowClient calls the backend makes on reads
        tracking_uri = "fake"

        def get_run(self, run_id):
            entry = {"id": bad_id, "comment": None, "time": "t"}
            return SimpleNamespace(data=SimpleNamespace(tags={TAG_PREFIX + bad_id: json.dumps(entry)}))

        def download_artifacts(self, *args):
            downloads.append(args)
            raise AssertionError("nothing may be downloaded for a traversal id")

    backend = _MlflowBackend.__new__(_MlflowBackend)
    backend.run_id, backend.client = "run", FakeMlflow()
    client = ExplanationClient.__new__(ExplanationClient)
    client._backend = backend
    with pytest.raises(ExplanationFormatError):
        client.list_model_explanations()
    with pytest.raises(ExplanationFormatError):
        backend.get(bad_id)
    assert downloads == []
