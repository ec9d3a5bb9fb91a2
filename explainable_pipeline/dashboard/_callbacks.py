"""What each Dash callback computes, as plain methods (tested without a browser).

``_app.py`` only wires these to component ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _figures as figs
from ._data import AUTO_CLASS, DashboardData, format_prediction

WHATIF_MAX_FEATURES = 30


def row_from_click(click: dict | None) -> int | None:
    """Dataset row position from a plotly ``clickData`` payload (None when absent)."""
    if not click or not click.get("points"):
        return None
    custom = click["points"][0].get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    return None if custom is None else int(custom)


def _fmt(value: Any) -> str:
    if pd.isna(value):
        return "missing"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Views:
    """The dashboard's views for one :class:`DashboardData`."""

    def __init__(self, data: DashboardData) -> None:
        self.data = data

    @property
    def initial_row(self) -> int:
        return int(self.data.sample[0])

    # ------------------------------------------------------------------ global
    def data_figure(self, x: str, y: str, color: str | None, row: int | None) -> Any:
        return figs.data_scatter(self.data, x, y, color or None, row)

    def importance_figure(self, k: int) -> Any:
        return figs.global_bar(self.data, k)

    def dependence_figure(self, feature: str, color: str | None, cls: Any, row: int | None) -> Any:
        return figs.dependence(self.data, feature, color or None, cls, row)

    def summary_figure(self, k: int, kind: str, cls: Any) -> Any:
        return figs.summary(self.data, k, kind, cls)

    # ------------------------------------------------------------------ local
    def top_feature(self, row: int, cls: Any) -> tuple[str, float]:
        """The feature with the largest |attribution| for ``row`` (class ``cls``)."""
        c = self.data.class_index(cls, row)
        values = self.data.values[c, row]
        j = int(np.argmax(np.abs(values)))
        return self.data.features[j], float(values[j])

    def local(self, row: int, k: int, cls: Any) -> tuple[Any, str, list]:
        """(figure, "Top feature: ..." text, [(feature, raw value), ...] for the top-k)."""
        fig = figs.local_row(self.data, row, k, cls)
        name, value = self.top_feature(row, cls)
        c = self.data.class_index(cls, row)
        out = self.data.explained_output()[c, row]
        label = "" if self.data.classes is None else f" for class {self.data.classes[c]}"
        text = (
            f"Row {row}: explained {self.data.local.output}{label} = {out:.4f}. "
            f"Top feature: {name} ({value:+.4f})"
        )
        table = [(f, _fmt(self.data.data[f].iloc[row])) for f in self.data.top_features(k)
                 if f in self.data.columns]  # fmt: skip
        return fig, text, table

    # ------------------------------------------------------------------ what-if
    def whatif_columns(self) -> list:
        """Editable raw columns: the most important first, at most WHATIF_MAX_FEATURES."""
        ranked = [
            f for f in self.data.top_features(len(self.data.features)) if f in self.data.columns
        ]
        rest = [c for c in self.data.columns if c not in ranked]
        return (ranked + rest)[:WHATIF_MAX_FEATURES]

    def whatif_values(self, row: int) -> list:
        """The row's raw values of the editable columns (None for missing)."""
        frame = self.data.row_frame(row)
        out = []
        for col in self.whatif_columns():
            v = frame[col].iloc[0]
            if pd.isna(v):
                out.append(None)
            elif col in self.data.categorical:
                out.append(v.item() if hasattr(v, "item") else v)
            else:
                out.append(float(v))
        return out

    def prediction_text(self, frame: Any) -> str:
        model = self.data.model
        return format_prediction(model.outputs(frame)[0], model.output_names, model.is_classifier)

    def whatif(self, row: int, values: list, k: int, cls: Any) -> tuple[str, Any]:
        """(prediction text, local figure) for ``row`` with the editable columns set to values."""
        edits = dict(zip(self.whatif_columns(), values, strict=True))
        frame = self.data.edited_row(row, edits)
        text = self.prediction_text(frame)
        local = self.data.model.explain(frame)
        if local is None:
            return text, figs.empty("The model has no explain_local: only the prediction updates.")
        vals = local.values[None] if local.values.ndim == 2 else local.values
        ev = np.atleast_1d(np.asarray(local.expected_values, dtype=float))
        if local.n_classes is None or cls not in (local.classes or []):
            c = int(np.argmax(vals[:, 0].sum(-1) + ev)) if cls in (None, AUTO_CLASS) else 0
        else:
            c = list(local.classes).index(cls)
        suffix = "" if local.classes is None else f" — class {local.classes[c]}"
        fig = figs.local_bar(vals[c, 0], local.features, k,
                             f"What-if attributions of row {row} (edited){suffix}")  # fmt: skip
        return text, fig

    # ------------------------------------------------------------------ ICE
    def ice_figure(self, row: int, column: str, cls: Any, n_others: int = 20) -> Any:
        grid, rows, curves = self.data.ice_curves(row, column, n_others)
        model = self.data.model
        names = model.output_names
        if model.is_classifier:
            if cls in (None, AUTO_CLASS):
                c = int(np.argmax(model.outputs(self.data.row_frame(row))[0]))
            else:
                c = names.index(str(cls))
            name = f"p({names[c]})"
        else:
            c, name = 0, names[0]
        return figs.ice(grid, rows, curves, column, c, name)
