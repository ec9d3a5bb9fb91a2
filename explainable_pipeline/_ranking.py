"""The one ranking rule of the package: :func:`rank_order` and the ``top_k`` check.

Every ranking method and view uses :func:`rank_order`: along the last axis, highest first,
by ``rank_by``:

* ``"signed"`` (the default of the ``get_ranked_*`` methods, whose names and order are
  interpret-community's ``_order_imp``: ``summary.argsort()[..., ::-1]``): by signed value, so a
  large negative local contribution ranks *last*;
* ``"abs"``: by magnitude, the order of the "what drove this prediction" views (the matplotlib
  local plot, the dashboard's local waterfall, the demo).

Global importances (mean ``|attribution|``) are non-negative, so both rules agree on them
(permutation importances can be negative: ``"signed"`` ranks a harmful column last).
interpret-community uses numpy's default (unstable) sort, so its tie order depends on the
platform; here ties are deterministic and come out in the order a stable ascending sort
reversed gives them, i.e. the later feature first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RANK_BY", "rank_order"]


def _check_top_k(top_k: Any) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, (int, np.integer)):
        raise TypeError(f"top_k must be None or a positive int; got {top_k!r}.")
    if top_k < 1:
        raise ValueError(f"top_k must be None or a positive int; got {top_k}.")
    return int(top_k)


RANK_BY = ("signed", "abs")


def rank_order(values: Any, rank_by: str = "signed") -> np.ndarray:
    """Indices ranking the last axis of ``values``, highest first (see the module's rule).

    Parameters
    ----------
    values : array-like
        Any shape; ranked along the last axis.
    rank_by : {"signed", "abs"}, default="signed"
        Rank by signed value or by magnitude.

    Returns
    -------
    ndarray of int
        Same shape as ``values``.
    """
    if rank_by not in RANK_BY:
        raise ValueError(f"rank_by must be one of {RANK_BY}; got {rank_by!r}.")
    values = np.asarray(values, dtype=float)
    key = values if rank_by == "signed" else np.abs(values)
    return np.argsort(key, axis=-1, kind="stable")[..., ::-1]


def _ranked(
    values: np.ndarray, features: list, top_k: Any, rank_by: str = "signed"
) -> tuple[list, list]:
    k = _check_top_k(top_k)
    order = rank_order(values, rank_by)[..., :k]
    names = np.array(features, dtype=object)[order].tolist()
    return names, np.take_along_axis(values, order, axis=-1).tolist()
