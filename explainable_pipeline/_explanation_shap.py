"""``LocalExplanation.to_shap``: the explanation as a ``shap.Explanation`` (shap is imported
here only, when called)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def shap_data(local) -> np.ndarray | None:
    """The explained rows' feature values, when the stored data holds those features: by
    name; by position for a frame whose labels are not strings (its columns are named
    ``x0, x1, ...`` as scikit-learn names them); a group of columns (``feature_groups``)
    has no single value and gets NaN, the other columns theirs."""
    data = local.data
    features = list(local._features)
    if isinstance(data, pd.DataFrame):
        if not data.columns.is_unique:
            return None
        if all(f in data.columns for f in features):
            return data[features].to_numpy()
        positional = [f"x{i}" for i in range(data.shape[1])]
        if features == positional and not any(f in data.columns for f in features):
            return data.to_numpy()
        groups = local.groups or {}
        if all(f in data.columns or f in groups for f in features):
            parts = {f: data[f] if f in data.columns
                     else pd.Series(np.nan, index=data.index) for f in features}
            return pd.DataFrame(parts).to_numpy()
        return None
    if hasattr(data, "tocsr"):
        data = data.toarray()
    if data is not None and data.ndim == 2 and data.shape[1] == local.num_features:
        return np.array(data)
    return None


def local_to_shap(local, class_index: int | None = None) -> Any:
    """:meth:`LocalExplanation.to_shap` (see there)."""
    import shap

    # a 2-D explanation has no output names, as shap's own (shap copies a 2-D explanation's
    # single name as if it were one per row, and its slicing then fails)
    kw = {"data": shap_data(local), "feature_names": [str(f) for f in local._features]}
    if local.n_classes is None:
        if class_index is not None:
            raise ValueError(
                f"class_index must be None for a single-output explanation; got {class_index!r}."
            )
        base = np.full(local.n_rows, local.expected_values)
        return shap.Explanation(np.array(local.values), base, **kw)
    labels = [str(c) for c in local._class_labels(local.n_classes)]
    if class_index is None and local.n_classes == 2 and local.output in ("log_odds", "margin"):
        class_index = 1  # one margin, the positive class's, as shap's explainers give it
    if class_index is None:
        base = np.tile(local.expected_values, (local.n_rows, 1))
        return shap.Explanation(
            local.values.transpose(1, 2, 0).copy(), base, output_names=labels, **kw
        )
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)):
        raise TypeError(f"class_index must be None or an int; got {class_index!r}.")
    if not -local.n_classes <= class_index < local.n_classes:
        raise IndexError(f"class_index must be in [0, {local.n_classes}); got {class_index}.")
    base = np.full(local.n_rows, local.expected_values[class_index])
    return shap.Explanation(local.values[class_index].copy(), base, **kw)
