"""The methods an ExplainablePipeline delegates to its fitted estimator on preprocessed rows
(``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``, ``transform``,
``score``), each available when the estimator has it, with metadata routing."""

from __future__ import annotations

from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._duck import estimator_has
from ._rows import as_pandas
from ._sklearn_compat import routing_enabled

DELEGATED = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score")


def is_identity(preprocessor) -> bool:
    """``None`` or ``"passthrough"``: the pipeline feeds raw rows to the estimator."""
    return preprocessor is None or (isinstance(preprocessor, str) and preprocessor == "passthrough")


class Delegation:
    """Mixin of :class:`~explainable_pipeline.ExplainablePipeline`: the estimator's methods on
    ``preprocessor_``'s output (``preprocessor_``, ``estimator_``, ``_check_X`` and
    ``_transform`` come from the pipeline)."""

    def _split_params(self, method: str, params: dict):
        """Route ``params`` to (preprocessor, estimator) for ``method``."""
        if routing_enabled():
            routed = process_routing(self, method, **params)
            pre = {}
            if not is_identity(self.preprocessor):
                pre = (
                    routed.preprocessor.fit_transform
                    if method == "fit"
                    else routed.preprocessor.transform
                )
            return pre, getattr(routed.estimator, method)
        return {}, params

    def _delegate(self, method: str, X, **params):
        check_is_fitted(self)
        X = as_pandas(X)
        self._check_X(X, reset=False, caller=method)
        pre_params, est_params = self._split_params(method, params)
        if pre_params:
            Xt = self.preprocessor_.transform(X, **pre_params)
        else:
            Xt = self._transform(X)
        return getattr(self.estimator_, method)(Xt, **est_params)

    @available_if(estimator_has("predict"))
    def predict(self, X, **params):
        """Predict with the fitted estimator on preprocessed ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Raw rows.
        **params : dict
            Routed (metadata routing) or passed to the estimator's ``predict``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._delegate("predict", X, **params)

    @available_if(estimator_has("predict_proba"))
    def predict_proba(self, X, **params):
        """Class probabilities of the fitted estimator on preprocessed ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        **params : dict

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_proba", X, **params)

    @available_if(estimator_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """Log class probabilities of the fitted estimator on preprocessed ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        **params : dict

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return self._delegate("predict_log_proba", X, **params)

    @available_if(estimator_has("decision_function"))
    def decision_function(self, X, **params):
        """Decision function of the fitted estimator on preprocessed ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        **params : dict

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._delegate("decision_function", X, **params)

    @available_if(estimator_has("transform"))
    def transform(self, X, **params):
        """Apply the preprocessor, then the estimator's ``transform``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        **params : dict

        Returns
        -------
        array-like
        """
        return self._delegate("transform", X, **params)

    @available_if(estimator_has("score"))
    def score(self, X, y, **params):
        """Score of the fitted estimator on preprocessed ``X`` and ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        **params : dict
            E.g. ``sample_weight``.

        Returns
        -------
        float
        """
        check_is_fitted(self)
        X = as_pandas(X)
        self._check_X(X, reset=False, caller="score")
        pre_params, est_params = self._split_params("score", params)
        Xt = X if self.preprocessor_ is None else self.preprocessor_.transform(X, **pre_params)
        return self.estimator_.score(Xt, y, **est_params)
