"""Kernel machines (``SVC``, ``NuSVC``, ``SVR``, ``NuSVR``): coalition values from partial sums.

libsvm's decision value of pair ``p = (i, j)`` of classes is ``sum_s C[s, p] K(h, s) + c_p``
over the support vectors ``s`` of classes ``i`` and ``j`` (one pair for two classes and for
regression). ``K(h, s)`` depends on the hybrid row ``h`` only through a squared distance
(``rbf``) or a dot product (``linear``, ``poly``, ``sigmoid``), both sums over the players'
blocks of engineered columns. Per explained row, background row and support vector the
per-player partial sums are computed once; the argument of ``K`` for any coalition is then a
(coalitions x players) @ (players x support vectors) product. For rbf and a coalition averaged
over the background the kernel factorises, ``exp(-g (a + b)) = exp(-g a) exp(-g b)``, so the
average is one more matrix product; a linear kernel folds into one effective direction per
pair.

Outputs follow scikit-learn and libsvm exactly: ``decision_function`` negates libsvm's value
for two classes and maps one-vs-one values to scikit-learn's one-vs-rest shape
(``decision_function_shape="ovr"``, the default) with its votes-plus-confidences rule;
``predict_proba`` is Platt's sigmoid ``1 / (1 + exp(A f + B))`` of each pair's value (clipped
to ``[1e-7, 1 - 1e-7]``) and libsvm's pairwise-coupling iteration, operation by operation.
"""

from __future__ import annotations

import numpy as np

from .._sklearn_compat import ovr_decision_function, svm_internals
from ._eval_partials import model_at

KERNEL_MACHINE_KERNELS = ("rbf", "linear", "poly", "sigmoid")
"""Built-in kernels of the ``"kernel-machine"`` path."""

_MIN_PROB = 1e-7  # libsvm's clipping of pairwise probabilities
_VOTE_RTOL = 1e-9
"""One-vs-rest votes jump where a pair's decision value changes sign: a coalition whose value
is within ``_VOTE_RTOL`` of the size of its terms (where the path's rounding and libsvm's
could give opposite signs) is computed by the estimator itself on its hybrid row."""
_RBF_FLOOR = -300.0
"""The rbf kernel's smallest exponent (see :meth:`KernelMachine.kappa`): e**-300 squared is still
a normal double (e**-600 > 2.2e-308), so no product of two kernel values is subnormal."""


