"""The tiny protocol shared by the explainer families."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EngineeredAttribution:
    """Attributions of one explainer call, before any mapping to raw columns.

    Attributes
    ----------
    values : ndarray of shape (n_outputs, n_rows, n_features)
        Additive attributions: ``values.sum(-1) + expected[:, None]`` is the
        explained model output.
    expected : ndarray of shape (n_outputs,)
        Base value of each output.
    output : str
        Name of the explained output space ("log_odds", "probability",
        "decision_function", "prediction", ...).
    predictions : ndarray of shape (n_outputs, n_rows), optional
        The model output itself, when the explainer computed it anyway.
    players : bool
        True when ``values`` are per raw player already (the tree explainer's raw-player
        game), so no engineered -> raw mapping applies.
    evaluation : str, optional
        How the values were computed (recorded in the explanation's ``meta``).
    standard_errors : ndarray of shape (n_outputs, n_rows, n_features), optional
        Raw-space explainers: the estimated standard deviation of each attribution.
    estimator : str, optional
        Raw-space explainers: the estimator that ran (e.g. ``"stratified (neyman)"``).
    """

    values: np.ndarray
    expected: np.ndarray
    output: str
    predictions: np.ndarray | None = None
    players: bool = False
    evaluation: str | None = None
    standard_errors: np.ndarray | None = None
    estimator: str | None = None
