"""Mimic (LightGBM surrogate) and PFI: explainable-pipeline vs interpret-community.

Cases: the Azure ML how-to's breast-cancer SVC (numpy, 455 training rows, 114 explained)
and a 50k-row mixed pipeline (6 numeric + 2 categorical raw columns, ColumnTransformer,
HistGradientBoostingClassifier; 10k rows explained). Each library wraps the already fitted
model; the time covers building the explainer and ``explain_global``.

The peer runs in ``benchmarks/.venv-ic`` (``bash benchmarks/setup_peer_venv.sh``) in a
subprocess of the same run, on the same generated data and the same model type (retrained
there: the two environments pickle different scikit-learn versions). Without that venv
the peer columns are empty. Both sides run the same algorithms: interpret-community's
surrogate rules (compat's MimicExplainer follows them) and PFI's single shared
permutation seeded by ``seed=0``.

Usage: python benchmarks/mimic_pfi.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # same threads on both sides; stable on 2 cores
import subprocess
import sys
import warnings
from pathlib import Path

from _common import print_table, timeit

PEER = Path(__file__).resolve().parent / ".venv-ic" / "bin" / "python"

# Data and model builders, run verbatim in both environments.
SETUP = r"""
import numpy as np, pandas as pd, warnings
warnings.simplefilter("ignore")
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

def case_svc():
    d = load_breast_cancer()
    xtr, xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
    model = SVC(gamma=0.001, C=100.0, probability=True).fit(xtr, ytr)
    return model, None, xtr, xte, yte

def case_mixed(n):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"num{i}": rng.normal(size=n) for i in range(6)})
    X["city"] = rng.choice(["oslo", "rome", "lima", "kyiv"], n).astype(object)
    X["plan"] = rng.choice(["a", "b", "c"], n).astype(object)
    logit = 1.5 * X["num0"] - X["num1"] ** 2 + 0.5 * X["num2"] * X["num3"] + (X["city"] == "rome")
    y = (logit + rng.normal(0, 0.5, n) > 0).astype(int).to_numpy()
    ct = ColumnTransformer([
        ("num", StandardScaler(), [f"num{i}" for i in range(6)]),
        ("cat", OneHotEncoder(sparse_output=False), ["city", "plan"]),
    ]).fit(X)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(ct.transform(X), y)
    n_explain = min(10_000, n // 5)
    return model, ct, X, X.iloc[:n_explain], y[:n_explain]
"""

PEER_RUN = r"""
import json, sys, time
from interpret_community.mimic import MimicExplainer
from interpret_community.mimic.models import LGBMExplainableModel
from interpret_community.permutation import PFIExplainer
case, n = sys.argv[1], int(sys.argv[2])
model, ct, xtr, xte, yte = case_svc() if case == "svc" else case_mixed(n)
out = {}
t = time.perf_counter()
e = MimicExplainer(model, xtr, LGBMExplainableModel, transformations=ct)
g = e.explain_global(xte, include_local=False)
out["mimic"] = time.perf_counter() - t
t = time.perf_counter()
g = PFIExplainer(model, transformations=ct).explain_global(xte, true_labels=yte)
out["pfi"] = time.perf_counter() - t
print(json.dumps(out))
"""


def ours(case: str, n: int) -> dict:
    from explainable_pipeline.compat import LGBMExplainableModel, MimicExplainer, PFIExplainer

    ns: dict = {}
    exec(SETUP, ns)  # noqa: S102 - our own builder code, shared with the peer
    model, ct, xtr, xte, yte = ns["case_svc"]() if case == "svc" else ns["case_mixed"](n)

    def mimic():
        e = MimicExplainer(model, xtr, LGBMExplainableModel, transformations=ct, random_state=0)
        return e.explain_global(xte)

    def pfi():
        e = PFIExplainer(model, transformations=ct)
        return e.explain_global(xte, true_labels=yte)

    t_mimic, g = timeit(mimic, repeat=1)
    t_pfi, _ = timeit(pfi, repeat=1)
    return {"mimic": t_mimic, "pfi": t_pfi, "fidelity": g.fidelity}


def peer(case: str, n: int) -> dict | None:
    if not PEER.exists():
        return None
    probe = subprocess.run([str(PEER), "-c", "import interpret_community"], capture_output=True)
    if probe.returncode != 0:
        print("benchmarks/.venv-ic has no interpret_community: skipping the peer", file=sys.stderr)
        return None
    proc = subprocess.run(
        [str(PEER), "-c", SETUP + PEER_RUN, case, str(n)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        print(f"peer failed on {case}: {proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k mixed rows instead of 50k")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n_mixed = 10_000 if args.quick else 50_000
    rows = []
    for case, label in (("svc", "breast-cancer SVC"), ("mixed", f"{n_mixed // 1000}k mixed")):
        mine, theirs = ours(case, n_mixed), peer(case, n_mixed)
        fid = mine["fidelity"]
        fidelity = f"R2 {fid['r2']:.3f}, agree {fid['agreement']:.3f}"
        for method in ("mimic", "pfi"):
            peer_s = "" if theirs is None else f"{theirs[method]:.2f}"
            ratio = "" if theirs is None else f"{theirs[method] / mine[method]:.2f}x"
            rows.append(
                [
                    label,
                    method,
                    f"{mine[method]:.2f}",
                    peer_s,
                    ratio,
                    fidelity if method == "mimic" else "",
                ]  # fmt: skip
            )
    print_table(
        ["case", "method", "ours (s)", "interpret-community (s)", "speed-up", "our fidelity"],
        rows,
    )


if __name__ == "__main__":
    main()
