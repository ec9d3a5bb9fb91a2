"""Exact, faster ways to compute the coalition values of the raw-space Shapley engine.

The engine (:mod:`._shapley`) defines the value of a coalition ``S`` for a row ``x`` and a
background row ``b`` as the pipeline's output on the hybrid raw row ``(x_S, b_rest)``. Its
default *black-box* path builds those raw rows and runs the whole pipeline on them. Two exact
shortcuts apply to common pipelines; :func:`pipeline_evaluator` picks one:

``"separable"``
    Every engineered column depends on exactly one raw column (the fitted feature map is
    exact: one-hot encoders, scalers, per-column imputers, ...). Then the transform of a hybrid
    raw row is the hybrid of the transformed rows, block by block. The explained rows and the
    background are transformed once per chunk, hybrid rows are assembled in engineered space
    by selecting column blocks, and only the estimator runs on them.
``"kernel-machine"``
    The estimator is a fitted scikit-learn :class:`~sklearn.svm.SVC` / :class:`~sklearn.svm.NuSVC`
    (binary; ``decision_function``, or ``predict_proba`` with ``probability=True``) or
    :class:`~sklearn.svm.SVR` / :class:`~sklearn.svm.NuSVR` (``predict``) with a built-in kernel
    (``"rbf"``, ``"linear"``, ``"poly"``, ``"sigmoid"``), behind an identity or separable
    preprocessor. Its output is ``sum_k a_k K(h, s_k) + c`` over support vectors ``s_k``, and
    ``K`` depends on ``h`` only through a squared distance (rbf) or a dot product (others),
    both sums over the players' blocks of engineered columns. Per explained row, background
    row and support vector the per-player partial sums are computed once; the argument of
    ``K`` for any coalition is then a matrix product (coalitions x players) @ (players x
    support vectors). For rbf and a coalition averaged over the background the kernel even
    factorises, ``exp(-g (a + b)) = exp(-g a) exp(-g b)``, so the average over background rows
    is one more matrix product. Probabilities follow libsvm exactly: Platt's sigmoid
    ``1 / (1 + exp(A f + B))`` on libsvm's decision value (clipped to ``[1e-7, 1 - 1e-7]``),
    then libsvm's pairwise-coupling iteration, which scikit-learn also runs for two classes.

Both paths are exact reformulations, not approximations. The engine still checks them: a path
is used for a chunk of rows only after it reproduced the model's own output (the black box) on
probe coalitions of that chunk to 1e-9 (relative to the output scale); otherwise the chunk
falls back to the black box. ``ShapleyResult.evaluation`` records the path that ran. Multiclass
SVC, ``OneClassSVM``, callable or precomputed kernels and preprocessors that mix raw columns
(PCA, polynomial features, ...) use the black box.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["KERNEL_MACHINE_KERNELS", "PipelineEvaluator", "pipeline_evaluator"]

logger = logging.getLogger(__name__)

KERNEL_MACHINE_KERNELS = ("rbf", "linear", "poly", "sigmoid")
"""Built-in kernels of the ``"kernel-machine"`` path."""

_MAX_ELEMENTS = 1 << 22
"""Bound on the elements of one temporary array of the kernel-machine path (32 MiB)."""

_MIN_PROB = 1e-7  # libsvm's clipping of pairwise probabilities


def pipeline_evaluator(preprocessor, estimator, method: str, feature_map=None, transform=None):
    """The exact fast evaluation of a fitted pipeline's coalition values, for the engine.

    Parameters
    ----------
    preprocessor : fitted transformer or None
        None means identity (raw columns go to the estimator as they are).
    estimator : fitted estimator
    method : {"predict", "predict_proba", "decision_function"}
        The estimator method whose output is explained.
    feature_map : FeatureMap, default=None
        The fitted map from engineered to raw columns (needed with a preprocessor: the fast
        paths apply only when it is exact, one raw parent per engineered column).
    transform : callable, default=None
        Used instead of ``preprocessor.transform`` (``ExplainablePipeline`` passes its own,
        which compiles a checked fast path for few rows).

    Returns
    -------
    PipelineEvaluator
        Pass it as ``evaluator=`` to :func:`~._shapley.shapley_values`. After the call its
        ``path`` is ``"kernel-machine"``, ``"separable"`` or None, with ``reason`` saying why
        no fast path applied.
    """
    return PipelineEvaluator(preprocessor, estimator, method, feature_map, transform)


class PipelineEvaluator:
    """Prepares the fastest exact evaluation path for one background and player layout.

    See :func:`pipeline_evaluator`.
    """

    def __init__(self, preprocessor, estimator, method, feature_map=None, transform=None):
        self.preprocessor = preprocessor
        self.transform = transform
        self.estimator = estimator
        self.method = method
        self.feature_map = feature_map
        self.path = None
        self.reason = None

    def _transform(self, X):
        if self.preprocessor is None:
            return X
        return self.preprocessor.transform(X) if self.transform is None else self.transform(X)

    def _engineered_players(self, player_cols: np.ndarray, n_engineered: int):
        """(M, n_engineered) bool: the engineered columns of each player, or None."""
        n_raw = player_cols.shape[1]
        if self.preprocessor is None:
            owner = np.arange(n_raw)
        else:
            fm = self.feature_map
            if fm is None or not fm.is_exact:
                self.reason = ("the preprocessor mixes raw columns (some engineered column has "
                               "several raw parents), so hybrid rows must be re-transformed")
                return None
            dep = fm.dependency.tocsr()
            if dep.shape[1] != n_raw:
                self.reason = "the feature map does not match the raw columns"
                return None
            owner = dep.indices[dep.indptr[:-1]]
        if owner.shape[0] != n_engineered:
            self.reason = (f"the preprocessor gives {n_engineered} columns but the feature map "
                           f"lists {owner.shape[0]}")
            return None
        player_of_raw = np.argmax(player_cols, axis=0)
        out = np.zeros((player_cols.shape[0], n_engineered), dtype=bool)
        out[player_of_raw[owner], np.arange(n_engineered)] = True
        return out

    def prepare(self, background_rows, player_cols: np.ndarray, weights: np.ndarray):
        """A prepared fast path for this background (or None: use the black box).

        Parameters
        ----------
        background_rows : DataFrame or ndarray
            Raw background rows, as the engine passes them to ``f``.
        player_cols : ndarray of shape (n_players, n_raw_columns), bool
        weights : ndarray of shape (n_background,)
            Background weights (sum to one).
        """
        self.path, self.reason = None, None
        try:
            Bt = self._transform(background_rows)
        except Exception as exc:  # noqa: BLE001 - the black box will raise the real error
            self.reason = f"the preprocessor failed on the background ({exc!r})"
            return None
        kind, columns = _container(Bt)
        if kind is None:
            self.reason = "the preprocessor output is not numeric"
            return None
        Bd = _dense(Bt)
        players = self._engineered_players(player_cols, Bd.shape[1])
        if players is None:
            return None
        spec, why = _svm_spec(self.estimator, self.method)
        if spec is not None:
            prepared = _KernelMachine(self, spec, Bd, players, weights)
        elif self.preprocessor is None:
            self.reason = (f"{why}; with no preprocessor, hybrid raw rows already go straight "
                           "to the estimator")
            return None
        else:
            predict = getattr(self.estimator, self.method)
            n_out = np.asarray(predict(Bt)).reshape(Bd.shape[0], -1).shape[1]
            prepared = _Separable(self, predict, kind, columns, Bd, players, weights, n_out)
        self.path = prepared.name
        return prepared


def _container(Xt):
    """("array" | "sparse" | "frame", columns) when ``Xt`` is numeric, else (None, None)."""
    if sp.issparse(Xt):
        return ("sparse", None) if Xt.dtype.kind in "biuf" else (None, None)
    if isinstance(Xt, pd.DataFrame):
        numeric = all(
            pd.api.types.is_numeric_dtype(t) and not isinstance(t, pd.CategoricalDtype)
            for t in Xt.dtypes
        )
        return ("frame", Xt.columns) if numeric else (None, None)
    arr = np.asarray(Xt)
    return ("array", None) if arr.ndim == 2 and arr.dtype.kind in "biuf" else (None, None)


def _dense(Xt) -> np.ndarray:
    if sp.issparse(Xt):
        return Xt.toarray()
    if isinstance(Xt, pd.DataFrame):
        return Xt.to_numpy()
    return np.asarray(Xt)


# --------------------------------------------------------------------------------------------
# Separable preprocessors: hybrid rows assembled in engineered space
# --------------------------------------------------------------------------------------------


class _ArrayChunk:
    """Transformed explained rows and background, mixed block by block.

    Explained rows stacked over background rows, split per player into contiguous column
    blocks: each player's part of a batch of hybrid rows is one row gather.
    """

    def __init__(self, Xt: np.ndarray, Bt: np.ndarray, players: np.ndarray, wrap):
        dtype = np.result_type(Xt.dtype, Bt.dtype)
        S = np.vstack([Xt.astype(dtype), Bt.astype(dtype)])
        self.n = Xt.shape[0]
        self.d = S.shape[1]
        self.dtype = dtype
        self.blocks = []
        for p, member in enumerate(players):
            cols = np.flatnonzero(member)
            if cols.size == 0:
                continue
            if cols[-1] - cols[0] + 1 == cols.size:  # contiguous: write through a slice
                cols = slice(int(cols[0]), int(cols[-1]) + 1)
            self.blocks.append((p, cols, np.ascontiguousarray(S[:, cols])))
        self.wrap = wrap

    def hybrid(self, i, j, pmask, owner):
        out = np.empty((i.shape[0], self.d), dtype=self.dtype)
        bg_pos = j + self.n
        for p, cols, Sp in self.blocks:
            out[:, cols] = np.take(Sp, np.where(pmask[:, p], i, bg_pos), axis=0)
        return self.wrap(out)


class _Separable:
    name = "separable"

    def __init__(self, owner, predict, kind, columns, Bd, players, weights, n_out):
        self.owner = owner
        self.predict = predict
        self.kind = kind
        self.columns = columns
        self.Bd = Bd
        self.players = players
        self.w = weights
        self.n_out = n_out

    def _wrap(self, rows):
        if self.kind == "sparse":
            return sp.csr_matrix(rows)
        if self.kind == "frame":
            return pd.DataFrame(rows, columns=self.columns)
        return rows

    def bind(self, X_chunk, max_batch_rows):
        from ._hybrid import _HybridGame

        Xt = _dense(self.owner._transform(X_chunk))
        chunk = _ArrayChunk(Xt, self.Bd, self.players, self._wrap)
        return _HybridGame(self.predict, chunk, self.players, self.w, max_batch_rows, self.n_out)


# --------------------------------------------------------------------------------------------
# Kernel machines: coalition values from per-player partial distances / dot products
# --------------------------------------------------------------------------------------------


def _svm_spec(estimator, method):
    """The parameters of a supported kernel machine, or (None, why not)."""
    from sklearn.svm import SVC, SVR, NuSVC, NuSVR

    name = type(estimator).__name__
    if type(estimator) not in (SVC, NuSVC, SVR, NuSVR):
        return None, f"{name} is not an SVC, NuSVC, SVR or NuSVR"
    kernel = estimator.kernel
    if callable(kernel) or kernel not in KERNEL_MACHINE_KERNELS:
        return None, f"{name} uses kernel={kernel!r} (fast path: {KERNEL_MACHINE_KERNELS})"
    spec = {
        "kernel": kernel,
        "gamma": float(estimator._gamma),
        "coef0": float(estimator.coef0),
        "degree": estimator.degree,
        "sv": _dense(estimator.support_vectors_).astype(np.float64),
        "dual": _dense(estimator.dual_coef_).astype(np.float64)[0],
        "intercept": float(np.asarray(estimator.intercept_)[0]),
        "output": "decision",
    }
    if isinstance(estimator, (SVC, NuSVC)):
        if len(estimator.classes_) != 2:
            return None, (f"{name} has {len(estimator.classes_)} classes (multiclass SVMs couple "
                          "one-vs-one outputs; not on the fast path)")
        if method == "predict_proba":
            probA = getattr(estimator, "_probA", None)
            probB = getattr(estimator, "_probB", None)
            if probA is None or len(probA) != 1:
                return None, f"{name} has no Platt scaling (probability=False)"
            spec["output"] = "probability"
            spec["A"], spec["B"] = float(probA[0]), float(probB[0])
        elif method != "decision_function":
            return None, f"{name}.{method} is not on the fast path"
    elif method != "predict":
        return None, f"{name}.{method} is not on the fast path"
    return spec, None


def _sigmoid_predict(f: np.ndarray, A: float, B: float) -> np.ndarray:
    """libsvm's ``sigmoid_predict``: ``1 / (1 + exp(f A + B))``, computed as libsvm does."""
    fApB = f * A + B
    e = np.exp(-np.abs(fApB))
    return np.where(fApB >= 0, e / (1.0 + e), 1.0 / (1.0 + e))


