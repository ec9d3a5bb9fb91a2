"""Error analysis: where does the model err? A shallow error tree and an error heat map.

An *error* is a misclassified row (classifiers: predicted label != true label, the
``correct`` column) or, for regression, a row in the top error quantile (``abs_error`` at or
above its ``quantile`` over the cohort). The tree is a scikit-learn ``DecisionTreeClassifier``
fitted on the raw columns to predict the error indicator; every node is a conjunction of
filters (``_cohorts`` format), so a click turns it into a cohort, and the counts shown are
those of the filters on the cohort's rows (exactly the rows the cohort will hold).

Categorical columns enter the tree as their levels ordered by error rate (missing values are
a level of their own): a threshold on that order is a set of levels, and for a binary target
the best split of a categorical column is such a prefix (Breiman et al., CART, 1984).
Numeric columns keep their missing values (scikit-learn's trees route them), so a numeric
filter can read "x <= 3.2 or missing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from ._cohorts import describe_filter, filter_mask

MAX_FIT_ROWS = 20_000
MAX_LEVELS = 10


@dataclass
class Node:
    """One node of the error tree, with its statistics over the cohort's rows."""

    id: int
    parent: int | None
    depth: int
    filters: list  # from the root: the cohort this node is
    n: int
    errors: int
    coverage: float  # share of all the cohort's errors that fall in this node
    is_leaf: bool
    x: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.n if self.n else 0.0

    @property
    def split(self) -> str:
        """The condition that leads from the parent to this node (``""`` at the root)."""
        return describe_filter(self.filters[-1]) if self.filters else ""


@dataclass
class ErrorTree:
    nodes: list
    n: int
    errors: int
    what: str  # what counts as an error
    fitted_on: int  # rows the tree was fitted on (a sample above MAX_FIT_ROWS)
    estimator: DecisionTreeClassifier | None = None  # None when there was nothing to split


@dataclass
class HeatMap:
    """Error rate per bin of one column, or per cell of two (rows: ``y``, columns: ``x``)."""

    x_column: str
    y_column: str | None
    x_labels: list
    y_labels: list
    counts: np.ndarray  # (len(y_labels), len(x_labels))
    errors: np.ndarray
    filters: dict = field(default_factory=dict)  # (iy, ix) -> list of filters

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.errors / np.maximum(self.counts, 1), np.nan)


def error_indicator(data: Any, rows: np.ndarray, quantile: float = 0.9) -> tuple[np.ndarray, str]:
    """(bool per row of ``rows``: is it an error, a description of what an error is)."""
    frame = data.frame
    if data.is_classifier:
        return ~frame["correct"].to_numpy()[rows], "misclassified"
    err = frame["abs_error"].to_numpy(dtype=float)[rows]
    finite = np.isfinite(err)
    if not finite.any():
        return np.zeros(len(rows), bool), "no finite error"
    cut = float(np.quantile(err[finite], quantile))
    top = 100 * (1 - quantile)
    return finite & (err >= cut), f"absolute error >= {cut:.4g} (top {top:.0f}% of the cohort)"


def _levels_by_error(s: pd.Series, is_error: np.ndarray) -> tuple[np.ndarray, list]:
    """(code of each row, levels in code order): levels sorted by error rate, missing one."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    count = np.bincount(codes, minlength=len(uniques))
    rate = np.bincount(codes, weights=is_error, minlength=len(uniques)) / np.maximum(count, 1)
    order = np.argsort(rate, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    levels = [None if pd.isna(u) else (u.item() if hasattr(u, "item") else u)
              for u in np.asarray(uniques, dtype=object)[order]]  # fmt: skip
    return position[codes].astype(float), levels


def _split_filters(column: str, threshold: float, go_left_missing: bool, levels: list | None,
                   has_missing: bool) -> tuple[dict, dict]:  # fmt: skip
    """The (left, right) filters of one split."""
    if levels is not None:
        cut = int(np.floor(threshold)) + 1
        return ({"column": column, "op": "in", "values": levels[:cut]},
                {"column": column, "op": "in", "values": levels[cut:]})  # fmt: skip
    t = float(threshold)
    left = {"column": column, "op": "<=", "value": t}
    right = {"column": column, "op": ">", "value": t}
    if has_missing:
        (left if go_left_missing else right)["missing"] = True
    return left, right


def encode_columns(data: Any, rows: np.ndarray, is_error: np.ndarray) -> tuple[np.ndarray, dict]:
    """The error tree's input: raw columns of ``rows`` as floats (NaN kept), categorical ones
    as their level's position by error rate; and {categorical column: levels in that order}."""
    sub = data.frame.iloc[rows]
    X = np.empty((len(rows), len(data.columns)))
    levels: dict = {}
    for j, col in enumerate(data.columns):
        if col in data.categorical:
            X[:, j], levels[col] = _levels_by_error(sub[col], is_error)
        else:
            X[:, j] = pd.to_numeric(sub[col], errors="coerce").to_numpy(dtype=float)
    return X, levels


