"""A boosted tree proxy over coalition indicators, and its exact Shapley values.

A proxy game ``g(S) = model(1_S)`` is a gradient-boosted ensemble of small regression trees
over the indicator vector ``z`` of the coalition (squared loss, depth 3, 50 trees, shrinkage
0.2). The features are binary, so a split is a player: in the coalition or not. Growing a tree
is a few matrix products per node, which makes the per-row proxies of regression-adjusted MSR
cheap (about twenty times faster than scikit-learn's ``GradientBoostingRegressor`` at these
sizes, whose per-tree overhead dominates).

Its Shapley values (the game's, with the empty coalition as the baseline) follow from the
leaves: the path to a leaf requires some players in the coalition (set ``A``) and others out of
it (``B``), so the leaf contributes its value times ``1[A in S, B out of S]``. That game gives
each player of ``A`` ``(a - 1)! b! / (a + b)!`` and each player of ``B``
``-a! (b - 1)! / (a + b)!`` times the value (``a = |A|``, ``b = |B|``): single-reference
interventional TreeSHAP, exact and linear in the number of leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

N_TREES, DEPTH, SHRINKAGE = 50, 3, 0.2


@dataclass
class _Tree:
    """Nodes in creation order; ``feature[k] = -1`` marks a leaf."""

    feature: list = field(default_factory=list)
    left: list = field(default_factory=list)  # child when the player is out (z = 0)
    right: list = field(default_factory=list)  # child when the player is in (z = 1)
    value: list = field(default_factory=list)

    def add(self, value: float) -> int:
        for attr, v in ((self.feature, -1), (self.left, -1), (self.right, -1),
                        (self.value, value)):
            attr.append(v)
        return len(self.value) - 1

    def predict(self, Z: np.ndarray) -> np.ndarray:
        node = np.zeros(Z.shape[0], dtype=np.intp)
        feature, left, right = (np.array(a) for a in (self.feature, self.left, self.right))
        for _ in range(DEPTH + 1):
            f = feature[node]
            inner = f >= 0
            if not inner.any():
                break
            go_right = Z[np.flatnonzero(inner), f[inner]] > 0.5
            node[inner] = np.where(go_right, right[node[inner]], left[node[inner]])
        return np.asarray(self.value)[node]

    def leaves(self, node: int = 0, need_in=(), need_out=()):
        """``(value, players required in, players required out)`` for every leaf."""
        if self.feature[node] < 0:
            yield self.value[node], need_in, need_out
            return
        f = self.feature[node]
        yield from self.leaves(self.left[node], need_in, need_out + (f,))
        yield from self.leaves(self.right[node], need_in + (f,), need_out)


@dataclass
class BoostedProxy:
    """``base + shrinkage * sum(trees)``."""

    base: float
    trees: list

    def predict(self, Z) -> np.ndarray:
        Zf = np.asarray(Z, dtype=np.float64)
        return self.base + SHRINKAGE * sum((t.predict(Zf) for t in self.trees),
                                           np.zeros(Zf.shape[0]))


def fit_proxy(Z: np.ndarray, y: np.ndarray, random_state: int | None = None) -> BoostedProxy:
    """Gradient boosting (squared loss) of ``y`` over the indicators ``Z`` (K, M).

    Deterministic (no subsampling): ``random_state`` is accepted for the interface only.
    """
    Zf = np.asarray(Z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    base = float(y.mean())
    resid = y - base
    trees = []
    for _ in range(N_TREES):
        tree = _Tree()
        _grow(tree, Zf, resid, np.arange(len(y)), DEPTH)
        trees.append(tree)
        resid = resid - SHRINKAGE * tree.predict(Zf)
    return BoostedProxy(base, trees)


def _grow(tree: _Tree, Z: np.ndarray, r: np.ndarray, idx: np.ndarray, depth: int) -> int:
    """Greedy least-squares split of the node holding rows ``idx``; returns the node's index."""
    total, n = float(r[idx].sum()), idx.shape[0]
    node = tree.add(total / n)
    if depth == 0 or n < 2:
        return node
    Zi = Z[idx]
    n_in = Zi.sum(axis=0)
    s_in = r[idx] @ Zi
    n_out = n - n_in
    ok = (n_in > 0) & (n_out > 0)
    if not ok.any():
        return node
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(ok, s_in**2 / n_in + (total - s_in) ** 2 / n_out, -np.inf)
    f = int(np.argmax(gain))
    if gain[f] - total**2 / n <= 1e-12 * (1.0 + total**2 / n):
        return node
    inside = Zi[:, f] > 0.5
    tree.feature[node] = f
    tree.left[node] = _grow(tree, Z, r, idx[~inside], depth - 1)
    tree.right[node] = _grow(tree, Z, r, idx[inside], depth - 1)
    return node


def proxy_shapley(model: BoostedProxy, M: int) -> np.ndarray:
    """(M,) exact Shapley values of ``S -> model.predict(1_S)`` (empty coalition baseline)."""
    phi = np.zeros(M)
    for tree in model.trees:
        for value, need_in, need_out in tree.leaves():
            a, b = len(need_in), len(need_out)
            if a + b == 0:
                continue
            total = math.factorial(a + b)
            if a:
                phi[list(need_in)] += value * math.factorial(a - 1) * math.factorial(b) / total
            if b:
                phi[list(need_out)] -= value * math.factorial(a) * math.factorial(b - 1) / total
    return SHRINKAGE * phi
