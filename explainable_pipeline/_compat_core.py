"""TEMPORARY: merged into _sklearn_compat.py once the feature-map work lands."""

from sklearn.base import _fit_context as fit_context
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _routing_enabled as routing_enabled

__all__ = ["HasMethods", "Interval", "StrOptions", "fit_context", "routing_enabled", "safe_indexing"]
