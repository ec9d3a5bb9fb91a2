"""
The explanation dashboard, as one HTML file
===========================================

:class:`~explainable_pipeline.dashboard.ExplanationDashboard` shows the how-to's views (data
exploration, global importance, dependence, summary, local importance, what-if, ICE). ``serve()``
runs it on 127.0.0.1 and ``show()`` inline in Jupyter; this page, built without a server, uses
``save_html``: one self-contained file with the static views, to open in any browser or attach
to a report. The matplotlib plots of the explanation objects give the same views as images.
See :doc:`/docs/dashboard`.
"""

# %%
# A model and its explanation
# ---------------------------
import tempfile
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

from explainable_pipeline import ExplainablePipeline
from explainable_pipeline.dashboard import ExplanationDashboard

X, y = load_diabetes(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
ep = ExplainablePipeline(estimator=HistGradientBoostingRegressor(max_iter=100, random_state=0))
ep.fit(X_train, y_train)
local = ep.explain_local(X_test)
print(f"R2 {ep.score(X_test, y_test):.2f}; explained {local.n_rows} rows with {ep.explainer_!r}")

# %%
# The dashboard as a self-contained HTML file
# -------------------------------------------
dashboard = ExplanationDashboard(local, model=ep, dataset=X_test, true_y=y_test)
path = dashboard.save_html(Path(tempfile.mkdtemp()) / "diabetes_dashboard.html")
html = path.read_text(encoding="utf-8")
print(f"{path.name}: {len(html) / 1e6:.1f} MB, plotly.js inlined: {'plotly' in html.lower()}")

# %%
# The same views as static figures
# --------------------------------
# Global importance, and the beeswarm summary of every explained row.
local.plot("global")

# %%
local.plot("summary")

# %%
# How one column's value moves its attribution (a dependence plot), coloured by another.
local.plot("dependence", feature="bmi", color="s5")
