"""A model saved where pyarrow is installed loads and explains where it is not.

pandas 3 stores strings in pyarrow arrays when pyarrow is installed; the fitted pipeline
keeps background rows, which pickled those arrays (``pyarrow.lib._restore_array``). The
child process below refuses every ``import pyarrow`` (a ``sys.meta_path`` finder), loads the
files and explains the same rows: the values must equal those of the parent.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC

from explainable_pipeline import ExplainablePipeline

pytest.importorskip("pyarrow")

CHILD = textwrap.dedent(
    """
    import json, sys

    class RefusePyarrow:
        def find_spec(self, name, path=None, target=None):
            if name == "pyarrow" or name.startswith("pyarrow."):
                raise ImportError("pyarrow is not installed here (blocked by the test)")

    sys.meta_path.insert(0, RefusePyarrow())
    import joblib
    import pandas as pd

    folder = sys.argv[1]
    X = pd.read_csv(folder + "/rows.csv")
    out = {}
    for name in json.load(open(folder + "/names.json")):
        ep = joblib.load(f"{folder}/{name}.joblib")
        out[name] = ep.explain_local(X).values.tolist()
    assert "pyarrow" not in sys.modules
    print(json.dumps(out))
    """
)


def _arrow_classes(obj) -> set:
    """The pyarrow (or pandas Arrow) classes a pickle of ``obj`` refers to."""
    found = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            if module.split(".")[0] == "pyarrow" or "Arrow" in name:
                found.add(f"{module}.{name}")
            return super().find_class(module, name)

    Recorder(io.BytesIO(pickle.dumps(obj))).load()
    return found


def _frame(n: int = 80) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({
        "size": rng.normal(size=n),
        "count": pd.array(rng.integers(0, 5, n), dtype="int64[pyarrow]"),  # an ArrowDtype
        "colour": pd.array(rng.choice(["red", "green", "blue"], n), dtype="string[pyarrow]"),
        "city": pd.Series(rng.choice(["oslo", "rome"], n)).astype(str),  # pandas 3: Arrow str
    })  # fmt: skip
    y = ((X["size"] > 0) ^ (X["colour"] == "red")).astype(int).to_numpy()
    return X, y


def _pre():
    return ColumnTransformer([
        ("num", StandardScaler(), ["size", "count"]),
        ("one_hot", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
        ("ordinal", OrdinalEncoder(), ["city"]),
    ])  # fmt: skip


MODELS = {
    "linear": (LogisticRegression(), {}),
    "tree": (RandomForestClassifier(n_estimators=5, random_state=0), {}),
    "exact": (SVC(), {"background": 5}),
    "mimic": (LogisticRegression(), {"explainer": "mimic"}),
}


def test_saved_models_load_and_explain_without_pyarrow(tmp_path):
    X, y = _frame()
    assert any(isinstance(d, (pd.ArrowDtype, pd.StringDtype)) for d in X.dtypes)
    expected = {}
    for name, (est, params) in MODELS.items():
        ep = ExplainablePipeline(_pre(), est, random_state=0, **params).fit(X, y)
        joblib.dump(ep, tmp_path / f"{name}.joblib")
        assert not _arrow_classes(ep), name  # nothing pickled is an Arrow class
        expected[name] = ep.explain_local(X.iloc[:10]).values
    X.iloc[:10].to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "names.json").write_text(json.dumps(list(MODELS)))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-9, atol=1e-9, err_msg=name)


def test_the_child_really_has_no_pyarrow(tmp_path):
    """The blocker works: loading a file that does hold Arrow arrays fails in the child."""
    X, _ = _frame()
    assert "pandas.arrays.ArrowStringArray" in _arrow_classes(X)  # the recorder sees them
    joblib.dump(X, tmp_path / "frame.joblib")  # a DataFrame with Arrow columns, as is
    script = CHILD.split("folder = sys.argv[1]")[0] + textwrap.dedent(
        """
        joblib.load(sys.argv[1] + "/frame.joblib")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0 and "pyarrow is not installed here" in proc.stderr


def test_background_keeps_string_dtypes_with_python_storage():
    X, y = _frame()
    ep = ExplainablePipeline(_pre(), LogisticRegression()).fit(X, y)
    bg = ep.background_
    assert str(bg["colour"].dtype) == str(X["colour"].dtype)  # still a string dtype
    assert bg["colour"].dtype.storage == "python" and bg["count"].dtype == np.int64
    assert bg.columns.dtype == object
    # explanations are unchanged by the storage of the background
    local = ep.explain_local(X.iloc[:5])
    assert local.check_additivity() < 1e-9


def test_a_model_loaded_from_skops_pickles_without_arrow_too(tmp_path):
    pytest.importorskip("skops")
    from skops.io import get_untrusted_types

    from explainable_pipeline import load, save

    X, y = _frame()
    ep = ExplainablePipeline(_pre(), LogisticRegression()).fit(X, y)
    path = save(ep, tmp_path / "model.skops", format="skops")
    back = load(path, trusted=get_untrusted_types(file=path))
    assert not _arrow_classes(back)  # a joblib re-save of it loads without pyarrow
    pd.testing.assert_frame_equal(back.background_, ep.background_)
