"""Fuzz: damaged model files, explanation folders and store entries give only the documented
errors (ModelFileError and its subclasses, ExplanationFormatError, ExplanationNotFoundError),
never EOFError, KeyError, IndexError, RecursionError or MemoryError, and never run code."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_store import make

from explainable_pipeline import load, load_explanation, save
from explainable_pipeline.persistence import ModelFileError, read_metadata
from explainable_pipeline.store import (
    ExplanationClient,
    ExplanationFormatError,
    ExplanationNotFoundError,
)

FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["..", "../x", "/etc/passwd", "arrays.0.npz", "global", "local"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@st.composite
def byte_damage(draw, size: int):
    """Truncate, flip bytes, or insert bytes at random places."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert"]))
    pos = draw(st.integers(0, max(size - 1, 0)))
    if kind == "truncate":
        return lambda b: b[:pos]
    n = draw(st.integers(1, 8))
    junk = draw(st.binary(min_size=n, max_size=n))
    if kind == "flip":
        return lambda b: b[:pos] + junk + b[pos + n :]
    return lambda b: b[:pos] + junk + b[pos:]


def _mutate_json(doc, path, value):
    """Replace the node at ``path`` (a list of choices) in ``doc`` by ``value``."""
    node, parent, key = doc, None, None
    for choice in path:
        if isinstance(node, dict) and node:
            key = sorted(node)[choice % len(node)]
        elif isinstance(node, list) and node:
            key = choice % len(node)
        else:
            break
        parent, node = node, node[key]
    if parent is None:
        return value
    parent[key] = value
    return doc


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    from sklearn.linear_model import LogisticRegression

    from explainable_pipeline import ExplainablePipeline

    X = np.random.default_rng(0).normal(size=(60, 3))
    ep = ExplainablePipeline(None, LogisticRegression(), background=5).fit(X, X[:, 0] > 0)
    folder = tmp_path_factory.mktemp("fuzz-models")
    return {fmt: save(ep, folder / f"m.{fmt}", format=fmt).read_bytes() for fmt in ("joblib", "skops")}


def _expect(errors, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except errors:
            pass


@FUZZ
@given(data=st.data())
def test_damaged_skops_files(model_files, tmp_path_factory, data):
    raw = model_files["skops"]
    damaged = data.draw(byte_damage(len(raw)))(raw)
    path = tmp_path_factory.getbasetemp() / "fuzz.skops"
    path.write_bytes(damaged)
    _expect(ModelFileError, lambda: load(path, trusted=["numpy.dtype"]))
    _expect(ModelFileError, lambda: read_metadata(path))


@FUZZ
@given(data=st.data())
def test_damaged_joblib_files(model_files, tmp_path_factory, data):
    raw = model_files["joblib"]
    damage = data.draw(byte_damage(len(raw)))
    path = tmp_path_factory.getbasetemp() / "fuzz.joblib"
    path.write_bytes(damage(raw))
    _expect(ModelFileError, lambda: read_metadata(path))  # never unpickles: any damage is safe
    _expect(ModelFileError, lambda: load(path, allow_pickle=False))
    cut = data.draw(st.integers(0, len(raw) - 1))  # unpickling: realistic damage, truncation
    path.write_bytes(raw[:cut])
    _expect(ModelFileError, lambda: load(path))


@pytest.fixture(scope="module")
def explanation_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-exp") / "e"
    make("multiclass").save(folder)
    return folder


@FUZZ
@given(data=st.data())
def test_damaged_explanation_folders(explanation_dir, tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "fuzz-e"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(explanation_dir, folder)
    meta = folder / "explanation.json"
    doc = json.loads(meta.read_text())
    npz = folder / doc["arrays"]
    target = data.draw(st.sampled_from(["json-bytes", "json-value", "npz"]))
    if target == "json-bytes":
        raw = meta.read_bytes()
        meta.write_bytes(data.draw(byte_damage(len(raw)))(raw))
    elif target == "json-value":
        where = data.draw(st.lists(st.integers(0, 50), max_size=6))
        meta.write_text(json.dumps(_mutate_json(doc, where, data.draw(JSON))))
    else:
        raw = npz.read_bytes()
        npz.write_bytes(data.draw(byte_damage(len(raw)))(raw))
    _expect(ExplanationFormatError, lambda: load_explanation(folder))


@FUZZ
@given(data=st.data())
def test_damaged_store_entries(tmp_path_factory, data):
    folder = tmp_path_factory.getbasetemp() / "fuzz-store"
    shutil.rmtree(folder, ignore_errors=True)
    client = ExplanationClient.local(folder)
    eid = client.upload_model_explanation(make("regression"), comment="c")
    entry = folder / eid / "entry.json"
    if data.draw(st.booleans()):
        raw = entry.read_bytes()
        entry.write_bytes(data.draw(byte_damage(len(raw)))(raw))
    else:
        where = data.draw(st.lists(st.integers(0, 50), max_size=3))
        entry.write_text(json.dumps(_mutate_json(json.loads(entry.read_text()), where,
                                                 data.draw(JSON))))  # fmt: skip
    errors = (ExplanationFormatError, ExplanationNotFoundError)
    _expect(errors, client.list_model_explanations)
    _expect(errors, lambda: client.download_model_explanation(comment="c"))
    _expect(errors, lambda: client.download_model_explanation(eid))
