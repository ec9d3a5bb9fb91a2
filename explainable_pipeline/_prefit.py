"""Prefit preprocessors used as they are, whatever scikit-learn's fitted checks say of them.

``Pipeline.transform`` first checks that the pipeline is fitted, by checking its *last*
step: a step with no fitted attribute (a stateless transformer such as an identity or a
column selector written without ``fit`` state) is "not fitted" and the whole pipeline
raises ``NotFittedError``; a step that is not a ``BaseEstimator`` (a class inheriting only
``TransformerMixin``) has no tags and the check raises ``AttributeError``. Each step's own
``transform`` works, and interpret-community applies such steps one by one, so a model
prepared that way is explained there.

:func:`prefit_view` returns the same preprocessing, with such pipelines rebuilt around the
same fitted step objects and their last step wrapped in :class:`PrefitStep`, which declares
itself fitted. Steps that check their own state (a scaler that was never fitted) still
raise when they transform. Nothing of the user's objects is modified or refitted; a
preprocessor that passes scikit-learn's checks is returned unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._duck import estimator_tags

__all__ = ["PrefitStep", "prefit_view"]


class PrefitStep(FrozenEstimator):
    """A fitted (or stateless, or duck-typed) step used as it is: fitted by declaration.

    Parameters
    ----------
    estimator : object
        The step; every method and attribute is delegated to it.
    """

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        tags = estimator_tags(self.estimator)
        tags.requires_fit = False
        return tags

    def fit(self, X, y=None, *args, **kwargs):
        """No-op: the step is used as it is."""
        return self


def _is_estimator_like(step: Any) -> bool:
    return step is not None and not isinstance(step, str)


def _sklearn_refuses(pipe: Pipeline) -> bool:
    """True when ``pipe.transform`` would fail scikit-learn's fitted check, not a step."""
    try:
        check_is_fitted(pipe)
    except (NotFittedError, AttributeError, TypeError):
        return True
    return False


def _view_pipeline(pipe: Pipeline) -> Pipeline:
    steps = [(name, prefit_view(step)) for name, step in pipe.steps]
    changed = any(new is not old for (_, new), (_, old) in zip(steps, pipe.steps))
    if _sklearn_refuses(pipe):
        last = max(i for i, (_, s) in enumerate(steps) if _is_estimator_like(s))
        steps[last] = (steps[last][0], PrefitStep(steps[last][1]))
        changed = True
    if not changed:
        return pipe
    return Pipeline(steps, memory=pipe.memory, verbose=pipe.verbose)


def _view_entries(entries: list) -> tuple[list, bool]:
    out, changed = [], False
    for name, trans, cols in entries:
        new = prefit_view(trans) if _is_estimator_like(trans) else trans
        changed = changed or new is not trans
        out.append((name, new, cols))
    return out, changed


def _view_column_transformer(ct: ColumnTransformer) -> ColumnTransformer:
    if not hasattr(ct, "transformers_"):
        return ct
    fitted, changed = _view_entries(ct.transformers_)
    if not changed:
        return ct
    view = copy.copy(ct)  # a shallow copy: the same fitted children, other entries
    view.transformers_ = fitted
    return view


def prefit_view(est: Any) -> Any:
    """``est`` with the pipelines that scikit-learn's fitted check refuses made usable.

    Parameters
    ----------
    est : fitted transformer, Pipeline, ColumnTransformer or FrozenEstimator

    Returns
    -------
    object
        ``est`` itself when nothing needs changing, else a view sharing its fitted steps.
    """
    if isinstance(est, FrozenEstimator):
        inner = prefit_view(est.estimator)
        return est if inner is est.estimator else type(est)(inner)
    if isinstance(est, Pipeline):
        return _view_pipeline(est)
    if isinstance(est, ColumnTransformer):
        return _view_column_transformer(est)
    return est
