"""Save and load fitted :class:`~explainable_pipeline.ExplainablePipeline` objects.

Two formats:

``"joblib"`` (default)
    A pickle of a small envelope ``{"format", "format_version", "metadata", "model"}``.
    Fast and exact, but loading a pickle runs code: load only files you trust.
``"skops"``
    A :mod:`skops.io` zip file. Loading it builds only types on a trusted list (numpy,
    scipy, scikit-learn and Python builtins by default) and refuses anything else unless
    the caller names it in ``trusted=``. The explainer's own fitted state is stored as plain
    lists, dicts, strings and numpy arrays (background DataFrames and the feature map are
    encoded, then rebuilt at load), so the only types a user may have to trust are those of
    their own model and preprocessor, e.g. ``lightgbm.basic.Booster`` and
    ``lightgbm.sklearn.LGBMClassifier`` for a LightGBM pipeline.

Both formats record the versions of explainable-pipeline, scikit-learn, numpy, pandas, Python
and of the libraries the model comes from (e.g. lightgbm). :func:`load` warns with a
:class:`VersionMismatchWarning` when explainable-pipeline, scikit-learn or a model library
differs from the running one. :func:`read_metadata` reads that record without loading the
model (for skops files, without unpickling anything).

File format rules (``FORMAT_VERSION = 1``): the envelope keys above never change meaning; new
optional metadata keys may be added without a version bump; a change that an older reader
would misread bumps the version, and older readers refuse newer files with a clear error.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import platform
import sys
import warnings
import zipfile
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._codec import _dec_data, _enc_data
from ._feature_map import FeatureMap
from ._fileio import atomic_write, atomic_write_bytes, check_npy_members, loads_json, reading
from ._optional import import_optional
from ._pickle_header import envelope_items
from ._pipeline import ExplainablePipeline
from ._rows import _without_arrow

__all__ = [
    "FORMAT_VERSION",
    "ModelFileError",
    "UnsafeModelFileError",
    "UntrustedTypesError",
    "VersionMismatchWarning",
    "get_untrusted_types",
    "load",
    "read_metadata",
    "save",
]

#: Version of the saved envelope layout (see the module docstring for the rules).
FORMAT_VERSION = 1
_FORMAT_NAME = "explainable-pipeline"
_FORMATS = ("joblib", "skops")
#: Zip member of a skops file holding the metadata as JSON (readable without loading).
_SKOPS_METADATA_MEMBER = "explainable_pipeline_metadata.json"
#: Marker key of encoded values in the skops state.
_TAG = "__explainable_pipeline_type__"
#: Libraries whose version difference triggers a warning at load (plus the model libraries).
_CHECKED = ("explainable-pipeline", "scikit-learn")
_DIST_NAMES = {"sklearn": "scikit-learn", "explainable_pipeline": "explainable-pipeline"}


class ModelFileError(ValueError):
    """A model file cannot be loaded: truncated, corrupt, not written by :func:`save`, of a newer
    ``format_version``, or refused by safe loading. The message names the file and the problem;
    ``path`` is the file."""

    def __init__(self, path: str | os.PathLike | None, message: str | None = None):
        if message is None:  # ModelFileError(message), as the shared file helpers raise it
            path, message = None, str(path)
        self.path = None if path is None else str(path)
        super().__init__(message)


class UnsafeModelFileError(ModelFileError):
    """Safe loading (``trusted=``, a ``.skops`` suffix, ``allow_pickle=False``, the CLI's
    ``--safe-only``) met a file that is not a skops zip. Nothing in it was unpickled."""


class UntrustedTypesError(ModelFileError, TypeError):
    """A skops file holds types outside the trusted list; ``types`` lists them.

    Inspect the types, then pass the ones you trust to
    ``load(path, trusted=[...])``.
    """

    def __init__(self, path: str | os.PathLike, types: list[str]):
        self.types = list(types)
        super().__init__(
            path,
            f"{path} holds types that are not trusted by default: {self.types}. If you "
            f"trust the file's origin and these types, load it with "
            f"load({str(path)!r}, trusted={self.types!r}).",
        )


class VersionMismatchWarning(UserWarning):
    """The file was saved under library versions different from the running ones."""


# --------------------------------------------------------------------------- versions
def _version(module_name: str) -> str | None:
    dist = _DIST_NAMES.get(module_name, module_name)
    try:
        return _importlib_metadata.version(dist)
    except _importlib_metadata.PackageNotFoundError:
        module = sys.modules.get(module_name)
        return getattr(module, "__version__", None)


def _model_libraries(ep: ExplainablePipeline) -> list[str]:
    """Top-level modules (other than scikit-learn's) of the fitted parts and their sub-estimators."""
    roots = set()
    for part in (getattr(ep, "preprocessor_", None), getattr(ep, "estimator_", None)):
        if part is None:
            continue
        objs = [part]
        if hasattr(part, "get_params"):
            objs += [v for v in part.get_params(deep=True).values() if hasattr(v, "fit")]
        for obj in objs:
            root = type(obj).__module__.split(".")[0]
            if root not in {"sklearn", "builtins", "explainable_pipeline"}:
                roots.add(root)
    return sorted(roots)


def current_versions(libraries: list[str] | tuple[str, ...] = ()) -> dict[str, str | None]:
    """Versions of the running libraries, keyed by distribution name.

    Parameters
    ----------
    libraries : sequence of str, default=()
        Extra top-level module names to report (e.g. ``"lightgbm"``).

    Returns
    -------
    dict of str to str or None
    """
    names = ["explainable_pipeline", "sklearn", "numpy", "pandas", "scipy", *libraries]
    out = {_DIST_NAMES.get(n, n): _version(n) for n in names}
    out["python"] = platform.python_version()
    return out


def _metadata(ep: ExplainablePipeline, fmt: str) -> dict[str, Any]:
    libraries = _model_libraries(ep)
    est = ep.estimator_
    classes = ep._class_list()
    return {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "serialization": fmt,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": current_versions(libraries),
        "model_libraries": libraries,
        "estimator": f"{type(est).__module__}.{type(est).__qualname__}",
        "explainer": ep.explainer_,
        "n_features_in": int(ep.n_features_in_),
        "feature_names": [str(c) for c in ep._raw_feature_names()],
        "classes": None if classes is None else [_plain_scalar(c) for c in classes],
    }


def _plain_scalar(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _check_versions(meta: dict, path: str) -> None:
    saved = meta.get("versions") or {}
    names = list(_CHECKED) + list(meta.get("model_libraries") or [])
    now = current_versions(meta.get("model_libraries") or [])
    diffs = [
        f"{n} {saved.get(n)} (now {now.get(n)})"
        for n in names
        if n in saved and saved.get(n) != now.get(n)
    ]
    if diffs:
        warnings.warn(
            f"{path} was saved with {', '.join(diffs)}. Predictions and explanations may "
            "differ or fail under other versions: install the saved versions, or re-fit and "
            "save the model again under the current ones.",
            VersionMismatchWarning,
            stacklevel=3,
        )


def _check_envelope(obj: Any, path: str) -> dict:
    if not (isinstance(obj, dict) and obj.get("format") == _FORMAT_NAME):
        raise ModelFileError(
            path,
            f"{path} is not an explainable-pipeline file (no envelope found); save models with "
            "explainable_pipeline.save(ep, path).",
        )
    version = obj.get("format_version")
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not 1 <= version <= FORMAT_VERSION
    ):
        raise ModelFileError(
            path,
            f"{path} has file format_version {version!r}; this explainable-pipeline reads "
            f"1..{FORMAT_VERSION}. Upgrade explainable-pipeline to load it.",
        )
    return obj


# --------------------------------------------------------------------------- plain state
def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot store {type(x).__name__} in the explainer state")


def _encode(value: Any) -> Any:
    """Replace DataFrames, Series and FeatureMaps by JSON strings (compact and trusted)."""
    if isinstance(value, FeatureMap):
        dep = value.dependency.tocoo()
        plain = {
            "raw_features": list(value.raw_features),
            "engineered_features": list(value.engineered_features),
            "dependency": [dep.row.tolist(), dep.col.tolist(), list(dep.shape)],
            "mixed": list(value.mixed_),
            "transformer_paths": [str(p) for p in value.transformer_paths],
        }
        return {_TAG: "feature_map", "json": json.dumps(plain, default=_json_default)}
    if isinstance(value, pd.DataFrame):
        return {_TAG: "dataframe", "json": json.dumps(_enc_data(value))}
    if isinstance(value, pd.Series):
        frame = value.to_frame(name=0 if value.name is None else value.name)
        return {
            _TAG: "series",
            "json": json.dumps(_enc_data(frame)),
            "named": value.name is not None,
        }
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_encode(v) for v in value)
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        tag = value.get(_TAG)
        if tag == "feature_map":
            import scipy.sparse as sp

            plain = json.loads(value["json"])
            rows, cols, shape = plain["dependency"]
            dep = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=tuple(shape))
            return FeatureMap(
                plain["raw_features"],
                plain["engineered_features"],
                dep,
                mixed=plain["mixed"],
                transformer_paths=plain["transformer_paths"],
            )
        if tag == "dataframe":  # as fit keeps it: no Arrow storage (a re-save needs no pyarrow)
            return _without_arrow(_dec_data(json.loads(value["json"])))
        if tag == "series":
            series = _dec_data(json.loads(value["json"])).iloc[:, 0]
            return series if value["named"] else series.rename(None)
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decode(v) for v in value)
    return value


