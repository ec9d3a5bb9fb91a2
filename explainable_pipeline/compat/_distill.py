"""interpret-community's surrogate rules, as a surrogate strategy of ``explainer="mimic"``.

The core mimic explainer regresses the model's probabilities. interpret-community's
``MimicExplainer`` distils differently, and code written for it relies on the result:

- **binary classifier**: a regressor learns the positive class's log-odds, clipped to
  [-5, 5]; attributions are in log-odds (``expit(expected + sum) == surrogate
  probability``), the negative class gets the negated values;
- **multiclass classifier**: a *classifier* learns the model's most probable class
  (rows are added so that every class is present); attributions are the classifier's
  margins per class;
- **regressor**: a regressor learns the prediction.

``shap_values_output="probability"`` rescales the margin attributions so that each row
adds up to the surrogate's probability, ``"teacher_probability"`` to the model's own
probability (its prediction for a regressor): each attribution moves towards the gap in
proportion to its size, and what is left is spread evenly over the features (the same
approximation interpret-community makes; the totals are then exact).

The surrogates are interpret-community's defaults (seed 123): LightGBM, linear
(``LinearRegression`` / ``LogisticRegression``; ``Lasso`` with ``sparse_data``), SGD and
unbounded decision trees. Trees are explained with TreeSHAP, linear models in closed form
with the training mean as the reference (interpret-community uses the mean of a 10-centre
k-means summary: see docs/compat.md). Data augmentation follows interpret-community's rule
(wide data only: column-shuffled copies of the rows while there are fewer rows than
columns).

:class:`DistillStrategy` is given to ``ExplainablePipeline(surrogate=...)``; the pipeline
calls :meth:`DistillStrategy.fit_surrogate` with the model's output on the (engineered)
training rows, and explains through the returned :class:`FittedDistill`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import expit, logit

from ..explainers._base import EngineeredAttribution
from ..explainers._linear import linear_shap, weighted_mean
from ..explainers._tree import tree_shap
from ._featurize import SurrogateFeaturizer

__all__ = ["DistillStrategy", "FittedDistill"]

#: interpret-community's default ``random_state`` of every explainable model.
SEED = 123
#: Log-odds targets of a binary model are clipped to this bound.
_CLIP = 5.0
#: Fewer training rows than this: LightGBM may grow leaves of one row (as there).
_SMALL_DATA = 50
_FAMILIES = ("lightgbm", "linear", "sgd", "decision_tree")


# --------------------------------------------------------------------------- estimators
def _estimator(family: str, classifier: bool, params: dict, n_rows: int):
    params = dict(params)
    sparse_data = bool(params.pop("sparse_data", False))
    params.setdefault("random_state", SEED)
    if family == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        if "verbosity" in params and "verbose" not in params:
            params["verbose"] = params.pop("verbosity")
        params.setdefault("verbose", -1)
        params.setdefault("n_jobs", 1)  # a shared machine: small models, one thread
        if n_rows < _SMALL_DATA and "min_data_in_leaf" not in params:
            params.setdefault("min_child_samples", 1)
        return (LGBMClassifier if classifier else LGBMRegressor)(**params)
    if family == "decision_tree":
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        return (DecisionTreeClassifier if classifier else DecisionTreeRegressor)(**params)
    if family == "sgd":
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        return (SGDClassifier if classifier else SGDRegressor)(**params)
    from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression

    if classifier:
        if sparse_data:
            params["penalty"] = "l2"
        if params.get("solver") == "liblinear":  # one-vs-rest, as liblinear always was
            from sklearn.multiclass import OneVsRestClassifier

            return OneVsRestClassifier(LogisticRegression(**params))
        return LogisticRegression(**params)
    if sparse_data:
        return Lasso(**params)
    params.pop("random_state")
    return LinearRegression(**params)


class _StackedLinear:
    """``coef_`` / ``intercept_`` of a one-vs-rest linear classifier, one row per class."""

    def __init__(self, ovr) -> None:
        self.coef_ = np.vstack([np.ravel(e.coef_) for e in ovr.estimators_])
        self.intercept_ = np.concatenate([np.ravel(e.intercept_) for e in ovr.estimators_])


def _linear_view(est):
    return _StackedLinear(est) if hasattr(est, "estimators_") else est


def augment_like_interpret_community(X, max_num_of_augmentations: int):
    """Stack column-shuffled copies of ``X`` while it has fewer rows than columns.

    interpret-community's rule: ``min(n_columns // n_rows - 1, max)`` copies, copy ``i``
    being ``X`` with its columns permuted by a generator seeded with ``i``. Narrow data
    (more rows than columns, the usual case) is not augmented.
    """
    n_rows, n_cols = X.shape
    n_copies = min(n_cols // max(n_rows, 1) - 1, int(max_num_of_augmentations))
    if n_copies <= 0:
        return X
    blocks = [X]
    for i in range(n_copies):
        order = np.random.RandomState(i).permutation(n_cols)
        blocks.append(X[:, order])
    return sp.vstack(blocks, format="csr") if sp.issparse(X) else np.vstack(blocks)


def rescale_to_total(values: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Adjust attributions ``(n_rows, n_features)`` so that row ``i`` sums to ``gap[i]``.

    The missing amount is first shared among the features in proportion to their
    absolute attribution (at most their total magnitude), the rest evenly.
    """
    values = np.asarray(values, dtype=np.float64)
    missing = np.asarray(gap, dtype=np.float64) - values.sum(axis=1)
    size = np.abs(values)
    magnitude = size.sum(axis=1)
    direction = np.sign(missing)
    moved = direction * np.minimum(np.abs(missing), magnitude)
    share = size / np.where(magnitude > 0, magnitude, 1.0)[:, None]
    rest = direction * np.maximum(np.abs(missing) - magnitude, 0.0)
    return values + moved[:, None] * share + rest[:, None] / max(values.shape[1], 1)


