"""One array representation of tree ensembles, read from LightGBM, XGBoost and scikit-learn.

:class:`TreeEnsemble` holds every node of every tree in flat arrays (preorder per tree, so
a parent always precedes its children), the way each booster decides a split (threshold
comparison ``<=`` or ``<``, float32 rounding, missing values, native categorical sets), the
leaf values, the node covers (training counts or hessian sums, for path-dependent TreeSHAP)
and a constant offset. ``raw = offset + sum of the leaves reached`` reproduces each model's
raw score (log-odds, softmax logits, prediction, forest probability); ``from_estimator``
checks that on probe rows before returning, so a format change in a booster fails loudly
instead of explaining the wrong model.

Split decisions (``kind``):

* ``LE`` / ``LT``: numeric ``x <= t`` (LightGBM, scikit-learn) or ``x < t`` (XGBoost);
  ``cast32`` compares ``float32(x)`` as scikit-learn trees and XGBoost do.
  Missing values (``miss``): ``DEFAULT`` sends NaN to ``nan_left``; ``NAN_AS_ZERO``
  (LightGBM ``missing_type=None``) reads NaN as 0.0; ``ZERO`` (LightGBM ``zero_as_missing``)
  sends NaN and |x| <= 1e-35 to ``nan_left``.
* ``CAT``: a category ``int(x)`` in ``cats[cat_lo:cat_mid]`` goes left, in
  ``cats[cat_mid:cat_hi]`` right, any other (unknown, negative) to ``unk_left``; NaN to
  ``nan_left``. ``CAT_TRUNC`` is LightGBM's variant: ``x`` is truncated to an int before
  the sign test (-0.5 is category 0). LightGBM lists the left categories (others right), XGBoost the right ones
  (others left), HistGradientBoosting the left ones and the known right ones (others and
  NaN follow ``missing_go_to_left``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LE, LT, CAT, CAT_TRUNC = 0, 1, 2, 3
DEFAULT, NAN_AS_ZERO, ZERO = 0, 1, 2


class UnsupportedTreeModel(TypeError):
    """The compiled TreeSHAP engine cannot read this tree model (linear trees, multi-target...)."""


@dataclass
class TreeEnsemble:
    """Flat arrays of all nodes of all trees (see the module docstring)."""

    left: np.ndarray  # int64, global index of the left child, -1 at leaves
    right: np.ndarray
    feature: np.ndarray  # int64 model input column, -1 at leaves
    threshold: np.ndarray  # float64
    kind: np.ndarray  # int8 LE / LT / CAT
    miss: np.ndarray  # int8 DEFAULT / NAN_AS_ZERO / ZERO
    nan_left: np.ndarray  # bool
    unk_left: np.ndarray  # bool
    cat_lo: np.ndarray  # int64 ranges into cats
    cat_mid: np.ndarray
    cat_hi: np.ndarray
    cats: np.ndarray  # int64 sorted per range
    cover: np.ndarray  # float64
    value: np.ndarray  # float64 (n_nodes, width): leaf values (internal rows unused)
    tree_start: np.ndarray  # int64 (n_trees + 1,): node ranges per tree
    tree_output: np.ndarray  # int64 (n_trees,): first output a tree adds to
    offset: np.ndarray  # float64 (n_outputs,)
    cast32: bool = False
    n_features: int = 0
    input_transform: object = None  # e.g. HistGradientBoosting's own ordinal encoder
    feature_origin: np.ndarray | None = None  # model column -> column of the estimator's input
    family: str = ""
    #: the model's own raw score times this is ours (LightGBM random forests: 1 / n_iterations;
    #: their ``raw_score`` and ``pred_contrib`` sum the trees while ``predict_proba`` averages)
    native_scale: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_trees(self) -> int:
        return len(self.tree_start) - 1

    @property
    def n_outputs(self) -> int:
        return len(self.offset)

    @property
    def width(self) -> int:
        return self.value.shape[1]

    def model_input(self, X) -> np.ndarray:
        """The matrix the trees read: float64, C-contiguous (dense)."""
        if self.input_transform is not None:
            X = self.input_transform(X)
        if hasattr(X, "toarray"):
            X = X.toarray()
        if hasattr(X, "dtypes") and not all(
            pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in X.dtypes
        ):  # e.g. a pandas 'category' column, which the booster encodes itself
            raise UnsupportedTreeModel(
                "the rows have non-numeric DataFrame columns (the booster encodes them itself)."
            )
        if hasattr(X, "to_numpy"):
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.ascontiguousarray(X, dtype=np.float64)

    def predict_raw(self, X) -> np.ndarray:
        """Raw score (n_rows, n_outputs) computed from the arrays (the extraction check)."""
        from ._treeshap import predict_raw

        return predict_raw(self, self.model_input(X))


class _Builder:
    """Accumulates trees node by node (preorder) into the flat arrays."""

    def __init__(self, width: int):
        self.width = width
        self.cols: dict[str, list] = {
            k: []
            for k in (
                "left right feature threshold kind miss nan_left unk_left "
                "cat_lo cat_mid cat_hi cover value"
            ).split()
        }
        self.cats: list[int] = []
        self.tree_start = [0]
        self.tree_output: list[int] = []

    def node(self, *, feature=-1, threshold=0.0, kind=LE, miss=DEFAULT, nan_left=False,
             unk_left=False, left_cats=(), right_cats=(), cover=0.0, value=None) -> int:  # fmt: skip
        c = self.cols
        idx = len(c["left"])
        lo = len(self.cats)
        self.cats.extend(sorted(int(v) for v in left_cats))
        mid = len(self.cats)
        self.cats.extend(sorted(int(v) for v in right_cats))
        for key, val in (
            ("left", -1), ("right", -1), ("feature", feature), ("threshold", threshold),
            ("kind", kind), ("miss", miss), ("nan_left", nan_left), ("unk_left", unk_left),
            ("cat_lo", lo), ("cat_mid", mid), ("cat_hi", len(self.cats)), ("cover", cover),
        ):  # fmt: skip
            c[key].append(val)
        v = np.zeros(self.width) if value is None else np.broadcast_to(value, (self.width,))
        c["value"].append(np.asarray(v, dtype=np.float64))
        return idx

    def add_tree(self, root, describe) -> None:
        """Add a tree in preorder; ``describe(n)`` gives node ``n``'s keyword arguments for
        :meth:`node` and its ``(left, right)`` children, or None at a leaf."""

        def walk(n) -> int:
            kwargs, children = describe(n)
            idx = self.node(**kwargs)
            if children is not None:
                left = walk(children[0])
                right = walk(children[1])
                self.cols["left"][idx] = left
                self.cols["right"][idx] = right
            return idx

        walk(root)

    def end_tree(self, output: int) -> None:
        self.tree_start.append(len(self.cols["left"]))
        self.tree_output.append(output)

    def build(self, offset, *, cast32: bool, n_features: int, family: str) -> TreeEnsemble:
        c = self.cols
        i64 = lambda k: np.asarray(c[k], dtype=np.int64)  # noqa: E731
        return TreeEnsemble(
            left=i64("left"), right=i64("right"), feature=i64("feature"),
            threshold=np.asarray(c["threshold"], dtype=np.float64),
            kind=np.asarray(c["kind"], dtype=np.int8), miss=np.asarray(c["miss"], dtype=np.int8),
            nan_left=np.asarray(c["nan_left"], dtype=np.bool_),
            unk_left=np.asarray(c["unk_left"], dtype=np.bool_),
            cat_lo=i64("cat_lo"), cat_mid=i64("cat_mid"), cat_hi=i64("cat_hi"),
            cats=np.asarray(self.cats, dtype=np.int64),
            cover=np.asarray(c["cover"], dtype=np.float64),
            value=np.vstack(c["value"]) if c["value"] else np.zeros((0, self.width)),
            tree_start=np.asarray(self.tree_start, dtype=np.int64),
            tree_output=np.asarray(self.tree_output, dtype=np.int64),
            offset=np.asarray(offset, dtype=np.float64).ravel(),
            cast32=cast32, n_features=int(n_features), family=family,
        )  # fmt: skip


# --------------------------------------------------------------------------- LightGBM
_LGB_MISSING = (NAN_AS_ZERO, ZERO, DEFAULT)  # decision_type bits 2-3: None, Zero, NaN


def _lgb_array(block: dict, key: str, dtype, n: int) -> np.ndarray:
    text = block.get(key, "")
    return np.array(text.split(), dtype=dtype) if n and text else np.zeros(n, dtype=dtype)


def _lgb_tree(b: _Builder, block: dict, scale: float) -> None:
    """Add one tree of LightGBM's text model (``Tree=i`` block, ``key=value`` lines).

    Internal nodes keep LightGBM's numbering (a child is always split after its parent, so
    it has a larger index) and leaves follow them: parents precede children.
    """
    if block.get("is_linear", "0") != "0":
        raise UnsupportedTreeModel(
            "LightGBM linear trees (linear_tree=True) are not supported by the compiled "
            "TreeSHAP engine; use tree_players='sum' (the booster's own pred_contrib)."
        )
    n_leaves = int(block["num_leaves"])
    n_int = n_leaves - 1
    leaf_value = _lgb_array(block, "leaf_value", np.float64, n_leaves) * scale
    leaf_count = _lgb_array(block, "leaf_count", np.float64, n_leaves)
    feature = _lgb_array(block, "split_feature", np.int64, n_int)
    threshold = _lgb_array(block, "threshold", np.float64, n_int)
    decision = _lgb_array(block, "decision_type", np.int64, n_int)
    left = _lgb_array(block, "left_child", np.int64, n_int)
    right = _lgb_array(block, "right_child", np.int64, n_int)
    count = _lgb_array(block, "internal_count", np.float64, n_int)
    bounds = _lgb_array(block, "cat_boundaries", np.int64, int(block.get("num_cat", 0)) + 1)
    words = _lgb_array(block, "cat_threshold", np.uint32, 1)
    base = len(b.cols["left"])

    def child(c: int) -> int:  # internal c >= 0, leaf ~c
        return base + (int(c) if c >= 0 else n_int + ~int(c))

    for n in range(n_int):
        categorical = bool(decision[n] & 1)
        kw = {"feature": int(feature[n]), "cover": float(count[n])}
        if categorical:
            idx = int(threshold[n])
            bits = words[bounds[idx]: bounds[idx + 1]]
            kw.update(kind=CAT_TRUNC, left_cats=[32 * w + i for w, word in enumerate(bits)
                                                 for i in range(32) if (int(word) >> i) & 1])  # fmt: skip
        else:
            kw.update(kind=LE, threshold=float(threshold[n]), nan_left=bool(decision[n] & 2),
                      miss=_LGB_MISSING[(int(decision[n]) >> 2) & 3])  # fmt: skip
        idx = b.node(**kw)
        b.cols["left"][idx] = child(left[n])
        b.cols["right"][idx] = child(right[n])
    for j in range(n_leaves):
        b.node(cover=float(leaf_count[j]) if n_int else 0.0, value=float(leaf_value[j]))


def _from_lightgbm(estimator) -> TreeEnsemble:
    booster = getattr(estimator, "booster_", estimator)
    text = booster.model_to_string(num_iteration=-1)
    head, _, rest = text.partition("\nTree=")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    k = int(header.get("num_tree_per_iteration", 1))
    body = rest.split("end of trees")[0]
    blocks = [dict(line.split("=", 1) for line in chunk.splitlines()[1:] if "=" in line)
              for chunk in ("Tree=" + body).split("\nTree=")] if rest else []  # fmt: skip
    average = "average_output" in head.splitlines()
    scale = 1.0 / (len(blocks) // k) if average and blocks else 1.0
    b = _Builder(1)
    for i, block in enumerate(blocks):
        _lgb_tree(b, block, scale)
        b.end_tree(i % k)
    ens = b.build(np.zeros(k), cast32=False, n_features=booster.num_feature(),
                  family="lightgbm")  # fmt: skip
    ens.native_scale = scale
    return ens


# --------------------------------------------------------------------------- XGBoost
def _xgb_base_margin(learner: dict, n_outputs: int) -> np.ndarray:
    raw = str(learner["learner_model_param"]["base_score"]).strip("[]")
    base = np.array([float(v) for v in raw.split(",")], dtype=np.float64)
    objective = learner["objective"]["name"]
    if objective in ("binary:logistic", "reg:logistic", "binary:logitraw"):
        if objective != "binary:logitraw":
            base = np.log(base / (1.0 - base))
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        base = np.log(base)
    return np.broadcast_to(base, (n_outputs,)).copy() if base.size == 1 else base


def _xgb_tree(b: _Builder, tree: dict, w: float) -> None:
    """Add one tree of XGBoost's JSON model (leaf values scaled by the dart weight ``w``)."""
    lc, rc = tree["left_children"], tree["right_children"]
    idx_, cond = tree["split_indices"], tree["split_conditions"]
    dleft, hess = tree["default_left"], tree["sum_hessian"]
    split_type = tree.get("split_type", [0] * len(lc))
    cats = {}
    for node, beg, size in zip(tree.get("categories_nodes", []),
                               tree.get("categories_segments", []),
                               tree.get("categories_sizes", [])):  # fmt: skip
        cats[int(node)] = tree["categories"][int(beg): int(beg) + int(size)]

    def describe(n: int):
        if lc[n] == -1:
            return {"cover": float(hess[n]), "value": float(np.float32(cond[n])) * w}, None
        kw = {"feature": int(idx_[n]), "nan_left": bool(dleft[n]), "cover": float(hess[n])}
        if int(split_type[n]) == 1:
            kw.update(kind=CAT, unk_left=True, right_cats=cats.get(n, []))
        else:
            kw.update(kind=LT, threshold=float(np.float32(cond[n])))
        return kw, (lc[n], rc[n])

    b.add_tree(0, describe)


