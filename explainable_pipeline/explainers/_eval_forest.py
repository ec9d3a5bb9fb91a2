"""Trees, random forests and gradient boosting: coalition values from leaf terms.

At a node that splits engineered column ``c``, owned by player ``p``, a hybrid row goes where
the explained row goes when ``p`` is in the coalition and where the background row goes
otherwise. Per explained row and background row, every node's direction is computed once, with
the model's own rules: scikit-learn's trees round the column to float32 before
``value <= threshold`` (histogram gradient boosting compares in float64), and NaN follows the
node's ``missing_go_to_left``. The game is then a sum of leaf terms (:func:`_leaf_terms`), each
tested on 64 coalitions per machine word (:func:`_sum_terms`), and the model's last step runs:
the trees' mean for a forest (class fractions for ``predict_proba``, values for ``predict``),
the baseline plus the trees and the loss's link for gradient boosting.
``DecisionTree*``, ``ExtraTree*``, ``RandomForest*``, ``ExtraTrees*`` with one output,
``HistGradientBoosting*`` with numeric splits and ``GradientBoosting*`` with a constant initial
estimator (``predict_proba``, ``decision_function``, ``predict``), up to 64 players.

The path matters inside an ensemble or a calibrated classifier (a forest or a boosted model
alone has exact TreeSHAP, ``explainer="tree"``), for outputs TreeSHAP cannot add up to (a
multiclass gradient boosting's probabilities: a softmax of the trees' sums), and when
``explainer="kernel"`` is asked for.
"""

from __future__ import annotations

import numpy as np

from ._eval_partials import as_fitted
from ._jit import jit

_CACHE_BYTES = 64 << 20
"""The leaf terms of a chunk's (row, background row) games are kept up to this size (a
100-tree forest has about a thousand terms per game: 32 kB with two outputs)."""


def _families():
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import (
        DecisionTreeClassifier,
        DecisionTreeRegressor,
        ExtraTreeClassifier,
        ExtraTreeRegressor,
    )

    forests = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier,
               ExtraTreesRegressor)
    trees = (DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier,
             ExtraTreeRegressor)
    classifiers = (RandomForestClassifier, ExtraTreesClassifier, DecisionTreeClassifier,
                   ExtraTreeClassifier)
    return forests, trees, classifiers


def build(estimator, response, Bd, players, weights, link=None):
    """The forest path of ``estimator.<response>``; see :func:`._evaluators.fast_model`."""
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    forests, trees, classifiers = _families()
    hist = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
    boosting = (GradientBoostingClassifier, GradientBoostingRegressor)
    if type(estimator) not in forests + trees + hist + boosting:
        return None, None
    name = type(estimator).__name__
    if players.shape[0] > 64:
        return None, f"{name}: the forest path takes up to 64 players ({players.shape[0]} here)"
    if isinstance(estimator, hist):
        return _hist_boosting(estimator, response, Bd, players, link)
    if isinstance(estimator, boosting):
        return _gradient_boosting(estimator, response, Bd, players, link)
    classifier = isinstance(estimator, classifiers)
    if (classifier and response != "predict_proba") or (not classifier and response != "predict"):
        return None, f"{name}.{response} is not on the fast path"
    if estimator.n_outputs_ != 1:
        return None, f"{name} has {estimator.n_outputs_} outputs"
    members = list(estimator.estimators_) if isinstance(estimator, forests) else [estimator]
    nodes = _tree_nodes(members, classifier)
    return Forest(nodes, Bd, players, float32=True, n_trees=len(members), link=link), None


