"""How a fitted ExplainablePipeline turns rows into attributions.

Functions of the fitted pipeline ``ep``: the engineered-space explainers (tree,
linear, mimic) and their mapping to raw columns or feature groups, the
raw-space Shapley explainers run through the whole pipeline, and the layout
per class that :class:`~explainable_pipeline.LocalExplanation` expects.
``_batch`` streams blocks of rows through :func:`explain_block`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples

from ._outputs import check_margin_per_class, margin_unit
from ._outputs import model_output as explained_values
from .explainers import RAW_SPACE_METHODS
from .explainers._base import EngineeredAttribution
from .explainers._linear import linear_shap
from .explainers._mimic import teacher_targets


@dataclass
class Block:
    """Attributions of one block of rows, in :class:`LocalExplanation`'s layout."""

    values: np.ndarray  # (n, f) or (n_classes, n, f)
    expected: Any  # float or (n_classes,)
    predictions: np.ndarray | None  # values.shape[:-1]
    features: list
    groups: dict | None
    output: str
    data: Any  # the rows explained (raw, or engineered frame)
    teacher: np.ndarray | None = None  # mimic: model output (n_outputs, n)
    surrogate: np.ndarray | None = None  # mimic: surrogate output (n_outputs, n)
    evaluation: str | None = None  # raw-space methods: the coalition-value path that ran
    standard_errors: np.ndarray | None = None  # raw-space methods: values.shape
    estimator: str | None = None  # raw-space methods: the estimator that ran


LINEAR_PROBABILITY = (
    "The 'linear' explainer is exact in decision_function (margin) space only; use "
    "model_output='margin', or explainer='exact'/'kernel' (or 'auto') to explain probabilities."
)


def engineered_attribution(ep, X, Xt=None, space: str = "raw"):
    """Engineered attributions of the rows ``X`` (``Xt``: their transform, when already known).

    The tree explainer with raw players returns values per raw player already
    (``attribution.players`` is then set; see ``_tree_attribution``).
    """
    Xt = ep._transform(X) if Xt is None else Xt
    output = ep._resolved_output()
    if ep.explainer_ == "tree":
        from ._tree_attribution import describe, tree_attribution

        attribution, plan = tree_attribution(ep, Xt, space)
        attribution.players = plan["players"] == "raw" and space == "raw"
        attribution.evaluation = describe(plan)
        return attribution, Xt
    if ep.explainer_ == "linear":
        if output == "probability":
            raise ValueError(LINEAR_PROBABILITY)
        return linear_shap(ep.estimator_, Xt, ep.engineered_mean_), Xt
    if ep.explainer_ == "mimic":
        return ep.surrogate_.attribution(Xt), Xt
    raise NotImplementedError(f"explainer {ep.explainer_!r} is not available yet.")


def explain_block(ep, X, space: str, *, random_state=None, progress=None, Xt=None) -> Block:
    """Attributions of one block of validated rows (see ``_batch.explain_local_chunked``).

    ``Xt``, the rows already transformed, spares the engineered-space explainers a transform.
    """
    method = ep.explainer_
    evaluation = None
    if method in RAW_SPACE_METHODS:
        attribution, features, groups, evaluation = raw_space_attribution(
            ep, X, random_state=random_state, progress=progress
        )
        data = X
    else:
        attribution, Xt = engineered_attribution(ep, X, Xt, space)
        evaluation = attribution.evaluation
        if space == "raw":
            values = attribution.values if attribution.players else to_raw(ep, attribution.values)
            features, groups, data = raw_player_names(ep), group_members(ep), X
        else:
            values = attribution.values
            features = [str(f) for f in ep.feature_map_.engineered_features]
            groups = None
            data = engineered_frame(Xt, features, X)
        attribution.values = values
    if attribution.predictions is None:  # what the attributions add up to, for check_additivity
        attribution.predictions = explained_values(
            ep, X, Xt, attribution.output, attribution.values.shape[0]
        )
    teacher = surrogate_out = None
    if method == "mimic":  # model output on these rows, for the surrogate's fidelity
        model_output = getattr(ep.estimator_, output_method(ep)[0])(Xt)  # Xt: no re-transform
        teacher = teacher_targets(model_output, ep._is_classifier()).T
        surrogate_out = _surrogate_in_teacher_space(ep, Xt, attribution)
    values, expected, predictions = per_class(ep, attribution)
    block = Block(values, expected, predictions, features, groups, attribution.output, data,
                  teacher, surrogate_out, evaluation)  # fmt: skip
    if attribution.standard_errors is not None:
        block.standard_errors = per_class_errors(ep, attribution.standard_errors)
        block.estimator = attribution.estimator
    return block