def _from_xgboost(estimator) -> TreeEnsemble:
    booster = estimator.get_booster() if hasattr(estimator, "get_booster") else estimator
    model = json.loads(bytes(booster.save_raw(raw_format="json")))
    learner = model["learner"]
    gb = learner["gradient_booster"]
    name = gb.get("name", "gbtree")
    weights = None
    if name == "dart":
        weights = gb.get("weight_drop")
        gb = gb["gbtree"]
    elif name != "gbtree":
        raise UnsupportedTreeModel(f"XGBoost booster {name!r} has no trees to explain.")
    trees = gb["model"]["trees"]
    info = gb["model"]["tree_info"]
    n_outputs = max(int(learner["learner_model_param"].get("num_class", 0)), 1)
    n_targets = int(learner["learner_model_param"].get("num_target", 1))
    if n_targets > 1:
        n_outputs = max(n_outputs, n_targets)
    b = _Builder(1)
    for t, tree in enumerate(trees):
        if int(tree["tree_param"].get("size_leaf_vector", "1") or 1) > 1:
            raise UnsupportedTreeModel("XGBoost multi-target (vector-leaf) trees are not supported.")
        _xgb_tree(b, tree, 1.0 if weights is None else float(weights[t]))
        b.end_tree(int(info[t]))
    n_features = int(learner["learner_model_param"]["num_feature"])
    return b.build(_xgb_base_margin(learner, n_outputs), cast32=True, n_features=n_features,
                   family="xgboost")  # fmt: skip


