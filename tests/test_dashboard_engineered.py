"""The dashboard given an engineered-space explanation: supported with the pipeline, else a
clear refusal (not scikit-learn's feature-name error)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dash")

from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from explainable_pipeline.dashboard import ExplanationDashboard  # noqa: E402
from explainable_pipeline.dashboard._callbacks import Views  # noqa: E402
from explainable_pipeline.dashboard._data import format_prediction  # noqa: E402


@pytest.fixture(scope="module")
def engineered(penguin_explained):
    ep, X, y, _ = penguin_explained
    return ep, X, y, ep.explain_local(X, space="engineered")


def test_engineered_explanation_uses_the_pipelines_estimator(engineered, tmp_path):
    ep, X, y, local = engineered
    assert local.space == "engineered" and set(local.features).isdisjoint(X.columns)
    dash = ExplanationDashboard(local, model=ep, true_y=y)
    data = dash.data
    assert data.columns == list(local.features)  # the engineered rows are shown
    # the predictions come from the model: the same as the pipeline's on the raw rows
    np.testing.assert_allclose(data.outputs, ep.predict_proba(X), rtol=1e-10)
    assert list(data.frame["predicted"]) == list(ep.predict(X))
    views = Views(data)
    text = views.prediction_text(data.row_frame(3))
    assert text == format_prediction(ep.predict_proba(X.iloc[[3]])[0], list(ep.classes_), True)
    # what-if: the prediction updates; re-explaining an engineered row is not offered
    values = views.whatif_values(3)
    _, fig = views.whatif(3, values, k=5, cls="Gentoo")
    assert "only the prediction updates" in str(fig.layout)
    assert dash.app.layout() is not None
    html = dash.save_html(tmp_path / "eng.html").read_text()
    assert local.get_ranked_global_names(top_k=1)[0] in html


def test_engineered_explanation_with_raw_rows_or_a_raw_model_is_refused(engineered):
    ep, X, y, local = engineered
    with pytest.raises(ValueError, match=r"engineered space.*dataset lacks its columns"):
        ExplanationDashboard(local, model=ep, dataset=X)
    numeric = X.select_dtypes("number").fillna(0)
    raw_model = DecisionTreeClassifier(max_depth=2).fit(numeric, y)
    with pytest.raises(ValueError, match=r"engineered space.*model takes other columns"):
        ExplanationDashboard(local, model=raw_model)
    assert ExplanationDashboard(local).data.model is None  # no model: the explained output
