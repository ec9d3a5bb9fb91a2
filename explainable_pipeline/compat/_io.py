"""interpret-community's explanation folders: ``save_explanation`` / ``load_explanation``.

The layout is interpret-community's (``explanation_metadata.json`` plus one
``<property>.json`` per property, each ``{"metadata": <kind>, "data": <value>}``), so
interpret-community (and its dashboard) read what is written here and the other way round.
Unlike interpret-community, the folder is written atomically: the files go to a temporary
sibling folder first, which is renamed into place (a new folder), or whose files each
replace the old ones with ``os.replace``, ``explanation_metadata.json`` last
(``exist_ok=True``), under the parent folder's lock (``_fileio.directory_lock``) so two
writers do not interleave. A crash leaves the previous explanation or the new one.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._explanation import GlobalExplanation, LocalExplanation
from .._explanation_io import (
    IC_METADATA_FILE,
    ExplanationFormatError,
    _ic_value,
    _read_json,
)
from .._explanation_io import load_explanation as _load_native
from .._fileio import directory_lock, fsync_dir
from ._explanation import CompatGlobalExplanation, CompatLocalExplanation

__all__ = ["load_explanation", "save_explanation"]

_PROPERTIES = (
    "features", "local_importance_values", "expected_values", "classes",
    "global_importance_rank", "global_importance_values", "per_class_rank", "per_class_values",
    "init_data", "eval_data", "eval_y_predicted", "eval_y_predicted_proba",
)  # fmt: skip


def _sparse_list(m) -> list:
    m = sp.csr_matrix(m)
    return [m.data.tolist(), m.indices.tolist(), m.indptr.tolist(), list(m.shape)]


def _encode(value: Any) -> tuple[str, Any]:
    if isinstance(value, pd.DataFrame):
        return "DataFrame", value.to_numpy().tolist()
    if isinstance(value, np.ndarray):
        return "ndarray", value.tolist()
    if sp.issparse(value):
        return "sparse", _sparse_list(value)
    if isinstance(value, list):
        return "list", value
    return "other", value


def _plain_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _as_compat(explanation: Any):
    if isinstance(explanation, (CompatLocalExplanation, CompatGlobalExplanation)):
        return explanation
    if isinstance(explanation, (LocalExplanation, GlobalExplanation)):
        task = "classification" if explanation.classes is not None else "regression"
        fields = dict(method=explanation.method, model_task=task, model_type=None,
                      is_raw=explanation.space == "raw", classes=explanation.classes)  # fmt: skip
        if isinstance(explanation, LocalExplanation):
            return CompatLocalExplanation(explanation, eval_data=explanation.data, **fields)
        local = None
        if explanation.local is not None:
            local = CompatLocalExplanation(explanation.local, **fields)
        return CompatGlobalExplanation(explanation, local, **fields)
    raise TypeError(
        "save_explanation expects an explanation of explainable_pipeline (compat or core); got "
        f"{type(explanation).__name__}."
    )


def _files(exp) -> dict[str, bytes]:
    out = {}
    for prop in _PROPERTIES:
        try:
            value = getattr(exp, prop)
        except AttributeError:
            continue
        if value is None:
            continue
        if prop == "eval_data" and sp.issparse(exp._eval_data):
            value = exp._eval_data
        kind, data = _encode(value)
        payload = {"metadata": kind, "data": data}
        out[f"{prop}.json"] = json.dumps(payload, default=_plain_json).encode("utf-8")
    is_global = isinstance(exp, CompatGlobalExplanation)
    has_local = not is_global or exp._local is not None
    classification = exp.num_classes is not None
    metadata = {
        "explanation_id": exp.id,
        "model_type": "classification" if classification else "regression",
        "data_type": "tabular",
        "model_task": exp.model_task,
        "method": exp.method,
        "model_class": exp.model_type,
        "is_raw": exp.is_raw,
        "is_engineered": exp.is_engineered,
        "global": is_global,
        "local": has_local,
        "num_classes": exp.num_classes if classification else 1,
        "num_examples": exp.num_examples if has_local else 0,
        "num_features": exp.num_features,
        "is_local_sparse": False,
        "serialization_version": 1,
    }
    out[IC_METADATA_FILE] = json.dumps(metadata, default=_plain_json).encode("utf-8")
    return out


def _fsync_write(path: Path, payload: bytes) -> None:
    with open(path, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())


def save_explanation(explanation: Any, path: Any, exist_ok: bool = False) -> Path:
    """Write ``explanation`` to the folder ``path`` in interpret-community's layout.

    Parameters
    ----------
    explanation : CompatLocalExplanation, CompatGlobalExplanation, or a core explanation
    path : str or path-like
        The folder to write.
    exist_ok : bool, default=False
        As interpret-community: False refuses an existing folder; True replaces the
        explanation files in it (other files are left alone).

    Returns
    -------
    pathlib.Path
    """
    exp = _as_compat(explanation)
    path = Path(path)
    files = _files(exp)  # everything is encoded before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    try:
        for name, payload in files.items():
            _fsync_write(tmp / name, payload)
        with directory_lock(path.parent):  # one writer at a time swaps files in
            if path.exists() and not exist_ok:
                raise FileExistsError(
                    f"{path} already exists; pass a new folder or exist_ok=True to overwrite it."
                )
            if path.exists() and not path.is_dir():
                raise FileExistsError(f"{path} exists and is not a folder.")
            if not path.exists():
                os.replace(tmp, path)
            else:
                stale = [p for p in path.glob("*.json") if p.name not in files]
                for name in sorted(files, key=lambda n: n == IC_METADATA_FILE):  # metadata last
                    os.replace(tmp / name, path / name)
                for p in stale:  # properties of the previous explanation that this one lacks
                    if p.stem in _PROPERTIES:
                        p.unlink(missing_ok=True)
                fsync_dir(path)
            fsync_dir(path.parent)
        return path
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _from_ic_kind(file: Path) -> Any:
    doc = _read_json(file)
    if isinstance(doc, dict) and doc.get("metadata") == "list":
        return doc.get("data")
    if isinstance(doc, dict) and doc.get("metadata") in ("sparse", "DatasetWrapperSparse"):
        from scipy.sparse import csr_matrix

        values, indices, indptr, shape = doc["data"]
        return csr_matrix((values, indices, indptr), shape=tuple(shape))
    return _ic_value(file)


def load_explanation(path: Any):
    """Read an explanation folder into a compat explanation.

    Reads interpret-community's layout (written by interpret-community or by
    :func:`save_explanation`); a folder in this library's own format
    (``explanation.save``) is loaded and presented the same way.

    Returns
    -------
    CompatLocalExplanation or CompatGlobalExplanation
    """
    path = Path(path)
    meta_file = path / IC_METADATA_FILE
    if not meta_file.is_file():
        return _as_compat(_load_native(path))
    md = _read_json(meta_file)
    if not isinstance(md, dict) or "global" not in md or "local" not in md:
        raise ExplanationFormatError(f"{meta_file} lacks interpret-community's global/local flags.")
    props = {p.stem: p for p in path.glob("*.json") if p.stem in _PROPERTIES}

    def get(name: str) -> Any:
        return _from_ic_kind(props[name]) if name in props else None

    classification = md.get("model_type") == "classification"
    values = get("local_importance_values")
    features = get("features")
    expected = get("expected_values")
    classes = get("classes")
    fields = dict(
        method=str(md.get("method") or "unknown"), model_task=md.get("model_task") or "unknown",
        model_type=md.get("model_class"), is_raw=bool(md.get("is_raw")),
        is_engineered=bool(md.get("is_engineered")),
        classes=None if classes is None else list(np.asarray(classes, dtype=object).tolist()),
        num_classes=md.get("num_classes") if classification else None,
        eval_data=get("eval_data"), eval_y_predicted=get("eval_y_predicted"),
        eval_y_predicted_proba=get("eval_y_predicted_proba"), init_data=get("init_data"),
        explanation_id=md.get("explanation_id"),
    )  # fmt: skip
    if fields["eval_data"] is not None and not sp.issparse(fields["eval_data"]):
        fields["eval_data"] = np.asarray(fields["eval_data"])
    if fields["init_data"] is not None and not sp.issparse(fields["init_data"]):
        fields["init_data"] = np.asarray(fields["init_data"])
    common = dict(method=fields["method"], space="raw" if fields["is_raw"] else "engineered",
                  output="unknown")  # fmt: skip
    if not classification:
        fields["classes"] = None
    local = None
    if md["local"] and values is not None:
        values = values.toarray() if sp.issparse(values) else np.asarray(values, dtype=float)
        names = list(range(values.shape[-1])) if features is None else list(features)
        ev = np.asarray(expected if expected is not None else np.zeros(values.shape[0]), float)
        ev = ev if values.ndim == 3 else float(ev.reshape(-1)[0])
        core = LocalExplanation(
            values, ev, names, classes=fields["classes"] if values.ndim == 3 else None, **common
        )
        local = CompatLocalExplanation(core, **fields)
        if not md["global"]:
            return local
    glob = get("global_importance_values")
    if glob is None:
        raise ExplanationFormatError(f"{path} holds neither local nor global importance values.")
    glob = np.asarray(glob, dtype=float)  # the stored values, not recomputed: equal bit for bit
    names = list(range(glob.size)) if features is None else list(features)
    per_class = get("per_class_values")
    ev = None if expected is None else np.asarray(expected, dtype=float)
    if ev is not None and ev.size == 1:
        ev = float(ev.reshape(-1)[0])
    core_g = GlobalExplanation(
        glob, names, classes=fields["classes"], per_class_values=per_class, expected_values=ev,
        local=None if local is None else local.explanation,
        n_rows=md.get("num_examples") or None, **common,
    )  # fmt: skip
    return CompatGlobalExplanation(core_g, local, **fields)
