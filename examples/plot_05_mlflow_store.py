"""
Store explanations in MLflow
============================

The Azure ML how-to uploads explanations to a run and downloads them from another process.
:class:`~explainable_pipeline.store.ExplanationClient` does the same with MLflow's run
artifacts (or with a plain folder). Here the tracking store is a SQLite file in a temporary
folder, so nothing has to be started; with a tracking server, pass its URI instead (see
:doc:`/docs/store`).
"""

# %%
# Train, explain and upload inside a run
# --------------------------------------
import tempfile
from pathlib import Path

import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.store import ExplanationClient

folder = Path(tempfile.mkdtemp())
tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
mlflow.set_tracking_uri(tracking_uri)
mlflow.set_experiment("iris-explained")

X, y = load_iris(return_X_y=True, as_frame=True)
with mlflow.start_run() as run:
    model = ExplainablePipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    client = ExplanationClient.from_run(run)
    global_explanation = model.explain_global(X)
    client.upload_model_explanation(global_explanation, top_k=2, comment="global: top 2")
    client.upload_model_explanation(global_explanation, comment="global: all features")
run_id = run.info.run_id

# %%
# Download and rank, from anywhere that reaches the tracking store
# ----------------------------------------------------------------
# Only the run id and the tracking URI travel (in the how-to: to another machine).
client = ExplanationClient.from_run_id(run_id, tracking_uri=tracking_uri)
for entry in client.list_model_explanations():
    print(entry["comment"], "|", entry["method"], entry["space"], "| top_k:", entry["top_k"])

# %%
explanation = client.download_model_explanation(comment="global: all features", top_k=3)
print(explanation.get_feature_importance_dict())
explanation.plot("global")

# %%
# The artifacts are ordinary files of the run (JSON and ``.npz``, readable without this
# library; the format is in :doc:`/docs/store`).
artifacts = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="explanations",
                                                tracking_uri=tracking_uri)
sorted(str(p.relative_to(artifacts)) for p in Path(artifacts).rglob("*") if p.is_file())

# %%
mlflow.set_tracking_uri(None)  # back to the default for what follows
