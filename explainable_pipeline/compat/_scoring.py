"""azureml-interpret's scoring explainers: explanations at inference time.

The Azure ML how-to's "interpretability at inference time" section builds a scoring
explainer from a fitted explainer, saves it next to the model, loads both in ``score.py``'s
``init()`` and returns predictions plus local importances from ``run()``::

    scoring_explainer = KernelScoringExplainer(explainer, initialization_examples=x_test[:5])
    save(scoring_explainer, directory="scoring", exist_ok=True)   # scoring/scoring_explainer.pkl
    scoring_explainer = load("scoring")                            # or joblib.load(...)
    scoring_explainer.explain(rows)                                # local importance values

Here each scoring explainer is a thin wrapper over the explainer's fitted
:class:`ExplainablePipeline` (which pickles with everything it needs, without the
training data). The ``.pkl`` file is a pickle: load only files you trust.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import joblib
from sklearn.base import clone

from ._explainers import _Explainer
from ._inputs import as_rows

__all__ = [
    "KernelScoringExplainer",
    "LinearScoringExplainer",
    "TreeScoringExplainer",
    "load",
    "save",
]

SCORING_FILE = "scoring_explainer.pkl"


class _ScoringExplainer:
    """Local importance values of new rows, from a fitted compat explainer."""

    _engines: tuple = ()

    def __init__(self, explainer: _Explainer, initialization_examples: Any = None,
                 **kwargs: Any) -> None:  # fmt: skip
        if not isinstance(explainer, _Explainer) or explainer.pipeline_ is None:
            raise TypeError(
                f"{type(self).__name__} needs a fitted TabularExplainer / KernelExplainer / "
                f"TreeExplainer / LinearExplainer / MimicExplainer; got {type(explainer).__name__}."
            )
        ep = explainer.pipeline_
        if self._engines and ep.explainer_ not in self._engines:
            raise ValueError(
                f"{type(self).__name__} needs an explainer using {self._engines}; this one uses "
                f"{ep.explainer_!r} ({explainer._method()})."
            )
        if initialization_examples is not None:  # a new background, as azureml's
            rows, _ = as_rows(initialization_examples)
            ep = clone(ep).set_params(background=rows, background_weights=None)
            ep.fit(explainer.initialization_examples_)
        self.pipeline_ = ep
        self.features = list(explainer._features)
        self.classes = explainer._class_names()
        self.is_raw = explainer.transformations is not None
        self._explainer = explainer
        self._explainer.pipeline_ = ep

    def explain(self, evaluation_examples: Any, get_raw: bool | None = None) -> list:
        """Local importance values of ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like, DataFrame or sparse matrix
            Raw rows (as the explainer was given them).
        get_raw : bool, default=None
            With ``transformations``: True (the default then) returns raw-column values,
            False the engineered columns' values. Without transformations, ignored.

        Returns
        -------
        list
            ``[class][row][feature]`` for classifiers, ``[row][feature]`` otherwise.
        """
        rows, single = as_rows(evaluation_examples)
        if get_raw is False and self.is_raw:
            local = self.pipeline_.explain_local(rows, space="engineered")
            values = local.values
            return (values[..., 0, :] if single else values).tolist()
        return self._explainer.explain_local(evaluation_examples).local_importance_values


class KernelScoringExplainer(_ScoringExplainer):
    """Scoring explainer over a model-agnostic (Shapley) explainer."""

    _engines = ("kernel", "exact", "permutation")


class TreeScoringExplainer(_ScoringExplainer):
    """Scoring explainer over a TreeSHAP explainer (or a mimic explainer's tree surrogate)."""

    _engines = ("tree", "mimic")


class LinearScoringExplainer(_ScoringExplainer):
    """Scoring explainer over the linear closed form (or a mimic explainer's surrogate)."""

    _engines = ("linear", "mimic")


def save(scoring_explainer: _ScoringExplainer, directory: Any = "scoring_explainer_deploy",
         exist_ok: bool = False) -> Path:  # fmt: skip
    """Write ``<directory>/scoring_explainer.pkl`` (atomically: temp file, fsync, rename).

    Parameters
    ----------
    scoring_explainer : KernelScoringExplainer, TreeScoringExplainer or LinearScoringExplainer
    directory : str or path-like, default="scoring_explainer_deploy"
    exist_ok : bool, default=False
        False refuses a directory that already holds a scoring explainer.

    Returns
    -------
    pathlib.Path
        The ``.pkl`` file written.
    """
    if not isinstance(scoring_explainer, _ScoringExplainer):
        raise TypeError(f"save expects a scoring explainer; got {type(scoring_explainer)}.")
    directory = Path(directory)
    target = directory / SCORING_FILE
    if target.exists() and not exist_ok:
        raise FileExistsError(f"{target} exists; pass exist_ok=True to replace it.")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{SCORING_FILE}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "wb") as f:
            joblib.dump(scoring_explainer, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def load(path: Any) -> _ScoringExplainer:
    """Load a scoring explainer from its directory or ``.pkl`` file (trusted files only)."""
    path = Path(path)
    if path.is_dir():
        path = path / SCORING_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No scoring explainer at {path} (expected {SCORING_FILE}).")
    obj = joblib.load(path)
    if not isinstance(obj, _ScoringExplainer):
        raise TypeError(f"{path} does not hold a scoring explainer ({type(obj).__name__}).")
    return obj