def build(estimator, response, Bd, players, weights, link=None):
    """The kernel-machine path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.svm import SVC, SVR, NuSVC, NuSVR

    if type(estimator) not in (SVC, NuSVC, SVR, NuSVR):
        return None, None
    spec, why = _svm_spec(estimator, response)
    if spec is None:
        return None, why
    if isinstance(spec["output"], _OneVsRest):
        spec["model"] = (estimator, getattr(estimator, response))
    return KernelMachine(spec, Bd, players, weights, link), None


def _dense(A) -> np.ndarray:
    return np.asarray(A.toarray() if hasattr(A, "toarray") else A, dtype=np.float64)


def _svm_spec(estimator, response):
    """The parameters of a supported kernel machine, or (None, why not)."""
    from sklearn.svm import SVC, NuSVC

    name = type(estimator).__name__
    kernel = estimator.kernel
    if callable(kernel) or kernel not in KERNEL_MACHINE_KERNELS:
        return None, f"{name} uses kernel={kernel!r} (fast path: {KERNEL_MACHINE_KERNELS})"
    internals = svm_internals(estimator)
    if internals is None:
        return None, f"{name} has no fitted kernel parameters"
    sv = _dense(estimator.support_vectors_)
    dual = _dense(estimator.dual_coef_)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).reshape(-1)
    spec = {"kernel": kernel, "gamma": internals["gamma"], "coef0": float(estimator.coef0),
            "degree": estimator.degree, "sv": sv}
    if not isinstance(estimator, (SVC, NuSVC)):
        if response != "predict":
            return None, f"{name}.{response} is not on the fast path"
        spec.update(C=dual[0][:, None], intercept=intercept, output=_Identity())
        return spec, None
    n_classes = len(estimator.classes_)
    # scikit-learn negates libsvm's coefficients and decision value for two classes
    sign = -1.0 if n_classes == 2 else 1.0
    spec["C"] = _pair_coefficients(sign * dual, np.asarray(estimator.n_support_), n_classes)
    spec["intercept"] = sign * intercept
    if response == "decision_function":
        if n_classes == 2:
            spec["output"] = _Negate()
        elif estimator.decision_function_shape == "ovr":
            spec["output"] = _OneVsRest(n_classes)
        else:
            spec["output"] = _Identity()
    elif response == "predict_proba":
        n_pairs = n_classes * (n_classes - 1) // 2
        if internals["probA"].shape[0] != n_pairs or internals["probB"].shape[0] != n_pairs:
            return None, f"{name} has no Platt scaling (probability=False)"
        spec["output"] = _Coupling(internals["probA"], internals["probB"], n_classes)
    else:
        return None, f"{name}.{response} is not on the fast path"
    return spec, None


def _pair_coefficients(dual: np.ndarray, n_support: np.ndarray, k: int) -> np.ndarray:
    """(n_SV, n_pairs): the coefficient of each support vector in each pair's decision value.

    libsvm's layout: support vectors grouped by class; for the pair ``(i, j)``, ``i < j``, the
    support vectors of class ``i`` weigh ``dual[j - 1]`` and those of class ``j`` ``dual[i]``.
    """
    start = np.concatenate([[0], np.cumsum(n_support)])
    C = np.zeros((dual.shape[1], k * (k - 1) // 2))
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            si, sj = slice(start[i], start[i + 1]), slice(start[j], start[j + 1])
            C[si, p] = dual[j - 1, si]
            C[sj, p] = dual[i, sj]
            p += 1
    return C


# ------------------------------------------------------------------------- outputs (links)


class _Identity:
    def __call__(self, dec):
        return dec


class _Negate:
    def __call__(self, dec):
        return -dec


class _OneVsRest:
    def __init__(self, n_classes):
        self.k = n_classes

    def __call__(self, dec):
        flat = dec.reshape(-1, dec.shape[-1])
        out = ovr_decision_function(flat < 0, -flat, self.k)
        return out.reshape(dec.shape[:-1] + (self.k,))


class _Coupling:
    """libsvm's ``svm_predict_probability``: pairwise Platt sigmoids, then coupling."""

    def __init__(self, probA, probB, n_classes):
        self.A, self.B, self.k = probA, probB, n_classes

    def __call__(self, dec):
        r = np.clip(_sigmoid_predict(dec, self.A, self.B), _MIN_PROB, 1 - _MIN_PROB)
        return couple(r, self.k)