# --------------------------------------------------------------------------- scikit-learn
def _sk_tree(b: _Builder, tree, scale: float, values: np.ndarray) -> None:
    """Add one ``sklearn.tree._tree.Tree`` with leaf ``values`` (n_nodes, width) * scale."""
    cl, cr = tree.children_left, tree.children_right
    missing_left = getattr(tree, "missing_go_to_left", None)
    cover = tree.weighted_n_node_samples

    def describe(n: int):
        if cl[n] == -1:
            return {"cover": float(cover[n]), "value": values[n] * scale}, None
        nan_left = bool(missing_left[n]) if missing_left is not None else False
        return {"feature": int(tree.feature[n]), "threshold": float(tree.threshold[n]),
                "kind": LE, "nan_left": nan_left, "cover": float(cover[n])}, (cl[n], cr[n])  # fmt: skip

    b.add_tree(0, describe)


def _from_sklearn_trees(estimator) -> TreeEnsemble:
    name = type(estimator).__name__
    single = hasattr(estimator, "tree_")
    trees = [estimator.tree_] if single else [e.tree_ for e in estimator.estimators_]
    classifier = "Classifier" in name
    n_outputs_attr = getattr(estimator, "n_outputs_", 1)
    if classifier and n_outputs_attr > 1:
        raise UnsupportedTreeModel("multi-output tree classifiers are not supported.")
    if classifier:
        width = int(trees[0].value.shape[2])
    else:
        width = int(trees[0].value.shape[1])
    b = _Builder(width)
    scale = 1.0 / len(trees)
    for tree in trees:
        value = tree.value[:, 0, :] if classifier else tree.value[:, :, 0]
        if classifier:  # proportions (scikit-learn >= 1.4 stores them; older: counts)
            total = value.sum(axis=1, keepdims=True)
            value = np.divide(value, total, out=np.zeros_like(value), where=total > 0)
        _sk_tree(b, tree, scale, value)
        b.end_tree(0)
    return b.build(np.zeros(width), cast32=True, n_features=estimator.n_features_in_,
                   family="sklearn")  # fmt: skip


