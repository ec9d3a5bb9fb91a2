"""Multi-layer perceptrons: the first layer from per-player contributions.

The first layer's pre-activation of a hybrid row is ``h W + c = sum_p h_p W_p + c``, a sum over
the players' blocks of engineered columns. Per explained row and background row the players'
contributions ``x_p W_p`` (players x hidden units) are computed once, so a coalition's
pre-activation is one (coalitions x players) @ (players x hidden units) product; only the
later layers run per coalition. The activations and outputs are scikit-learn's
(``MLPClassifier.predict_proba`` with its two-column form for one output, ``MLPRegressor``'s
``predict``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._eval_partials import FirstLinearStep
from ._jit import jit


def build(estimator, response, Bd, players, weights, link=None):
    """The neural-network path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return None, None
    name = type(estimator).__name__
    classifier = isinstance(estimator, MLPClassifier)
    if (classifier and response != "predict_proba") or (not classifier and response != "predict"):
        return None, f"{name}.{response} is not on the fast path"
    activations = (estimator.activation, estimator.out_activation_)
    unknown = [a for a in activations if a not in _ACTIVATIONS]
    if unknown:
        return None, f"{name} uses activation {unknown[0]!r}"
    coefs = [np.asarray(c) for c in estimator.coefs_]
    if any(c.dtype != np.float64 for c in coefs):
        return None, f"{name} has {coefs[0].dtype} weights (the fast path computes in float64)"
    return NeuralNetwork(estimator, classifier, Bd, players, link), None


def _identity(X):
    return X


def _relu(X):
    return np.maximum(X, 0, out=X)


def _tanh(X):
    return np.tanh(X, out=X)


def _logistic(X):
    return expit(X, out=X)


def _exp(X):
    return np.exp(X, out=X)


def _softmax(X):
    tmp = X - X.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=X)
    X /= X.sum(axis=1)[:, np.newaxis]
    return X


_ACTIVATIONS = {"identity": _identity, "relu": _relu, "tanh": _tanh, "logistic": _logistic,
                "softmax": _softmax, "exp": _exp}


class NeuralNetwork(FirstLinearStep):
    """The neural-network path prepared for one background."""

    name = "neural-network"
    cheap_background_mean = False
    # a coalition costs a few products per background row and the row's share of the first
    # layer is computed once for all of them: per-game regressions would cost more than the
    # model. One design for the background-averaged game, with twice the coalitions of the
    # other cheap paths (benchmarks/agnostic.py: 5x faster than "neyman" at its error).
    shared_design = True
    budget_factor = 8

    def __init__(self, mlp, classifier: bool, Bd, players, link=None):
        self.W = [np.asarray(c, dtype=np.float64) for c in mlp.coefs_]
        self.c = [np.asarray(c, dtype=np.float64) for c in mlp.intercepts_]
        self.hidden = _ACTIVATIONS[mlp.activation]
        self.out = _ACTIVATIONS[mlp.out_activation_]
        self.two_columns = classifier and mlp.n_outputs_ == 1
        self.link = link
        self._init_partials(self.W[0], Bd, players)  # first-layer pre-activations (m, M, H)
        self.width = max(w.shape[1] for w in self.W)
        self._W1T = np.ascontiguousarray(self.W[1].T) if len(self.W) > 1 else None
        probe = self.forward(np.zeros((1, self.W[0].shape[1])))
        self.n_out = probe.shape[-1]

    def forward(self, pre: np.ndarray) -> np.ndarray:
        """Outputs (r, O) from first-layer pre-activations without the intercept (r, H)."""
        return self._from_layer(pre + self.c[0], 0)

    def finish(self, first: np.ndarray) -> np.ndarray:
        return self.forward(first)

    def finish_sum(self, row_part: np.ndarray, bg_part: np.ndarray) -> np.ndarray:
        """The first hidden layer fused with the sum of the first step's parts and the second
        layer's product: the (coalitions x rows x hidden units) activations are never stored."""
        code = _FUSED.get(self.hidden)
        if code is None or len(self.W) < 2:
            return super().finish_sum(row_part, bg_part)
        a = _first_hidden(row_part, bg_part + self.c[0], self._W1T, code)
        return self._from_layer(a.reshape(-1, a.shape[2]) + self.c[1], 1)

    def _from_layer(self, a: np.ndarray, i: int) -> np.ndarray:
        """Outputs (r, O) from layer ``i``'s pre-activations ``a`` (intercept included), which
        this overwrites: the later layers, the output activation, the two-column form."""
        for k in range(i + 1, len(self.W)):
            self.hidden(a)
            a = a @ self.W[k]
            a += self.c[k]
        self.out(a)
        if self.two_columns:
            y = a[:, 0]
            a = np.stack([1 - y, y], axis=1)
        return a if self.link is None else self.link(a)


_FUSED = {_identity: 0, _relu: 1, _tanh: 2, _logistic: 3}


@jit
def _first_hidden(row_part, bg_part, WT, act):  # pragma: no cover - compiled (numba)
    """(b, n, Q): ``act(row_part + bg_part[:, None]) @ WT.T`` for (b, n, P) + (b, P), (Q, P)."""
    b, n, P = row_part.shape
    Q = WT.shape[0]
    out = np.empty((b, n, Q))
    h = np.empty(P)
    for i in range(b):
        for r in range(n):
            if act == 1:
                for p in range(P):
                    x = row_part[i, r, p] + bg_part[i, p]
                    h[p] = 0.0 if x < 0.0 else x  # NaN stays NaN, as np.maximum
            elif act == 2:
                for p in range(P):
                    h[p] = np.tanh(row_part[i, r, p] + bg_part[i, p])
            elif act == 3:
                for p in range(P):
                    h[p] = 1.0 / (1.0 + np.exp(-(row_part[i, r, p] + bg_part[i, p])))
            else:
                for p in range(P):
                    h[p] = row_part[i, r, p] + bg_part[i, p]
            for q in range(Q):
                acc = 0.0
                for p in range(P):
                    acc += h[p] * WT[q, p]
                out[i, r, q] = acc
    return out
