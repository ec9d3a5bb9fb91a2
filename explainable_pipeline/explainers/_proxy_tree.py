"""Exact Shapley values of a tree ensemble fitted over coalition indicators.

A proxy game ``g(S) = model(1_S)`` is a tree ensemble over the indicator vector ``z`` of the
coalition. Its Shapley values (the game's, with the empty coalition as the baseline) follow
from the leaves: the path to a leaf requires some players in the coalition (set ``A``: splits
taken on the ``z = 1`` side) and others out of it (``B``), so the leaf contributes its value
times ``1[A in S, B out of S]``. That unanimity-like game gives each player of ``A``
``(a - 1)! b! / (a + b)!`` and each player of ``B`` ``-a! (b - 1)! / (a + b)!`` times the value
(``a = |A|``, ``b = |B|``): single-reference interventional TreeSHAP, exact and linear in the
number of leaves.
"""

from __future__ import annotations

import math

import numpy as np


def fit_proxy(Z: np.ndarray, y: np.ndarray, random_state: int):
    """A gradient-boosted tree ensemble of ``y`` over the indicators ``Z`` (K, M)."""
    from sklearn.ensemble import GradientBoostingRegressor

    model = GradientBoostingRegressor(n_estimators=100, max_depth=3, learning_rate=0.1,
                                      random_state=random_state)
    return model.fit(Z.astype(np.float64), y)


def proxy_shapley(model, M: int) -> np.ndarray:
    """(M,) exact Shapley values of ``S -> model.predict(1_S)`` (empty coalition baseline)."""
    from sklearn.ensemble import GradientBoostingRegressor

    if isinstance(model, GradientBoostingRegressor):
        phi = np.zeros(M)
        for est in model.estimators_[:, 0]:
            phi += model.learning_rate * tree_shapley(est.tree_, M)
        return phi
    estimators = getattr(model, "estimators_", None)
    if estimators is not None:  # forests: the mean of the trees
        return sum(tree_shapley(e.tree_, M) for e in estimators) / len(estimators)
    return tree_shapley(model.tree_, M)


def tree_shapley(tree, M: int) -> np.ndarray:
    """(M,) Shapley values of one fitted scikit-learn regression tree over indicators."""
    left, right = tree.children_left, tree.children_right
    feature, threshold = tree.feature, tree.threshold
    value = tree.value.reshape(tree.value.shape[0], -1)[:, 0]
    phi = np.zeros(M)
    # (node, players required in S, players required out of S)
    stack = [(0, np.zeros(M, dtype=bool), np.zeros(M, dtype=bool))]
    while stack:
        node, need_in, need_out = stack.pop()
        if left[node] == -1:
            a, b = int(need_in.sum()), int(need_out.sum())
            if a + b:
                total = math.factorial(a + b)
                if a:
                    phi[need_in] += value[node] * math.factorial(a - 1) * math.factorial(b) / total
                if b:
                    phi[need_out] -= value[node] * math.factorial(a) * math.factorial(b - 1) / total
            continue
        f, t = feature[node], threshold[node]
        for child, goes_left in ((left[node], True), (right[node], False)):
            one_ok = (1.0 <= t) == goes_left  # the player in the coalition takes this branch
            zero_ok = (0.0 <= t) == goes_left  # the player out of it does
            if one_ok and zero_ok:
                stack.append((child, need_in, need_out))
            elif one_ok and not need_out[f]:
                grown = need_in.copy()
                grown[f] = True
                stack.append((child, grown, need_out))
            elif zero_ok and not need_in[f]:
                grown = need_out.copy()
                grown[f] = True
                stack.append((child, need_in, grown))
    return phi
