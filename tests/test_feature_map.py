"""Tests of the engineered -> raw feature map (explainable_pipeline._feature_map)."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_regression
from sklearn.impute import KNNImputer, MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    LabelBinarizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
    TargetEncoder,
)

from explainable_pipeline._feature_map import FeatureMap, MixedFeatureError
from explainable_pipeline._feature_map_build import build_feature_map
from explainable_pipeline._sklearn_compat import load_sklearn_pandas

N = 60
RAW = ["age", "income", "height", "city", "color"]


def make_frame(seed=0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "rome", "oslo"], size=N)
    city[:2] = "lima"  # rare category (2 rows) for min_frequency / max_categories
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, size=N).astype(float),
            "income": rng.normal(50.0, 10.0, size=N),
            "height": rng.normal(170.0, 10.0, size=N),
            "city": city,
            "color": rng.choice(["red", "blue"], size=N),
        }
    )
    X.loc[[3, 7, 11], "income"] = np.nan
    y = X["age"].to_numpy() * 0.1 + rng.normal(size=N)
    return X, y


X_DF, Y = make_frame()
X_NUM = X_DF[["age", "height"]]


def table(fmap):
    """engineered name -> raw parent (str) or tuple of parents."""
    frame = fmap.to_frame()
    return dict(zip(frame["engineered"], frame["raw"], strict=True))


def fit_map(pre, X=X_DF, y=None, **kwargs):
    pre.fit(X, y)
    fmap = build_feature_map(pre, list(X.columns), **kwargs)
    return pre, fmap


def assert_table(pre, fmap, expected):
    """The map's engineered names follow get_feature_names_out and the table is exact."""
    assert list(fmap.engineered_features) == list(pre.get_feature_names_out())
    assert table(fmap) == expected
    assert fmap.is_exact
    # the dependency agrees with the table; raw order is the input order
    assert list(fmap.raw_features) == list(pre.feature_names_in_)
    assert fmap.dependency.shape == (len(expected), len(fmap.raw_features))


# --------------------------------------------------------------------------- #
# Mapping tables against real fitted transformers
# --------------------------------------------------------------------------- #
OHE_CITY = {f"cat__city_{c}": "city" for c in ["lima", "oslo", "paris", "rome"]}

