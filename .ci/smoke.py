"""Smoke test of an installed wheel, run by .ci/run in a clean venv, outside the checkout.

Checks that the package imports from the venv (not from a source tree), that the wheel holds
its package data, and that one explanation through the Python API and one through the command
line (``explainable-pipeline explain``) are right: attributions + expected value == the model's
output. The demo itself runs as a separate command of .ci/run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import palmerpenguins
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import explainable_pipeline
from explainable_pipeline import ExplainablePipeline, save


def main() -> int:
    package = Path(explainable_pipeline.__file__).resolve().parent
    assert Path(sys.prefix).resolve() in package.parents, f"imported from {package}, not the venv"
    assets = package / "dashboard" / "assets"
    assert any(assets.glob("*.js")), f"the wheel lacks the dashboard's assets in {assets}"

    df = palmerpenguins.load_penguins()
    X, y = df.drop(columns="species"), df["species"].astype(str)
    pre = ColumnTransformer(
        [("num", SimpleImputer(), ["bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                   "body_mass_g", "year"]),
         ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore")), ["island", "sex"])]
    )  # fmt: skip
    ep = ExplainablePipeline(pre, LGBMClassifier(n_estimators=30, verbose=-1)).fit(X, y)
    local = ep.explain_local(X.iloc[:20])
    margin = ep.estimator_.predict(ep.preprocessor_.transform(X.iloc[:20]), raw_score=True)
    total = local.local_importance_values.sum(-1).T + np.asarray(local.expected_values)
    error = float(np.abs(total - margin).max())
    assert error < 1e-6, f"attributions do not add up to the model output: {error}"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = save(ep, tmp / "penguins.joblib")
        X.iloc[:25].to_csv(tmp / "rows.csv", index=False)
        exe = Path(sys.executable).with_name("explainable-pipeline")
        proc = subprocess.run([str(exe), "explain", str(model), str(tmp / "rows.csv"), "--out",
                               str(tmp / "out")], capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        glob = json.loads((tmp / "out" / "global.json").read_text())
        written = sorted(p.name for p in (tmp / "out").iterdir())
    print(f"smoke: explainable-pipeline {explainable_pipeline.__version__} from {package}; "
          f"API explain additive (max error {error:.1e}); CLI explain wrote {written}; "
          f"global keys {sorted(glob)[:4]}...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
