"""interpret-community's explainers (TabularExplainer, the shap family, MimicExplainer).

Each wraps the already fitted model (and ``transformations``) in
:class:`sklearn.frozen.FrozenEstimator`, fits an :class:`ExplainablePipeline` (which only
reads them and keeps a background summary) and returns
:class:`~explainable_pipeline.compat.CompatLocalExplanation` /
:class:`~explainable_pipeline.compat.CompatGlobalExplanation`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state

from .._duck import is_classifier_like
from .._explanation import GlobalExplanation, LocalExplanation
from .._pipeline import ExplainablePipeline
from .._prefit import prefit_view
from .._sklearn_compat import safe_indexing
from .._tree_attribution import link_probabilities
from ..explainers import EXACT_MAX_PLAYERS, RAW_SPACE_METHODS
from ._constants import (
    ModelTask,
    ResetIndex,
    SamplingPolicy,
    ScenarioNotSupportedException,
    ShapValuesOutput,
)
from ._distill import DistillStrategy
from ._explanation import CompatGlobalExplanation, CompatLocalExplanation
from ._inputs import (
    as_rows,
    default_features,
    index_restorer,
    is_dense_data,
    resolve_model,
    split_model,
    summarize_data,
)
from ._surrogates import surrogate_choice

__all__ = [
    "KernelExplainer",
    "LinearExplainer",
    "MimicExplainer",
    "TabularExplainer",
    "TreeExplainer",
]

#: interpret-community's KernelExplainer summarises the initialization examples to
#: 10 k-means centres; the facade keeps the same background size by default.
_DEFAULT_BACKGROUND = 10
_FACADE_PARAMS = ("preprocessor", "estimator", "explainer")
#: interpret-community's explanation ``method`` strings. Its model-agnostic explainer is
#: KernelSHAP; the exact and permutation Shapley values estimate the same quantity (the
#: core explanation's ``method`` says which ran).
_METHODS = {"tree": "shap_tree", "linear": "shap_linear", "kernel": "shap_kernel",
            "exact": "shap_kernel", "permutation": "shap_kernel"}  # fmt: skip
_OUTPUTS = {ShapValuesOutput.DEFAULT: "auto", ShapValuesOutput.PROBABILITY: "probability",
            ShapValuesOutput.TEACHER_PROBABILITY: "probability",
            ShapValuesOutput.RAW: "margin"}  # fmt: skip


def _pipeline_params() -> set:
    return set(ExplainablePipeline().get_params()) - set(_FACADE_PARAMS)


def _split_to_raw(local: LocalExplanation, fmap) -> LocalExplanation:
    """Engineered attributions -> raw, each engineered column split equally among its parents.

    interpret-community's ``allow_all_transformations=True`` rule for transformers that mix
    several raw columns; additivity is kept (each row's total is unchanged).
    """
    values = np.asarray(local.values) @ _equal_share(fmap)
    return LocalExplanation(
        values, local.expected_values, [str(f) for f in fmap.raw_features], classes=local.classes,
        method=local.method, space="raw", output=local.output, predictions=local.predictions,
        meta={**local.meta, "mixed_split": "equal"},
    )  # fmt: skip


def _equal_share(fmap) -> np.ndarray:
    """(n_engineered, n_raw): each engineered column's weight 1 split among its parents."""
    dep = fmap.dependency.astype(np.float64)
    counts = np.asarray(dep.sum(axis=1)).ravel()
    counts[counts == 0] = 1.0
    return dep.multiply(1.0 / counts[:, None]).toarray()


class _Explainer:
    """Shared construction and explain calls of the interpret-community style explainers."""

    _engine = "auto"

    def __init__(self, model, initialization_examples, *, explain_subset=None, features=None,
                 classes=None, transformations=None, allow_all_transformations=False,
                 model_task=ModelTask.Unknown, is_function=False,
                 shap_values_output=ShapValuesOutput.DEFAULT, use_gpu=False,
                 params: dict | None = None) -> None:  # fmt: skip
        params = dict(params or {})
        for ignored in ("show_progress", "sampling_policy", "batch_size"):
            params.pop(ignored, None)
        unknown = sorted(set(params) - _pipeline_params())
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unknown}; it accepts "
                f"interpret-community's arguments and the ExplainablePipeline parameters "
                f"{sorted(_pipeline_params())}."
            )
        if use_gpu:
            raise ValueError(
                "use_gpu=True is not supported: explainable_pipeline explains on the CPU "
                "(the model-agnostic path is already batched); pass use_gpu=False."
            )
        self.model = model
        self.explain_subset = None if explain_subset is None else list(explain_subset)
        self.features = None if features is None else list(np.asarray(features, dtype=object))
        self.classes = None if classes is None else list(np.asarray(classes, dtype=object))
        self.transformations = transformations
        self.allow_all_transformations = allow_all_transformations
        self.model_task = ModelTask(model_task if model_task is not None else "unknown")
        self.is_function = is_function
        self.shap_values_output = ShapValuesOutput(shap_values_output)
        self.params = params
        self.pipeline_ = None
        self._split_mixed = False
        if self.explain_subset is not None and transformations is not None:
            raise ValueError("explain_subset is not supported together with transformations.")
        self._has_init = initialization_examples is not None
        if initialization_examples is not None:
            self._fit_examples(initialization_examples)

    # ------------------------------------------------------------------ fit
    def _fit_examples(self, examples) -> None:
        weights = None
        if is_dense_data(examples):
            weights = np.asarray(examples.weights, dtype=float)
        rows, _ = as_rows(examples)
        self.initialization_examples_ = rows
        self.pipeline_ = self._fit(rows, weights=weights)

    def _engine_for(self, model) -> str:
        return self._engine

    def _pipeline_kwargs(self, rows, weights) -> dict:
        kwargs = dict(self.params)
        kwargs.setdefault("model_output", _OUTPUTS[self.shap_values_output])
        # interpret-community sums engineered TreeSHAP values per raw column: its convention
        kwargs.setdefault("tree_players", "sum")
        if weights is not None:  # a shap.kmeans summary: its centres and weights, as they are
            kwargs["background"], kwargs["background_weights"] = rows, weights
        return kwargs

    def _split(self, rows) -> tuple[Any, Any]:
        """(frozen preprocessor or None, the model behind it)."""
        pre, _ = split_model(self.model, self.transformations, rows)
        model = self.model
        if self.transformations is None and pre is not None:
            model = self.model[-1]  # a whole Pipeline: its final step
        return pre, model

    def _fit(self, rows, y=None, weights=None) -> ExplainablePipeline:
        pre, model = self._split(rows)
        transform = None if pre is None else prefit_view(pre.estimator).transform
        resolved = resolve_model(model, rows, is_function=self.is_function,
                                 model_task=self.model_task, classes=self.classes,
                                 transform=transform)  # fmt: skip
        self.model_ = resolved
        kwargs = self._pipeline_kwargs(rows, weights)
        engine = self._engine_for(resolved)
        if kwargs.get("model_output") == "probability" and not hasattr(resolved, "predict_proba"):
            kwargs["model_output"] = "auto"
        ep = ExplainablePipeline(pre, FrozenEstimator(resolved), explainer=engine, **kwargs)
        ep.fit(rows, y)
        if ep.explainer_ == "linear" and ep._resolved_output() == "probability":
            # the closed form is exact in margin space only: probabilities need Shapley values
            n = ep._n_players(ep._raw_feature_names())
            engine = "exact" if n <= EXACT_MAX_PLAYERS else "kernel"
            ep = ExplainablePipeline(pre, FrozenEstimator(resolved), explainer=engine, **kwargs)
            ep.fit(rows, y)
        summary = self._kmeans_background(ep, rows, kwargs)
        if summary is not None:  # interpret-community's background for model-agnostic values
            kwargs["background"], kwargs["background_weights"] = summary
            ep = ExplainablePipeline(pre, FrozenEstimator(resolved), explainer=ep.explainer_,
                                     **kwargs)  # fmt: skip
            ep.fit(rows, y)
        self._split_mixed = False
        if ep.explainer_ not in RAW_SPACE_METHODS and ep.explainer_ != "pfi":
            if not ep.feature_map_.is_exact:
                if not self.allow_all_transformations:
                    mixed = [m["transformer"] for m in ep.feature_map_.mixed_]
                    raise ValueError(
                        f"The transformations {mixed} map several raw columns to one engineered "
                        "column, which cannot be attributed to one raw column; pass "
                        "allow_all_transformations=True to split such attributions equally among "
                        "the raw columns (interpret-community's rule), or use TabularExplainer, "
                        "whose model-agnostic path attributes raw columns exactly."
                    )
                self._split_mixed = True
        self._features = default_features(rows, self.features)
        return ep

    @staticmethod
    def _kmeans_background(ep: ExplainablePipeline, rows, kwargs: dict):
        """``(centres, weights)``: the weighted k-means summary of the initialization rows.

        interpret-community's KernelExplainer takes its background from ``shap.kmeans``
        (``nclusters`` centres, rounded to values of the data, weighted by cluster size); the
        model-agnostic Shapley values here use the same background, so they are the quantity
        its KernelSHAP estimates, deterministically. Only when the background is a size
        (not rows given by the user), for raw-space methods and numeric, dense rows.
        """
        size = kwargs.get("background")
        if ep.explainer_ not in RAW_SPACE_METHODS or kwargs.get("background_weights") is not None:
            return None
        if not isinstance(size, numbers.Integral) or sp.issparse(rows):
            return None
        frame = rows if isinstance(rows, pd.DataFrame) else None
        values = frame.to_numpy() if frame is not None else np.asarray(rows)
        if not np.issubdtype(values.dtype, np.number) or len(values) <= int(size):
            return None
        summary = summarize_data(values.astype(np.float64), int(size))
        centres = np.asarray(summary.data)
        if frame is not None:
            centres = pd.DataFrame(centres, columns=frame.columns).astype(frame.dtypes.to_dict())
        return centres, np.asarray(summary.weights, dtype=np.float64)

    def _require_pipeline(self, rows) -> ExplainablePipeline:
        if self.pipeline_ is None:
            self.initialization_examples_ = rows
            self.pipeline_ = self._fit(rows)
        return self.pipeline_

    # ------------------------------------------------------------------ labels
    def _method(self) -> str:
        return _METHODS.get(self.pipeline_.explainer_, self.pipeline_.explainer_)

    def _task(self) -> str:
        return "classification" if is_classifier_like(self.model_) else "regression"

    def _class_names(self) -> list | None:
        if self._task() != "classification":
            return None
        model_classes = self.pipeline_._class_list()
        if self.classes is not None:
            if model_classes is not None and len(self.classes) != len(model_classes):
                raise ValueError(
                    f"classes has {len(self.classes)} names but the model has "
                    f"{len(model_classes)} classes {model_classes}."
                )
            return self.classes
        return model_classes

    def _relabel(self, local: LocalExplanation) -> LocalExplanation:
        features = list(self._features)
        if len(features) != local.num_features:
            raise ValueError(
                f"features has {len(features)} names but the explanation has "
                f"{local.num_features} columns ({local.features[:5]}...); pass one name per "
                "raw column of the examples."
            )
        classes = self._class_names() if local.n_classes is not None else None
        if classes is not None and len(classes) != local.n_classes:
            classes = None
        classes = None if classes is None else [c.item() if hasattr(c, "item") else c
                                                for c in classes]  # fmt: skip
        values = np.ascontiguousarray(local.values)  # aggregates equal bit for bit after a reload
        out = LocalExplanation(
            values, local.expected_values, features, classes=classes, method=local.method,
            space=local.space, output=local.output, predictions=local.predictions,
            meta=local.meta,
        )  # fmt: skip
        if self.explain_subset is not None:
            out = out.select(features=[features[i] for i in self.explain_subset])
        return out

    # ------------------------------------------------------------------ explain
    def _core_local(self, ep: ExplainablePipeline, rows) -> LocalExplanation:
        if self._split_mixed:
            return _split_to_raw(ep.explain_local(rows, space="engineered"), ep.feature_map_)
        return ep.explain_local(rows)

    def _predictions(self, ep, rows) -> tuple[Any, Any]:
        predicted = np.asarray(ep.predict(rows))
        proba = None
        if self._task() == "classification" and hasattr(ep, "predict_proba"):
            proba = np.asarray(ep.predict_proba(rows))
        return predicted, proba

    def _fields(self, rows, single_row: bool) -> dict:
        ep = self.pipeline_
        predicted, proba = self._predictions(ep, rows)
        model = self.model
        classes = self._class_names()
        return dict(
            method=self._method(), model_task=self._task(),
            model_type="function" if self.is_function else str(type(model)),
            is_raw=self.transformations is not None,
            classes=self.classes if self.classes is None else classes,
            num_classes=None if classes is None else len(classes),
            eval_data=rows, eval_y_predicted=predicted, eval_y_predicted_proba=proba,
            init_data=self._init_data(), single_row=single_row,
        )  # fmt: skip

    def _init_data(self):
        """The initialization examples, as explanations carry them (None for TreeExplainer)."""
        return getattr(self, "initialization_examples_", None) if self._has_init else None

    def _local(self, rows, single_row: bool = False) -> CompatLocalExplanation:
        ep = self._require_pipeline(rows)
        core = self._relabel(self._core_local(ep, rows))
        return CompatLocalExplanation(core, **self._fields(rows, single_row))

    def explain_local(self, evaluation_examples) -> CompatLocalExplanation:
        """Per-row attributions to the (raw) columns of ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like, DataFrame, sparse matrix or DatasetWrapper
            Rows to explain; a single 1-D row explains to a result without the row axis.

        Returns
        -------
        CompatLocalExplanation
            ``local_importance_values`` is ``[class][row][feature]`` for classifiers,
            ``[row][feature]`` for regressors.
        """
        rows, single = as_rows(evaluation_examples)
        return self._local(rows, single)

    def explain_global(self, evaluation_examples, sampling_policy: SamplingPolicy | None = None,
                       include_local: bool = True, batch_size: int = 100
                       ) -> CompatGlobalExplanation:  # fmt: skip
        """Importance of each (raw) column over ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like, DataFrame, sparse matrix or DatasetWrapper
        sampling_policy : SamplingPolicy, default=None
            With ``allow_eval_sampling=True``, explain at most ``max_dim_clustering``
            randomly chosen rows.
        include_local : bool, default=True
            Keep the local explanation (``local_importance_values``, ...) on the result.
        batch_size : int, default=100
            Accepted for compatibility; rows are streamed in bounded chunks anyway.

        Returns
        -------
        CompatGlobalExplanation
        """
        _check_batch_size(batch_size)
        rows, _ = as_rows(evaluation_examples)
        rows = _sample(rows, sampling_policy, self.params.get("random_state"))
        local = self._local(rows)
        return _global_from(local, include_local)