def _flat_nodes(trees) -> dict:
    """Every tree's nodes in flat arrays, children and roots as flat indices (-1: a leaf).

    ``trees`` yields per tree ``(left, right, leaf, feature, threshold, missing_left, value)``,
    each per node in the tree's own numbering; ``value`` (nodes, V).
    """
    out = {key: [] for key in ("left", "right", "feature", "threshold", "missing", "value",
                               "roots")}
    offset = 0
    for left, right, leaf, feature, threshold, missing, value in trees:
        out["left"].append(np.where(leaf, -1, np.asarray(left, dtype=np.intp) + offset))
        out["right"].append(np.where(leaf, -1, np.asarray(right, dtype=np.intp) + offset))
        out["feature"].append(np.where(leaf, 0, np.asarray(feature, dtype=np.intp)))
        out["threshold"].append(np.asarray(threshold, dtype=np.float64))
        out["missing"].append(np.asarray(missing, dtype=bool))
        out["value"].append(value)
        out["roots"].append(offset)
        offset += value.shape[0]
    return out


def _tree_nodes(members, classifier) -> dict:
    """Flat nodes of scikit-learn trees; leaves' values as their ``predict_proba`` (class
    fractions) or ``predict``."""

    def trees():
        for member in members:
            t = member.tree_
            if classifier:
                v = t.value[:, 0, : member.n_classes_].astype(np.float64)
                total = v.sum(axis=1, keepdims=True)
                v = v / np.where(total == 0.0, 1.0, total)  # predict_proba's normalisation
            else:
                v = t.value[:, 0, :1].astype(np.float64)
            yield (t.children_left, t.children_right, t.children_left < 0, t.feature,
                   t.threshold, t.missing_go_to_left, v)

    return _flat_nodes(trees())