def _surrogate_in_teacher_space(ep, Xt, attribution):
    """The surrogate's output in the model's output space (a strategy may explain another)."""
    convert = getattr(ep.surrogate_, "predict_teacher_space", None)
    return attribution.predictions if convert is None else convert(Xt)


def per_class(ep, attribution):
    """(n_outputs, n, f) -> LocalExplanation's layout; binary margins get both classes."""
    values = attribution.values
    expected = np.asarray(attribution.expected, dtype=np.float64)
    predictions = attribution.predictions
    classes = ep._class_list()
    if classes is None:
        if values.shape[0] != 1:
            return values, expected, predictions  # multi-output regression
        return values[0], float(expected[0]), None if predictions is None else predictions[0]
    if values.shape[0] == 1 and len(classes) == 2:
        # One output for the positive class. The negative class's log-odds (or margin) is
        # its negation; its probability is one minus it, so its attributions negate too.
        flip = 1.0 if attribution.output == "probability" else 0.0
        values = np.concatenate([-values, values], axis=0)
        expected = np.concatenate([flip - expected, expected])
        if predictions is not None:
            predictions = np.concatenate([flip - predictions, predictions], axis=0)
    return values, expected, predictions


def per_class_errors(ep, errors: np.ndarray) -> np.ndarray:
    """Standard errors (n_outputs, n, f) in :func:`per_class`'s layout (a binary model's
    negated class has the same errors)."""
    if ep._class_list() is None:
        return errors[0] if errors.shape[0] == 1 else errors
    if errors.shape[0] == 1 and len(ep._class_list()) == 2:
        return np.concatenate([errors, errors], axis=0)
    return errors


def group_members(ep):
    return dict(ep.feature_groups) if ep.feature_groups else None


def player_index(ep):
    """Raw column positions of each player (group or single column)."""
    raw = [str(c) for c in ep._raw_feature_names()]
    position = {c: i for i, c in enumerate(raw)}
    groups = ep.feature_groups or {}
    grouped = set()
    players, names = [], []
    owner = {}
    for name, cols in groups.items():
        if not isinstance(name, str):
            raise TypeError(f"feature_groups keys are group names (str); got {name!r}.")
        if isinstance(cols, str) or not isinstance(cols, (list, tuple)):
            raise TypeError(f"feature_groups[{name!r}] must be a list of raw column names; "
                            f"got {type(cols).__name__} {cols!r}.")
        if not cols:
            raise ValueError(f"feature_groups[{name!r}] is empty; every group needs at least "
                             "one raw column.")
        twice = sorted({c for c in cols if list(cols).count(c) > 1})
        if twice:
            raise ValueError(f"feature_groups[{name!r}] lists {twice} more than once.")
        unknown = [c for c in cols if c not in position]
        if unknown:
            raise ValueError(
                f"feature_groups[{name!r}] names columns {unknown} that are not raw "
                f"columns of X (known: {raw})."
            )
        for c in cols:
            if c in owner:
                raise ValueError(
                    f"Column {c!r} is in feature_groups[{owner[c]!r}] and in "
                    f"feature_groups[{name!r}]; groups must not overlap (each raw column "
                    "belongs to at most one group)."
                )
            owner[c] = name
        players.append([position[c] for c in cols])
        names.append(str(name))
        grouped.update(cols)
    for c in raw:
        if c not in grouped:
            if c in groups:
                raise ValueError(
                    f"feature_groups has a group named {c!r}, like the raw column {c!r}, which "
                    "is in no group: explanations would name two players alike; rename the "
                    "group (or put the column in it)."
                )
            players.append([position[c]])
            names.append(c)
    return players, names