CASES = {
    "scaler+onehot, remainder drop": (
        lambda: ColumnTransformer(
            [("num", StandardScaler(), ["age", "height"]), ("cat", OneHotEncoder(), ["city"])]
        ),
        {"num__age": "age", "num__height": "height", **OHE_CITY},
    ),
    "remainder passthrough": (
        lambda: ColumnTransformer([("cat", OneHotEncoder(), ["city"])], remainder="passthrough"),
        {
            **OHE_CITY,
            "remainder__age": "age",
            "remainder__income": "income",
            "remainder__height": "height",
            "remainder__color": "color",
        },
    ),
    "onehot drop=first": (
        lambda: ColumnTransformer([("cat", OneHotEncoder(drop="first"), ["city", "color"])]),
        {
            "cat__city_oslo": "city",
            "cat__city_paris": "city",
            "cat__city_rome": "city",
            "cat__color_red": "color",
        },
    ),
    "onehot drop=if_binary": (
        lambda: ColumnTransformer([("cat", OneHotEncoder(drop="if_binary"), ["city", "color"])]),
        {**OHE_CITY, "cat__color_red": "color"},
    ),
    "onehot min_frequency": (
        lambda: ColumnTransformer(
            [("cat", OneHotEncoder(min_frequency=3), ["city", "color"])],
        ),
        {
            "cat__city_oslo": "city",
            "cat__city_paris": "city",
            "cat__city_rome": "city",
            "cat__city_infrequent_sklearn": "city",
            "cat__color_blue": "color",
            "cat__color_red": "color",
        },
    ),
    "onehot sparse output": (
        lambda: ColumnTransformer(
            [("num", "passthrough", ["age"]), ("cat", OneHotEncoder(sparse_output=True), ["city"])],
            sparse_threshold=1.0,
        ),
        {"num__age": "age", **OHE_CITY},
    ),
    "simple imputer add_indicator": (
        lambda: ColumnTransformer(
            [("num", SimpleImputer(add_indicator=True), ["age", "income", "height"])]
        ),
        {
            "num__age": "age",
            "num__income": "income",
            "num__height": "height",
            "num__missingindicator_income": "income",
        },
    ),
    "missing indicator": (
        lambda: ColumnTransformer([("mi", MissingIndicator(), ["age", "income"])]),
        {"mi__missingindicator_income": "income"},
    ),
    "kbins onehot": (
        lambda: ColumnTransformer(
            [("bins", KBinsDiscretizer(n_bins=[3, 4], encode="onehot"), ["age", "height"])]
        ),
        {
            **{f"bins__age_{b}.0": "age" for b in range(3)},
            **{f"bins__height_{b}.0": "height" for b in range(4)},
        },
    ),
    "kbins onehot-dense": (
        lambda: ColumnTransformer(
            [("bins", KBinsDiscretizer(n_bins=2, encode="onehot-dense"), ["age", "height"])]
        ),
        {
            "bins__age_0.0": "age",
            "bins__age_1.0": "age",
            "bins__height_0.0": "height",
            "bins__height_1.0": "height",
        },
    ),
    "kbins ordinal": (
        lambda: ColumnTransformer(
            [("bins", KBinsDiscretizer(n_bins=3, encode="ordinal"), ["age", "height"])]
        ),
        {"bins__age": "age", "bins__height": "height"},
    ),
    "ordinal encoder": (
        lambda: ColumnTransformer([("cat", OrdinalEncoder(), ["city", "color"])]),
        {"cat__city": "city", "cat__color": "color"},
    ),
    "spline": (
        lambda: ColumnTransformer(
            [("sp", SplineTransformer(n_knots=3, degree=2), ["age", "height"])]
        ),
        {
            **{f"sp__age_sp_{i}": "age" for i in range(4)},
            **{f"sp__height_sp_{i}": "height" for i in range(4)},
        },
    ),
    "function one-to-one": (
        lambda: ColumnTransformer(
            [
                (
                    "log",
                    FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
                    ["age", "height"],
                )
            ]
        ),
        {"log__age": "age", "log__height": "height"},
    ),
    "selector by index": (
        lambda: ColumnTransformer([("num", StandardScaler(), [0, 2])]),
        {"num__age": "age", "num__height": "height"},
    ),
    "selector make_column_selector": (
        lambda: ColumnTransformer(
            [
                ("num", RobustScaler(), make_column_selector(dtype_include="number")),
                ("cat", OneHotEncoder(), make_column_selector(dtype_exclude="number")),
            ]
        ),
        {
            "num__age": "age",
            "num__income": "income",
            "num__height": "height",
            **OHE_CITY,
            "cat__color_blue": "color",
            "cat__color_red": "color",
        },
    ),
    "selector bool mask": (
        lambda: ColumnTransformer([("num", MaxAbsScaler(), [True, False, True, False, False])]),
        {"num__age": "age", "num__height": "height"},
    ),
    "selector int slice": (
        lambda: ColumnTransformer([("num", StandardScaler(), slice(0, 3))]),
        {"num__age": "age", "num__income": "income", "num__height": "height"},
    ),
    "selector label slice (inclusive)": (
        lambda: ColumnTransformer([("num", StandardScaler(), slice("income", "height"))]),
        {"num__income": "income", "num__height": "height"},
    ),
    "verbose_feature_names_out=False": (
        lambda: ColumnTransformer(
            [("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(), ["color"])],
            verbose_feature_names_out=False,
        ),
        {"age": "age", "color_blue": "color", "color_red": "color"},
    ),
    "nested CT in Pipeline in CT": (
        lambda: ColumnTransformer(
            [
                (
                    "outer",
                    Pipeline(
                        [
                            (
                                "inner",
                                ColumnTransformer(
                                    [
                                        ("imp", SimpleImputer(), ["income"]),
                                        ("oh", OneHotEncoder(drop="first"), ["color"]),
                                    ],
                                    remainder="passthrough",
                                ),
                            ),
                            ("scale", StandardScaler()),
                            ("keep", VarianceThreshold()),
                        ]
                    ),
                    ["income", "color", "age"],
                ),
                (
                    "cat",
                    make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()),
                    ["city"],
                ),
            ]
        ),
        {
            "outer__imp__income": "income",
            "outer__oh__color_red": "color",
            "outer__remainder__age": "age",
            **OHE_CITY,
        },
    ),
    "select k best": (
        lambda: ColumnTransformer(
            [("sel", SelectKBest(f_regression, k=1), ["age", "height"])], remainder="drop"
        ),
        {"sel__age": "age"},
    ),
    "feature union": (
        lambda: ColumnTransformer(
            [
                (
                    "u",
                    FeatureUnion(
                        [("s", StandardScaler()), ("b", KBinsDiscretizer(2, encode="onehot"))]
                    ),
                    ["age", "height"],
                )
            ]
        ),
        {
            "u__s__age": "age",
            "u__s__height": "height",
            "u__b__age_0.0": "age",
            "u__b__age_1.0": "age",
            "u__b__height_0.0": "height",
            "u__b__height_1.0": "height",
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_mapping_table(case):
    factory, expected = CASES[case]
    pre, fmap = fit_map(factory(), y=Y)
    assert_table(pre, fmap, expected)
    assert fmap.mixed_ == []


def test_remainder_estimator():
    X = X_DF.drop(columns="income")
    pre, fmap = fit_map(
        ColumnTransformer([("cat", OrdinalEncoder(), ["city", "color"])], remainder=MinMaxScaler()),
        X,
    )
    expected = {
        "cat__city": "city",
        "cat__color": "color",
        "remainder__age": "age",
        "remainder__height": "height",
    }
    assert_table(pre, fmap, expected)
    assert list(fmap.transformer_paths) == ["cat", "cat", "remainder", "remainder"]


def test_onehot_max_categories_and_drop_follow_the_encoder():
    enc = OneHotEncoder(max_categories=3, drop="first")
    pre, fmap = fit_map(ColumnTransformer([("cat", enc, ["city", "color"])]))
    names = list(pre.get_feature_names_out())
    expected = {n: "city" if n.startswith("cat__city") else "color" for n in names}
    assert_table(pre, fmap, expected)
    assert "cat__city_infrequent_sklearn" in names


def test_onehot_counts_public_fallback_matches_private():
    from explainable_pipeline._sklearn_compat import onehot_n_outputs_per_feature

    for kwargs in [
        {},
        {"drop": "first"},
        {"min_frequency": 3},
        {"max_categories": 2, "drop": "first"},
    ]:
        enc = OneHotEncoder(**kwargs).fit(X_DF[["city", "color"]])
        private = onehot_n_outputs_per_feature(enc)
        del enc._n_features_outs
        assert onehot_n_outputs_per_feature(enc) == private
        assert sum(private) == len(enc.get_feature_names_out())


@pytest.mark.parametrize(
    "transformer",
    [
        StandardScaler(),
        MinMaxScaler(),
        MaxAbsScaler(),
        RobustScaler(),
        QuantileTransformer(n_quantiles=20),
        PowerTransformer(),
        OrdinalEncoder(),
        FunctionTransformer(np.log1p, feature_names_out="one-to-one"),
        VarianceThreshold(),
    ],
    ids=lambda t: type(t).__name__,
)
def test_elementwise_transformer_at_top_level(transformer):
    pre, fmap = fit_map(transformer, X_NUM)
    assert_table(pre, fmap, {"age": "age", "height": "height"})
    assert set(fmap.transformer_paths) == {type(transformer).__name__.lower()}


def test_target_encoder_continuous_and_multiclass():
    pre, fmap = fit_map(ColumnTransformer([("te", TargetEncoder(), ["city", "color"])]), y=Y)
    assert_table(pre, fmap, {"te__city": "city", "te__color": "color"})

    y3 = np.arange(N) % 3
    pre, fmap = fit_map(ColumnTransformer([("te", TargetEncoder(), ["city", "color"])]), y=y3)
    expected = {f"te__{c}_{k}": c for c in ["city", "color"] for k in range(3)}
    assert_table(pre, fmap, expected)


def test_simple_imputer_drops_all_nan_column():
    X = X_NUM.assign(empty=np.nan, income=X_DF["income"])
    pre, fmap = fit_map(SimpleImputer(add_indicator=True), X)
    with pytest.warns(UserWarning, match="empty"):
        assert pre.transform(X).shape[1] == 5  # the all-NaN column is dropped, its flag kept
    expected = {
        "age": "age",
        "height": "height",
        "income": "income",
        "missingindicator_empty": "empty",
        "missingindicator_income": "income",
    }
    assert_table(pre, fmap, expected)


def test_function_transformer_identity_without_names():
    pre, fmap = fit_map(ColumnTransformer([("same", FunctionTransformer(), ["age", "height"])]))
    assert table(fmap) == {"same__x0": "age", "same__x1": "height"}
    assert fmap.is_exact


def test_function_transformer_on_one_column_with_1d_selection():
    """Scalar selectors (str, int) give 1-D input; an arbitrary func on one column is exact."""
    pre, fmap = fit_map(
        ColumnTransformer(
            [
                ("sq", FunctionTransformer(lambda s: np.c_[s, s**2]), "age"),
                ("dum", FunctionTransformer(lambda s: pd.get_dummies(s).to_numpy(float)), 3),
            ]
        )
    )
    assert pre.transform(X_DF).shape[1] == 6
    expected = {"sq__x0": "age", "sq__x1": "age", **{f"dum__x{i}": "city" for i in range(4)}}
    assert table(fmap) == expected
    assert fmap.is_exact


def test_top_level_pipeline_on_numpy():
    X = X_DF[["age", "income", "height"]].to_numpy()
    pre = make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()).fit(X)
    fmap = build_feature_map(pre, ["x0", "x1", "x2"])
    assert list(fmap.engineered_features) == list(pre.get_feature_names_out())
    assert table(fmap) == {"x0": "x0", "x1": "x1", "x2": "x2", "missingindicator_x1": "x1"}


@pytest.mark.parametrize("pre", [None, "passthrough"])
def test_identity_map(pre):
    fmap = build_feature_map(pre, ["a", "b"])
    assert table(fmap) == {"a": "a", "b": "b"}
    np.testing.assert_array_equal(fmap.to_raw(np.array([[1.0, 2.0]])), [[1.0, 2.0]])


def test_sparse_output_changes_nothing():
    dense = ColumnTransformer([("cat", OneHotEncoder(sparse_output=False), ["city", "color"])])
    sparse = ColumnTransformer([("cat", OneHotEncoder(), ["city", "color"])], sparse_threshold=1.0)
    _, fmap_dense = fit_map(dense)
    pre, fmap_sparse = fit_map(sparse)
    assert sp.issparse(pre.transform(X_DF))
    assert table(fmap_dense) == table(fmap_sparse)
    assert (fmap_dense.dependency != fmap_sparse.dependency).nnz == 0


# --------------------------------------------------------------------------- #
# Mixing transformers
# --------------------------------------------------------------------------- #
class SumAndDiff(TransformerMixin, BaseEstimator):
    """A custom transformer mixing two columns, without get_feature_names_out."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        return np.c_[X[:, 0] + X[:, 1], X[:, 0] - X[:, 1], X[:, 0]]


MIXED = {
    "pca": (make_pipeline(StandardScaler(), PCA(2)), "num__pca"),
    "polynomial interaction": (PolynomialFeatures(2, include_bias=False), "num"),
    "custom": (SumAndDiff(), "num"),
    "normalizer": (Normalizer(), "num"),
    "knn imputer": (KNNImputer(n_neighbors=3), "num"),
    "function arbitrary": (
        FunctionTransformer(lambda z: np.asarray(z, float).sum(axis=1, keepdims=True)),
        "num",
    ),
}


@pytest.mark.parametrize("case", list(MIXED))
def test_mixing_transformer_raises_naming_the_path(case):
    transformer, path = MIXED[case]
    pre, fmap = fit_map(
        ColumnTransformer(
            [("cat", OneHotEncoder(), ["color"]), ("num", transformer, ["age", "income", "height"])]
        ),
        X_DF.fillna(0.0) if case != "knn imputer" else X_DF,
    )
    assert not fmap.is_exact
    assert [m["transformer"] for m in fmap.mixed_] == [path]
    assert set(fmap.mixed_[0]["inputs"]) <= {"age", "income", "height"}
    assert len(fmap.mixed_[0]["inputs"]) >= 2
    assert all(out.startswith("num__") for out in fmap.mixed_[0]["outputs"])
    # one-hot columns stay exact
    assert fmap.output_to_input_["cat__color_red"] == ["color"]
    for call in (
        lambda: fmap.matrix,
        lambda: fmap.to_raw(np.zeros((2, len(fmap.engineered_features)))),
    ):
        with pytest.raises(MixedFeatureError) as info:
            call()
        message = str(info.value)
        assert repr(path) in message
        assert fmap.mixed_[0]["outputs"][0] in message
        assert 'explainer="exact"' in message and 'space="engineered"' in message
    assert isinstance(info.value, ValueError)
    assert path in repr(fmap)


def test_mixing_after_a_column_transformer_names_the_step_and_raw_inputs():
    pre = make_pipeline(
        ColumnTransformer(
            [("oh", OneHotEncoder(sparse_output=False), ["city"]), ("s", StandardScaler(), ["age"])]
        ),
        PCA(2),
    )
    _, fmap = fit_map(pre)
    assert fmap.mixed_ == [
        {"transformer": "pca", "outputs": ["pca0", "pca1"], "inputs": ["age", "city"]}
    ]
    with pytest.raises(MixedFeatureError, match=r"'pca' mixes raw columns \['age', 'city'\]"):
        fmap.to_raw(np.zeros((1, 2)))


def test_transformer_paths_name_the_producing_block():
    factory, _ = CASES["nested CT in Pipeline in CT"]
    _, fmap = fit_map(factory())
    assert fmap.to_frame()["transformer"].tolist() == [
        *["outer__scale"] * 3,  # the trailing selector keeps its inputs' producers
        *["cat__onehotencoder"] * 4,
    ]


def test_polynomial_degree_one_terms_map_to_their_column():
    pre, fmap = fit_map(
        ColumnTransformer([("poly", PolynomialFeatures(2), ["age", "height"])]), X_DF
    )
    deps = fmap.output_to_input_
    assert list(deps) == list(pre.get_feature_names_out())
    assert deps["poly__age"] == ["age"]
    assert deps["poly__height"] == ["height"]
    assert deps["poly__age^2"] == ["age"]
    assert deps["poly__height^2"] == ["height"]
    assert deps["poly__age height"] == ["age", "height"]
    assert deps["poly__1"] == ["age", "height"]  # constant: conservatively both
    assert fmap.mixed_ == [
        {
            "transformer": "poly",
            "outputs": ["poly__1", "poly__age height"],
            "inputs": ["age", "height"],
        }
    ]


def test_polynomial_on_one_column_is_exact():
    pre, fmap = fit_map(ColumnTransformer([("poly", PolynomialFeatures(3), ["age"])]), X_DF)
    assert_table(pre, fmap, {n: "age" for n in pre.get_feature_names_out()})


def test_mixing_inside_one_raw_column_is_exact():
    pre, fmap = fit_map(
        ColumnTransformer(
            [("cat", make_pipeline(OneHotEncoder(sparse_output=False), PCA(2)), ["city"])],
            remainder="passthrough",
        ),
        X_DF[["city", "age"]],
    )
    assert_table(pre, fmap, {"cat__pca0": "city", "cat__pca1": "city", "remainder__age": "age"})


def test_custom_transformer_needs_x_sample_for_its_width():
    X = X_DF[["age", "height"]]
    custom = SumAndDiff().fit(X)
    with pytest.raises(ValueError, match=r"'sumanddiff'.*X_sample"):
        build_feature_map(custom, ["age", "height"])
    fmap = build_feature_map(custom, ["age", "height"], X_sample=X.head(3))
    assert list(fmap.engineered_features) == [f"sumanddiff__x{i}" for i in range(3)]
    assert fmap.mixed_[0]["transformer"] == "sumanddiff"
    # in a ColumnTransformer the width comes from output_indices_: no sample needed
    _, fmap = fit_map(ColumnTransformer([("c", SumAndDiff(), ["age", "height"])]), X)
    assert fmap.dependency.shape == (3, 2)


# --------------------------------------------------------------------------- #
# to_raw: the sum invariant
# --------------------------------------------------------------------------- #
def exact_map():
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), ["income"]),
            ("bins", KBinsDiscretizer(n_bins=3, encode="onehot"), ["age", "height"]),
            ("cat", OneHotEncoder(drop="if_binary"), ["city", "color"]),
        ]
    )
    return fit_map(pre)[1]


@pytest.mark.parametrize("seed", range(5))
def test_to_raw_sums_children(seed):
    fmap = exact_map()
    n_eng, n_raw = len(fmap.engineered_features), len(fmap.raw_features)
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(3, 7, n_eng))  # (classes, rows, engineered)
    raw = fmap.to_raw(values)
    assert raw.shape == (3, 7, n_raw)
    np.testing.assert_allclose(raw.sum(axis=-1), values.sum(axis=-1), rtol=1e-12, atol=1e-12)
    eng_index = {name: j for j, name in enumerate(fmap.engineered_features)}
    for i, name in enumerate(fmap.raw_features):
        children = [eng_index[c] for c in fmap.input_to_outputs_[name]]
        assert children, name
        np.testing.assert_allclose(raw[..., i], values[..., children].sum(axis=-1), rtol=1e-12)
    # 1-D, 2-D sparse and list inputs agree with the dense result
    np.testing.assert_allclose(fmap.to_raw(values[0, 0]), raw[0, 0])
    sparse_values = sp.random(7, n_eng, density=0.3, random_state=seed, format="csr")
    np.testing.assert_allclose(fmap.to_raw(sparse_values), fmap.to_raw(sparse_values.toarray()))
    np.testing.assert_allclose(fmap.to_raw(values[1].tolist()), raw[1])
    # the matrix is the same map
    matrix = fmap.matrix
    assert matrix.dtype == np.float64 and sp.issparse(matrix)
    np.testing.assert_allclose(values[2] @ matrix.toarray(), raw[2])


def test_dictionaries_are_inverse():
    fmap = exact_map()
    assert fmap.output_to_input_["num__missingindicator_income"] == ["income"]
    assert fmap.input_to_outputs_["income"] == ["num__income", "num__missingindicator_income"]
    pairs_out = {(e, r) for e, rs in fmap.output_to_input_.items() for r in rs}
    pairs_in = {(e, r) for r, es in fmap.input_to_outputs_.items() for e in es}
    assert pairs_out == pairs_in


def test_to_raw_wrong_last_dimension():
    fmap = exact_map()
    n_eng = len(fmap.engineered_features)
    with pytest.raises(ValueError, match=rf"\(\.\.\., {n_eng}\).*\(4, {n_eng + 1}\)"):
        fmap.to_raw(np.zeros((4, n_eng + 1)))
    with pytest.raises(ValueError, match=r"sparse matrix of shape \(2, 3\)"):
        fmap.to_raw(sp.csr_matrix((2, 3)))
    with pytest.raises(ValueError, match="got shape"):
        fmap.to_raw(1.0)


def test_pickle_round_trip_and_small():
    fmap = exact_map()
    blob = pickle.dumps(fmap)
    assert len(blob) < 5_000  # names and a sparse matrix only, no data
    loaded = pickle.loads(blob)
    assert isinstance(loaded, FeatureMap)
    np.testing.assert_array_equal(loaded.raw_features, fmap.raw_features)
    np.testing.assert_array_equal(loaded.engineered_features, fmap.engineered_features)
    assert (loaded.dependency != fmap.dependency).nnz == 0
    assert loaded.output_to_input_ == fmap.output_to_input_
    assert loaded.input_to_outputs_ == fmap.input_to_outputs_
    assert loaded.mixed_ == fmap.mixed_
    pd.testing.assert_frame_equal(loaded.to_frame(), fmap.to_frame())
    values = np.random.default_rng(0).normal(size=(5, len(fmap.engineered_features)))
    np.testing.assert_array_equal(loaded.to_raw(values), fmap.to_raw(values))
    assert repr(loaded) == repr(fmap) == "FeatureMap(n_engineered=13, n_raw=5, exact=True)"
    # a mixed map pickles too
    _, mixed = fit_map(ColumnTransformer([("pca", PCA(1), ["age", "height"])]))
    assert pickle.loads(pickle.dumps(mixed)).mixed_ == mixed.mixed_


def test_input_errors():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="build_feature_map"):
        build_feature_map(ColumnTransformer([("s", StandardScaler(), ["age"])]), ["age"])
    pre = StandardScaler().fit(X_NUM)
    with pytest.raises(ValueError, match="feature_names_in_"):
        build_feature_map(pre, ["height", "age"])
    pre = StandardScaler().fit(X_NUM.to_numpy())
    with pytest.raises(ValueError, match="fitted on 2 columns but raw_features has 3"):
        build_feature_map(pre, ["x0", "x1", "x2"])


# --------------------------------------------------------------------------- #
# sklearn-pandas DataFrameMapper
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def DataFrameMapper():
    return load_sklearn_pandas().DataFrameMapper


def mapper_table(mapper, X, expected, exact=True):
    Xt = mapper.fit_transform(X)
    fmap = build_feature_map(mapper, list(X.columns), X_sample=X.head(8))
    assert list(fmap.engineered_features) == list(mapper.transformed_names_)
    assert len(fmap.engineered_features) == np.asarray(Xt).shape[1]
    assert table(fmap) == expected
    assert fmap.is_exact is exact
    return fmap


def test_mapper_single_and_multi_column_entries_default_false(DataFrameMapper):
    mapper = DataFrameMapper(
        [
            ("city", LabelBinarizer()),  # 1-D input
            (["age"], [SimpleImputer(), StandardScaler()]),  # 2-D input, list of transformers
            ("color", None),  # untouched
            (["age", "height"], StandardScaler(), {"alias": "both"}),  # multi-column, exact
            (["income", "height"], [SimpleImputer(), PCA(2)], {"alias": "pc"}),  # mixing
        ],
        default=False,
    )
    fmap = mapper_table(
        mapper,
        X_DF,
        {
            **{f"city_{c}": "city" for c in ["lima", "oslo", "paris", "rome"]},
            "age": "age",
            "color": "color",
            "both_0": "age",
            "both_1": "height",
            "pc_0": ("income", "height"),
            "pc_1": ("income", "height"),
        },
        exact=False,
    )
    assert fmap.mixed_ == [
        {"transformer": "pc__pca", "outputs": ["pc_0", "pc_1"], "inputs": ["income", "height"]}
    ]
    with pytest.raises(MixedFeatureError, match="'pc__pca'"):
        _ = fmap.matrix


def test_mapper_default_none_passes_the_rest_through(DataFrameMapper):
    mapper = DataFrameMapper(
        [(["city"], OneHotEncoder(sparse_output=False))], default=None, drop_cols=["income"]
    )
    mapper_table(
        mapper,
        X_DF,
        {
            **{f"city_{i}": "city" for i in range(4)},
            "age": "age",
            "height": "height",
            "color": "color",
        },
    )


def test_mapper_default_transformer(DataFrameMapper):
    X = X_DF[["age", "height", "color"]]
    mapper = DataFrameMapper([("color", LabelBinarizer())], default=StandardScaler())
    fmap = mapper_table(
        mapper, X, {"color": "color", "age_height_0": "age", "age_height_1": "height"}
    )
    assert list(fmap.transformer_paths) == ["color", "default", "default"]


def test_mapper_input_df_and_df_out_fitted_without_transform(DataFrameMapper):
    mapper = DataFrameMapper(
        [
            (["age", "height"], StandardScaler(), {"prefix": "s_"}),
            ("city", LabelBinarizer(), {"input_df": False}),
            (["color"], OneHotEncoder(sparse_output=False)),
        ],
        input_df=True,
        df_out=True,
    )
    mapper.fit(X_DF)  # transformed_names_ stays empty until transform
    fmap = build_feature_map(mapper, RAW, X_sample=X_DF.head(5))
    out = mapper.transform(X_DF)
    assert list(fmap.engineered_features) == list(out.columns)
    assert table(fmap) == {
        "s_age_height_0": "age",
        "s_age_height_1": "height",
        **{f"city_{c}": "city" for c in ["lima", "oslo", "paris", "rome"]},
        "color_0": "color",
        "color_1": "color",
    }


def test_mapper_without_x_sample(DataFrameMapper):
    mapper = DataFrameMapper([(["city", "color"], OneHotEncoder())]).fit(X_DF)
    fmap = build_feature_map(mapper, RAW)  # widths from get_feature_names_out
    assert list(fmap.input_to_outputs_["color"]) == ["city_color_4", "city_color_5"]
    mapper = DataFrameMapper([("city", LabelBinarizer())]).fit(X_DF)
    with pytest.raises(ValueError, match="X_sample"):
        build_feature_map(mapper, RAW)


def test_load_sklearn_pandas_errors(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn_pandas", None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[pandas-mapper\]"'):
        load_sklearn_pandas()
    monkeypatch.setitem(sys.modules, "six", None)
    with pytest.raises(ImportError, match="six"):
        load_sklearn_pandas()


def test_core_modules_never_import_sklearn_pandas_at_import_time():
    """sklearn_pandas is optional: only load_sklearn_pandas() imports it, lazily."""
    import ast

    import explainable_pipeline._feature_map as feature_map
    import explainable_pipeline._sklearn_compat as compat

    for module in (feature_map, compat):
        tree = ast.parse(open(module.__file__).read())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level for a in n.names] + [
            n.module for n in top_level if isinstance(n, ast.ImportFrom) and n.module
        ]
        assert not any("sklearn_pandas" in name or name == "six" for name in names)


def test_docs_dataframe_mapper_examples_run():
    """The examples of docs/dataframe_mapper.md run as written."""
    import doctest
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "dataframe_mapper.md"
    result = doctest.testfile(
        str(path), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 10
    assert result.failed == 0
