"""Properties of the explanation result objects (no model needed: values are built by hand)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

from explainable_pipeline._explanation import (
    AdditivityWarning,
    GlobalExplanation,
    LocalExplanation,
    MissingExplanationPartError,
)

matplotlib.use("Agg")

FEATURES = ["num", "text", "cat", "count", "obj", "when", "nullable"]


def mixed_frame(n: int) -> pd.DataFrame:
    """Numeric/str/categorical/object/datetime/nullable columns, all with missing values."""
    rng = np.random.default_rng(1)
    index = pd.Index([f"r{i}" for i in range(n)], name="row_id")
    num = rng.normal(size=n)
    num[::3] = np.nan
    text = pd.Series([None if i % 4 == 0 else f"t{i}" for i in range(n)], dtype="str", index=index)
    cat = pd.Categorical(
        [None if i % 5 == 0 else "ab"[i % 2] for i in range(n)], categories=["b", "a"], ordered=True
    )
    obj = pd.Series(["p", None, np.nan, 3] * (n // 4) + ["p"] * (n % 4), dtype=object, index=index)
    when = pd.Series(pd.date_range("2024-01-01", periods=n, freq="37min", tz="UTC"), index=index)
    when.iloc[1] = pd.NaT
    nullable = pd.Series(
        pd.array([None if i % 2 else i for i in range(n)], dtype="Int64"), index=index
    )
    frame = {"num": num, "text": text, "cat": cat, "count": np.arange(n), "obj": obj}
    return pd.DataFrame({**frame, "when": when, "nullable": nullable}, index=index)


def make_local(kind: str, n: int = 6, data_kind: str = "frame", **kwargs) -> LocalExplanation:
    rng = np.random.default_rng({"regression": 0, "binary": 1, "multiclass": 2}[kind])
    k = {"regression": None, "binary": 2, "multiclass": 3}[kind]
    shape = (n, len(FEATURES)) if k is None else (k, n, len(FEATURES))
    values = rng.normal(size=shape)
    expected = 0.5 if k is None else rng.normal(size=k)
    base = expected if k is None else expected[:, None]
    classes = None if k is None else ([0, 1] if k == 2 else ["setosa", 7, "virginica"])
    X = mixed_frame(n) if data_kind == "frame" else rng.normal(size=(n, len(FEATURES)))
    defaults = dict(
        classes=classes,
        method="tree",
        space="raw",
        output="prediction" if k is None else "log_odds",
        data=X,
        predictions=values.sum(-1) + base,
        meta={"model": "GBM", "seed": 3, "nested": {"a": [1, 2.5, None]}},
    )
    return LocalExplanation(values, expected, FEATURES, **{**defaults, **kwargs})


def by_hand_order(row: np.ndarray) -> list[int]:
    """The documented rule: signed value, highest first; ties -> later feature first."""
    return sorted(range(len(row)), key=lambda j: (row[j], j), reverse=True)


def assert_same_local(a: LocalExplanation, b: LocalExplanation) -> None:
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.expected_values, b.expected_values)
    assert type(a.expected_values) is type(b.expected_values)
    assert (a.features, a.classes, a.method, a.space, a.output) == (
        b.features,
        b.classes,
        b.method,
        b.space,
        b.output,
    )
    assert [type(c) for c in a.classes or []] == [type(c) for c in b.classes or []]
    assert a.groups == b.groups and a.meta == b.meta
    if a.predictions is None:
        assert b.predictions is None
    else:
        np.testing.assert_array_equal(a.predictions, b.predictions)
    if isinstance(a.data, pd.DataFrame):
        pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    elif a.data is None:
        assert b.data is None
    else:
        assert a.data.dtype == b.data.dtype
        np.testing.assert_array_equal(a.data, b.data)


def json_round_trip(exp):
    text = json.dumps(exp.to_dict(), allow_nan=False)  # strict JSON: NaN/inf are encoded
    return type(exp).from_dict(json.loads(text))


# ----------------------------------------------------------------------------- validation
def local_kwargs(**over):
    kw = dict(
        values=np.zeros((2, 4, 3)),
        expected_values=[0.0, 0.0],
        features=["a", "b", "c"],
        classes=["x", "y"],
        method="tree",
        space="raw",
        output="log_odds",
    )
    return {**kw, **over}


@pytest.mark.parametrize(
    "over, match",
    [
        ({"features": ["a", "b"]}, r"features has 2 names but values has 3"),
        ({"features": ["a", "a", "c"]}, r"features must be unique.*\['a'\]"),
        ({"values": np.zeros(3)}, r"values must be a non-empty .* got shape \(3,\)"),
        ({"values": np.zeros((0, 3)), "classes": None, "expected_values": 0.0}, "non-empty"),
        ({"values": np.full((2, 4, 3), np.nan)}, r"values must be finite; got 24 NaN/inf"),
        (
            {"classes": ["x", "y", "z"]},
            r"classes has 3 labels.*\(3, n_rows, n_features\); got \(2, 4, 3\)",
        ),
        ({"values": np.zeros((4, 3)), "expected_values": 0.0}, r"classes has 2 labels"),
        (
            {"expected_values": [0.0, 0.0, 0.0]},
            r"expected_values \(n_classes,\) must have shape \(2,\); got \(3,\)",
        ),
        (
            {"values": np.zeros((4, 3)), "classes": None},
            r"expected_values must be a float .* got shape \(2,\)",
        ),
        ({"data": np.zeros((5, 3))}, r"data has 5 rows but values explain 4 rows"),
        ({"predictions": np.zeros((4, 2))}, r"must have shape \(2, 4\); got \(4, 2\)"),
        ({"space": "latent"}, r"space must be one of \('raw', 'engineered'\); got 'latent'"),
        ({"groups": {"zz": ["a"]}}, r"groups keys must be features; got unknown groups \['zz'\]"),
    ],
)
def test_local_validation_names_the_mismatch(over, match):
    with pytest.raises(ValueError, match=match):
        LocalExplanation(**local_kwargs(**over))


def test_local_type_errors():
    with pytest.raises(TypeError, match="method must be a non-empty str"):
        LocalExplanation(**local_kwargs(method=None))
    with pytest.raises(TypeError, match=r"meta\['x'\] must hold JSON-able values; got object"):
        LocalExplanation(**local_kwargs(meta={"x": object()}))
    with pytest.raises(TypeError, match="each entry of features must be str/int"):
        LocalExplanation(**local_kwargs(features=["a", 2.5, "c"]))


@pytest.mark.parametrize(
    "over, match",
    [
        ({"features": ["a"]}, r"features has 1 names but values has 3"),
        (
            {"per_class_values": np.zeros((2, 4))},
            r"per_class_values .* must have shape \(2, 3\); got \(2, 4\)",
        ),
        ({"intervals": np.zeros((3, 3))}, r"intervals .* must have shape \(2, 3\); got \(3, 3\)"),
        ({"std": np.zeros(2)}, r"std must have shape \(3,\); got \(2,\)"),
        ({"expected_values": [0.0, 1.0, 2.0]}, r"expected_values .* must have shape \(2,\)"),
        ({"n_rows": -1}, r"n_rows must be None or a non-negative int; got -1"),
    ],
)
def test_global_validation_names_the_mismatch(over, match):
    kw = dict(values=[1.0, 2.0, 3.0], features=["a", "b", "c"], classes=["x", "y"], method="pfi")
    with pytest.raises(ValueError, match=match):
        GlobalExplanation(**{**kw, "space": "raw", "output": "score", **over})


def test_global_checks_its_local_part():
    local = make_local("regression")
    kw = dict(method="tree", space="raw", output="prediction")
    with pytest.raises(ValueError, match="same features in the same space"):
        GlobalExplanation(np.ones(3), ["a", "b", "c"], local=local, **kw)
    with pytest.raises(ValueError, match="n_rows=3 but local explains 6 rows"):
        GlobalExplanation(np.ones(7), FEATURES, local=local, n_rows=3, **kw)


# ----------------------------------------------------------------------------- ranking
def test_local_ranking_is_signed_descending_with_documented_ties():
    values = np.array([[0.5, -3.0, 0.5, 2.0], [1.0, 1.0, 1.0, -1.0]])
    exp = LocalExplanation(
        values, 0.0, ["a", "b", "c", "d"], method="linear", space="raw", output="prediction"
    )
    # signed, not absolute: -3.0 ranks last; ties: the later feature first
    assert exp.get_ranked_local_names() == [["d", "c", "a", "b"], ["c", "b", "a", "d"]]
    assert exp.get_ranked_local_values() == [[2.0, 0.5, 0.5, -3.0], [1.0, 1.0, 1.0, -1.0]]
    assert exp.get_local_importance_rank() == [by_hand_order(r) for r in values]
    assert exp.get_ranked_local_names(top_k=2) == [["d", "c"], ["c", "b"]]
    assert exp.get_ranked_local_values(top_k=10) == exp.get_ranked_local_values()


def test_rank_by_abs_ranks_by_magnitude_everywhere_and_is_validated():
    values = np.array([[0.5, -3.0, 0.5, 2.0], [1.0, -1.0, 1.0, -1.5]])
    exp = LocalExplanation(
        values, 0.0, ["a", "b", "c", "d"], method="linear", space="raw", output="prediction"
    )
    # by magnitude: -3.0 first; the values stay signed; ties: the later feature first
    assert exp.get_ranked_local_names(rank_by="abs") == [["b", "d", "c", "a"], ["d", "c", "b", "a"]]
    assert exp.get_ranked_local_values(top_k=2, rank_by="abs") == [[-3.0, 2.0], [-1.5, 1.0]]
    assert exp.get_local_importance_rank("abs") == [[1, 3, 2, 0], [3, 2, 1, 0]]
    glob = GlobalExplanation.from_local(exp)
    assert glob.get_ranked_local_names(1, rank_by="abs") == [["b"], ["d"]]
    # global importances are non-negative: both rules agree
    assert glob.get_ranked_global_names(rank_by="abs") == glob.get_ranked_global_names()
    # permutation importances can be negative: signed ranks a harmful column last
    pfi = GlobalExplanation(np.array([0.2, -0.5, 0.1]), ["x", "y", "z"], method="pfi",
                            space="raw", output="prediction")  # fmt: skip
    assert pfi.get_ranked_global_names() == ["x", "z", "y"]
    assert pfi.get_ranked_global_names(rank_by="abs") == ["y", "x", "z"]
    assert list(pfi.get_feature_importance_dict(rank_by="abs")) == ["y", "x", "z"]
    multi = LocalExplanation(np.stack([values, -values]), [0.0, 0.0], ["a", "b", "c", "d"],
                             classes=[0, 1], method="tree", space="raw", output="log_odds")  # fmt: skip
    glob = GlobalExplanation.from_local(multi)
    assert glob.get_ranked_per_class_names(rank_by="abs") == glob.get_ranked_per_class_names()
    for bad in ("absolute", None, "ABS"):
        with pytest.raises(ValueError, match=r"rank_by must be one of \('signed', 'abs'\)"):
            exp.get_ranked_local_names(rank_by=bad)


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_ranking_matches_interpret_community_rule_and_hand_sort(kind):
    exp = make_local(kind)
    values = exp.local_importance_values
    # interpret-community's _order_imp: argsort()[..., ::-1] (no ties in random data)
    np.testing.assert_array_equal(exp.get_local_importance_rank(), values.argsort()[..., ::-1])
    rows = values.reshape(-1, values.shape[-1])
    names = [[FEATURES[j] for j in by_hand_order(r)] for r in rows]
    assert (
        np.array(exp.get_ranked_local_names(), dtype=object).reshape(len(rows), -1).tolist()
        == names
    )
    ranked = np.array(exp.get_ranked_local_values(top_k=3))
    assert ranked.shape == values.shape[:-1] + (3,)
    np.testing.assert_array_equal(ranked, -np.sort(-values, axis=-1)[..., :3])


@pytest.mark.parametrize("top_k", [0, -2, 1.5, "3", True, None])
def test_invalid_top_k_is_rejected_everywhere(top_k):
    glob = GlobalExplanation.from_local(make_local("multiclass"))
    methods = [
        glob.get_ranked_local_names,
        glob.get_ranked_local_values,
        glob.get_ranked_global_names,
        glob.get_ranked_global_values,
        glob.get_feature_importance_dict,
        glob.get_ranked_per_class_names,
        glob.get_ranked_per_class_values,
    ]
    for method in methods:
        if top_k is None:
            method(top_k)  # None means all
        else:
            with pytest.raises(
                (TypeError, ValueError), match="top_k must be None or a positive int"
            ):
                method(top_k)


def test_per_class_ranking():
    exp = make_local("multiclass")
    per_class = np.abs(exp.values).mean(axis=1)
    np.testing.assert_allclose(exp.per_class_values, per_class, rtol=0, atol=1e-15)
    for glob_or_local in (exp, GlobalExplanation.from_local(exp)):
        names = glob_or_local.get_ranked_per_class_names(top_k=4)
        values = glob_or_local.get_ranked_per_class_values()
        assert names == [[FEATURES[j] for j in by_hand_order(r)][:4] for r in per_class]
        assert values == [sorted(r, reverse=True) for r in per_class.tolist()]
        assert glob_or_local.per_class_rank == [by_hand_order(r) for r in per_class]


# ----------------------------------------------------------------------------- global
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
def test_global_from_local_is_mean_abs_by_hand(kind):
    local = make_local(kind)
    glob = GlobalExplanation.from_local(local, std=np.full(7, 0.1), meta={"extra": True})
    v = local.values if local.n_classes else local.values[None]
    per_class = [[sum(abs(v[c, i, j]) for i in range(v.shape[1])) / v.shape[1] for j in range(7)]
                 for c in range(v.shape[0])]  # fmt: skip
    overall = [
        sum(per_class[c][j] for c in range(len(per_class))) / len(per_class) for j in range(7)
    ]
    np.testing.assert_allclose(glob.global_importance_values, overall, rtol=1e-12)
    np.testing.assert_array_equal(glob.values, local.global_importance_values)
    if kind == "regression":
        assert glob.per_class_values is None
        with pytest.raises(MissingExplanationPartError, match="no per-class values"):
            glob.get_ranked_per_class_names()
    else:
        np.testing.assert_allclose(glob.per_class_values, per_class, rtol=1e-12)
    ranked = sorted(zip(FEATURES, overall, strict=True), key=lambda t: t[1], reverse=True)
    assert list(glob.get_feature_importance_dict()) == [f for f, _ in ranked]
    np.testing.assert_allclose(
        list(glob.get_feature_importance_dict(top_k=2).values()), [v for _, v in ranked[:2]]
    )
    assert glob.get_ranked_global_names() == [f for f, _ in ranked]
    assert glob.n_rows == glob.num_examples == local.n_rows == len(local)
    assert glob.classes == local.classes and glob.meta == {**local.meta, "extra": True}
    assert glob.is_raw and not glob.is_engineered and glob.num_features == 7


def test_global_forwards_local_accessors_or_raises_attribute_error():
    local = make_local("binary")
    glob = GlobalExplanation.from_local(local)
    np.testing.assert_array_equal(glob.local_importance_values, local.values)
    assert glob.get_ranked_local_names(top_k=1) == local.get_ranked_local_names(top_k=1)
    assert glob.get_ranked_local_values() == local.get_ranked_local_values()
    bare = GlobalExplanation.from_local(local, keep_local=False)
    assert not hasattr(bare, "local_importance_values")  # duck typing as in interpret-community
    for call in (lambda: bare.local_importance_values, bare.get_ranked_local_names, bare.to_shap):
        with pytest.raises(AttributeError, match="carries no local explanation"):
            call()


# ----------------------------------------------------------------------------- to_dict
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("data", ["frame", "array", None])
def test_dict_json_round_trip_is_exact(kind, data):
    kwargs = {"data": None} if data is None else {}
    if kind == "binary":  # NaN/inf in predictions must survive strict JSON
        predictions = make_local(kind).predictions.copy()
        predictions[0, 0], predictions[1, 1] = np.nan, -np.inf
        kwargs["predictions"] = predictions
    local = make_local(
        kind, data_kind=data or "frame", groups={"num": ["num_a", "num_b"]}, **kwargs
    )
    back = json_round_trip(local)
    assert_same_local(local, back)
    assert back.to_dict() == local.to_dict()
    glob = GlobalExplanation.from_local(
        local, intervals=np.vstack([local.global_importance_values - 0.1, local.global_importance_values + 0.1]),
        std=np.linspace(0, 1, 7), fidelity={"r2": 0.93, "accuracy": None},
    )  # fmt: skip
    gback = json_round_trip(glob)
    for name in ("values", "per_class_values", "intervals", "std", "expected_values"):
        np.testing.assert_array_equal(getattr(glob, name), getattr(gback, name))
    assert (gback.fidelity, gback.n_rows, gback.meta, gback.classes) == (
        glob.fidelity,
        glob.n_rows,
        glob.meta,
        glob.classes,
    )
    assert_same_local(glob.local, gback.local)
    assert gback.to_dict() == glob.to_dict()


def test_dict_round_trip_without_optional_parts_and_int_names():
    glob = GlobalExplanation(
        [0.3, 0.1], [0, 1], method="pfi", space="engineered", output="accuracy"
    )
    back = json_round_trip(glob)
    assert back.features == [0, 1] and back.local is None and back.expected_values is None
    assert back.to_dict() == glob.to_dict() and back.to_dict()["format_version"] == 1


def test_from_dict_rejects_unknown_versions_and_kinds():
    d = make_local("regression").to_dict()
    with pytest.raises(ValueError, match="format_version 99; this version .* reads 1..1"):
        LocalExplanation.from_dict({**d, "format_version": 99})
    with pytest.raises(ValueError, match="needs kind 'global'; got 'local'"):
        GlobalExplanation.from_dict(d)
    with pytest.raises(TypeError, match=r"to_dict cannot serialise an object cell of type dict"):
        LocalExplanation(
            np.zeros((1, 1)), 0.0, ["x"], method="m", space="raw", output="o",
            data=pd.DataFrame({"x": [{"a": 1}]}, dtype=object),
        ).to_dict()  # fmt: skip


# ----------------------------------------------------------------------------- views
def test_to_dataframe_shapes_and_index():
    reg, multi = make_local("regression"), make_local("multiclass", data_kind="array")
    frame = reg.to_dataframe()
    assert frame.shape == (6, 7) and list(frame.columns) == FEATURES
    pd.testing.assert_index_equal(frame.index, reg.data.index)
    np.testing.assert_array_equal(frame.to_numpy(), reg.values)
    mframe = multi.to_dataframe()
    assert mframe.shape == (6, 21) and mframe.columns.names == ["class", "feature"]
    assert isinstance(mframe.index, pd.RangeIndex)
    np.testing.assert_array_equal(mframe[(7, "cat")], multi.values[1, :, 2])
    gframe = GlobalExplanation.from_local(multi, std=np.arange(7.0)).to_dataframe()
    assert list(gframe.columns) == ["feature", "importance", "importance_setosa", "importance_7",
                                    "importance_virginica", "std"]  # fmt: skip
    assert gframe["feature"].tolist() == multi.get_ranked_global_names()
    assert gframe["importance"].is_monotonic_decreasing


def test_to_shap_matches_values_and_shap_plots_accept_it():
    import matplotlib.pyplot as plt
    import shap

    reg = make_local("regression", data_kind="array")
    sv = reg.to_shap()
    np.testing.assert_array_equal(sv.values, reg.values)
    np.testing.assert_array_equal(sv.base_values, np.full(6, 0.5))
    np.testing.assert_array_equal(sv.data, reg.data)
    assert list(sv.feature_names) == FEATURES
    multi = make_local("multiclass")  # DataFrame data with str/category/NaN columns
    full = multi.to_shap()
    assert full.values.shape == (6, 7, 3) and full.base_values.shape == (6, 3)
    np.testing.assert_array_equal(full.values[:, :, 2], multi.values[2])
    np.testing.assert_array_equal(full.base_values[0], multi.expected_values)
    one = multi.to_shap(class_index=1)
    np.testing.assert_array_equal(one.values, multi.values[1])
    np.testing.assert_array_equal(one.base_values, np.full(6, multi.expected_values[1]))
    shap.plots.bar(sv, show=False)
    shap.plots.waterfall(sv[0], show=False)
    shap.plots.waterfall(one[2], show=False)  # str/categorical data values in the labels
    shap.plots.bar(full[:, :, 0], show=False)
    shap.plots.beeswarm(sv, show=False)
    plt.close("all")
    with pytest.raises(IndexError, match=r"class_index must be in \[0, 3\); got 3"):
        multi.to_shap(class_index=3)


def test_check_additivity_catches_off_by_one():
    for kind in ("regression", "multiclass"):
        exp = make_local(kind)
        assert exp.check_additivity() < 1e-12
        with pytest.warns(AdditivityWarning, match="max abs error 1"):
            off_by_one = exp.predictions.copy()
            off_by_one.flat[-1] += 1.0
            err = exp.check_additivity(predictions=off_by_one)
        assert err == pytest.approx(1.0)
        shifted = LocalExplanation(exp.values, exp.expected_values + 1, FEATURES, classes=exp.classes,
                                   method="tree", space="raw", output="o", predictions=exp.predictions)  # fmt: skip
        with pytest.warns(AdditivityWarning):
            assert shifted.check_additivity() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="needs predictions"):
        make_local("regression", predictions=None).check_additivity()
    with pytest.raises(ValueError, match=r"must have shape \(6,\); got \(5,\)"):
        make_local("regression").check_additivity(np.zeros(5))


def test_select_repr_len_and_read_only():
    exp = make_local("multiclass")
    sub = exp.select(rows=[0, 2], classes=[2], features=["cat", "num"])
    assert sub.classes == ["virginica"] and sub.features == ["cat", "num"] and len(sub) == 2
    np.testing.assert_array_equal(sub.values[0], exp.values[2][[0, 2]][:, [2, 0]])
    assert sub.data.index.tolist() == ["r0", "r2"]
    assert exp.select(rows=slice(1, 3)).check_additivity() < 1e-12
    assert repr(exp) == (
        "LocalExplanation(method='tree', space='raw', output='log_odds', n_rows=6, "
        "n_features=7, classes=['setosa', 7, 'virginica'])"
    )
    assert "local=yes" in repr(GlobalExplanation.from_local(exp))
    with pytest.raises(ValueError, match="read-only"):
        exp.values[0, 0, 0] = 1.0


def test_select_keeps_each_value_with_its_standard_error():
    """select() passed the meta on as it was: the errors kept the full shape, and position 0
    of select(rows=[3]) was row 0's error."""
    rng = np.random.RandomState(0)
    values, se = rng.randn(3, 6, 4), rng.rand(3, 6, 4)
    local = LocalExplanation(values, np.zeros(3), list("abcd"), classes=["x", "y", "z"],
                             method="kernel", space="raw", output="probability",
                             meta={"standard_errors": se})
    for kw, (c, r, f) in [({"rows": [3, 1]}, (slice(None), [3, 1], slice(None))),
                          ({"classes": [2]}, ([2], slice(None), slice(None))),
                          ({"features": ["d", "a"]}, (slice(None), slice(None), [3, 0])),
                          ({"rows": slice(0, 1), "classes": 0}, ([0], [0], slice(None)))]:
        part = local.select(**kw)
        want = se[c][:, r][:, :, f]
        np.testing.assert_array_equal(np.asarray(part.meta["standard_errors"]), want)
        np.testing.assert_array_equal(part.values, values[c][:, r][:, :, f])
    with pytest.raises(ValueError, match=r"meta\['standard_errors'\] has shape \(3, 2, 4\)"):
        LocalExplanation(values, np.zeros(3), list("abcd"), classes=["x", "y", "z"],
                         method="kernel", space="raw", output="probability",
                         meta={"standard_errors": se[:, :2]})