def _from_gradient_boosting(estimator) -> TreeEnsemble:
    stages = estimator.estimators_  # (n_iter, K)
    k = stages.shape[1]
    lr = float(estimator.learning_rate)
    b = _Builder(1)
    for i in range(stages.shape[0]):
        for j in range(k):
            tree = stages[i, j].tree_
            _sk_tree(b, tree, lr, tree.value[:, 0, :1])
            b.end_tree(j)
    ens = b.build(np.zeros(k), cast32=True, n_features=estimator.n_features_in_,
                  family="sklearn")  # fmt: skip
    probe = np.zeros((1, estimator.n_features_in_))
    raw = native_raw_score(estimator, probe)
    ens.offset = raw[0] - ens.predict_raw(probe)[0]
    return ens


def _hgb_tree(b: _Builder, pred, known_cats: dict) -> None:
    """Add one ``TreePredictor`` of HistGradientBoosting (numeric and categorical splits)."""
    nodes = pred.nodes
    bitsets = pred.raw_left_cat_bitsets

    def cats_of(bits_row) -> list[int]:
        words = np.asarray(bits_row, dtype=np.uint64)
        return [w * 32 + bit for w, bits in enumerate(words) for bit in range(32)
                if (int(bits) >> bit) & 1]  # fmt: skip

    def describe(n: int):
        node = nodes[n]
        if node["is_leaf"]:
            return {"cover": float(node["count"]), "value": float(node["value"])}, None
        missing_left = bool(node["missing_go_to_left"])
        kw = {"feature": int(node["feature_idx"]), "nan_left": missing_left,
              "cover": float(node["count"])}  # fmt: skip
        if node["is_categorical"]:
            left = cats_of(bitsets[node["bitset_idx"]])
            right = sorted(set(known_cats.get(int(node["feature_idx"]), [])) - set(left))
            kw.update(kind=CAT, unk_left=missing_left, left_cats=left, right_cats=right)
        else:
            kw.update(kind=LE, threshold=float(node["num_threshold"]))
        return kw, (int(node["left"]), int(node["right"]))

    b.add_tree(0, describe)