def resolve_explainer(ep, raw_names) -> None:
    """Set ``ep.explainer_`` at ``fit`` and check what the explanations will need, so that a
    request they cannot honour fails there, not at the first explanation: the feature groups,
    the output, and the kernel budget for the number of players."""
    from ._outputs import check_output_available
    from ._tree_attribution import link_probabilities
    from .explainers import EXACT_MAX_PLAYERS, select_explainer
    from .explainers._shapley import check_kernel_budget

    if ep.feature_groups:
        player_index(ep)
    n_players = ep._n_players(raw_names)
    ep.explainer_ = select_explainer(ep.estimator_, ep.explainer, n_players=n_players,
                                     mappable=ep.feature_map_.is_exact)
    if (ep.explainer == "auto" and ep.explainer_ == "tree"
            and link_probabilities(ep.estimator_, ep.model_output)):
        # TreeSHAP cannot give a sigmoid's or softmax's Shapley values: predict_proba is
        # attributed over raw columns
        ep.explainer_ = "exact" if n_players <= EXACT_MAX_PLAYERS else "kernel"
    check_output_available(ep)
    if ep.explainer_ == "linear" and ep._resolved_output() == "probability":
        # a sigmoid or softmax of a linear margin is not additive in the columns
        if ep.explainer != "auto":
            raise ValueError(LINEAR_PROBABILITY)
        ep.explainer_ = "exact" if n_players <= EXACT_MAX_PLAYERS else "kernel"
    if ep.explainer_ == "kernel" and ep.n_samples != "auto":
        check_kernel_budget(ep.n_samples, n_players)


def raw_player_names(ep):
    return player_index(ep)[1]


def to_raw(ep, values):
    raw = ep.feature_map_.to_raw(values)
    if not ep.feature_groups:
        return raw
    players, _ = player_index(ep)
    return np.stack([raw[..., idx].sum(axis=-1) for idx in players], axis=-1)


def output_method(ep) -> tuple[str, str]:
    """The estimator method that gives the explained output, and the output's name."""
    output = ep._resolved_output()
    est = ep.estimator_
    if output == "prediction":
        return "predict", "prediction"
    if output == "margin" and hasattr(est, "decision_function"):
        check_margin_per_class(est)
        return "decision_function", margin_unit(est)
    if hasattr(est, "predict_proba"):
        return "predict_proba", "probability"
    raise ValueError(
        f"{type(est).__name__} has no predict_proba; explain its decision_function with "
        "model_output='margin'."
    )


def output_function(ep):
    """The whole pipeline as f(raw rows) -> explained output, and the output's name."""
    method, name = output_method(ep)
    transform = ep._transform
    predict = getattr(ep.estimator_, method)

    def f(rows):
        return predict(transform(rows))

    return f, name


def raw_space_attribution(ep, X, *, random_state=None, progress=None):
    """Shapley values with raw columns (or groups) as players, through the whole pipeline.

    ``random_state`` (default: the ``random_state`` parameter) seeds the coalition
    design; ``progress`` (default: :meth:`_show_progress`) shows the inner progress bar.
    Returns ``(attribution, player names, groups, evaluation path)``.
    """
    from .explainers._evaluators import pipeline_evaluator
    from .explainers._shapley import shapley_values

    f, name = output_function(ep)
    players, names = player_index(ep)
    result = shapley_values(
        finite_model_output(f, name),
        X,
        ep.background_,
        ep.background_weights_,
        method=ep.explainer_,
        groups=players if ep.feature_groups else None,
        n_samples=ep.n_samples,
        estimator=kernel_estimator(ep),
        random_state=ep.random_state if random_state is None else random_state,
        n_jobs=ep.n_jobs,
        progress=ep._show_progress(_num_samples(X)) if progress is None else progress,
        evaluator=pipeline_evaluator(
            ep.preprocessor_, ep.estimator_, output_method(ep)[0], ep.feature_map_, ep._transform
        ),
    )
    values = np.ascontiguousarray(result.values.transpose(2, 0, 1))  # (outputs, n, players)
    attribution = EngineeredAttribution(values, np.asarray(result.base_values), name)
    # the model's own output on the rows (the full coalition), computed once by the engine
    attribution.predictions = np.ascontiguousarray(result.outputs.T)
    if result.standard_errors is not None:
        attribution.standard_errors = result.standard_errors.transpose(2, 0, 1)
        attribution.estimator = result.estimator
    return attribution, names, group_members(ep), result.evaluation