def _check_batch_size(batch_size) -> None:
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")


def _sample(rows, policy, random_state):
    if policy is None:
        return rows
    if not isinstance(policy, SamplingPolicy) and not hasattr(policy, "allow_eval_sampling"):
        raise TypeError(f"sampling_policy must be a SamplingPolicy; got {type(policy).__name__}.")
    limit = int(getattr(policy, "max_dim_clustering", 50))
    n = rows.shape[0]
    if not getattr(policy, "allow_eval_sampling", False) or n <= limit:
        return rows
    idx = np.sort(check_random_state(random_state).choice(n, size=limit, replace=False))
    return safe_indexing(rows, idx)


def _global_from(local: CompatLocalExplanation, include_local: bool) -> CompatGlobalExplanation:
    core = GlobalExplanation.from_local(
        local.explanation, fidelity=local.explanation.meta.get("fidelity"),
        keep_local=include_local,
    )  # fmt: skip
    if include_local:
        return CompatGlobalExplanation(core, local, **local._fields())
    # interpret-community aggregates such a global explanation from streamed local parts,
    # which do not carry the model type: None there, None here
    return CompatGlobalExplanation(core, None, **local._fields(model_type=None))


# --------------------------------------------------------------------------- the explainers
class TabularExplainer(_Explainer):
    """Explain a fitted model with the SHAP method that suits it (interpret-community's).

    Tree models get TreeSHAP (``method="shap_tree"``), linear models the closed form
    (``shap_linear``), any other model Shapley values over the raw columns (``shap_kernel``):
    exact up to 12 columns, else KernelSHAP (``.explanation.method`` says which).

    Parameters
    ----------
    model : fitted estimator, Pipeline, duck-typed model, or function (``is_function=True``)
        Must provide ``predict`` (and ``predict_proba`` for a classifier); see docs/compat.md.
    initialization_examples : array-like, DataFrame, sparse matrix or ``shap.kmeans`` summary
        Training (or representative) rows; the background is a summary of them.
    explain_subset : list of int, default=None
        Indices of the features to keep in the explanation.
    features : list, default=None
        Names of the raw columns (default: DataFrame columns, else 0..n-1).
    classes : list, default=None
        Names of the classes, in the model's output order.
    transformations : fitted ColumnTransformer or list of ([columns], transformer), default=None
        The fitted preprocessing the model's input comes from.
    allow_all_transformations : bool, default=False
        Allow transformers that mix raw columns with the tree/linear explainers (their
        attributions are split equally among the raw columns).
    model_task : {"classification", "regression", "unknown"}, default="unknown"
    use_gpu : bool, default=False
        Only False is supported.
    **kwargs : dict
        ``shap_values_output``, ``is_function``, ``nsamples``, ``nclusters`` and the
        :class:`ExplainablePipeline` parameters (``background``, ``n_samples``,
        ``random_state``, ...). ``background`` defaults to 10 rows.
    """

    def __init__(self, model, initialization_examples, explain_subset=None, features=None,
                 classes=None, transformations=None, allow_all_transformations=False,
                 model_task=ModelTask.Unknown, use_gpu=False, **kwargs) -> None:  # fmt: skip
        ic = _ic_kwargs(kwargs)
        kwargs.setdefault("background", _DEFAULT_BACKGROUND)
        super().__init__(model, initialization_examples, explain_subset=explain_subset,
                         features=features, classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations,
                         model_task=model_task, use_gpu=use_gpu, params=kwargs, **ic)  # fmt: skip

    @property
    def explainer(self):
        """The fitted :class:`ExplainablePipeline` doing the work."""
        return self.pipeline_


