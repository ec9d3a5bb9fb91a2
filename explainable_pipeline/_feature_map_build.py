"""Build a :class:`FeatureMap` by walking a fitted preprocessor.

Each fitted transformer yields its boolean dependency matrix over its own inputs;
Pipelines compose their steps' matrices, ``ColumnTransformer`` / ``FeatureUnion`` /
``DataFrameMapper`` assemble blocks (see :mod:`._feature_map` for the rules).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn import preprocessing
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    PolynomialFeatures,
    SplineTransformer,
    TargetEncoder,
)
from sklearn.utils.validation import check_is_fitted

from ._feature_map import FeatureMap, _bool, _short
from ._sklearn_compat import onehot_n_outputs_per_feature

__all__ = ["build_feature_map"]

# Transformers whose output j is a function of input j only.
_ELEMENTWISE = tuple(
    getattr(preprocessing, name)
    for name in "StandardScaler MinMaxScaler MaxAbsScaler RobustScaler QuantileTransformer "
    "PowerTransformer OrdinalEncoder Binarizer".split()
)
_SAMPLE_ROWS = 50


# --------------------------------------------------------------------------- #
# Dependency nodes
# --------------------------------------------------------------------------- #


@dataclass
class _Node:
    """Result of mapping one transformer over its own inputs."""

    dep: sp.csr_matrix  # bool (n_out, n_in)
    names: list[str]
    producers: list[str]
    # (path, out_mask over this node's outputs, in_mask over this node's inputs)
    events: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)


Sample = Callable[[], Any]  # lazy getter of a few rows at a node's input (or None)


def _bool_product(a: sp.spmatrix, b: sp.spmatrix) -> sp.csr_matrix:
    return _bool(a.astype(np.int64) @ b.astype(np.int64))


def _bool_matvec(dep: sp.spmatrix, mask: np.ndarray) -> np.ndarray:
    return np.asarray(dep.astype(np.int64) @ mask.astype(np.int64)).ravel() > 0


def _blocks(counts: Sequence[int]) -> sp.csr_matrix:
    """Input ``i`` yields ``counts[i]`` consecutive outputs."""
    counts = np.asarray(counts, dtype=np.int64)
    return _picks(np.repeat(np.arange(len(counts)), counts), len(counts))


def _from_pairs(rows: Any, cols: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    rows = np.asarray(rows, dtype=np.int64)
    return _bool(sp.coo_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=shape))


def _picks(cols: Any, n_in: int) -> sp.csr_matrix:
    """Output ``j`` is input ``cols[j]``."""
    cols = np.asarray(cols, dtype=np.int64)
    return _from_pairs(np.arange(len(cols)), cols, (len(cols), n_in))


def _ones(n_out: int, n_in: int) -> sp.csr_matrix:
    return _bool(np.ones((n_out, n_in), dtype=bool))


def _is_string(obj: Any, value: str) -> bool:
    return isinstance(obj, str) and obj == value


def _is_dataframe_mapper(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrameMapper" and hasattr(obj, "built_features")


def _try_names(est: Any, input_names: list[str]) -> list[str] | None:
    """``get_feature_names_out`` with our input names, then with none, else None."""
    if not hasattr(est, "get_feature_names_out"):
        return None
    for args in ((np.asarray(input_names, dtype=object),), ()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return [str(n) for n in est.get_feature_names_out(*args)]
        except Exception:  # noqa: BLE001 - any failure means "names unknown"
            continue
    return None


def _transform_sample(est: Any, X: Any, path: str) -> Any:
    if X is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return est.transform(X)
    except Exception as exc:
        raise ValueError(
            f"Could not transform X_sample through transformer {path!r} "
            f"({type(est).__name__}) to read its output width: {exc}"
        ) from exc


def _width(Xt: Any) -> int:
    return 1 if len(Xt.shape) == 1 else int(Xt.shape[1])


def _width_from_sample(est: Any, path: str, sample: Sample) -> int:
    X = sample()
    if X is None:
        raise ValueError(
            f"Cannot tell how many columns transformer {path!r} ({type(est).__name__}) "
            "outputs: it has no usable get_feature_names_out. Pass X_sample=<a few raw "
            "rows> to build_feature_map, or implement get_feature_names_out on it."
        )
    return _width(_transform_sample(est, X, path))


def _known_dependency(est: Any, n_in: int) -> sp.csr_matrix | None:
    """Exact dependency of a known transformer on several inputs, else None."""
    eye = _bool(sp.identity(n_in, dtype=bool, format="csr"))
    if isinstance(est, _ELEMENTWISE):
        return eye
    if isinstance(est, OneHotEncoder):
        return _blocks(onehot_n_outputs_per_feature(est))
    if isinstance(est, KBinsDiscretizer):
        return eye if est.encode == "ordinal" else _blocks(est.n_bins_)
    if isinstance(est, SplineTransformer):
        per_feature, rest = divmod(int(est.n_features_out_), n_in)
        return None if rest else _blocks([per_feature] * n_in)
    if isinstance(est, TargetEncoder):
        if getattr(est, "target_type_", None) == "multiclass":
            return _blocks([len(est.classes_)] * n_in)
        return eye
    if isinstance(est, SimpleImputer):
        kept = np.flatnonzero(~pd.isna(np.asarray(est.statistics_, dtype=object)))
        indicator = getattr(est, "indicator_", None)
        flagged = [] if indicator is None else list(indicator.features_)
        return _picks(np.concatenate([kept, np.asarray(flagged, dtype=np.int64)]), n_in)
    if isinstance(est, MissingIndicator):
        return _picks(est.features_, n_in)
    if isinstance(est, FunctionTransformer):
        if est.func is None or _is_string(est.feature_names_out, "one-to-one"):
            return eye
        return None
    if isinstance(est, PolynomialFeatures):
        dep = np.asarray(est.powers_) > 0
        dep[~dep.any(axis=1)] = True  # constant (bias) term: conservatively all inputs
        return _bool(dep)
    if isinstance(est, SelectorMixin) or hasattr(est, "get_support"):
        return _picks(est.get_support(indices=True), n_in)
    return None


def _generated(path: str, n: int) -> list[str]:
    return [f"{path}__x{i}" for i in range(n)]


def _map_leaf(
    est: Any, input_names: list[str], path: str, sample: Sample, width: int | None = None
) -> _Node:
    n_in = len(input_names)
    names = _try_names(est, input_names)
    dep = None if n_in == 1 else _known_dependency(est, n_in)
    if names is not None:
        n_out = len(names)
    elif width is not None:  # known from the parent (ColumnTransformer.output_indices_, ...)
        n_out = width
    elif dep is not None:
        n_out = dep.shape[0]
    else:
        n_out = _width_from_sample(est, path, sample)
    if dep is not None and dep.shape[0] != n_out:
        warnings.warn(
            f"Transformer {path!r} ({type(est).__name__}) outputs {n_out} columns but its "
            f"known input/output rule gives {dep.shape[0]}; mapping every output to every "
            "input instead.",
            RuntimeWarning,
            stacklevel=2,
        )
        dep = None
    names = names if names is not None else _generated(path, n_out)
    if dep is None:
        return _conservative(n_out, input_names, path, names)
    events = []
    odd = np.diff(dep.indptr) != 1
    if odd.any():
        events.append((path, odd, np.asarray(dep[odd].sum(axis=0)).ravel() > 0))
    return _Node(dep, names, [path] * n_out, events)


def _conservative(n_out: int, input_names: list[str], path: str, names: list[str]) -> _Node:
    """Every output depends on every input; recorded as mixing when n_in > 1."""
    n_in = len(input_names)
    events = []
    if n_in > 1 and n_out:
        events.append((path, np.ones(n_out, bool), np.ones(n_in, bool)))
    return _Node(_ones(n_out, n_in), names, [path] * n_out, events)


def _identity(input_names: list[str], path: str) -> _Node:
    n = len(input_names)
    return _Node(_bool(sp.identity(n, dtype=bool)), list(input_names), [path] * n)


def _child_path(path: str, name: Any) -> str:
    return f"{path}__{name}" if path else str(name)


def _map_node(
    est: Any, input_names: list[str], path: str, sample: Sample, width: int | None = None
) -> _Node:
    """Map ``est`` over ``input_names``; ``width`` is its output width when known."""
    if est is None or _is_string(est, "passthrough"):
        return _identity(input_names, path or "passthrough")
    if _is_string(est, "drop"):
        return _Node(_bool(sp.csr_matrix((0, len(input_names)))), [], [])
    inner = _frozen_inner(est)
    if inner is not None:  # a prefit wrapper: map what it wraps
        return _map_node(inner, input_names, path, sample, width)
    if _is_dataframe_mapper(est):
        return _map_dataframe_mapper(est, input_names, path, sample)
    if isinstance(est, ColumnTransformer):
        return _map_column_transformer(est, input_names, path, sample)
    if isinstance(est, Pipeline):
        return _map_pipeline(est, input_names, path, sample, width)
    if isinstance(est, FeatureUnion):
        return _map_feature_union(est, input_names, path, sample)
    return _map_leaf(est, input_names, path or type(est).__name__.lower(), sample, width)


def _frozen_inner(est: Any) -> Any:
    """The transformer inside a ``FrozenEstimator`` (or a subclass of it), else None."""
    from sklearn.frozen import FrozenEstimator

    return est.estimator if isinstance(est, FrozenEstimator) else None


def _map_pipeline(
    pipe: Pipeline, input_names: list[str], path: str, sample: Sample, width: int | None
) -> _Node:
    node = _identity(input_names, path or "passthrough")
    steps = [(n, s) for n, s in pipe.steps if not (s is None or _is_string(s, "passthrough"))]
    for k, (name, step) in enumerate(steps):
        step_path = _child_path(path, name)
        last = k == len(steps) - 1
        step_node = _map_node(step, node.names, step_path, sample, width if last else None)
        events = [(p, _bool_matvec(step_node.dep, o), i) for p, o, i in node.events]
        events += [(p, o, _bool_matvec(node.dep.T, i)) for p, o, i in step_node.events]
        producers = step_node.producers
        if hasattr(step, "get_support"):  # a selector keeps the producers of what it keeps
            producers = [node.producers[i] for i in step.get_support(indices=True)]
        node = _Node(_bool_product(step_node.dep, node.dep), step_node.names, producers, events)
        sample = functools.cache(lambda s=sample, t=step, p=step_path: _transform_sample(t, s(), p))
    return node


def _resolve_columns(spec: Any, names: list[str], path: str) -> list[int]:
    """Positions selected by a ColumnTransformer column spec."""
    n = len(names)

    def position(label: Any) -> int:
        try:
            return names.index(label)
        except ValueError:
            raise ValueError(
                f"Column {label!r} selected by transformer {path!r} is not among the "
                f"input columns {_short(names)}; check raw_features."
            ) from None

    if isinstance(spec, str):
        return [position(spec)]
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        return [int(spec) % n]
    if isinstance(spec, slice):
        if isinstance(spec.start, str) or isinstance(spec.stop, str):  # label slice, inclusive
            start = 0 if spec.start is None else position(spec.start)
            stop = n if spec.stop is None else position(spec.stop) + 1
            return list(range(start, stop, spec.step or 1))
        return list(range(n))[spec]
    if callable(spec):
        raise TypeError(
            f"Transformer {path!r} has an unresolved callable column selector; "
            "build_feature_map needs a fitted ColumnTransformer."
        )
    arr = np.asarray(spec)
    if arr.size == 0:
        return []
    if arr.dtype == bool:
        if arr.shape[0] != n:
            raise ValueError(
                f"Boolean column mask of transformer {path!r} has {arr.shape[0]} entries "
                f"for {n} input columns."
            )
        return [int(i) for i in np.flatnonzero(arr)]
    if np.issubdtype(arr.dtype, np.integer):
        return [int(i) % n for i in arr.ravel()]
    return [position(label) for label in arr.ravel().tolist()]


def _select(X: Any, positions: list[int], one_d: bool) -> Any:
    if X is None:
        return None
    key = positions[0] if one_d else positions
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, key]
    return X[:, key]


def _assemble(
    parts: list[tuple[_Node, slice, list[int]]], n_out: int, n_in: int
) -> tuple[sp.csr_matrix, list[str], list[tuple[str, np.ndarray, np.ndarray]]]:
    """Place child nodes (outputs at ``slice``, inputs at positions) in one matrix."""
    rows, cols, producers, events = [], [], [""] * n_out, []
    for node, out_slice, positions in parts:
        coo = node.dep.tocoo()
        rows.append(coo.row + out_slice.start)
        cols.append(np.asarray(positions, dtype=np.int64)[coo.col])
        producers[out_slice] = node.producers
        for p, o, i in node.events:
            out_mask, in_mask = np.zeros(n_out, bool), np.zeros(n_in, bool)
            out_mask[out_slice] = o
            in_mask[np.asarray(positions, dtype=np.int64)[i]] = True
            events.append((p, out_mask, in_mask))
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return _from_pairs(rows, cols, (n_out, n_in)), producers, events


def _map_column_transformer(
    ct: ColumnTransformer, input_names: list[str], path: str, sample: Sample
) -> _Node:
    n_in = len(input_names)
    namespace = input_names
    if hasattr(ct, "feature_names_in_"):
        namespace = [str(c) for c in ct.feature_names_in_]
    n_out = max((s.stop for s in ct.output_indices_.values()), default=0)
    parts, names = [], []
    for name, trans, columns in ct.transformers_:
        out_slice = ct.output_indices_[name]
        child = _child_path(path, name)
        positions = _resolve_columns(columns, namespace, child)
        if _is_string(trans, "drop") or out_slice.stop == out_slice.start or not positions:
            continue
        one_d = isinstance(columns, str) or (
            isinstance(columns, numbers.Integral) and not isinstance(columns, bool)
        )
        child_sample = functools.cache(lambda s=sample, p=positions, d=one_d: _select(s(), p, d))
        width = out_slice.stop - out_slice.start
        node = _map_node(trans, [input_names[i] for i in positions], child, child_sample, width)
        if node.dep.shape[0] != width:
            raise ValueError(
                f"Transformer {child!r} ({type(trans).__name__}) outputs {width} columns "
                f"but its map has {node.dep.shape[0]}; cannot build the feature map."
            )
        parts.append((node, out_slice, positions))
        verbose = ct.verbose_feature_names_out
        names += [
            n if (not verbose or n.startswith(f"{child}__")) else f"{name}__{n}" for n in node.names
        ]
    dep, producers, events = _assemble(parts, n_out, n_in)
    real = _try_names(ct, input_names)
    return _Node(dep, real if real and len(real) == n_out else names, producers, events)


def _map_feature_union(
    union: FeatureUnion, input_names: list[str], path: str, sample: Sample
) -> _Node:
    parts, names, start = [], [], 0
    positions = list(range(len(input_names)))
    for name, trans in union.transformer_list:
        if _is_string(trans, "drop"):
            continue
        child = _child_path(path, name)
        node = _map_node(trans, input_names, child, sample)
        width = node.dep.shape[0]
        parts.append((node, slice(start, start + width), positions))
        names += [f"{name}__{n}" for n in node.names]
        start += width
    dep, producers, events = _assemble(parts, start, len(input_names))
    real = _try_names(union, input_names)
    return _Node(dep, real if real and len(real) == start else names, producers, events)


# --------------------------------------------------------------------------- #
# sklearn-pandas DataFrameMapper (duck-typed, never imported here)
# --------------------------------------------------------------------------- #
def _mapper_subset(X: Any, columns: Any, input_df: bool) -> Any:
    """Column selection as ``DataFrameMapper._get_col_subset`` does it."""
    if X is None:
        return None
    t = X[columns]
    return t if input_df else t.to_numpy()


def _map_dataframe_mapper(mapper: Any, input_names: list[str], path: str, sample: Sample) -> _Node:
    @functools.cache
    def frame() -> pd.DataFrame | None:
        X = sample()
        if X is None or isinstance(X, pd.DataFrame):
            return X
        return pd.DataFrame(np.asarray(X), columns=input_names)

    built = mapper.built_features
    if isinstance(built, tuple):  # `features` given as one tuple instead of a list
        built = [built]
    # (columns as the mapper selects them, column list, transformers, options, path,
    #  input_df, is the pass-through default)
    entries = []
    for columns, transformers, options in built:
        cols = list(columns) if isinstance(columns, (list, tuple)) else [columns]
        base = options.get("alias") or "_".join(map(str, cols))
        input_df = options.get("input_df", mapper.input_df)
        entry_path = _child_path(path, base)
        entries.append((columns, cols, transformers, options, entry_path, input_df, False))
    default = getattr(mapper, "built_default", False)
    if default is not False:
        selected: set = set()
        for feature in mapper.features:  # mirrors DataFrameMapper._selected_columns
            cols = feature[0]
            selected |= set(cols) if isinstance(cols, list) else {cols}
        drop = {str(c) for c in mapper.drop_cols}
        rest = [c for c in input_names if c not in selected and c not in drop]
        entries.append(
            (rest, rest, default, {}, _child_path(path, "default"), mapper.input_df, True)
        )

    parts, names, start = [], [], 0
    for columns, cols, transformers, options, entry_path, input_df, is_rest in entries:
        labels = [str(c) for c in cols]
        missing = [c for c in labels if c not in input_names]
        if missing:
            raise ValueError(
                f"DataFrameMapper entry {entry_path!r} selects columns {missing!r} that are "
                f"not among the raw columns {_short(input_names)}; check raw_features."
            )
        positions = [input_names.index(c) for c in labels]
        entry_sample = functools.cache(lambda c=columns, d=input_df: _mapper_subset(frame(), c, d))
        if transformers is None:
            node = _identity(labels, entry_path)
        else:
            width = None
            if frame() is not None:  # the mapper stores no widths: read them from the sample
                width = _width(_transform_sample(transformers, entry_sample(), entry_path))
            node = _map_node(transformers, labels, entry_path, entry_sample, width)
            if width is not None and node.dep.shape[0] != width:
                node = _conservative(width, labels, entry_path, _generated(entry_path, width))
        width = node.dep.shape[0]
        parts.append((node, slice(start, start + width), positions))
        if is_rest and transformers is None:
            names += labels  # the mapper keeps pass-through names unchanged
        else:
            names += mapper.get_names(
                columns,
                transformers,
                np.empty((0, width)),
                options.get("alias"),
                options.get("prefix", ""),
                options.get("suffix", ""),
            )
        start += width
    dep, producers, events = _assemble(parts, start, len(input_names))
    real = [str(n) for n in getattr(mapper, "transformed_names_", [])]
    return _Node(dep, real if len(real) == start else [str(n) for n in names], producers, events)


# --------------------------------------------------------------------------- #
# Entry point
# --------------------------------------------------------------------------- #
def _check_inputs(pre: Any, raw: list[str]) -> None:
    names_in = getattr(pre, "feature_names_in_", None)
    if names_in is not None and [str(c) for c in names_in] != raw:
        raise ValueError(
            f"raw_features {_short(raw)} do not match the preprocessor's "
            f"feature_names_in_ {_short(list(names_in))}; pass the columns it was fitted on."
        )
    n_in = getattr(pre, "n_features_in_", None)
    if n_in is not None and n_in != len(raw):
        raise ValueError(
            f"The preprocessor ({type(pre).__name__}) was fitted on {n_in} columns but "
            f"raw_features has {len(raw)}."
        )


def build_feature_map(
    preprocessor: Any, raw_features: Sequence[str], X_sample: Any = None
) -> FeatureMap:
    """Build the map from a fitted preprocessor's outputs to its raw inputs.

    Parameters
    ----------
    preprocessor : transformer, "passthrough" or None
        A fitted ``ColumnTransformer``, ``Pipeline``, ``FeatureUnion``, any fitted
        transformer, or an sklearn-pandas ``DataFrameMapper``. ``None`` or
        ``"passthrough"`` gives the identity map.
    raw_features : sequence of str
        Names of the raw input columns (``feature_names_in_``, or
        ``["x0", "x1", ...]`` for numpy input).
    X_sample : DataFrame or ndarray, default=None
        A few raw rows, used only to read output widths that fitted attributes
        do not give (``DataFrameMapper`` entries, transformers without
        ``get_feature_names_out``). Not stored.

    Returns
    -------
    FeatureMap

    Raises
    ------
    ValueError
        When ``raw_features`` does not match the preprocessor, or an output
        width cannot be read and ``X_sample`` is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> X = pd.DataFrame({"age": [20.0, 30.0, 40.0], "city": ["a", "b", "a"]})
    >>> ct = make_column_transformer((StandardScaler(), ["age"]), (OneHotEncoder(), ["city"]))
    >>> fmap = build_feature_map(ct.fit(X), ["age", "city"])
    >>> fmap.output_to_input_["onehotencoder__city_b"]
    ['city']
    >>> fmap.to_raw([[1.0, 0.5, 0.25]])
    array([[1.  , 0.75]])
    """
    raw = [str(c) for c in raw_features]
    if preprocessor is None or _is_string(preprocessor, "passthrough"):
        return FeatureMap(
            raw, raw, sp.identity(len(raw), dtype=bool), [], ["passthrough"] * len(raw)
        )
    if hasattr(preprocessor, "fit") and not _is_dataframe_mapper(preprocessor):
        kind = type(preprocessor).__name__  # (a mapper is fitted once it has built_features)
        msg = f"build_feature_map needs a fitted preprocessor; this {kind} is not fitted yet."
        check_is_fitted(preprocessor, msg=msg + " Call fit first.")
        _check_inputs(preprocessor, raw)

    def sample() -> Any:
        if X_sample is None:
            return None
        if isinstance(X_sample, pd.DataFrame):
            return X_sample.iloc[:_SAMPLE_ROWS]
        X = X_sample if sp.issparse(X_sample) else np.asarray(X_sample)
        return X[:_SAMPLE_ROWS]

    node = _map_node(preprocessor, raw, "", functools.cache(sample))
    dep = node.dep
    n_parents = np.diff(dep.indptr)
    mixed: dict[str, dict] = {}
    for path, out_mask, in_mask in node.events:
        rows = np.flatnonzero(out_mask & (n_parents > 1))
        if not len(rows):
            continue
        feeding = np.asarray(dep[rows].sum(axis=0)).ravel() > 0
        inputs = np.flatnonzero(feeding & in_mask)
        if len(inputs) < 2:
            continue
        entry = mixed.setdefault(path, {"transformer": path, "outputs": [], "inputs": []})
        entry["outputs"] = sorted(set(entry["outputs"]) | set(rows.tolist()))
        entry["inputs"] = sorted(set(entry["inputs"]) | set(inputs.tolist()))
    mixed_list = [
        {
            "transformer": m["transformer"],
            "outputs": [node.names[j] for j in m["outputs"]],
            "inputs": [raw[i] for i in m["inputs"]],
        }
        for m in mixed.values()
    ]
    return FeatureMap(raw, node.names, dep, mixed_list, node.producers)
