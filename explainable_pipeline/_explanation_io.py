"""On-disk format of explanations: ``save_explanation`` / ``load_explanation``.

An explanation is saved as a **directory** holding two files::

    <path>/
      explanation.json        metadata + everything small, as JSON (UTF-8)
      arrays.<token>.npz      the big numeric arrays (numpy ``savez_compressed``)

``explanation.json`` is::

    {"format": "explainable-pipeline/explanation",
     "format_version": 1,                  # this file layout; see FILE_FORMAT_VERSION
     "library_version": "0.1.0",           # the writer, for information only
     "created": "2025-01-01T00:00:00+00:00",
     "arrays": "arrays.<token>.npz",       # the array file of THIS version (or null)
     "explanation": {...}}                 # exactly ``explanation.to_dict()``, except that some
                                           # arrays are replaced by {"$array": "<key>"}

``{"$array": key}`` means "the array stored under ``key`` in the npz file"; keys are the
dotted path of the field (``values``, ``predictions``, ``local.values``, ``data.values``,
``local.data.columns.3``, ...). The npz holds plain numeric arrays (float64 for
attributions, the original dtype for numeric data), so ``numpy.load(path, allow_pickle=False)``
and ``json.load`` read everything without this library. Non-numeric data columns, names,
classes, ``meta`` and ``fidelity`` stay in the JSON, encoded as ``to_dict`` documents it.

Atomic writes: the npz is written and fsynced under a temporary name of this call; then, under
an exclusive lock on the directory, it is moved into place, ``explanation.json`` is written to a
temporary file, fsynced and moved over the old one with ``os.replace`` (atomic on POSIX and
Windows), and the array files of earlier saves are removed. A crash at any point leaves either
the previous explanation or none; concurrent saves to one directory leave the last one; only
files this library created are ever removed. Readers validate every name read from a file (see
:mod:`explainable_pipeline._fileio`) and raise :class:`ExplanationFormatError` naming the file.

Versioning: readers accept ``format_version`` 1..:data:`FILE_FORMAT_VERSION` and refuse newer
files with an error asking to upgrade; a new version is needed only when an old reader would
misread a new file (adding a JSON key is not such a change).

interpret-community's ``save_explanation`` directories (``explanation_metadata.json`` plus one
``<property>.json`` per property, each ``{"metadata": <type>, "data": <value>}``) are read
by :func:`load_explanation` too; see :func:`_read_interpret_community`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._explanation import GlobalExplanation, LocalExplanation
from ._fileio import (
    atomic_write_bytes,
    check_dense_size,
    check_npy_members,
    child,
    create_locked,
    directory_lock,
    fsync_dir,
    read_json,
    reading,
    sweep_dead,
    temp_name,
)

__all__ = [
    "FILE_FORMAT_VERSION",
    "ExplanationFormatError",
    "load_explanation",
    "save_explanation",
]

logger = logging.getLogger(__name__)

FILE_FORMAT_VERSION = 1
FORMAT_NAME = "explainable-pipeline/explanation"
METADATA_FILE = "explanation.json"
IC_METADATA_FILE = "explanation_metadata.json"
_ARRAYS_RE = re.compile(r"^arrays\.[0-9a-f]+\.npz$")
# temporary array files (``_fileio.temp_name`` of an arrays file): a killed save leaves one
_ARRAYS_TMP_RE = re.compile(r"\.arrays\.[0-9a-f]{16}\.npz\.[0-9a-f]{16}\.tmp")
_FLOAT_FIELDS = ("values", "predictions", "per_class_values", "intervals", "std")


class ExplanationFormatError(ValueError):
    """A saved explanation (or a store entry) is corrupt, truncated, names a file outside its
    folder, declares more data than it stores, or was written by a newer version of the
    library. The message names the file and the problem."""


# --------------------------------------------------------------------------- helpers
def _write_npz(target: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(target, "wb") as f:
        np.savez_compressed(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _split_arrays(exp: Any, d: dict, prefix: str, arrays: dict) -> dict:
    """Move the big numeric arrays of ``d`` (``exp.to_dict()``) into ``arrays``."""
    d = dict(d)
    for name in _FLOAT_FIELDS:
        value = getattr(exp, name, None)
        if isinstance(value, np.ndarray) and d.get(name) is not None:
            arrays[prefix + name] = np.asarray(value, dtype=float)
            d[name] = {"$array": prefix + name}
    data = d.get("data")
    if data is not None:
        data = dict(data)
        if data["type"] == "ndarray" and np.dtype(data["dtype"]).kind in "biuf":
            arrays[prefix + "data.values"] = np.asarray(exp.data)
            data["values"] = {"$array": prefix + "data.values"}
        elif data["type"] == "dataframe":
            dtypes = []
            for j, enc in enumerate(data["dtypes"]):
                if enc["kind"] == "numpy" and np.dtype(enc["dtype"]).kind in "biuf":
                    key = f"{prefix}data.columns.{j}"
                    arrays[key] = exp.data.iloc[:, j].to_numpy()
                    enc = {**enc, "values": {"$array": key}}
                dtypes.append(enc)
            data["dtypes"] = dtypes
        d["data"] = data
    if d.get("local") is not None:
        d["local"] = _split_arrays(exp.local, d["local"], prefix + "local.", arrays)
    return d


def _join_arrays(obj: Any, arrays: Any, where: str) -> Any:
    """Replace every ``{"$array": key}`` of ``obj`` by the array from the npz."""
    if isinstance(obj, dict):
        if set(obj) == {"$array"}:
            key = obj["$array"]
            if arrays is None or key not in arrays:
                raise ExplanationFormatError(f"{where} refers to array {key!r}, which is missing.")
            return arrays[key]
        return {k: _join_arrays(v, arrays, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_arrays(v, arrays, where) for v in obj]
    return obj


def _other_kinds() -> tuple:
    """Explanation classes beyond local/global (imported late: they import this module's peers)."""
    from ._interaction_explanation import InteractionExplanation

    return (InteractionExplanation,)


# --------------------------------------------------------------------------- save / load
def save_explanation(explanation: LocalExplanation | GlobalExplanation, path: Any) -> Path:
    """Save an explanation to the directory ``path`` (created; an older save is replaced).

    The write is atomic: a crash leaves the previous explanation or none, never a mix.
    Concurrent saves to one directory (threads or processes) serialise on a lock for their
    last step: the last one wins and the directory always loads. Only files this call
    created, and array files of earlier saves, are ever removed.

    Parameters
    ----------
    explanation : LocalExplanation or GlobalExplanation
        The explanation to save; everything ``to_dict`` keeps is saved.
    path : str or path-like
        Directory to write. It must be absent, empty, or hold a saved explanation.

    Returns
    -------
    pathlib.Path
        The directory written.
    """
    if not isinstance(explanation, (LocalExplanation, GlobalExplanation, *_other_kinds())):
        raise TypeError(
            "save_explanation expects a LocalExplanation, GlobalExplanation or "
            "InteractionExplanation; "
            f"got {type(explanation).__name__}."
        )
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory; pick a directory path.")
    path.mkdir(parents=True, exist_ok=True)
    foreign = [
        p.name
        for p in path.iterdir()
        if p.name != METADATA_FILE and not _ARRAYS_RE.match(p.name) and not p.name.startswith(".")
    ]
    if foreign:
        raise FileExistsError(
            f"{path} holds files that are not a saved explanation ({sorted(foreign)[:5]}); "
            "save into a new or empty directory."
        )
    from . import __version__

    arrays: dict[str, np.ndarray] = {}
    body = _split_arrays(explanation, explanation.to_dict(), "", arrays)
    npz_name = f"arrays.{secrets.token_hex(8)}.npz" if arrays else None
    doc = {
        "format": FORMAT_NAME,
        "format_version": FILE_FORMAT_VERSION,
        "library_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(),
        "arrays": npz_name,
        "explanation": body,
    }
    payload = json.dumps(doc, allow_nan=False, ensure_ascii=False).encode("utf-8")
    npz_tmp = None if npz_name is None else temp_name(path / npz_name)
    placed, lock = None, None
    sweep_dead(path, _ARRAYS_TMP_RE)  # temporary array files of killed saves
    try:
        if npz_tmp is not None:  # the slow part, outside the lock, under a name of this call
            lock = create_locked(npz_tmp)  # held until moved or removed: not swept meanwhile
            _write_npz(npz_tmp, arrays)
        with directory_lock(path):
            if npz_tmp is not None:
                placed = path / npz_name
                os.replace(npz_tmp, placed)
            atomic_write_bytes(path / METADATA_FILE, payload)
            placed = None  # referenced now
            # array files of earlier saves; under the lock no other save has one in flight
            for stale in path.iterdir():
                if stale.name != npz_name and _ARRAYS_RE.match(stale.name):
                    stale.unlink(missing_ok=True)
            fsync_dir(path)
    except BaseException:
        for mine in (npz_tmp, placed):  # only files this call created
            if mine is not None:
                mine.unlink(missing_ok=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    return path


def load_explanation(path: Any) -> LocalExplanation | GlobalExplanation:
    """Load an explanation saved by :func:`save_explanation` or by interpret-community.

    Parameters
    ----------
    path : str or path-like
        A directory written by ``explanation.save(path)`` (holding ``explanation.json``),
        or by interpret-community's ``save_explanation`` (holding
        ``explanation_metadata.json``).

    Returns
    -------
    LocalExplanation or GlobalExplanation

    Raises
    ------
    FileNotFoundError
        When ``path`` holds no saved explanation.
    ExplanationFormatError
        When a file is corrupt, or was written by a newer version of the library.
    """
    path = Path(path)
    if path.is_file() and path.name == METADATA_FILE:
        path = path.parent
    if (path / METADATA_FILE).is_file():
        return _read_native(path)
    if (path / IC_METADATA_FILE).is_file():
        with reading(path, ExplanationFormatError):
            return _read_interpret_community(path)
    raise FileNotFoundError(
        f"No saved explanation at {path}: expected {METADATA_FILE} (explainable-pipeline) or "
        f"{IC_METADATA_FILE} (interpret-community) in that directory."
    )


def _read_json(file: Path) -> Any:
    return read_json(file, ExplanationFormatError)


#: Reads retried when a concurrent save replaced the array file between two reads.
_READ_ATTEMPTS = 5


def _read_native(path: Path) -> LocalExplanation | GlobalExplanation:
    file = path / METADATA_FILE
    for attempt in range(_READ_ATTEMPTS):
        doc = _read_json(file)
        _check_native_header(doc, file)
        npz_name = doc.get("arrays")
        arrays = None
        if npz_name is not None:
            if not isinstance(npz_name, str) or not _ARRAYS_RE.match(npz_name):
                raise ExplanationFormatError(
                    f"{file} names the array file {npz_name!r}; expected 'arrays.<hex>.npz' in "
                    "the same directory. The file may have been tampered with."
                )
            npz = child(path, npz_name, "array file", file, ExplanationFormatError)
            try:
                arrays = _read_npz(npz)
            except ExplanationFormatError as exc:
                # a concurrent save replaced it (even between a check and the open): read
                # the new explanation.json
                if isinstance(exc.__cause__, FileNotFoundError) and attempt + 1 < _READ_ATTEMPTS:
                    continue
                raise
        break
    with reading(file, ExplanationFormatError):
        body = _join_arrays(doc.get("explanation"), arrays, str(file))
        if not isinstance(body, dict):
            raise ExplanationFormatError(f"{file} has no 'explanation' object.")
        kinds = {c._KIND: c for c in (LocalExplanation, GlobalExplanation, *_other_kinds())}
        cls = kinds.get(body.get("kind"), LocalExplanation)
        return cls.from_dict(body)


def _check_native_header(doc: Any, file: Path) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ExplanationFormatError(f"{file} is not an explainable-pipeline explanation file.")
    version = doc.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ExplanationFormatError(f"{file} has an invalid format_version {version!r}.")
    if version > FILE_FORMAT_VERSION:
        raise ExplanationFormatError(
            f"{file} uses format_version {version}, written by explainable-pipeline "
            f"{str(doc.get('library_version', '?'))[:40]}; this version reads format_version <= "
            f"{FILE_FORMAT_VERSION}. Upgrade explainable-pipeline to load it."
        )


def _read_npz(npz: Path) -> dict[str, np.ndarray]:
    """The arrays of ``npz``; declared shapes are checked before anything is allocated."""
    try:
        with open(npz, "rb") as f, zipfile.ZipFile(f) as zf:
            check_npy_members(zf, npz, ExplanationFormatError)
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz_file:
                return {k: npz_file[k] for k in npz_file.files}
    except ExplanationFormatError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, OSError, ValueError, EOFError, ...
        raise ExplanationFormatError(f"Cannot read {npz}: corrupt or missing ({exc}).") from exc


# --------------------------------------------------------------------------- interpret-community
def _ic_value(file: Path) -> Any:
    """Decode one interpret-community ``<property>.json``: ``{"metadata": kind, "data": ...}``."""
    doc = _read_json(file)
    if not isinstance(doc, dict) or "data" not in doc:
        raise ExplanationFormatError(
            f"{file} lacks the 'data' key of interpret-community's layout."
        )
    kind, data = doc.get("metadata"), doc["data"]
    with reading(file, ExplanationFormatError):
        if kind in ("sparse", "DatasetWrapperSparse"):
            return _ic_sparse(data, file)
        if kind in ("ndarray", "DataFrame", "DatasetWrapper"):
            return np.asarray(data)
    return data  # "list", "other"


def _ic_sparse(data: list, file: Path) -> np.ndarray:
    """``[data, indices, indptr, shape]`` (or one such list per class) -> dense array.

    The declared shape is checked before the dense array is allocated.
    """
    from scipy.sparse import csr_matrix

    if isinstance(data[0][0], list):
        return np.stack([_ic_sparse(d, file) for d in data])
    values, indices, indptr, shape = data
    shape = check_dense_size(shape, 8, file, ExplanationFormatError)
    if len(shape) != 2:
        raise ExplanationFormatError(f"{file} declares a sparse matrix of shape {shape}.")
    return csr_matrix((values, indices, indptr), shape=shape).toarray()


def _ic_expected(expected: Any, values: np.ndarray, file: Path) -> Any:
    """interpret-community's ``expected_values`` laid out for ``values``.

    Regression files hold one value in a list; classification files one per class, except
    the linear explainer's binary files: their local values are ``[-phi, phi]`` (shap's one
    log-odds output and its negation, as ``_fix_linear_explainer_shap_values`` builds them)
    and ``expected_values`` holds the positive class's base value only, so the negative
    class's is its negation.
    """
    if expected is None:
        return 0.0 if values.ndim == 2 else np.zeros(values.shape[0])
    ev = np.asarray(expected, dtype=float).reshape(-1)
    if values.ndim == 2 or ev.size == values.shape[0]:
        return ev
    if ev.size == 1 and values.shape[0] == 2:
        if not np.allclose(values[0], -values[1], rtol=1e-9, atol=1e-12):
            raise ExplanationFormatError(
                f"{file}: one expected value for two classes whose local values are not "
                "negations of each other; this is not interpret-community's binary layout."
            )
        return np.array([-ev[0], ev[0]])
    raise ExplanationFormatError(
        f"{file}: expected_values has {ev.size} entries but the local values have "
        f"{values.shape[0]} classes."
    )


def _ic_frame(data: Any, features: list | None, n_rows: int) -> Any:
    """``eval_data`` rows: a float array, or a DataFrame when columns hold text (raw data)."""
    if data is None:
        return None
    try:
        arr = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        import pandas as pd

        rows = data.tolist() if isinstance(data, np.ndarray) else data
        columns = features if features is not None and len(features) == len(rows[0]) else None
        arr = pd.DataFrame(rows, columns=columns)
    return arr if arr.ndim == 2 and arr.shape[0] == n_rows else None


def _ic_outputs(values: np.ndarray, expected: Any, get: Any, classification: bool):
    """The unit interpret-community explained, and the model outputs, when its file proves it.

    interpret-community records neither. Its files keep the model's outputs on the explained
    rows (``eval_y_predicted_proba``, ``eval_y_predicted``); a unit is named only when the
    local values plus expected values reproduce one of them (to 1e-6): probabilities,
    log-odds of a binary model's probabilities, or a regressor's predictions. Multiclass
    logits are known only up to a constant per row (softmax), so they prove the unit
    ``"log_odds"`` but give no outputs. Otherwise ``(None, None)`` (a surrogate's values,
    for example, add up to the surrogate's output).
    """
    total = values.sum(-1) + (np.asarray(expected)[:, None] if values.ndim == 3 else expected)
    candidates = []
    if classification and values.ndim == 3:
        proba = get("eval_y_predicted_proba")
        proba = None if proba is None else np.asarray(proba, dtype=float)
        if proba is not None and proba.shape == values.shape[1::-1]:
            candidates.append(("probability", proba.T))
            if proba.shape[1] == 2:
                with np.errstate(divide="ignore"):
                    logit = np.log(proba[:, 1]) - np.log(proba[:, 0])
                candidates.append(("log_odds", np.stack([-logit, logit])))
    elif not classification and values.ndim == 2:
        preds = get("eval_y_predicted")
        preds = None if preds is None else np.asarray(preds, dtype=float).reshape(-1)
        if preds is not None and preds.shape == values.shape[:1]:
            candidates.append(("prediction", preds))
    for unit, out in candidates:
        if np.isfinite(out).all() and np.allclose(total, out, rtol=1e-6, atol=1e-6):
            return unit, out
    if candidates and candidates[0][1].shape[0] > 2 and (candidates[0][1] > 0).all():
        shift = total - np.log(candidates[0][1])  # softmax logits: log p + a constant per row
        if np.allclose(shift, shift[:1], rtol=1e-6, atol=1e-6):
            return "log_odds", None
    return None, None


def _ic_default_output(method: str, classification: bool) -> str:
    """The unit an interpret-community method explains when the file cannot prove it."""
    if not classification:
        return "prediction"
    return "probability" if method == "shap_kernel" else "unknown"


def _read_interpret_community(path: Path) -> LocalExplanation | GlobalExplanation:
    """Read a directory written by interpret-community's ``save_explanation``.

    Every explainer interpret-community writes is read (linear, tree, kernel, mimic,
    permutation importance; binary, multiclass, regression; raw and engineered; local,
    global with local, global only). Mapping: ``local_importance_values`` -> local values
    (class-major, densified when sparse); ``expected_values`` (the linear explainer's
    binary files hold one value for two classes: see :func:`_ic_expected`); ``features``;
    ``classes``; ``global_importance_values`` and ``per_class_values`` (in feature order,
    or, after an upload with ``top_k``, ranked and named by ``global_importance_names``);
    ``eval_data`` -> ``data`` (a DataFrame when it holds text). ``space`` is "raw" when
    ``is_raw`` else "engineered". interpret-community records no unit: ``output`` is the
    one the stored model outputs prove (:func:`_ic_outputs`, which then also sets
    ``predictions``), else "prediction" for regressors, "probability" for the kernel
    explainer of a classifier, and "unknown" otherwise. The original id, task, model
    class and flags go to ``meta["interpret_community"]``.
    """
    meta_file = path / IC_METADATA_FILE
    md = _read_json(meta_file)
    if not isinstance(md, dict) or "global" not in md or "local" not in md:
        raise ExplanationFormatError(
            f"{meta_file} lacks the 'global'/'local' flags of interpret-community's layout."
        )
    props = {
        p.stem: child(path, p.name, "property file", path, ExplanationFormatError)
        for p in path.glob("*.json")
        if p.name != IC_METADATA_FILE
    }

    def get(name: str) -> Any:
        return _ic_value(props[name]) if name in props else None

    classification = md.get("model_type") == "classification"
    features = get("features")
    classes = get("classes")
    classes = None if classes is None else np.asarray(classes).tolist()
    expected = get("expected_values")
    method = str(md.get("method") or "unknown")
    space = "raw" if md.get("is_raw") else "engineered"
    meta = {
        "interpret_community": {
            k: md.get(k)
            for k in ("explanation_id", "model_task", "model_class", "serialization_version",
                      "is_raw", "is_engineered")
        }
    }  # fmt: skip
    output = _ic_default_output(method, classification)
    common = {"method": method, "space": space, "meta": meta}
    local = None
    if md["local"]:
        values = np.asarray(get("local_importance_values"), dtype=float)
        if values.ndim == 3 and values.shape[0] == 1 and not classification:
            values = values[0]  # one output stored class-major
        if features is None:
            features = list(range(values.shape[-1]))
        expected = _ic_expected(expected, values, props.get("expected_values", meta_file))
        with reading(path, ExplanationFormatError):
            data = _ic_frame(get("eval_data"), list(features), values.shape[-2])
        unit, preds = _ic_outputs(values, expected, get, classification)
        output = unit or output
        local = LocalExplanation(
            values, expected, list(features), classes=classes if values.ndim == 3 else None,
            data=data, predictions=preds, output=output, **common,
        )  # fmt: skip
    if not md["global"]:
        if local is None:
            raise ExplanationFormatError(
                f"{meta_file} marks the explanation neither global nor local."
            )
        return local
    glob_values = get("global_importance_values")
    if glob_values is None and local is not None:
        return GlobalExplanation.from_local(local)
    glob_values = np.asarray(glob_values, dtype=float)
    names = get("global_importance_names")
    per_class = get("per_class_values")
    if features is not None and len(features) == glob_values.size:
        glob_features = list(features)
    elif names is not None and len(names) == glob_values.size:
        glob_features, per_class, local = list(names), None, None  # top_k upload: ranked subset
    else:
        raise ExplanationFormatError(
            f"{path}: global_importance_values has {glob_values.size} entries but neither "
            "features nor global_importance_names has that many."
        )
    if per_class is not None and np.asarray(per_class).shape[-1] != len(glob_features):
        per_class = None
    n_rows = None if local is not None else (md.get("num_examples") or None)
    if local is not None:
        expected = local.expected_values
    elif expected is not None:
        expected = np.asarray(expected, dtype=float).reshape(-1)
        n_out = None if per_class is None else np.asarray(per_class).shape[0]
        if n_out == 2 and expected.size == 1:  # the linear explainer's binary layout
            expected = np.array([-expected[0], expected[0]])
        elif n_out is None and expected.size == 1:
            expected = float(expected[0])
    return GlobalExplanation(
        glob_values, glob_features, classes=classes, per_class_values=per_class,
        expected_values=expected, local=local, n_rows=n_rows, output=output, **common,
    )  # fmt: skip
