"""Safe loading: trusted=, --trust, --safe-only, allow_pickle=False and a .skops name accept skops
zip files only and refuse anything else before a byte is unpickled; read_metadata never unpickles.

Every payload here creates a marker file when unpickled; the tests assert it never appears.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import joblib
import pytest
from conftest import MarkerPayload, marker_envelope
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from explainable_pipeline import ExplainablePipeline, load, save
from explainable_pipeline.cli import main
from explainable_pipeline.persistence import (
    ModelFileError,
    UnsafeModelFileError,
    get_untrusted_types,
    read_metadata,
)


@pytest.fixture()
def payloads(tmp_path):
    """Hostile files: a plain pickle and a joblib envelope, each under a .skops and a .joblib
    name, plus the marker their unpickling would create."""
    marker = tmp_path / "PWNED"
    files = {}
    for suffix in ("skops", "joblib"):
        plain = tmp_path / f"plain.{suffix}"
        plain.write_bytes(pickle.dumps(MarkerPayload(marker)))
        envelope = tmp_path / f"envelope.{suffix}"
        joblib.dump(marker_envelope(marker), envelope)
        files[f"plain.{suffix}"], files[f"envelope.{suffix}"] = plain, envelope
    return marker, files


def test_the_payload_works_when_pickles_are_allowed(payloads):
    """Control: unpickling the payload does create the marker (so the tests below can fail)."""
    marker, files = payloads
    with pytest.raises(ModelFileError):  # the envelope's "model" is the payload's return value
        load(files["envelope.joblib"])
    assert marker.exists()


@pytest.mark.parametrize("name", ["plain.skops", "envelope.skops"])
def test_a_pickle_named_skops_is_refused_without_unpickling(payloads, name):
    marker, files = payloads
    with pytest.raises(UnsafeModelFileError, match="not a skops zip.*without unpickling"):
        load(files[name])
    with pytest.raises(UnsafeModelFileError):
        load(files[name], allow_pickle=True)  # the .skops name always means safe formats
    assert not marker.exists()


@pytest.mark.parametrize("name", ["plain.joblib", "envelope.joblib", "envelope.skops"])
@pytest.mark.parametrize("how", [{"trusted": []}, {"trusted": ["x.Y"]}, {"allow_pickle": False}])
def test_trusted_or_allow_pickle_false_refuses_pickles(payloads, name, how):
    marker, files = payloads
    with pytest.raises(UnsafeModelFileError) as info:
        load(files[name], **how)
    assert info.value.path == str(files[name])
    assert not marker.exists()


def test_trusted_and_allow_pickle_true_contradict(payloads):
    _, files = payloads
    with pytest.raises(ValueError, match="cannot be combined"):
        load(files["plain.joblib"], trusted=[], allow_pickle=True)


@pytest.mark.parametrize("name", ["plain.skops", "plain.joblib", "envelope.skops", "envelope.joblib"])
def test_read_metadata_and_untrusted_types_never_unpickle(payloads, name):
    marker, files = payloads
    with pytest.raises(ModelFileError):
        read_metadata(files[name])
    with pytest.raises(UnsafeModelFileError):
        get_untrusted_types(files[name])
    assert not marker.exists()


def test_read_metadata_of_real_joblib_files_without_unpickling(tmp_path, monkeypatch):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    ep = ExplainablePipeline(None, Ridge()).fit(X, y)
    path = save(ep, tmp_path / "m.joblib")

    def refuse(*args, **kwargs):
        raise AssertionError("read_metadata unpickled the file")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(joblib, "load", refuse)
    meta = read_metadata(path)
    assert meta["estimator"] == "sklearn.linear_model._ridge.Ridge"
    assert meta["feature_names"] == list(X.columns)
    monkeypatch.undo()
    assert isinstance(load(path), ExplainablePipeline)  # the documented joblib flow still works
    with pytest.raises(UnsafeModelFileError):
        load(path, allow_pickle=False)


def test_a_zip_that_is_not_a_skops_file_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("model.pkl", pickle.dumps(MarkerPayload(marker)))
    path = tmp_path / "m.skops"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match="not a skops file"):
        load(path, trusted=[])
    with pytest.raises(ModelFileError):
        read_metadata(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "{model}", "--trust", "numpy.dtype"],
        ["serve", "{model}", "--safe-only"],
        ["explain", "{model}", "{data}", "--trust", "numpy.dtype", "--no-plot"],
        ["explain", "{model}", "{data}", "--safe-only", "--no-plot"],
        ["dashboard", "{model}", "{data}", "--safe-only", "--html", "{out}"],
    ],
)
def test_cli_trust_and_safe_only_refuse_pickles(payloads, tmp_path, argv, capsys):
    pytest.importorskip("fastapi")
    marker, files = payloads
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n")
    fill = {"model": str(files["envelope.joblib"]), "data": str(data),
            "out": str(tmp_path / "d.html")}  # fmt: skip
    assert main([a.format(**fill) for a in argv]) == 1
    assert "not a skops zip" in capsys.readouterr().err
    assert not marker.exists()


def test_create_app_with_trusted_refuses_pickles(payloads):
    pytest.importorskip("fastapi")
    from explainable_pipeline.serving import create_app

    marker, files = payloads
    with pytest.raises(UnsafeModelFileError):
        create_app(files["envelope.joblib"], trusted=[])
    with pytest.raises(UnsafeModelFileError):
        create_app(files["envelope.joblib"], allow_pickle=False)
    assert not marker.exists()
