"""Interactive explanation dashboard (needs the ``dashboard`` extra: dash, plotly).

>>> from explainable_pipeline.dashboard import ExplanationDashboard  # doctest: +SKIP
"""

from ._dashboard import ExplanationDashboard

__all__ = ["ExplanationDashboard"]
