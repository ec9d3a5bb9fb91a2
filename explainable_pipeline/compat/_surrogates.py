"""interpret-community's explainable (surrogate) model names for MimicExplainer.

Each class names one of the core surrogates (``explainers/_mimic.py``) and the method
string interpret-community reports for it (``mimic.lightgbm``, ...). Parameters in
``explainable_model_args`` are passed to the surrogate regressor; those that only exist on
interpret-community's own surrogates (e.g. ``solver`` of its logistic surrogate,
``sparse_data``) are dropped with a warning naming them.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..explainers._mimic import make_surrogate

__all__ = [
    "DecisionTreeExplainableModel",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "SGDExplainableModel",
]

#: interpret-community surrogate arguments with no counterpart here (dropped silently).
_IGNORED_SILENTLY = {"sparse_data", "classification", "multiclass", "shap_values_output"}


class _ExplainableModel:
    """A surrogate choice for :class:`MimicExplainer` (pass the class or an instance).

    Parameters
    ----------
    **params : dict
        Parameters of the underlying scikit-learn / LightGBM regressor.
    """

    surrogate = ""
    method = ""

    def __init__(self, **params: Any) -> None:
        self.params = params

    @classmethod
    def _estimator(cls, params: dict | None = None, random_state=None):
        est = make_surrogate(cls.surrogate, random_state=random_state)
        params = dict(params or {})
        if cls.surrogate == "lightgbm" and "verbosity" in params:
            params["verbose"] = params.pop("verbosity")
        known = est.get_params()
        dropped = sorted(k for k in params if k not in known and k not in _IGNORED_SILENTLY)
        if dropped:
            warnings.warn(
                f"explainable_model_args {dropped} do not apply to the {type(est).__name__} "
                f"surrogate of {cls.__name__}; they are ignored (valid: {sorted(known)}).",
                UserWarning,
                stacklevel=4,
            )
        kept = {k: v for k, v in params.items() if k in known}
        return est.set_params(**kept) if kept else est


class LGBMExplainableModel(_ExplainableModel):
    """LightGBM regressor surrogate, explained with TreeSHAP (``mimic.lightgbm``)."""

    surrogate = "lightgbm"
    method = "mimic.lightgbm"


class LinearExplainableModel(_ExplainableModel):
    """Linear (ridge) regressor surrogate, explained in closed form (``mimic.linear``)."""

    surrogate = "linear"
    method = "mimic.linear"


class SGDExplainableModel(_ExplainableModel):
    """SGD linear regressor surrogate, explained in closed form (``mimic.sgd``)."""

    surrogate = "sgd"
    method = "mimic.sgd"


class DecisionTreeExplainableModel(_ExplainableModel):
    """Decision tree regressor surrogate, explained with TreeSHAP (``mimic.tree``)."""

    surrogate = "decision_tree"
    method = "mimic.tree"


_BY_NAME = {c.surrogate: c for c in (LGBMExplainableModel, LinearExplainableModel,
                                     SGDExplainableModel, DecisionTreeExplainableModel)}  # fmt: skip


def surrogate_param(explainable_model: Any, args: dict | None, random_state) -> tuple[Any, str]:
    """``(ExplainablePipeline(surrogate=...), method string)`` for an explainable model."""
    if isinstance(explainable_model, type) and issubclass(explainable_model, _ExplainableModel):
        cls, params = explainable_model, dict(args or {})
    elif isinstance(explainable_model, _ExplainableModel):
        cls, params = type(explainable_model), {**explainable_model.params, **(args or {})}
    elif isinstance(explainable_model, str) and explainable_model in _BY_NAME:
        cls, params = _BY_NAME[explainable_model], dict(args or {})
    elif hasattr(explainable_model, "fit") and hasattr(explainable_model, "predict"):
        return explainable_model, f"mimic.{type(explainable_model).__name__.lower()}"
    else:
        raise TypeError(
            "explainable_model must be LGBMExplainableModel, LinearExplainableModel, "
            "SGDExplainableModel or DecisionTreeExplainableModel (class or instance), a surrogate "
            f"name or a regressor; got {explainable_model!r}."
        )
    params = {k: v for k, v in params.items() if k not in _IGNORED_SILENTLY}
    if not params:
        return cls.surrogate, cls.method
    return cls._estimator(params, random_state), cls.method
