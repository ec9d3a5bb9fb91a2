"""Explanations with interpret-community's semantics, built on this library's explanations.

:class:`CompatLocalExplanation` and :class:`CompatGlobalExplanation` hold one of this
library's :class:`~explainable_pipeline.LocalExplanation` /
:class:`~explainable_pipeline.GlobalExplanation` (``.explanation``) and present it the
way interpret-community does:

- ``local_importance_values``, ``global_importance_values``, ``per_class_values``,
  ``eval_data``, ... are lists (``_local_importance_values`` / ``_eval_data`` keep arrays);
- ``expected_values`` is always a list (one entry per class, or one for regression);
- ``features`` are the names given, else the DataFrame columns, else integers 0..n-1;
- ``is_raw`` is True only when ``transformations`` mapped engineered columns back;
- ``method`` is interpret-community's string (``shap_tree``, ``mimic.lightgbm``, ``pfi``, ...);
- ``model_task``, ``model_type``, ``id``, ``num_classes``, ``num_examples``,
  ``eval_y_predicted(_proba)``, ``init_data``, ``data(key)``,
  ``get_raw_feature_importances`` and ``get_raw_explanation`` exist.

The core explanation's own vocabulary (``values``, ``space``, ``output``, ``meta``,
``fidelity``, ``to_shap()``, ``plot()``, ``to_dataframe()``) is reachable unchanged through
``.explanation`` and a few forwarded attributes.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._explanation import GlobalExplanation, LocalExplanation, MissingExplanationPartError
from ._constants import InterpretData

__all__ = ["CompatGlobalExplanation", "CompatLocalExplanation"]

#: Core attributes reachable directly on a compat explanation.
_FORWARDED = ("values", "space", "output", "meta", "fidelity", "std", "intervals", "groups",
              "predictions", "to_shap", "plot", "to_dataframe", "to_dict", "save")  # fmt: skip


def _as_list(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, pd.DataFrame):
        return value.to_numpy().tolist()
    if isinstance(value, (pd.Series, np.ndarray)):
        return np.asarray(value).tolist()
    if sp.issparse(value):
        return value
    return value


def _n_outputs(core) -> int | None:
    """Number of classes of a core explanation (None for a single output)."""
    if isinstance(core, LocalExplanation):
        return core.n_classes
    per_class = core.per_class_values
    return None if per_class is None else int(np.asarray(per_class).shape[0])


def _raw_map(maps: list, n_engineered: int) -> np.ndarray:
    """Compose interpret-community raw-to-output maps into one (n_raw, n_engineered) array."""
    if not isinstance(maps, (list, tuple)) or not maps:
        raise TypeError(
            "raw_to_output_maps must be a non-empty list of (n_raw, n_generated) arrays, "
            "applied from the raw columns to the model's input."
        )
    combined = None
    for i, m in enumerate(maps):
        m = m.toarray() if sp.issparse(m) else np.asarray(m, dtype=float)
        if m.ndim != 2:
            raise ValueError(f"raw_to_output_maps[{i}] must be 2-D; got shape {m.shape}.")
        combined = m if combined is None else combined @ m
    if combined.shape[1] != n_engineered:
        raise ValueError(
            f"The raw-to-output maps end in {combined.shape[1]} generated columns but the "
            f"explanation has {n_engineered} features."
        )
    return combined


class _CompatExplanation:
    """Fields shared by the compat local and global explanations."""

    def __init__(self, explanation, *, method: str, model_task: str, model_type: str | None,
                 is_raw: bool, is_engineered: bool = False, classes=None, num_classes=None,
                 eval_data=None, eval_y_predicted=None, eval_y_predicted_proba=None,
                 init_data=None, explanation_id: str | None = None,
                 single_row: bool = False) -> None:  # fmt: skip
        self.explanation = explanation
        self._method = method
        self._model_task = model_task
        self._model_type = model_type
        self._is_raw = bool(is_raw)
        self._is_eng = bool(is_engineered)
        self._classes = None if classes is None else list(classes)
        self._num_classes = None if num_classes is None else int(num_classes)
        self._eval_data = eval_data
        self._eval_y_predicted = eval_y_predicted
        self._eval_y_predicted_proba = eval_y_predicted_proba
        self._init_data = init_data
        self._id = explanation_id or str(uuid.uuid4())
        self._single_row = single_row

    def __getattr__(self, name: str) -> Any:
        if name in _FORWARDED:
            return getattr(self.__dict__["explanation"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict:
        return self.__dict__.copy()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _fields(self, **override: Any) -> dict:
        """The keyword arguments that rebuild this explanation's interpret-community fields."""
        fields = dict(
            method=self._method, model_task=self._model_task, model_type=self._model_type,
            is_raw=self._is_raw, is_engineered=self._is_eng, classes=self._classes,
            num_classes=self._num_classes,
            eval_data=self._eval_data, eval_y_predicted=self._eval_y_predicted,
            eval_y_predicted_proba=self._eval_y_predicted_proba, init_data=self._init_data,
            single_row=self._single_row,
        )  # fmt: skip
        fields.update(override)
        return fields

    # ------------------------------------------------------------ identity
    @property
    def method(self) -> str:
        """interpret-community's method string (``shap_tree``, ``mimic.lightgbm``, ``pfi``, ...)."""
        return self._method

    @property
    def model_task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return self._model_task

    @property
    def model_type(self) -> str | None:
        """The explained model's class name (``"function"`` for a prediction function)."""
        return self._model_type

    @property
    def id(self) -> str:
        """A unique id of the explanation (kept by save/load)."""
        return self._id

    @property
    def features(self) -> list:
        """Feature names (given names, DataFrame columns, or 0..n-1)."""
        return self.explanation.features

    @property
    def num_features(self) -> int:
        """Number of features."""
        return self.explanation.num_features

    @property
    def is_raw(self) -> bool:
        """True when ``transformations`` mapped the explanation to raw columns."""
        return self._is_raw

    @property
    def is_engineered(self) -> bool:
        """True when the explanation is of engineered features (interpret-community: rare)."""
        return self._is_eng

    @property
    def classes(self) -> list | None:
        """Class names as given to the explainer (``classes=``), else None."""
        return None if self._classes is None else list(self._classes)

    @property
    def num_classes(self) -> int | None:
        """Number of classes of a classifier's explanation; None for regression."""
        if self._num_classes is not None:
            return self._num_classes
        if self._classes is not None:
            return len(self._classes)
        return _n_outputs(self.explanation)

    @property
    def expected_values(self) -> list | None:
        """Base value(s) as a list: one per class, or a single entry for regression."""
        ev = self.explanation.expected_values
        if ev is None:
            return None
        return np.atleast_1d(np.asarray(ev, dtype=float)).tolist()

    # ------------------------------------------------------------ data sets
    @property
    def eval_data(self) -> Any:
        """The evaluation examples explained (list, or a sparse matrix)."""
        return _as_list(self._eval_data)

    @property
    def eval_y_predicted(self) -> Any:
        """The model's ``predict`` on the evaluation examples."""
        return _as_list(self._eval_y_predicted)

    @property
    def eval_y_predicted_proba(self) -> Any:
        """The model's ``predict_proba`` on the evaluation examples (classifiers)."""
        return _as_list(self._eval_y_predicted_proba)

    @property
    def init_data(self) -> Any:
        """The initialization examples (MimicExplainer)."""
        return _as_list(self._init_data)

    # ------------------------------------------------------------ global accessors
    def _global(self):
        return self.explanation

    @property
    def global_importance_values(self) -> list:
        """Mean absolute attribution per feature, in feature order."""
        return np.asarray(self._global().global_importance_values).tolist()

    @property
    def global_importance_rank(self) -> list:
        """Feature indices by importance, highest first."""
        return self._global().global_importance_rank

    def get_ranked_global_names(self, top_k: int | None = None) -> list:
        """Feature names by importance, highest first."""
        return self._global().get_ranked_global_names(top_k)

    def get_ranked_global_values(self, top_k: int | None = None) -> list:
        """Importances sorted highest first."""
        return self._global().get_ranked_global_values(top_k)

    def get_feature_importance_dict(self, top_k: int | None = None) -> dict:
        """Ordered dict ``feature -> importance``, highest first."""
        return self._global().get_feature_importance_dict(top_k)

    @property
    def per_class_values(self) -> list:
        """Importance per class (classes x features)."""
        return np.asarray(self._global()._require_per_class()).tolist()

    @property
    def per_class_rank(self) -> list:
        """Per class, feature indices by importance."""
        return self._global().per_class_rank

    def get_ranked_per_class_names(self, top_k: int | None = None) -> list:
        """Per class, feature names by importance."""
        return self._global().get_ranked_per_class_names(top_k)

    def get_ranked_per_class_values(self, top_k: int | None = None) -> list:
        """Per class, importances sorted highest first."""
        return self._global().get_ranked_per_class_values(top_k)

    def _data_overall(self, data: dict) -> dict:
        data[InterpretData.NAMES] = self.features
        data[InterpretData.SCORES] = self.global_importance_values
        ev = self.expected_values
        if ev is not None:
            data[InterpretData.BASE_VALUE] = ev
        return data

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(method={self._method!r}, model_task={self._model_task!r}, "
            f"n_features={self.num_features}, is_raw={self._is_raw})"
        )


