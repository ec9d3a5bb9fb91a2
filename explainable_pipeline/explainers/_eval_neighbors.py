"""k-nearest neighbours: coalition distances from per-player partial distances.

With the euclidean (squared) or manhattan metric, the distance of a hybrid row to a training
point is a sum over the players' blocks of engineered columns. Per explained row, background
row and training point the per-player partial distances are computed once; a coalition's
distances then cost at most ``M / 2`` vector additions over the candidate points, its
complement's one more (:mod:`._knn_select`, which also selects the k nearest), and
scikit-learn's uniform or inverse-distance vote follows.

Neighbour sets are discontinuous in the distances: a coalition whose k-th and (k+1)-th nearest
points are tied (within a relative 1e-8 plus 1e-12 of the data's scale, where scikit-learn's or
this path's own distance rounding could order them either way), or that lies on a training
point with ``weights="distance"``, is computed by the estimator itself on its hybrid row, so
the values stay those of the model.
"""

from __future__ import annotations

import numpy as np

from .._sklearn_compat import neighbors_training_data
from ._eval_partials import engineered_hybrids, model_at
from ._knn_select import complements, nearest

_TIE_RTOL = 1e-8
_NEAR_RTOL = 1e-5
"""With ``weights="distance"``, a coalition whose nearest distance (squared for euclidean) is
within ``_NEAR_RTOL`` of the data's scale (squared norms for euclidean, sums of absolute values
for manhattan) is computed by the estimator: there scikit-learn's own distance rounding
(``|x|^2 - 2 x.t + |t|^2``) or the path's moves the inverse-distance weights by more than about
1e-10 relative."""
_MAX_PARTIALS = 1 << 24
"""Per-row partial distances of a chunk are kept when they fit in this many elements (128 MiB);
otherwise they are recomputed for the rows of each block of work."""

_SQUARED = ("euclidean", "l2")
_ABSOLUTE = ("manhattan", "l1", "cityblock")


