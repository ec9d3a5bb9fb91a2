"""interpret-community's explainable (surrogate) model names for MimicExplainer.

Each class names a surrogate family and the method string interpret-community reports for
it (``mimic.lightgbm``, ...). MimicExplainer fits it with interpret-community's rules (see
``_distill``): a regressor for binary classifiers (on the log-odds) and regressors, a
classifier for multiclass models, seeded as there. ``explainable_model_args`` are passed
to the underlying scikit-learn / LightGBM estimator (``sparse_data=True`` picks the sparse
linear variants, as there); interpret-community's internal arguments (``classification``,
``multiclass``, ``shap_values_output``) are ignored.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DecisionTreeExplainableModel",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "SGDExplainableModel",
]

#: interpret-community's internal surrogate arguments, set by the explainer itself.
_INTERNAL = {"classification", "multiclass", "shap_values_output"}


class _ExplainableModel:
    """A surrogate choice for :class:`MimicExplainer` (pass the class or an instance).

    Parameters
    ----------
    **params : dict
        Parameters of the underlying scikit-learn / LightGBM estimator.
    """

    family = ""
    method = ""

    def __init__(self, **params: Any) -> None:
        self.params = params


class LGBMExplainableModel(_ExplainableModel):
    """LightGBM surrogate (regressor, or classifier for multiclass models), TreeSHAP (``mimic.lightgbm``)."""

    family = "lightgbm"
    method = "mimic.lightgbm"


class LinearExplainableModel(_ExplainableModel):
    """Linear / logistic regression surrogate, explained in closed form (``mimic.linear``)."""

    family = "linear"
    method = "mimic.linear"


class SGDExplainableModel(_ExplainableModel):
    """SGD linear surrogate (regressor or classifier), explained in closed form (``mimic.sgd``)."""

    family = "sgd"
    method = "mimic.sgd"


class DecisionTreeExplainableModel(_ExplainableModel):
    """Decision tree surrogate (regressor or classifier), explained with TreeSHAP (``mimic.tree``)."""

    family = "decision_tree"
    method = "mimic.tree"


_BY_NAME = {c.family: c for c in (LGBMExplainableModel, LinearExplainableModel,
                                  SGDExplainableModel, DecisionTreeExplainableModel)}  # fmt: skip


def surrogate_choice(explainable_model: Any, args: dict | None) -> tuple[Any, dict, str]:
    """``(family or regressor, estimator parameters, method string)`` of an explainable model."""
    if isinstance(explainable_model, type) and issubclass(explainable_model, _ExplainableModel):
        cls, params = explainable_model, dict(args or {})
    elif isinstance(explainable_model, _ExplainableModel):
        cls, params = type(explainable_model), {**explainable_model.params, **(args or {})}
    elif isinstance(explainable_model, str) and explainable_model in _BY_NAME:
        cls, params = _BY_NAME[explainable_model], dict(args or {})
    elif hasattr(explainable_model, "fit") and hasattr(explainable_model, "predict"):
        return explainable_model, {}, f"mimic.{type(explainable_model).__name__.lower()}"
    else:
        raise TypeError(
            "explainable_model must be LGBMExplainableModel, LinearExplainableModel, "
            "SGDExplainableModel or DecisionTreeExplainableModel (class or instance), a surrogate "
            f"name or a regressor; got {explainable_model!r}."
        )
    params = {k: v for k, v in params.items() if k not in _INTERNAL}
    return cls.family, params, cls.method