class CompatLocalExplanation(_CompatExplanation):
    """Per-row attributions with interpret-community's semantics (see the module docstring).

    Parameters
    ----------
    explanation : LocalExplanation
        This library's local explanation (features already relabelled).
    **fields
        ``method``, ``model_task``, ``model_type``, ``is_raw``, ``classes``,
        ``eval_data``, ``eval_y_predicted``, ``eval_y_predicted_proba``, ``init_data``,
        ``explanation_id``, ``single_row`` (a 1-D row was explained: the row axis is dropped).
    """

    def __init__(self, explanation: LocalExplanation, **fields: Any) -> None:
        if not isinstance(explanation, LocalExplanation):
            raise TypeError(f"explanation must be a LocalExplanation; got {type(explanation)}.")
        super().__init__(explanation, **fields)

    def _squeeze(self, value: Any) -> Any:
        if not self._single_row:
            return value
        return [v[0] for v in value] if self.explanation.n_classes is not None else value[0]

    @property
    def _local_importance_values(self) -> np.ndarray:
        values = np.asarray(self.explanation.values)
        return values[..., 0, :] if self._single_row else values

    @property
    def local_importance_values(self) -> list:
        """``[class][row][feature]`` for classifiers, ``[row][feature]`` otherwise (lists).

        A single 1-D row explains to ``[class][feature]`` / ``[feature]``.
        """
        return self._local_importance_values.tolist()

    @property
    def is_local_sparse(self) -> bool:
        """Always False: attributions are dense."""
        return False

    @property
    def num_examples(self) -> int:
        """Number of explained rows."""
        return self.explanation.n_rows

    def get_local_importance_rank(self) -> list:
        """Per (class and) row, feature indices by signed value, highest first."""
        return self._squeeze(self.explanation.get_local_importance_rank())

    def get_ranked_local_names(self, top_k: int | None = None) -> list:
        """Per (class and) row, feature names by signed value, highest first."""
        return self._squeeze(self.explanation.get_ranked_local_names(top_k))

    def get_ranked_local_values(self, top_k: int | None = None) -> list:
        """Per (class and) row, signed values sorted highest first."""
        return self._squeeze(self.explanation.get_ranked_local_values(top_k))

    def get_raw_feature_importances(self, raw_to_output_maps: list) -> list:
        """Sum the attributions of generated features into raw features.

        Parameters
        ----------
        raw_to_output_maps : list of array-like of shape (n_raw, n_generated)
            interpret-community's feature maps, applied in order from the raw columns.

        Returns
        -------
        list
            Same layout as ``local_importance_values`` with ``n_raw`` features.
        """
        m = _raw_map(raw_to_output_maps, self.num_features)
        return (self._local_importance_values @ m.T).tolist()

    def get_raw_explanation(self, feature_maps: list, raw_feature_names: list | None = None,
                            eval_data: Any = None) -> CompatLocalExplanation:  # fmt: skip
        """The explanation of the raw features described by ``feature_maps``.

        As in interpret-community, this explanation is marked ``is_engineered`` from then
        on (its features are the engineered ones the maps start from).
        """
        m = _raw_map(feature_maps, self.num_features)
        self._is_eng = True
        core = self.explanation
        names = list(range(m.shape[0])) if raw_feature_names is None else list(raw_feature_names)
        raw = LocalExplanation(
            np.asarray(core.values) @ m.T, core.expected_values, names, classes=core.classes,
            method=core.method, space="raw", output=core.output, data=None,
            predictions=core.predictions, meta=core.meta,
        )  # fmt: skip
        fields = self._fields(is_raw=True, is_engineered=False, eval_data=eval_data)
        return CompatLocalExplanation(raw, **fields)

    def _row_dict(self, i: int) -> dict:
        values = self._local_importance_values
        scores = values[:, i, :].tolist() if values.ndim == 3 else values[i].tolist()
        row = {
            InterpretData.TYPE: InterpretData.UNIVARIATE,
            InterpretData.NAMES: self.features,
            InterpretData.SCORES: scores,
            InterpretData.INTERCEPT: self.expected_values,
            InterpretData.PERF: None,
            InterpretData.VALUES: None,
        }
        data = self._eval_data
        if data is not None and not self._single_row:
            row[InterpretData.VALUES] = (
                data.iloc[i].tolist() if isinstance(data, pd.DataFrame)
                else (data[i].toarray().ravel().tolist() if sp.issparse(data)
                      else np.asarray(data)[i].tolist())
            )  # fmt: skip
        return row

    def data(self, key: int | None = None) -> dict:
        """interpret's ``mli`` data: ``None`` -> no global part; ``-1`` -> all rows; ``i`` -> row i."""
        if key is None:
            return {InterpretData.MLI: []}
        if key == -1:
            specific = [self._row_dict(i) for i in range(self.num_examples)]
            mli = [{
                InterpretData.EXPLANATION_TYPE: InterpretData.LOCAL_FEATURE_IMPORTANCE,
                InterpretData.VALUE: {
                    InterpretData.SCORES: self.local_importance_values,
                    InterpretData.PERF: [None] * self.num_examples,
                    InterpretData.INTERCEPT: self.expected_values,
                },
            }]  # fmt: skip
            return {InterpretData.OVERALL: None, InterpretData.SPECIFIC: specific,
                    InterpretData.MLI: mli}  # fmt: skip
        return self._row_dict(int(key))