# --------------------------------------------------------------------------- strategy
class DistillStrategy:
    """interpret-community's surrogate rules for ``ExplainablePipeline(surrogate=...)``.

    Parameters
    ----------
    family : {"lightgbm", "linear", "sgd", "decision_tree"}
    params : dict, default=None
        ``explainable_model_args``: parameters of the surrogate estimator
        (``sparse_data`` picks the sparse linear variants).
    shap_values_output : {"default", "probability", "teacher_probability", "raw"}
    teacher : fitted model, default=None
        The explained model on the surrogate's input rows (for augmentation and
        ``"teacher_probability"``).
    augment_data : bool, default=False
    max_num_of_augmentations : int, default=10
    categorical_features : list, default=None
    use_index : bool, default=False
        Index levels of DataFrame rows are features (``reset_index="reset"``).
    """

    def __init__(self, family: str = "lightgbm", params: dict | None = None, *,
                 shap_values_output: str = "default", teacher=None, augment_data: bool = False,
                 max_num_of_augmentations: int = 10, categorical_features=None,
                 use_index: bool = False) -> None:  # fmt: skip
        self.family = family
        self.params = params
        self.shap_values_output = shap_values_output
        self.teacher = teacher
        self.augment_data = augment_data
        self.max_num_of_augmentations = max_num_of_augmentations
        self.categorical_features = categorical_features
        self.use_index = use_index

    def fit_surrogate(self, Xt, targets, output: str, random_state=None) -> FittedDistill:
        """Fit the surrogate on the engineered rows ``Xt`` and the model's ``targets``.

        Parameters
        ----------
        Xt : DataFrame, ndarray or sparse matrix of shape (n_rows, n_engineered)
        targets : ndarray of shape (n_rows, n_outputs)
            The model's output: positive-class probability (binary), class
            probabilities (multiclass) or prediction (regression).
        output : str
            ``"probability"`` for classifiers, the prediction's name otherwise.
        random_state : ignored
            The surrogate is seeded as interpret-community's (``random_state`` in
            ``params`` overrides it).
        """
        if self.family not in _FAMILIES:
            raise ValueError(f"family must be one of {_FAMILIES}; got {self.family!r}.")
        targets = np.asarray(targets, dtype=np.float64)
        if output != "probability":
            task = "regression"
        else:
            task = "binary" if targets.shape[1] == 1 else "multiclass"
        featurizer = SurrogateFeaturizer(
            self.categorical_features, one_hot=self.family in ("linear", "sgd"),
            use_index=self.use_index,
        ).fit(Xt)  # fmt: skip
        F = featurizer.transform(Xt)
        if self.augment_data and featurizer.is_identity and self.teacher is not None:
            augmented = augment_like_interpret_community(F, self.max_num_of_augmentations)
            if augmented.shape[0] > F.shape[0]:
                F = augmented
                rows = pd.DataFrame(F, columns=Xt.columns) if isinstance(Xt, pd.DataFrame) else F
                targets = _teacher_targets(self.teacher, rows, task)
        params = dict(self.params or {})
        if self.family == "lightgbm" and featurizer.categorical_:
            params.setdefault("categorical_feature", featurizer.categorical_)
        est = _estimator(self.family, task == "multiclass", params, F.shape[0])
        if (task == "multiclass" and self.shap_values_output == "probability"
                and not hasattr(est, "predict_proba")):  # fmt: skip
            raise ValueError(
                f"shap_values_output='probability' needs a surrogate with probabilities; "
                f"{type(est).__name__}{params} has none (use LGBMExplainableModel, or "
                "shap_values_output='teacher_probability')."
            )
        mean = weighted_mean(F) if self.family in ("linear", "sgd") else None
        if task == "multiclass":
            labels = targets.argmax(axis=1)
            F_fit, labels = _with_every_class(F, labels, targets)
            est.fit(F_fit, labels)
        elif task == "binary":
            clipped = np.clip(logit(np.clip(targets[:, 0], 0.0, 1.0)), -_CLIP, _CLIP)
            est.fit(F, clipped)
        else:
            est.fit(F, targets[:, 0])
        _warn_if_poor_fit(est, self.family, task, F, targets)
        return FittedDistill(est, self.family, task, featurizer, mean, self.shap_values_output,
                             self.teacher, targets.shape[1])  # fmt: skip


