"""Cohorts: named subsets of the dashboard's rows, and what is derived from each (cached).

A cohort is a list of *filters* on the columns of ``DashboardData.frame`` (raw columns and
the derived ``predicted``, ``p(class)``, ``true_y``, ``correct``, ``abs_error`` columns),
optionally inside a *base* cohort, or a fixed set of rows given from Python (a boolean mask,
row positions, or a ``DataFrame.query`` string). A filter is a plain JSON-able dict::

    {"column": "age", "op": ">=", "value": 30}                  # <, <=, >, >=, ==
    {"column": "age", "op": "<=", "value": 30, "missing": True}  # ... or missing
    {"column": "island", "op": "in", "values": ["Dream", None]}  # None: missing
    {"column": "island", "op": "not in", "values": ["Dream"]}
    {"column": "age", "op": "isna"}

Everything a view shows for a cohort (its rows, a sample for scatters, mean |attribution|)
is computed on the server from the cached explanation, once per cohort (small LRU cache):
switching cohorts never re-explains. Numpy/pandas only.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._ranking import rank_order

ALL = "All data"
MAX_COMPARE = 4
MAX_NAME = 80
_COMPARISONS = ("<", "<=", ">", ">=", "==")
_OPS = (*_COMPARISONS, "in", "not in", "isna")


def _check_filter(f: Any) -> dict:
    if not isinstance(f, dict) or "column" not in f or f.get("op") not in _OPS:
        raise ValueError(
            f"A cohort filter is a dict with 'column' and 'op' (one of {', '.join(_OPS)}); "
            f"got {f!r}."
        )
    if f["op"] in _COMPARISONS and not isinstance(f.get("value"), (int, float, np.number)):
        raise ValueError(f"Filter {f!r}: op {f['op']!r} needs a numeric 'value'.")
    if f["op"] in ("in", "not in") and not isinstance(f.get("values"), (list, tuple)):
        raise ValueError(f"Filter {f!r}: op {f['op']!r} needs a list 'values'.")
    return dict(f)


def filter_mask(frame: pd.DataFrame, f: dict) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` that pass one filter."""
    column = f["column"]
    if column not in frame.columns:
        raise ValueError(
            f"Cohort filter on unknown column {column!r}; columns: {list(frame.columns)}."
        )
    s = frame[column]
    missing = np.array(s.isna().to_numpy())  # a writable copy (pandas may hand out read-only)
    op = f["op"]
    if op == "isna":
        return missing
    if op in ("in", "not in"):
        return _membership(s, missing, f["values"], op == "in")
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        hit = {"<": v < f["value"], "<=": v <= f["value"], ">": v > f["value"],
               ">=": v >= f["value"], "==": v == f["value"]}[op]  # fmt: skip
    return hit | (missing & bool(f.get("missing", False)))


def _membership(s: pd.Series, missing: np.ndarray, values: list, inside: bool) -> np.ndarray:
    """Rows whose value is (``inside``) or is not among ``values`` (``None``: missing).

    Values come back from the browser as JSON (True as true, 1 as 1.0): they are matched as
    text, and numerically for numeric columns.
    """
    wanted = [v for v in values if v is not None]
    hit = s.astype(str).isin([str(v) for v in wanted]).to_numpy()
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        numbers = [float(v) for v in wanted if isinstance(v, (int, float, np.number))]
        hit = hit | s.isin(numbers).to_numpy()
    hit = hit & ~missing
    with_missing = missing & (None in values)
    if inside:
        return hit | with_missing
    return (~hit & ~missing) | (missing & (None not in values))


def _fmt_value(v: Any) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def describe_filter(f: dict) -> str:
    """One filter in words, e.g. ``"age <= 30 or missing"``, ``"island in {Dream}"``."""
    op = f["op"]
    if op == "isna":
        return f"{f['column']} is missing"
    if op in ("in", "not in"):
        values = ", ".join(_fmt_value(v) for v in f["values"])
        return f"{f['column']} {op} {{{values}}}"
    text = f"{f['column']} {op} {_fmt_value(f['value'])}"
    return text + (" or missing" if f.get("missing") else "")