def fit_error_tree(data: Any, rows: np.ndarray, is_error: np.ndarray, what: str,
                   max_depth: int = 3, min_samples_leaf: int | None = None,
                   random_state: int = 0) -> ErrorTree:  # fmt: skip
    """Fit the error tree on the cohort's ``rows`` and measure every node on them.

    The fit uses a random sample of at most ``MAX_FIT_ROWS`` rows (the splits); every node's
    counts use all of the cohort's rows. ``min_samples_leaf`` defaults to 1% of the rows
    (at least 5).
    """
    columns = list(data.columns)
    sub = data.frame.iloc[rows]
    X, levels = encode_columns(data, rows, is_error)
    fit = np.arange(len(rows))
    if len(rows) > MAX_FIT_ROWS:
        fit = np.sort(np.random.default_rng(random_state).choice(len(rows), MAX_FIT_ROWS, False))
    leaf = min_samples_leaf or max(5, len(rows) // 100)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf,
                                  random_state=random_state)  # fmt: skip
    fitted = is_error[fit].any() and not is_error[fit].all()
    if fitted:
        tree.fit(X[fit], is_error[fit])
        t = tree.tree_
        left, right, feature = t.children_left, t.children_right, t.feature
        threshold, missing_left = t.threshold, t.missing_go_to_left
    else:  # nothing to split: the root alone
        left = right = np.array([-1])
        feature, threshold, missing_left = np.array([-2]), np.array([0.0]), np.array([0])
    has_missing = {c: bool(np.isnan(X[:, j]).any()) for j, c in enumerate(columns)}
    total = int(is_error.sum())
    nodes: list[Node] = []
    stack = [(0, None, 0, [], np.ones(len(rows), bool))]
    while stack:
        node, parent, depth, filters, mask = stack.pop()
        n, errors = int(mask.sum()), int(is_error[mask].sum())
        leaf_node = left[node] == -1
        nodes.append(Node(node, parent, depth, filters, n, errors,
                          errors / total if total else 0.0, leaf_node))  # fmt: skip
        if leaf_node:
            continue
        col = columns[feature[node]]
        pair = _split_filters(col, threshold[node], bool(missing_left[node]), levels.get(col),
                              has_missing[col])  # fmt: skip
        for child, f in zip((right[node], left[node]), pair[::-1], strict=True):
            stack.append((child, node, depth + 1, [*filters, f], mask & filter_mask(sub, f)))
    nodes.sort(key=lambda nd: nd.id)
    _layout_positions(nodes)
    return ErrorTree(nodes, len(rows), total, what, len(fit), tree if fitted else None)


def _layout_positions(nodes: list) -> None:
    """x of each node: leaves evenly spaced in order, parents centred over their children."""
    children: dict = {}
    for nd in nodes:
        if nd.parent is not None:
            children.setdefault(nd.parent, []).append(nd)
    by_id = {nd.id: nd for nd in nodes}
    counter = [0]

    def place(nd: Node) -> float:
        kids = sorted(children.get(nd.id, []), key=lambda k: k.id)
        if not kids:
            nd.x = float(counter[0])
            counter[0] += 1
        else:
            nd.x = float(np.mean([place(k) for k in kids]))
        return nd.x

    place(by_id[0])


def _column_bins(sub: pd.DataFrame, column: str, categorical: bool,
                 n_bins: int) -> tuple[np.ndarray, list, list]:  # fmt: skip
    """(bin index of each row, labels, filters per bin) of one column over the cohort."""
    s = sub[column]
    missing = s.isna().to_numpy()
    index = np.full(len(s), -1)
    labels: list = []
    filters: list = []
    if categorical or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        counts = s.value_counts()
        top = [v.item() if hasattr(v, "item") else v for v in counts.index[:MAX_LEVELS]]
        for value in top:
            f = {"column": column, "op": "in", "values": [value]}
            index[filter_mask(sub, f)] = len(labels)
            labels.append(str(value))
            filters.append([f])
        if len(counts) > MAX_LEVELS:
            f = {"column": column, "op": "not in", "values": [*top, None]}
            index[filter_mask(sub, f)] = len(labels)
            labels.append("other")
            filters.append([f])
    else:
        v = s.to_numpy(dtype=float)
        finite = v[~missing]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1))) if finite.size else []
        if len(edges) == 1:
            edges = np.array([edges[0], edges[0]])
        for i in range(len(edges) - 1):
            lo, hi, last = float(edges[i]), float(edges[i + 1]), i == len(edges) - 2
            fs = [{"column": column, "op": ">=", "value": lo},
                  {"column": column, "op": "<=" if last else "<", "value": hi}]  # fmt: skip
            hit = (v >= lo) & ((v <= hi) if last else (v < hi))
            index[hit & ~missing] = len(labels)
            labels.append(f"[{lo:.4g}, {hi:.4g}{']' if last else ')'}")
            filters.append(fs)
    if missing.any():
        index[missing] = len(labels)
        labels.append("missing")
        filters.append([{"column": column, "op": "isna"}])
    return index, labels, filters


def error_heatmap(data: Any, rows: np.ndarray, is_error: np.ndarray, x: str, y: str | None = None,
                  n_bins: int = 5) -> HeatMap:  # fmt: skip
    """Error rate of the cohort per bin of ``x`` (quantile bins, or levels), or per cell of
    ``x`` and ``y``. Each cell carries its filters, to become a cohort."""
    sub = data.frame.iloc[rows]
    xi, xl, xf = _column_bins(sub, x, x in data.categorical, n_bins)
    if y is None or y == x:
        yi, yl, yf = np.zeros(len(rows), int), [""], [[]]
        y = None
    else:
        yi, yl, yf = _column_bins(sub, y, y in data.categorical, n_bins)
    ok = (xi >= 0) & (yi >= 0)
    cell = yi[ok] * len(xl) + xi[ok]
    size = len(xl) * len(yl)
    counts = np.bincount(cell, minlength=size).reshape(len(yl), len(xl))
    errors = np.bincount(cell, weights=is_error[ok], minlength=size).reshape(len(yl), len(xl))
    filters = {(i, j): [*yf[i], *xf[j]] for i in range(len(yl)) for j in range(len(xl))}
    return HeatMap(x, y, xl, yl, counts, errors.astype(int), filters)
