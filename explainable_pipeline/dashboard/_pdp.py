"""Partial dependence and ICE of one or two raw columns (``sklearn.inspection`` semantics).

The grid of a numeric column is scikit-learn's: its unique values when there are fewer than
``grid_resolution``, else ``grid_resolution`` evenly spaced points between the 5th and 95th
percentiles (``scipy.stats.mstats.mquantiles``, as ``partial_dependence`` computes them);
a categorical column's grid is its levels. Missing values are left out of the grid
(scikit-learn cannot sort them). The average is the brute-force one: every grid point is
written into every row and the model's outputs (``predict_proba`` per class, or
``predict``) are averaged, in one batched call. Above ``max_rows`` rows, the average is
over a random sample of them (the view says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats.mstats import mquantiles

GRID_RESOLUTION = 20
GRID_RESOLUTION_2D = 10
MAX_ROWS = 1_000
MAX_ROWS_2D = 300
N_ICE = 50


def pd_grid(series: pd.Series, categorical: bool, grid_resolution: int = GRID_RESOLUTION,
            percentiles: tuple = (0.05, 0.95)) -> list:  # fmt: skip
    """The values a column sweeps (see the module docstring)."""
    values = series.dropna()
    if categorical:
        return sorted(pd.unique(values).tolist(), key=str)
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if v.size == 0:
        raise ValueError(f"Column {series.name!r} has no values to build a grid from.")
    uniques = np.unique(v)
    if uniques.size < grid_resolution:
        return uniques.tolist()
    lo, hi = mquantiles(v, prob=percentiles)
    if np.isclose(lo, hi):
        return uniques[[0, -1]].tolist() if uniques.size > 1 else uniques.tolist()
    return np.linspace(lo, hi, grid_resolution).tolist()


def _set_column(batch: pd.DataFrame, column: str, values: np.ndarray,
                dtype: Any, categorical: bool) -> None:  # fmt: skip
    """Write swept values into a column, keeping the data's dtype where it can."""
    if categorical:
        batch[column] = pd.Series(values, dtype=dtype, index=batch.index)
        return
    numbers = values.astype(float)
    if pd.api.types.is_integer_dtype(dtype) and np.all(np.mod(numbers, 1) == 0):
        batch[column] = numbers.astype(dtype)
    else:
        batch[column] = numbers


def sweep(data: Any, rows: np.ndarray, grids: dict) -> np.ndarray:
    """Model outputs with each column of ``grids`` set to every combination of its values.

    Returns ``(n_rows, n_1[, n_2], n_outputs)``: for row ``i`` and grid point ``g``, the
    model's output on row ``i`` with the columns set to ``g``. One batched model call.
    """
    if data.model is None:
        raise ValueError("Partial dependence and ICE need a live model: pass model= to "
                         "ExplanationDashboard.")  # fmt: skip
    columns = list(grids)
    mesh = np.meshgrid(*[np.asarray(grids[c], dtype=object) for c in columns], indexing="ij")
    points = [m.ravel() for m in mesh]
    base = data.data.iloc[rows].reset_index(drop=True)
    batch = pd.concat([base] * len(points[0]), ignore_index=True)
    for column, values in zip(columns, points, strict=True):
        _set_column(batch, column, np.repeat(values, len(rows)), data.data[column].dtype,
                    column in data.categorical)  # fmt: skip
    out = data.model.outputs(batch)  # (n_points * n_rows, n_outputs), point-major
    shape = [len(grids[c]) for c in columns]
    return np.moveaxis(out.reshape(*shape, len(rows), -1), len(shape), 0)


@dataclass
class PartialDependence:
    columns: list
    grids: list
    average: np.ndarray  # (n_1[, n_2], n_outputs): mean over ``rows``
    ice: np.ndarray | None  # (n_ice, n_1, n_outputs) for one column
    rows: np.ndarray  # rows averaged over
    ice_rows: np.ndarray | None
    n_cohort: int  # rows in the cohort


def partial_dependence(data: Any, cohort_rows: np.ndarray, columns: list,
                       grid_resolution: int | None = None, max_rows: int | None = None,
                       n_ice: int = N_ICE, random_state: int = 0) -> PartialDependence:  # fmt: skip
    """PD (and ICE of ``n_ice`` of the rows, one column only) over a cohort's rows."""
    two = len(columns) == 2
    res = grid_resolution or (GRID_RESOLUTION_2D if two else GRID_RESOLUTION)
    limit = max_rows or (MAX_ROWS_2D if two else MAX_ROWS)
    rng = np.random.default_rng(random_state)
    rows = cohort_rows
    if rows.size > limit:
        rows = np.sort(rng.choice(rows, limit, replace=False))
    grids = {c: pd_grid(data.data[c].iloc[cohort_rows], c in data.categorical, res)
             for c in columns}  # fmt: skip
    outputs = sweep(data, rows, grids)
    ice = ice_rows = None
    if not two and n_ice:
        pick = np.sort(rng.choice(rows.size, min(n_ice, rows.size), replace=False))
        ice, ice_rows = outputs[pick], rows[pick]
    return PartialDependence(columns, [grids[c] for c in columns], outputs.mean(axis=0), ice,
                             rows, ice_rows, int(cohort_rows.size))  # fmt: skip
