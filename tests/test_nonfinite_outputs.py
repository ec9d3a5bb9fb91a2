"""Every output path (explain_local, explain_local_to_parquet, Dask, explain_partition) refuses
NaN/inf attributions with one error naming the rows; none writes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline._batch import PartitionExplanationError, explain_partition

MESSAGE = r"attributions of 1 of \d+ rows .* are NaN or infinite, at row\(s\) \['r1500'\]"


@pytest.fixture(scope="module")
def overflowing():
    """A linear model whose attribution of a huge (finite) input overflows to inf."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"],
                     index=[f"r{i}" for i in range(3000)])  # fmt: skip
    ep = ExplainablePipeline(None, Ridge(), batch_size=1000).fit(X, 10 * X.a + X.b)
    bad = X.copy()
    bad.loc["r1500", "a"] = 1e308  # coefficient ~10: the attribution is inf
    return ep, X, bad


def test_explain_local_names_the_row(overflowing):
    ep, X, bad = overflowing
    with pytest.raises(ValueError, match=MESSAGE):
        ep.explain_local(bad)
    assert np.isfinite(ep.explain_local(X).values).all()


def test_parquet_refuses_and_writes_nothing(overflowing, tmp_path):
    pytest.importorskip("pyarrow")
    ep, _, bad = overflowing
    with pytest.raises(ValueError, match=MESSAGE + r".*Nothing is written"):
        ep.explain_local_to_parquet(bad, tmp_path / "a.parquet")
    assert list(tmp_path.iterdir()) == []


def test_partitions_and_dask_refuse_naming_partition_and_row(overflowing):
    ep, _, bad = overflowing
    with pytest.raises(PartitionExplanationError, match=r"partition 1 .*r1500"):
        explain_partition(ep, bad.iloc[1000:2000], partition=1)
    dd = pytest.importorskip("dask.dataframe")
    from explainable_pipeline.distributed import explain_global, explain_local

    ddf = dd.from_pandas(bad, npartitions=3, sort=False)
    with pytest.raises(PartitionExplanationError, match=r"partition 1 .*NaN or infinite.*r1500"):
        explain_local(ep, ddf, client=False).compute(scheduler="sync")
    with pytest.raises(PartitionExplanationError, match=r"r1500"):
        explain_global(ep, ddf, client=False)
