"""File size of a saved ExplainablePipeline vs the bare scikit-learn Pipeline it wraps.

Three models on the penguins data (mixed numeric/categorical with NaN) and on 20k generated
rows: LightGBM (tree explainer), LogisticRegression (linear) and a kernel-explained SVC.
The peer is ``make_pipeline(preprocessor_, estimator_)``, the same fitted parts saved the same
way; the explainer's extra state is a background summary and the feature map.

Target: the explainer adds <= 10% or <= 200 KB. Usage: ``python benchmarks/persistence_size.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import joblib
import lightgbm
import numpy as np
import pandas as pd
import skops.io as sio
from _common import print_table
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from explainable_pipeline import ExplainablePipeline, save


def data(n_rows: int = 20_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"num{i}": rng.normal(size=n_rows) for i in range(8)})
    for i in range(3):
        X[f"cat{i}"] = rng.choice([f"level{j}" for j in range(12)], n_rows)
    X.loc[rng.choice(n_rows, n_rows // 20, replace=False), "num0"] = np.nan
    y = (X["num1"] + (X["cat0"] == "level3") + rng.normal(size=n_rows) > 0.5).astype(int)
    return X, y


def preprocessor():
    num = [f"num{i}" for i in range(8)]
    cat = [f"cat{i}" for i in range(3)]
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), num),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
        ]
    )


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    warnings.simplefilter("ignore")
    X, y = data()
    models = {
        "LightGBM (tree)": (lightgbm.LGBMClassifier(n_estimators=200, verbose=-1), "auto", X),
        "LogisticRegression (linear)": (LogisticRegression(max_iter=500), "auto", X),
        "SVC (kernel, 2k rows)": (SVC(probability=True), "kernel", X.iloc[:2000]),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, (est, method, Xm) in models.items():
            ep = ExplainablePipeline(preprocessor(), est, explainer=method, random_state=0)
            ep.fit(Xm, y[Xm.index])
            bare = make_pipeline(ep.preprocessor_, ep.estimator_)
            for fmt in ("joblib", "skops"):
                bare_path = tmp / f"bare.{fmt}"
                if fmt == "joblib":
                    joblib.dump(bare, bare_path)
                else:
                    sio.dump(bare, bare_path, compression=8)  # zipfile.ZIP_DEFLATED
                ours = save(ep, tmp / f"ep.{fmt}", format=fmt)
                b, o = bare_path.stat().st_size, ours.stat().st_size
                added = o - b
                ok = added <= max(0.10 * b, 200_000)
                rows.append([name, fmt, f"{b / 1e3:.1f}", f"{o / 1e3:.1f}",
                             f"{added / 1e3:+.1f}", f"{o / b:.3f}", "yes" if ok else "NO"])  # fmt: skip
    print_table(
        ["model", "format", "bare Pipeline KB", "ExplainablePipeline KB", "added KB", "ratio",
         "<=10% or <=200 KB"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
