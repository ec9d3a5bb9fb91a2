"""interpret-community style inputs turned into what ExplainablePipeline takes.

Examples (numpy, lists, DataFrames, Series, scipy sparse, a 1-D row, a ``shap.kmeans``
summary, a ``DatasetWrapper``), models (fitted estimators, whole Pipelines, duck-typed
wrappers, prediction functions with ``is_function=True``) and ``transformations`` (a fitted
ColumnTransformer or any fitted transformer, or sklearn-pandas style
``([columns], transformer)`` tuples).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from .._duck import is_classifier_like
from .._prefit import prefit_view
from ._constants import ModelTask

__all__ = ["DatasetWrapper", "summarize_data"]



class DatasetWrapper:
    """A data set as interpret-community passes it around (``original_dataset``).

    Parameters
    ----------
    dataset : array-like, DataFrame or sparse matrix
    """

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset

    @property
    def original_dataset(self) -> Any:
        """The data set as given."""
        return self._dataset

    @property
    def dataset(self) -> Any:
        """The data set as an array (DataFrames become ndarrays)."""
        d = self._dataset
        return d.to_numpy() if isinstance(d, pd.DataFrame) else d


def summarize_data(X: Any, k: int = 10, use_gpu: bool = False) -> Any:
    """A weighted k-means summary of ``X`` (``shap.kmeans``), as interpret-community's.

    Sparse data is returned as it is (no summary), as interpret-community does.
    """
    if use_gpu:
        raise ValueError("use_gpu=True is not supported: explainable_pipeline runs on the CPU.")
    if sp.issparse(X):
        return X
    import shap

    data = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    return shap.kmeans(data, min(int(k), len(data)))


def is_dense_data(X: Any) -> bool:
    """A shap ``DenseData`` summary (``shap.kmeans`` output)."""
    return type(X).__name__ == "DenseData" and hasattr(X, "data") and hasattr(X, "weights")


def as_rows(X: Any) -> tuple[Any, bool]:
    """Examples as 2-D rows, and whether a single 1-D row was given."""
    if isinstance(X, DatasetWrapper):
        X = X.original_dataset
    if is_dense_data(X):
        return np.asarray(X.data), False
    if isinstance(X, pd.Series):
        return X.to_frame().T.infer_objects(), True
    if isinstance(X, pd.DataFrame):
        return X, False
    if sp.issparse(X):
        return X.tocsr(), False
    arr = np.asarray(X)
    if arr.ndim == 1:
        return arr.reshape(1, -1), True
    return arr, False


def default_features(X: Any, features: Any) -> list:
    """interpret-community's feature names: given, else DataFrame columns, else 0..n-1."""
    if features is not None:
        return list(np.asarray(features, dtype=object).tolist())
    if isinstance(X, pd.DataFrame):
        return [c if isinstance(c, (str, int)) else str(c) for c in X.columns]
    return list(range(X.shape[1]))


# --------------------------------------------------------------------------- models
class FunctionModel:
    """A prediction function (``is_function=True``) as a duck-typed model.

    ``function(X)`` returning a 2-D array is a ``predict_proba`` (classification);
    returning a 1-D array, a ``predict``.
    """

    def __init__(self, function, n_outputs: int | None, task: str) -> None:
        self.function = function
        self._task = task
        if n_outputs is not None:
            self.classes_ = np.arange(n_outputs)
            self._estimator_type = "classifier"
        else:
            self._estimator_type = "regressor"

    def predict(self, X):
        out = np.asarray(self.function(X))
        if self._estimator_type == "classifier":
            return out.argmax(axis=1)
        return out

    def __getattr__(self, name):
        if name == "predict_proba" and self.__dict__.get("_estimator_type") == "classifier":
            return lambda X: np.asarray(self.function(X))
        raise AttributeError(name)


