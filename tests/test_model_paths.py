"""Model paths of the raw-space Shapley engine (`explainers/_eval_*.py`).

Every path must give the black-box values (hybrid raw rows through the whole pipeline) to
1e-10, on classification and regression, behind no preprocessor and behind a column-wise
preprocessor with NaN and categorical columns; and fall back to the black box when its check
on the probe coalitions fails.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC, NuSVC

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._feature_map_build import build_feature_map
from explainable_pipeline.explainers import _eval_neighbors, _evaluators
from explainable_pipeline.explainers._evaluators import pipeline_evaluator
from explainable_pipeline.explainers._shapley import shapley_values

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # SVC(probability=True), sklearn 1.9
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
]

TOL = 1e-10


def _same(f, X, bg, ev, path, method="exact", **kw):
    """The engine with the evaluator equals the black box; returns the fast result."""
    if method == "kernel":  # the same coalition design on both sides
        kw.setdefault("kernel_design", "independent")
    fast = shapley_values(f, X, bg, evaluator=ev, method=method, **kw)
    slow = shapley_values(f, X, bg, method=method, **kw)
    assert fast.evaluation == path, (fast.evaluation, ev.reason)
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=TOL)
    np.testing.assert_allclose(fast.base_values, slow.base_values, rtol=0, atol=TOL)
    return fast


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(n_samples=150, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, random_state=0)
    X[:, 0] *= 20.0
    return X, y


@pytest.fixture(scope="module")
def two_classes():
    X, y = make_classification(n_samples=150, n_features=5, n_informative=3, random_state=1)
    return X, y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=150, n_features=5, noise=1.0, random_state=2)
    return X, y / 50


def test_rbf_kernel_values_far_below_one_stay_normal_and_exact(two_classes):
    """A wide gamma puts many kernel values under 1e-300: the path floors them so that no
    product is subnormal (slow on some CPUs) and still equals the model to 1e-10, where the
    decision values do not come from those kernel values alone (a calibrated SVC, as in the
    how-to, with gamma far above scale)."""
    from explainable_pipeline.explainers import _eval_svm

    X, y = two_classes
    X = X * 30.0
    model = CalibratedClassifierCV(SVC(gamma=0.05, C=100.0), ensemble=False).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    _same(model.predict_proba, X[:3], X[100:103], ev, "calibrated kernel-machine")
    svc = model.calibrated_classifiers_[0].estimator
    km, _ = _eval_svm.build(svc, "decision_function", X[100:103], np.eye(5, dtype=bool), None)
    sq = ((X[:20, None, :] - svc.support_vectors_[None]) ** 2).sum(axis=2)
    assert (sq * svc.gamma > 708).mean() > 0.2  # these would underflow to subnormal values
    k = km.kappa(sq.copy())
    assert np.all(k * k >= np.finfo(float).tiny)
    assert np.all(k * np.abs(svc.dual_coef_).min() * k >= np.finfo(float).tiny)


# ------------------------------------------------------------------ multiclass kernel machines


@pytest.mark.parametrize("Model", [SVC, NuSVC])
@pytest.mark.parametrize("kernel", ["rbf", "poly", "linear"])
@pytest.mark.parametrize("method, shape", [("decision_function", "ovr"),
                                           ("decision_function", "ovo"),
                                           ("predict_proba", "ovr")])
def test_multiclass_svm_equals_black_box(three_classes, Model, kernel, method, shape):
    X, y = three_classes
    kw = {"nu": 0.3} if Model is NuSVC else {"C": 3.0}
    model = Model(kernel=kernel, probability=method == "predict_proba", gamma="scale",
                  decision_function_shape=shape, random_state=0, **kw).fit(X, y)
    ev = pipeline_evaluator(None, model, method)
    res = _same(getattr(model, method), X[:5], X[100:104], ev, "kernel-machine")
    assert res.values.shape == (5, 5, 3)


@pytest.fixture(scope="module")
def mirrored():
    """Three classes, the second the mirror image of the first in column 0: on that column's
    zero their one-vs-one decision value is zero up to rounding, where one-vs-rest votes jump."""
    rng = np.random.RandomState(0)
    P = rng.randn(20, 3) * 0.5 + [2, 0, 0]
    R = rng.randn(20, 3) * 0.5 + [0, 3, 0]
    X = np.vstack([P, P * [-1, 1, 1], R, R * [-1, 1, 1]])
    y = np.repeat([0, 1, 2], [20, 20, 40])
    explained = np.c_[rng.rand(4) + 0.2, rng.randn(4, 2)]
    background = np.array([[0.0, 0.1, -0.4], [0.7, 3.0, 0.2]])
    return X, y, explained, background


@pytest.mark.parametrize("kernel", ["linear", "rbf", "poly", "sigmoid"])
@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("method", ["exact", "kernel"])
def test_ovr_votes_on_a_class_boundary_equal_black_box(mirrored, kernel, calibrated, method):
    """Coalitions whose pair decision value is zero up to rounding take the model's own
    one-vs-rest votes (the path's rounding could flip them: an output off by one)."""
    X, y, explained, background = mirrored
    model = SVC(kernel=kernel, gamma=0.3, coef0=0.5 if kernel == "poly" else 0.0, degree=2)
    if calibrated:
        model = CalibratedClassifierCV(model, ensemble=False)
    model.fit(X, y)
    f = model.predict_proba if calibrated else model.decision_function
    ev = pipeline_evaluator(None, model, "predict_proba" if calibrated else "decision_function")
    kw = dict(n_samples=6, random_state=0, tol=None) if method == "kernel" else {}
    _same(f, explained, background, ev,
          "calibrated kernel-machine" if calibrated else "kernel-machine", method=method, **kw)


def test_four_class_probability_coupling_on_many_rows():
    X, y = make_classification(n_samples=200, n_features=4, n_informative=4, n_redundant=0,
                               n_classes=4, n_clusters_per_class=1, random_state=3)
    model = SVC(probability=True, random_state=0).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = _same(model.predict_proba, X[:4], X[50:53], ev, "kernel-machine",
                method="kernel", n_samples=12, random_state=0, tol=None)
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values,
                               model.predict_proba(X[:4]), atol=1e-12)


