"""Exact Shapley values: every coalition, weighted by the Shapley formula."""

from __future__ import annotations

import math

import numpy as np

from ._designs import _all_masks
from ._engine import _Engine


def _exact_weights(masks: np.ndarray) -> np.ndarray:
    """Matrix W (M, K) such that phi = W @ v for the full set of coalitions ``masks``."""
    M = masks.shape[1]
    s = masks.sum(axis=1)
    # w(t) = t! (M - t - 1)! / M!  for t = 0..M-1 (weight of a coalition of size t without i)
    w = np.array([1.0 / (M * math.comb(M - 1, t)) for t in range(M)])
    with_i = w[np.clip(s - 1, 0, M - 1)]
    without_i = w[np.clip(s, 0, M - 1)]
    return np.where(masks, with_i[:, None], -without_i[:, None]).T


def exact_design(M: int):
    """Every coalition of ``M`` players and the matrix that maps their values to Shapley values."""
    masks = _all_masks(M)
    return masks, _exact_weights(masks)


def run_exact(eng: _Engine, design):
    masks, W = design
    return np.einsum("mk,nko->nmo", W, eng.values(masks)), True