# --------------------------------------------------------------------------- skops
def _skops():
    (sio,) = import_optional("skops.io", extra="serve", what="The 'skops' format")
    return sio


_ZIP_MAGIC = b"PK\x03\x04"
#: The skops zip member every skops file has.
_SKOPS_SCHEMA_MEMBER = "schema.json"
#: Bytes of a joblib file scanned for its metadata (the metadata precedes the model).
_HEADER_BYTES = 16 << 20
_SAFE_ONLY = (
    "safe loading (trusted=, a .skops name, allow_pickle=False or --safe-only) accepts skops "
    "zip files only"
)


def _open_model(path: Path):
    """Open ``path`` for reading once (no check-then-open race), refusing what is not a file."""
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    return open(path, "rb")


def _skops_zip(data: bytes, path: Path) -> zipfile.ZipFile:
    """``data`` as a skops zip whose array members declare sizes they store, else an error."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(path, f"{path} is a damaged zip file ({exc}).") from exc
    if _SKOPS_SCHEMA_MEMBER not in names:
        raise ModelFileError(path, f"{path} is a zip file but not a skops file (no schema.json).")
    with reading(path, ModelFileError):
        check_npy_members(zf, path, ModelFileError)
    return zf


def _skops_metadata(zf: zipfile.ZipFile, path: Path) -> dict:
    if _SKOPS_METADATA_MEMBER not in zf.namelist():
        raise ModelFileError(path, f"{path} is a zip file without explainable-pipeline metadata.")
    with reading(path, ModelFileError):
        info = zf.getinfo(_SKOPS_METADATA_MEMBER)
        if info.file_size > _HEADER_BYTES:
            raise ModelFileError(path, f"{path}: the metadata member is {info.file_size} bytes.")
        meta = loads_json(zf.read(info), f"{path} ({_SKOPS_METADATA_MEMBER})", ModelFileError)
    return _check_metadata(meta, path)


def _joblib_metadata(head: bytes, path: Path) -> dict:
    """The metadata of a joblib file from its first bytes, without unpickling (any version)."""
    try:
        items = envelope_items(head)
    except ValueError as exc:
        raise ModelFileError(
            path,
            f"{path} is not an explainable-pipeline file (no envelope found); save models with "
            "explainable_pipeline.save(ep, path).",
        ) from exc
    _check_envelope(items, str(path))
    if "metadata" not in items:
        raise ModelFileError(path, f"{path} has no readable metadata (truncated or damaged).")
    return _check_metadata(items["metadata"], path)


def _check_metadata(meta: Any, path: Path) -> dict:
    """Plain JSON data (a dict), copied; anything else is a damaged file."""
    if not isinstance(meta, dict):
        raise ModelFileError(path, f"{path}: the metadata is not a JSON object.")
    with reading(path, ModelFileError):
        return json.loads(json.dumps(meta))


def get_untrusted_types(path: str | os.PathLike) -> list[str]:
    """Types in a skops file that loading would refuse without ``trusted=``.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save(ep, path, format="skops")``.

    Returns
    -------
    list of str
        Fully qualified type names, e.g. ``["lightgbm.basic.Booster"]``; empty when the
        file loads with the default trust.

    Raises
    ------
    UnsafeModelFileError
        The file is not a skops zip (nothing is unpickled).
    """
    path = Path(path)
    with _open_model(path) as f:
        data = f.read()
    if data[:4] != _ZIP_MAGIC:
        raise UnsafeModelFileError(
            path, f"{path} is not a skops file; untrusted types apply to skops files only."
        )
    _skops_zip(data, path)
    with reading(path, ModelFileError):
        return list(_skops().get_untrusted_types(data=data))


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The version and model record of a saved file, without building the model.

    Nothing is ever unpickled or imported, whatever the file holds: skops files keep the
    record in a JSON zip member; joblib files (of every version) keep it before the model,
    where it is read as plain data by walking the pickle opcodes without executing them.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
        ``format_version``, ``serialization``, ``created``, ``versions`` (library ->
        version), ``model_libraries``, ``estimator``, ``explainer``, ``feature_names``,
        ``classes``.

    Raises
    ------
    ModelFileError
        The file is damaged or not an explainable-pipeline file.
    """
    path = Path(path)
    with _open_model(path) as f:
        head = f.read(_HEADER_BYTES)
        if head[:4] == _ZIP_MAGIC:
            return _skops_metadata(_skops_zip(head + f.read(), path), path)
    return _joblib_metadata(head, path)


