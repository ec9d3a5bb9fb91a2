"""Stacking and soft voting: the bases' own paths, then the ensemble's final step.

``StackingClassifier``/``StackingRegressor`` feed their bases' responses (``stack_method_``;
the positive column only for binary ``predict_proba``; the engineered row itself too with
``passthrough=True``) to the fitted final estimator. ``VotingClassifier(voting="soft")`` and
``VotingRegressor`` average their bases' ``predict_proba`` or ``predict`` with their weights.
Here each base's response on hybrid rows comes from the base's own path (:mod:`._eval_svm`,
:mod:`._eval_mlp`, :mod:`._eval_neighbors`, :mod:`._eval_forest`, :mod:`._eval_calibrated`,
:mod:`._eval_linear`); a base without one (``AdaBoost*``, naive Bayes, ...) runs itself
on the hybrid engineered rows (:class:`EngineeredBox`). The final step then runs on the stacked
responses, before any average over the background. With no base on a path it does not apply.
"""

from __future__ import annotations

import numpy as np

from ._eval_partials import as_fitted, engineered_hybrids


def build(estimator, response, Bd, players, weights, link=None):
    """The ensemble path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.ensemble import (
        StackingClassifier,
        StackingRegressor,
        VotingClassifier,
        VotingRegressor,
    )

    if isinstance(estimator, (StackingClassifier, StackingRegressor)):
        kind = "stacking"
    elif isinstance(estimator, (VotingClassifier, VotingRegressor)):
        kind = "voting"
    else:
        return None, None
    name = type(estimator).__name__
    classifier = isinstance(estimator, (StackingClassifier, VotingClassifier))
    if classifier and not isinstance(getattr(estimator, "classes_", None), np.ndarray):
        return None, f"{name} has several outputs (multilabel)"
    if kind == "voting":
        if classifier and estimator.voting != "soft":
            return None, f"{name} uses voting={estimator.voting!r} (fast path: 'soft')"
        expected = "predict_proba" if classifier else "predict"
        if response != expected:
            return None, f"{name}.{response} is not on the fast path"
        methods = [expected] * len(estimator.estimators_)
        votes = None if estimator.weights is None else [  # those of the kept bases
            w for (_, e), w in zip(estimator.estimators, estimator.weights, strict=True)
            if not (isinstance(e, str) and e == "drop")]
        final = _Average(votes)
    else:
        if response not in ("predict_proba", "decision_function", "predict") or (
                classifier and response == "predict"):
            return None, f"{name}.{response} is not on the fast path"
        methods = list(estimator.stack_method_)
        final = _Final(estimator, response, classifier)
    from ._evaluators import fast_model

    inner, on_path = [], []  # estimators_ and stack_method_ leave out the dropped bases
    for base, method in zip(estimator.estimators_, methods, strict=True):
        model, _ = fast_model(base, method, Bd, players, weights)
        on_path.append(model is not None)
        inner.append(model if model is not None else EngineeredBox(base, method, Bd, players))
    if not any(on_path):
        return None, f"{name}: none of its bases has a model path"
    passthrough = kind == "stacking" and bool(estimator.passthrough)
    if passthrough:
        inner.append(EngineeredBox(None, None, Bd, players))
    return Ensemble(kind, inner, final, link), None


class _Final:
    """A stacking ensemble's final step on its bases' responses."""

    def __init__(self, stack, response, classifier):
        self.binary_proba = [classifier and m == "predict_proba" and len(stack.classes_) == 2
                             for m in stack.stack_method_]
        self.method = getattr(stack.final_estimator_, response)

    def __call__(self, parts: list[np.ndarray]) -> np.ndarray:
        cols = [p[:, 1:] if i < len(self.binary_proba) and self.binary_proba[i] else p
                for i, p in enumerate(parts)]
        out = np.asarray(self.method(np.hstack(cols)), dtype=np.float64)
        return out.reshape(out.shape[0], -1)


class _Average:
    """Soft voting: the bases' responses averaged with the ensemble's weights."""

    def __init__(self, weights):
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)

    def __call__(self, parts: list[np.ndarray]) -> np.ndarray:
        return np.average(np.stack(parts), axis=0, weights=self.weights)


class EngineeredBox:
    """A base without a path: it runs itself on the hybrid engineered rows (``estimator=None``:
    the hybrid rows themselves, for ``passthrough=True``)."""

    name = "black box"

    def __init__(self, estimator, method, Bd, players):
        self.estimator = estimator
        self.method = None if estimator is None else getattr(estimator, method)
        self.Bd = Bd
        self.players = players.astype(np.float64)
        self.n_out = Bd.shape[1] if estimator is None else self._call(Bd[:1]).shape[1]

    def _call(self, H: np.ndarray) -> np.ndarray:
        if self.method is None:
            return H
        out = np.asarray(self.method(as_fitted(self.estimator, H)), dtype=np.float64)
        return out.reshape(out.shape[0], -1)

    def bind(self, Xt: np.ndarray):
        return _BoxBound(self, Xt)


class _BoxBound:
    def __init__(self, box: EngineeredBox, Xt: np.ndarray):
        self.box = box
        self.Xt = Xt
        self.n = Xt.shape[0]
        self.n_out = box.n_out
        self.width = Xt.shape[1] + box.n_out

    def items(self, Z, bg, rows):
        """(len(rows), b, O): coalition ``Z[i]`` against background row ``bg[i]``, in one
        call of the estimator (a forest's call costs milliseconds before its first row)."""
        H = engineered_hybrids(self.Xt[rows], self.box.Bd[bg], Z, self.box.players)
        return self.box._call(H.reshape(-1, H.shape[-1])).reshape(len(rows), Z.shape[0], -1)

    def triples(self, Z, rows, bg):
        """(T, O): coalition ``Z[t]`` of row ``rows[t]`` against background row ``bg[t]``."""
        keep = Z @ self.box.players > 0.5
        return self.box._call(np.where(keep, self.Xt[rows], self.box.Bd[bg]))


class Ensemble:
    """The bases' paths (or boxes) and the ensemble's final step."""

    def __init__(self, kind, inner, final, link=None):
        self.kind = kind
        self.inner = inner
        self.final = final
        self.link = link
        paths = sorted({m.name for m in inner if not isinstance(m, EngineeredBox)})
        self.name = f"{kind} ({', '.join(paths)})"
        self.cheap_background_mean = False
        # as cheap per coalition as its costliest part: a base that runs itself costs a call
        # (the passthrough rows cost nothing)
        self.budget_factor = min(
            (1 if isinstance(m, EngineeredBox) else getattr(m, "budget_factor", 1)
             for m in inner if not (isinstance(m, EngineeredBox) and m.method is None)),
            default=1)
        self.n_out = self._finish([np.zeros((1, m.n_out)) for m in inner]).shape[1]

    def _finish(self, parts):
        out = self.final(parts)
        return out if self.link is None else self.link(out)

    def bind(self, Xt: np.ndarray):
        return _Bound(self, [m.bind(Xt) for m in self.inner])


class _Bound:
    def __init__(self, ens: Ensemble, bounds):
        self.ens = ens
        self.bounds = bounds
        self.n = bounds[0].n
        self.n_out = ens.n_out
        self.width = sum(b.width for b in bounds)

    def items(self, Z, bg, rows):
        """(len(rows), b, O): coalition ``Z[i]`` against background row ``bg[i]``."""
        parts = []
        for bound in self.bounds:
            if isinstance(bound, _BoxBound):
                parts.append(bound.items(Z, bg, rows))
                continue
            part = np.empty((len(rows), Z.shape[0], bound.n_out))
            for j in np.unique(bg):
                at = bg == j
                part[:, at] = bound.single(Z[at], int(j), rows)
            parts.append(part)
        out = self.ens._finish([p.reshape(-1, p.shape[2]) for p in parts])
        return out.reshape(len(rows), Z.shape[0], -1)

    def triples(self, Z, rows, bg):
        """(T, O): coalition ``Z[t]`` of row ``rows[t]`` against background row ``bg[t]``
        (the black-box plans' batches: one call of each base that runs itself)."""
        parts = []
        pairs = rows.astype(np.int64) * (int(bg.max(initial=0)) + 1) + bg
        order = np.argsort(pairs, kind="stable")
        cuts = np.flatnonzero(np.diff(pairs[order])) + 1
        groups = np.split(order, cuts)  # the triples of each (row, background row)
        for bound in self.bounds:
            if isinstance(bound, _BoxBound):
                parts.append(bound.triples(Z, rows, bg))
                continue
            part = np.empty((Z.shape[0], bound.n_out))
            for at in groups:
                t = at[0]
                part[at] = bound.single(Z[at], int(bg[t]), rows[t : t + 1])[0]
            parts.append(part)
        return self.ens._finish(parts)

    def single(self, Z, j, rows):
        return self.items(Z, np.full(Z.shape[0], j, dtype=np.intp), rows)

    def mean_over(self, Z, rows, weights):
        """(len(rows), b, O): the ``weights``-average over background rows, with the
        background rows batched into few calls of the bases that run themselves."""
        from ._evaluators import _MAX_ELEMENTS

        js, b = np.flatnonzero(weights > 0), Z.shape[0]
        group = max(1, _MAX_ELEMENTS // max(1, len(rows) * b * self.width))
        acc = 0.0
        for lo in range(0, len(js), group):
            part = js[lo : lo + group]
            vals = self.items(np.tile(Z, (len(part), 1)), np.repeat(part, b), rows)
            acc = acc + np.einsum("m,rmbo->rbo", weights[part],
                                  vals.reshape(len(rows), len(part), b, -1))
        return acc
