"""ExplainablePipeline: a preprocessor, an estimator, and the explainer that travels with them."""

from __future__ import annotations

import numbers
import sys

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._attribution import resolve_explainer
from ._batch import explain_local_chunked, write_parquet
from ._delegation import DELEGATED, Delegation, is_identity
from ._duck import estimator_has, infer_duck_classes, inherit_tags, is_classifier_like
from ._explanation import GlobalExplanation, LocalExplanation
from ._fast_transform import FAST_TRANSFORM_MAX_ROWS, Fallback, compiled_transform
from ._feature_map import FeatureMap
from ._feature_map_build import build_feature_map
from ._global import explain_global, fit_mimic_surrogate
from ._outputs import resolve_output
from ._prefit import prefit_view
from ._rows import (
    _check_two_classes,
    _is_size,
    _row_indexable,
    as_pandas,
    check_local_request,
    check_raw_rows,
    fit_background,
)
from ._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    fit_context,
    safe_indexing,
)
from .explainers import METHODS
from .explainers._linear import weighted_mean
from .explainers._mimic import SURROGATES
from .explainers._shapley import ESTIMATORS as KERNEL_ESTIMATORS


def _missing_param_defaults(cls, state: dict) -> dict:
    """``{name: default}`` of the ``__init__`` parameters of ``cls`` absent from ``state``."""
    import inspect

    params = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.name != "self" and p.name not in state and p.default is not p.empty
    }