@dataclass
class Cohort:
    """A named subset of rows: ``filters`` inside ``base``, or fixed ``rows``."""

    name: str
    filters: list = field(default_factory=list)
    base: str | None = None
    rows: np.ndarray | None = None  # fixed row positions (cohorts given from Python)
    source: str = "dashboard"

    def description(self) -> str:
        parts = [] if self.base in (None, ALL) else [f"[{self.base}]"]
        if self.rows is not None:
            parts.append(f"{self.source} ({len(self.rows):,} rows)")
        parts += [describe_filter(f) for f in self.filters]
        return " and ".join(parts) if parts else "all rows"

    def to_dict(self) -> dict:
        """JSON-able definition (``rows`` as a list of positions)."""
        out = {"name": self.name, "filters": self.filters, "base": self.base,
               "source": self.source}  # fmt: skip
        if self.rows is not None:
            out["rows"] = self.rows.tolist()
        return out


@dataclass
class CohortStats:
    """What the views need of one cohort (computed once, cached)."""

    rows: np.ndarray  # sorted row positions
    sample: np.ndarray  # at most max_points of them, for scatters
    importance: np.ndarray  # mean |attribution| over the cohort's rows, (n_features,)
    per_class: np.ndarray | None  # (n_classes, n_features)

    @property
    def order(self) -> np.ndarray:
        return rank_order(self.importance)


def python_cohort(name: str, spec: Any, frame: pd.DataFrame) -> Cohort:
    """A cohort passed to ``ExplanationDashboard(cohorts={name: spec})``.

    ``spec``: a boolean mask (one value per row), integer row positions, a
    ``DataFrame.query`` string over ``frame``'s columns (raw columns, ``predicted``,
    ``true_y``, ``correct``, ``abs_error``, ... ; backquote names with spaces), or a list
    of filter dicts.
    """
    n = len(frame)
    if isinstance(spec, str):
        try:
            hit = frame.drop(columns="row").query(spec, engine="python")
        except Exception as exc:
            raise ValueError(
                f"Cohort {name!r}: the query {spec!r} failed ({exc}); it is evaluated with "
                f"DataFrame.query on the columns {list(frame.columns)}."
            ) from exc
        return Cohort(name, rows=frame.index.get_indexer(hit.index), source=f"query {spec!r}")
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(f, dict) for f in spec):
        return Cohort(name, filters=[_check_filter(f) for f in spec])
    arr = np.asarray(spec)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(
                f"Cohort {name!r}: a boolean mask needs one value per row ({n}); got shape "
                f"{arr.shape}."
            )
        return Cohort(name, rows=np.flatnonzero(arr), source="mask")
    if arr.ndim == 1 and arr.size and np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() >= n:
            raise ValueError(f"Cohort {name!r}: row positions must be in 0..{n - 1}.")
        return Cohort(name, rows=np.unique(arr), source="rows")
    raise TypeError(
        f"Cohort {name!r} must be a boolean mask, integer row positions, a DataFrame.query "
        f"string or a list of filter dicts; got {type(spec).__name__}."
    )


