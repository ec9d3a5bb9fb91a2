"""Model paths whose first step is linear in the engineered columns.

A linear model's decision values and an MLP's first-layer pre-activations are ``h @ A`` for a
(d, P) matrix ``A``: a sum over the players' blocks of engineered columns. Per explained row and
background row, each player's partial product is computed once; a coalition's first step
against background row ``j`` is then ``z @ partials(x) + (1 - z) @ partials(b_j)``, one small
matrix product, and only the model's remaining steps (:meth:`FirstLinearStep.finish`) run per
coalition.
"""

from __future__ import annotations

import numpy as np


class FirstLinearStep:
    """Mixin of the paths: ``_matrix`` (d, P), ``blocks`` (engineered columns per player),
    ``Pb`` (background partials) and ``finish`` (outputs from the first step)."""

    def _init_partials(self, matrix: np.ndarray, Bd: np.ndarray, players) -> None:
        self._matrix = matrix
        self.blocks = [np.flatnonzero(p) for p in players]
        self.Pb = self.partials(Bd)  # (m, M, P)

    def partials(self, Y: np.ndarray) -> np.ndarray:
        """(r, M, P): each player's share of ``Y @ matrix``."""
        out = np.zeros((Y.shape[0], len(self.blocks), self._matrix.shape[1]))
        for p, cols in enumerate(self.blocks):
            if cols.size:
                out[:, p] = Y[:, cols] @ self._matrix[cols]
        return out

    def finish(self, first: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Outputs (r, O) from the first step (r, P)."""
        raise NotImplementedError

    def finish_sum(self, row_part: np.ndarray, bg_part: np.ndarray) -> np.ndarray:
        """Outputs (b * n, O) of first steps ``row_part + bg_part`` ((b, n, P) + (b, 1, P)); a
        path may fuse the sum with its next step."""
        first = row_part + bg_part[:, None, :]
        return self.finish(first.reshape(-1, first.shape[2]))

    def bind(self, Xt: np.ndarray):
        return _Bound(self, Xt)


class _Bound:
    def __init__(self, model: FirstLinearStep, Xt: np.ndarray):
        self.model = model
        self.n = Xt.shape[0]
        self.n_out = model.n_out
        self.width = model.width
        self.Px = np.ascontiguousarray(model.partials(Xt).transpose(1, 0, 2))  # (M, n, P)

    def single(self, Z: np.ndarray, j: int, rows) -> np.ndarray:
        """(len(rows), b, O) values of coalitions ``Z`` (b, M) against background row ``j``."""
        return self._finish(self._row_part(Z, rows), Z, j)

    def mean_over(self, Z: np.ndarray, rows, weights: np.ndarray) -> np.ndarray:
        """(len(rows), b, O): the ``weights``-average over background rows of the coalitions'
        values. The rows' share ``Z @ partials(x)`` does not depend on the background row: it
        is computed once, not once per background row."""
        row_part = self._row_part(Z, rows)
        acc = 0.0
        for j in np.flatnonzero(weights > 0):
            acc = acc + weights[j] * self._finish(row_part, Z, int(j))
        return acc

    def _row_part(self, Z: np.ndarray, rows) -> np.ndarray:
        """(b, len(rows), P): the first step's share of the explained rows' columns."""
        M, P, nr = self.Px.shape[0], self.Px.shape[2], len(rows)
        return (Z @ self.Px[:, rows].reshape(M, nr * P)).reshape(Z.shape[0], nr, P)

    def _finish(self, row_part: np.ndarray, Z: np.ndarray, j: int) -> np.ndarray:
        b, nr, _ = row_part.shape
        out = self.model.finish_sum(row_part, (1.0 - Z) @ self.model.Pb[j])
        return out.reshape(b, nr, -1).transpose(1, 0, 2)


def engineered_hybrids(rows: np.ndarray, background: np.ndarray, Z: np.ndarray,
                       players: np.ndarray) -> np.ndarray:
    """(r, b, d) hybrid engineered rows: each coalition of ``Z`` (b, M) takes its players'
    columns (``players`` (M, d), as floats) from each of ``rows`` (r, d), the others from
    ``background``: one row (d,) for all coalitions, or one per coalition (b, d)."""
    keep = Z @ players > 0.5  # (b, d): the column comes from the explained row
    return np.where(keep[None], rows[:, None, :], np.asarray(background)[None])


def model_at(estimator, response, H: np.ndarray, link=None) -> np.ndarray:
    """The estimator's own outputs (q, O) on engineered hybrid rows ``H`` (q, d), through
    ``link`` when given: what a path falls back to where its own arithmetic could differ
    from the model's (ties, vote boundaries)."""
    out = np.asarray(response(as_fitted(estimator, H)), dtype=np.float64).reshape(len(H), -1)
    return out if link is None else link(out)


def as_fitted(estimator, H: np.ndarray):
    """Engineered rows ``H`` as ``estimator`` was fitted on them: a DataFrame with its
    ``feature_names_in_`` when it has them (scikit-learn warns about a bare array then),
    else ``H`` itself."""
    columns = getattr(estimator, "feature_names_in_", None)
    if columns is None:
        return H
    import pandas as pd

    return pd.DataFrame(H, columns=columns)