def _hist_boosting(estimator, response, Bd, players, link):
    """``HistGradientBoosting*``: the raw prediction is the baseline plus every iteration's
    trees (one per class), and the model's loss maps it to ``predict_proba`` or ``predict``;
    ``decision_function`` is the raw prediction. Numeric splits only, compared in float64."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    name = type(estimator).__name__
    classifier = isinstance(estimator, HistGradientBoostingClassifier)
    allowed = ("predict_proba", "decision_function") if classifier else ("predict",)
    if response not in allowed:
        return None, f"{name}.{response} is not on the fast path"
    if getattr(estimator, "_preprocessor", None) is not None or any(
            p.nodes["is_categorical"].any() for it in estimator._predictors for p in it):
        return None, f"{name} has categorical splits (fast path: numeric splits)"
    K = estimator.n_trees_per_iteration_

    def trees():  # every iteration's tree of each class, its leaves' values in that column
        for iteration in estimator._predictors:
            for k, predictor in enumerate(iteration):
                nodes = predictor.nodes
                v = np.zeros((nodes.shape[0], K))
                v[:, k] = nodes["value"]
                yield (nodes["left"], nodes["right"], nodes["is_leaf"].astype(bool),
                       nodes["feature_idx"], nodes["num_threshold"],
                       nodes["missing_go_to_left"], v)

    nodes = _flat_nodes(trees())
    if not nodes["roots"]:
        return None, f"{name} has no trees"
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    loss = estimator._loss
    if response == "predict_proba":
        def finish(raw):
            return loss.predict_proba(raw + baseline)
    elif response == "decision_function":
        def finish(raw):
            return raw + baseline
    else:
        def finish(raw):
            return loss.link.inverse((raw + baseline).ravel())[:, None]
    return Forest(nodes, Bd, players, float32=False, n_trees=1, finish=finish, link=link,
                  name="hist-boosting"), None


def _gradient_boosting(estimator, response, Bd, players, link):
    """``GradientBoosting*``: the raw prediction is the initial estimator's constant plus the
    learning rate times every stage's regression trees (one per class), compared in float32
    as scikit-learn's trees; the classifier's loss maps it to ``predict_proba`` (expit, twice
    the raw prediction for the exponential loss, softmax) and ``decision_function`` is the raw
    prediction. Only public attributes are read: the constant is the model's own raw
    prediction on one background row minus its trees there."""
    from scipy.special import expit, softmax
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import GradientBoostingClassifier

    name = type(estimator).__name__
    classifier = isinstance(estimator, GradientBoostingClassifier)
    allowed = ("predict_proba", "decision_function") if classifier else ("predict",)
    if response not in allowed:
        return None, f"{name}.{response} is not on the fast path"
    init = estimator.init_
    # a classifier reads its init's predict_proba, a regressor its predict: "stratified" is
    # random in both, "uniform" draws a random class for predict
    random = ("stratified",) if classifier else ("stratified", "uniform")
    constant = (isinstance(init, str) and init == "zero") or type(init) is DummyRegressor or (
        type(init) is DummyClassifier and init.strategy not in random)
    if not constant:
        return None, (f"{name}'s initial estimator {init!r} predicts per row (fast path: the "
                      "default constant init, a Dummy* estimator that predicts a constant, or "
                      "init='zero')")
    stages = np.asarray(estimator.estimators_)  # (n_stages, K) regression trees
    K, rate = stages.shape[1], float(estimator.learning_rate)

    def trees():  # every stage's tree of each class, its leaves' values (times the rate)
        for stage in stages:
            for k, member in enumerate(stage):
                t = member.tree_
                v = np.zeros((t.node_count, K))
                v[:, k] = rate * t.value[:, 0, 0]
                yield (t.children_left, t.children_right, t.children_left < 0, t.feature,
                       t.threshold, t.missing_go_to_left, v)

    nodes = _flat_nodes(trees())
    if not nodes["roots"]:
        return None, f"{name} has no trees"
    b0 = as_fitted(estimator, Bd[:1])  # with the model's feature names, if any...
    raw = estimator.decision_function(b0) if classifier else estimator.predict(b0)
    # ... but apply() hands the row to the stages' trees, fitted without names
    leaves = np.asarray(estimator.apply(Bd[:1])).astype(np.intp).reshape(stages.shape)
    trees_at_b0 = [sum(rate * stage[k].tree_.value[leaf[k], 0, 0]
                       for stage, leaf in zip(stages, leaves)) for k in range(K)]
    baseline = np.asarray(raw, dtype=np.float64).reshape(-1) - np.asarray(trees_at_b0)
    scale = 2.0 if estimator.loss == "exponential" else 1.0

    def finish(summed):
        raw = summed + baseline
        if response != "predict_proba":
            return raw
        if K > 1:
            return softmax(raw, axis=1)
        p = expit(scale * raw)
        return np.hstack([1.0 - p, p])

    return Forest(nodes, Bd, players, float32=True, n_trees=1, finish=finish, link=link,
                  name="gradient-boosting"), None


class Forest:
    """The forest path prepared for one background: every tree's nodes in flat arrays."""

    cheap_background_mean = False
    # a coalition costs about a sixth of the forest's own call on a hybrid row: twice the
    # coalitions and no logistic proxies (on a 100-tree forest, 30 columns, the same error as
    # the proxies at twice the coalitions, in half the time; benchmarks/README.md)
    budget_factor = 2

    def __init__(self, nodes, Bd, players, *, float32, n_trees, finish=None, link=None,
                 name="forest"):
        owner = np.argmax(players, axis=0)  # the player of each engineered column
        self.name = name
        self.left, self.right = np.concatenate(nodes["left"]), np.concatenate(nodes["right"])
        self.feature = np.concatenate(nodes["feature"])
        self.player = owner[self.feature].astype(np.intp)
        self.threshold = np.concatenate(nodes["threshold"])
        self.missing_left = np.concatenate(nodes["missing"])
        self.value = np.ascontiguousarray(np.concatenate(nodes["value"]))
        self.roots = np.asarray(nodes["roots"], dtype=np.intp)
        self.float32 = float32  # scikit-learn's trees compare float32 values
        self.divisor = float(n_trees)  # forests average their trees, boosting sums them
        self.finish, self.link = finish, link
        self.go_b = self.directions(Bd)  # (m, nodes)
        self.width = self.value.shape[1]
        self.n_out = self.outputs(np.zeros((1, self.width))).shape[-1]

    def outputs(self, summed: np.ndarray) -> np.ndarray:
        """Outputs (r, O) from the trees' summed (averaged, for forests) leaf values (r, V)."""
        out = summed if self.finish is None else self.finish(summed)
        return out if self.link is None else self.link(out)

    def directions(self, Y: np.ndarray) -> np.ndarray:
        """(r, nodes) bool: whether each row goes left at each node (leaves: unused)."""
        vals = (Y.astype(np.float32).astype(np.float64) if self.float32 else Y)[:, self.feature]
        return np.where(np.isnan(vals), self.missing_left, vals <= self.threshold)

    def bind(self, Xt: np.ndarray):
        return _Bound(self, Xt)


