"""save/load: joblib and skops round trips, trusted types, version record, compactness."""

from __future__ import annotations

import json
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from conftest import penguin_lgbm, penguin_preprocessor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import explainable_pipeline as ep_lib
from explainable_pipeline import ExplainablePipeline, load, persistence, save
from explainable_pipeline.persistence import (
    UntrustedTypesError,
    VersionMismatchWarning,
    get_untrusted_types,
    read_metadata,
)

pytest.importorskip("skops")
lightgbm = pytest.importorskip("lightgbm")

LGBM_TYPES = {"lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier"}
# scikit-learn 1.6's ColumnTransformer keeps its remainder columns in a private list type that
# skops does not trust by default (gone in 1.7); the oldest-versions CI run meets it
SKLEARN_TYPES = (
    {"sklearn.compose._column_transformer._RemainderColsList"}
    if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 7)
    else set()
)


@pytest.fixture(scope="module")
def penguin_models(penguins):
    X, y = penguins
    lgbm = penguin_lgbm(X, y)
    logreg = ExplainablePipeline(
        penguin_preprocessor(), LogisticRegression(max_iter=300), random_state=0
    ).fit(X, y)
    return X, y, {"lgbm": lgbm, "logreg": logreg}


def _assert_same_model(a, b, X):
    rows = X.iloc[:12]
    np.testing.assert_array_equal(a.predict(rows), b.predict(rows))
    np.testing.assert_allclose(a.predict_proba(rows), b.predict_proba(rows), rtol=0, atol=0)
    la, lb = a.explain_local(rows), b.explain_local(rows)
    np.testing.assert_allclose(la.values, lb.values, rtol=0, atol=0)
    np.testing.assert_allclose(la.expected_values, lb.expected_values, rtol=0, atol=0)
    assert la.features == lb.features and la.classes == lb.classes
    pd.testing.assert_frame_equal(a.background_, b.background_)
    np.testing.assert_array_equal(a.background_weights_, b.background_weights_)
    pd.testing.assert_frame_equal(a.feature_map_.to_frame(), b.feature_map_.to_frame())
    assert a.feature_dtypes_ == b.feature_dtypes_ and a.explainer_ == b.explainer_
    assert a.get_params(deep=False).keys() == b.get_params(deep=False).keys()


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
@pytest.mark.parametrize("which", ["lgbm", "logreg"])
def test_round_trip_gives_identical_predictions_and_explanations(
    penguin_models, tmp_path, fmt, which
):
    X, _, models = penguin_models
    ep = models[which]
    path = save(ep, tmp_path / f"model.{fmt}", format=fmt)
    trusted = get_untrusted_types(path) if fmt == "skops" else None
    _assert_same_model(ep, load(path, trusted=trusted), X)


def test_skops_untrusted_types_are_the_models_own(penguin_models, tmp_path):
    """Our explainer state adds no untrusted type: only the model libraries' types remain."""
    _, _, models = penguin_models
    untrusted = {}
    for which, ep in models.items():
        untrusted[which] = set(get_untrusted_types(save(ep, tmp_path / f"{which}.skops", "skops")))
    for types in untrusted.values():
        assert not any(t.startswith(("explainable_pipeline", "pandas", "scipy")) for t in types)
    # SimpleImputer stores a numpy.dtype; LightGBM adds its Booster, estimator and an OrderedDict
    assert untrusted["logreg"] <= {"numpy.dtype"} | SKLEARN_TYPES
    assert (
        LGBM_TYPES
        <= untrusted["lgbm"]
        <= LGBM_TYPES | {"numpy.dtype", "collections.OrderedDict"} | SKLEARN_TYPES
    )


def test_skops_load_refuses_untrusted_types_and_names_them(penguin_models, tmp_path):
    _, _, models = penguin_models
    path = save(models["lgbm"], tmp_path / "m.skops", format="skops")
    with pytest.raises(UntrustedTypesError, match="lightgbm.basic.Booster") as info:
        load(path)
    assert isinstance(info.value, TypeError)
    assert LGBM_TYPES <= set(info.value.types)
    assert "trusted=" in str(info.value)
    # trusting only part of them still refuses, naming what is left
    with pytest.raises(UntrustedTypesError) as info:
        load(path, trusted=["lightgbm.basic.Booster"])
    assert "lightgbm.basic.Booster" not in info.value.types
    assert "lightgbm.sklearn.LGBMClassifier" in info.value.types
    with pytest.raises(TypeError, match="list of type names"):
        load(path, trusted="lightgbm.basic.Booster")