def _ic_kwargs(kwargs: dict) -> dict:
    """Pop interpret-community's own keyword arguments, translating the shap ones."""
    ic = {k: kwargs.pop(k) for k in ("is_function", "shap_values_output") if k in kwargs}
    if "nsamples" in kwargs:
        nsamples = kwargs.pop("nsamples")
        kwargs.setdefault("n_samples", nsamples)
    if "nclusters" in kwargs:
        kwargs.setdefault("background", int(kwargs.pop("nclusters")))
    return ic


class KernelExplainer(_Explainer):
    """interpret-community's ``KernelExplainer``: KernelSHAP over the raw columns.

    Parameters are interpret-community's (``nsamples`` -> ``n_samples``, ``nclusters``
    -> the background size); see :class:`TabularExplainer` for the others.
    """

    _engine = "kernel"

    def __init__(self, model, initialization_examples, is_function=False, explain_subset=None,
                 nsamples="auto", features=None, classes=None, nclusters=10, show_progress=True,
                 transformations=None, allow_all_transformations=False,
                 model_task=ModelTask.Unknown, **kwargs) -> None:  # fmt: skip
        kwargs.setdefault("n_samples", nsamples)
        kwargs.setdefault("background", int(nclusters))
        ic = _ic_kwargs(kwargs)
        super().__init__(model, initialization_examples, explain_subset=explain_subset,
                         features=features, classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations,
                         model_task=model_task, is_function=is_function, params=kwargs,
                         **ic)  # fmt: skip