class ProbaFromPredict:
    """A classifier whose ``predict`` returns probabilities (no ``predict_proba``)."""

    _estimator_type = "classifier"

    def __init__(self, model, n_classes: int) -> None:
        self.model = model
        self.classes_ = np.arange(n_classes)

    def predict_proba(self, X):
        return np.asarray(self.model.predict(X))

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


class OneHotProba:
    """A classifier without ``predict_proba``: probability 1 for its predicted class.

    interpret-community's (ml-wrappers') wrapper for e.g. ``SGDClassifier(loss="hinge")``
    or any classifier explained with ``model_task="classification"``.
    """

    _estimator_type = "classifier"

    def __init__(self, model) -> None:
        self.model = model
        self.classes_ = np.asarray(model.classes_)

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        labels = np.asarray(self.model.predict(X))
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        out = np.zeros((labels.shape[0], len(self.classes_)))
        out[np.arange(labels.shape[0]), [index[c] for c in labels.tolist()]] = 1.0
        return out


class RegressionView:
    """A model explained as a regressor (``model_task="regression"``): ``predict`` only."""

    _estimator_type = "regressor"

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, X):
        return np.asarray(self.model.predict(X), dtype=float)


def _first_rows(X: Any, n: int = 2) -> Any:
    return X.iloc[:n] if isinstance(X, pd.DataFrame) else X[:n]


def resolve_model(model: Any, X: Any, *, is_function: bool, model_task: Any, classes: Any,
                  transform=None) -> Any:  # fmt: skip
    """The model to explain, wrapped so that its task is the one interpret-community infers.

    ``transform`` maps raw rows to the model's input (for probing a wrapper's output).
    Raises interpret-community's errors for ``classes=`` without ``predict_proba``.
    """
    task = ModelTask(model_task if model_task is not None else ModelTask.Unknown)
    probe = _first_rows(X) if transform is None else transform(_first_rows(X))
    if is_function:
        if not callable(model):
            raise TypeError(f"is_function=True needs a callable; got {type(model).__name__}.")
        out = np.asarray(model(probe))
        two_d = out.ndim == 2 and task != ModelTask.Regression
        if classes is not None and not two_d:
            raise ValueError("Classes is specified but function was predict, not predict_proba.")
        return FunctionModel(model, out.shape[1] if two_d else None, task.value)
    model = prefit_view(model)  # a Pipeline of duck-typed or stateless steps: usable as is
    if not hasattr(model, "predict") and not hasattr(model, "predict_proba"):
        raise TypeError(
            f"model must have predict (and predict_proba for a classifier); got "
            f"{type(model).__name__}. Pass is_function=True for a prediction function."
        )
    if task == ModelTask.Regression:
        return RegressionView(model) if is_classifier_like(model) else model
    if hasattr(model, "predict_proba"):
        return model
    labelled = hasattr(model, "classes_") and is_classifier_like(model)
    if labelled and (task == ModelTask.Classification or type(model).__name__ == "SGDClassifier"):
        return OneHotProba(model)  # as ml-wrappers: SGD's hinge loss, or a declared classifier
    if classes is not None and task != ModelTask.Classification:
        raise ValueError(
            "Classes is specified but model does not define predict_proba, only predict."
        )
    if task == ModelTask.Classification:
        out = np.asarray(model.predict(probe))
        if out.ndim == 2:  # predict returns probabilities
            return ProbaFromPredict(model, out.shape[1])
        raise ValueError(
            "model_task='classification' needs predict_proba (or a predict that returns "
            f"probabilities); {type(model).__name__} only has a predict returning labels."
        )
    # a classifier without probabilities is explained as a regression of its predict, as
    # interpret-community does (labels must be numeric)
    return RegressionView(model) if is_classifier_like(model) else model