class _Bound:
    def __init__(self, forest: Forest, Xt: np.ndarray):
        self.forest = forest
        self.n = Xt.shape[0]
        self.n_out = forest.n_out
        self.width = forest.width
        self.go_x = forest.directions(Xt)  # (n, nodes)
        self._terms: dict[tuple[int, int], tuple] = {}
        self._cached = 0

    def terms(self, r: int, j: int):
        """The (row ``r``, background row ``j``) game as leaf terms (:func:`_leaf_terms`), equal
        terms merged; kept for the next rounds while they take under ``_CACHE_BYTES``."""
        key = (r, j)
        if key not in self._terms:
            if self._cached > _CACHE_BYTES:
                self._terms.clear()
                self._cached = 0
            fo = self.forest
            A, B, V, const = _leaf_terms(self.go_x[r], fo.go_b[j], fo.player, fo.left,
                                         fo.right, fo.roots, fo.value)
            if A.size:
                order = np.lexsort((B, A))
                A, B, V = A[order], B[order], V[order]
                first = np.ones(A.size, dtype=bool)
                first[1:] = (A[1:] != A[:-1]) | (B[1:] != B[:-1])
                starts = np.flatnonzero(first)
                A, B, V = A[starts], B[starts], np.add.reduceat(V, starts, axis=0)
            self._terms[key] = (A, B, np.ascontiguousarray(V), const)
            self._cached += A.nbytes + B.nbytes + V.nbytes
        return self._terms[key]

    def single(self, Z: np.ndarray, j: int, rows) -> np.ndarray:
        """(len(rows), b, O) values of coalitions ``Z`` (b, M) against background row ``j``."""
        fo = self.forest
        words = _sliced(Z)
        out = np.empty((len(rows), Z.shape[0], fo.value.shape[1]))
        for a, r in enumerate(rows):
            A, B, V, const = self.terms(int(r), int(j))
            out[a] = _sum_terms(words, Z.shape[0], A, B, V, const, fo.divisor, _DEBRUIJN,
                                _DEBRUIJN_INDEX)
        if fo.finish is None and fo.link is None:
            return out
        return fo.outputs(out.reshape(-1, out.shape[2])).reshape(len(rows), Z.shape[0], -1)