class LinearExplainer(_Explainer):
    """interpret-community's ``LinearExplainer``: the exact closed form for linear models."""

    _engine = "linear"

    def __init__(self, model, initialization_examples, explain_subset=None, features=None,
                 classes=None, transformations=None, allow_all_transformations=False,
                 **kwargs) -> None:  # fmt: skip
        ic = _ic_kwargs(kwargs)
        super().__init__(model, initialization_examples, explain_subset=explain_subset,
                         features=features, classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations, params=kwargs,
                         **ic)  # fmt: skip


class TreeExplainer(_Explainer):
    """interpret-community's ``TreeExplainer``: TreeSHAP (no initialization examples).

    The first explained rows are used to read the columns; nothing else depends on them.
    """

    _engine = "tree"

    def __init__(self, model, explain_subset=None, features=None, classes=None,
                 shap_values_output=ShapValuesOutput.DEFAULT, transformations=None,
                 allow_all_transformations=False, **kwargs) -> None:  # fmt: skip
        ic = _ic_kwargs(kwargs)
        ic.setdefault("shap_values_output", shap_values_output)
        super().__init__(model, None, explain_subset=explain_subset, features=features,
                         classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations, params=kwargs,
                         **ic)  # fmt: skip

    def _engine_for(self, model) -> str:
        # a boosted model's probabilities have no tree algorithm: "auto" attributes
        # predict_proba over raw columns (exact or kernel) instead of refusing
        output = self.params.get("model_output", _OUTPUTS[self.shap_values_output])
        return "auto" if link_probabilities(model, output) else self._engine