def _from_hist_gradient_boosting(estimator) -> TreeEnsemble:
    known_cats = _hgb_known_categories(estimator)
    b = _Builder(1)
    for it in estimator._predictors:
        for j, pred in enumerate(it):
            _hgb_tree(b, pred, known_cats)
            b.end_tree(j)
    is_cat = getattr(estimator, "is_categorical_", None)
    n_features = len(is_cat) if is_cat is not None else estimator.n_features_in_
    ens = b.build(np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel(),
                  cast32=False, n_features=n_features, family="sklearn")  # fmt: skip
    pre = getattr(estimator, "_preprocessor", None)
    if pre is not None:
        ens.input_transform = pre.transform
        ens.feature_origin = _column_transformer_origin(pre)
    return ens


def _hgb_known_categories(estimator) -> dict[int, list[int]]:
    """Model column -> the integer categories seen at fit (HistGradientBoosting)."""
    out: dict[int, list[int]] = {}
    mapper = getattr(estimator, "_bin_mapper", None)
    is_cat = getattr(mapper, "is_categorical", None)
    if mapper is None or is_cat is None:
        return out
    for f in np.flatnonzero(is_cat):
        thresholds = mapper.bin_thresholds_[f]
        out[int(f)] = [int(v) for v in np.asarray(thresholds)]
    return out