class ExplainablePipeline(Delegation, MetaEstimatorMixin, BaseEstimator):
    """A preprocessor and an estimator that explain themselves in raw input columns.

    ``fit`` fits the preprocessor, the estimator and the cheap part of the
    explainer (a background summary); ``explain_local`` and ``explain_global``
    return attributions per raw input column (or per engineered column with
    ``space="engineered"``). The fitted object pickles with everything it needs
    to explain, without the training data.

    Parameters
    ----------
    preprocessor : transformer, "passthrough" or None, default=None
        Maps raw rows to the estimator's input, e.g. a
        :class:`~sklearn.compose.ColumnTransformer` or an sklearn-pandas
        ``DataFrameMapper``. It is cloned and fitted in :meth:`fit`.
    estimator : estimator object
        The model, fitted on the preprocessor's output. Required. A
        :class:`~sklearn.frozen.FrozenEstimator` (preprocessor or estimator) is
        not refitted: ``fit`` keeps the model it wraps as it is.
    explainer : {"auto", "tree", "linear", "exact", "kernel", "permutation", "mimic", "pfi"}, \
            default="auto"
        How to attribute predictions. ``"tree"`` is TreeSHAP on the
        engineered matrix, ``"linear"`` the closed form
        ``coef * (x - mean)``; both are mapped to raw columns by summing each
        raw column's engineered children. ``"exact"``, ``"kernel"`` and
        ``"permutation"`` compute Shapley values with the raw columns as
        players, through the whole pipeline. ``"auto"`` applies
        :func:`explainable_pipeline.explainers.select_explainer` (and, for a
        multiclass boosted model's probabilities, which TreeSHAP cannot add up
        to, ``"exact"`` or ``"kernel"``); the choice is stored in
        ``explainer_``. ``"mimic"`` explains a global surrogate
        (see ``surrogate``) and reports its fidelity; ``"pfi"`` is permutation
        feature importance of raw columns (global only, needs ``y``).
    model_output : {"auto", "margin", "probability"}, default="auto"
        The output explained for classifiers. ``"margin"`` is the raw score
        of tree ensembles and the ``decision_function`` of other models
        (log-odds for logistic regression and boosted trees);
        ``"probability"`` is ``predict_proba``. ``"auto"`` means margin for
        the tree and linear explainers, probability for the others, and
        margin for a classifier without ``predict_proba`` (a plain ``SVC()``:
        explanations then say so in ``meta["model_output"]``). Regressors
        always explain their prediction. A request the model cannot answer
        fails at :meth:`fit` (so do margins of ``SVC(decision_function_shape="ovo")``
        with more than two classes: one value per pair of classes, not per
        class). Explanations name the unit they got in
        ``output``: ``"probability"``, ``"log_odds"``, ``"margin"`` or
        ``"prediction"`` (see "What it is" in ``README.md``).
    background : "auto", int or array-like, default="auto"
        Background data the explainers compare against. An int is the size
        of the summary of the training data kept at fit: a weighted k-means
        summary (all-numeric data without NaN) or a random sample of rows
        (mixed data) for the model-agnostic explainers, a random sample for
        the others. ``"auto"`` is 20 rows for the model-agnostic explainers
        (each background row costs model calls) and 100 for the others.
        Rows (array or DataFrame with the raw columns) are used as they are.
    background_weights : array-like of shape (n_background,), default=None
        One weight per explicit background row (as ``shap.kmeans`` gives).
    feature_groups : dict of str to list of str, default=None
        Raw columns treated as one player, e.g. ``{"address": ["city", "zip"]}``.
        Groups must be non-empty, must not overlap, and must not be named like a
        raw column outside them; :meth:`fit` checks this.
    n_samples : int or "auto", default="auto"
        Budget of coalitions (kernel) or permutations (permutation) per row.
        ``explainer="kernel"`` needs at least two coalitions per player (or every
        coalition when there are fewer); smaller budgets are refused.
    kernel_estimator : {"auto", "stratified", "kernelshap", "leverage", "regression-msr"}, \
            default="auto"
        The Shapley estimator of ``explainer="kernel"`` (also when ``"auto"``
        resolves to it): ``"stratified"`` (what ``"auto"`` means) is KernelSHAP's
        regression on stratified paired designs with Neyman allocation,
        interaction control variates and, for probabilities, a logistic proxy game
        as a control variate; ``"kernelshap"`` the plain regression;
        ``"leverage"`` Leverage SHAP (Musco & Witter 2025); ``"regression-msr"``
        regression-adjusted maximum sample reuse with a tree proxy (Witter, Liu &
        Musco 2025). See ``docs/explainers.md``. The estimator that ran is in
        ``meta["estimator"]`` of every explanation, with per-value standard errors
        in ``meta["standard_errors"]``. Ignored by the other explainers.
    n_jobs : int, default=None
        Parallel jobs (joblib): over row blocks inside the model-agnostic
        explainers, over chunks of ``batch_size`` rows for the others.
    batch_size : int or "auto", default="auto"
        Rows explained at a time by :meth:`explain_local` (and
        :meth:`explain_local_to_parquet`): bounds the peak memory of the work
        on top of the result. ``"auto"`` sizes chunks to about 64 MiB of
        working arrays. For ``"exact"``, ``"kernel"`` and ``"permutation"``
        it is rounded up to a multiple of 128 rows, the blocks the sampling
        explainers converge on, so chunked and unchunked results are equal.
    random_state : int, RandomState instance or None, default=None
        Seeds the background summary and the sampling explainers.
    progress : bool or "auto", default="auto"
        Show a tqdm progress bar on long explanations; "auto" shows it only
        when standard error is a terminal.
    surrogate : {"lightgbm", "linear", "sgd", "decision_tree"} or estimator, default="lightgbm"
        The global surrogate of ``explainer="mimic"``: a regressor fitted in
        :meth:`fit` on the engineered training rows to reproduce the model's
        output (class probabilities for classifiers, the prediction for
        regressors), then explained exactly (TreeSHAP for trees, closed form for
        linear models). An estimator instance must be a tree or linear regressor;
        it is cloned. An object with ``fit_surrogate`` is a surrogate strategy that
        fits and explains its own surrogate (``compat.MimicExplainer`` passes one with
        interpret-community's rules). Ignored by the other explainers.
    augment_data : bool, default=False
        With ``explainer="mimic"``, oversample the training rows (each column
        drawn from its own values) while there are fewer than 100 rows per raw
        column.
    max_num_of_augmentations : int, default=10
        At most this many copies of the training rows are added by ``augment_data``.
    scoring : str, callable or None, default=None
        Scorer of ``explainer="pfi"`` (see :func:`sklearn.metrics.get_scorer`);
        ``None`` uses :meth:`score`.
    n_repeats : int, default=5
        Shuffles per raw column for ``explainer="pfi"``.
    tree_players : {"auto", "raw", "sum"}, default="auto"
        Players of ``explainer="tree"``. ``"raw"``: each raw column (or feature
        group) is one player, by TreeSHAP on the trees with every split
        labelled by its raw column; these are the Shapley values of the raw
        columns, equal to ``explainer="exact"`` with the same background rows.
        ``"sum"``: each engineered column is a player and a raw column gets the
        sum of its children's values (interpret-community's convention).
        ``"auto"``: ``"raw"``. Given background rows
        (``background=<rows>``) make the tree explainer interventional; a
        background size keeps path-dependent TreeSHAP for the margin.

    Attributes
    ----------
    preprocessor_ : transformer or None
        The fitted clone of ``preprocessor``.
    estimator_ : estimator
        The fitted clone of ``estimator``.
    explainer_ : str
        The explainer method in use (``explainer`` with ``"auto"`` resolved).
    feature_map_ : FeatureMap
        The engineered -> raw column map of ``preprocessor_``.
    background_ : DataFrame or ndarray
        Raw background rows kept for explaining.
    background_weights_ : ndarray of shape (n_background,)
        Their weights, summing to one.
    surrogate_ : Surrogate
        The fitted global surrogate (``explainer="mimic"`` only).
    feature_dtypes_ : dict or None
        Raw column name -> dtype seen at fit (DataFrame input only).
    classes_ : ndarray
        Class labels (classifiers only).
    n_features_in_ : int
        Number of raw columns seen at fit.
    feature_names_in_ : ndarray
        Raw column names seen at fit (DataFrame input only).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from explainable_pipeline import ExplainablePipeline
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> ep = ExplainablePipeline(StandardScaler(), Ridge()).fit(X, y)
    >>> local = ep.explain_local(X.iloc[:3])
    >>> local.local_importance_values.shape
    (3, 10)
    >>> bool(abs(local.local_importance_values.sum(1) + local.expected_values
    ...          - ep.predict(X.iloc[:3])).max() < 1e-8)
    True
    >>> ep.explain_global(X).get_ranked_global_names(top_k=3)
    ['s1', 's5', 'bmi']
    """

    _parameter_constraints: dict = {
        "preprocessor": [HasMethods(["fit", "transform"]), StrOptions({"passthrough"}), None],
        "estimator": [HasMethods(["fit"]), None],
        "explainer": [StrOptions(set(METHODS))],
        "model_output": [StrOptions({"auto", "margin", "probability"})],
        "background": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            "array-like",
        ],
        "background_weights": ["array-like", None],
        "feature_groups": [dict, None],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "kernel_estimator": [StrOptions(set(KERNEL_ESTIMATORS))],
        "n_jobs": [numbers.Integral, None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "random_state": ["random_state"],
        "progress": ["boolean", StrOptions({"auto"})],
        "surrogate": [
            StrOptions(set(SURROGATES)),
            HasMethods(["fit", "predict"]),
            HasMethods(["fit_surrogate"]),
        ],
        "augment_data": ["boolean"],
        "max_num_of_augmentations": [Interval(numbers.Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
        "n_repeats": [Interval(numbers.Integral, 1, None, closed="left")],
        "tree_players": [StrOptions({"auto", "raw", "sum"})],
    }

    def __init__(
        self,
        preprocessor=None,
        estimator=None,
        explainer="auto",
        *,
        model_output="auto",
        background="auto",
        background_weights=None,
        feature_groups=None,
        n_samples="auto",
        n_jobs=None,
        batch_size="auto",
        random_state=None,
        progress="auto",
        surrogate="lightgbm",
        augment_data=False,
        max_num_of_augmentations=10,
        scoring=None,
        n_repeats=5,
        tree_players="auto",
        kernel_estimator="auto",
    ):
        self.preprocessor = preprocessor
        self.estimator = estimator
        self.explainer = explainer
        self.model_output = model_output
        self.background = background
        self.background_weights = background_weights
        self.feature_groups = feature_groups
        self.n_samples = n_samples
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.random_state = random_state
        self.progress = progress
        self.surrogate = surrogate
        self.augment_data = augment_data
        self.max_num_of_augmentations = max_num_of_augmentations
        self.scoring = scoring
        self.n_repeats = n_repeats
        self.tree_players = tree_players
        self.kernel_estimator = kernel_estimator

    def set_params(self, **params):
        """Set the parameters of this pipeline and of its preprocessor and estimator.

        As scikit-learn's ``set_params``; values set after ``fit`` are validated when an
        explanation next uses them (an invalid one raises there, naming the parameter).

        Returns
        -------
        self : ExplainablePipeline
        """
        # flagged first: sklearn sets the keys one by one, and a later bad key raises after
        # earlier ones were set
        self._params_changed = True  # checked once by the next explanation (_rows)
        return super().set_params(**params)

    # ------------------------------------------------------------------ fit
    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
        """Fit the preprocessor, the estimator and the explainer's background.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Raw training rows.
        y : array-like of shape (n_samples,), default=None
            Target.
        **params : dict
            With metadata routing enabled, routed to the preprocessor's and
            estimator's ``fit``; otherwise passed to the estimator's ``fit``
            (e.g. ``sample_weight``).

        Returns
        -------
        self : ExplainablePipeline
        """
        if self.estimator is None:
            raise ValueError(
                "ExplainablePipeline needs an estimator, e.g. "
                "ExplainablePipeline(preprocessor, LogisticRegression())."
            )
        X = as_pandas(X)
        self._check_X(X, reset=True, caller="fit")
        self.__dict__.pop("_cache", None)  # built from the previous fit's objects
        if y is not None and _num_samples(y) != _num_samples(X):
            raise ValueError(
                f"y has {_num_samples(y)} entries but X has {_num_samples(X)} rows; "
                "they must have the same length."
            )
        prefit = isinstance(self.estimator, FrozenEstimator)  # nothing is trained on y
        if y is not None and not prefit and is_classifier_like(self.estimator):
            _check_two_classes(y)
        pre_params, est_params = self._split_params("fit", params)
        if is_identity(self.preprocessor):
            self.preprocessor_ = None
            Xt = X
        else:
            self.preprocessor_ = clone(self.preprocessor)
            if isinstance(self.preprocessor_, FrozenEstimator):  # prefit: used as it is
                self.preprocessor_ = prefit_view(self.preprocessor_.estimator)
                Xt = self.preprocessor_.transform(X)
            else:
                Xt = self.preprocessor_.fit_transform(X, y, **pre_params)
        if isinstance(self.estimator, FrozenEstimator):  # prefit, possibly duck-typed: as it is
            self.estimator_ = prefit_view(self.estimator.estimator)
        else:
            self.estimator_ = clone(self.estimator)
            self.estimator_.fit(Xt, y, **est_params)
        infer_duck_classes(self, Xt)

        self.feature_dtypes_ = (
            {str(c): str(t) for c, t in X.dtypes.items()} if isinstance(X, pd.DataFrame) else None
        )
        raw_names = self._raw_feature_names()
        X_rows = _row_indexable(X)
        self.feature_map_ = build_feature_map(
            self.preprocessor_,
            raw_names,
            X_sample=safe_indexing(X_rows, np.arange(min(20, _num_samples(X)))),
        )
        resolve_explainer(self, raw_names)  # sets explainer_; bad requests fail here
        self._fit_background(X_rows)
        if self.explainer_ == "mimic":
            fit_mimic_surrogate(self, X_rows, Xt)
        if self.explainer_ == "linear":
            if _is_size(self.background):
                self.engineered_mean_ = weighted_mean(Xt)
            else:
                self.engineered_mean_ = weighted_mean(
                    self._transform(self.background_, fast=False), self.background_weights_
                )
        return self

    def _fit_background(self, X):
        """Keep a small summary of the training rows (or the explicit rows given)."""
        self.background_, self.background_weights_ = fit_background(self, X)

    # ----------------------------------------------------------- validation
    def _check_X(self, X, *, reset: bool, caller: str):
        """Validate raw rows: names or count of columns, emptiness, numeric columns."""
        check_raw_rows(self, X, reset=reset, caller=caller)

    def _raw_feature_names(self) -> np.ndarray:
        if hasattr(self, "feature_names_in_"):
            return np.asarray(self.feature_names_in_, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def _n_players(self, raw_names) -> int:
        if self.feature_groups:
            grouped = {c for cols in self.feature_groups.values() for c in cols}
            return len(self.feature_groups) + sum(1 for c in raw_names if c not in grouped)
        return len(raw_names)

    # ------------------------------------------------------------ delegation
    def _transform(self, X, *, fast: bool = True):
        """``preprocessor_.transform(X)``; a few rows take the compiled fast path when exact.

        ``fast=False`` inside ``fit``: compiling (a few probe transforms) pays off when
        serving, not in a grid search.
        """
        if self.preprocessor_ is None:
            return X
        if fast and _num_samples(X) <= FAST_TRANSFORM_MAX_ROWS:
            fast = compiled_transform(self.preprocessor_, self._background_frame)
            if fast is not None:
                try:
                    return fast(X)
                except Fallback:
                    pass
        return self.preprocessor_.transform(X)

    def _background_frame(self):
        rows = self.background_
        if not isinstance(rows, pd.DataFrame) and hasattr(self, "feature_names_in_"):
            rows = pd.DataFrame(rows, columns=list(self.feature_names_in_))
        return rows

    @available_if(estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """Output names of the estimator's ``transform``.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Ignored unless it matches the engineered names.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out(self.feature_map_.engineered_features)

    @property
    def classes_(self):
        """Class labels of the fitted estimator (``range(k)`` for a duck-typed one without)."""
        if not hasattr(self.estimator_, "classes_") and hasattr(self, "duck_classes_"):
            return self.duck_classes_
        return self.estimator_.classes_

    # ------------------------------------------------------------ sklearn API
    def __sklearn_tags__(self):
        preprocessor = None if is_identity(self.preprocessor) else self.preprocessor
        return inherit_tags(super().__sklearn_tags__(), preprocessor, self.estimator)

    def get_metadata_routing(self):
        """Metadata routing of this object (see scikit-learn's user guide).

        Returns
        -------
        MetadataRouter
        """
        router = MetadataRouter(owner=self)
        if not is_identity(self.preprocessor):
            mapping = (
                MethodMapping()
                .add(caller="fit", callee="fit_transform")
                .add(caller="fit", callee="fit")
            )
            for caller in (*DELEGATED, "transform"):
                mapping.add(caller=caller, callee="transform")
            router.add(preprocessor=self.preprocessor, method_mapping=mapping)
        if self.estimator is not None:
            mapping = MethodMapping().add(caller="fit", callee="fit")
            for method in (*DELEGATED, "transform"):
                mapping.add(caller=method, callee=method)
            router.add(estimator=self.estimator, method_mapping=mapping)
        return router

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_cache", None)  # rebuilt on demand (e.g. a parsed shap.TreeExplainer)
        return state

    def __setstate__(self, state):
        # a pipeline saved before a parameter existed gets its default (get_params, repr,
        # clone need every parameter); the parameters it had are kept as they were
        state = {**_missing_param_defaults(type(self), state), **state}
        super().__setstate__(state)

    # ------------------------------------------------------------ explaining
    def _cached(self, key, build):
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def _resolved_output(self) -> str:
        """ "margin", "probability" or "prediction" for the fitted explainer."""
        return resolve_output(self)

    def explain_local(self, X, *, space: str = "raw") -> LocalExplanation:
        """Per-row attributions of the model output to raw (or engineered) columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Raw rows to explain.
        space : {"raw", "engineered"}, default="raw"
            Attribute raw input columns (each the sum of its engineered
            children) or the preprocessor's output columns.

        Returns
        -------
        LocalExplanation
            ``values`` of shape (n_rows, n_features) for regression, or
            (n_classes, n_rows, n_features) for classification, with
            ``values.sum(-1) + expected_values`` equal to the explained output.
        """
        X = as_pandas(X)
        self._check_local_request(X, space, caller="explain_local")
        return explain_local_chunked(self, X, space)

    def _check_local_request(self, X, space: str, *, caller: str) -> None:
        """Validate a request for local attributions: fitted, ``space``, method, rows."""
        check_local_request(self, X, space, caller=caller)

    def explain_interactions(self, X, *, n_samples="auto", random_state=None):
        """Shapley interaction values between raw columns (or feature groups), per row.

        ``explainer="tree"``: exact, from the raw-labelled trees. Other explainers: the raw
        columns are players of the raw-space game; exact (every coalition) up to 12
        players, estimated from ``n_samples`` random permutations beyond. Main effects (the
        diagonals) plus interactions sum to the attributions. See ``_interactions.py``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Raw rows to explain.
        n_samples : int or "auto", default="auto"
            Permutations per row when there are more than 12 players (``"auto"``: 8 per
            player, at least 128).
        random_state : int, RandomState instance or None, default=None
            Seeds those permutations.

        Returns
        -------
        InteractionExplanation
            ``values`` of shape (n_rows, n_players, n_players), or (n_classes, n_rows,
            n_players, n_players) for classification.
        """
        from ._interactions import explain_interactions

        check_is_fitted(self)
        return explain_interactions(self, as_pandas(X), n_samples=n_samples,
                                    random_state=random_state)

    def explain_local_to_parquet(self, X, path, *, space: str = "raw", **kwargs):
        """Explain ``X`` chunk by chunk and write the attributions to a Parquet file.

        Only one chunk of ``batch_size`` rows is held in memory at a time, so
        millions of rows can be explained on a small machine. The values equal
        those of :meth:`explain_local`.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Raw rows to explain.
        path : str or path-like
            The Parquet file to write (overwritten).
        space : {"raw", "engineered"}, default="raw"
        **kwargs : dict
            Passed to :class:`pyarrow.parquet.ParquetWriter` (e.g. ``compression``).

        Returns
        -------
        path : str or path-like
            ``path``. The file has one float64 column per feature (``"<feature>"``
            for a single output, ``"<feature>__<class>"`` per class) plus
            ``"expected_value"`` (``"expected_value__<class>"``), indexed like ``X``
            (``pandas.read_parquet`` restores the index).
        """
        X = as_pandas(X)
        self._check_local_request(X, space, caller="explain_local_to_parquet")
        return write_parquet(self, X, path, space=space, **kwargs)

    def predict_and_explain(self, X, top_k: int | None = None) -> dict:
        """Predictions and raw local importances for the same rows, JSON-ready.

        The scoring-explainer call of a deployed model (see ``docs/deploy.md``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Raw rows to score.
        top_k : int, default=None
            If given, return per row (and class) only the ``top_k`` highest
            attributions, ranked by signed value as
            :meth:`LocalExplanation.get_ranked_local_names` does, instead of
            the full ``local_importance_values``.

        Returns
        -------
        dict
            Plain JSON types: ``n_rows``, ``predictions``, ``probabilities``
            ((n_rows, n_classes), classifiers with ``predict_proba``, else
            None), ``classes``, ``method``, ``output`` (the explained output),
            ``space``, ``features``, ``expected_values`` (float, or one per
            class), ``top_k``, and either ``local_importance_values``
            ((n_rows, n_features), or (n_classes, n_rows, n_features) class
            major) or ``ranked_local_names`` and ``ranked_local_values``.
            Non-finite predictions and probabilities are None.
        """
        from ._scoring import predict_and_explain

        check_is_fitted(self)
        return predict_and_explain(self, as_pandas(X), top_k=top_k)

    def explain_global(
        self, X, y=None, *, space: str = "raw", max_rows=None, random_state=None
    ) -> GlobalExplanation:
        """Importance of each raw (or engineered) column over the rows of ``X``.

        Global importance is the mean absolute local attribution per column,
        per class and averaged over classes. With ``explainer="mimic"`` the
        surrogate's fidelity on ``X`` is in ``fidelity``. With ``explainer="pfi"``
        it is the mean decrease of the score when the raw column is shuffled
        (``n_repeats`` times, through the whole pipeline), with ``std``; ``y``
        is then required.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_features)
            Raw rows to explain.
        y : array-like of shape (n_rows,), default=None
            True labels (used by permutation feature importance).
        space : {"raw", "engineered"}, default="raw"
        max_rows : int, default=None
            Explain a uniform random sample of at most this many rows instead of
            all of ``X`` (a large ``X`` then costs no full local pass).
            ``intervals`` is a sampling interval, so it is set only when rows
            were sampled (``len(X) > max_rows``): a 95% confidence interval of
            each column's importance (normal approximation over the sampled
            rows, with the finite-population correction). When every row is
            explained (``max_rows=None`` or ``max_rows >= len(X)``) it is None.
            ``explainable_pipeline.distributed.explain_global`` follows the
            same rule.
        random_state : int, RandomState instance or None, default=None
            Seeds the row sample.

        Returns
        -------
        GlobalExplanation
        """
        return explain_global(self, as_pandas(X), y, space, max_rows, random_state)

    def _is_classifier(self) -> bool:
        return is_classifier_like(self.estimator_)

    # -------------------------------------------------------------- helpers
    def _class_list(self):
        if not is_classifier_like(self.estimator_):
            return None
        classes = getattr(self.estimator_, "classes_", getattr(self, "duck_classes_", None))
        return None if classes is None else list(classes)

    def _show_progress(self, n_rows: int) -> bool:
        if self.progress == "auto":
            return n_rows >= 200 and sys.stderr.isatty()
        return bool(self.progress)


__all__ = ["ExplainablePipeline", "FeatureMap"]
