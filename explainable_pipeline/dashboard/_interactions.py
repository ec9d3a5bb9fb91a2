"""Shapley interaction values for the dashboard: a small duck-typed interface.

``ExplanationDashboard(local, interactions=...)`` takes either

* an object with ``values`` and, optionally, ``features`` and ``classes`` (the
  ``InteractionExplanation`` of ``ep.explain_interactions(X)``, or anything shaped alike), or
* a plain array, whose players are then the explanation's features, in its order.

``values`` is ``(n_rows, n_players, n_players)`` for a single output, or class-major
``(n_classes, n_rows, n_players, n_players)`` like ``LocalExplanation.values`` (the
shap-style ``(n_rows, n_players, n_players, n_classes)`` is also accepted). ``[.., i, i]``
is player i's main effect and ``[.., i, j]`` (i != j) half of the i-j interaction, so each
row of the matrix sums to that player's attribution. The rows are the explanation's rows,
in its order; ``features`` must be the explanation's features (any order). A warning says
so when the values do not add up to the explanation's attributions (other rows, another
explainer).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Interactions:
    values: np.ndarray  # (n_outputs, n_rows, p, p), players in the explanation's order
    features: list
    strength_all: list | None = None  # mean_abs(c) over all rows, per output (built once)

    def __post_init__(self) -> None:
        # like global importance: the all-rows aggregate is computed with the dashboard, so
        # opening the view costs no pass over (rows x players x players) values
        if self.strength_all is None:
            self.strength_all = [self.mean_abs(c) for c in range(self.values.shape[0])]

    def mean_abs(self, c: int, rows: np.ndarray | None = None, chunk: int = 8192) -> np.ndarray:
        """(p, p) mean |value| over ``rows`` for output ``c``; off-diagonal: |v_ij + v_ji|.

        In chunks of rows, so the temporaries stay small whatever the number of rows.
        """
        v = self.values[c]
        if rows is None and self.strength_all is not None:
            return self.strength_all[c]
        rows = np.arange(v.shape[0]) if rows is None else np.asarray(rows)
        p = v.shape[1]
        pair, main = np.zeros((p, p)), np.zeros(p)
        for start in range(0, rows.size, chunk):
            block = v[rows[start : start + chunk]]
            pair += np.abs(block + np.swapaxes(block, 1, 2)).sum(axis=0)
            main += np.abs(np.diagonal(block, axis1=1, axis2=2)).sum(axis=0)
        n = max(rows.size, 1)
        pair /= n
        np.fill_diagonal(pair, main / n)
        return pair

    def pair_values(self, c: int, a: str, b: str, rows: np.ndarray) -> np.ndarray:
        """Per row: the whole a-b interaction (``v_ab + v_ba``), or a's main effect if a == b."""
        i, j = self.features.index(a), self.features.index(b)
        v = self.values[c][rows]
        return v[:, i, i] if i == j else v[:, i, j] + v[:, j, i]


def ranked_pairs(strength: np.ndarray, features: list) -> list:
    """[(feature i, feature j, strength[i, j])] for i < j, strongest first."""
    i, j = np.triu_indices(len(features), k=1)
    order = np.argsort(-strength[i, j], kind="stable")
    return [(features[i[o]], features[j[o]], float(strength[i[o], j[o]])) for o in order]


def as_interactions(obj: Any, local: Any, rtol: float = 1e-6) -> Interactions | None:
    """Normalise ``interactions=`` against the explanation ``local`` (see the module doc)."""
    if obj is None:
        return None
    values = np.asarray(getattr(obj, "values", obj))
    features = getattr(obj, "features", None)
    features = [str(f) for f in (local.features if features is None else features)]
    local_features = [str(f) for f in local.features]
    n_out = 1 if local.values.ndim == 2 else local.values.shape[0]
    n, p = local.n_rows, len(features)
    if values.ndim == 3:
        values = values[None]
    elif values.ndim == 4 and values.shape[:2] != (n_out, n) and values.shape[-1] == n_out:
        values = np.moveaxis(values, -1, 0)  # shap style: classes last
    if values.ndim != 4 or values.shape != (n_out, n, p, p):
        raise ValueError(
            f"interactions values must have shape ({n}, {p}, {p}) for a single output or "
            f"({n_out}, {n}, {p}, {p}) per class (the explanation's rows and players); got "
            f"{np.shape(getattr(obj, 'values', obj))}."
        )
    if sorted(features) != sorted(local_features):
        raise ValueError(
            f"interactions features {features} are not the explanation's features "
            f"{local_features}."
        )
    classes = getattr(obj, "classes", None)
    if classes is not None and local.classes is not None and [str(c) for c in classes] != [
        str(c) for c in local.classes
    ]:
        raise ValueError(f"interactions classes {list(classes)} differ from the explanation's "
                         f"{list(local.classes)}.")  # fmt: skip
    if features != local_features:  # reorder the players as the explanation's
        order = [features.index(f) for f in local_features]
        values = values[:, :, order][:, :, :, order]
    attributions = local.values[None] if local.values.ndim == 2 else local.values
    gap = float(np.max(np.abs(values.sum(axis=-1) - attributions)))
    scale = max(1.0, float(np.max(np.abs(attributions))))
    if np.issubdtype(values.dtype, np.floating):  # float32 values sum to ~1e-6 relative
        rtol = max(rtol, 100 * float(np.finfo(values.dtype).eps))
    if gap > rtol * scale:
        warnings.warn(
            f"The interaction values do not add up to the explanation's attributions (max "
            f"difference {gap:.3g}): they may come from other rows or another explainer.",
            UserWarning,
            stacklevel=3,
        )
    return Interactions(values, local_features)
