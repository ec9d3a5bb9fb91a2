"""Static matplotlib plots of explanations (``explanation.plot(kind=...)``).

matplotlib is imported inside :func:`plot_explanation` only. With no display (no ``DISPLAY``
on Linux, as in CI) matplotlib picks its non-interactive Agg backend itself; the plots never
call ``plt.show``.

Figures made here use matplotlib's constrained layout, and widen with the longest label, so
long column names are not clipped when a figure is saved without ``bbox_inches="tight"``.

Class rule: ``class_index=None`` means the row's highest explained output for ``kind="local"``,
and otherwise the positive class of a binary model (index 1) or the first class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._optional import import_optional
from ._ranking import rank_order

KINDS = ("global", "local", "summary", "dependence")
MAX_LEGEND_LEVELS = 10
"""A categorical colour column shows at most this many levels; the rarer ones are "other"."""


def _pyplot() -> Any:
    (plt,) = import_optional("matplotlib.pyplot", extra="plot", what="explanation.plot")
    return plt


def _local_part(explanation: Any, kind: str) -> Any:
    from ._explanation import GlobalExplanation

    if isinstance(explanation, GlobalExplanation):
        return explanation._require_local()
    return explanation


def _values3(local: Any) -> np.ndarray:
    return local.values[None] if local.values.ndim == 2 else local.values


def _class_pos(local: Any, class_index: int | None, row: int | None = None) -> int:
    values = _values3(local)
    n = values.shape[0]
    if class_index is None:
        if n == 1:
            return 0
        if row is not None:
            ev = np.atleast_1d(np.asarray(local.expected_values, dtype=float))
            return int(np.argmax(values[:, row].sum(-1) + ev))
        return 1 if n == 2 else 0
    if not -n <= class_index < n:
        raise IndexError(f"class_index must be in [0, {n}); got {class_index}.")
    return int(class_index) % n


def _class_label(explanation: Any, c: int, n: int) -> str:
    if n == 1:
        return ""
    classes = explanation.classes
    return f" (class {classes[c] if classes is not None else c})"


def _feature_column(local: Any, feature: Any) -> pd.Series:
    data = local.data
    if data is None:
        raise ValueError(
            "kind='dependence' needs the explained rows: build the explanation with data= "
            "(ExplainablePipeline.explain_local keeps them)."
        )
    if isinstance(data, pd.DataFrame):
        if feature not in data.columns:
            raise ValueError(f"feature {feature!r} is not a column of the explanation's data.")
        return data[feature].reset_index(drop=True)
    if hasattr(data, "toarray"):
        data = data.toarray()
    return pd.Series(np.asarray(data)[:, local.features.index(feature)], name=feature)


def _new_ax(ax: Any, height: float, labels: Any = ()) -> Any:
    """``ax``, or the Axes of a new constrained-layout figure wide enough for ``labels``."""
    if ax is not None:
        return ax
    plt = _pyplot()
    longest = max((len(str(label)) for label in labels), default=0)
    width = min(7.0 + 0.08 * max(0, longest - 25), 16.0)  # about 0.08 inch per character
    return plt.subplots(figsize=(width, height), layout="constrained")[1]


def plot_explanation(explanation: Any, kind: str = "global", *, top_k: int = 10, row: int = 0,
                     class_index: int | None = None, feature: Any = None, color: Any = None,
                     ax: Any = None) -> Any:  # fmt: skip
    """Draw an explanation with matplotlib and return the ``Axes``.

    Parameters
    ----------
    explanation : LocalExplanation or GlobalExplanation
    kind : {"global", "local", "summary", "dependence"}, default="global"
        ``"global"``: horizontal bars of the top_k overall importances (highest on top).
        ``"local"``: signed bars of row ``row``'s top_k attributions ranked by magnitude
        (``rank_by="abs"``, largest on top), whatever their sign.
        ``"summary"``: beeswarm of the top_k features' attributions, coloured by feature value.
        ``"dependence"``: ``feature``'s value against its attribution, coloured by ``color``.
    top_k : int, default=10
    row : int, default=0
        Row position for ``kind="local"``.
    class_index : int, optional
        Class position for classification (see the module's class rule); ``kind="global"``
        uses overall importance unless it is given.
    feature, color : str, optional
        Dependence plot feature (default: the most important) and colouring feature.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; got {top_k!r}.")
    _pyplot()
    if kind == "global":
        return _plot_global(explanation, top_k, class_index, ax)
    local = _local_part(explanation, kind)
    if kind == "local":
        return _plot_local(local, top_k, row, class_index, ax)
    if kind == "summary":
        return _plot_summary(local, top_k, class_index, ax)
    return _plot_dependence(local, feature, color, class_index, ax)


def _plot_global(explanation: Any, top_k: int, class_index: int | None, ax: Any) -> Any:
    values = np.asarray(explanation.global_importance_values, dtype=float)
    suffix = ""
    if class_index is not None:
        per_class = explanation._require_per_class()
        if not -len(per_class) <= class_index < len(per_class):
            raise IndexError(f"class_index must be in [0, {len(per_class)}); got {class_index}.")
        values = np.asarray(per_class[class_index], dtype=float)
        suffix = _class_label(explanation, class_index % len(per_class), len(per_class))
    order = rank_order(values)[:top_k][::-1]
    labels = [str(explanation.features[i]) for i in order]
    ax = _new_ax(ax, 0.35 * len(order) + 1.5, labels)
    ax.barh(labels, values[order], color="#d62728")
    ax.set_xlabel("importance (mean |attribution|)")
    ax.set_title(f"Global importance{suffix}")
    return ax


def _plot_local(local: Any, top_k: int, row: int, class_index: int | None, ax: Any) -> Any:
    if not -local.n_rows <= row < local.n_rows:
        raise IndexError(f"row must be in [0, {local.n_rows}); got {row}.")
    row %= local.n_rows
    values3 = _values3(local)
    c = _class_pos(local, class_index, row)
    values = values3[c, row]
    order = rank_order(values, "abs")[:top_k][::-1]  # largest effect on top
    labels = [str(local.features[i]) for i in order]
    ax = _new_ax(ax, 0.35 * len(order) + 1.5, labels)
    colors = ["#d62728" if v >= 0 else "#1f77b4" for v in values[order]]
    ax.barh(labels, values[order], color=colors)
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel(f"attribution ({local.output})")
    ax.set_title(f"Local importance of row {row}{_class_label(local, c, values3.shape[0])}")
    return ax


def _plot_summary(local: Any, top_k: int, class_index: int | None, ax: Any) -> Any:
    values3 = _values3(local)
    c = _class_pos(local, class_index)
    values = values3[c]
    order = rank_order(np.abs(values).mean(0))[:top_k][::-1]
    ax = _new_ax(ax, 0.4 * len(order) + 1.5, [str(local.features[j]) for j in order])
    rng = np.random.default_rng(0)
    data = local.data if isinstance(local.data, pd.DataFrame) else None
    for pos, j in enumerate(order):
        shade = np.full(local.n_rows, 0.5)
        name = local.features[j]
        if data is not None and name in data.columns and pd.api.types.is_numeric_dtype(data[name]):
            v = data[name].to_numpy(dtype=float)
            if np.isfinite(v).any():
                lo, hi = np.nanpercentile(v, [5, 95])
                shade = np.clip((v - lo) / ((hi - lo) or 1.0), 0, 1)
                shade = np.where(np.isfinite(shade), shade, 0.5)
        y = pos + rng.uniform(-0.3, 0.3, local.n_rows)
        ax.scatter(values[:, j], y, c=shade, cmap="coolwarm", vmin=0, vmax=1, s=8)
    ax.set_yticks(range(len(order)), [str(local.features[j]) for j in order])
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel(f"attribution ({local.output}); colour: feature value low → high")
    ax.set_title(f"Summary of attributions{_class_label(local, c, values3.shape[0])}")
    return ax


def _plot_dependence(local: Any, feature: Any, color: Any, class_index: int | None,
                     ax: Any) -> Any:  # fmt: skip
    values3 = _values3(local)
    c = _class_pos(local, class_index)
    if feature is None:
        feature = local.features[int(np.argmax(np.abs(values3[c]).mean(0)))]
    if feature not in local.features:
        raise ValueError(f"feature {feature!r} is not explained; known: {local.features!r}.")
    x = _feature_column(local, feature)
    y = values3[c, :, local.features.index(feature)]
    ax = _new_ax(ax, 4.5)
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    xs = x.to_numpy(dtype=float) if numeric else pd.Categorical(x.astype(str)).codes
    col = None if color is None else _feature_column(local, color)
    if col is None:
        ax.scatter(xs, y, s=10)
    elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        points = ax.scatter(xs, y, s=10, c=col.to_numpy(dtype=float), cmap="viridis")
        ax.figure.colorbar(points, ax=ax, label=str(color))
    else:
        _scatter_by_level(ax, xs, y, col, str(color))
    if not numeric:
        levels = pd.Categorical(x.astype(str)).categories
        ax.set_xticks(range(len(levels)), levels)
    ax.set_xlabel(str(feature))
    ax.set_ylabel(f"attribution of {feature}")
    ax.set_title(f"Dependence of {feature}{_class_label(local, c, values3.shape[0])}")
    return ax


def _scatter_by_level(ax: Any, xs: np.ndarray, y: np.ndarray, col: pd.Series, title: str) -> None:
    """One scatter per level of a categorical colour column, named in a legend.

    Missing values are the level "missing"; beyond :data:`MAX_LEGEND_LEVELS` levels the
    rarest are drawn together as "other".
    """
    labels = col.astype(object).where(col.notna(), "missing").astype(str).to_numpy()
    counts = pd.Series(labels).value_counts(sort=True)  # most frequent first
    levels = sorted(counts.index)
    if len(levels) > MAX_LEGEND_LEVELS:
        kept = set(counts.index[: MAX_LEGEND_LEVELS - 1])
        labels = np.where(np.isin(labels, list(kept)), labels, "other")
        levels = [*sorted(kept), "other"]
    for k, level in enumerate(levels):
        mask = labels == level
        ax.scatter(xs[mask], y[mask], s=10, color=f"C{k % 10}", label=level)
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize="small", markerscale=1.5)  # fmt: skip


def save_global_bar(explanation: Any, path: Any, *, title: str, top_k: int = 10) -> None:
    """Write the ``kind="global"`` bar plot of ``explanation`` to an image file, headless.

    Parameters
    ----------
    explanation : GlobalExplanation
    path : str or path-like
        Image file to write (the format follows the suffix, e.g. ``.png``).
    title : str
    top_k : int, default=10
    """
    (matplotlib,) = import_optional("matplotlib", extra="plot", what="Saving a plot")
    matplotlib.use("Agg")
    plt = _pyplot()
    ax = plot_explanation(explanation, "global", top_k=top_k)
    ax.set_title(title)
    from ._fileio import atomic_path

    # constrained layout (see _new_ax): nothing clipped, no tight_layout needed
    with atomic_path(path) as tmp:  # a crash never leaves a truncated image
        ax.figure.savefig(tmp, dpi=110, format=Path(path).suffix[1:] or None)
    plt.close(ax.figure)