def _couple_two(r: np.ndarray):
    """libsvm's ``multiclass_probability`` for two classes, vectorised (same operations).

    ``r`` is the clipped pairwise probability of class 0 against class 1. libsvm iterates
    until ``max_t |(Q p)_t - p'Qp| < 0.005 / k``, so its answer differs from ``r`` by up to
    about that tolerance; this reproduces the iteration operation by operation (in blocks that
    stay in cache; values that have stopped are left as they are).
    """
    shape = r.shape
    flat = r.ravel()
    p0 = np.empty_like(flat)
    p1 = np.empty_like(flat)
    step = 1 << 15
    for a in range(0, flat.shape[0], step):
        p0[a : a + step], p1[a : a + step] = _couple_two_block(flat[a : a + step])
    return p0.reshape(shape), p1.reshape(shape)


def _couple_two_block(r01: np.ndarray):
    r10 = 1.0 - r01
    Q00, Q11, Q01 = r10 * r10, r01 * r01, -r10 * r01
    p0 = np.full(r01.shape, 0.5)
    p1 = np.full(r01.shape, 0.5)
    eps = 0.005 / 2
    for _ in range(100):
        Qp0 = Q00 * p0 + Q01 * p1
        Qp1 = Q01 * p0 + Q11 * p1
        pQp = p0 * Qp0 + p1 * Qp1
        go = np.maximum(np.abs(Qp0 - pQp), np.abs(Qp1 - pQp)) >= eps
        if not go.any():
            break
        a0, a1 = p0, p1
        # t = 0
        diff = (-Qp0 + pQp) / Q00
        a0 = a0 + diff
        pQp = (pQp + diff * (diff * Q00 + 2 * Qp0)) / (1 + diff) / (1 + diff)
        Qp0 = (Qp0 + diff * Q00) / (1 + diff)
        a0 = a0 / (1 + diff)
        Qp1 = (Qp1 + diff * Q01) / (1 + diff)
        a1 = a1 / (1 + diff)
        # t = 1
        diff = (-Qp1 + pQp) / Q11
        a1 = a1 + diff
        a0 = a0 / (1 + diff)
        a1 = a1 / (1 + diff)
        p0 = np.where(go, a0, p0)
        p1 = np.where(go, a1, p1)
    return p0, p1


