"""``LocalExplanation.to_shap``: the explanation as a ``shap.Explanation`` (shap is imported
here only, when called)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def shap_data(local) -> np.ndarray | None:
    """The explained rows' feature values, when the stored data holds exactly those features."""
    data = local.data
    if isinstance(data, pd.DataFrame):
        if data.columns.is_unique and all(f in data.columns for f in local._features):
            return data[local.features].to_numpy()
        return None
    if hasattr(data, "tocsr"):
        data = data.toarray()
    if data is not None and data.ndim == 2 and data.shape[1] == local.num_features:
        return np.array(data)
    return None


def local_to_shap(local, class_index: int | None = None) -> Any:
    """:meth:`LocalExplanation.to_shap` (see there)."""
    import shap

    kw = {"data": shap_data(local), "feature_names": [str(f) for f in local._features]}
    if local.n_classes is None:
        if class_index is not None:
            raise ValueError(
                f"class_index must be None for a single-output explanation; got {class_index!r}."
            )
        base = np.full(local.n_rows, local.expected_values)
        return shap.Explanation(np.array(local.values), base, output_names=local.output, **kw)
    labels = [str(c) for c in local._class_labels(local.n_classes)]
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
    return shap.Explanation(
        local.values[class_index].copy(), base, output_names=labels[class_index], **kw
    )
