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
        model, b, nr = self.model, Z.shape[0], len(rows)
        M, P = self.Px.shape[0], self.Px.shape[2]
        first = (Z @ self.Px[:, rows].reshape(M, nr * P)).reshape(b, nr, P)
        first += ((1.0 - Z) @ model.Pb[j])[:, None, :]
        out = model.finish(first.reshape(b * nr, P))
        return out.reshape(b, nr, -1).transpose(1, 0, 2)
