"""Progress bars: text bars outside Jupyter, and in Jupyter without ipywidgets no warning.

``test_notebook_*`` runs a real ipykernel (nbclient, the ``test`` extra) where ipywidgets
cannot be imported, the situation in which ``tqdm.auto`` warns "IProgress not found".
"""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest
import tqdm.std
from conftest import notebook_client
from sklearn.linear_model import LogisticRegression

from explainable_pipeline import ExplainablePipeline, _progress


def _small_problem(n: int = 40):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    y = (X["a"] + X["b"] > 0).astype(int)
    return X, y


def test_text_bar_outside_jupyter(capsys):
    bar = _progress.tqdm(total=3, desc="unit", unit="row")
    bar.update(3)
    bar.close()
    assert type(bar) is tqdm.std.tqdm
    assert "unit: 100%" in capsys.readouterr().err


def test_fake_kernel_without_ipywidgets_gets_a_text_bar_silently(monkeypatch):
    """A kernel (ipykernel.zmqshell loaded, a shell running) with ipywidgets missing."""
    fake_shell = type("ZMQInteractiveShell", (), {"config": {"IPKernelApp": {}}})()
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: fake_shell
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails
    monkeypatch.delitem(sys.modules, "tqdm.notebook", raising=False)
    assert _progress._in_notebook_kernel()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = _progress.tqdm(total=1, disable=True)
    assert type(bar) is tqdm.std.tqdm


def test_qtconsole_is_not_a_notebook(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
    monkeypatch.setenv("QT_API", "pyqt5")
    assert not _progress._in_notebook_kernel()


def test_progress_true_draws_a_text_bar(capsys):
    X, y = _small_problem()
    ep = ExplainablePipeline(estimator=LogisticRegression(), explainer="kernel", background=5,
                             progress=True, random_state=0).fit(X, y)  # fmt: skip
    ep.explain_local(X.iloc[:4])
    assert "100%" in capsys.readouterr().err


NOTEBOOK = [
    # 0: ipywidgets is missing in this kernel (an import of it fails)
    "import sys\nsys.modules['ipywidgets'] = None",
    # 1: the user's imports, shap included (shap's explainers import tqdm.auto)
    "import explainable_pipeline\nimport shap",
    # 2: an explanation with a progress bar
    """\
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
from explainable_pipeline import ExplainablePipeline
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
y = (X["a"] + X["b"] > 0).astype(int)
ep = ExplainablePipeline(estimator=LogisticRegression(), explainer="kernel", background=5,
                         progress=True, random_state=0).fit(X, y)
print(ep.explain_local(X.iloc[:4]).local_importance_values.shape)""",
    # 3: control: in this very kernel, tqdm.auto on its own does warn
    """\
import importlib, warnings, tqdm.autonotebook
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    importlib.reload(tqdm.autonotebook)
print("control warned:", any("IProgress" in str(w.message) for w in caught))""",
]


def _texts(cell) -> str:
    parts = []
    for out in cell.outputs:
        parts.append(out.get("text", ""))
        parts.extend(str(v) for v in out.get("data", {}).values())
        parts.append(" ".join(out.get("traceback", [])))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_notebook_without_ipywidgets_falls_back_to_text_bars_silently(tmp_path):
    nb, client = notebook_client(NOTEBOOK, tmp_path)
    client.execute()
    imports, explain, control = (_texts(c) for c in nb.cells[1:])
    assert "IProgress" not in imports + explain, imports + explain
    stderr = [o["text"] for o in nb.cells[2].outputs if o.get("name") == "stderr"]
    assert any("100%" in text and "4/4" in text for text in stderr), nb.cells[2].outputs
    assert "(2, 4, 4)" in explain
    assert "control warned: True" in control  # the test reproduces the user's situation
