"""Loaders check sizes before allocating and nesting before parsing: deeply nested JSON, a
declared dense shape of 1e6 x 1e6, an npz member that declares more than it stores, and a skops
metadata bomb give the documented error naming the file, never RecursionError or MemoryError."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from test_store import make

from explainable_pipeline import load_explanation
from explainable_pipeline.persistence import ModelFileError, read_metadata
from explainable_pipeline.store import ExplanationClient, ExplanationFormatError


def test_deeply_nested_json_is_refused_before_parsing(tmp_path):
    make("regression").save(tmp_path / "e")
    meta = tmp_path / "e" / "explanation.json"
    doc = json.loads(meta.read_text())
    deep = "[" * 100_000 + "]" * 100_000
    meta.write_text(json.dumps(doc)[:-1] + ', "x": ' + deep + "}")
    with pytest.raises(ExplanationFormatError, match=r"explanation\.json.*nested 100001 levels"):
        load_explanation(tmp_path / "e")
    client = ExplanationClient.local(tmp_path / "store")
    eid = client.upload_model_explanation(make("regression"))
    (tmp_path / "store" / eid / "entry.json").write_text(deep)
    with pytest.raises(ExplanationFormatError, match="entry.json.*nested"):
        client.list_model_explanations()


def test_a_huge_declared_sparse_shape_is_refused_before_allocating(tmp_path):
    ic = tmp_path / "ic"
    ic.mkdir()
    (ic / "explanation_metadata.json").write_text(json.dumps({"global": False, "local": True}))
    sparse = [[1.0], [0], [0, 1] + [1] * 999_999, [1_000_000, 1_000_000]]
    (ic / "local_importance_values.json").write_text(json.dumps({"metadata": "sparse", "data": sparse}))
    with pytest.raises(ExplanationFormatError, match=r"local_importance_values\.json.*shape "
                                                     r"\(1000000, 1000000\).*over the limit"):  # fmt: skip
        load_explanation(ic)


def test_an_npz_member_declaring_more_than_it_stores_is_refused(tmp_path):
    make("regression").save(tmp_path / "e")
    doc = json.loads((tmp_path / "e" / "explanation.json").read_text())
    npz = tmp_path / "e" / doc["arrays"]
    with np.load(npz) as f:
        arrays = {k: f[k] for k in f.files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.save(member, arr)
            raw = member.getvalue()
            if name == "values":  # claim 1e6 x 1e6 float64 in the header, store the real bytes
                raw = raw.replace(repr(arr.shape).encode(), b"(1000000, 1000000)", 1)
            zf.writestr(name + ".npy", raw)
    npz.write_bytes(buffer.getvalue())
    with pytest.raises(ExplanationFormatError, match=r"'values\.npy' declares shape \(1000000, 1000000\)"):
        load_explanation(tmp_path / "e")


def test_a_skops_metadata_member_too_deep_or_too_big(tmp_path):
    for member, payload, needle in (
        ("explainable_pipeline_metadata.json", "[" * 5000 + "]" * 5000, "nested"),
        ("schema.json", "{}", "without explainable-pipeline metadata"),
    ):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("schema.json", "{}")
            if member != "schema.json":
                zf.writestr(member, payload)
        path = tmp_path / "m.skops"
        path.write_bytes(buffer.getvalue())
        with pytest.raises(ModelFileError, match=needle):
            read_metadata(path)