def _warn_if_poor_fit(est, family: str, task: str, F, targets) -> None:
    """Warn when the surrogate does not even fit its training rows (R^2 or accuracy < 0.5).

    interpret-community fits the same surrogates silently; an SGD surrogate on columns of
    very different scales is the usual case (its explanation is then meaningless).
    """
    if task == "multiclass":
        score = float(np.mean(est.predict(F) == targets.argmax(axis=1)))
        kind = "accuracy"
    else:
        target = targets[:, 0]
        if task == "binary":
            target = np.clip(logit(np.clip(target, 0.0, 1.0)), -_CLIP, _CLIP)
        spread = float(np.var(target))
        if spread == 0.0:
            return
        score = 1.0 - float(np.mean((np.asarray(est.predict(F)) - target) ** 2)) / spread
        kind = "R^2"
    if score < 0.5:
        hint = " (SGD needs columns of comparable scale: standardise them)" if family == "sgd" else ""
        warnings.warn(
            f"The {family} surrogate reproduces the model poorly on its own training rows "
            f"({kind} = {score:.2f}){hint}; its explanation describes the surrogate, not the "
            "model. Check the explanation's fidelity, or try LGBMExplainableModel.",
            UserWarning,
            stacklevel=6,
        )


def _with_every_class(F, labels, proba):
    """Rows and labels with one extra row per class the model never predicts (its best row)."""
    missing = sorted(set(range(proba.shape[1])) - set(np.unique(labels).tolist()))
    if not missing:
        return F, labels
    extra = [int(np.argmax(proba[:, k])) for k in missing]
    stack = sp.vstack if sp.issparse(F) else np.vstack
    return stack([F, F[extra]]), np.concatenate([labels, np.asarray(missing)])


def _teacher_proba(teacher, X) -> np.ndarray:
    return np.asarray(teacher.predict_proba(X), dtype=np.float64)


def _teacher_targets(teacher, X, task: str) -> np.ndarray:
    if task == "regression":
        out = np.asarray(teacher.predict(X), dtype=np.float64)
        return out.reshape(out.shape[0], -1)
    proba = _teacher_proba(teacher, X)
    return proba[:, 1:] if task == "binary" and proba.shape[1] == 2 else proba


