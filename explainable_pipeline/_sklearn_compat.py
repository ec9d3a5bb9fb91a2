"""The one module that touches scikit-learn private API and third-party shims.

Every use of a private scikit-learn name, and every patch that keeps an older
third-party package importable, lives here so that a scikit-learn upgrade is
fixed in one place. Add plain functions; keep each one small, with a public-API
fallback where there is one.

Contents
--------
onehot_n_outputs_per_feature
    Output width of each input feature of a fitted ``OneHotEncoder``.
column_transformer_input_indices
    Input column positions of each fitted ``ColumnTransformer`` transformer.
load_sklearn_pandas
    Import ``sklearn_pandas`` (for ``DataFrameMapper``) on scikit-learn >= 1.7.
fit_context, HasMethods, Interval, StrOptions
    Parameter validation at ``fit`` (``sklearn.base._fit_context``,
    ``sklearn.utils._param_validation``).
routing_enabled
    Whether metadata routing is on (``sklearn.utils.metadata_routing._routing_enabled``).
safe_indexing
    Row/column indexing of arrays, sparse matrices, DataFrames and lists.
svm_internals, neighbors_training_data, ovr_decision_function
    Fitted internals that the exact fast evaluation paths of the Shapley engine read.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.base import _fit_context as fit_context
from sklearn.utils import _safe_indexing as safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _routing_enabled as routing_enabled

from ._optional import install_hint

__all__ = [
    "HasMethods",
    "column_transformer_input_indices",
    "Interval",
    "StrOptions",
    "fit_context",
    "load_sklearn_pandas",
    "neighbors_training_data",
    "onehot_n_outputs_per_feature",
    "ovr_decision_function",
    "routing_enabled",
    "safe_indexing",
    "svm_internals",
]

_PANDAS_MAPPER_HINT = install_hint("pandas-mapper", "sklearn-pandas", "six")


def column_transformer_input_indices(ct: Any) -> dict[str, np.ndarray] | None:
    """Input column positions of each transformer of a fitted ``ColumnTransformer``.

    Reads the private ``_transformer_to_input_indices`` (name -> positions, the
    remainder included) that ``transform`` itself uses; None when it is missing.
    """
    indices = getattr(ct, "_transformer_to_input_indices", None)
    return None if indices is None else dict(indices)


def onehot_n_outputs_per_feature(encoder: Any) -> list[int]:
    """Number of output columns that a fitted ``OneHotEncoder`` makes per input.

    Uses the encoder's private ``_n_features_outs`` (what its own ``transform``
    uses) when present, else recomputes it from public fitted attributes
    (``categories_``, ``drop_idx_``, ``infrequent_categories_``).

    Parameters
    ----------
    encoder : sklearn.preprocessing.OneHotEncoder
        A fitted encoder.

    Returns
    -------
    list of int
        One count per input feature, in input order.
    """
    private = getattr(encoder, "_n_features_outs", None)
    if private is not None and len(private) == len(encoder.categories_):
        return [int(n) for n in private]
    counts = []
    drop_idx = getattr(encoder, "drop_idx_", None)
    try:
        infrequent = encoder.infrequent_categories_
    except AttributeError:  # infrequent grouping disabled
        infrequent = [None] * len(encoder.categories_)
    for i, cats in enumerate(encoder.categories_):
        n = len(cats)
        if infrequent[i] is not None:
            n -= len(infrequent[i]) - 1
        if drop_idx is not None and drop_idx[i] is not None:
            n -= 1
        counts.append(n)
    return counts


def _tosequence(x: Any) -> Sequence:
    """Stand-in for ``sklearn.utils.tosequence`` (removed in scikit-learn 1.7).

    Same behaviour as the removed helper: return ``x`` when it already is a
    sequence, an ndarray for arrays, else ``list(x)``.
    """
    if isinstance(x, np.ndarray):
        return np.asarray(x)
    if isinstance(x, Sequence):
        return x
    return list(x)


def load_sklearn_pandas() -> ModuleType:
    """Import and return the ``sklearn_pandas`` module.

    sklearn-pandas 2.2.0 (its last release) does ``from sklearn.utils import
    tosequence``, a helper that scikit-learn removed in 1.7, and imports
    ``six`` without declaring it. When scikit-learn lacks ``tosequence``, this
    function registers a small stand-in on ``sklearn.utils`` (same behaviour as
    the removed helper; nothing else is patched) before importing.

    Returns
    -------
    module
        The ``sklearn_pandas`` module (``sklearn_pandas.DataFrameMapper``...).

    Raises
    ------
    ImportError
        When ``sklearn-pandas`` or ``six`` is not installed; the message gives the
        install command for the ``pandas-mapper`` extra.

    Examples
    --------
    >>> from explainable_pipeline import load_sklearn_pandas
    >>> DataFrameMapper = load_sklearn_pandas().DataFrameMapper  # doctest: +SKIP
    """
    import sklearn.utils

    try:
        import six  # noqa: F401  (sklearn-pandas needs it and does not declare it)
    except ImportError as exc:
        raise ImportError(
            "DataFrameMapper support needs sklearn-pandas and six, and six is not "
            f"installed. {_PANDAS_MAPPER_HINT}"
        ) from exc
    if not hasattr(sklearn.utils, "tosequence"):
        sklearn.utils.tosequence = _tosequence
    try:
        import sklearn_pandas
    except ImportError as exc:
        raise ImportError(
            "DataFrameMapper support needs sklearn-pandas, which could not be "
            f"imported ({exc}). {_PANDAS_MAPPER_HINT}"
        ) from exc
    return sklearn_pandas


# -- model internals read by the exact fast evaluation paths (explainers/_eval_*.py) ----------
# Each returns None when the attribute is missing, and the engine then uses the black box.


def svm_internals(svm: Any) -> dict | None:
    """libsvm's effective gamma and Platt scaling of a fitted SVC/NuSVC/SVR/NuSVR.

    ``_gamma`` is what ``gamma="scale"``/``"auto"`` resolved to; ``_probA``/``_probB``
    are the pairwise sigmoids of ``probability=True`` (empty otherwise).
    """
    gamma = getattr(svm, "_gamma", None)
    if gamma is None:
        return None
    return {
        "gamma": float(gamma),
        "probA": np.asarray(getattr(svm, "_probA", ()), dtype=np.float64).reshape(-1),
        "probB": np.asarray(getattr(svm, "_probB", ()), dtype=np.float64).reshape(-1),
    }


def neighbors_training_data(knn: Any) -> tuple[Any, np.ndarray] | None:
    """The fitted neighbours of a ``KNeighbors*`` estimator: ``(_fit_X, _y)``."""
    fit_X, y = getattr(knn, "_fit_X", None), getattr(knn, "_y", None)
    return None if fit_X is None or y is None else (fit_X, np.asarray(y))


def ovr_decision_function(predictions, confidences, n_classes: int) -> np.ndarray:
    """``sklearn.utils.multiclass._ovr_decision_function``: one-vs-one votes to one-vs-rest."""
    from sklearn.utils.multiclass import _ovr_decision_function

    return _ovr_decision_function(predictions, confidences, n_classes)
