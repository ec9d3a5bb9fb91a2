"""What each Dash callback computes, as plain methods (tested without a browser).

``_app.py`` only wires these to component ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._ranking import rank_order
from . import _figures as figs
from ._data import AUTO_CLASS, DashboardData, format_prediction

WHATIF_MAX_FEATURES = 30


def clamp_top_k(value: Any, n_features: int) -> int:
    """A typed or slid top K as a whole number in 1..n_features."""
    return int(min(max(round(float(value)), 1), n_features))


def row_from_click(click: dict | None) -> int | None:
    """Dataset row position from a plotly ``clickData`` payload (None when absent)."""
    if not click or not click.get("points"):
        return None
    custom = click["points"][0].get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    return None if custom is None else int(custom)


def _same(a: Any, b: Any) -> bool:
    """Equal what-if values (numbers compared as floats, blanks as missing)."""
    a, b = (None if v in (None, "") else v for v in (a, b))
    if a is None or b is None:
        return a is b
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _fmt(value: Any) -> str:
    if pd.isna(value):
        return "missing"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Views:
    """The dashboard's views for one :class:`DashboardData`."""

    def __init__(self, data: DashboardData) -> None:
        self.data = data
        self._ranges: dict | None = None

    @property
    def initial_row(self) -> int:
        return int(self.data.sample[0])

    # ------------------------------------------------------------------ global
    def data_figure(self, x: str, y: str, color: str | None, row: int | None,
                    cohort: str | None = None) -> Any:  # fmt: skip
        st = self.data.cohorts.stats(cohort)
        return figs.data_scatter(self.data, x, y, color or None, row, st.sample,
                                 self.data.cohorts.sample_note(cohort))  # fmt: skip

    def importance_figure(self, k: int, cohort: str | None = None, compare: list | None = None,
                          cls: Any = None) -> Any:  # fmt: skip
        """Global importance of the active cohort, or of up to 4 cohorts side by side.

        ``compare``: cohort names shown next to the active one (grouped bars of mean
        |attribution| over the classes, or of class ``cls`` when one is chosen).
        """
        from ._cohorts import ALL, MAX_COMPARE
        from ._figures_model import cohort_importance

        reg = self.data.cohorts
        names = list(dict.fromkeys([cohort or ALL, *(compare or [])]))[:MAX_COMPARE]
        if len(names) == 1:
            name = "" if names[0] == ALL else names[0]
            return figs.global_bar(self.data, k, reg.stats(cohort), name)
        stats = [reg.stats(n) for n in names]
        if cls in (None, AUTO_CLASS) or self.data.classes is None:
            values, what = [s.importance for s in stats], "mean |attribution|"
        else:
            c = self.data.class_index(cls)
            values, what = [s.per_class[c] for s in stats], f"mean |attribution|, class {cls}"
        labels = [f"{n} ({s.rows.size:,} rows)" for n, s in zip(names, stats, strict=True)]
        top = min(int(k), len(self.data.features))
        return cohort_importance(labels, values, self.data.features, k,
                                 f"Global importance by cohort ({what}), top {top} of "
                                 f"{figs.plotly_text(names[0])}")  # fmt: skip

    def dependence_figure(self, feature: str, color: str | None, cls: Any, row: int | None,
                          cohort: str | None = None) -> Any:  # fmt: skip
        st = self.data.cohorts.stats(cohort)
        return figs.dependence(self.data, feature, color or None, cls, row, st.sample,
                               self.data.cohorts.sample_note(cohort))  # fmt: skip

    def summary_figure(self, k: int, kind: str, cls: Any, cohort: str | None = None) -> Any:
        return figs.summary(self.data, k, kind, cls, stats=self.data.cohorts.stats(cohort))

    # ------------------------------------------------------------------ local
    def top_feature(self, row: int, cls: Any) -> tuple[str, float]:
        """The feature with the largest |attribution| for ``row`` (class ``cls``)."""
        c = self.data.class_index(cls, row)
        values = self.data.values[c, row]
        j = int(rank_order(values, "abs")[0])
        return self.data.features[j], float(values[j])

    def local(self, row: int, k: int, cls: Any) -> tuple[Any, str, list]:
        """(waterfall figure, summary text, table rows) of ``row`` for class ``cls``.

        The text gives the base value, the sum of the attributions and the explained output
        (for classifiers also the class probability: the model's, or derived from the
        log-odds); the table lists the waterfall's top-k features in the waterfall's order:
        (feature, raw value, attribution).
        """
        data = self.data
        fig = figs.local_row(data, row, k, cls)
        name, value = self.top_feature(row, cls)
        c = data.class_index(cls, row)
        out = data.explained_output()[c, row]
        base, values = float(data.expected[c]), data.values[c, row]
        label = "" if data.classes is None else f", class {data.classes[c]}"
        text = (f"Row {row}{label}: base value {base:.4f} + attributions {values.sum():+.4f} "
                f"= {data.local.output} {out:.4f}{self._probability_text(row, c)}. "
                f"Top feature: {name} ({value:+.4f})")  # fmt: skip
        top = rank_order(values, "abs")[: max(1, int(k))]  # the waterfall's order
        table = [(data.features[j], _fmt(data.data[data.features[j]].iloc[row])
                  if data.features[j] in data.columns else "", f"{values[j]:+.4f}") for j in top]  # fmt: skip
        return fig, text, table

    def _probability_text(self, row: int, c: int) -> str:
        """`` · p(class) = 0.93 (model)`` for classifiers, else ``""``."""
        data = self.data
        proba = data.probabilities()
        if proba is None or data.classes is None or data.local.output == "probability":
            return ""
        source = "model" if data.model is not None else f"from the {data.local.output}"
        return f" · p({data.classes[c]}) = {proba[row, c]:.4f} ({source})"

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

    def whatif_ranges(self) -> dict:
        """{numeric editable column: (min, max) over the dashboard's rows} (computed once)."""
        if self._ranges is not None:
            return self._ranges
        out = self._ranges = {}
        for col in self.whatif_columns():
            if col in self.data.numeric:
                v = pd.to_numeric(self.data.data[col], errors="coerce")
                if v.notna().any():
                    out[col] = (float(v.min()), float(v.max()))
        return out

    def whatif_labels(self) -> list:
        """Label of each editable column; numeric ones show the range seen in the data."""
        ranges = self.whatif_ranges()
        return [f"{c} ({ranges[c][0]:.4g} to {ranges[c][1]:.4g})" if c in ranges else c
                for c in self.whatif_columns()]  # fmt: skip

    def whatif_warnings(self, values: list) -> str:
        """A warning for each edited number outside the data's range (else ``""``)."""
        ranges, out = self.whatif_ranges(), []
        for col, v in zip(self.whatif_columns(), values, strict=True):
            if col not in ranges or v in (None, ""):
                continue
            lo, hi = ranges[col]
            if not lo <= float(v) <= hi:
                out.append(f"{col} = {float(v):g} is outside the data's range ({lo:.4g} to "
                           f"{hi:.4g}): the model extrapolates.")  # fmt: skip
        return " ".join(out)

    def whatif_edited(self, row: int, values: list) -> bool:
        """Whether ``values`` differ from the row's own values."""
        return any(not _same(a, b) for a, b in zip(values, self.whatif_values(row), strict=True))

    def prediction_text(self, frame: Any) -> str:
        model = self.data.model
        return format_prediction(model.outputs(frame)[0], model.output_names, model.is_classifier)

    def whatif(self, row: int, values: list, k: int, cls: Any) -> tuple[str, Any]:
        """(prediction text, waterfall) of ``row`` with the editable columns set to ``values``."""
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
        edited = " (edited)" if self.whatif_edited(row, values) else ""
        fig = figs.waterfall(vals[c, 0], local.features, float(ev[c]), k,
                             f"What-if explanation of row {row}{edited}{suffix}",
                             self.data.step_probability(c))  # fmt: skip
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
        return figs.ice(grid, rows, curves, column, c, name, column in self.data.categorical)