# --------------------------------------------------------------------------- public API
def save(ep: ExplainablePipeline, path: str | os.PathLike, format: str = "joblib") -> Path:
    """Save a fitted ExplainablePipeline with a record of the library versions.

    The write is atomic: the file is written under a temporary name in the same folder,
    fsynced and renamed over ``path``, so a crash (even ``kill -9``) leaves the previous file
    or none, never a truncated one, and readers never see a partial file.

    Parameters
    ----------
    ep : ExplainablePipeline
        A fitted pipeline. Its explainer state is a background summary (at most a few
        hundred rows), never the training set.
    path : str or path-like
        Destination file (overwritten).
    format : {"joblib", "skops"}, default="joblib"
        ``"joblib"`` pickles (fast; loading runs code, so load trusted files only);
        ``"skops"`` writes a :mod:`skops.io` file whose loading refuses untrusted types.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from explainable_pipeline import ExplainablePipeline, load, save
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> ep = ExplainablePipeline(None, Ridge()).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skops")
    >>> _ = save(ep, path, format="skops")
    >>> bool((load(path).predict(X[:5]) == ep.predict(X[:5])).all())
    True
    """
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(ep, ExplainablePipeline):
        raise TypeError(
            f"save expects a fitted ExplainablePipeline; got {type(ep).__name__}. Wrap the "
            "model: ExplainablePipeline(preprocessor, estimator).fit(X, y)."
        )
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}; got {format!r}.")
    check_is_fitted(ep)
    path = Path(path)
    meta = _metadata(ep, format)
    if format == "joblib":
        import joblib

        envelope = {  # key order matters: read_metadata reads what precedes "model"
            "format": _FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "metadata": meta,
            "model": ep,
        }
        with atomic_write(path) as f:
            joblib.dump(envelope, f)
        return path
    sio = _skops()
    state = _encode(ep.__getstate__())
    envelope = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "metadata": meta,
        "class": f"{type(ep).__module__}.{type(ep).__qualname__}",
        "state": state,
    }
    buffer = io.BytesIO(sio.dumps(envelope, compression=zipfile.ZIP_DEFLATED))
    meta["untrusted_types"] = list(sio.get_untrusted_types(data=buffer.getvalue()))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_SKOPS_METADATA_MEMBER, json.dumps(meta, indent=1))
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _safe_only(path: Path, trusted: Any, allow_pickle: Any) -> bool:
    """Whether only skops files may load (see :func:`load`)."""
    if allow_pickle is not None and not isinstance(allow_pickle, bool):
        raise TypeError(f"allow_pickle must be None or a bool; got {allow_pickle!r}.")
    if trusted is not None and (
        isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted)
    ):
        raise TypeError(
            f"trusted must be a list of type names such as ['lightgbm.basic.Booster']; "
            f"got {trusted!r}."
        )
    if allow_pickle and trusted is not None:
        raise ValueError(
            "trusted= asks for safe loading (skops files only); it cannot be combined with "
            "allow_pickle=True."
        )
    return trusted is not None or path.suffix.lower() == ".skops" or allow_pickle is False


