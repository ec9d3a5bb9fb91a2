"""Upload, list and download the explanations of a run: a local folder or MLflow tracking.

:class:`ExplanationClient` mirrors the Azure ML ``ExplanationClient`` of the interpretability
how-to with open parts::

    client = ExplanationClient.from_run(mlflow.active_run())      # or ExplanationClient.local(dir)
    client.upload_model_explanation(global_exp, top_k=10, comment="lgbm, raw")
    ...
    client = ExplanationClient.from_run_id(run_id, tracking_uri=uri)  # on any machine
    exp = client.download_model_explanation(top_k=4)
    exp.get_ranked_global_names()

Backends
--------
local folder (default, nothing to start)
    ``<path>/<explanation_id>/`` per explanation: the saved explanation (see
    ``docs/store.md``) plus ``entry.json``, its index entry. An upload is written to a
    temporary directory and renamed into place, so concurrent uploads never collide and a
    listing sees only complete explanations. The temporary directory is a hidden
    ``.upload-<explanation_id>-<random>`` folder whose writer holds an ``fcntl.flock`` on its
    ``.lock`` file until the folder is removed; one left by a crash (``SIGKILL``, power loss)
    is removed by the next upload once its lock is free and it is older than an hour
    (``_fileio.STALE_AFTER_SECONDS``); other hidden entries of the folder are never touched.
MLflow (the ``mlflow`` extra: ``pip install -e ".[mlflow]"`` in a checkout)
    Run artifacts ``explanations/<explanation_id>/`` (the same files), and the index as one
    run tag per explanation, ``explainable_pipeline.explanation.<explanation_id>``, set after
    the artifacts are logged. Tags are independent keys, so concurrent uploads to one run
    lose nothing; listing is one ``get_run`` call.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ._explanation import GlobalExplanation, LocalExplanation
from ._explanation_io import ExplanationFormatError, load_explanation, save_explanation
from ._fileio import (
    atomic_write_text,
    child,
    create_locked,
    fsync_dir,
    loads_json,
    read_json,
    safe_name,
    sweep_dead,
)

__all__ = [
    "ExplanationClient",
    "ExplanationFormatError",
    "ExplanationNotFoundError",
]

ENTRY_FILE = "entry.json"
ARTIFACT_DIR = "explanations"
TAG_PREFIX = "explainable_pipeline.explanation."
_MAX_TAG_CHARS = 5000  # below MLflow's tag value limit on every backend
_MAX_ENTRY_BYTES = 1 << 20  # index entries are a few hundred bytes
# the temporary folders of uploads: ".upload-<entry id>-" and mkdtemp's 8 random characters
_UPLOAD_RE = re.compile(r"\.upload-[0-9a-f]{16}-[a-z0-9_]{8}")
_UPLOAD_LOCK = ".lock"


class ExplanationNotFoundError(LookupError):
    """No stored explanation matches the id or the filters given."""


# --------------------------------------------------------------------------- top_k
def _check_top_k(top_k: Any) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be None or a positive int; got {top_k!r}.")
    return int(top_k)


def keep_top_k(
    explanation: LocalExplanation | GlobalExplanation, top_k: int | None
) -> LocalExplanation | GlobalExplanation:
    """Keep only the ``top_k`` globally most important features (ranking rule of the library).

    Every part is restricted to the same features: global values, per-class values,
    intervals, std and, per row, the local values. Rows therefore keep k features each (the
    same k for every row, so rows stay comparable); features stay in their original order.
    ``meta["top_k"]`` and ``meta["n_features_total"]`` record the cut. Stored predictions are
    kept, so local values no longer add up to them.
    """
    k = _check_top_k(top_k)
    if k is None or k >= explanation.num_features:
        return explanation
    keep = set(explanation.get_ranked_global_names(top_k=k))
    idx = [i for i, f in enumerate(explanation.features) if f in keep]
    names = [explanation.features[i] for i in idx]
    meta = {
        **explanation.meta,
        "top_k": k,
        "n_features_total": int(explanation.meta.get("n_features_total", explanation.num_features)),
    }
    if isinstance(explanation, LocalExplanation):
        local = explanation.select(features=names)
        local.meta = meta
        return local
    local = explanation.local
    if local is not None:
        local = local.select(features=names)
        local.meta = meta
    pc = explanation.per_class_values
    return GlobalExplanation(
        explanation.values[idx], names, classes=explanation.classes,
        per_class_values=None if pc is None else pc[:, idx], method=explanation.method,
        space=explanation.space, output=explanation.output,
        expected_values=explanation.expected_values, local=local,
        intervals=None if explanation.intervals is None else explanation.intervals[:, idx],
        std=None if explanation.std is None else explanation.std[idx],
        fidelity=explanation.fidelity, n_rows=explanation.n_rows, meta=meta,
    )  # fmt: skip


def _entry(explanation: LocalExplanation | GlobalExplanation, comment: Any, top_k: Any) -> dict:
    from . import __version__

    if comment is not None and not isinstance(comment, str):
        raise TypeError(f"comment must be None or a str; got {type(comment).__name__}.")
    return {
        "id": secrets.token_hex(8),
        "comment": comment,
        "method": explanation.method,
        "kind": "global" if isinstance(explanation, GlobalExplanation) else "local",
        "space": explanation.space,
        "raw": explanation.is_raw,
        "engineered": explanation.is_engineered,
        "num_features": explanation.num_features,
        "classes": explanation.classes,
        "top_k": top_k,
        "time": datetime.now(timezone.utc).isoformat(),
        "library_version": __version__,
    }


def _check_entry(entry: Any, where: str, expected_id: str | None = None) -> dict:
    """An index entry read from storage: a dict whose ``id`` is a plain name (and, when the
    entry sits in a folder or tag of its own, that folder's or tag's name)."""
    if not isinstance(entry, dict):
        raise ExplanationFormatError(f"{where} is not an index entry (a JSON object).")
    safe_name(entry.get("id"), "explanation id", where, ExplanationFormatError)
    if expected_id is not None and entry["id"] != expected_id:
        raise ExplanationFormatError(
            f"{where} claims id {entry['id']!r} but is stored under {expected_id!r}; the store "
            "may have been tampered with."
        )
    for key in ("time", "comment"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ExplanationFormatError(f"{where} has a non-string {key!r}: {entry[key]!r}.")
    return entry


def _matches(entry: dict, comment: Any, raw: Any, engineered: Any) -> bool:
    return (
        (comment is None or entry.get("comment") == comment)
        and (raw is None or bool(entry.get("raw")) == bool(raw))
        and (engineered is None or bool(entry.get("engineered")) == bool(engineered))
    )


# --------------------------------------------------------------------------- backends
class _LocalBackend:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"local folder {str(self.path)!r}"

    def put(self, entry: dict, explanation: Any) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        sweep_dead(self.path, _UPLOAD_RE, lock_name=_UPLOAD_LOCK)  # folders of killed uploads
        # a hidden folder named here (_UPLOAD_RE); only such folders are ever removed
        tmp = Path(tempfile.mkdtemp(prefix=f".upload-{entry['id']}-", dir=self.path))
        lock = None
        try:
            lock = create_locked(tmp / _UPLOAD_LOCK)  # held until the folder is removed
            save_explanation(explanation, tmp / "explanation")
            atomic_write_text(tmp / "explanation" / ENTRY_FILE, json.dumps(entry))
            os.rename(tmp / "explanation", self.path / entry["id"])  # fails if the id exists
            fsync_dir(self.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if lock is not None:
                os.close(lock)

    def entries(self) -> list[dict]:
        if not self.path.is_dir():
            return []
        out = []
        for d in self.path.iterdir():
            file = d / ENTRY_FILE
            if d.name.startswith(".") or not file.is_file():
                continue
            child(self.path, d.name, "explanation folder", self.path, ExplanationFormatError)
            entry = read_json(file, ExplanationFormatError, max_bytes=_MAX_ENTRY_BYTES)
            out.append(_check_entry(entry, str(file), expected_id=d.name))
        return out

    def get(self, explanation_id: str) -> Any:
        folder = child(self.path, explanation_id, "explanation id", self.path,
                       ExplanationFormatError)  # fmt: skip
        return load_explanation(folder)


class _MlflowBackend:
    def __init__(self, run_id: str, tracking_uri: str | None) -> None:
        from ._optional import import_optional

        (tracking,) = import_optional("mlflow.tracking", extra="mlflow",
                                      what="The MLflow backend")  # fmt: skip
        MlflowClient = tracking.MlflowClient  # noqa: N806 - the class
        self.run_id = run_id
        self.client = MlflowClient(tracking_uri=tracking_uri)

    def __repr__(self) -> str:
        return f"MLflow run {self.run_id!r} at {self.client.tracking_uri!r}"

    def put(self, entry: dict, explanation: Any) -> None:
        tag = json.dumps(entry)
        if len(tag) > _MAX_TAG_CHARS:
            raise ValueError(
                f"The index entry is {len(tag)} characters, over MLflow's tag limit "
                f"({_MAX_TAG_CHARS}); shorten the comment."
            )
        with tempfile.TemporaryDirectory() as tmp:
            folder = save_explanation(explanation, Path(tmp) / entry["id"])
            (folder / ENTRY_FILE).write_text(json.dumps(entry), encoding="utf-8")
            self.client.log_artifacts(self.run_id, str(folder), f"{ARTIFACT_DIR}/{entry['id']}")
        self.client.set_tag(self.run_id, TAG_PREFIX + entry["id"], tag)  # publish last

    def entries(self) -> list[dict]:
        tags = self.client.get_run(self.run_id).data.tags
        out = []
        for key, value in tags.items():
            if key.startswith(TAG_PREFIX):
                where = f"Run {self.run_id} tag {key!r}"
                entry = loads_json(value, where, ExplanationFormatError)
                out.append(_check_entry(entry, where, expected_id=key[len(TAG_PREFIX) :]))
        return out

    def get(self, explanation_id: str) -> Any:
        safe_name(explanation_id, "explanation id", f"Run {self.run_id}", ExplanationFormatError)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(self.client.download_artifacts(
                self.run_id, f"{ARTIFACT_DIR}/{explanation_id}", tmp
            ))  # fmt: skip
            if Path(tmp).resolve() not in local.resolve().parents:
                raise ExplanationFormatError(
                    f"Run {self.run_id}: the artifacts of {explanation_id!r} were downloaded to "
                    f"{local}, outside the temporary folder {tmp}."
                )
            return load_explanation(local)


# --------------------------------------------------------------------------- client
class ExplanationClient:
    """Upload, list and download explanations of one run.

    Parameters
    ----------
    path : str or path-like, optional
        Folder of the embedded local store (created on first upload). Defaults to the
        ``EXPLAINABLE_PIPELINE_STORE`` environment variable, else ``./explanations``.

    See Also
    --------
    ExplanationClient.local, ExplanationClient.from_run, ExplanationClient.from_run_id

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from explainable_pipeline import LocalExplanation, GlobalExplanation
    >>> local = LocalExplanation(np.array([[1.0, -2.0, 0.1], [0.5, 0.25, 0.0]]), 3.0,
    ...                          ["a", "b", "c"], method="linear", space="raw", output="prediction")
    >>> client = ExplanationClient.local(tempfile.mkdtemp())
    >>> _ = client.upload_model_explanation(GlobalExplanation.from_local(local), top_k=2,
    ...                                     comment="first")
    >>> [e["comment"] for e in client.list_model_explanations()]
    ['first']
    >>> client.download_model_explanation().get_ranked_global_names()
    ['b', 'a']
    """

    def __init__(self, path: Any = None) -> None:
        if path is None:
            path = os.environ.get("EXPLAINABLE_PIPELINE_STORE", "explanations")
        self._backend: Any = _LocalBackend(Path(path))

    @classmethod
    def local(cls, path: Any) -> ExplanationClient:
        """A client on the local folder ``path`` (nothing to start)."""
        return cls(path)

    @classmethod
    def from_run_id(cls, run_id: str, tracking_uri: str | None = None) -> ExplanationClient:
        """A client on the MLflow run ``run_id`` (``tracking_uri`` defaults to MLflow's)."""
        if not isinstance(run_id, str) or not run_id:
            raise TypeError(f"run_id must be a non-empty str; got {run_id!r}.")
        self = cls.__new__(cls)
        self._backend = _MlflowBackend(run_id, tracking_uri)
        return self

    @classmethod
    def from_run(cls, run: Any, tracking_uri: str | None = None) -> ExplanationClient:
        """A client on an MLflow run object (``mlflow.active_run()``, ``mlflow.start_run()``,
        ``MlflowClient().get_run(...)``); any object with ``.info.run_id`` works."""
        run_id = getattr(getattr(run, "info", None), "run_id", None)
        if run_id is None:
            raise TypeError(
                f"from_run expects an MLflow run (with .info.run_id); got {type(run).__name__}. "
                "Use from_run_id(run_id) with an id."
            )
        return cls.from_run_id(run_id, tracking_uri)

    def __repr__(self) -> str:
        return f"ExplanationClient({self._backend!r})"

    def upload_model_explanation(
        self,
        explanation: LocalExplanation | GlobalExplanation,
        top_k: int | None = None,
        comment: str | None = None,
    ) -> str:
        """Store an explanation; return its id.

        Parameters
        ----------
        explanation : LocalExplanation or GlobalExplanation
        top_k : int, optional
            Keep only the k globally most important features, in every part (global,
            per class, and each row of the local values).
        comment : str, optional
            Free text to find the explanation again (``comment=`` filters).
        """
        if not isinstance(explanation, (LocalExplanation, GlobalExplanation)):
            raise TypeError(
                "upload_model_explanation expects a LocalExplanation or GlobalExplanation; "
                f"got {type(explanation).__name__}."
            )
        explanation = keep_top_k(explanation, top_k)
        entry = _entry(explanation, comment, _check_top_k(top_k))
        self._backend.put(entry, explanation)
        return entry["id"]

    def list_model_explanations(
        self, comment: str | None = None, raw: bool | None = None, engineered: bool | None = None
    ) -> list[dict]:
        """Index entries, oldest first: dicts with ``id``, ``comment``, ``method``, ``time``
        (ISO 8601, UTC), ``kind``, ``space``, ``raw``, ``engineered``, ``num_features``,
        ``classes``, ``top_k``. Filters keep entries with that exact comment / space."""
        entries = [e for e in self._backend.entries() if _matches(e, comment, raw, engineered)]
        return sorted(entries, key=lambda e: (e.get("time", ""), e.get("id", "")))

    def download_model_explanation(
        self,
        explanation_id: str | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
    ) -> LocalExplanation | GlobalExplanation:
        """Fetch an explanation: by id, else the most recent one matching the filters.

        ``top_k`` keeps the k most important features as on upload.

        Raises
        ------
        ExplanationNotFoundError
            When no explanation has that id or matches the filters.
        ExplanationFormatError
            When the stored files are corrupt (the message names the file).
        """
        top_k = _check_top_k(top_k)
        entries = self.list_model_explanations(comment=comment, raw=raw, engineered=engineered)
        if explanation_id is None:
            if not entries:
                raise ExplanationNotFoundError(
                    f"No explanation in {self._backend!r} matches comment={comment!r}, "
                    f"raw={raw!r}, engineered={engineered!r}; see list_model_explanations()."
                )
            explanation_id = entries[-1]["id"]
        elif explanation_id not in {e["id"] for e in entries}:
            known = [e["id"] for e in self._backend.entries()]
            raise ExplanationNotFoundError(
                f"No explanation with id {explanation_id!r} (and the filters given) in "
                f"{self._backend!r}; known ids: {known}."
            )
        return keep_top_k(self._backend.get(explanation_id), top_k)