def _sliced(Z: np.ndarray) -> np.ndarray:
    """(ceil(b / 64), M) uint64: bit ``i`` of word ``[k, p]`` says whether coalition
    ``64 k + i`` of ``Z`` (b, M) holds player ``p`` (64 coalitions per machine word)."""
    b, M = Z.shape
    k = -(-b // 64)
    inside = np.zeros((64 * k, M), dtype=bool)
    inside[:b] = Z > 0.5
    packed = np.packbits(inside, axis=0, bitorder="little")  # (8 k, M)
    words = np.ascontiguousarray(packed.reshape(k, 8, M).transpose(0, 2, 1))
    return words.view("<u8")[:, :, 0].astype(np.uint64)


@jit
def _leaf_terms(go_x, go_b, player, left, right, roots, value):  # pragma: no cover - numba
    """One (explained row, background row) game of the forest as a sum of leaf terms.

    A coalition reaches a leaf when it holds every player of ``A`` (the nodes on the way where
    only the explained row goes that way) and none of ``B`` (only the background row does).
    Returns ``A``, ``B`` (T,) bit masks, the leaves' values ``V`` (T, O), and ``const`` (O,),
    the sum of the leaves every coalition reaches; the game is
    ``(const + sum_t V_t [A_t in S, B_t out of S]) / n_trees``.
    """
    n_nodes, n_out = left.shape[0], value.shape[1]
    A = np.empty(n_nodes, dtype=np.uint64)
    B = np.empty(n_nodes, dtype=np.uint64)
    V = np.empty((n_nodes, n_out))
    const = np.zeros(n_out)
    st_node = np.empty(n_nodes, dtype=np.intp)
    st_a = np.empty(n_nodes, dtype=np.uint64)
    st_b = np.empty(n_nodes, dtype=np.uint64)
    T = 0
    zero = np.uint64(0)
    for t in range(roots.shape[0]):
        st_node[0], st_a[0], st_b[0] = roots[t], zero, zero
        top = 1
        while top > 0:
            top -= 1
            node, a, b = st_node[top], st_a[top], st_b[top]
            while left[node] >= 0:
                gx, gb = go_x[node], go_b[node]
                if gx == gb:  # both rows go the same way: no condition
                    node = left[node] if gx else right[node]
                    continue
                bit = np.uint64(1) << np.uint64(player[node])
                x_child = left[node] if gx else right[node]
                b_child = left[node] if gb else right[node]
                if (a & bit) != zero:  # the player is already in the coalition
                    node = x_child
                elif (b & bit) != zero:  # already out of it
                    node = b_child
                else:  # both ways: follow the row's, keep the background row's for later
                    st_node[top], st_a[top], st_b[top] = b_child, a, b | bit
                    top += 1
                    node, a = x_child, a | bit
            if a == zero and b == zero:
                for o in range(n_out):
                    const[o] += value[node, o]
            else:
                A[T], B[T] = a, b
                for o in range(n_out):
                    V[T, o] = value[node, o]
                T += 1
    return A[:T], B[:T], V[:T], const


_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_INDEX = np.array([
    0, 47, 1, 56, 48, 27, 2, 60, 57, 49, 41, 37, 28, 16, 3, 61, 54, 58, 35, 52, 50, 42, 21, 44,
    38, 32, 29, 23, 17, 11, 4, 62, 46, 55, 26, 59, 40, 36, 15, 53, 34, 51, 20, 43, 31, 22, 10,
    45, 25, 39, 14, 33, 19, 30, 9, 24, 13, 18, 8, 12, 7, 6, 5, 63], dtype=np.intp)
"""Position of a word's lowest set bit ``v``: ``_DEBRUIJN_INDEX[((v ^ (v - 1)) * _DEBRUIJN)
>> 58]``."""


@jit
def _sum_terms(words, b, A, B, V, const, n_trees, debruijn, index):  # pragma: no cover
    """(b, O): the leaf-term game (:func:`_leaf_terms`) on ``b`` coalitions sliced into
    ``words`` (:func:`_sliced`): each term is tested on 64 coalitions at once (one AND per
    player of the term), and its value added to the coalitions that pass."""
    n_out = V.shape[1]
    out = np.empty((b, n_out))
    for i in range(b):
        for o in range(n_out):
            out[i, o] = const[o]
    zero, one = np.uint64(0), np.uint64(1)
    full = ~zero
    for k in range(words.shape[0]):
        valid = full if b - 64 * k >= 64 else (one << np.uint64(b - 64 * k)) - one
        for t in range(A.shape[0]):
            w, a, c = valid, A[t], B[t]
            while a != zero and w != zero:  # over the players of A: their words
                w &= words[k, index[((a ^ (a - one)) * debruijn) >> np.uint64(58)]]
                a &= a - one
            while c != zero and w != zero:  # over those of B: their words' complements
                w &= ~words[k, index[((c ^ (c - one)) * debruijn) >> np.uint64(58)]]
                c &= c - one
            while w != zero:
                low = w ^ (w - one)  # the lowest set bit and the zeros below it
                i = 64 * k + index[(low * debruijn) >> np.uint64(58)]
                w &= w - one
                for o in range(n_out):
                    out[i, o] += V[t, o]
    for i in range(b):
        for o in range(n_out):
            out[i, o] /= n_trees
    return out