class FittedDistill:
    """A fitted interpret-community style surrogate (the core's surrogate protocol).

    ``predict`` and ``attribution`` are in the space interpret-community reports
    (log-odds, classifier margins or prediction, or probabilities with
    ``shap_values_output``); ``predict_teacher_space`` is in the model's.
    """

    def __init__(self, estimator, family: str, task: str, featurizer: SurrogateFeaturizer,
                 mean, shap_values_output: str, teacher, n_outputs: int) -> None:  # fmt: skip
        self.estimator = estimator
        self.family = family
        self.task = task
        self.featurizer = featurizer
        self.mean = mean
        self.shap_values_output = shap_values_output
        self.teacher = teacher
        self.n_outputs = n_outputs

    def _features(self, Xt):
        """The surrogate's input: the featurised rows."""
        return self.featurizer.transform(Xt)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_shap", None)
        return state

    @property
    def _probability(self) -> bool:
        return self.shap_values_output in ("probability", "teacher_probability")

    # ------------------------------------------------------------------ outputs
    def _margin(self, F) -> np.ndarray:
        """The surrogate's own output, (n_outputs, n_rows)."""
        est = self.estimator
        if self.task != "multiclass":
            return np.asarray(est.predict(F), dtype=np.float64)[np.newaxis, :]
        if self.family == "lightgbm":
            return np.asarray(est.predict(F, raw_score=True), dtype=np.float64).T
        if self.family == "decision_tree":
            return np.asarray(est.predict_proba(F), dtype=np.float64).T
        return np.asarray(est.decision_function(F), dtype=np.float64).T

    def _surrogate_proba(self, F) -> np.ndarray:
        if self.task == "binary":
            return expit(self._margin(F))
        if not hasattr(self.estimator, "predict_proba"):  # e.g. SGD's hinge loss: its class
            labels = np.asarray(self.estimator.predict(F)).astype(np.int64)
            return np.eye(self.n_outputs)[labels].T
        return np.asarray(self.estimator.predict_proba(F), dtype=np.float64).T

    def predict(self, Xt) -> np.ndarray:
        """The explained surrogate output, shape (n_outputs, n_rows)."""
        F = self._features(Xt)
        if self.task != "regression" and self.shap_values_output == "probability":
            return self._surrogate_proba(F)
        if self.shap_values_output == "teacher_probability":
            return self._teacher_output(Xt)
        return self._margin(F)

    def predict_teacher_space(self, Xt) -> np.ndarray:
        """The surrogate's output in the model's space (probabilities or prediction)."""
        F = self._features(Xt)
        if self.task == "regression":
            return self._margin(F)
        return self._surrogate_proba(F)

    def predict_labels(self, Xt) -> np.ndarray:
        """interpret-community's ``surrogate_model.predict``: log-odds, class or prediction."""
        F = self._features(Xt)
        if self.task == "multiclass":
            return np.asarray(self.estimator.predict(F))
        return self._margin(F)[0]

    def _teacher_output(self, Xt) -> np.ndarray:
        if self.teacher is None:
            raise ValueError("shap_values_output='teacher_probability' needs the teacher model.")
        if self.task == "regression":
            return np.asarray(self.teacher.predict(Xt), dtype=np.float64).reshape(1, -1)
        proba = _teacher_proba(self.teacher, Xt)
        return (proba[:, 1:] if self.task == "binary" and proba.shape[1] == 2 else proba).T

    def native_importance(self) -> np.ndarray:
        """The surrogate's own global importance, one value per input column.

        interpret-community's surrogates answer ``explain_global()`` without evaluation
        rows this way: LightGBM's and the tree's ``feature_importances_`` (LightGBM
        counts splits), the linear models' coefficients averaged over the classes
        (signed). Featurised columns sum their parts.
        """
        est = self.estimator
        if self.family in ("linear", "sgd"):
            coef = np.asarray(_linear_view(est).coef_, dtype=np.float64)
            values = coef.mean(axis=0) if coef.ndim == 2 else coef
        else:
            values = np.asarray(est.feature_importances_, dtype=np.float64)
        return self.featurizer.to_inputs(values)

    # ------------------------------------------------------------------ attributions
    def _raw_attribution(self, F) -> EngineeredAttribution:
        if self.family in ("linear", "sgd"):
            part = linear_shap(_linear_view(self.estimator), F, self.mean)
            return EngineeredAttribution(part.values, part.expected, "margin")
        part = tree_shap(self.estimator, F, model_output="margin")
        if self.family == "decision_tree" and self.task == "multiclass":
            return EngineeredAttribution(part.values, part.expected, "probability")
        return EngineeredAttribution(part.values, part.expected, "margin")

    def attribution(self, Xt) -> EngineeredAttribution:
        """Attributions per engineered column, additive to :meth:`predict`."""
        F = self._features(Xt)
        part = self._raw_attribution(F)
        values, expected = part.values, np.asarray(part.expected, dtype=np.float64)
        output = part.output
        if self._probability and (self.task != "regression" or
                                  self.shap_values_output == "teacher_probability"):
            if self.task != "regression" and output != "probability":
                expected = expit(expected)
            target = self.predict(Xt)
            values = np.stack([rescale_to_total(values[k], target[k] - expected[k])
                               for k in range(values.shape[0])])  # fmt: skip
            output = "prediction" if self.task == "regression" else "probability"
        elif self.task == "binary":
            output = "log_odds"
        elif self.task == "regression":
            output = "prediction"
        values = self.featurizer.to_inputs(values)
        predictions = values.sum(axis=-1) + expected[:, None]
        return EngineeredAttribution(values, expected, output, predictions=predictions)
