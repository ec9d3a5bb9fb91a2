"""interpret-community's ``save_explanation`` folders, reproduced from its source for tests.

Read in interpret-community 0.32:

* ``explanation/serialization.py``: ``save_explanation`` writes one ``<property>.json`` per
  property it finds on the explanation, ``{"metadata": <kind>, "data": <value>}`` with kind
  ``"DataFrame"``, ``"DatasetWrapper"`` (``"DatasetWrapperSparse"``), ``"ndarray"``,
  ``"list"``, ``"sparse"`` (``[data, indices, indptr, shape]``, one such list per class for
  sparse local values) or ``"other"``, and ``explanation_metadata.json`` from
  ``_get_explanation_metadata`` (id, ``model_type`` classification/regression, method,
  ``model_class``, ``is_raw``/``is_engineered``, ``global``/``local``, counts,
  ``serialization_version`` 1);
* ``common/explanation_utils.py``: ``_fix_linear_explainer_shap_values`` stores a binary
  linear model's values as ``[-phi, phi]`` while ``expected_values`` keeps shap's single
  base value, so the file holds one expected value for two classes;
* global importance is the mean ``|local|`` per class (``per_class_values``), averaged over
  classes (``global_importance_values``), with ranks by descending value.

Which properties each explainer's explanation carries (and their kinds) is what
interpret-community 0.32 wrote in a scratch venv (``benchmarks/ic_layout.py`` compares this
module's folders with its real ones): raw local explanations carry features, classes, local
and expected values only; the others also the evaluation rows, predictions and
probabilities; global-only explanations lack the local values and (but the mimic
explainer's) the classes; permutation importance carries features, classes, global values and ranks
(and, for engineered data, the evaluation rows).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np

METHODS = {"linear": "shap_linear", "tree": "shap_tree", "kernel": "shap_kernel",
           "mimic": "mimic.lightgbm", "pfi": "pfi"}  # fmt: skip


def _sparse(matrix: np.ndarray) -> list:
    from scipy.sparse import csr_matrix

    m = csr_matrix(matrix)
    return [m.data.tolist(), m.indices.tolist(), m.indptr.tolist(), list(m.shape)]


def ic_layout(kind: str, task: str, *, local: np.ndarray, expected, features: list,
              classes: list | None = None, part: str = "global", raw: bool = True,
              eval_rows: list | None = None, predicted: list | None = None,
              proba: np.ndarray | None = None, init_rows: list | None = None,
              sparse_local: bool = False) -> tuple[dict, dict]:  # fmt: skip
    """The property files and metadata interpret-community writes for one explanation.

    ``local``: the values as the explainer stores them (class-major for classifiers; a
    binary linear model: ``[-phi, phi]``) and ``expected`` its expected values (a binary
    linear model: one value). ``part`` is "local" (``explain_local``), "global"
    (``explain_global``, local values included) or "globalonly" (``include_local=False``).
    For ``kind="pfi"`` ``local`` holds the global importances. Returns
    ``(properties, metadata)``: properties map a name to ``(kind, data)``.
    """
    clf = task != "regression"
    local = np.asarray(local, dtype=float)
    props: dict = {"features": ("list", list(features))}
    if kind == "pfi":
        if clf:
            props["classes"] = ("list", list(classes or []))
        props["global_importance_values"] = ("list", local.tolist())
        props["global_importance_rank"] = ("list", np.argsort(local)[::-1].tolist())
        if not raw:
            props["eval_data"] = ("DatasetWrapper", eval_rows)
        metadata = _metadata(kind, task, part="global", local=False, raw=raw,
                             n_classes=None if clf else 1, n_rows=0, n_features=len(features),
                             model_class="<class 'sklearn.ensemble._forest.RandomForest'>")  # fmt: skip
        return props, metadata
    if clf and (part != "globalonly" or kind == "mimic"):
        props["classes"] = ("list", list(classes or []))
    if part != "globalonly":
        props["local_importance_values"] = (
            ("sparse", [_sparse(v) for v in local] if local.ndim == 3 else _sparse(local))
            if sparse_local else ("list", local.tolist())
        )  # fmt: skip
    props["expected_values"] = ("list", np.atleast_1d(np.asarray(expected, float)).tolist())
    if part != "local" or not raw:
        props["eval_data"] = ("DatasetWrapper" if part == "local" and kind == "mimic" else "list",
                              eval_rows)  # fmt: skip
        props["eval_y_predicted"] = ("list", list(predicted))
        if clf:
            props["eval_y_predicted_proba"] = ("list", np.asarray(proba).tolist())
        if init_rows is not None:
            props["init_data"] = ("list" if kind == "linear" else "DatasetWrapper", init_rows)
    if part != "local":
        per_class = np.abs(local).mean(axis=-2)
        overall = per_class.mean(axis=0) if local.ndim == 3 else per_class
        props["global_importance_values"] = ("list", overall.tolist())
        props["global_importance_rank"] = ("list", np.argsort(overall)[::-1].tolist())
        if local.ndim == 3:
            props["per_class_values"] = ("list", per_class.tolist())
            props["per_class_rank"] = ("list", np.argsort(per_class, axis=1)[:, ::-1].tolist())
    n_rows = local.shape[-2] if part != "globalonly" else 0
    n_classes = (local.shape[0] if local.ndim == 3 else 2) if clf else 1
    model_class = None if part != "local" or raw else "<class 'sklearn.linear_model.Model'>"
    metadata = _metadata(kind, task, part=part, local=part != "globalonly", raw=raw,
                         n_classes=n_classes, n_rows=n_rows, n_features=len(features),
                         model_class=model_class, sparse=sparse_local)  # fmt: skip
    return props, metadata


def _metadata(kind: str, task: str, *, part: str, local: bool, raw: bool, n_classes, n_rows: int,
              n_features, model_class, sparse: bool = False) -> dict:  # fmt: skip
    clf = task != "regression"
    return {
        "explanation_id": str(uuid.uuid4()),
        "model_type": "classification" if clf else "regression",
        "data_type": "tabular",
        "model_task": "classification" if clf else "regression",
        "method": METHODS[kind],
        "model_class": model_class,
        "is_raw": raw,
        "is_engineered": False,
        "global": part != "local",
        "local": local,
        "num_classes": n_classes,
        "num_examples": n_rows,
        "num_features": n_features,
        "is_local_sparse": sparse,
        "serialization_version": 1,
    }


def write_ic(path: Path, props: dict, metadata: dict) -> Path:
    """Write a folder as interpret-community's ``save_explanation`` does."""
    path = Path(path)
    path.mkdir(parents=True)
    for name, (kind, value) in props.items():
        (path / f"{name}.json").write_text(json.dumps({"metadata": kind, "data": value}))
    (path / "explanation_metadata.json").write_text(json.dumps(metadata))
    return path
