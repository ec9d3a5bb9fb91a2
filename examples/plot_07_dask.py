"""
Explaining many rows with Dask
==============================

:func:`explainable_pipeline.distributed.explain_local` turns a Dask DataFrame of raw rows into
a lazy Dask DataFrame of raw attributions (same index and partitions), and
:func:`~explainable_pipeline.distributed.explain_global` aggregates importances across
partitions, moving only per-partition sums. The fitted pipeline is scattered once to every
worker. This page uses a small in-process cluster (threads, no worker processes) and closes it
at the end; on a real cluster only the ``Client`` changes. See :doc:`/docs/scale`.
"""

# %%
# A model, and rows as a Dask DataFrame
# -------------------------------------
import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline import distributed as epd

rng = np.random.default_rng(0)
n = 4_000
X = pd.DataFrame({
    "age": rng.normal(45, 12, n).round(),
    "income": rng.lognormal(10, 0.4, n).round(-2),
    "tenure_years": rng.exponential(4, n).round(1),
    "plan": rng.choice(["basic", "plus", "premium"], n),
})  # fmt: skip
churn_logit = -0.04 * (X["age"] - 45) - 0.3 * X["tenure_years"] + (X["plan"] == "basic") + 0.5
y = (churn_logit + rng.normal(0, 1, n) > 0).astype(int)
pre = ColumnTransformer([("num", StandardScaler(), ["age", "income", "tenure_years"]),
                         ("cat", OneHotEncoder(), ["plan"])])  # fmt: skip
ep = ExplainablePipeline(pre, GradientBoostingClassifier(n_estimators=50, random_state=0))
ep.fit(X, y)
ddf = dd.from_pandas(X, npartitions=4)

# %%
# Explain on the cluster
# ----------------------
cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                       dashboard_address=None)  # fmt: skip
client = Client(cluster)

attributions = epd.explain_local(ep, ddf)  # lazy: nothing computed yet
print(type(attributions).__name__, attributions.npartitions, "partitions")
local = attributions.compute()
local.head()

# %%
# The same values as one process computes
# ---------------------------------------
# One column per raw column and class (``<column>__<class>``), plus the expected values.
print(list(local.columns))
in_process = ep.explain_local(X).local_importance_values  # (classes, rows, raw columns)
positive = [f"{name}__1" for name in ep.feature_names_in_]
print("equal to ep.explain_local:", np.allclose(local[positive].to_numpy(), in_process[1]))

# %%
# Global importance across partitions
# -----------------------------------
glob = epd.explain_global(ep, ddf)
print(glob.get_feature_importance_dict())
glob.plot("global")

# %%
client.close()
cluster.close()