def load(
    path: str | os.PathLike,
    trusted: list[str] | None = None,
    *,
    allow_pickle: bool | None = None,
) -> ExplainablePipeline:
    """Load a file written by :func:`save`; the format is detected from the file.

    Parameters
    ----------
    path : str or path-like
    trusted : list of str, default=None
        Types to trust beyond skops' defaults (see :func:`get_untrusted_types`). Passing it
        (even ``[]``) asks for **safe loading**: only a skops zip is accepted, and any other
        file is refused before a byte of it is unpickled.
    allow_pickle : bool, default=None
        Whether a joblib file (a pickle: loading it runs code) may be loaded. None means
        True, unless ``trusted`` is given or the file name ends in ``.skops``: both always
        mean safe loading. Pass False to insist on safe loading.

    Returns
    -------
    ExplainablePipeline

    Raises
    ------
    UnsafeModelFileError
        Safe loading was asked for and the file is not a skops zip (nothing was unpickled).
    UntrustedTypesError
        A skops file holds types neither trusted by default nor listed in ``trusted``.
    ModelFileError
        The file is truncated, damaged, not an explainable-pipeline file or has a newer
        format version (the message names the file and the problem). The two errors above
        are ModelFileErrors too.
    FileNotFoundError
        There is no file at ``path``.

    Warns
    -----
    VersionMismatchWarning
        explainable-pipeline, scikit-learn or the model's library differ from the versions
        the file was saved with.
    """
    path = Path(path)
    safe_only = _safe_only(path, trusted, allow_pickle)
    with _open_model(path) as f:
        head = f.read(4)
        if head == _ZIP_MAGIC:
            data = head + f.read()
        elif safe_only:
            raise UnsafeModelFileError(
                path,
                f"{path} is not a skops zip file (it looks like a pickle/joblib file) and "
                f"{_SAFE_ONLY}; it was refused without unpickling anything. Load it only if "
                "you trust its origin: load(path) with allow_pickle=True and no trusted=.",
            )
        else:
            f.seek(0)
            return _load_joblib(f, path)
    return _load_skops(data, path, list(trusted or []))


