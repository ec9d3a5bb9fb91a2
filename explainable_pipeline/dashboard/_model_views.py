"""What the model tabs' callbacks compute: cohorts, performance, error analysis, partial
dependence, interactions. Plain methods (tested without a browser); ``_wiring.py`` connects
them to component ids. Every view works on a cohort's rows from the cached explanation and
model outputs: switching cohorts never re-explains.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from . import _figures_model as mfigs
from . import _metrics
from ._cohorts import ALL, MAX_COMPARE, Cohort
from ._data import AUTO_CLASS, DashboardData
from ._errors import error_heatmap, error_indicator, fit_error_tree
from ._figures import empty, plotly_text
from ._interactions import ranked_pairs
from ._pdp import partial_dependence

MAX_LEVELS_OFFERED = 200
MAX_RESIDUAL_POINTS = 1_000
MAX_INTERACTION_POINTS = 1_000


def _plain(v: Any) -> Any:
    """A JSON-able Python scalar (numpy scalars unwrapped)."""
    return v.item() if hasattr(v, "item") else v


def _number(v: Any) -> float | None:
    if v in (None, ""):
        return None
    v = float(v)
    if not np.isfinite(v):
        raise ValueError(f"{v} is not a finite number.")
    return v


class ModelViews:
    """The model tabs' computations for one :class:`DashboardData`."""

    TREE_CACHE = 8

    def __init__(self, data: DashboardData) -> None:
        self.data = data
        self._trees: OrderedDict = OrderedDict()
        self._interactions: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def _cached(self, cache: OrderedDict, key: tuple, compute: Any) -> Any:
        """``compute()`` once per key (small LRU, thread-safe)."""
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = compute()
        with self._lock:
            cache[key] = value
            while len(cache) > self.TREE_CACHE:
                cache.popitem(last=False)
        return value

    # ------------------------------------------------------------------ outputs
    def output_index(self, cls: Any) -> int:
        """The output a per-class view shows: the chosen class, else the positive (binary) or
        first class; 0 for a single output."""
        data = self.data
        if not data.is_classifier:
            return 0
        labels = [str(c) for c in data.output_labels]
        if cls in (None, AUTO_CLASS) or str(cls) not in labels:
            return _metrics.positive_class(labels)
        return labels.index(str(cls))

    def output_name(self, c: int) -> str:
        labels = [str(v) for v in self.data.output_labels]
        return f"p({labels[c]})" if self.data.is_classifier else labels[c]

    def compared(self, cohort: str | None, compare: list | None) -> list:
        """The active cohort then the compared ones, at most ``MAX_COMPARE``."""
        return list(dict.fromkeys([cohort or ALL, *(compare or [])]))[:MAX_COMPARE]

    # ------------------------------------------------------------------ cohorts
    def cohort_options(self) -> list:
        reg = self.data.cohorts
        return [{"label": f"{n} ({reg.rows(n).size:,} rows)", "value": n} for n in reg.names]

    def filter_columns(self) -> list:
        """Columns a cohort filter can use: raw columns, predictions, truth, error."""
        return [c for c in self.data.frame.columns if c != "row"]

    def column_choice(self, column: str) -> tuple[str, Any]:
        """(``"range"``, (min, max)) for a numeric column, (``"levels"``, levels) otherwise."""
        s = self.data.frame[column]
        if column not in self.data.categorical and pd.api.types.is_numeric_dtype(s) and not (
                pd.api.types.is_bool_dtype(s)):  # fmt: skip
            v = s.to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            return "range", ((float(v.min()), float(v.max())) if v.size else (None, None))
        levels = sorted((_plain(v) for v in pd.unique(s.dropna())), key=str)
        if s.isna().any():
            levels.append(None)
        return "levels", levels[:MAX_LEVELS_OFFERED]

    def builder_filters(self, column: str | None, lo: Any, hi: Any, levels: list | None) -> list:
        """Filters from the builder's controls; ValueError with the reason when empty/bad."""
        if not column:
            raise ValueError("Choose a column first.")
        kind, _ = self.column_choice(column)
        if kind == "range":
            lo, hi = _number(lo), _number(hi)
            if lo is None and hi is None:
                raise ValueError(f"Give a minimum and/or a maximum for {column}.")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"{column}: the minimum {lo:g} is above the maximum {hi:g}.")
            return ([] if lo is None else [{"column": column, "op": ">=", "value": lo}]) + (
                [] if hi is None else [{"column": column, "op": "<=", "value": hi}])
        if not levels:
            raise ValueError(f"Choose one or more values of {column}.")
        return [{"column": column, "op": "in", "values": list(levels)}]

    def save_cohort(self, name: str | None, filters: list, base: str | None = None) -> str:
        """Register a cohort made in the browser; returns its name (ValueError if refused)."""
        if not filters:
            raise ValueError("Add at least one filter first.")
        reg = self.data.cohorts
        cohort = Cohort((name or "").strip() or reg.default_name(), [dict(f) for f in filters],
                        base=None if base in (None, ALL) else base)  # fmt: skip
        return reg.add(cohort).name

    def cohort_table(self) -> tuple[list, list]:
        """(header, rows) of the cohorts, with a headline metric when the truth is known."""
        data, reg = self.data, self.data.cohorts
        header = ["cohort", "definition", "rows", "share"]
        metric = None
        if data.true_y is not None:
            metric = "accuracy" if data.is_classifier else "MAE"
            header.append(metric)
        rows = []
        for entry in reg.table():
            row = [entry["name"], entry["description"], f"{entry['rows']:,}",
                   f"{entry['share']:.1%}"]  # fmt: skip
            if metric:
                value = _metrics.report(data, reg.rows(entry["name"])).metrics.get(metric)
                row.append("n/a" if value is None else f"{value:.4f}")
            rows.append(row)
        return header, rows

    # ------------------------------------------------------------------ performance
    @property
    def has_truth(self) -> bool:
        return self.data.true_y is not None

    def threshold_applies(self) -> bool:
        """A probability threshold makes sense: a binary classifier with probabilities."""
        data = self.data
        return bool(data.is_classifier and len(data.output_labels) == 2
                    and data.probabilities() is not None)  # fmt: skip

    def performance_table(self, cohort: str | None, compare: list | None,
                          threshold: float | None) -> tuple[list, list, list]:  # fmt: skip
        """(header, rows, notes): one column per cohort, one row per metric (and ``rows``)."""
        names = self.compared(cohort, compare)
        thr = threshold if self.threshold_applies() else None
        reports = [_metrics.report(self.data, self.data.cohorts.rows(n), thr) for n in names]
        metrics = list(reports[0].metrics)
        rows = [["rows", *[f"{r.n:,}" for r in reports]]]
        for m in metrics:
            rows.append([m, *["n/a" if r.metrics[m] is None else f"{r.metrics[m]:.4f}"
                              for r in reports]])  # fmt: skip
        return ["metric", *names], rows, reports[0].notes

    def performance_figures(self, cohort: str | None, compare: list | None,
                            threshold: float | None, cls: Any,
                            column: str | None = None) -> list:  # fmt: skip
        """Classification: confusion matrix, ROC, precision-recall, calibration. Regression:
        predicted vs actual, residuals vs prediction, residuals vs ``column``, residuals by
        cohort. All on the active cohort, curves for every compared cohort."""
        data, reg = self.data, self.data.cohorts
        names = self.compared(cohort, compare)
        name = names[0]
        rows = reg.rows(name)
        if not data.is_classifier:
            return self._regression_figures(names, column)
        thr = threshold if self.threshold_applies() else None
        rep = _metrics.classification_report(data, rows, thr)
        c = self.output_index(cls)
        label = rep.labels[c]
        when = f" at threshold {thr:.2f}" if thr is not None else ""
        curves = {n: _metrics.roc_pr_curves(data, reg.rows(n), c) for n in names}
        marker = None
        if thr is not None and rep.confusion.shape == (2, 2):
            (tn, fp), (fn, tp) = rep.confusion
            marker = (fp / max(fp + tn, 1), tp / max(tp + fn, 1))
        vs = f"{label} vs rest" if len(rep.labels) > 2 else label
        return [
            mfigs.confusion(rep.confusion, rep.labels,
                            f"Confusion matrix of {plotly_text(name)}{when}"),
            mfigs.curves("roc", curves, f"ROC curve ({vs})", marker),
            mfigs.curves("pr", curves, f"Precision-recall curve ({vs})"),
            mfigs.calibration({n: _metrics.calibration(data, reg.rows(n), c) for n in names},
                              f"Calibration of p({label})"),
        ]

    def _regression_figures(self, names: list, column: str | None) -> list:
        data, reg = self.data, self.data.cohorts
        st = reg.stats(names[0])
        shown = st.sample
        if shown.size > MAX_RESIDUAL_POINTS:  # three scatters: fewer points each
            rng = np.random.default_rng(0)
            shown = np.sort(rng.choice(shown, MAX_RESIDUAL_POINTS, replace=False))
        kept, truth, pred = _metrics.regression_targets(data, shown)
        where = "" if names[0] == ALL else f" of cohort {plotly_text(repr(names[0]))}"
        note = (f"<br><sup>a random {kept.size:,} of the {st.rows.size:,} rows{where}</sup>"
                if kept.size < st.rows.size else "")  # fmt: skip
        column = column if column in data.columns else data.top_features(1)[0]
        resid = truth - pred
        x = data.data[column].to_numpy()[kept] if column in data.columns else pred
        residual = "residual (true - predicted)"
        boxes = {}
        for n in names:
            _, t, p = _metrics.regression_targets(data, reg.rows(n))
            boxes[n] = t - p
        return [
            mfigs.regression_scatter(truth, pred, kept, "true value", "prediction",
                                     f"Predicted vs actual{note}", diagonal=True),
            mfigs.regression_scatter(pred, resid, kept, "prediction", residual,
                                     f"Residuals vs prediction{note}", zero_line=True),
            mfigs.regression_scatter(x, resid, kept, column, residual,
                                     f"Residuals vs {column}{note}", zero_line=True),
            mfigs.residual_boxes(boxes, residual),
        ]  # fmt: skip

    # ------------------------------------------------------------------ error analysis
    def error_tree(self, cohort: str | None, depth: int = 3, quantile: float = 0.9) -> Any:
        """The cohort's error tree (cached per cohort, depth and quantile)."""
        key = (cohort or ALL, int(depth), float(quantile), self.data.cohorts.version)

        def compute() -> Any:
            rows = self.data.cohorts.rows(cohort)
            is_error, what = error_indicator(self.data, rows, quantile)
            return fit_error_tree(self.data, rows, is_error, what, max_depth=int(depth))

        return self._cached(self._trees, key, compute)

    def heatmap(self, cohort: str | None, x: str, y: str | None, quantile: float = 0.9) -> Any:
        rows = self.data.cohorts.rows(cohort)
        is_error, _ = error_indicator(self.data, rows, quantile)
        return error_heatmap(self.data, rows, is_error, x, y or None)

    def error_figures(self, cohort: str | None, depth: int, quantile: float, x: str,
                      y: str | None, selection: dict | None = None) -> tuple:  # fmt: skip
        """(tree figure, heat map figure), the selected node or cell outlined."""
        if not self.has_truth:
            message = _metrics.NO_TRUTH.replace("Model performance", "Error analysis")
            return empty(message), empty(message)
        selection = selection or {}
        node = selection.get("node") if selection.get("cohort") == (cohort or ALL) else None
        cell = selection.get("cell") if selection.get("cohort") == (cohort or ALL) else None
        tree = self.error_tree(cohort, depth, quantile)
        hm = self.heatmap(cohort, x, y, quantile)
        same = cell is not None and selection.get("x") == x and selection.get("y") == (y or None)
        return mfigs.error_tree(tree, node), mfigs.error_heatmap(hm, tuple(cell) if same else None)

    def select_node(self, cohort: str | None, depth: int, quantile: float, node: int) -> dict:
        """The selection of a tree node: its filters, counts and a default cohort name."""
        tree = self.error_tree(cohort, depth, quantile)
        nd = next(n for n in tree.nodes if n.id == int(node))
        return {"cohort": cohort or ALL, "node": nd.id, "filters": nd.filters, "n": nd.n,
                "errors": nd.errors, "name": f"error node {nd.id}"}  # fmt: skip

    def select_cell(self, cohort: str | None, quantile: float, x: str, y: str | None,
                    cell: str) -> dict:  # fmt: skip
        """The selection of a heat map cell (``cell``: "i,j" of its customdata)."""
        i, j = (int(v) for v in str(cell).split(","))
        hm = self.heatmap(cohort, x, y, quantile)
        label = hm.x_labels[j] + (f", {hm.y_labels[i]}" if hm.y_column else "")
        return {"cohort": cohort or ALL, "cell": [i, j], "x": x, "y": y or None,
                "filters": hm.filters[(i, j)], "n": int(hm.counts[i, j]),
                "errors": int(hm.errors[i, j]), "name": f"error cell {label}"[:60]}  # fmt: skip

    def selection_text(self, selection: dict | None) -> str:
        if not selection or not selection.get("filters") and "node" not in selection:
            return "Nothing selected: click a node of the tree or a cell of the heat map."
        cohort = Cohort("selection", selection["filters"], base=selection["cohort"])
        rate = selection["errors"] / max(selection["n"], 1)
        return (f"Selected: {cohort.description()} — {selection['n']:,} rows, "
                f"{selection['errors']:,} errors ({rate:.1%}).")  # fmt: skip

    # ------------------------------------------------------------------ partial dependence
    def pdp_figure(self, cohort: str | None, column: str, column2: str | None, cls: Any,
                   show_ice: bool = True) -> Any:  # fmt: skip
        data = self.data
        if data.model is None:
            return empty("Partial dependence needs a live model: pass model= to "
                         "ExplanationDashboard.")  # fmt: skip
        columns = [column] + ([column2] if column2 and column2 != column else [])
        result = partial_dependence(data, data.cohorts.rows(cohort), columns,
                                    n_ice=50 if show_ice else 0)  # fmt: skip
        c = self.output_index(cls)
        return mfigs.partial_dependence(result, c, self.output_name(c),
                                        [col in data.categorical for col in columns])  # fmt: skip

    # ------------------------------------------------------------------ interactions
    def interaction_strength(self, cohort: str | None, c: int) -> np.ndarray:
        """(p, p) mean |interaction| over the cohort's rows for output ``c`` (cached)."""
        rows = None if (cohort or ALL) == ALL else self.data.cohorts.rows(cohort)
        key = (cohort or ALL, c, self.data.cohorts.version)
        return self._cached(self._interactions, key,
                            lambda: self.data.interactions.mean_abs(c, rows))  # fmt: skip

    def interaction_pairs(self, cohort: str | None, cls: Any) -> list:
        c = self.data.class_index(cls)
        return ranked_pairs(self.interaction_strength(cohort, c), self.data.features)

    def interaction_figures(self, cohort: str | None, k: int, cls: Any,
                            pair: str | None) -> tuple:  # fmt: skip
        """(ranking of pairs, matrix of the top-k features, dependence of ``pair``)."""
        data, reg = self.data, self.data.cohorts
        inter, c = data.interactions, data.class_index(cls)
        st = reg.stats(cohort)
        suffix = "" if data.classes is None else f" — class {data.classes[c]}"
        strength = self.interaction_strength(cohort, c)
        pairs = ranked_pairs(strength, data.features)
        ranking = mfigs.interaction_ranking(pairs, k, f"Strongest interactions{suffix}")
        top = st.order[: max(2, int(k))]
        names = [data.features[j] for j in top]
        heat = mfigs.interaction_matrix(strength[np.ix_(top, top)], names, "Mean |interaction| "
                                        f"(diagonal: main effect){suffix}")  # fmt: skip
        a, b = (pair.split(" × ") if pair else pairs[0][:2]) if pairs else (names[0], names[0])
        sample = st.sample  # drawn with two other figures: fewer points than a lone scatter
        if sample.size > MAX_INTERACTION_POINTS:
            rng = np.random.default_rng(0)
            sample = np.sort(rng.choice(sample, MAX_INTERACTION_POINTS, replace=False))
        x = data.data[a].iloc[sample].reset_index(drop=True) if a in data.columns else None
        color = data.data[b].iloc[sample].reset_index(drop=True) if b in data.columns else None
        where = "" if (cohort or ALL) == ALL else f" of cohort {cohort!r}"
        note = plotly_text(f"a random {sample.size:,} of the {st.rows.size:,} rows{where}"
                           if sample.size < st.rows.size else reg.sample_note(cohort))  # fmt: skip
        scatter = mfigs.interaction_scatter(
            x if x is not None else pd.Series(np.zeros(sample.size), name=a),
            inter.pair_values(c, a, b, sample), color, sample, a, b,
            f"Interaction of {a} and {b}, coloured by {b}{suffix}"
            + (f"<br><sup>{note}</sup>" if note else ""))  # fmt: skip
        return ranking, heat, scatter