class MimicExplainer(_Explainer):
    """Explain a fitted model through a global surrogate that learns its output.

    The surrogate follows interpret-community's rules (``compat/_distill.py``): log-odds
    of a binary classifier, the class of a multiclass one (a classifier surrogate), the
    prediction of a regressor; attributions are in that space unless
    ``shap_values_output`` asks for probabilities.

    Parameters
    ----------
    model : fitted estimator, Pipeline, duck-typed model, or function (``is_function=True``)
        The teacher, whole (a Pipeline is not split).
    initialization_examples : array-like, DataFrame or sparse matrix
        Rows the surrogate is trained on (with the model's output on them).
    explainable_model : LGBMExplainableModel, LinearExplainableModel, SGDExplainableModel, \
            DecisionTreeExplainableModel (class or instance), surrogate name or regressor
    explainable_model_args : dict, default=None
        Parameters of the surrogate estimator (``sparse_data=True``: the sparse linear
        variants).
    is_function : bool, default=False
    augment_data : bool, default=True
        Add column-shuffled copies of the examples while there are fewer rows than
        columns (interpret-community's rule; narrow data is not augmented).
    max_num_of_augmentations : int, default=10
    explain_subset, features, classes, transformations, allow_all_transformations, model_task
        As for :class:`TabularExplainer`.
    shap_values_output : {"default", "probability", "teacher_probability"}, default="default"
        ``"probability"``: attributions add up to the surrogate's probability;
        ``"teacher_probability"``: to the model's probability (its prediction for a
        regressor).
    categorical_features : list of str or int, default=None
        Columns the surrogate treats as categorical (strings always are): codes for tree
        surrogates, one-hot for linear ones; attributions are summed back per column.
    reset_index : {"ignore", "reset", "reset_teacher"}, default="ignore"
        ``"reset"``: the DataFrame's index levels are features of the surrogate (the model
        still gets its index); ``"ignore"``: the index is dropped; ``"reset_teacher"``:
        the model gets the index, the surrogate does not.
    **kwargs : dict
        :class:`ExplainablePipeline` parameters (``random_state``, ...).
    """

    _engine = "mimic"

    def __init__(self, model, initialization_examples, explainable_model,
                 explainable_model_args=None, is_function=False, augment_data=True,
                 max_num_of_augmentations=10, explain_subset=None, features=None, classes=None,
                 transformations=None, allow_all_transformations=False,
                 shap_values_output=ShapValuesOutput.DEFAULT, categorical_features=None,
                 model_task=ModelTask.Unknown, reset_index=ResetIndex.Ignore,
                 **kwargs) -> None:  # fmt: skip
        self._surrogate_family, self._surrogate_args, self._surrogate_method = surrogate_choice(
            explainable_model, explainable_model_args
        )
        self.reset_index = ResetIndex(reset_index if not isinstance(reset_index, bool)
                                      else ("reset" if reset_index else "ignore"))  # fmt: skip
        self.augment_data = bool(augment_data)
        self.max_num_of_augmentations = max_num_of_augmentations
        self.categorical_features = categorical_features
        rows, _ = as_rows(initialization_examples)
        super().__init__(model, self._reset(rows), explain_subset=explain_subset,
                         features=features, classes=classes, transformations=transformations,
                         allow_all_transformations=allow_all_transformations,
                         model_task=model_task, is_function=is_function,
                         shap_values_output=shap_values_output, params=kwargs)  # fmt: skip

    def _resets(self) -> bool:
        return self.reset_index == ResetIndex.Reset

    def _reset(self, rows):
        """DataFrame rows as interpret-community's ``reset_index`` option treats them.

        ``"reset"``: the index levels become leading columns (raw features; the model
        gets its index back); ``"ignore"``: the index is dropped (the model sees a default
        index); ``"reset_teacher"``: the model gets the index, the surrogate ignores it.
        """
        if not isinstance(rows, pd.DataFrame):
            return rows
        if self._resets():
            self._index_names = list(rows.index.names)
            return rows.reset_index()
        if self.reset_index == ResetIndex.Ignore:
            return rows.reset_index(drop=True)
        return rows

    def _split(self, rows) -> tuple[Any, Any]:
        """A whole model is the teacher, as in interpret-community (Pipelines are not split)."""
        if self.transformations is not None:
            return super()._split(rows)
        if self._resets() and isinstance(rows, pd.DataFrame):
            return FrozenEstimator(index_restorer(rows, self._index_names)), self.model
        return None, self.model

    def _pipeline_kwargs(self, rows, weights) -> dict:
        kwargs = super()._pipeline_kwargs(rows, weights)
        kwargs["model_output"] = "auto"  # the strategy decides the explained space
        kwargs["augment_data"] = False  # augmented (interpret-community's rule) by the strategy
        family = self._surrogate_family
        if not isinstance(family, str):  # a regressor: the core's own surrogate rules
            kwargs["surrogate"] = family
            return kwargs
        kwargs["surrogate"] = DistillStrategy(
            family, self._surrogate_args, shap_values_output=self.shap_values_output.value,
            teacher=self.model_, augment_data=self.augment_data,
            max_num_of_augmentations=self.max_num_of_augmentations,
            categorical_features=self.categorical_features, use_index=self._resets(),
        )  # fmt: skip
        return kwargs

    def _method(self) -> str:
        return self._surrogate_method

    # ------------------------------------------------------------------ replication
    def _teacher_input(self, rows):
        """Rows as the model receives them (``transformations`` applied)."""
        rows, _ = as_rows(rows)
        if self.transformations is None:
            return rows
        return self.pipeline_._transform(rows)

    def _get_teacher_model_predictions(self, evaluation_examples) -> np.ndarray:
        """The model's ``predict`` on ``evaluation_examples`` (interpret-community's name)."""
        return np.asarray(self.model_.predict(self._teacher_input(evaluation_examples)))

    def _get_surrogate_model_predictions(self, evaluation_examples) -> np.ndarray:
        """The surrogate's predictions; for a classifier, its class as the model labels it.

        The surrogate's class index is read through the model's ``classes_`` (so both
        sides of the replication measure speak the same labels), else through
        ``classes`` for a binary model (interpret-community's rule), else left an index.
        """
        rows, _ = as_rows(evaluation_examples)
        out = np.asarray(self.surrogate_model.predict(self._reset(rows)))
        if self._task() != "classification":
            return out
        n_classes = self.pipeline_._class_list()
        index = (out > 0).astype(int) if n_classes is not None and len(n_classes) == 2 else out
        labels = getattr(self.model_, "classes_", None)
        if labels is None or len(labels) != len(n_classes or ()):
            labels = self.classes if self.classes is not None and len(self.classes) == 2 else None
        if labels is None:
            return index
        return np.asarray(labels, dtype=object)[index.astype(int)]

    def get_surrogate_model_replication_measure(self, training_data) -> float:
        """How well the surrogate reproduces the model on ``training_data``.

        Accuracy of the surrogate's class against the model's ``predict`` when ``classes``
        were given, else R^2 of the predictions (interpret-community's measure; compare
        the explanation's ``fidelity``).

        Raises
        ------
        ScenarioNotSupportedException
            For R^2 on a single row.
        """
        rows, _ = as_rows(training_data)
        if self.classes is None and rows.shape[0] == 1:
            raise ScenarioNotSupportedException(
                "Replication measure for regression surrogate not supported because of "
                "single instance in training data"
            )
        surrogate = self._get_surrogate_model_predictions(rows)
        teacher = self._get_teacher_model_predictions(rows)
        if self.classes is not None:
            return float(np.mean(surrogate.astype(object) == np.asarray(teacher, dtype=object)))
        return float(r2_score(teacher, surrogate))

    @property
    def surrogate_model(self) -> _SurrogateView:
        """The fitted surrogate, with ``predict(X)`` on the raw examples."""
        return _SurrogateView(self.pipeline_)

    def explain_local(self, evaluation_examples) -> CompatLocalExplanation:
        """Per-row surrogate attributions (see :meth:`TabularExplainer.explain_local`)."""
        rows, single = as_rows(evaluation_examples)
        return self._local(self._reset(rows), single)

    def explain_global(self, evaluation_examples=None, include_local: bool = True,
                       batch_size: int = 100) -> CompatGlobalExplanation:  # fmt: skip
        """Global importance over ``evaluation_examples``.

        Without ``evaluation_examples``, the surrogate's own importance (LightGBM split
        counts, the tree's impurity decrease, the linear models' mean coefficient),
        global only, as interpret-community answers; a custom surrogate explains the
        initialization rows instead.
        """
        _check_batch_size(batch_size)
        if evaluation_examples is None:
            native = self._native_global()
            if native is not None:
                return native
            rows = self.initialization_examples_
        else:
            rows = self._reset(as_rows(evaluation_examples)[0])
        return _global_from(self._local(rows), include_local)

    def _native_global(self) -> CompatGlobalExplanation | None:
        ep = self._require_pipeline(self.initialization_examples_)
        fitted = ep.surrogate_
        if not hasattr(fitted, "native_importance") or self.explain_subset is not None:
            return None
        values = fitted.native_importance()
        if self.transformations is not None:  # engineered columns summed into raw ones
            fmap = ep.feature_map_
            values = values @ _equal_share(fmap) if self._split_mixed else fmap.to_raw(values)
        features = list(self._features)
        core = GlobalExplanation(
            values, features, classes=self._class_names(), method=self._method(),
            space="raw", output="importance", n_rows=self.initialization_examples_.shape[0],
        )  # fmt: skip
        fields = self._fields(self.initialization_examples_, False)
        fields.update(eval_data=None, eval_y_predicted=None, eval_y_predicted_proba=None)
        return CompatGlobalExplanation(core, None, **fields)


class _SurrogateView:
    """interpret-community's ``surrogate_model``: ``predict`` on raw rows, and ``model``.

    ``predict`` returns the surrogate's log-odds (binary classifiers), its class
    (multiclass) or its prediction (regressors), as interpret-community's.
    """

    def __init__(self, ep: ExplainablePipeline) -> None:
        self._ep = ep
        fitted = ep.surrogate_
        self.model = getattr(fitted, "estimator", None)
        if self.model is None:  # the core's own surrogate: one regressor per output
            self.model = fitted.estimators[0]

    def predict(self, X) -> np.ndarray:
        rows, _ = as_rows(X)
        Xt = self._ep._transform(rows)
        fitted = self._ep.surrogate_
        if hasattr(fitted, "predict_labels"):
            return fitted.predict_labels(Xt)
        out = fitted.predict(Xt)
        return out.argmax(axis=0) if out.shape[0] > 1 else out[0]