class _KernelMachine:
    name = "kernel-machine"

    def __init__(self, owner, spec, Bd, players, weights):
        self.owner = owner
        self.kernel = spec["kernel"]
        self.gamma, self.coef0, self.degree = spec["gamma"], spec["coef0"], spec["degree"]
        self.intercept = spec["intercept"]
        self.output = spec["output"]
        self.A, self.B = spec.get("A"), spec.get("B")
        self.n_out = 2 if self.output == "probability" else 1
        self.players = players  # (M, d_e)
        # rbf: the background average of a coalition is one matrix product (see the notes);
        # linear: one effective support vector, every coalition value is a few flops
        self.cheap_background_mean = self.kernel in ("rbf", "linear")
        self.blocks = [np.flatnonzero(p) for p in players]
        self.w = weights
        sv, dual = spec["sv"], spec["dual"]
        if self.kernel == "linear":
            # sum_k a_k <h, s_k> = <h, sum_k a_k s_k>: one effective "support vector"
            self.direction = sv.T @ dual
            self.sv, self.dual = None, np.ones(1)
        else:
            self.sv, self.dual = sv, dual
        self.Qb = self.partials(Bd.astype(np.float64))  # (m, M, k)

    # per-player partial sums --------------------------------------------------------------
    def partials(self, Y: np.ndarray) -> np.ndarray:
        """(r, M, k): per row, player and support vector, the player's share of the kernel
        argument (squared distance for rbf, dot product otherwise)."""
        r, M = Y.shape[0], len(self.blocks)
        if self.kernel == "linear":
            return ((Y * self.direction) @ self.players.T.astype(np.float64))[:, :, None]
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

    def _kappa(self, s: np.ndarray) -> np.ndarray:
        if self.kernel == "rbf":
            # Arguments below -708 (kernel values under 3.3e-308, subnormal or zero) are clipped
            # there: numpy's exp takes a slow path on underflow, and the change to any output
            # is far below double precision.
            np.multiply(s, -self.gamma, out=s)
            return np.exp(np.maximum(s, -708.0, out=s), out=s)
        if self.kernel == "poly":
            return (self.gamma * s + self.coef0) ** self.degree
        if self.kernel == "sigmoid":
            return np.tanh(self.gamma * s + self.coef0)
        return s  # linear: the argument is already the decision value minus the intercept

    def outputs(self, dec: np.ndarray) -> np.ndarray:
        """Model outputs (..., O) from decision values (scikit-learn's sign)."""
        if self.output == "decision":
            return dec[..., None]
        # libsvm's decision value is the negation of scikit-learn's for two classes
        r = np.clip(_sigmoid_predict(-dec, self.A, self.B), _MIN_PROB, 1 - _MIN_PROB)
        p0, p1 = _couple_two(r)
        return np.stack([p0, p1], axis=-1)

    def bind(self, X_chunk, max_batch_rows):
        Xt = _dense(self.owner._transform(X_chunk)).astype(np.float64)
        return _KernelMachineGame(self, Xt)