def build(estimator, response, Bd, players, weights, link=None):
    """The neighbors path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    if not isinstance(estimator, (KNeighborsClassifier, KNeighborsRegressor)):
        return None, None
    name = type(estimator).__name__
    classifier = isinstance(estimator, KNeighborsClassifier)
    if (classifier and response != "predict_proba") or (not classifier and response != "predict"):
        return None, f"{name}.{response} is not on the fast path"
    metric = _metric(estimator)
    if metric is None:
        return None, (f"{name} uses metric {estimator.effective_metric_!r} "
                      "(fast path: euclidean or manhattan, minkowski p=2 or 1)")
    if estimator.weights not in ("uniform", "distance"):
        return None, f"{name} uses weights={estimator.weights!r}"
    data = neighbors_training_data(estimator)
    if data is None or hasattr(data[0], "toarray"):
        return None, f"{name} has no dense training data"
    fit_X, y = data
    if np.asarray(fit_X).dtype != np.float64:
        return None, f"{name} was fitted on {np.asarray(fit_X).dtype} data"
    if classifier and (getattr(estimator, "outputs_2d_", False) or y.ndim != 1):
        return None, f"{name} has several outputs"
    return Neighbors(estimator, classifier, metric, np.asarray(fit_X, dtype=np.float64), y, Bd,
                     players, link), None


def _metric(knn) -> str | None:
    metric = knn.effective_metric_
    params = dict(knn.effective_metric_params_ or {})
    if metric == "minkowski" and params.get("w") is None:
        metric = {1: "manhattan", 2: "euclidean"}.get(params.get("p"), metric)
        params = {}
    params.pop("p", None)
    if params:
        return None
    if metric in _SQUARED:
        return "squared"
    if metric in _ABSOLUTE:
        return "absolute"
    return None


def _scale(Y: np.ndarray, metric: str) -> float:
    """The largest squared norm (euclidean) or sum of absolute values (manhattan) of a row."""
    terms = Y * Y if metric == "squared" else np.abs(Y)
    return float(terms.sum(axis=1).max(initial=0.0)) if Y.size else 0.0


class Neighbors:
    """The neighbors path prepared for one background."""

    name = "neighbors"
    cheap_background_mean = False
    # A coalition's distances to the candidate points cost less than the logistic proxies
    # fitted to save coalitions: twice the coalitions and no proxies took 6-15% more time for
    # 28-45% less error (benchmarks/README.md, ninth pass). They also cost less than the
    # regression's interaction terms (57 of them among 6 players: 87 columns per fit): three
    # times the coalitions without terms took the same time as twice with them, for 14% less
    # error (twelfth pass).
    budget_factor = 3
    interaction_terms = False

    def __init__(self, knn, classifier, metric, fit_X, y, Bd, players, link=None):
        self.knn = knn
        self.classifier = classifier
        self.metric = metric
        self.T = fit_X  # (t, d)
        self.k = int(knn.n_neighbors)
        self.distance_weights = knn.weights == "distance"
        self.link = link
        self.players = players
        self.blocks = [np.flatnonzero(p) for p in players]
        if classifier:
            self.y = y.astype(np.intp)
            self.n_classes = len(knn.classes_)
        else:
            self.y = y.astype(np.float64)
        self.single_output = not classifier and y.ndim == 1
        self.Bd = Bd
        self.Pb = self.partials(Bd)  # (m, M, t)
        self.scale = _scale(fit_X, metric) + _scale(Bd, metric)
        self.width = 2 * fit_X.shape[0] // max(1, Bd.shape[0])  # blocks are per row
        probe = self._finish(np.zeros((1, 1)), np.zeros((1, 1), dtype=np.intp))
        self.n_out = probe.shape[-1]
        self.predict = knn.predict_proba if classifier else knn.predict

    def partials(self, Y: np.ndarray) -> np.ndarray:
        """(r, M, t): per row, player and training point, the player's partial distance."""
        out = np.zeros((Y.shape[0], len(self.blocks), self.T.shape[0]))
        for p, cols in enumerate(self.blocks):
            for c in cols:
                diff = Y[:, c, None] - self.T[None, :, c]
                out[:, p] += diff * diff if self.metric == "squared" else np.abs(diff)
        return out

    def _finish(self, dist: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Model outputs (r, O) from the sorted distances and indices (r, k) of the neighbours."""
        if self.distance_weights:
            with np.errstate(divide="ignore"):
                w = 1.0 / dist
            inf = np.isinf(w)
            rows = inf.any(axis=1)
            w[rows] = inf[rows]
        else:
            w = None
        if self.classifier:
            votes = np.zeros((idx.shape[0], self.n_classes))
            labels = self.y[idx] if idx.size else idx
            r = np.arange(idx.shape[0])
            for i in range(idx.shape[1]):
                votes[r, labels[:, i]] += 1.0 if w is None else w[:, i]
            out = votes / votes.sum(axis=1, keepdims=True)
        else:
            yk = self.y[idx] if idx.size else np.zeros(idx.shape + self.y.shape[1:])
            if yk.ndim == 2:
                yk = yk[:, :, None]
            if w is None:
                out = np.mean(yk, axis=1)
            else:
                out = np.sum(yk * w[:, :, None], axis=1) / np.sum(w, axis=1)[:, None]
        return out if self.link is None else self.link(out)

    def bind(self, Xt: np.ndarray):
        return _Bound(self, Xt)


class _Bound:
    def __init__(self, nb: Neighbors, Xt: np.ndarray):
        self.nb = nb
        self.Xt = Xt
        self.n = Xt.shape[0]
        self.n_out = nb.n_out
        self.width = nb.width
        self.M, self.t = len(nb.blocks), nb.T.shape[0]
        self.Px = None
        if self.n * self.M * self.t <= _MAX_PARTIALS:
            self.Px = np.ascontiguousarray(nb.partials(Xt).transpose(1, 0, 2))  # (M, n, t)
        scale = nb.scale + _scale(Xt, nb.metric)
        # ties are judged on the data's scale too: scikit-learn's brute-force euclidean
        # distances are |x|^2 - 2 x.t + |t|^2, and this path's own (partial distances of the
        # two ends added and subtracted, either metric) round by ~M * 1e-16 of that scale
        self.tie_atol = 1e-12 * scale
        self.near_atol = _NEAR_RTOL * scale

        self._candidates: dict[tuple[int, int], tuple] = {}

    def _row_partials(self, r: int) -> np.ndarray:
        if self.Px is not None:
            return self.Px[:, r]
        return self.nb.partials(self.Xt[r : r + 1])[0]

    def candidates(self, r: int, j: int, Px: np.ndarray) -> np.ndarray:
        """Training points that can be among the k + 1 nearest of some coalition of row ``r``
        against background row ``j`` (and their distances' constant part and per-player
        slopes, ``(candidates, base, total, delta)``: distances ``base + z @ delta``, ``total``
        the full coalition's): a point whose smallest possible distance (each player at its
        nearer end) exceeds the (k + 1)-th smallest largest possible distance never is.
        Exact; in many dimensions most of the training set stays (three quarters of it on the
        benchmark's 30 columns)."""
        key = (r, j)
        if key not in self._candidates:
            Pb = self.nb.Pb[j]
            low, high = np.minimum(Px, Pb).sum(axis=0), np.maximum(Px, Pb).sum(axis=0)
            kk = min(self.nb.k + 1, self.t)
            bound = np.partition(high, kk - 1)[kk - 1]
            margin = _TIE_RTOL * abs(bound) + self.tie_atol
            cand = np.flatnonzero(low <= bound + margin)
            base, own = Pb[:, cand], Px[:, cand]
            # C order: the selection adds rows of the slopes (gathered columns come out in F)
            self._candidates[key] = (cand, base.sum(axis=0), own.sum(axis=0),
                                     np.ascontiguousarray(own - base))
        return self._candidates[key]

    def single(self, Z: np.ndarray, j: int, rows) -> np.ndarray:
        b = Z.shape[0]
        out = np.empty((len(rows), b, self.n_out))
        Zc = np.ascontiguousarray(Z)
        partner = complements(Zc)
        for a, r in enumerate(rows):
            Px = self._row_partials(int(r))
            cand, base, total, delta = self.candidates(int(r), j, Px)
            kk = min(self.nb.k + 1, cand.shape[0])
            # sorted, (b, <= k + 1)
            dpart, part = nearest(Zc, base, total, delta, kk, partner)
            out[a] = self._vote(dpart, part, cand, Z, j, int(r))
        return out

    def _vote(self, dpart, part, cand: np.ndarray, Z: np.ndarray, j: int, r: int):
        """Outputs (b, O) of one row's coalitions from their nearest candidates' sorted
        distances ``dpart`` and positions ``part`` (b, <= k + 1)."""
        nb = self.nb
        c = cand.shape[0]
        k = min(nb.k, c)
        idx, dk = cand[part[:, :k]], dpart[:, :k]
        dist = np.sqrt(np.maximum(dk, 0.0)) if nb.metric == "squared" else dk
        ambiguous = np.zeros(dpart.shape[0], dtype=bool)
        if k < c:  # a tie at the k-th neighbour: the neighbour set depends on rounding
            gap = dpart[:, k] - dpart[:, k - 1]
            ambiguous |= gap <= _TIE_RTOL * np.abs(dpart[:, k]) + self.tie_atol
        if nb.distance_weights:  # on (or next to) a training point: weights become 0/1
            ambiguous |= dk[:, 0] <= _TIE_RTOL * dk[:, -1] + self.near_atol
        out = nb._finish(dist, idx)
        if ambiguous.any():
            out[ambiguous] = self._model(Z[ambiguous], j, r)
        return out

    def _model(self, Z, j, r):
        """The estimator's own outputs (q, O) for row ``r``'s hybrid rows of masks ``Z``."""
        nb = self.nb
        H = engineered_hybrids(self.Xt[r : r + 1], nb.Bd[j], Z, nb.players.astype(np.float64))[0]
        return model_at(nb.knn, nb.predict, H, nb.link)
