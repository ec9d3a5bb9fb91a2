"""Shapley interaction values between raw columns: :class:`InteractionExplanation`.

Layout and convention are shap's (``TreeExplainer.shap_interaction_values``): for each row a
symmetric (players x players) matrix whose off-diagonal entry ``[i, j]`` is half the Shapley
interaction index of ``i`` and ``j`` and whose diagonal ``[i, i]`` is ``i``'s main effect,
so that each row of the matrix sums to ``i``'s Shapley value (its attribution) and the whole
matrix plus the expected value to the explained model output.

The ranking helpers are :class:`~explainable_pipeline._explanation.LocalExplanation`'s (the
same ``_Explanation`` base): global importance is the mean |attribution| of each feature;
:meth:`InteractionExplanation.get_ranked_interactions` ranks the pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._codec import _dec_data, _enc_data, _float_array
from ._explanation import _COMMON_FIELDS, LocalExplanation, _Explanation
from ._explanation_checks import _check_shape, _labels, _n_rows_of
from ._ranking import _check_top_k, rank_order

__all__ = ["InteractionExplanation"]


class InteractionExplanation(_Explanation):
    """Per-row Shapley interaction values between features (raw columns or groups).

    Parameters
    ----------
    values : array-like
        (n_rows, n_features, n_features) for a single output; (n_classes, n_rows,
        n_features, n_features) per class (class-major, like
        :class:`~explainable_pipeline.LocalExplanation`). Symmetric in the last two axes.
    expected_values : float or array-like of shape (n_classes,)
    features : list of str or int
    classes : list, optional
    method, space, output : str
        As in :class:`~explainable_pipeline.LocalExplanation`.
    data : DataFrame or ndarray, optional
        The rows explained.
    meta : dict, optional

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[[1.0, 0.25], [0.25, -0.5]]])
    >>> exp = InteractionExplanation(v, 2.0, ["a", "b"], method="tree", space="raw",
    ...                              output="prediction")
    >>> exp.attributions.tolist(), exp.main_effects.tolist()
    ([[1.25, -0.25]], [[1.0, -0.5]])
    >>> exp.get_ranked_interactions()
    [('a', 'b', 0.5)]
    """

    _KIND = "interaction"
    _FIELDS = {**_COMMON_FIELDS, "data": (_enc_data, _dec_data)}

    def __init__(self, values: Any, expected_values: Any, features: Any, *, classes: Any = None,
                 method: str, space: str, output: str, data: Any = None,
                 meta: dict | None = None) -> None:  # fmt: skip
        self.values = _float_array(values, "values", finite=True)
        v = self.values
        if v.ndim not in (3, 4) or 0 in v.shape or v.shape[-1] != v.shape[-2]:
            raise ValueError(
                "values must be a non-empty (n_rows, n_features, n_features) or (n_classes, "
                f"n_rows, n_features, n_features) array; got shape {v.shape}."
            )
        self._init_common(features, v.shape[-1], method, space, output, meta)
        self._classes = None
        if classes is not None:
            self._classes = _labels(classes, "classes", (str, int, float, bool))
            if v.ndim != 4 or len(self._classes) != v.shape[0]:
                raise ValueError(
                    f"classes has {len(self._classes)} labels, so values must have shape "
                    f"({len(self._classes)}, n_rows, n_features, n_features); got {v.shape}."
                )
        ev = _float_array(expected_values, "expected_values", finite=True)
        if v.ndim == 3:
            if ev.size != 1:
                raise ValueError(f"expected_values must be a float for 3-D values; got {ev.shape}.")
            self.expected_values: float | np.ndarray = float(ev.reshape(-1)[0])
        else:
            _check_shape(ev, v.shape[:1], "expected_values (n_classes,)")
            self.expected_values = ev
        if data is not None and not isinstance(data, pd.DataFrame):
            data = np.asarray(data)
        if data is not None and _n_rows_of(data) != self.n_rows:
            raise ValueError(f"data has {_n_rows_of(data)} rows but values explain {self.n_rows}.")
        self.data = data

    # ----------------------------------------------------------------- shape
    @property
    def n_rows(self) -> int:
        """Number of explained rows."""
        return self.values.shape[-3]

    @property
    def n_classes(self) -> int | None:
        """Number of outputs on the first axis of 4-D values, or None."""
        return self.values.shape[0] if self.values.ndim == 4 else None

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        cls = "" if self.n_classes is None else f", classes={self._class_labels(self.n_classes)!r}"
        return (
            f"InteractionExplanation(method={self.method!r}, space={self.space!r}, "
            f"output={self.output!r}, n_rows={self.n_rows}, n_features={self.num_features}{cls})"
        )

    # ----------------------------------------------------------------- parts
    @property
    def attributions(self) -> np.ndarray:
        """Shapley values: each row of a matrix summed, shape values.shape[:-1]."""
        return self.values.sum(axis=-1)

    @property
    def main_effects(self) -> np.ndarray:
        """The diagonals, shape values.shape[:-1]."""
        return np.diagonal(self.values, axis1=-2, axis2=-1).copy()

    @property
    def interaction_importance(self) -> np.ndarray:
        """Mean absolute value over rows (and classes), shape (n_features, n_features)."""
        mean = np.abs(self.values).mean(axis=-3)
        return mean.mean(axis=0) if mean.ndim == 3 else mean

    def to_local(self) -> LocalExplanation:
        """The attributions as a :class:`LocalExplanation` (same features, classes, data)."""
        return LocalExplanation(
            self.attributions, self.expected_values, self.features, classes=self.classes,
            method=self.method, space=self.space, output=self.output, data=self.data,
            meta=self.meta,
        )  # fmt: skip

    def _global_values(self) -> np.ndarray:
        return self.to_local().global_importance_values

    def _per_class(self) -> np.ndarray | None:
        return self.to_local().per_class_values

    def check_additivity(self, predictions: Any) -> float:
        """Largest ``abs(values.sum((-2, -1)) + expected_values - predictions)`` (local accuracy)."""
        return self.to_local().check_additivity(predictions)

    def get_ranked_interactions(self, top_k: int | None = None) -> list[tuple]:
        """Pairs ``(feature_a, feature_b, importance)`` by mean absolute interaction, highest first.

        The importance of a pair is the mean over rows (and classes) of
        ``|values[a, b]| + |values[b, a]|`` (the whole Shapley interaction index).
        """
        k = _check_top_k(top_k)
        imp = self.interaction_importance
        a, b = np.triu_indices(self.num_features, 1)
        pair = imp[a, b] + imp[b, a]
        order = rank_order(pair)[:k]
        return [(self._features[a[i]], self._features[b[i]], float(pair[i])) for i in order]

    # ----------------------------------------------------------------- conversions
    def to_dataframe(self) -> pd.DataFrame:
        """One row per explained row; columns (feature, other), and class first per class."""
        index = (
            self.data.index if isinstance(self.data, pd.DataFrame) else pd.RangeIndex(self.n_rows)
        )
        P = self.num_features
        if self.n_classes is None:
            columns = pd.MultiIndex.from_product([self.features, self.features],
                                                 names=["feature", "other"])  # fmt: skip
            return pd.DataFrame(self.values.reshape(self.n_rows, P * P), index=index,
                                columns=columns)  # fmt: skip
        labels = self._class_labels(self.n_classes)
        columns = pd.MultiIndex.from_product([labels, self.features, self.features],
                                             names=["class", "feature", "other"])  # fmt: skip
        flat = self.values.transpose(1, 0, 2, 3).reshape(self.n_rows, -1)
        return pd.DataFrame(flat, index=index, columns=columns)

    def to_shap(self, class_index: int | None = None) -> Any:
        """A ``shap.Explanation`` with (n_rows, n_features, n_features) values.

        shap's interaction plots (``shap.summary_plot(exp.values, data)``,
        ``shap.dependence_plot((a, b), exp.values, data)``) read the same layout. For
        several classes, ``class_index`` picks one (default: 1 for two classes).
        """
        import shap

        values, expected = self.values, self.expected_values
        if self.n_classes is not None:
            if class_index is None:
                if self.n_classes != 2:
                    raise ValueError(
                        f"This explanation has {self.n_classes} classes; pass class_index."
                    )
                class_index = 1
            if not -self.n_classes <= class_index < self.n_classes:
                raise IndexError(
                    f"class_index must be in [0, {self.n_classes}); got {class_index}."
                )
            values, expected = values[class_index], float(expected[class_index])
        elif class_index is not None:
            raise ValueError("class_index must be None for a single-output explanation.")
        from ._explanation_shap import shap_data

        return shap.Explanation(
            np.array(values), np.full(self.n_rows, expected), data=shap_data(self.to_local()),
            feature_names=[str(f) for f in self._features],
        )  # no output_names: one output, as shap's own interaction values

    def plot(self, kind: str = "heatmap", **kwargs: Any) -> Any:
        """``kind="heatmap"``: mean absolute interaction matrix; ``"interaction"``: one pair's values
        against the first feature's data, coloured by the second's (``features=(a, b)``,
        default the top-ranked pair). Keyword arguments: ``class_index``, ``top_k``, ``ax``.
        Returns the matplotlib ``Axes``.
        """
        from ._plot_interactions import plot_interactions

        return plot_interactions(self, kind, **kwargs)
