"""Model performance of a set of rows: metrics, confusion matrix, curves (server side).

Everything is computed on every row of the cohort with scikit-learn's metrics; only the
curves sent to the browser are thinned (at most ``MAX_CURVE_POINTS`` points each). Needs the
true targets (``DashboardData.true_y``) and the model's outputs on every row (its
``predict_proba`` / ``predict``, or, without a model, the explained output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn import metrics as skm

MAX_CURVE_POINTS = 400
NO_TRUTH = (
    "Model performance needs the true targets: pass true_y= to ExplanationDashboard "
    "(or --target COL on the command line)."
)


@dataclass
class Report:
    """Metrics of one cohort: ``metrics`` maps a name to a float (``None``: undefined)."""

    n: int
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    confusion: np.ndarray | None = None  # (true, predicted) counts
    labels: list | None = None


def thin(x: np.ndarray, y: np.ndarray, extra: np.ndarray | None = None,
         max_points: int = MAX_CURVE_POINTS) -> tuple:  # fmt: skip
    """At most ``max_points`` evenly spaced points of a curve, first and last kept."""
    if len(x) <= max_points:
        return (x, y) if extra is None else (x, y, extra)
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return (x[keep], y[keep]) if extra is None else (x[keep], y[keep], extra[keep])


def positive_class(labels: list) -> int:
    """Index of the class a binary model's threshold applies to (the second one)."""
    return 1 if len(labels) == 2 else 0


def class_scores(data: Any) -> tuple[np.ndarray, bool]:
    """(n_rows, n_classes) scores and whether they are probabilities.

    The probabilities when known (model or explained log-odds), else the explained output
    per class (ROC and PR curves and AUC only need an ordering).
    """
    proba = data.probabilities()
    if proba is not None:
        return proba, True
    return data.explained_output().T, False


def predicted_classes(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """Argmax, or for two classes ``p(positive) >= threshold`` when a threshold is given."""
    if threshold is not None and scores.shape[1] == 2:
        return (scores[:, 1] >= threshold).astype(int)
    return scores.argmax(axis=1)


def _auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC; one-vs-rest macro average over the classes present on both sides."""
    k = scores.shape[1]
    if k == 2:
        both = 0 < (y == 1).sum() < len(y)
        return float(skm.roc_auc_score(y == 1, scores[:, 1])) if both else None
    aucs = [skm.roc_auc_score(y == c, scores[:, c]) for c in range(k)
            if 0 < (y == c).sum() < len(y)]  # fmt: skip
    return float(np.mean(aucs)) if aucs else None


def classification_report(data: Any, rows: np.ndarray, threshold: float | None = 0.5) -> Report:
    """Accuracy, precision, recall, F1, log-loss and ROC AUC of ``rows``.

    Binary: precision/recall/F1 of the positive (second) class at ``threshold`` on its
    probability. Multiclass: predicted class = argmax, macro averages over the classes present
    in the rows' truth or predictions (scikit-learn's default). Log-loss needs
    probabilities; ROC AUC is the one-vs-rest macro average over the classes present (what
    ``roc_auc_score(multi_class="ovr")`` gives when all are present).
    """
    labels = [str(c) for c in data.output_labels]
    scores, is_proba = class_scores(data)
    y, s = data.y_index[rows], scores[rows]
    k = len(labels)
    pred = predicted_classes(s, threshold if is_proba else None)
    report = Report(n=len(rows), labels=labels)
    report.confusion = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    if k == 2:
        avg = dict(average="binary", pos_label=1)
        which = f" ({labels[1]})"
        if is_proba and threshold is not None:
            report.notes.append(f"threshold {threshold:.2f} on p({labels[1]})")
    else:  # macro over the classes present in the rows (scikit-learn's default labels)
        avg = dict(average="macro")
        which = " (macro)"
        report.notes.append("predicted class = highest probability; macro averages")
    m = report.metrics
    m["accuracy"] = float(skm.accuracy_score(y, pred))
    m["precision" + which] = float(skm.precision_score(y, pred, zero_division=0, **avg))
    m["recall" + which] = float(skm.recall_score(y, pred, zero_division=0, **avg))
    m["F1" + which] = float(skm.f1_score(y, pred, zero_division=0, **avg))
    m["log-loss"] = float(skm.log_loss(y, s, labels=list(range(k)))) if is_proba else None
    m["ROC AUC"] = _auc(y, s)
    if not is_proba:
        report.notes.append("no probabilities: log-loss undefined, scores are the explained "
                            f"{data.local.output}")  # fmt: skip
    return report


def regression_targets(data: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows with a finite target, their truth, their prediction)."""
    truth = np.asarray(data.frame["true_y"].to_numpy()[rows], dtype=float)
    pred = data.frame[data.prediction_column].to_numpy(dtype=float)[rows]
    ok = np.isfinite(truth) & np.isfinite(pred)
    return rows[ok], truth[ok], pred[ok]


def regression_report(data: Any, rows: np.ndarray) -> Report:
    """R2, MAE and RMSE of ``rows`` (rows without a finite target are left out, said so)."""
    kept, truth, pred = regression_targets(data, rows)
    report = Report(n=len(kept))
    if len(kept) < len(rows):
        report.notes.append(f"{len(rows) - len(kept):,} rows without a finite target left out")
    m = report.metrics
    m["R2"] = float(skm.r2_score(truth, pred)) if len(kept) > 1 else None
    m["MAE"] = float(skm.mean_absolute_error(truth, pred)) if len(kept) else None
    m["RMSE"] = float(np.sqrt(skm.mean_squared_error(truth, pred))) if len(kept) else None
    return report


def report(data: Any, rows: np.ndarray, threshold: float | None = 0.5) -> Report:
    """:func:`classification_report` or :func:`regression_report`, by the model's task."""
    if data.is_classifier:
        return classification_report(data, rows, threshold)
    return regression_report(data, rows)


def roc_pr_curves(data: Any, rows: np.ndarray, c: int) -> dict:
    """ROC and precision-recall curves of class ``c`` against the rest, thinned.

    ``{"roc": (fpr, tpr, thresholds), "pr": (recall, precision, thresholds), "auc": float,
    "ap": float}``; empty when the rows hold only one side.
    """
    scores, _ = class_scores(data)
    y = data.y_index[rows] == c
    s = scores[rows, c]
    if y.all() or not y.any():
        return {}
    fpr, tpr, thr = skm.roc_curve(y, s)
    precision, recall, pthr = skm.precision_recall_curve(y, s)
    return {
        "roc": thin(fpr, tpr, thr),
        "pr": thin(recall[:-1], precision[:-1], pthr),
        "auc": float(skm.roc_auc_score(y, s)),
        "ap": float(skm.average_precision_score(y, s)),
    }


def calibration(data: Any, rows: np.ndarray, c: int, n_bins: int = 10) -> dict:
    """Reliability curve of class ``c``: per probability bin, mean predicted, observed, count.

    Uniform bins on [0, 1] (``sklearn.calibration.calibration_curve(strategy="uniform")``);
    empty bins are dropped. ``{}`` without probabilities.
    """
    proba = data.probabilities()
    if proba is None:
        return {}
    p, y = proba[rows, c], (data.y_index[rows] == c).astype(float)
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p)  # as calibration_curve
    count = np.bincount(bins, minlength=n_bins)
    ok = count > 0
    mean_p = np.bincount(bins, weights=p, minlength=n_bins)[ok] / count[ok]
    observed = np.bincount(bins, weights=y, minlength=n_bins)[ok] / count[ok]
    return {"predicted": mean_p, "observed": observed, "count": count[ok]}
