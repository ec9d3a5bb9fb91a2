"""explain_local_to_parquet writes to a temporary file renamed only on success: a run that fails
in a later chunk leaves the previous complete file (or none) and no partial or temporary file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b", "c"], size=3000)})
    y = X.x + (X.c == "b")
    pre = ColumnTransformer([("num", StandardScaler(), ["x"]),
                             ("cat", OneHotEncoder(handle_unknown="error"), ["c"])])  # fmt: skip
    return ExplainablePipeline(pre, Ridge(), batch_size=1000).fit(X, y), X


def test_a_failed_run_leaves_the_previous_file(fitted, tmp_path):
    ep, X = fitted
    path = tmp_path / "attributions.parquet"
    ep.explain_local_to_parquet(X.iloc[:500], path)
    before = pd.read_parquet(path)
    bad = X.copy()
    bad.loc[2500, "c"] = "unseen"  # third chunk
    with pytest.raises(ValueError, match="unseen|unknown categor"):
        ep.explain_local_to_parquet(bad, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), before)
    assert [p.name for p in tmp_path.iterdir()] == ["attributions.parquet"]


def test_a_failed_first_run_leaves_no_file(fitted, tmp_path):
    ep, X = fitted
    bad = X.copy()
    bad.loc[2500, "c"] = "unseen"
    with pytest.raises(ValueError):
        ep.explain_local_to_parquet(bad, tmp_path / "a.parquet")
    assert list(tmp_path.iterdir()) == []
    good = ep.explain_local_to_parquet(X, tmp_path / "a.parquet")
    assert len(pd.read_parquet(good)) == 3000
    assert [p.name for p in tmp_path.iterdir()] == ["a.parquet"]
