"""``CalibratedClassifierCV``: the bases' own paths, then the fitted calibrators.

Each calibrated classifier of ``calibrated_classifiers_`` (one with ``ensemble=False``, one
per fold otherwise) holds a fitted base estimator and one calibrator per class. scikit-learn
feeds the base's ``decision_function`` (or ``predict_proba``, when it has no decision
function; the positive column for two classes) to the calibrators, normalises, and averages
the calibrated classifiers. Here the base's response on hybrid rows comes from the base's own
path (:mod:`._eval_svm`, :mod:`._eval_mlp`, :mod:`._eval_neighbors`, :mod:`._eval_linear`) and
the calibration runs as a link on it, before any average over the background: the fitted
calibrators' own ``predict`` is called (``sigmoid`` and ``isotonic``), so calibration is
reproduced exactly whatever the scikit-learn version.
"""

from __future__ import annotations

import numpy as np


def build(estimator, response, Bd, players, weights, link=None):
    """The calibrated path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.calibration import CalibratedClassifierCV

    from ._evaluators import fast_model

    if not isinstance(estimator, CalibratedClassifierCV):
        return None, None
    if response != "predict_proba":
        return None, f"CalibratedClassifierCV.{response} is not on the fast path"
    inner = []
    for cc in estimator.calibrated_classifiers_:
        method = getattr(cc, "method", None)
        if method not in ("sigmoid", "isotonic"):
            return None, f"CalibratedClassifierCV uses method={method!r} (sigmoid or isotonic)"
        base = cc.estimator
        base_response = ("decision_function" if hasattr(base, "decision_function")
                         else "predict_proba")
        calibration = _Calibration(cc, base, base_response)
        model, why = fast_model(base, base_response, Bd, players, weights, calibration)
        if model is None:
            return None, f"its base {type(base).__name__}: {why or 'no model path'}"
        inner.append(model)
    return Calibrated(inner, link), None


class _Calibration:
    """One calibrated classifier's ``predict_proba`` from its base's response (..., D)."""

    def __init__(self, cc, base, base_response):
        self.calibrators = list(cc.calibrators)
        self.classes = np.asarray(cc.classes)
        self.n_classes = self.classes.shape[0]
        self.positive_only = base_response == "predict_proba" and self.n_classes == 2
        self.columns = np.searchsorted(self.classes, np.asarray(base.classes_))

    def __call__(self, response: np.ndarray) -> np.ndarray:
        lead = response.shape[:-1]
        pred = response.reshape(-1, response.shape[-1])
        if self.positive_only:
            pred = pred[:, 1:2]
        proba = np.zeros((pred.shape[0], self.n_classes))
        for class_idx, column, calibrator in zip(self.columns, pred.T, self.calibrators,
                                                 strict=False):
            if self.n_classes == 2:
                class_idx += 1
            proba[:, class_idx] = calibrator.predict(column)
        if self.n_classes == 2:
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            denominator = np.sum(proba, axis=1)[:, np.newaxis]
            uniform = np.full_like(proba, 1 / self.n_classes)
            proba = np.divide(proba, denominator, out=uniform, where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba.reshape(lead + (self.n_classes,))


class Calibrated:
    """The calibrated classifiers' paths, averaged as ``CalibratedClassifierCV`` does."""

    def __init__(self, inner, link=None):
        self.inner = inner
        self.link = link
        self.name = f"calibrated {inner[0].name}"
        self.cheap_background_mean = all(getattr(m, "cheap_background_mean", False)
                                         for m in inner)
        self.shared_design = all(getattr(m, "shared_design",
                                         getattr(m, "cheap_background_mean", False))
                                 for m in inner)
        self.n_out = inner[0].n_out
        # an ensemble evaluates every calibrated classifier: its factor shrinks with their count
        factor = min(getattr(m, "budget_factor", 1) for m in inner)
        self.budget_factor = max(1, factor // len(inner))

    def bind(self, Xt: np.ndarray):
        return _Bound(self, [m.bind(Xt) for m in self.inner])


class _Bound:
    def __init__(self, cal: Calibrated, bounds):
        self.cal = cal
        self.bounds = bounds
        self.n = bounds[0].n
        self.n_out = cal.n_out
        self.width = max(b.width for b in bounds)
        if cal.link is None and all(hasattr(b, "mean") for b in bounds):
            self.mean = self._mean  # averages over the background commute with the ensemble

    def _average(self, parts) -> np.ndarray:
        acc = np.zeros_like(parts[0])
        for part in parts:
            acc += part
        acc /= len(parts)
        return acc if self.cal.link is None else self.cal.link(acc)

    def single(self, Z, j, rows):
        return self._average([b.single(Z, j, rows) for b in self.bounds])

    def _mean(self, Z, rows):
        return self._average([b.mean(Z, rows) for b in self.bounds])
