"""Global surrogates ("mimic"): an interpretable model that learns the model's output.

The surrogate is fitted on the engineered matrix to reproduce the explained output of
the model on the training rows: the probability of each class for classifiers (only the
positive class for binary ones), the prediction for regressors. Its attributions are
exact for the surrogate (TreeSHAP for LightGBM and decision trees, the closed form
``coef * (x - mean)`` for linear and SGD models) and approximate the model as well as
the surrogate's **fidelity** says: R^2 of the surrogate's output against the model's, and
for classifiers the rate at which both pick the same class.

Differences from interpret-community's ``MimicExplainer``: it fits a regressor on the
soft logit of the positive class (binary) or a classifier on the argmax labels
(multiclass); here every output is a regression on the model's probabilities, so the
attributions add up to a probability like those of the model-agnostic explainers.

Nothing here knows about pipelines: functions take engineered rows and arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis

from ._base import EngineeredAttribution
from ._linear import is_linear_model, linear_shap, weighted_mean
from ._tree import is_tree_model, make_shap_tree_explainer, tree_shap

#: Surrogate names accepted by ``ExplainablePipeline(surrogate=...)``.
SURROGATES = ("lightgbm", "linear", "sgd", "decision_tree")
#: Augmentation stops once the training set reaches this many rows per raw column.
_AUGMENT_ROWS_PER_COLUMN = 100


def make_surrogate(name: str, random_state=None):
    """A fresh regressor for a surrogate name (see :data:`SURROGATES`)."""
    if name == "lightgbm":
        try:
            from lightgbm import LGBMRegressor
        except ImportError as exc:
            from .._optional import install_hint

            raise ImportError(
                f"surrogate='lightgbm' needs lightgbm (or use surrogate='decision_tree' or "
                f"'linear'). {install_hint('lightgbm', 'lightgbm')}"
            ) from exc
        # one thread: surrogates are small, and fit runs once per CV fold inside searches
        return LGBMRegressor(n_estimators=100, random_state=random_state, verbose=-1, n_jobs=1)
    if name == "linear":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1e-3)
    if name == "sgd":
        from sklearn.linear_model import SGDRegressor

        return SGDRegressor(random_state=random_state)
    if name == "decision_tree":
        from sklearn.tree import DecisionTreeRegressor

        return DecisionTreeRegressor(max_depth=8, min_samples_leaf=5, random_state=random_state)
    raise ValueError(f"surrogate must be one of {SURROGATES} or an estimator; got {name!r}.")


def _check_surrogate(est) -> str:
    """The attribution family of a surrogate regressor: "tree" or "linear"."""
    name = type(est).__name__
    if is_classifier(est):
        raise ValueError(
            f"The surrogate must be a regressor (it learns probabilities or predictions); got "
            f"the classifier {name}. Use e.g. LGBMRegressor, DecisionTreeRegressor or Ridge."
        )
    if is_tree_model(est):
        return "tree"
    if is_linear_model(est):
        return "linear"
    raise ValueError(
        f"The surrogate {name} is neither a tree model nor a linear model, so it cannot be "
        f"explained exactly; use one of {SURROGATES}, a tree regressor or a linear regressor."
    )


def augment_rows(X, max_num_of_augmentations: int, random_state=None):
    """Oversample raw rows when there are few of them compared with columns.

    Each added block has as many rows as ``X``, each column drawn independently from
    that column's values (the product of the marginals). Blocks are added while the data
    has fewer than 100 rows per column, at most ``max_num_of_augmentations`` times.
    (interpret-community's ``augment_data`` differs: it only augments data with fewer rows
    than columns, with column-shuffled copies; ``compat.MimicExplainer`` follows it.)

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_rows, n_columns)
    max_num_of_augmentations : int
    random_state : int, RandomState instance or None

    Returns
    -------
    DataFrame or ndarray
        ``X`` followed by the added rows.
    """
    rng = check_random_state(random_state)
    n, m = X.shape
    n_blocks = 0
    while n * (n_blocks + 1) < _AUGMENT_ROWS_PER_COLUMN * m and n_blocks < max_num_of_augmentations:
        n_blocks += 1
    if n_blocks == 0:
        return X
    idx = rng.randint(0, n, size=(n * n_blocks, m))  # one row index per cell
    if isinstance(X, pd.DataFrame):
        extra = pd.DataFrame(
            {c: X.iloc[idx[:, j], j].to_numpy() for j, c in enumerate(X.columns)}
        ).astype(X.dtypes.to_dict())
        return pd.concat([X.reset_index(drop=True), extra], ignore_index=True)
    if sp.issparse(X):
        X = X.toarray()
    X = np.asarray(X)
    extra = X[idx, np.arange(m)]
    return np.vstack([X, extra])


class Surrogate:
    """Fitted surrogate regressors, one per explained output, and how to explain them.

    Parameters
    ----------
    estimators : list of fitted regressors
        One per output (a column of the model output).
    kind : {"tree", "linear"}
    output : str
        Name of the explained output ("probability", "prediction", ...).
    mean : ndarray of shape (n_engineered,), optional
        Mean of the training rows (the base of the linear closed form).
    scale : ndarray of shape (n_engineered,), optional
        Linear surrogates are fitted on the columns divided by their standard
        deviation (SGD needs it; it conditions the least squares); the closed form
        ``coef * (x / scale - mean / scale)`` is unchanged by that rescaling.
    """

    def __init__(self, estimators, kind: str, output: str, mean=None, scale=None):
        self.estimators = estimators
        self.kind = kind
        self.output = output
        self.mean = mean
        self.scale = scale

    def _input(self, Xt):
        return Xt if self.scale is None else _divide_columns(Xt, self.scale)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_shap", None)  # a parsed shap.TreeExplainer: rebuilt on demand
        return state

    def predict(self, Xt) -> np.ndarray:
        """Surrogate output, shape (n_outputs, n_rows)."""
        Xs = self._input(Xt)
        return np.stack([np.asarray(e.predict(Xs), dtype=np.float64) for e in self.estimators])

    def attribution(self, Xt) -> EngineeredAttribution:
        """Exact attributions of the surrogate, additive to :meth:`predict`."""
        values, expected = [], []
        Xs = self._input(Xt)
        for k, est in enumerate(self.estimators):
            if self.kind == "linear":
                part = linear_shap(est, Xs, self.mean / self.scale)
            else:
                cache = self.__dict__.setdefault("_shap", {})
                shap_explainer = None
                if not type(est).__module__.startswith(("lightgbm", "xgboost")):
                    if k not in cache:
                        cache[k] = make_shap_tree_explainer(est, "margin")
                    shap_explainer = cache[k]
                part = tree_shap(est, Xs, model_output="margin", shap_explainer=shap_explainer)
            values.append(part.values[0])
            expected.append(part.expected[0])
        predictions = self.predict(Xt)
        return EngineeredAttribution(
            np.stack(values), np.asarray(expected), self.output, predictions=predictions
        )


def teacher_targets(outputs, classifier: bool) -> np.ndarray:
    """The model output as surrogate targets, shape (n_rows, n_outputs).

    Binary probabilities keep the positive class only (the negative one is its
    complement); a 1-D output (regression, binary decision function) becomes one column.
    """
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 1:
        return out[:, np.newaxis]
    if classifier and out.shape[1] == 2:
        return out[:, 1:]
    return out


def fit_surrogate(surrogate, Xt, targets, output: str, *, random_state=None) -> Surrogate:
    """Fit one surrogate regressor per target column on the engineered rows ``Xt``.

    Parameters
    ----------
    surrogate : str, estimator or surrogate strategy
        One of :data:`SURROGATES`, or an unfitted regressor (tree or linear), cloned; or
        a *strategy*: an object whose ``fit_surrogate(Xt, targets, output, random_state=)``
        returns a fitted object with the :class:`Surrogate` protocol (``predict(Xt)``,
        ``attribution(Xt)``, optionally ``predict_teacher_space(Xt)`` when its output is
        not the model's, for the fidelity).
    Xt : array-like or sparse matrix of shape (n_rows, n_engineered)
    targets : ndarray of shape (n_rows, n_outputs)
        The model's output on the same rows (:func:`teacher_targets`).
    output : str
        Name of the output space.
    random_state : int, RandomState instance or None

    Returns
    -------
    Surrogate or the strategy's fitted object
    """
    if callable(getattr(surrogate, "fit_surrogate", None)):  # a surrogate strategy
        return surrogate.fit_surrogate(Xt, targets, output, random_state=random_state)
    if isinstance(surrogate, str):
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        template = make_surrogate(surrogate, random_state=seed)
    else:
        template = surrogate
    kind = _check_surrogate(template)
    mean = scale = None
    if kind == "linear":
        mean = weighted_mean(Xt)
        if sp.issparse(Xt):
            var = mean_variance_axis(sp.csr_matrix(Xt, dtype=np.float64), axis=0)[1]
        else:
            var = np.asarray(Xt, dtype=np.float64).var(axis=0)
        scale = np.sqrt(var)
        scale[~(scale > 1e-12)] = 1.0  # constant columns stay as they are
        Xt = _divide_columns(Xt, scale)
    estimators = [clone(template).fit(Xt, targets[:, k]) for k in range(targets.shape[1])]
    return Surrogate(estimators, kind, output, mean, scale)


def _divide_columns(Xt, scale):
    if sp.issparse(Xt):
        return sp.csr_matrix(Xt.multiply(1.0 / scale))
    return np.asarray(Xt, dtype=np.float64) / scale


def fidelity(model_out, surrogate_out, classifier: bool, output: str) -> dict:
    """How well the surrogate reproduces the model on some rows.

    Parameters
    ----------
    model_out, surrogate_out : ndarray of shape (n_outputs, n_rows)
        Model and surrogate output (same layout as :meth:`Surrogate.predict`).
    classifier : bool
    output : str
        "probability" (class = argmax, or positive when above 0.5 for one column),
        or a margin (positive when above 0).

    Returns
    -------
    dict
        ``{"r2": float, "n_rows": int}`` plus ``"agreement"`` (share of rows where the
        surrogate and the model pick the same class) for classifiers. ``r2`` is the
        variance-weighted R^2 over outputs.
    """
    model_out = np.asarray(model_out, dtype=np.float64)
    surrogate_out = np.asarray(surrogate_out, dtype=np.float64)
    n_rows = model_out.shape[1]
    result = {"n_rows": int(n_rows)}
    if n_rows >= 2:
        result["r2"] = float(
            r2_score(model_out.T, surrogate_out.T, multioutput="variance_weighted")
        )
    else:
        result["r2"] = None
    if classifier:
        if model_out.shape[0] == 1:
            cut = 0.5 if output == "probability" else 0.0
            agree = (model_out[0] > cut) == (surrogate_out[0] > cut)
        else:
            agree = model_out.argmax(axis=0) == surrogate_out.argmax(axis=0)
        result["agreement"] = float(np.mean(agree))
    return result


__all__ = [
    "SURROGATES",
    "Surrogate",
    "augment_rows",
    "fidelity",
    "fit_surrogate",
    "make_surrogate",
    "teacher_targets",
]