class _KernelMachineGame:
    """Coalition values of one chunk of rows for a kernel machine (see the module notes)."""

    def __init__(self, km: _KernelMachine, Xt: np.ndarray):
        self.km = km
        self.n = Xt.shape[0]
        Qx = km.partials(Xt)  # (n, M, k)
        M, k = Qx.shape[1], Qx.shape[2]
        self.M, self.k = M, k
        self.Qx_t = np.ascontiguousarray(Qx.transpose(1, 0, 2)).reshape(M, self.n * k)
        m = km.Qb.shape[0]
        self.Qb_t = np.ascontiguousarray(km.Qb.transpose(1, 0, 2)).reshape(M, m * k)
        self.m = m
        self.n_evaluations = 0

    def evaluate(self, masks: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Values (n, n_items, O) of items (masks, bg); ``bg = -1``: weighted background mean."""
        km = self.km
        Z = masks.astype(np.float64)
        out = np.empty((self.n, Z.shape[0], km.n_out))
        mean = np.flatnonzero(bg < 0)
        if mean.size:
            if km.kernel == "rbf":
                step = max(1, _MAX_ELEMENTS // ((self.n + self.m) * self.k))
                for a in range(0, mean.size, step):
                    idx = mean[a : a + step]
                    out[:, idx] = self._mean_rbf(Z[idx])
            else:
                acc = 0.0
                for j in np.flatnonzero(km.w > 0):
                    acc = acc + km.w[j] * self._single_all(Z[mean], j)
                out[:, mean] = acc
            self.n_evaluations += self.n * mean.size * self.m
        single = np.flatnonzero(bg >= 0)
        for j in np.unique(bg[single]):
            idx = single[bg[single] == j]
            out[:, idx] = self._single_all(Z[idx], int(j))
            self.n_evaluations += self.n * idx.size
        return out

    def _single_all(self, Z: np.ndarray, j: int) -> np.ndarray:
        step = max(1, _MAX_ELEMENTS // (self.n * self.k))
        parts = [self._single(Z[a : a + step], j) for a in range(0, Z.shape[0], step)]
        return np.concatenate(parts, axis=1)

    def _single(self, Z: np.ndarray, j: int) -> np.ndarray:
        """(n, b, O) for masks Z (b, M) against background row j."""
        km, b = self.km, Z.shape[0]
        s = (Z @ self.Qx_t).reshape(b, self.n, self.k)
        s += ((1.0 - Z) @ km.Qb[j])[:, None, :]
        dec = km._kappa(s) @ km.dual + km.intercept  # (b, n)
        return km.outputs(dec.T)

    def _mean_rbf(self, Z: np.ndarray) -> np.ndarray:
        """(n, b, O): the weighted background mean for masks Z (b, M), rbf kernel."""
        km, b = self.km, Z.shape[0]
        Ea = km._kappa((Z @ self.Qx_t).reshape(b, self.n, self.k))
        Eb = km._kappa(((1.0 - Z) @ self.Qb_t).reshape(b, self.m, self.k))
        Eb *= km.dual
        dec = np.matmul(Ea, Eb.transpose(0, 2, 1)) + km.intercept  # (b, n, m)
        vals = km.outputs(dec)  # (b, n, m, O)
        return np.einsum("bnmo,m->nbo", vals, km.w)