def _column_transformer_origin(pre) -> np.ndarray:
    """Output column -> input column of a ColumnTransformer of one-to-one transformers."""
    origin = np.empty(sum(s.stop - s.start for s in pre.output_indices_.values()), dtype=np.int64)
    for name, _, cols in pre.transformers_:
        sl = pre.output_indices_.get(name)
        if sl is None or sl.stop == sl.start:
            continue
        cols = np.asarray(cols)
        if cols.dtype == bool:
            cols = np.flatnonzero(cols)
        origin[sl] = cols
    return origin


# --------------------------------------------------------------------------- entry point
_SKLEARN_FORESTS = {
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
    "ExtraTreeRegressor", "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor",
}  # fmt: skip


def native_raw_score(estimator, X) -> np.ndarray:
    """The model's own raw score (n_rows, n_outputs) in float64, to check the extraction."""
    module = type(estimator).__module__
    name = type(estimator).__name__
    if module.startswith("lightgbm"):
        booster = getattr(estimator, "booster_", estimator)
        out = np.asarray(booster.predict(X, raw_score=True), dtype=np.float64)
    elif module.startswith("xgboost"):
        import xgboost

        booster = estimator.get_booster()
        dm = xgboost.DMatrix(X, enable_categorical=True, feature_names=booster.feature_names)
        out = np.asarray(booster.predict(dm, output_margin=True), dtype=np.float64)
    elif name.startswith("HistGradientBoosting"):
        out = np.asarray(estimator._raw_predict(X), dtype=np.float64)
    elif name.startswith("GradientBoosting"):
        method = estimator.decision_function if "Classifier" in name else estimator.predict
        out = np.asarray(method(X), dtype=np.float64)
    elif "Classifier" in name:
        out = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    else:
        out = np.asarray(estimator.predict(X), dtype=np.float64)
    return out.reshape(out.shape[0], -1)


def from_estimator(estimator, X_probe=None) -> TreeEnsemble:
    """Read a fitted tree model into a :class:`TreeEnsemble`, checked on ``X_probe`` rows.

    Raises
    ------
    UnsupportedTreeModel
        When the engine cannot represent the model, or the arrays do not reproduce the
        model's raw score on the probe rows (relative error above 1e-9; 1e-6 for
        XGBoost, whose own output is float32).
    """
    module = type(estimator).__module__
    name = type(estimator).__name__
    if module.startswith("lightgbm"):
        ens = _from_lightgbm(estimator)
    elif module.startswith("xgboost"):
        ens = _from_xgboost(estimator)
    elif name.startswith("HistGradientBoosting"):
        ens = _from_hist_gradient_boosting(estimator)
    elif name.startswith("GradientBoosting"):
        ens = _from_gradient_boosting(estimator)
    elif name in _SKLEARN_FORESTS:
        ens = _from_sklearn_trees(estimator)
    else:
        raise UnsupportedTreeModel(f"{name} is not read by the compiled TreeSHAP engine.")
    if X_probe is not None:
        check_extraction(ens, estimator, X_probe)
    return ens


def check_extraction(ens: TreeEnsemble, estimator, X) -> float:
    """Max relative error of ``ens.predict_raw`` against the model; raise past the tolerance."""
    ours = ens.predict_raw(X)
    theirs = native_raw_score(estimator, X) * ens.native_scale
    if ours.shape != theirs.shape:
        raise UnsupportedTreeModel(
            f"The tree arrays give {ours.shape[1]} outputs but {type(estimator).__name__} "
            f"gives {theirs.shape[1]}."
        )
    scale = max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    err = float(np.max(np.abs(ours - theirs), initial=0.0)) / scale
    tol = 1e-6 if ens.family == "xgboost" else 1e-9
    if not math.isfinite(err) or err > tol:
        raise UnsupportedTreeModel(
            f"The tree arrays read from {type(estimator).__name__} do not reproduce its raw "
            f"score (relative error {err:.3g} > {tol:g}); please report this model."
        )
    return err