def _sigmoid_predict(f: np.ndarray, A, B) -> np.ndarray:
    """libsvm's ``sigmoid_predict``: ``1 / (1 + exp(f A + B))``, computed as libsvm does."""
    fApB = f * A + B
    e = np.exp(-np.abs(fApB))
    return np.where(fApB >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def couple(r: np.ndarray, k: int) -> np.ndarray:
    """libsvm's ``multiclass_probability``, vectorised over leading axes (same operations).

    ``r[..., p]`` is the clipped probability of class ``i`` against class ``j`` for the
    ``p``-th pair ``i < j``. libsvm iterates until ``max_t |(Q p)_t - p'Qp| < 0.005 / k``;
    this reproduces the iteration operation by operation, in blocks that stay in cache
    (values that have stopped are left as they are).
    """
    shape = r.shape[:-1]
    flat = r.reshape(-1, r.shape[-1])
    out = np.empty((flat.shape[0], k))
    step = 1 << 14
    for a in range(0, flat.shape[0], step):
        out[a : a + step] = _couple_block(flat[a : a + step], k)
    return out.reshape(shape + (k,))


def _couple_block(r: np.ndarray, k: int) -> np.ndarray:
    n = r.shape[0]
    R = [[None] * k for _ in range(k)]  # R[i][j]: probability of i against j
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            R[i][j] = r[:, p]
            R[j][i] = 1.0 - r[:, p]
            p += 1
    Q = [[None] * k for _ in range(k)]
    for t in range(k):
        acc = np.zeros(n)
        for j in range(t):
            acc = acc + R[j][t] * R[j][t]
            Q[t][j] = Q[j][t]
        for j in range(t + 1, k):
            acc = acc + R[j][t] * R[j][t]
            Q[t][j] = -R[j][t] * R[t][j]
        Q[t][t] = acc
    P = [np.full(n, 1.0 / k) for _ in range(k)]
    eps = 0.005 / k
    for _ in range(max(100, k)):
        Qp = []
        pQp = np.zeros(n)
        for t in range(k):
            acc = np.zeros(n)
            for j in range(k):
                acc = acc + Q[t][j] * P[j]
            Qp.append(acc)
            pQp = pQp + P[t] * acc
        err = np.zeros(n)
        for t in range(k):
            err = np.maximum(err, np.abs(Qp[t] - pQp))
        go = err >= eps
        if not go.any():
            break
        new = list(P)
        for t in range(k):
            diff = (-Qp[t] + pQp) / Q[t][t]
            new[t] = new[t] + diff
            pQp = (pQp + diff * (diff * Q[t][t] + 2 * Qp[t])) / (1 + diff) / (1 + diff)
            for j in range(k):
                Qp[j] = (Qp[j] + diff * Q[t][j]) / (1 + diff)
                new[j] = new[j] / (1 + diff)
        P = [np.where(go, a, b) for a, b in zip(new, P, strict=True)]
    return np.stack(P, axis=1)


# -------------------------------------------------------------------------------- the path


class KernelMachine:
    """The kernel-machine path prepared for one background (see the module notes)."""

    name = "kernel-machine"

    def __init__(self, spec, Bd, players, weights, link=None):
        self.kernel = spec["kernel"]
        # one-vs-rest votes: (estimator, its decision_function) for coalitions on a boundary
        self.model = spec.get("model")
        self.link = link
        self.Bd = Bd
        self.players_f = np.asarray(players, dtype=np.float64)
        self.gamma, self.coef0, self.degree = spec["gamma"], spec["coef0"], spec["degree"]
        self.intercept = spec["intercept"]
        output = spec["output"]
        self.outputs = output if link is None else _Chain(output, link)
        self.players = players  # (M, d_e)
        self.blocks = [np.flatnonzero(p) for p in players]
        self.w = weights
        # rbf: the background average of a coalition is one matrix product (module notes);
        # linear: one effective support vector per pair, every coalition value is a few flops
        self.cheap_background_mean = self.kernel in ("rbf", "linear")
        self.budget_factor = 4
        sv, C = spec["sv"], spec["C"]
        if self.kernel == "linear":
            # sum_s C[s, p] <h, s> = <h, sum_s C[s, p] s>: one direction per pair
            self.direction = sv.T @ C  # (d, P)
            self.sv, self.C = None, np.eye(C.shape[1])
        else:
            self.sv, self.C = sv, C
        self.Qb = self.partials(Bd)  # (m, M, k)
        if self.model is not None:
            # the size of the terms libsvm sums for a pair's decision value (its rounding):
            # per support vector, |C| times the kernel's size, which for rbf is at most one
            # plus the rounding of its argument, g (|h|^2 + |s|^2); for the dot-product
            # kernels it comes from the sums of |h_c s_c| (``abs_partials``) per coalition
            self.C_abs = np.abs(spec["C"])
            self.abs_direction = np.abs(sv).T @ self.C_abs if self.kernel == "linear" else None
            self.sv_norm2 = float((sv * sv).sum(axis=1).max(initial=0.0))
            self.Qb_abs = self.abs_partials(Bd)
        probe = self.outputs(np.zeros((1, self.C.shape[1])))
        self.n_out = probe.shape[-1]

    def abs_partials(self, Y: np.ndarray):
        """(r, M, k): per row, player and support vector (linear: pair), the sum of the
        absolute terms of its dot product; None for rbf."""
        if self.kernel == "rbf":
            return None
        Y = np.abs(Y)
        S = self.abs_direction if self.kernel == "linear" else np.abs(self.sv).T  # (d, k)
        out = np.zeros((Y.shape[0], len(self.blocks), S.shape[1]))
        for p, cols in enumerate(self.blocks):
            out[:, p] = Y[:, cols] @ S[cols]
        return out

    def partials(self, Y: np.ndarray) -> np.ndarray:
        """(r, M, k): per row, player and support vector (linear: pair), the player's share of
        the kernel argument (squared distance for rbf, dot product otherwise)."""
        from ._evaluators import _MAX_ELEMENTS

        r, M = Y.shape[0], len(self.blocks)
        if self.kernel == "linear":
            out = np.zeros((r, M, self.direction.shape[1]))
            for p, cols in enumerate(self.blocks):
                out[:, p] = Y[:, cols] @ self.direction[cols]
            return out
        k = self.sv.shape[0]
        out = np.zeros((r, M, k))
        for p, cols in enumerate(self.blocks):
            if cols.size == 0:
                continue
            S = self.sv[:, cols]
            if self.kernel == "rbf":
                step = max(1, _MAX_ELEMENTS // max(1, k * cols.size))
                for a in range(0, r, step):
                    diff = Y[a : a + step, None, cols] - S[None]
                    out[a : a + step, p] = np.einsum("rkc,rkc->rk", diff, diff)
            else:
                out[:, p] = Y[:, cols] @ S.T
        return out

    def kappa(self, s: np.ndarray) -> np.ndarray:
        if self.kernel == "rbf":
            # Arguments below _RBF_FLOOR are clipped there (kernel values under 5e-131 become
            # 5e-131): numpy's exp takes a slow path on underflow, and products of kernel
            # values with each other or the dual coefficients would fall into the subnormal
            # range, whose arithmetic is many times slower on some CPUs (3x on a whole
            # explanation of the calibrated SVC benchmark). The change to any output is at most
            # |dual coefficients| * 5e-131 per support vector: far below double precision.
            np.multiply(s, -self.gamma, out=s)
            return np.exp(np.maximum(s, _RBF_FLOOR, out=s), out=s)
        if self.kernel == "poly":
            return (self.gamma * s + self.coef0) ** self.degree
        if self.kernel == "sigmoid":
            return np.tanh(self.gamma * s + self.coef0)
        return s  # linear: the argument is already the decision value minus the intercept

    def bind(self, Xt: np.ndarray):
        return _Bound(self, Xt)


class _Chain:
    def __init__(self, first, then):
        self.first, self.then = first, then

    def __call__(self, dec):
        return self.then(self.first(dec))


class _Bound:
    """The kernel machine's coalition values for one chunk of explained rows."""

    def __init__(self, km: KernelMachine, Xt: np.ndarray):
        self.km = km
        self.Xt = Xt
        self.n = Xt.shape[0]
        self.n_out = km.n_out
        self.Qx = np.ascontiguousarray(km.partials(Xt).transpose(1, 0, 2))  # (M, n, k)
        self.M, self.k = self.Qx.shape[0], self.Qx.shape[2]
        m = km.Qb.shape[0]
        self.Qb_t = np.ascontiguousarray(km.Qb.transpose(1, 0, 2)).reshape(self.M, m * self.k)
        self.m = m
        self.width = self.k * max(1, km.C.shape[1])
        if km.kernel == "rbf":
            self.mean = self._mean_rbf
        if km.model is not None:
            if km.kernel == "rbf":
                h2 = (Xt * Xt).sum(axis=1).max(initial=0.0) + (km.Bd * km.Bd).sum(axis=1).max()
                size = 2.0 + km.gamma * (h2 + km.sv_norm2)
                self.vote_scale = km.C_abs.sum(axis=0) * size + np.abs(km.intercept)
            else:
                self.Qx_abs = km.abs_partials(Xt).transpose(1, 0, 2)  # (M, n, k)

    def _rows(self, rows) -> np.ndarray:
        return self.Qx[:, rows].reshape(self.M, len(rows) * self.k)

    def single(self, Z: np.ndarray, j: int, rows) -> np.ndarray:
        """(n_rows, b, O) for masks Z (b, M) against background row j."""
        km, b, nr = self.km, Z.shape[0], len(rows)
        Qb = km.Qb[j]  # (M, k)
        # z @ Qx + (1 - z) @ Qb = z @ (Qx - Qb) + sum(Qb): one product, not two
        D = (self.Qx[:, rows] - Qb[:, None, :]).reshape(self.M, nr * self.k)
        s = (Z @ D).reshape(b, nr, self.k)
        s += Qb.sum(axis=0)
        dec = km.kappa(s) @ km.C + km.intercept  # (b, nr, P)
        out = km.outputs(dec)
        if km.model is not None:
            near = self._near_boundary(dec, Z, rows, j)  # (b, nr)
            if near.any():
                bi, ri = np.nonzero(near)
                out[bi, ri] = self._model(Z[bi], np.asarray(rows)[ri], np.full(bi.size, j))
        return out.transpose(1, 0, 2)

    def _near_boundary(self, dec, Z, rows, j) -> np.ndarray:
        """(b, nr): coalitions with a pair's decision value within rounding of zero."""
        km = self.km
        if km.kernel == "rbf":
            scale = self.vote_scale
        else:  # dot products: the sums of the absolute terms of each argument
            b, nr = dec.shape[:2]
            Qb_abs = km.Qb_abs[j]
            A = (self.Qx_abs[:, rows] - Qb_abs[:, None, :]).reshape(self.M, nr * self.k)
            s_abs = (Z @ A).reshape(b, nr, self.k) + Qb_abs.sum(axis=0)
            if km.kernel == "linear":  # already summed with |C| per pair
                return (np.abs(dec) <= _VOTE_RTOL * (s_abs + np.abs(km.intercept))).any(axis=-1)
            if km.kernel == "poly":
                k_abs = (1.0 + km.degree) * (km.gamma * s_abs + abs(km.coef0)) ** km.degree
            else:  # sigmoid: tanh and its slope are at most one
                k_abs = 1.0 + km.gamma * s_abs
            scale = k_abs @ km.C_abs + np.abs(km.intercept)
        return (np.abs(dec) <= _VOTE_RTOL * scale).any(axis=-1)

    def _model(self, Z, rows, bg) -> np.ndarray:
        """The estimator's own outputs (T, O) for hybrid rows: explained row ``rows[t]``,
        background row ``bg[t]``, coalition ``Z[t]``."""
        km = self.km
        H = np.where(Z @ km.players_f > 0.5, self.Xt[rows], km.Bd[bg])
        return model_at(*km.model, H, km.link)

    def _mean_rbf(self, Z: np.ndarray, rows) -> np.ndarray:
        """(n_rows, b, O): the weighted background mean for masks Z (b, M), rbf kernel."""
        km, b, nr = self.km, Z.shape[0], len(rows)
        P = km.C.shape[1]
        Ea = km.kappa((Z @ self._rows(rows)).reshape(b, nr, self.k))
        Eb = km.kappa(((1.0 - Z) @ self.Qb_t).reshape(b, self.m, self.k))
        G = (Eb[:, :, :, None] * km.C[None, None]).transpose(0, 2, 1, 3)  # (b, k, m, P)
        dec = np.matmul(Ea, G.reshape(b, self.k, self.m * P)).reshape(b, nr, self.m, P)
        dec += km.intercept
        vals = km.outputs(dec)  # (b, nr, m, O)
        if km.model is not None:
            near = (np.abs(dec) <= _VOTE_RTOL * self.vote_scale).any(axis=-1)  # (b, nr, m)
            if near.any():
                bi, ri, mi = np.nonzero(near)
                vals[bi, ri, mi] = self._model(Z[bi], np.asarray(rows)[ri], mi)
        return np.einsum("bnmo,m->nbo", vals, km.w)
