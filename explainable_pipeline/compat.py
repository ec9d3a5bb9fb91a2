"""interpret-community compatible explainers, built on :class:`ExplainablePipeline`.

Code written for interpret-community (or ``azureml-interpret``) runs with only its import
lines changed::

    from explainable_pipeline.compat import (
        TabularExplainer, MimicExplainer, PFIExplainer, LGBMExplainableModel,
    )

Each explainer wraps an **already fitted** model (and preprocessing) in
:class:`sklearn.frozen.FrozenEstimator`, so nothing is refitted; it then fits an
:class:`ExplainablePipeline` (which only reads the fitted objects and keeps a background
summary) and returns this library's :class:`LocalExplanation` /
:class:`GlobalExplanation`, which expose interpret-community's accessors
(``local_importance_values`` as ``[class][row][feature]`` for classifiers,
``expected_values`` per class, ``get_ranked_global_names()``,
``get_feature_importance_dict()``, ...).

``model`` is a bare estimator (e.g. ``clf.steps[-1][1]``) or a whole fitted
:class:`~sklearn.pipeline.Pipeline` (its leading steps then map explanations to the
pipeline's input columns). ``transformations`` is a fitted
:class:`~sklearn.compose.ColumnTransformer` (or any fitted transformer) or a list of
sklearn-pandas style tuples ``([column], fitted_transformer)``; explanations are then
in the raw columns of the examples.

Differences from interpret-community are listed in ``docs/compat.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._explanation import GlobalExplanation, LocalExplanation
from ._pipeline import ExplainablePipeline
from .explainers._mimic import make_surrogate

__all__ = [
    "DecisionTreeExplainableModel",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "MimicExplainer",
    "PFIExplainer",
    "SGDExplainableModel",
    "TabularExplainer",
]

#: interpret-community's KernelExplainer summarises the initialization examples to
#: 10 k-means centres; the facade keeps the same background size by default.
_DEFAULT_BACKGROUND = 10
_FACADE_PARAMS = ("preprocessor", "estimator", "explainer")


# --------------------------------------------------------------------------- surrogates
class _ExplainableModel:
    """A surrogate choice for :class:`MimicExplainer` (pass the class or an instance).

    Parameters
    ----------
    **params : dict
        Parameters of the underlying scikit-learn / LightGBM regressor.
    """

    surrogate = ""

    def __init__(self, **params: Any) -> None:
        self.params = params

    @classmethod
    def _estimator(cls, params: dict | None = None, random_state=None):
        est = make_surrogate(cls.surrogate, random_state=random_state)
        return est.set_params(**params) if params else est


class LGBMExplainableModel(_ExplainableModel):
    """LightGBM regressor surrogate, explained with TreeSHAP."""

    surrogate = "lightgbm"


class LinearExplainableModel(_ExplainableModel):
    """Linear (ridge) regressor surrogate, explained in closed form."""

    surrogate = "linear"


class SGDExplainableModel(_ExplainableModel):
    """SGD linear regressor surrogate, explained in closed form."""

    surrogate = "sgd"


class DecisionTreeExplainableModel(_ExplainableModel):
    """Decision tree regressor surrogate, explained with TreeSHAP."""

    surrogate = "decision_tree"


def _surrogate_param(explainable_model, args: dict | None, random_state):
    """``ExplainablePipeline(surrogate=...)`` for an explainable model class or instance."""
    if isinstance(explainable_model, type) and issubclass(explainable_model, _ExplainableModel):
        return (
            explainable_model._estimator(args, random_state)
            if args
            else explainable_model.surrogate
        )
    if isinstance(explainable_model, _ExplainableModel):
        params = {**explainable_model.params, **(args or {})}
        if not params:
            return explainable_model.surrogate
        return type(explainable_model)._estimator(params, random_state)
    if isinstance(explainable_model, str) or hasattr(explainable_model, "fit"):
        return explainable_model
    raise TypeError(
        "explainable_model must be LGBMExplainableModel, LinearExplainableModel, "
        "SGDExplainableModel or DecisionTreeExplainableModel (class or instance), a surrogate "
        f"name or a regressor; got {explainable_model!r}."
    )


# --------------------------------------------------------------------------- transformations
class _PrefitColumns(TransformerMixin, BaseEstimator):
    """One fitted transformer of a ``([columns], transformer)`` list, used as it is.

    Like sklearn-pandas' ``DataFrameMapper``, it hands the transformer a plain array of
    the selected columns; it is never refitted (``fit`` is a no-op, cloning returns self).
    """

    def __init__(self, transformer=None):
        self.transformer = transformer

    def __sklearn_clone__(self):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y=None):
        check_is_fitted(self.transformer)
        return self

    def transform(self, X):
        return self.transformer.transform(np.asarray(X))

    def get_feature_names_out(self, input_features=None):
        return self.transformer.get_feature_names_out(input_features)


def _from_tuples(transformations: list, X) -> ColumnTransformer:
    """A ColumnTransformer applying fitted ``([columns], transformer)`` tuples as they are."""
    parts = []
    for i, entry in enumerate(transformations):
        if not isinstance(entry, tuple) or len(entry) not in (2, 3):
            raise ValueError(
                f"transformations[{i}] must be a tuple ([columns], transformer); got {entry!r}."
            )
        cols, trans = entry[0], entry[1]
        cols = list(cols) if isinstance(cols, (list, tuple)) else [cols]
        if trans is None:
            step = "passthrough"
        elif isinstance(trans, list):  # sklearn-pandas chains a list of transformers
            step = _PrefitColumns(Pipeline([(f"step{j}", t) for j, t in enumerate(trans)]))
        else:
            step = _PrefitColumns(trans)
        parts.append(("_".join(map(str, cols)), step, cols))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False).fit(X)


def _split_model(model, transformations, X):
    """(preprocessor, estimator) for ExplainablePipeline, both frozen."""
    if not hasattr(model, "predict"):
        raise TypeError(
            f"model must be a fitted scikit-learn style estimator or pipeline with predict; got "
            f"{type(model).__name__}. Prediction functions are not supported."
        )
    if transformations is None:
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            return FrozenEstimator(model[:-1]), FrozenEstimator(model[-1])
        return None, FrozenEstimator(model)
    if isinstance(transformations, list):
        return FrozenEstimator(_from_tuples(transformations, X)), FrozenEstimator(model)
    if not hasattr(transformations, "transform"):
        raise TypeError(
            "transformations must be a fitted ColumnTransformer (or transformer) or a list of "
            f"([columns], transformer) tuples; got {type(transformations).__name__}."
        )
    return FrozenEstimator(transformations), FrozenEstimator(model)


# --------------------------------------------------------------------------- explainers
def _rows(X):
    """Examples as 2-D rows: one 1-D row becomes a 1-row matrix, as in interpret-community."""
    if isinstance(X, pd.Series):
        return X.to_frame().T
    if isinstance(X, pd.DataFrame) or hasattr(X, "tocsr"):
        return X
    X = np.asarray(X)
    return X.reshape(1, -1) if X.ndim == 1 else X


class _FacadeExplainer:
    """Shared construction, relabelling and explain calls of the facade explainers."""

    _explainer = "auto"

    def __init__(self, model, initialization_examples, features, classes, transformations,
                 params: dict) -> None:  # fmt: skip
        known = set(ExplainablePipeline().get_params()) - set(_FACADE_PARAMS)
        unknown = sorted(set(params) - known)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unknown}; it accepts "
                f"the ExplainablePipeline parameters {sorted(known)}."
            )
        self.model = model
        self.features = None if features is None else [str(f) for f in features]
        self.classes = None if classes is None else list(classes)
        self.transformations = transformations
        self.params = params
        self.pipeline_ = None
        if initialization_examples is not None:
            self.pipeline_ = self._fit(_rows(initialization_examples))

    def _fit(self, X, y=None) -> ExplainablePipeline:
        pre, est = _split_model(self.model, self.transformations, X)
        # interpret-community sums engineered TreeSHAP values per raw column: keep its convention
        params = {"tree_players": "sum", **self.params}
        ep = ExplainablePipeline(pre, est, explainer=self._explainer, **params)
        return ep.fit(X, y)

    def _relabel_local(self, local: LocalExplanation) -> LocalExplanation:
        features, classes = self._names(local.features, local.classes)
        if features == local.features and classes == local.classes:
            return local
        groups = None if local.groups is None else dict(local.groups)
        return LocalExplanation(
            local.values, local.expected_values, features, classes=classes,
            method=local.method, space=local.space, output=local.output, data=local.data,
            predictions=local.predictions, groups=groups, meta=local.meta,
        )  # fmt: skip

    def _names(self, features: list, classes: list | None):
        if self.features is not None:
            if len(self.features) != len(features):
                raise ValueError(
                    f"features has {len(self.features)} names but the explanation has "
                    f"{len(features)} columns ({features[:5]}...); pass one name per raw column "
                    "of the examples."
                )
            features = self.features
        if self.classes is not None and classes is not None:
            if len(self.classes) != len(classes):
                raise ValueError(
                    f"classes has {len(self.classes)} names but the model has {len(classes)} "
                    f"classes {classes}."
                )
            classes = self.classes
        return features, classes

    def explain_local(self, evaluation_examples) -> LocalExplanation:
        """Per-row attributions to the raw columns of ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like or DataFrame of shape (n_rows, n_features)
            Rows to explain; a single 1-D row is explained as one row.

        Returns
        -------
        LocalExplanation
            ``local_importance_values`` is ``[class][row][feature]`` for classifiers,
            ``[row][feature]`` for regressors.
        """
        X = _rows(evaluation_examples)
        return self._relabel_local(self._pipeline().explain_local(X))

    def explain_global(self, evaluation_examples, true_labels=None) -> GlobalExplanation:
        """Importance of each raw column over ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like or DataFrame of shape (n_rows, n_features)
        true_labels : array-like of shape (n_rows,), default=None
            Required by :class:`PFIExplainer`, ignored by the others.

        Returns
        -------
        GlobalExplanation
            With its local explanation (``local_importance_values``, ...), and for
            :class:`MimicExplainer` the surrogate's ``fidelity``.
        """
        X = _rows(evaluation_examples)
        local = self.explain_local(X)
        return GlobalExplanation.from_local(local, fidelity=local.meta.get("fidelity"))

    def _pipeline(self) -> ExplainablePipeline:
        return self.pipeline_


class TabularExplainer(_FacadeExplainer):
    """Explain a fitted model with the SHAP method that suits it.

    Tree models get TreeSHAP, linear models the closed form, any other model
    Shapley values over the raw columns (exact up to 12 columns, else KernelSHAP),
    as ``ExplainablePipeline(explainer="auto")`` chooses.

    Parameters
    ----------
    model : fitted estimator or Pipeline
    initialization_examples : array-like or DataFrame
        Training (or representative) rows; the background is a summary of them.
    features : list of str, default=None
        Names of the raw columns (the columns of the examples).
    classes : list, default=None
        Names of the classes, in the model's ``classes_`` order.
    transformations : fitted ColumnTransformer or list of ([columns], transformer), default=None
        The fitted preprocessing the model's input comes from.
    **kwargs : dict
        :class:`ExplainablePipeline` parameters (``background``, ``n_samples``,
        ``model_output``, ``random_state``, ...). ``background`` defaults to 10 rows.
    """

    def __init__(self, model, initialization_examples, features=None, classes=None,
                 transformations=None, **kwargs) -> None:  # fmt: skip
        kwargs.setdefault("background", _DEFAULT_BACKGROUND)
        super().__init__(model, initialization_examples, features, classes, transformations,
                         kwargs)  # fmt: skip


class MimicExplainer(_FacadeExplainer):
    """Explain a fitted model through a global surrogate that learns its output.

    Parameters
    ----------
    model : fitted estimator or Pipeline
    initialization_examples : array-like or DataFrame
        Rows the surrogate is trained on (with the model's output on them).
    explainable_model : LGBMExplainableModel, LinearExplainableModel, SGDExplainableModel, \
            DecisionTreeExplainableModel, surrogate name or regressor
        The surrogate (class or instance).
    augment_data : bool, default=False
        Oversample the examples when there are few rows per column.
    max_num_of_augmentations : int, default=10
    features, classes, transformations
        As for :class:`TabularExplainer`.
    **kwargs : dict
        ``explainable_model_args`` (parameters of the surrogate regressor) and
        :class:`ExplainablePipeline` parameters.
    """

    _explainer = "mimic"

    def __init__(self, model, initialization_examples, explainable_model, augment_data=False,
                 max_num_of_augmentations=10, features=None, classes=None, transformations=None,
                 **kwargs) -> None:  # fmt: skip
        args = kwargs.pop("explainable_model_args", None)
        kwargs["surrogate"] = _surrogate_param(explainable_model, args, kwargs.get("random_state"))
        kwargs["augment_data"] = augment_data
        kwargs["max_num_of_augmentations"] = max_num_of_augmentations
        super().__init__(model, initialization_examples, features, classes, transformations,
                         kwargs)  # fmt: skip

    @property
    def surrogate_model(self):
        """The fitted surrogate (one regressor per explained output)."""
        return self.pipeline_.surrogate_


class PFIExplainer(_FacadeExplainer):
    """Permutation feature importance of the raw columns (global only).

    Parameters
    ----------
    model : fitted estimator or Pipeline
    features, classes, transformations
        As for :class:`TabularExplainer`.
    **kwargs : dict
        :class:`ExplainablePipeline` parameters, notably ``scoring`` (default: the
        model's ``score``: accuracy or R^2), ``n_repeats`` (5) and ``random_state``.
    """

    _explainer = "pfi"

    def __init__(self, model, features=None, classes=None, transformations=None,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(model, None, features, classes, transformations, kwargs)

    def explain_local(self, evaluation_examples) -> LocalExplanation:
        """Not available: PFI is global only."""
        raise ValueError(
            "PFIExplainer is global only (permutation importance has no per-row values); use "
            "explain_global(evaluation_examples, true_labels), or TabularExplainer / "
            "MimicExplainer for local explanations."
        )

    def explain_global(self, evaluation_examples, true_labels=None) -> GlobalExplanation:
        """Mean score decrease when each raw column is shuffled, with its ``std``.

        Parameters
        ----------
        evaluation_examples : array-like or DataFrame of shape (n_rows, n_features)
        true_labels : array-like of shape (n_rows,)
            Required.

        Returns
        -------
        GlobalExplanation
        """
        if true_labels is None:
            raise ValueError(
                "PFIExplainer.explain_global needs true_labels: permutation importance measures "
                "how much the score against the true labels drops when a column is shuffled."
            )
        X = _rows(evaluation_examples)
        self.pipeline_ = self._fit(X, true_labels)
        exp = self.pipeline_.explain_global(X, true_labels)
        features, _ = self._names(exp.features, None)
        return GlobalExplanation(
            exp.values, features, method=exp.method, space=exp.space, output=exp.output,
            std=exp.std, n_rows=exp.n_rows, meta=exp.meta,
        )  # fmt: skip