def test_skops_file_of_a_pure_sklearn_pipeline_needs_no_trust(tmp_path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    ep = ExplainablePipeline(StandardScaler(), Ridge()).fit(X, y)
    path = save(ep, tmp_path / "ridge.skops", format="skops")
    assert get_untrusted_types(path) == []
    back = load(path)
    np.testing.assert_allclose(back.explain_local(X[:5]).values, ep.explain_local(X[:5]).values)


def test_metadata_records_versions_without_loading(penguin_models, tmp_path):
    _, _, models = penguin_models
    for fmt in ("joblib", "skops"):
        path = save(models["lgbm"], tmp_path / f"m.{fmt}", format=fmt)
        meta = read_metadata(path)
        assert meta["format_version"] == persistence.FORMAT_VERSION
        assert meta["serialization"] == fmt
        versions = meta["versions"]
        assert versions["explainable-pipeline"] == ep_lib.__version__
        assert versions["scikit-learn"] == __import__("sklearn").__version__
        assert versions["lightgbm"] == lightgbm.__version__
        assert meta["model_libraries"] == ["lightgbm"]
        assert meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
        assert meta["explainer"] == "tree"
        json.dumps(meta)
    # the skops metadata tells a user what to trust before loading anything
    assert LGBM_TYPES <= set(read_metadata(tmp_path / "m.skops")["untrusted_types"])


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_loading_under_other_versions_warns(penguin_models, tmp_path, monkeypatch, fmt):
    _, _, models = penguin_models
    ep = models["logreg"]
    path = tmp_path / f"m.{fmt}"
    trusted = ["numpy.dtype", *SKLEARN_TYPES] if fmt == "skops" else None  # skops only
    with warnings.catch_warnings():
        warnings.simplefilter("error", VersionMismatchWarning)
        save(ep, path, format=fmt)
        load(path, trusted=trusted)  # same versions: no warning

    real = persistence.current_versions

    def fake(libraries=()):
        return {**real(libraries), "scikit-learn": "1.0.0", "explainable-pipeline": "0.0.1"}

    monkeypatch.setattr(persistence, "current_versions", fake)
    save(ep, path, format=fmt)
    monkeypatch.setattr(persistence, "current_versions", real)
    with pytest.warns(VersionMismatchWarning, match=r"scikit-learn 1\.0\.0 \(now ") as record:
        back = load(path, trusted=trusted)
    assert "explainable-pipeline 0.0.1" in str(record[0].message)
    assert "re-fit" in str(record[0].message)
    assert isinstance(back, ExplainablePipeline)


def test_files_that_are_not_ours_or_too_new_are_refused(penguin_models, tmp_path):
    _, _, models = penguin_models
    ep = models["logreg"]
    bare = tmp_path / "bare.joblib"
    joblib.dump(ep, bare)
    with pytest.raises(ValueError, match="explainable_pipeline.save"):
        load(bare)
    newer = tmp_path / "newer.joblib"
    save(ep, newer)
    envelope = joblib.load(newer)
    envelope["format_version"] = persistence.FORMAT_VERSION + 1
    joblib.dump(envelope, newer)
    with pytest.raises(ValueError, match="Upgrade explainable-pipeline"):
        load(newer)
    with pytest.raises(FileNotFoundError, match="No model file"):
        load(tmp_path / "missing.joblib")


def test_save_checks_its_arguments(penguin_models, tmp_path):
    X, y, models = penguin_models
    with pytest.raises(TypeError, match="fitted ExplainablePipeline"):
        save(make_pipeline(StandardScaler(), Ridge()), tmp_path / "x")
    with pytest.raises(ValueError, match="format must be one of"):
        save(models["logreg"], tmp_path / "x", format="pickle")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save(ExplainablePipeline(None, Ridge()), tmp_path / "x")


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_explainer_state_is_compact(penguin_models, tmp_path, fmt):
    """The explainer adds <= 10% or <= 200 KB to the bare fitted pipeline's file."""
    X, y, models = penguin_models
    ep = models["lgbm"]
    bare = make_pipeline(ep.preprocessor_, ep.estimator_)
    bare_path = tmp_path / f"bare.{fmt}"
    if fmt == "joblib":
        joblib.dump(bare, bare_path)
    else:
        import skops.io as sio

        sio.dump(bare, bare_path)
    ours = save(ep, tmp_path / f"ep.{fmt}", format=fmt)
    added = ours.stat().st_size - bare_path.stat().st_size
    assert added <= max(0.10 * bare_path.stat().st_size, 200_000)
    assert len(ep.background_) <= 100 < len(X)  # a summary, never the training set