def _load_joblib(f, path: Path) -> ExplainablePipeline:
    import joblib

    with reading(path, ModelFileError):
        envelope = _check_envelope(joblib.load(f), str(path))
        metadata = envelope.get("metadata")
        model = envelope.get("model")
    if not isinstance(model, ExplainablePipeline):
        raise ModelFileError(
            path, f"{path} holds a {type(model).__name__}, not an ExplainablePipeline."
        )
    if isinstance(metadata, dict):
        _check_versions(metadata, str(path))
    return model


def _load_skops(data: bytes, path: Path, trusted: list[str]) -> ExplainablePipeline:
    sio = _skops()
    zf = _skops_zip(data, path)
    _check_envelope(_skops_metadata(zf, path), str(path))
    with reading(path, ModelFileError):
        found = sio.get_untrusted_types(data=data)
    untrusted = [t for t in found if t not in set(trusted)]
    if untrusted:
        raise UntrustedTypesError(path, untrusted)
    with reading(path, ModelFileError):
        envelope = _check_envelope(sio.loads(data, trusted=trusted), str(path))
        metadata = envelope.get("metadata")
        expected = f"{ExplainablePipeline.__module__}.{ExplainablePipeline.__qualname__}"
        if envelope.get("class") != expected:
            raise ModelFileError(path, f"{path} holds a {envelope.get('class')}, not {expected}.")
        ep = ExplainablePipeline.__new__(ExplainablePipeline)
        ep.__setstate__(_decode(envelope["state"]))
    if isinstance(metadata, dict):
        _check_versions(metadata, str(path))
    return ep
