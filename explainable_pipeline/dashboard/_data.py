"""Dashboard state: the explanation, the rows, the sample shown in scatters, the live model.

Pure numpy/pandas (no dash, no plotly), so the figure builders and the callbacks can be tested
without a browser.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from .._explanation import GlobalExplanation, LocalExplanation, MissingExplanationPartError
from .._ranking import rank_order

logger = logging.getLogger(__name__)

AUTO_CLASS = "__auto__"


def sigmoid(x: Any) -> Any:
    """Logistic function (the probability of a binary model's log-odds)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def to_probability(outputs: np.ndarray, output: str) -> np.ndarray | None:
    """Class probabilities (n_classes, n_rows) from explained outputs, or None.

    ``"probability"`` is returned as is; ``"log_odds"`` of two classes (class 0 holds the
    negated margin) through the sigmoid, of more classes through the softmax; any other
    output (a decision function, a raw score) has no probability.
    """
    outputs = np.asarray(outputs, dtype=float)
    if output == "probability":
        return outputs
    if output != "log_odds" or outputs.shape[0] < 2:
        return None
    if outputs.shape[0] == 2:
        return sigmoid(outputs)
    shifted = np.exp(outputs - outputs.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def format_prediction(outputs: np.ndarray, names: list, is_classifier: bool) -> str:
    """One line describing a model output row, e.g. ``"Gentoo · p(Adelie)=0.0100, ..."``.

    The browser tests compute the same string from the model to compare.
    """
    outputs = np.asarray(outputs, dtype=float).ravel()
    if is_classifier:
        label = names[int(np.argmax(outputs))]
        probs = ", ".join(f"p({n})={v:.4f}" for n, v in zip(names, outputs, strict=True))
        return f"Predicted: {label} · {probs}"
    if outputs.size == 1:
        return f"Prediction: {outputs[0]:.4f}"
    return "Prediction: " + ", ".join(f"{n}={v:.4f}" for n, v in zip(names, outputs, strict=True))


class ModelAdapter:
    """Uniform access to a fitted model that takes raw rows.

    ``outputs`` is ``predict_proba`` for classifiers (one column per class) and ``predict``
    otherwise; ``explain`` forwards to ``model.explain_local`` when the model has it.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.is_classifier = hasattr(model, "predict_proba") and hasattr(model, "classes_")
        self.can_explain = hasattr(model, "explain_local")
        if not (self.is_classifier or hasattr(model, "predict")):
            raise TypeError(
                f"model must have predict or predict_proba; got {type(model).__name__}. "
                "Pass the fitted ExplainablePipeline (or any fitted model taking raw rows)."
            )

    @property
    def output_names(self) -> list:
        if self.is_classifier:
            return [str(c) for c in self.model.classes_]
        return ["prediction"]

    def outputs(self, X: pd.DataFrame) -> np.ndarray:
        """Model output of shape (n_rows, n_outputs)."""
        if self.is_classifier:
            return np.asarray(self.model.predict_proba(X), dtype=float)
        out = np.asarray(self.model.predict(X), dtype=float)
        return out.reshape(len(X), -1)

    def explain(self, X: pd.DataFrame) -> LocalExplanation | None:
        return self.model.explain_local(X) if self.can_explain else None


def _as_local(explanation: Any) -> LocalExplanation:
    if isinstance(explanation, LocalExplanation):
        return explanation
    if isinstance(explanation, GlobalExplanation):
        if explanation.local is None:
            raise MissingExplanationPartError(
                "ExplanationDashboard needs per-row values: pass a LocalExplanation, or a "
                "GlobalExplanation built with GlobalExplanation.from_local(local) "
                "(ExplainablePipeline.explain_global keeps it)."
            )
        return explanation.local
    raise TypeError(
        "explanation must be a LocalExplanation or a GlobalExplanation; "
        f"got {type(explanation).__name__}."
    )


def _frame(data: Any, features: list, n_rows: int) -> pd.DataFrame:
    if data is None:
        raise ValueError(
            "The explanation carries no data and no dataset was given; pass "
            "dataset=<the explained rows> to ExplanationDashboard."
        )
    if hasattr(data, "tocsr"):
        data = data.toarray()
    if not isinstance(data, pd.DataFrame):
        arr = np.asarray(data)
        names = features if arr.ndim == 2 and arr.shape[1] == len(features) else None
        data = pd.DataFrame(arr, columns=names)
    if len(data) != n_rows:
        raise ValueError(
            f"dataset has {len(data)} rows but the explanation explains {n_rows} rows; "
            "pass the rows that were explained, in the same order."
        )
    data = data.reset_index(drop=True)
    data.columns = [str(c) for c in data.columns]
    return data


class DashboardData:
    """Everything the views need, computed once.

    Parameters
    ----------
    explanation : LocalExplanation or GlobalExplanation
        A GlobalExplanation must carry its local part.
    model : object, optional
        Fitted model taking raw rows (the ExplainablePipeline, or anything with
        predict / predict_proba); enables what-if and ICE.
    dataset : DataFrame or array-like, optional
        The explained rows; defaults to ``explanation.data``.
    true_y : array-like, optional
        True targets, shown in the data view.
    max_points : int
        Scatter views show a random sample of at most this many rows.
    random_state : int
        Seed of that sample.
    cohorts : dict, optional
        Name -> boolean mask, row positions, ``DataFrame.query`` string or filter list
        (see ``_cohorts.python_cohort``).
    interactions : object or ndarray, optional
        Shapley interaction values (see ``_interactions``).
    """

    def __init__(self, explanation: Any, model: Any = None, dataset: Any = None,
                 true_y: Any = None, *, max_points: int = 2000, random_state: int = 0,
                 cohorts: dict | None = None, interactions: Any = None) -> None:  # fmt: skip
        from ._cohorts import CohortRegistry, python_cohort
        from ._interactions import as_interactions

        self.explanation = explanation
        self.local = _as_local(explanation)
        self.features = [str(f) for f in self.local.features]
        self.data = _frame(self.local.data if dataset is None else dataset, self.features,
                           self.local.n_rows)  # fmt: skip
        self.n_rows = self.local.n_rows
        values = self.local.values
        self.values = values[None] if values.ndim == 2 else values  # (n_outputs, n, f)
        expected = np.atleast_1d(np.asarray(self.local.expected_values, dtype=float))
        self.expected = expected
        n_out = self.values.shape[0]
        self.classes = (
            [str(c) for c in self.local.classes] if self.local.classes is not None
            else ([str(i) for i in range(n_out)] if n_out > 1 else None)
        )  # fmt: skip
        from ._space import check_engineered_rows, model_for_space

        check_engineered_rows(self.local, self.data, self.features)
        model = model_for_space(model, self.local, self.features)
        self.model = None if model is None else ModelAdapter(model)
        if true_y is not None and len(true_y) != self.n_rows:
            raise ValueError(f"true_y has {len(true_y)} values but there are {self.n_rows} rows.")
        self.true_y = None if true_y is None else np.asarray(true_y)
        self.is_classifier = self.model.is_classifier if self.model else self.classes is not None
        rng = np.random.default_rng(random_state)
        self.sampled = self.n_rows > max_points
        self.sample = (
            np.sort(rng.choice(self.n_rows, max_points, replace=False)) if self.sampled
            else np.arange(self.n_rows)
        )  # fmt: skip
        if self.sampled:
            logger.info(
                "Scatter views show %d of %d rows (random sample).", max_points, self.n_rows
            )
        self.columns = list(self.data.columns)
        self.categorical = {
            c: self._levels(c)
            for c in self.columns
            if not pd.api.types.is_numeric_dtype(self.data[c])
            or pd.api.types.is_bool_dtype(self.data[c])
        }
        self.numeric = [c for c in self.columns if c not in self.categorical]
        self.importance, self.per_class = self._importance()
        self.order = rank_order(self.importance)
        self._build_plot_frame()
        self.cohorts = CohortRegistry(self, max_points, random_state)
        for name, spec in (cohorts or {}).items():
            self.cohorts.add(python_cohort(str(name), spec, self.frame))
        self.interactions = as_interactions(interactions, self.local)

    # ------------------------------------------------------------------ construction
    def _levels(self, column: str) -> list:
        levels = pd.unique(self.data[column].dropna())
        return sorted(levels.tolist(), key=str)

    def _importance(self) -> tuple[np.ndarray, np.ndarray | None]:
        exp = self.explanation
        if isinstance(exp, GlobalExplanation) and exp.features == self.local.features:
            return np.asarray(exp.values), exp.per_class_values
        return self.local.global_importance_values, self.local.per_class_values

    def _build_plot_frame(self) -> None:
        """``frame``: every row's raw values, predictions (and truth), for plots and filters.

        The model runs once on all rows (predict_proba or predict); without a model the
        explained output stands in (per class for classifiers). Scatters show
        ``frame.iloc[sample]``.
        """
        frame = self.data.copy()
        if self.model is not None:
            out = self.model.outputs(self.data)
            names = self.model.output_names
            if self.model.is_classifier:
                frame["predicted"] = np.asarray(names, dtype=object)[out.argmax(1)]
                for j, name in enumerate(names):
                    frame[f"p({name})"] = out[:, j]
            else:
                for j, name in enumerate(names if out.shape[1] > 1 else ["prediction"]):
                    frame[name] = out[:, j]
            self.outputs = out
        else:
            out = self.explained_output().T
            labels = self.classes or [self.local.output]
            if self.classes:
                frame["predicted"] = np.asarray(self.classes, dtype=object)[out.argmax(1)]
            for j, name in enumerate(labels):
                frame[f"{self.local.output}({name})" if self.classes else name] = out[:, j]
            self.outputs = None
        self.prediction_column = "predicted" if self.is_classifier else next(
            c for c in frame.columns if c not in self.data.columns)  # fmt: skip
        self.y_index = None
        if self.true_y is not None:
            frame["true_y"] = self.true_y
            if self.is_classifier:
                self.y_index = self._class_positions(self.true_y)
                frame["correct"] = frame["predicted"].astype(str).to_numpy() == np.asarray(
                    self.true_y).astype(str)  # fmt: skip
            else:
                truth = pd.to_numeric(pd.Series(self.true_y), errors="coerce").to_numpy(float)
                frame["abs_error"] = np.abs(truth - frame[self.prediction_column].to_numpy(float))
        frame["row"] = np.arange(self.n_rows)
        self.frame = frame
        self.plot_columns = [c for c in frame.columns if c != "row"]

    def _class_positions(self, y: np.ndarray) -> np.ndarray:
        """Position of each true label among the model's classes (labels compared as text)."""
        labels = self.output_labels
        position = {str(c): i for i, c in enumerate(labels)}
        text = pd.Series(y).astype(str)
        unknown = sorted(set(text) - set(position))
        if unknown:
            raise ValueError(
                f"true_y holds labels that are not classes of the model: {unknown[:5]}; "
                f"classes: {labels}."
            )
        return text.map(position).to_numpy(dtype=int)

    @property
    def output_labels(self) -> list:
        """Class labels (classifiers) or output names, in model output order."""
        if self.model is not None:
            return self.model.output_names
        return self.classes or [self.local.output]

    @property
    def sample_frame(self) -> pd.DataFrame:
        """The rows of ``frame`` shown in scatters."""
        return self.frame.iloc[self.sample].reset_index(drop=True)

    @property
    def sample_outputs(self) -> np.ndarray | None:
        """Model outputs of the sampled rows (None without a model)."""
        return None if self.outputs is None else self.outputs[self.sample]

    def probabilities(self) -> np.ndarray | None:
        """Class probabilities of every row, (n_rows, n_classes); None when unknown.

        The model's ``predict_proba`` when a classifier was passed; otherwise derived from
        the explained output (probabilities, or log-odds through the sigmoid / softmax).
        """
        if self.model is not None:
            return self.outputs if self.model.is_classifier else None
        if self.classes is None:
            return None
        proba = to_probability(self.explained_output(), self.local.output)
        return None if proba is None else proba.T

    def step_probability(self, c: int) -> Any:
        """Function mapping class ``c``'s explained output to its probability, or None.

        Only where that is a function of the one output: log-odds of a binary model (the
        sigmoid) and probabilities themselves. A multiclass softmax depends on every class.
        """
        if self.classes is None:
            return None
        if self.local.output == "probability":
            return float
        if self.local.output == "log_odds" and len(self.classes) == 2:
            return lambda x: float(sigmoid(x))
        return None

    # ------------------------------------------------------------------ accessors
    def explained_output(self) -> np.ndarray:
        """The explained model output, (n_outputs, n_rows): stored predictions or the sum."""
        if self.local.predictions is not None:
            return np.asarray(self.local.predictions).reshape(self.values.shape[:2])
        return self.values.sum(-1) + self.expected[:, None]

    def default_class(self) -> int:
        """Class shown by dataset-wide views: the positive class (binary), else the first."""
        n_out = self.values.shape[0]
        return 1 if n_out == 2 else 0

    def class_index(self, value: Any, row: int | None = None) -> int:
        """Position of a class label; ``AUTO_CLASS`` picks the row's top class (or default)."""
        if self.classes is None:
            return 0
        if value in (None, AUTO_CLASS):
            if row is None:
                return self.default_class()
            return int(np.argmax(self.explained_output()[:, row]))
        return self.classes.index(str(value))

    def top_features(self, k: int) -> list:
        """Names of the k most important features overall."""
        return [self.features[i] for i in self.order[: max(1, int(k))]]

    def row_frame(self, row: int) -> pd.DataFrame:
        """The raw row ``row`` as a one-row DataFrame with the dataset's dtypes."""
        return self.data.iloc[[int(row)]].reset_index(drop=True)

    def edited_row(self, row: int, edits: dict) -> pd.DataFrame:
        """Row ``row`` with some raw values replaced, keeping the column dtypes."""
        frame = self.row_frame(row)
        for column, value in edits.items():
            if column in self.categorical:
                frame[column] = frame[column].astype(object)
                frame.loc[0, column] = None if value in (None, "") else value
                frame[column] = frame[column].astype(self.data[column].dtype)
                continue
            number = np.nan if value in (None, "") else float(value)
            dtype = self.data[column].dtype
            if pd.api.types.is_integer_dtype(dtype) and np.isfinite(number) and number.is_integer():
                frame[column] = np.array([int(number)], dtype=dtype)
            else:
                frame[column] = np.array([number], dtype=float)
        return frame

    def ice_grid(self, column: str, n_points: int = 25) -> list:
        """Values to sweep for ``column``: its levels, or a grid from its min to its max."""
        if column in self.categorical:
            return list(self.categorical[column])
        col = pd.to_numeric(self.data[column], errors="coerce")
        lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
        if pd.api.types.is_integer_dtype(self.data[column].dtype) and hi - lo + 1 <= n_points:
            return list(range(int(lo), int(hi) + 1))
        return np.linspace(lo, hi, n_points).tolist()

    def ice_rows(self, row: int, n_others: int = 20, random_state: int = 0) -> np.ndarray:
        """The selected row first, then up to ``n_others`` other rows of the sample."""
        rng = np.random.default_rng(random_state)
        others = self.sample[self.sample != row]
        others = rng.choice(others, min(n_others, others.size), replace=False)
        return np.concatenate([[int(row)], np.sort(others)]).astype(int)

    def ice_curves(self, row: int, column: str, n_others: int = 20,
                   n_points: int = 25) -> tuple[list, np.ndarray, np.ndarray]:  # fmt: skip
        """Model outputs while ``column`` sweeps its grid: (grid, rows, (n_rows, n_grid, n_out))."""
        from ._pdp import sweep

        grid = self.ice_grid(column, n_points)
        rows = self.ice_rows(row, n_others)
        return grid, rows, sweep(self, rows, {column: grid})