class CohortRegistry:
    """The dashboard's cohorts (``ALL`` first) and a small cache of their statistics.

    Cohorts made in the browser are added here too (server side), so ``save_html`` and
    ``ExplanationDashboard.cohorts`` see them. Thread-safe: the server is threaded.
    """

    CACHE_SIZE = 16

    def __init__(self, data: Any, max_points: int, random_state: int = 0) -> None:
        self.data = data
        self.max_points = max_points
        self.random_state = random_state
        self._cohorts: dict[str, Cohort] = {ALL: Cohort(ALL, source="all rows")}
        self._cache: OrderedDict[str, CohortStats] = OrderedDict()
        self._lock = threading.RLock()
        self.version = 0

    # ------------------------------------------------------------------ definitions
    @property
    def names(self) -> list:
        with self._lock:
            return list(self._cohorts)

    def get(self, name: str | None) -> Cohort:
        with self._lock:
            if name in (None, ""):
                name = ALL
            if name not in self._cohorts:
                raise KeyError(f"No cohort named {name!r}; cohorts: {list(self._cohorts)}.")
            return self._cohorts[name]

    def add(self, cohort: Cohort, replace: bool = False) -> Cohort:
        """Register ``cohort`` (refuses an empty one and, unless ``replace``, a taken name)."""
        name = str(cohort.name).strip()
        if not name:
            raise ValueError("A cohort needs a name.")
        if len(name) > MAX_NAME:
            raise ValueError(f"A cohort name has at most {MAX_NAME} characters; got "
                             f"{name[:MAX_NAME + 10]!r}...")  # fmt: skip
        cohort.name = name
        with self._lock:
            if name == ALL or (name in self._cohorts and not replace):
                raise ValueError(f"A cohort named {name!r} already exists.")
            if cohort.base not in (None, ALL) and cohort.base not in self._cohorts:
                raise ValueError(f"Cohort {name!r}: unknown base cohort {cohort.base!r}.")
            for f in cohort.filters:
                _check_filter(f)
            rows = self._rows(cohort)
            if rows.size == 0:
                raise ValueError(f"Cohort {name!r} has no rows: {cohort.description()}.")
            self._cohorts[name] = cohort
            self._cache.pop(name, None)
            self.version += 1
        return cohort

    def remove(self, name: str) -> None:
        with self._lock:
            if name == ALL:
                raise ValueError(f"{ALL!r} cannot be removed.")
            users = [c.name for c in self._cohorts.values() if c.base == name]
            if users:
                raise ValueError(f"Cohort {name!r} is the base of {users}; remove those first.")
            self._cohorts.pop(name, None)
            self._cache.pop(name, None)
            self.version += 1

    def default_name(self) -> str:
        with self._lock:
            i = len(self._cohorts)
            while f"Cohort {i}" in self._cohorts:
                i += 1
            return f"Cohort {i}"

    # ------------------------------------------------------------------ rows and stats
    def _rows(self, cohort: Cohort) -> np.ndarray:
        n = self.data.n_rows
        if cohort.rows is not None:
            mask = np.zeros(n, bool)
            mask[cohort.rows] = True
        elif cohort.base in (None, ALL):
            mask = np.ones(n, bool)
        else:
            mask = np.zeros(n, bool)
            mask[self.rows(cohort.base)] = True
        for f in cohort.filters:
            mask &= filter_mask(self.data.frame, f)
        return np.flatnonzero(mask)

    def rows(self, name: str | None) -> np.ndarray:
        """Sorted row positions of a cohort."""
        return self.stats(name).rows

    def stats(self, name: str | None) -> CohortStats:
        """The cohort's :class:`CohortStats` (cached; recomputed from the explanation)."""
        cohort = self.get(name)
        with self._lock:
            if cohort.name in self._cache:
                self._cache.move_to_end(cohort.name)
                return self._cache[cohort.name]
        stats = self._compute(cohort)
        with self._lock:
            self._cache[cohort.name] = stats
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return stats

    def _compute(self, cohort: Cohort) -> CohortStats:
        data = self.data
        if cohort.name == ALL:
            return CohortStats(np.arange(data.n_rows), data.sample, np.asarray(data.importance),
                               None if data.per_class is None else np.asarray(data.per_class))  # fmt: skip
        rows = self._rows(cohort)
        if rows.size > self.max_points:
            rng = np.random.default_rng(self.random_state)
            sample = np.sort(rng.choice(rows, self.max_points, replace=False))
        else:
            sample = rows
        per_class = np.abs(data.values[:, rows, :]).mean(axis=1)  # (n_outputs, n_features)
        importance = per_class.mean(axis=0)
        return CohortStats(rows, sample, importance,
                           per_class if data.classes is not None else None)  # fmt: skip

    def sample_note(self, name: str | None) -> str:
        """What a scatter of the cohort shows (``""``: every row of all data)."""
        stats, cohort = self.stats(name), self.get(name)
        where = "" if cohort.name == ALL else f" of cohort {cohort.name!r}"
        if stats.sample.size < stats.rows.size:
            return (f"Showing a random sample of {stats.sample.size:,} of {stats.rows.size:,} "
                    f"rows{where}.")  # fmt: skip
        return "" if cohort.name == ALL else f"Cohort {cohort.name!r}: {stats.rows.size:,} rows."

    def table(self) -> list[dict]:
        """One dict per cohort: name, description, rows, share of all rows."""
        out = []
        for name in self.names:
            cohort, n = self.get(name), self.rows(name).size
            out.append({"name": name, "description": cohort.description(), "rows": n,
                        "share": n / self.data.n_rows})  # fmt: skip
        return out

    def key(self) -> str:
        """A JSON digest of the definitions (changes when a cohort is added or removed)."""
        with self._lock:
            return json.dumps([c.to_dict() for c in self._cohorts.values()], default=str)
