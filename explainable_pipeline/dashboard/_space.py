"""Engineered-space explanations in the dashboard: the model that takes those rows.

An explanation with ``space="engineered"`` holds the preprocessor's output columns, while an
``ExplainablePipeline`` predicts from raw rows. The dashboard then asks the pipeline's fitted
estimator (which takes engineered rows) for predictions, what-if and ICE; re-explaining an
edited engineered row is not offered. Any other model must take the engineered columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class EngineeredModel:
    """``estimator_`` of a fitted ExplainablePipeline, fed engineered rows as it was fitted."""

    def __init__(self, pipeline: Any) -> None:
        self.estimator = pipeline.estimator_
        if hasattr(self.estimator, "classes_"):
            self.classes_ = self.estimator.classes_

    def _rows(self, X: pd.DataFrame) -> Any:
        names = getattr(self.estimator, "feature_names_in_", None)
        if names is not None:
            return X[list(names)]
        return np.asarray(X, dtype=float)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict(self._rows(X))


class EngineeredClassifier(EngineeredModel):
    """:class:`EngineeredModel` of an estimator with ``predict_proba``."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(self._rows(X))


def model_for_space(model: Any, local: Any, features: list) -> Any:
    """The model the dashboard should call on the explanation's rows (see the module doc)."""
    if model is None or getattr(local, "space", "raw") != "engineered":
        return model
    if hasattr(model, "explain_local") and hasattr(model, "estimator_"):
        has_proba = hasattr(model.estimator_, "predict_proba")
        return (EngineeredClassifier if has_proba else EngineeredModel)(model)
    names = getattr(model, "feature_names_in_", None)
    if names is not None and [str(n) for n in names] != list(features):
        missing = [f for f in features if f not in {str(n) for n in names}][:5]
        raise ValueError(
            "The explanation is in the engineered space (columns such as "
            f"{missing or features[:5]}) but the model takes other columns "
            f"({[str(n) for n in names][:5]}...). Pass the fitted ExplainablePipeline as "
            "model= (the dashboard then uses its estimator_ on the engineered rows), a model "
            "fitted on the engineered columns, or explain with space='raw'."
        )
    return model


def check_engineered_rows(local: Any, data: pd.DataFrame, features: list) -> None:
    """Refuse raw rows given as ``dataset`` for an engineered-space explanation."""
    if getattr(local, "space", "raw") != "engineered":
        return
    absent = [f for f in features if f not in set(data.columns)]
    if absent:
        raise ValueError(
            f"The explanation is in the engineered space but dataset lacks its columns "
            f"{absent[:5]}{' ...' if len(absent) > 5 else ''}: pass the engineered rows "
            "(explanation.data, the default) or explain with space='raw' to see raw columns."
        )