# ------------------------------------------------------------------ neural networks


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_mlp_classifier_equals_black_box(three_classes, two_classes, activation):
    for X, y in (three_classes, two_classes):
        model = MLPClassifier(hidden_layer_sizes=(7, 4), activation=activation, max_iter=200,
                              random_state=0).fit(X / 10, y)
        ev = pipeline_evaluator(None, model, "predict_proba")
        _same(model.predict_proba, X[:5] / 10, X[90:94] / 10, ev, "neural-network")


def test_mlp_regressor_equals_black_box(regression):
    X, y = regression
    for target in (y, np.column_stack([y, -y ** 2])):
        model = MLPRegressor(hidden_layer_sizes=(6,), max_iter=300, random_state=0).fit(X, target)
        ev = pipeline_evaluator(None, model, "predict")
        _same(model.predict, X[:5], X[90:94], ev, "neural-network", method="kernel",
              n_samples=20, random_state=1, tol=None)


@pytest.mark.parametrize("activation", ["relu", "logistic"])
def test_mlp_shared_design_equals_black_box(two_classes, activation):
    """The background-averaged game (the path's "auto" design) computes the rows' share of the
    first layer once for every background row, and weights the background rows."""
    X, y = two_classes
    model = MLPClassifier(hidden_layer_sizes=(7,), activation=activation, max_iter=200,
                          random_state=0).fit(X / 10, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = _same(model.predict_proba, X[:5] / 10, X[90:94] / 10, ev, "neural-network",
                method="kernel", kernel_design="shared", n_samples=24, random_state=1,
                tol=None, background_weights=[0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(res.values.sum(axis=1) + res.base_values,
                               model.predict_proba(X[:5] / 10), atol=1e-12)


def test_auto_design_is_shared_on_the_neural_network_path_only(two_classes):
    X, y = two_classes
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=200, random_state=0).fit(X, y)
    knn = KNeighborsClassifier().fit(X, y)
    for model, design in ((mlp, "shared"), (knn, "neyman")):
        ev = pipeline_evaluator(None, model, "predict_proba")
        res = shapley_values(model.predict_proba, X[:3], X[90:94], evaluator=ev,
                             method="kernel", n_samples=16, random_state=0, tol=None)
        assert res.estimator == f"stratified ({design})"
    res = shapley_values(mlp.predict_proba, X[:3], X[90:94], method="kernel", n_samples=16,
                         random_state=0, tol=None)  # the same model as a black box
    assert res.estimator == "stratified (neyman)"


# ------------------------------------------------------------------ nearest neighbours


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_knn_classifier_equals_black_box(three_classes, p, weights):
    X, y = three_classes
    model = KNeighborsClassifier(n_neighbors=5, p=p, weights=weights).fit(X[20:], y[20:])
    ev = pipeline_evaluator(None, model, "predict_proba")
    _same(model.predict_proba, X[:6], X[100:104], ev, "neighbors")


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("Model", [KNeighborsClassifier, KNeighborsRegressor])
def test_knn_distance_weights_next_to_a_training_point_equal_black_box(Model, p):
    """Columns with a large common offset (years, say): scikit-learn's brute-force distances
    (|x|^2 - 2 x.t + |t|^2) round by ~1e-10 there, which moves inverse-distance weights of a
    coalition 0.0015 from two training points by ~1e-5: such coalitions take the model's
    own outputs."""
    rng = np.random.RandomState(0)
    T = 300.0 + rng.randn(60, 3)
    x, b = 300.0 + np.array([0.5, 0.5, 0.5]), 300.0 + np.array([-0.5, -0.7, -0.3])
    h = np.array([x[0], b[1], b[2]])  # the hybrid row of coalition {0}
    T = np.vstack([T, h + [0.0015, 0, 0], h - [0, 0.00105, 0]])
    y = np.r_[(rng.rand(60) > 0.5).astype(int), 0, 1]
    model = Model(3, weights="distance", algorithm="brute", p=p)
    model.fit(T, y if Model is KNeighborsClassifier else 10.0 * y)
    method = "predict_proba" if Model is KNeighborsClassifier else "predict"
    ev = pipeline_evaluator(None, model, method)
    _same(getattr(model, method), x[None], b[None], ev, "neighbors")


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_knn_regressor_equals_black_box(regression, metric, weights):
    X, y = regression
    model = KNeighborsRegressor(n_neighbors=4, metric=metric, weights=weights,
                                algorithm="brute").fit(X[20:], y[20:])
    ev = pipeline_evaluator(None, model, "predict")
    _same(model.predict, X[:6], X[100:104], ev, "neighbors")


def test_knn_ties_and_training_points_use_the_model(monkeypatch):
    """Duplicate training rows with different labels tie at the k-th neighbour, and a row that
    is a training point has distance 0: those coalitions are computed by the model itself."""
    calls = []
    real = _eval_neighbors._Bound._model

    def counted(self, *args):
        out = real(self, *args)
        calls.append(len(out))
        return out

    monkeypatch.setattr(_eval_neighbors._Bound, "_model", counted)
    rng = np.random.RandomState(0)
    X = np.round(rng.normal(size=(60, 3)), 1)
    X = np.vstack([X, X[:10]])  # exact duplicates ...
    y = np.r_[rng.randint(0, 2, 60), 1 - rng.randint(0, 2, 10)]  # ... often with other labels
    for weights in ("uniform", "distance"):
        model = KNeighborsClassifier(n_neighbors=3, weights=weights).fit(X, y)
        ev = pipeline_evaluator(None, model, "predict_proba")
        _same(model.predict_proba, X[:8], X[20:24], ev, "neighbors")
        assert sum(calls) > 0
        calls.clear()
    # fitted with feature names: the model's own calls get a frame (no "X does not have valid
    # feature names" warning, an error here)
    cols = ["a", "b", "c"]
    model = KNeighborsClassifier(n_neighbors=3).fit(pd.DataFrame(X, columns=cols), y)

    def f(Z):
        return model.predict_proba(pd.DataFrame(Z, columns=cols))

    ev = pipeline_evaluator(None, model, "predict_proba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _same(f, X[:8], X[20:24], ev, "neighbors")
    assert sum(calls) > 0


def test_knn_nearest_equals_product_and_stable_sort():
    """The fused distances + selection equal ``base + Z @ delta`` and a stable sort's prefix:
    coalitions of every size (members summed below half the players, non-members subtracted
    from the full coalition's distances above), with equal distances (integer data), and the
    same whether a complement's distances come from its pair's (``base + total - d``) or are
    summed on their own."""
    from explainable_pipeline.explainers._knn_select import complements, nearest

    rng = np.random.RandomState(0)
    M, c = 7, 23
    own, other = rng.randint(0, 4, (M, c)).astype(float), rng.randint(0, 4, (M, c)).astype(float)
    base, total, delta = other.sum(axis=0), own.sum(axis=0), own - other
    Z = np.array([[(code >> p) & 1 for p in range(M)] for code in range(2**M)], dtype=float)
    Z = np.concatenate([Z[rng.permutation(len(Z))], Z[:5]])  # pairs apart, and repeats
    partner = complements(Z)
    assert (partner >= 0).sum() == (partner == -2).sum() == 2**M // 2  # every pair, once
    paired = np.flatnonzero(partner >= 0)
    np.testing.assert_array_equal(Z[partner[paired]], 1.0 - Z[paired])
    assert (partner[2**M:] == -1).all()  # repeats are summed on their own
    D = base + Z @ delta
    assert len(np.unique(D)) < D.size // 10  # many ties
    alone = np.full(len(Z), -1, dtype=np.intp)
    for kk in (1, 4, c):
        order = np.argsort(D, axis=1, kind="stable")[:, :kk]
        for links in (partner, alone):
            dist, idx = nearest(Z, base, total, delta, kk, links)
            np.testing.assert_array_equal(idx, order)
            np.testing.assert_array_equal(dist, np.take_along_axis(D, order, axis=1))
    dist, idx = nearest(np.zeros((0, M)), base, total, delta, 3, complements(np.zeros((0, M))))
    assert dist.shape == idx.shape == (0, 3)


def test_knn_complements_beyond_coded_players():
    """More players than an int64 codes: no pairing (every coalition summed on its own)."""
    from explainable_pipeline.explainers._knn_select import _MAX_CODED, complements

    Z = np.zeros((2, _MAX_CODED + 1))
    Z[0, ::2] = 1.0
    Z[1] = 1.0 - Z[0]
    assert (complements(Z) == -1).all()
    assert complements(Z[:, :_MAX_CODED]).tolist() == [1, -2]


def test_knn_large_training_set_recomputes_partials(regression, monkeypatch):
    X, y = regression
    model = KNeighborsRegressor(n_neighbors=3).fit(X[20:], y[20:])
    ev = pipeline_evaluator(None, model, "predict")
    monkeypatch.setattr(_eval_neighbors, "_MAX_PARTIALS", 10)
    _same(model.predict, X[:4], X[100:103], ev, "neighbors")


def test_knn_unsupported_metric_falls_back(regression):
    X, y = regression
    model = KNeighborsRegressor(p=3).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict")
    res = shapley_values(model.predict, X[:3], X[50:52], evaluator=ev)
    assert res.evaluation == "black-box" and "metric" in ev.reason


# ------------------------------------------------------------------ calibrated classifiers


def _calibrated_bases():
    return {
        "svc": SVC(gamma="scale", C=3.0, random_state=0),
        "linear-svc": LinearSVC(C=0.5, random_state=0),
        "mlp": MLPClassifier(hidden_layer_sizes=(5,), max_iter=300, random_state=0),
        "knn": KNeighborsClassifier(n_neighbors=7),
    }


@pytest.mark.parametrize(
    "base, calibration, ensemble, n_classes",
    # every base with both methods, both ensemble modes and both class counts
    [("svc", "sigmoid", False, 2), ("svc", "isotonic", True, 3),
     ("linear-svc", "sigmoid", True, 3), ("linear-svc", "isotonic", False, 2),
     ("mlp", "sigmoid", False, 3), ("mlp", "isotonic", True, 2),
     ("knn", "sigmoid", True, 2), ("knn", "isotonic", False, 3)],
)
def test_calibrated_classifier_equals_black_box(three_classes, two_classes, base, calibration,
                                                ensemble, n_classes):
    X, y = three_classes if n_classes == 3 else two_classes
    X = X / np.abs(X).max(axis=0)
    model = CalibratedClassifierCV(_calibrated_bases()[base], method=calibration,
                                   ensemble=ensemble, cv=3).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    inner = {"svc": "kernel-machine", "linear-svc": "linear-model", "mlp": "neural-network",
             "knn": "neighbors"}[base]
    _same(model.predict_proba, X[:4], X[100:103], ev, f"calibrated {inner}", method="kernel",
          n_samples=16, random_state=0, tol=None)


def test_calibrated_over_unsupported_base_falls_back(two_classes):
    from sklearn.naive_bayes import GaussianNB

    X, y = two_classes
    model = CalibratedClassifierCV(GaussianNB(), ensemble=False).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    res = shapley_values(model.predict_proba, X[:3], X[50:52], evaluator=ev)
    assert res.evaluation == "black-box"
    assert "GaussianNB" in ev.reason


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_predict_proba_equals_black_box(three_classes, two_classes, n_classes):
    X, y = three_classes if n_classes == 3 else two_classes
    model = LogisticRegression(max_iter=500).fit(X, y)
    ev = pipeline_evaluator(None, model, "predict_proba")
    _same(model.predict_proba, X[:5], X[100:104], ev, "linear-model")


def test_linear_decision_function_equals_black_box(three_classes):
    X, y = three_classes
    model = LogisticRegression(max_iter=500).fit(X, y)
    ev = pipeline_evaluator(None, model, "decision_function")
    _same(model.decision_function, X[:5], X[100:104], ev, "linear-model")


# ------------------------------------------------------------------ behind preprocessors


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.RandomState(0)
    n = 240
    df = pd.DataFrame({
        "city": rng.choice(["a", "b", "c", "d"], size=n).astype(object),
        "kind": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        "age": rng.normal(40, 10, size=n),
        "income": rng.lognormal(3, 1, size=n),
        "score": rng.normal(size=n),
    })
    df.loc[rng.rand(n) < 0.1, "income"] = np.nan
    df.loc[rng.rand(n) < 0.1, "city"] = np.nan
    signal = (df["city"] == "a") * 1.5 + (df["age"] - 40) / 10 + df["score"]
    y_cls = np.digitize(signal + rng.normal(scale=0.3, size=n), [-0.5, 0.8])
    return df, y_cls, signal.to_numpy() + rng.normal(scale=0.1, size=n)


def _pre():
    return ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["city", "kind"]),
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income", "score"]),
    ])


