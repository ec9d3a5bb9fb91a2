"""Map the engineered columns of a fitted preprocessor back to raw input columns.

Every fitted transformer yields a boolean dependency matrix ``D`` of shape
``(n_outputs, n_inputs)`` over its own inputs: ``D[j, i]`` is True when output
``j`` depends on input ``i``. Pipelines compose their steps' matrices by boolean
product, ``ColumnTransformer`` / ``FeatureUnion`` / ``DataFrameMapper`` assemble
blocks. When every engineered column has exactly one raw parent the map is
exact and ``raw = engineered @ matrix`` sums each raw column's engineered
children, so the total attribution is preserved.

Rules for a transformer on several inputs: known element-wise and
one-to-many transformers are mapped exactly; anything else conservatively
makes every output depend on every input and is recorded in
``FeatureMap.mixed_``. A transformer on one input is always exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["FeatureMap", "MixedFeatureError"]

_FIX = (
    'use a raw-space explainer (explainer="exact", "kernel" or "permutation", which '
    'perturb raw columns and need no mapping) or explain in space="engineered"'
)


class MixedFeatureError(ValueError):
    """An engineered column depends on several raw columns.

    Raised by :attr:`FeatureMap.matrix` and :meth:`FeatureMap.to_raw` when the
    attribution of such a column cannot be split among raw columns. The message
    names the transformer path, the outputs and raw inputs mixed, and the way out.
    """


def _short(names: Sequence[str], limit: int = 6) -> str:
    names = [str(n) for n in names]
    if len(names) <= limit:
        return repr(names)
    return f"{names[:limit]!r} ... ({len(names) - limit} more)"


# --------------------------------------------------------------------------- #
# FeatureMap
# --------------------------------------------------------------------------- #
class FeatureMap:
    """Map from engineered columns to raw input columns.

    Build one with :func:`build_feature_map`.

    Parameters
    ----------
    raw_features : sequence of str
        Raw input names, in input order.
    engineered_features : sequence of str
        Engineered (preprocessor output) names, in output order.
    dependency : sparse matrix of shape (n_engineered, n_raw)
        True where engineered column ``j`` depends on raw column ``i``.
    mixed : list of dict, default=None
        ``{"transformer": path, "outputs": [...], "inputs": [...]}`` for each
        transformer that mixes several raw columns into one output.
    transformer_paths : sequence of str, default=None
        Path of the transformer that produced each engineered column.

    Attributes
    ----------
    raw_features : ndarray of object
    engineered_features : ndarray of object
    dependency : scipy.sparse.csr_matrix of bool, shape (n_engineered, n_raw)
    mixed_ : list of dict
    transformer_paths : ndarray of object
    """

    def __init__(
        self,
        raw_features: Sequence[str],
        engineered_features: Sequence[str],
        dependency: Any,
        mixed: list[dict] | None = None,
        transformer_paths: Sequence[str] | None = None,
    ) -> None:
        self.raw_features = np.asarray(list(raw_features), dtype=object)
        self.engineered_features = np.asarray(list(engineered_features), dtype=object)
        dep = _bool(dependency)
        expected = (len(self.engineered_features), len(self.raw_features))
        if dep.shape != expected:
            raise ValueError(
                f"dependency has shape {dep.shape}, expected (n_engineered, n_raw) = {expected}."
            )
        self.dependency = dep
        self.mixed_ = list(mixed or [])
        if transformer_paths is None:
            transformer_paths = [""] * expected[0]
        self.transformer_paths = np.asarray(list(transformer_paths), dtype=object)

    @property
    def output_to_input_(self) -> dict[str, list[str]]:
        """Raw parents of each engineered column (raw order)."""
        dep = self.dependency
        return {
            str(name): [
                str(r) for r in self.raw_features[dep.indices[dep.indptr[j] : dep.indptr[j + 1]]]
            ]
            for j, name in enumerate(self.engineered_features)
        }

    @property
    def input_to_outputs_(self) -> dict[str, list[str]]:
        """Engineered children of each raw column (output order)."""
        dep = self.dependency.tocsc()
        return {
            str(name): [
                str(e)
                for e in self.engineered_features[
                    np.sort(dep.indices[dep.indptr[i] : dep.indptr[i + 1]])
                ]
            ]
            for i, name in enumerate(self.raw_features)
        }

    @property
    def is_exact(self) -> bool:
        """True when every engineered column has exactly one raw parent."""
        return bool(np.all(np.diff(self.dependency.indptr) == 1))

    def _raise_if_not_exact(self) -> None:
        if self.is_exact:
            return
        parts = [
            f"transformer {m['transformer']!r} mixes raw columns {_short(m['inputs'])} "
            f"into engineered columns {_short(m['outputs'])}"
            for m in self.mixed_
        ]
        n_parents = np.diff(self.dependency.indptr)
        orphans = self.engineered_features[n_parents == 0]
        if len(orphans):
            parts.append(f"engineered columns {_short(orphans)} depend on no raw column")
        if not parts:  # defensive: several parents without a recorded transformer
            parts.append(
                f"engineered columns {_short(self.engineered_features[n_parents > 1])} "
                "depend on several raw columns"
            )
        raise MixedFeatureError(
            "Engineered attributions cannot be mapped to raw columns: "
            + "; ".join(parts)
            + f". To explain this model, {_FIX}."
        )

    @property
    def matrix(self) -> sp.csr_matrix:
        """Float64 CSR matrix (n_engineered, n_raw) with one 1.0 per row.

        Raises
        ------
        MixedFeatureError
            When the map is not exact.
        """
        self._raise_if_not_exact()
        return self.dependency.astype(np.float64).tocsr()

    def to_raw(self, values: Any) -> np.ndarray:
        """Sum engineered attributions into raw attributions.

        Parameters
        ----------
        values : array-like of shape (..., n_engineered) or 2-D sparse matrix
            Engineered attributions; any leading dimensions (classes, rows).

        Returns
        -------
        ndarray of shape (..., n_raw)
            Each raw value is the sum of its engineered children.

        Raises
        ------
        MixedFeatureError
            When the map is not exact.
        ValueError
            When the last dimension of ``values`` is not ``n_engineered``.
        """
        matrix = self.matrix
        n_eng, n_raw = matrix.shape
        if sp.issparse(values):
            if values.ndim != 2 or values.shape[1] != n_eng:
                raise ValueError(
                    f"to_raw expects values of shape (..., {n_eng}) (n_engineered), "
                    f"got a sparse matrix of shape {values.shape}."
                )
            return np.asarray((values @ matrix).toarray(), dtype=np.float64)
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] != n_eng:
            raise ValueError(
                f"to_raw expects values of shape (..., {n_eng}) (n_engineered), "
                f"got shape {arr.shape}."
            )
        flat = arr.reshape(-1, n_eng)
        out = np.asarray(matrix.T @ flat.T).T
        return out.reshape(arr.shape[:-1] + (n_raw,))

    def to_frame(self) -> pd.DataFrame:
        """One row per engineered column: ``engineered``, ``raw``, ``transformer``.

        ``raw`` is the raw parent's name when there is exactly one, else a tuple
        of the parents' names.
        """
        parents = self.output_to_input_
        raw = [p[0] if len(p) == 1 else tuple(p) for p in parents.values()]
        return pd.DataFrame(
            {
                "engineered": [str(e) for e in self.engineered_features],
                "raw": raw,
                "transformer": [str(t) for t in self.transformer_paths],
            }
        )

    def __repr__(self) -> str:
        paths = [m["transformer"] for m in self.mixed_]
        mixed = f", mixed={paths!r}" if paths else ""
        return (
            f"FeatureMap(n_engineered={len(self.engineered_features)}, "
            f"n_raw={len(self.raw_features)}, exact={self.is_exact}{mixed})"
        )


def _bool(dep: Any) -> sp.csr_matrix:
    """Canonical bool CSR (sorted indices, no explicit zeros)."""
    out = sp.csr_matrix(dep, dtype=bool)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out