# --------------------------------------------------------------------------- transformations
class PrefitColumns(FrozenEstimator):
    """One fitted transformer of a ``([columns], transformer)`` list, used as it is.

    A transformer fitted on a DataFrame (``feature_names_in_``) gets the DataFrame
    columns; one fitted on an array (as sklearn-pandas' ``DataFrameMapper`` does) gets
    a plain array. The feature map looks inside it, as for a ColumnTransformer entry.
    """

    def fit(self, X, y=None, **kwargs):
        """No-op: the transformer is used as it is (even one without fitted attributes)."""
        return self

    def transform(self, X, *args, **kwargs):
        est = self.estimator
        if isinstance(X, pd.DataFrame) and not hasattr(est, "feature_names_in_"):
            X = X.to_numpy()
        return prefit_view(est).transform(X, *args, **kwargs)

    def get_feature_names_out(self, input_features=None):
        return self.estimator.get_feature_names_out(input_features)


def _column_list(cols: Any) -> list:
    if isinstance(cols, (list, tuple, np.ndarray, pd.Index, pd.Series)):
        return list(np.asarray(cols, dtype=object).tolist())
    return [cols]


def from_tuples(transformations: list, X: Any) -> ColumnTransformer:
    """A ColumnTransformer applying fitted ``([columns], transformer)`` tuples as they are."""
    parts = []
    for i, entry in enumerate(transformations):
        if not isinstance(entry, tuple) or len(entry) not in (2, 3):
            raise ValueError(
                f"transformations[{i}] must be a tuple ([columns], transformer); got {entry!r}."
            )
        cols, trans = _column_list(entry[0]), entry[1]
        if trans is None or (isinstance(trans, str) and trans == "passthrough"):
            step = "passthrough"
        elif isinstance(trans, list):  # sklearn-pandas chains a list of transformers
            step = PrefitColumns(Pipeline([(f"step{j}", t) for j, t in enumerate(trans)]))
        else:
            step = PrefitColumns(trans)
        parts.append((f"{i}_" + "_".join(map(str, cols)), step, cols))
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False).fit(X)


def split_model(model: Any, transformations: Any, X: Any) -> tuple[Any, Any]:
    """(preprocessor, estimator) for ExplainablePipeline, both frozen (nothing is refitted)."""
    if transformations is None:
        if isinstance(model, Pipeline) and len(model.steps) > 1:
            return FrozenEstimator(model[:-1]), FrozenEstimator(model[-1])
        return None, FrozenEstimator(model)
    if isinstance(transformations, list):
        return FrozenEstimator(from_tuples(transformations, X)), FrozenEstimator(model)
    if not hasattr(transformations, "transform"):
        raise TypeError(
            "transformations must be a fitted ColumnTransformer (or transformer) or a list of "
            f"([columns], transformer) tuples; got {type(transformations).__name__}."
        )
    return FrozenEstimator(transformations), FrozenEstimator(model)


def _restore_index(X, columns=None, names=None):
    out = X.set_index(list(columns))
    out.index.names = names
    return out


class IndexRestorer(FunctionTransformer):
    """Puts the leading ``reset_index`` columns back as the DataFrame's index.

    A one-to-one FunctionTransformer for the feature map (each raw column, index levels
    included, is its own engineered feature); ``transform`` returns the DataFrame with its
    index, which has fewer columns than the declared feature names, so the output check of
    FunctionTransformer is skipped.
    """

    def transform(self, X):
        """The rows with their index restored."""
        return self.func(X, **(self.kw_args or {}))


def index_restorer(reset_rows: pd.DataFrame, index_names: list) -> IndexRestorer:
    """A fitted :class:`IndexRestorer` for rows produced by ``DataFrame.reset_index()``.

    ``reset_index="reset"``: the raw features are the index levels and the columns (the
    surrogate learns from all of them), while the model still receives its DataFrame with
    its index.
    """
    columns = list(reset_rows.columns[: len(index_names)])
    return IndexRestorer(
        _restore_index, kw_args={"columns": columns, "names": list(index_names)},
        validate=False, feature_names_out="one-to-one",
    ).fit(reset_rows)  # fmt: skip
