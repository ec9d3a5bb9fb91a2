"""Static matplotlib plots of :class:`InteractionExplanation` (``exp.plot(kind=...)``).

Reuses ``_plot``'s helpers (lazy matplotlib, axes, class rule, feature columns).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._plot import _feature_column, _new_ax, _pyplot

KINDS = ("heatmap", "interaction")


def _class_values(exp: Any, class_index: int | None) -> tuple[np.ndarray, str]:
    """(n_rows, P, P) values of one class (binary default: class 1) and a title suffix."""
    if exp.n_classes is None:
        if class_index is not None:
            raise ValueError("class_index must be None for a single-output explanation.")
        return exp.values, ""
    n = exp.n_classes
    c = (1 if n == 2 else 0) if class_index is None else class_index
    if not -n <= c < n:
        raise IndexError(f"class_index must be in [0, {n}); got {c}.")
    c %= n
    label = exp.classes[c] if exp.classes is not None else c
    return exp.values[c], f" (class {label})"


def plot_interactions(exp: Any, kind: str = "heatmap", *, features: Any = None,
                      class_index: int | None = None, top_k: int = 12, ax: Any = None) -> Any:  # fmt: skip
    """Draw interaction values; see :meth:`InteractionExplanation.plot`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; got {top_k!r}.")
    _pyplot()
    values, suffix = _class_values(exp, class_index)
    if kind == "heatmap":
        mean = np.abs(values).mean(axis=0)
        order = np.argsort(-mean.sum(1), kind="stable")[:top_k]
        sub = mean[np.ix_(order, order)]
        ax = _new_ax(ax, 0.45 * len(order) + 2.0)
        image = ax.imshow(sub, cmap="Reds")
        names = [str(exp.features[i]) for i in order]
        ax.set_xticks(range(len(order)), names, rotation=60, ha="right")
        ax.set_yticks(range(len(order)), names)
        ax.figure.colorbar(image, ax=ax, label=f"mean |interaction value| ({exp.output})")
        ax.set_title(f"Main effects (diagonal) and interactions{suffix}")
        return ax
    if features is None:
        ranked = exp.get_ranked_interactions(top_k=1)
        if not ranked:
            raise ValueError("kind='interaction' needs at least two features.")
        features = ranked[0][:2]
    a, b = features
    for f in (a, b):
        if f not in exp.features:
            raise ValueError(f"feature {f!r} is not explained; known: {exp.features!r}.")
    i, j = exp.features.index(a), exp.features.index(b)
    local = exp.to_local()
    x = _feature_column(local, a)
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    xs = x.to_numpy(dtype=float) if numeric else pd.Categorical(x.astype(str)).codes
    col = _feature_column(local, b)
    if pd.api.types.is_numeric_dtype(col):
        kw = {"c": col.to_numpy(dtype=float), "cmap": "viridis"}
    else:
        kw = {"c": pd.Categorical(col.astype(str)).codes, "cmap": "tab10"}
    ax = _new_ax(ax, 4.5)
    points = ax.scatter(xs, 2.0 * values[:, i, j], s=10, **kw)
    ax.figure.colorbar(points, ax=ax, label=str(b))
    if not numeric:
        levels = pd.Categorical(x.astype(str)).categories
        ax.set_xticks(range(len(levels)), levels)
    ax.axhline(0, color="#555", linewidth=0.8)
    ax.set_xlabel(str(a))
    ax.set_ylabel(f"interaction of {a} and {b} ({exp.output})")
    ax.set_title(f"Interaction {a} x {b}{suffix}")
    return ax