class CompatGlobalExplanation(_CompatExplanation):
    """Global importance with interpret-community's semantics, with its local part when kept.

    Parameters
    ----------
    explanation : GlobalExplanation
        This library's global explanation.
    local : CompatLocalExplanation, optional
        The local explanation it aggregates (``include_local=True``); the local
        accessors raise ``AttributeError`` without it, as in interpret-community.
    **fields
        As for :class:`CompatLocalExplanation`.
    """

    def __init__(self, explanation: GlobalExplanation, local: CompatLocalExplanation | None = None,
                 **fields: Any) -> None:  # fmt: skip
        if not isinstance(explanation, GlobalExplanation):
            raise TypeError(f"explanation must be a GlobalExplanation; got {type(explanation)}.")
        super().__init__(explanation, **fields)
        self._local = local

    @property
    def local(self) -> CompatLocalExplanation | None:
        """The local explanation this aggregates (None with ``include_local=False``)."""
        return self._local

    def _require_local(self) -> CompatLocalExplanation:
        if self._local is None:
            raise MissingExplanationPartError(
                "This global explanation has no local part: call explain_global(..., "
                "include_local=True) (the default) or explain_local."
            )
        return self._local

    def __getattr__(self, name: str) -> Any:
        local_names = ("local_importance_values", "_local_importance_values", "num_examples",
                       "is_local_sparse", "get_local_importance_rank", "get_ranked_local_names",
                       "get_ranked_local_values")  # fmt: skip
        if name in local_names:
            return getattr(self._require_local(), name)
        return super().__getattr__(name)

    @property
    def num_examples(self) -> int:
        """Rows of the local part; absent (AttributeError) without it, as interpret-community."""
        return self._require_local().num_examples

    def get_raw_feature_importances(self, raw_to_output_maps: list) -> list:
        """Global importance of the raw features (sum over the generated features)."""
        m = _raw_map(raw_to_output_maps, self.num_features)
        return (np.asarray(self.explanation.values) @ m.T).tolist()

    def get_raw_explanation(self, feature_maps: list, raw_feature_names: list | None = None,
                            eval_data: Any = None) -> CompatGlobalExplanation:  # fmt: skip
        """The global explanation of the raw features described by ``feature_maps``.

        Marks this explanation ``is_engineered``, as interpret-community does.
        """
        self._is_eng = True
        local = self._local
        if local is not None:
            raw_local = local.get_raw_explanation(feature_maps, raw_feature_names, eval_data)
            core = GlobalExplanation.from_local(raw_local.explanation)
            return CompatGlobalExplanation(core, raw_local, **raw_local._fields())
        m = _raw_map(feature_maps, self.num_features)
        names = list(range(m.shape[0])) if raw_feature_names is None else list(raw_feature_names)
        g = self.explanation
        per_class = None if g.per_class_values is None else np.asarray(g.per_class_values) @ m.T
        core = GlobalExplanation(
            np.asarray(g.values) @ m.T, names, classes=g.classes, per_class_values=per_class,
            method=g.method, space="raw", output=g.output, expected_values=g.expected_values,
            n_rows=g.n_rows, meta=g.meta,
        )  # fmt: skip
        fields = self._fields(is_raw=True, is_engineered=False, eval_data=eval_data)
        return CompatGlobalExplanation(core, None, **fields)

    def data(self, key: int | None = None) -> dict:
        """interpret's ``mli`` data with the global importance (see the local ``data``)."""
        if key is None:
            return self._data_overall({InterpretData.MLI: []})
        if key == -1:
            if self._local is not None:
                full = self._local.data(-1)
            else:
                full = {InterpretData.SPECIFIC: None, InterpretData.MLI: []}
            entry = {
                InterpretData.EXPLANATION_TYPE: InterpretData.GLOBAL_FEATURE_IMPORTANCE,
                InterpretData.VALUE: {
                    InterpretData.SCORES: self.global_importance_values,
                    InterpretData.FEATURE_LIST: self.features,
                    InterpretData.INTERCEPT: self.expected_values,
                },
            }
            if self.explanation.per_class_values is None:
                entry[InterpretData.EXPLANATION_CLASS_DIMENSION] = InterpretData.SINGLE
            full[InterpretData.MLI].append(entry)
            full[InterpretData.OVERALL] = self._data_overall({})
            return full
        return self._require_local().data(key)
