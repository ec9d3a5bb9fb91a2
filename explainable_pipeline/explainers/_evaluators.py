"""Exact, faster ways to compute the coalition values of the raw-space Shapley engine.

The engine (:mod:`._shapley`) defines the value of a coalition ``S`` for a row ``x`` and a
background row ``b`` as the pipeline's output on the hybrid raw row ``(x_S, b_rest)``. Its
default *black-box* path builds those raw rows and runs the whole pipeline on them. Exact
shortcuts apply to common pipelines; :func:`pipeline_evaluator` picks one:

``"separable"``
    Every engineered column depends on exactly one raw column (the fitted feature map is
    exact: one-hot encoders, scalers, per-column imputers, ...). Then the transform of a hybrid
    raw row is the hybrid of the transformed rows, block by block. The explained rows and the
    background are transformed once per chunk, hybrid rows are assembled in engineered space
    by selecting column blocks, and only the estimator runs on them.
Model paths, behind an identity or separable preprocessor
    The estimator's own formula is evaluated from per-player partial sums computed once per
    explained row and background row: a coalition's value is then a (coalitions x players)
    @ (players x ...) product followed by the model's remaining steps. One module per family:

    * ``"kernel-machine"`` (:mod:`._eval_svm`): ``SVC``/``NuSVC`` (any number of classes;
      one-vs-one decision values, ``decision_function`` in either shape, libsvm's Platt
      scaling and pairwise coupling for ``predict_proba``), ``SVR``/``NuSVR``; kernels
      ``rbf``, ``linear``, ``poly``, ``sigmoid`` (partial squared distances or dot products
      to the support vectors);
    * ``"neural-network"`` (:mod:`._eval_mlp`): ``MLPClassifier``/``MLPRegressor``; the first
      layer's pre-activations are sums of per-player contributions, so only the later layers
      run per coalition;
    * ``"neighbors"`` (:mod:`._eval_neighbors`): ``KNeighborsClassifier``/``Regressor`` with
      the euclidean or manhattan metric (minkowski ``p`` = 2 or 1), uniform or distance
      weights; coalition distances to the training points are sums of per-player partial
      distances; the rare coalitions whose k-th neighbour is tied (or that sit on a training
      point) are computed by the model itself;
    * ``"forest"``, ``"hist-boosting"``, ``"gradient-boosting"`` (:mod:`._eval_forest`):
      decision trees, random or extra-trees forests with one output, histogram gradient
      boosting with numeric splits, gradient boosting with a constant initial estimator;
      each (row, background row) game becomes leaf terms tested on 64 coalitions per
      machine word;
    * ``"linear-model"`` (:mod:`._eval_linear`): ``decision_function`` of linear classifiers;
    * ``"stacking (...)"``, ``"voting (...)"`` (:mod:`._eval_ensemble`): stacking and soft
      voting ensembles with a base on a path: the bases' paths (the others run on hybrid
      engineered rows), then the final step;
    * ``"calibrated <path>"`` (:mod:`._eval_calibrated`): ``CalibratedClassifierCV``
      (``sigmoid`` or ``isotonic``, ``ensemble=True`` or ``False``) over base estimators that
      have a path: the bases' responses come from their paths and the fitted calibrators run
      on them.

Every path is an exact reformulation, not an approximation. The engine still checks them: a
path is used for a chunk of rows only after it reproduced the model's own output (the black
box) on probe coalitions of that chunk to 1e-9 (relative to the output scale); otherwise the
chunk falls back to the black box. ``ShapleyResult.evaluation`` records the path that ran.
Callable or precomputed kernels, ``OneClassSVM``, other models and preprocessors that mix raw
columns (PCA, polynomial features, ...) use the separable path or the black box.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._eval_svm import KERNEL_MACHINE_KERNELS

__all__ = ["KERNEL_MACHINE_KERNELS", "PipelineEvaluator", "fast_model", "pipeline_evaluator"]

logger = logging.getLogger(__name__)

_MAX_ELEMENTS = 1 << 22
"""Bound on the elements of one temporary array of a model path (32 MiB of float64)."""


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
        ``path`` is the name of the path prepared (``"kernel-machine"``, ``"neural-network"``,
        ``"neighbors"``, ``"forest"``, ``"hist-boosting"``, ``"gradient-boosting"``,
        ``"linear-model"``,
        ``"calibrated ..."``,
        ``"stacking ..."``, ``"voting ..."``, ``"separable"``) or None,
        with ``reason`` saying why no faster path applied.
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
        try:
            model, why = fast_model(self.estimator, self.method, Bd.astype(np.float64), players,
                                    weights)
        except Exception as exc:  # noqa: BLE001 - an unexpected model: the black box is exact
            model, why = None, f"preparing the model path failed ({exc!r})"
        if model is not None:
            prepared = _ModelPath(self, model, weights)
        elif self.preprocessor is None:
            self.reason = (f"{why}; with no preprocessor, hybrid raw rows already go straight "
                           "to the estimator")
            return None
        else:
            predict = getattr(self.estimator, self.method)
            n_out = np.asarray(predict(Bt)).reshape(Bd.shape[0], -1).shape[1]
            prepared = _Separable(self, predict, kind, columns, Bd, players, weights, n_out)
            self.reason = why
        self.path = prepared.name
        return prepared


def fast_model(estimator, response: str, Bd: np.ndarray, players: np.ndarray,
               weights: np.ndarray, link=None):
    """An exact evaluator of ``estimator.<response>`` on hybrid engineered rows.

    Each family module's ``build`` returns ``(model, None)`` when it handles the estimator,
    ``(None, why)`` when it recognises the estimator but not this configuration, and
    ``(None, None)`` when the estimator is not of its family. ``link``, when given, maps the
    response ``(..., D)`` to the explained outputs ``(..., O)`` before any background average
    (:mod:`._eval_calibrated` passes its calibrators this way).

    Returns
    -------
    (model or None, reason or None)
    """
    from . import (
        _eval_calibrated,
        _eval_ensemble,
        _eval_forest,
        _eval_linear,
        _eval_mlp,
        _eval_neighbors,
        _eval_svm,
    )

    for family in (_eval_svm, _eval_mlp, _eval_neighbors, _eval_forest, _eval_calibrated,
                   _eval_ensemble, _eval_linear):
        model, why = family.build(estimator, response, Bd, players, weights, link)
        if model is not None or why is not None:
            return model, why
    name = type(estimator).__name__
    return None, (f"{name}.{response} has no model path (model paths: SVC, NuSVC, SVR, NuSVR, "
                  "MLP, k-nearest neighbours, decision trees, random forests, gradient "
                  "boosting and histogram gradient boosting, linear "
                  "classifiers' decision_function, CalibratedClassifierCV, stacking and soft "
                  "voting over these)")


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
# Model paths: games from per-player partial sums
# --------------------------------------------------------------------------------------------


class _ModelPath:
    """A model path prepared for one background; ``bind`` gives the game of a chunk."""

    def __init__(self, owner: PipelineEvaluator, model, weights):
        self.owner = owner
        self.model = model
        self.name = model.name
        self.w = weights
        self.cheap_background_mean = getattr(model, "cheap_background_mean", False)
        # the kernel estimator's "auto" design: one design for the background-averaged game
        # where averaging is cheap, or where the path's coalitions cost less than per-game fits
        self.shared_design = getattr(model, "shared_design", self.cheap_background_mean)
        self.budget_factor = getattr(model, "budget_factor", 1)
        self.interaction_terms = getattr(model, "interaction_terms", True)

    def bind(self, X_chunk, max_batch_rows):
        Xt = _dense(self.owner._transform(X_chunk)).astype(np.float64)
        bound = self.model.bind(Xt)
        return (TripleFactorGame if hasattr(bound, "triples") else FactorGame)(bound, self.w)


class FactorGame:
    """Coalition values of a bound model path, in the engine's game protocol.

    ``bound`` gives, for masks ``Z`` (b, M) as floats and a subset ``rows`` of the chunk,
    ``single(Z, j, rows) -> (len(rows), b, O)`` (against background row ``j``) and optionally
    ``mean(Z, rows)`` (the weighted background average) or ``mean_over(Z, rows, weights)`` (the
    same, computed by the path from its own per-background-row values); without either, single
    values are averaged.
    ``bound.width`` is the number of temporaries per (row, coalition), to keep blocks of work
    under :data:`_MAX_ELEMENTS`.
    """

    def __init__(self, bound, weights):
        self.bound = bound
        self.w = weights
        self.n = bound.n
        self.n_out = bound.n_out
        self.n_evaluations = 0

    def _blocks(self, n_items: int, n_rows: int):
        step = max(1, _MAX_ELEMENTS // max(1, n_rows * self.bound.width))
        return range(0, n_items, step), step

    def _single(self, Z, j, rows):
        starts, step = self._blocks(Z.shape[0], len(rows))
        return np.concatenate([self.bound.single(Z[a : a + step], j, rows) for a in starts],
                              axis=1)

    def _mean(self, Z, rows):
        mean = getattr(self.bound, "mean", None)
        mean_over = getattr(self.bound, "mean_over", None)
        if mean is None and mean_over is not None:
            starts, step = self._blocks(Z.shape[0], len(rows))
            return np.concatenate([mean_over(Z[a : a + step], rows, self.w) for a in starts],
                                  axis=1)
        if mean is None:
            acc = 0.0
            for j in np.flatnonzero(self.w > 0):
                acc = acc + self.w[j] * self._single(Z, int(j), rows)
            return acc
        m = int(np.count_nonzero(self.w > 0))
        starts, step = self._blocks(Z.shape[0], len(rows) + m)
        return np.concatenate([mean(Z[a : a + step], rows) for a in starts], axis=1)

    def evaluate(self, masks: np.ndarray, bg: np.ndarray, rows=None) -> np.ndarray:
        """Values (n_rows, n_items, O) of items (masks, bg); ``bg = -1``: background mean."""
        from ._engine import single_threaded_blas

        with single_threaded_blas():
            return self._evaluate(masks, bg, rows)

    def _evaluate(self, masks, bg, rows):
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.intp)
        Z = masks.astype(np.float64)
        out = np.empty((len(rows), Z.shape[0], self.n_out))
        mean = np.flatnonzero(bg < 0)
        if mean.size:
            out[:, mean] = self._mean(Z[mean], rows)
            self.n_evaluations += len(rows) * mean.size * int(np.count_nonzero(self.w > 0))
        single = np.flatnonzero(bg >= 0)
        items = getattr(self.bound, "items", None)
        if items is not None and single.size:  # the path batches background rows itself
            starts, step = self._blocks(single.size, len(rows))
            for a in starts:
                idx = single[a : a + step]
                out[:, idx] = items(Z[idx], bg[idx], rows)
            self.n_evaluations += len(rows) * single.size
            return out
        for j in np.unique(bg[single]):
            idx = single[bg[single] == j]
            out[:, idx] = self._single(Z[idx], int(j), rows)
            self.n_evaluations += len(rows) * idx.size
        return out


class TripleFactorGame(FactorGame):
    """A :class:`FactorGame` whose path also evaluates single (row, coalition, background row)
    triples, ``bound.triples(Z, rows, bg) -> (T, O)``: the per-game plans then batch every
    row's own coalitions into few calls (a path with bases that run themselves, whose calls
    cost milliseconds each)."""

    def evaluate_triples(self, rows: np.ndarray, masks: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Values (T, O) of chunk row ``rows[t]``, coalition ``masks[t]``, background row
        ``bg[t]`` (>= 0)."""
        from ._engine import single_threaded_blas

        out = np.empty((rows.shape[0], self.n_out))
        step = max(1, _MAX_ELEMENTS // max(1, self.bound.width))
        with single_threaded_blas():
            for a in range(0, rows.shape[0], step):
                part = slice(a, a + step)
                out[part] = self.bound.triples(masks[part].astype(np.float64), rows[part],
                                               bg[part])
        self.n_evaluations += rows.shape[0]
        return out


def player_partials(Y: np.ndarray, players: np.ndarray, per_column) -> np.ndarray:
    """(r, M, k): ``sum over the player's columns c of per_column(Y[:, c], c)``.

    ``per_column(values (r,), c) -> (r, k)``; players own disjoint column sets.
    """
    out = None
    for p, member in enumerate(players):
        for c in np.flatnonzero(member):
            part = per_column(Y[:, c], c)
            if out is None:
                out = np.zeros((Y.shape[0], players.shape[0], part.shape[1]))
            out[:, p] += part
    return out


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
