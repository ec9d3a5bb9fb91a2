"""The compiled TreeSHAP engine: extraction, exactness against boosters and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import interactions_from_values

from explainable_pipeline.explainers._tree_model import from_estimator
from explainable_pipeline.explainers._treeshap import TreeShap

lightgbm = pytest.importorskip("lightgbm")


def _data(n=600, seed=0, nan=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 5] = rng.integers(0, 8, n)
    if nan:
        X[rng.random(X.shape) < 0.05] = np.nan
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1] * X[:, 2]) + (X[:, 5] % 3 == 0)
    return X, y + rng.normal(size=n) * 0.1


# ----------------------------------------------------------------- brute force
def _tree_value_path_dependent(ens, tree, x, in_S):
    """Algorithm 1 of Lundberg et al.: follow x on players in S, cover-weight elsewhere."""
    def rec(n):
        if ens.left[n] < 0:
            return ens.value[n, 0]
        f = ens.feature[n]
        if in_S[f]:
            go = _decide(ens, n, x[f])
            return rec(ens.left[n] if go else ens.right[n])
        cl, cr = ens.left[n], ens.right[n]
        return (ens.cover[cl] * rec(cl) + ens.cover[cr] * rec(cr)) / ens.cover[n]

    return rec(ens.tree_start[tree])


def _decide(ens, n, x):
    from explainable_pipeline.explainers._treeshap_masks import _goes_left

    return _goes_left.py_func(
        x, n, ens.kind, ens.threshold, ens.miss, ens.nan_left, ens.unk_left, ens.cat_lo,
        ens.cat_mid, ens.cat_hi, ens.cats, ens.cast32,
    )  # fmt: skip


def _brute_force(ens, x, player_of, n_players, background=None):
    v = np.zeros(1 << n_players)
    for mask in range(1 << n_players):
        in_S = np.array([bool(mask >> player_of[f] & 1) for f in range(len(player_of))])
        if background is None:
            v[mask] = sum(
                _tree_value_path_dependent(ens, t, x, in_S) for t in range(ens.n_trees)
            ) + ens.offset[0]
        else:
            hybrid = np.where(in_S, x, background)
            v[mask] = ens.predict_raw(hybrid)[:, 0].mean()
    return interactions_from_values(v, n_players), v[0]


@pytest.fixture(scope="module")
def small_model():
    X, y = _data(400)
    est = lightgbm.LGBMRegressor(n_estimators=4, num_leaves=12, min_child_samples=5,
                                 verbose=-1).fit(X, y, categorical_feature=[5])  # fmt: skip
    return X, from_estimator(est, X[:100])


# players: columns 0,1 are one player (like one-hot children), 2 alone, 3,4 one, 5 alone
PLAYERS = np.array([0, 0, 1, 2, 2, 3])


def test_path_dependent_raw_players_equal_brute_force(small_model):
    X, ens = small_model
    engine = TreeShap(ens, PLAYERS, 4)
    values, expected, inter = engine.values(X[:3], interactions=True)
    for r in range(3):
        (phi, phi2), v0 = _brute_force(ens, X[r], PLAYERS, 4)
        np.testing.assert_allclose(values[0, r], phi, atol=1e-10)
        np.testing.assert_allclose(inter[0, r], phi2, atol=1e-10)
        assert abs(expected[0] - v0) < 1e-10


@pytest.mark.parametrize("strategy", [1, 2], ids=["direct", "lattice"])
def test_interventional_raw_players_equal_brute_force(small_model, strategy):
    X, ens = small_model
    engine = TreeShap(ens, PLAYERS, 4)
    bg = X[100:108]
    prepared = engine.background(bg)
    values, expected, inter = engine.values(X[:3], prepared, interactions=True,
                                            _strategy=strategy)  # fmt: skip
    for r in range(3):
        (phi, phi2), v0 = _brute_force(ens, X[r], PLAYERS, 4, background=bg)
        np.testing.assert_allclose(values[0, r], phi, atol=1e-10)
        np.testing.assert_allclose(inter[0, r], phi2, atol=1e-10)
        assert abs(expected[0] - v0) < 1e-10
    # additivity over many rows, and weights
    w = np.arange(1.0, 9.0)
    prepared = engine.background(bg, w)
    values, expected, _ = engine.values(X[:50], prepared, _strategy=strategy)
    pred = ens.predict_raw(X[:50])[:, 0]
    np.testing.assert_allclose(values[0].sum(1) + expected[0], pred, atol=1e-10)
    assert abs(expected[0] - np.average(ens.predict_raw(bg)[:, 0], weights=w)) < 1e-12


def test_table_and_direct_paths_agree(small_model):
    """Few rows compute each leaf entry directly; many rows fill a table per leaf."""
    X, ens = small_model
    engine = TreeShap(ens, PLAYERS, 4)
    many, _, _ = engine.values(X[:300])
    for r in (0, 7, 299):
        one, _, _ = engine.values(X[r: r + 1])
        np.testing.assert_allclose(one[:, 0], many[:, r], atol=1e-13)


@pytest.mark.parametrize("objective", ["regression", "binary", "multiclass"])
def test_equal_to_lightgbm_pred_contrib(objective):
    X, y = _data(800, seed=1)
    if objective == "regression":
        est = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1)
    else:
        est = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1)
        y = (y > 0).astype(int) if objective == "binary" else np.digitize(y, [-0.5, 0.8])
    est.fit(X, y, categorical_feature=[5])
    ens = from_estimator(est, X[:200])
    values, expected, _ = TreeShap(ens, np.arange(6), 6).values(X[:300], n_jobs=2)
    K = ens.n_outputs
    contrib = np.asarray(est.booster_.predict(X[:300], pred_contrib=True))
    contrib = contrib.reshape(300, K, 7).transpose(1, 0, 2)
    np.testing.assert_allclose(values, contrib[:, :, :6], atol=1e-9)
    np.testing.assert_allclose(expected, contrib[:, 0, 6], atol=1e-9)


def test_equal_to_xgboost_and_shap():
    xgboost = pytest.importorskip("xgboost")
    shap = pytest.importorskip("shap")
    X, y = _data(600, seed=2)
    for est in (
        xgboost.XGBRegressor(n_estimators=20, max_depth=4),
        xgboost.XGBClassifier(n_estimators=20, max_depth=4),
    ):
        yy = y if isinstance(est, xgboost.XGBRegressor) else (y > 0).astype(int)
        est.fit(X, yy)
        ens = from_estimator(est, X[:200])
        values, expected, _ = TreeShap(ens, np.arange(6), 6).values(X[:100])
        ref = shap.TreeExplainer(est).shap_values(X[:100])  # float64 TreeSHAP
        np.testing.assert_allclose(values[0], ref, atol=1e-6)  # leaves are float32
        contrib = est.get_booster().predict(xgboost.DMatrix(X[:100]), pred_contribs=True)
        np.testing.assert_allclose(values[0], contrib[:, :6], atol=1e-5)
        margin = est.get_booster().predict(xgboost.DMatrix(X[:100]), output_margin=True)
        np.testing.assert_allclose(values[0].sum(1) + expected[0], margin, atol=1e-5)


@pytest.mark.parametrize(
    "name",
    ["DecisionTreeRegressor", "RandomForestClassifier", "ExtraTreesRegressor",
     "GradientBoostingClassifier3", "GradientBoostingRegressor", "HistGradientBoostingRegressor",
     "HistGradientBoostingClassifier"],
)  # fmt: skip
def test_equal_to_shap_on_sklearn(name):
    shap = pytest.importorskip("shap")
    from sklearn import ensemble, tree

    X, y = _data(500, seed=3, nan=name.startswith("Hist") or name.startswith("Decision"))
    cls_name = name.rstrip("3")
    cls = getattr(ensemble, cls_name, None) or getattr(tree, cls_name)
    kw = {"random_state": 0}
    if "Forest" in name or "Trees" in name or name.startswith("Gradient"):
        kw["n_estimators"] = 10
    if name.startswith(("Gradient", "Decision")):
        kw["max_depth"] = 4
    if name.startswith("Hist"):
        kw["max_iter"] = 15
    if "Classifier" in name:
        y = np.digitize(y, [-0.5, 0.8]) if name.endswith("3") else (y > 0).astype(int)
    est = cls(**kw).fit(X, y)
    ens = from_estimator(est, X[:200])
    values, expected, _ = TreeShap(ens, np.arange(6), 6).values(X[:60])
    if name == "GradientBoostingClassifier3":
        from explainable_pipeline.explainers._tree import _MulticlassGradientBoosting

        explainer = _MulticlassGradientBoosting(est)
    else:
        explainer = shap.TreeExplainer(est)
    ref = explainer.shap_values(X[:60], check_additivity=False)
    ref = np.stack(ref) if isinstance(ref, list) else np.asarray(ref)
    if ref.ndim == 3 and ref.shape[0] == 60:
        ref = ref.transpose(2, 0, 1)
    ref = ref.reshape(values.shape)
    np.testing.assert_allclose(values, ref, atol=1e-9)
    raw = ens.predict_raw(X[:60]).T
    np.testing.assert_allclose(values.sum(-1) + expected[:, None], raw, atol=1e-9)


def test_one_column_per_player_is_the_identity_game(small_model):
    """Raw players equal to engineered columns: raw and sum are the same values."""
    X, ens = small_model
    a, ea, _ = TreeShap(ens, np.arange(6), 6).values(X[:40])
    perm = np.array([3, 1, 4, 0, 5, 2])  # same partition, other labels
    b, eb, _ = TreeShap(ens, perm, 6).values(X[:40])
    np.testing.assert_array_equal(a, b[..., perm])
    assert np.array_equal(ea, eb)


def test_brute_force_helper_is_not_vacuous(small_model):
    X, ens = small_model
    (phi, inter), _ = _brute_force(ens, X[0], PLAYERS, 4)
    assert np.abs(phi).sum() > 0 and np.abs(inter - np.diag(np.diag(inter))).sum() > 0


def test_xgboost_multiclass_poisson_and_native_categorical_reproduced():
    xgboost = pytest.importorskip("xgboost")
    import pandas as pd

    X, y = _data(400, seed=4)
    X = X[:, :5]
    cases = [
        (xgboost.XGBClassifier(n_estimators=8, max_depth=3), np.digitize(y, [-0.5, 0.8])),
        (xgboost.XGBRegressor(n_estimators=8, max_depth=3, objective="count:poisson"),
         np.abs(np.round(y))),
    ]  # fmt: skip
    for est, target in cases:
        est.fit(X, target)
        ens = from_estimator(est, X[:100])  # checks the raw score on the probe rows
        values, expected, _ = TreeShap(ens, np.arange(5), 5).values(X[:40])
        margin = est.get_booster().predict(xgboost.DMatrix(X[:40]), output_margin=True)
        total = values.sum(-1).T + expected
        np.testing.assert_allclose(total, margin.reshape(40, -1), atol=1e-5)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": pd.Categorical(rng.choice(list("pqrst"), 400)),
                       "b": rng.normal(size=400)})  # fmt: skip
    target = df["a"].isin(["p", "q"]).astype(float) + (df["b"] > 0)
    est = xgboost.XGBRegressor(n_estimators=8, max_depth=3, enable_categorical=True).fit(df, target)
    codes = np.c_[df["a"].cat.codes.to_numpy(dtype=float), df["b"]]
    ens = from_estimator(est)
    assert (ens.kind == 2).any()  # categorical splits read
    np.testing.assert_allclose(ens.predict_raw(codes)[:, 0],
                               est.predict(df, output_margin=True), atol=1e-5)  # fmt: skip


def test_xgboost_raw_players_equal_brute_force():
    """XGBoost answers in float32 (pred_contribs, shap at ~1e-6): the float64 reference for its
    trees is brute-force enumeration of the path-dependent game on the same trees."""
    xgboost = pytest.importorskip("xgboost")
    X, y = _data(300, seed=5)
    est = xgboost.XGBRegressor(n_estimators=3, max_depth=3).fit(X, y)
    ens = from_estimator(est, X[:100])
    engine = TreeShap(ens, PLAYERS, 4)
    values, expected, _ = engine.values(X[:3])
    for r in range(3):
        (phi, _), v0 = _brute_force(ens, X[r], PLAYERS, 4)
        np.testing.assert_allclose(values[0, r], phi, atol=1e-10)
        assert abs(expected[0] - v0) < 1e-10


def test_threads_and_chunks_give_bitwise_the_same_values(monkeypatch):
    """Threads split fixed tree ranges (a function of the model alone) whose sums are added in
    range order, and rows never share sums: n_jobs, the rows passed together and the row
    chunks change no bit of the values or interactions (explain_local's chunked and parallel
    results are equal to the sequential ones)."""
    from explainable_pipeline.explainers import _treeshap

    X, y = _data(600, seed=3)
    est = lightgbm.LGBMRegressor(n_estimators=40, num_leaves=16, min_child_samples=5,
                                 verbose=-1).fit(X, y, categorical_feature=[5])  # fmt: skip
    ens = from_estimator(est, X[:100])
    engine = TreeShap(ens, PLAYERS, 4)
    assert len(engine.blocks) - 1 == _treeshap.N_BLOCKS  # several ranges to split and add
    monkeypatch.setattr(_treeshap, "_MIN_PARALLEL_WORK", 0)  # threads even on small work
    prepared = engine.background(X[100:160])
    rows = X[200:500]
    for background in (None, prepared):
        one = engine.values(rows, background, interactions=True, n_jobs=1)
        # 2 threads over ranges; 3 (ranges not a multiple); 20: ranges and rows both split
        for jobs in (2, 3, 20):
            other = engine.values(rows, background, interactions=True, n_jobs=jobs)
            np.testing.assert_array_equal(one[0], other[0])
            np.testing.assert_array_equal(one[2], other[2])
        # a subset of the rows, alone (directly computed entries instead of tables)
        part = engine.values(rows[37:40], background, interactions=True, n_jobs=2)
        np.testing.assert_array_equal(one[0][:, 37:40], part[0])
        np.testing.assert_array_equal(one[2][:, 37:40], part[2])
        # rows processed in chunks of a few rows each
        with monkeypatch.context() as m:
            m.setattr(_treeshap, "BUFFER_FLOATS", 7 * 4 * 5 * _treeshap.N_BLOCKS)
            chunked = engine.values(rows, background, interactions=True, n_jobs=2)
        np.testing.assert_array_equal(one[0], chunked[0])
        np.testing.assert_array_equal(one[2], chunked[2])
        np.testing.assert_allclose(one[2].sum(-1), one[0], atol=1e-12)


def test_tree_ranges_balance_nodes_and_cover_every_tree():
    from explainable_pipeline.explainers._treeshap import tree_blocks

    sizes = np.array([1, 1, 1, 50, 1, 1, 1, 1, 50, 1])
    bounds = tree_blocks(np.concatenate([[0], np.cumsum(sizes)]), 4)
    assert bounds[0] == 0 and bounds[-1] == len(sizes)
    assert np.all(np.diff(bounds) > 0)
    assert len(bounds) - 1 <= 4
    assert tree_blocks(np.array([0, 7]), 8).tolist() == [0, 1]