def kernel_estimator(ep) -> str:
    """The ``estimator`` of :func:`shapley_values`: ``kernel_estimator`` for the kernel explainer.

    A pipeline pickled before the parameter existed has no attribute: ``"auto"``.
    """
    return getattr(ep, "kernel_estimator", "auto") if ep.explainer_ == "kernel" else "auto"


def finite_model_output(f, name: str):
    """``f`` that raises a clear ValueError when the model's output is NaN or infinite.

    The Shapley engine calls ``f`` first on the background rows, then on hybrid rows (rows to
    explain with some columns taken from background rows); the error says which, and shows one.
    """
    calls = []

    def checked(rows):
        out = f(rows)
        first = not calls
        calls.append(None)
        arr = np.asarray(out)
        if arr.dtype.kind in "fc" and arr.ndim >= 1 and arr.shape[0]:
            finite = np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
            if not finite.all():
                raise ValueError(_non_finite_output(name, rows, finite, first))
        return out

    return checked


def _non_finite_output(name: str, rows, finite: np.ndarray, background: bool) -> str:
    bad = np.flatnonzero(~finite)
    row = rows.iloc[bad[0]].to_dict() if isinstance(rows, pd.DataFrame) else rows[bad[0]]
    row = row.tolist() if isinstance(row, np.ndarray) else row
    if background:
        where = "background rows (the rows the explanation averages the model over)"
        fix = ("check the model on ep.background_, or pass background= rows on which it is "
               "finite")  # fmt: skip
    else:
        where = "hybrid rows (rows to explain with some columns taken from background rows)"
        fix = "make the model finite on every combination of column values (e.g. impute, clip)"
    return (
        f"The model's output ({name}) is NaN or infinite on {bad.size} of {finite.size} "
        f"{where}, e.g. row {int(bad[0])}: {str(row)[:500]}. Shapley values of a model with "
        f"NaN/inf outputs are undefined: {fix}."
    )


def importance_interval(values: np.ndarray, n_total: int) -> np.ndarray:
    """95% interval of mean |attribution| per column from a row sample, shape (2, n_features).

    Each row contributes ``|phi|`` (averaged over classes for classification); see
    :func:`sampling_interval`.
    """
    per_row = np.abs(values)
    if per_row.ndim == 3:  # (classes, rows, features) -> (rows, features)
        per_row = per_row.mean(axis=0)
    n = per_row.shape[0]
    sd = per_row.std(axis=0, ddof=1) if n > 1 else np.zeros(per_row.shape[1])
    return sampling_interval(per_row.mean(axis=0), sd, n, n_total)


def sampling_interval(
    mean: np.ndarray, sd: np.ndarray, n: int, n_total: int, z: float = 1.959964
) -> np.ndarray:
    """The one definition of ``GlobalExplanation.intervals`` (in process and on Dask).

    A 95% normal interval of the mean importance per column when ``n`` of ``n_total`` rows
    were sampled: ``mean +- z * sd / sqrt(n) * sqrt((N - n) / (N - 1))`` (finite-population
    correction), the low end clipped at 0. Callers pass it only for a real sample
    (``n < n_total``); explanations of every row have ``intervals=None``.
    """
    fpc = np.sqrt(max(n_total - n, 0) / (n_total - 1)) if n_total > 1 else 0.0
    half = z * np.asarray(sd) / np.sqrt(n) * fpc
    return np.stack([np.maximum(mean - half, 0.0), mean + half])


def engineered_frame(Xt, features, X):
    """The engineered rows as a DataFrame (dense only; None when sparse)."""
    if sp.issparse(Xt):
        return None
    if isinstance(Xt, pd.DataFrame):
        out = Xt.copy()
        out.columns = features
        return out
    index = X.index if isinstance(X, pd.DataFrame) else None
    return pd.DataFrame(np.asarray(Xt), columns=features, index=index)