@pytest.mark.parametrize("name", ["svc", "nusvc", "calibrated-svc", "calibrated-isotonic",
                                  "calibrated-ensemble", "mlp", "knn", "knn-manhattan",
                                  "mlp-reg", "knn-reg", "knn-reg-euclidean"])
def test_model_paths_behind_preprocessor_with_nan_and_categories(mixed, name):
    df, y_cls, y_reg = mixed
    est, method, path = {
        "svc": (SVC(probability=True, random_state=0), "predict_proba", "kernel-machine"),
        "nusvc": (NuSVC(nu=0.3, probability=True, random_state=0), "predict_proba",
                  "kernel-machine"),
        "calibrated-svc": (CalibratedClassifierCV(SVC(), ensemble=False), "predict_proba",
                           "calibrated kernel-machine"),
        "calibrated-isotonic": (CalibratedClassifierCV(SVC(), method="isotonic", ensemble=False),
                                "predict_proba", "calibrated kernel-machine"),
        "calibrated-ensemble": (CalibratedClassifierCV(SVC(), cv=3), "predict_proba",
                                "calibrated kernel-machine"),
        "knn-manhattan": (KNeighborsClassifier(n_neighbors=5, p=1), "predict_proba", "neighbors"),
        "knn-reg-euclidean": (KNeighborsRegressor(n_neighbors=4, weights="distance"), "predict",
                              "neighbors"),
        "mlp": (MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0), "predict_proba",
                "neural-network"),
        "knn": (KNeighborsClassifier(n_neighbors=6, weights="distance"), "predict_proba",
                "neighbors"),
        "mlp-reg": (MLPRegressor(hidden_layer_sizes=(6,), max_iter=300, random_state=0), "predict",
                    "neural-network"),
        "knn-reg": (KNeighborsRegressor(n_neighbors=5, p=1), "predict", "neighbors"),
    }[name]
    y = y_reg if method == "predict" else y_cls
    pre = _pre().fit(df)
    est.fit(pre.transform(df), y)
    fmap = build_feature_map(pre, list(df.columns), X_sample=df.iloc[:30])

    def f(rows):
        return getattr(est, method)(pre.transform(rows))

    X = df.iloc[:5].copy()
    X.loc[X.index[0], "city"] = "never seen"  # an unknown category: an all-zero one-hot block
    ev = pipeline_evaluator(pre, est, method, fmap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unknown category
        _same(f, X, df.iloc[200:204], ev, path, groups=[["city", "kind"], ["age"],
                                                        ["income", "score"]])


# ------------------------------------------------------------------ safety net


@pytest.mark.parametrize("name", ["mlp", "knn", "calibrated", "forest", "svc", "nusvc",
                                  "mlp-regressor", "knn-regressor"])
def test_wrong_model_path_is_caught_and_falls_back(three_classes, regression, name,
                                                   monkeypatch):
    """A path that does not reproduce the model on the probe coalitions is not used."""
    X, y = regression if name.endswith("regressor") else three_classes
    X = X / np.abs(X).max(axis=0)
    model = {"mlp": MLPClassifier(hidden_layer_sizes=(5,), max_iter=200, random_state=0),
             "knn": KNeighborsClassifier(),
             "calibrated": CalibratedClassifierCV(SVC(), ensemble=False),
             "forest": RandomForestClassifier(n_estimators=5, random_state=0),
             "svc": SVC(probability=True, random_state=0),
             "nusvc": NuSVC(nu=0.3, probability=True, random_state=0),
             "mlp-regressor": MLPRegressor(hidden_layer_sizes=(5,), max_iter=200,
                                           random_state=0),
             "knn-regressor": KNeighborsRegressor()}[name].fit(X, y)
    method = "predict" if name.endswith("regressor") else "predict_proba"
    real = _evaluators.fast_model

    def skewed(*args, **kwargs):
        model_, why = real(*args, **kwargs)
        bind = model_.bind

        def skewed_bind(Xt):
            return bind(Xt * 3.0 + 1.0)  # the explained rows are transformed wrongly

        model_.bind = skewed_bind
        return model_, why

    monkeypatch.setattr(_evaluators, "fast_model", skewed)
    ev = pipeline_evaluator(None, model, method)
    fast = shapley_values(getattr(model, method), X[:4], X[100:103], evaluator=ev)
    slow = shapley_values(getattr(model, method), X[:4], X[100:103])
    assert ev.path is not None and fast.evaluation == "black-box"
    # the rows' outputs come from the probes' model call (other rows in the batch): the
    # same values up to the model's summation order
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["mlp", "svc", "calibrated", "forest"])
@pytest.mark.parametrize("method", ["exact", "shared"])
def test_wrong_background_mean_is_caught_and_falls_back(three_classes, name, method,
                                                        monkeypatch):
    """A path whose background-mean values (its own code, used by the shared design and exact
    enumeration) are wrong is dropped for the black box, though its single background rows
    pass the probes."""
    X, y = three_classes
    X = X / np.abs(X).max(axis=0)
    model = {"mlp": MLPClassifier(hidden_layer_sizes=(5,), max_iter=200, random_state=0),
             "svc": SVC(probability=True, random_state=0),
             "calibrated": CalibratedClassifierCV(SVC(), ensemble=False),
             "forest": RandomForestClassifier(n_estimators=5, random_state=0)}[name].fit(X, y)
    kw = (dict(method="exact") if method == "exact"
          else dict(method="kernel", kernel_design="shared", n_samples=24, random_state=0))
    ev = pipeline_evaluator(None, model, "predict_proba")
    right = shapley_values(model.predict_proba, X[:4], X[100:103], evaluator=ev, **kw)
    assert right.evaluation not in (None, "black-box")
    real = _evaluators.FactorGame._mean
    monkeypatch.setattr(_evaluators.FactorGame, "_mean",
                        lambda self, Z, rows: real(self, Z, rows) * 1.01)
    ev = pipeline_evaluator(None, model, "predict_proba")
    fast = shapley_values(model.predict_proba, X[:4], X[100:103], evaluator=ev, **kw)
    slow = shapley_values(model.predict_proba, X[:4], X[100:103], **kw)
    assert fast.evaluation == "black-box"
    np.testing.assert_allclose(fast.values, slow.values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(right.values, slow.values, rtol=0, atol=1e-10)


def test_explainable_pipeline_records_model_paths(mixed):
    df, y_cls, _ = mixed
    ep = ExplainablePipeline(_pre(), CalibratedClassifierCV(SVC(), ensemble=False),
                             explainer="kernel", background=5, random_state=0).fit(df, y_cls)
    local = ep.explain_local(df.iloc[:4])
    assert local.meta["evaluation"] == "calibrated kernel-machine"
    total = local.local_importance_values.sum(-1).T + local.expected_values
    np.testing.assert_allclose(total, ep.predict_proba(df.iloc[:4]), atol=1e-10)


def test_neighbors_defaults_bands_hold_against_enumeration():
    """The neighbors path's defaults (three times the coalitions, no interaction terms, no
    proxies) against exact enumeration at 10 columns: the 95% bands hold at least 90% of the
    values and the error is a few percent."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, rows = X.iloc[:400, :10], X.iloc[400:430, :10]
    for seed in (0, 1):
        kw = dict(background=8, random_state=seed)
        exact = ExplainablePipeline(StandardScaler(), KNeighborsClassifier(), explainer="exact",
                                    **kw).fit(X, y[:400]).explain_local(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the path, not a fallback
            local = ExplainablePipeline(StandardScaler(), KNeighborsClassifier(),
                                        explainer="kernel", **kw).fit(X, y[:400]).explain_local(rows)
        assert local.meta["evaluation"] == "neighbors"
        err = np.abs(local.local_importance_values[1] - exact.local_importance_values[1])
        se = np.asarray(local.meta["standard_errors"])[1]
        assert np.mean(err <= 1.96 * se + 1e-12) >= 0.9
        assert err.sum() / np.abs(exact.local_importance_values[1]).sum() < 0.05
