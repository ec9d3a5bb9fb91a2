"""Raw-space Shapley engine vs shap.KernelExplainer, measured in the same run.

Run from the repository root::

    python benchmarks/agnostic.py            # full run (~5 min on 2 cores)
    python benchmarks/agnostic.py --quick    # smaller sizes (~1 min)
    python benchmarks/agnostic.py --readme   # also rewrite the "agnostic.py" section of
                                             # benchmarks/README.md with the figures

Workloads
---------
1. The Azure ML how-to workload: ``SVC(gamma=0.001, C=100., probability=True)`` on the breast
   cancer data, ``train_test_split(test_size=0.2, random_state=0)``, the 114 test rows'
   ``predict_proba``; both explainers get ``shap.kmeans(x_train, 10)`` rows and weights.
   ``random_state=0`` is added to the SVC so its Platt scaling (internal CV) is reproducible:
   without it every refit is a different model and references do not transfer.
   a. 12-feature variant (first 12 columns, model retrained): reference = exact enumeration.
   b. full 30 features: reference = our kernel estimator with 10x the default budget and another
      seed (its self-consistency against a second seed is printed).
2. 6 categorical columns x 40 levels + 4 numeric, OneHotEncoder (244 engineered columns) + SVC:
   raw-space exact (10 players) vs shap.KernelExplainer on the engineered matrix with the
   attributions summed back to the raw columns.
3. Same workload, exact through the engineered matrix with ``groups`` = one-hot blocks.
4. Memory: kernel over 100k rows (30k with --quick) with a bounded batch of hybrid rows; peak RSS.

Error = relative mean absolute error, sum |phi - ref| / sum |ref|.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

from explainable_pipeline.explainers._shapley import shapley_values  # noqa: E402


def rel_err(phi, ref) -> float:
    return float(np.abs(np.asarray(phi) - ref).sum() / np.abs(ref).sum())


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def shap_kernel(f, background, X, **kw):
    import shap

    explainer = shap.KernelExplainer(f, background)
    values = explainer.shap_values(X, silent=True, **kw)
    values = np.asarray(values)
    if values.ndim == 3 and values.shape[0] != X.shape[0]:  # (outputs, rows, features)
        values = np.moveaxis(values, 0, -1)
    return values if values.ndim == 3 else values[..., None]  # (rows, features, outputs)


def svc_workload(n_features: int, quick: bool):
    import shap
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :n_features]
    x_train, x_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    if quick:
        x_test = x_test[:30]
    model = SVC(gamma=0.001, C=100.0, probability=True, random_state=0).fit(x_train, y_train)
    summary = shap.kmeans(x_train, 10)
    return model.predict_proba, x_test, summary.data, summary.weights, summary


def run_svc(n_features: int, quick: bool, rows: list, budgets):
    f, x_test, bg, bw, summary = svc_workload(n_features, quick)
    if n_features <= 16:
        ref_res, t_ref = timed(lambda: shapley_values(f, x_test, bg, bw, method="exact"))
        ref, ref_name = ref_res.values, "exact enumeration"
    else:
        big = 2000 if not quick else 1000
        ref_res, t_ref = timed(lambda: shapley_values(
            f, x_test, bg, bw, method="kernel", n_samples=big, random_state=12345, tol=None,
            n_jobs=2, batch_size=max(1, len(x_test) // 2)))
        ref = ref_res.values
        check = shapley_values(f, x_test, bg, bw, method="kernel", n_samples=big,
                               random_state=54321, tol=None, n_jobs=2,
                               batch_size=max(1, len(x_test) // 2)).values
        ref_name = f"our kernel, n_samples={big} (seed-to-seed error {rel_err(check, ref):.2%})"
    shap_vals, t_shap = timed(lambda: shap_kernel(f, summary, x_test))
    e_shap = rel_err(shap_vals, ref)
    label = f"SVC breast cancer, {n_features} features, {len(x_test)} rows"
    rows.append((label, "shap.KernelExplainer (default nsamples)", t_shap, 1.0, e_shap, ref_name))
    for budget in budgets:
        res, t = timed(lambda b=budget: shapley_values(f, x_test, bg, bw, method="kernel",
                                                        n_samples=b, random_state=0))
        name = f"ours kernel n_samples={budget}" + (" (auto)" if budget == "auto" else "")
        rows.append((label, name, t, t_shap / t, rel_err(res.values, ref), ref_name))
    return t_ref


def run_onehot(quick: bool, rows: list):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC

    rng = np.random.RandomState(0)
    n = 600
    cats = {f"c{i}": rng.randint(0, 40, size=n) for i in range(6)}
    frame = pd.DataFrame({k: pd.Series([f"L{v}" for v in vals]) for k, vals in cats.items()})
    for i in range(4):
        frame[f"x{i}"] = rng.normal(size=n)
    score = sum((cats[f"c{i}"] % (i + 2) == 0) * (i + 1.0) for i in range(6)) + frame["x0"] * 2
    target = (score + rng.normal(size=n) > np.median(score)).astype(int)
    cat_cols, num_cols = [f"c{i}" for i in range(6)], [f"x{i}" for i in range(4)]
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(categories=[[f"L{v}" for v in range(40)]] * 6,
                              sparse_output=False), cat_cols),
        ("num", StandardScaler(), num_cols),
    ])
    pre.fit(frame)
    model = SVC(C=1.0, probability=True, random_state=0).fit(pre.transform(frame), target)
    n_rows = 5 if quick else 20
    X = frame.iloc[:n_rows]
    background = frame.iloc[300:310].reset_index(drop=True)

    def f_raw(df):
        return model.predict_proba(pre.transform(df))

    ours, t_ours = timed(lambda: shapley_values(f_raw, X, background, method="exact"))
    Xe, Be = pre.transform(X), pre.transform(background)
    shap_vals, t_shap = timed(lambda: shap_kernel(model.predict_proba, Be, Xe))
    # engineered -> raw: the one-hot block of each categorical column, then the numerics
    owner = np.concatenate([np.repeat(np.arange(6), 40), 6 + np.arange(4)])
    shap_raw = np.stack([shap_vals[:, owner == r].sum(axis=1) for r in range(10)], axis=1)
    label = f"OneHot 6x40 + 4 num (244 engineered) + SVC, {n_rows} rows"
    ref_name = "our raw-space exact (10 players)"
    add = np.abs(ours.values.sum(axis=1) + ours.base_values - f_raw(X)).max()
    rows.append((label, "shap.KernelExplainer on 244 columns, summed to raw", t_shap, 1.0,
                 rel_err(shap_raw, ours.values), ref_name))
    rows.append((label, f"ours exact in raw space (additivity error {add:.1e})", t_ours,
                 t_shap / t_ours, 0.0, ref_name))
    # Same players through the engineered matrix: groups = one-hot blocks. For column-wise
    # preprocessors (each engineered column has one raw parent) this is the same game, without
    # re-running the encoder on every hybrid row.
    groups = [np.flatnonzero(owner == r).tolist() for r in range(10)]
    grouped, t_grp = timed(lambda: shapley_values(model.predict_proba, Xe, Be, method="exact",
                                                  groups=groups))
    rows.append((label, "ours exact, engineered matrix with raw-column groups", t_grp,
                 t_shap / t_grp, rel_err(grouped.values, ours.values), ref_name))


def run_memory(quick: bool, rows: list):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    n_rows, d, m, n_samples, max_batch = (30_000 if quick else 100_000), 8, 5, 32, 50_000
    X = rng.normal(size=(n_rows, d))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    model = LogisticRegression().fit(X[:2000], y[:2000])
    biggest = [0]

    def f(Z):
        biggest[0] = max(biggest[0], len(Z))
        return model.predict_proba(Z)

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res, t = timed(lambda: shapley_values(f, X, X[:m], method="kernel", n_samples=n_samples,
                                          random_state=0, max_batch_rows=max_batch, tol=None))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hybrid_total = n_rows * n_samples * m
    naive_mb = hybrid_total * d * 8 / 2**20
    label = f"memory: kernel, {n_rows} rows x {d} cols, {n_samples} coalitions x {m} background"
    rows.append((label, f"largest f call {biggest[0]} rows (bound {max_batch}); "
                        f"{res.n_evaluations} rows evaluated", t, float("nan"), float("nan"),
                 f"peak RSS {after:.0f} MiB (was {before:.0f} before the run); materialising all "
                 f"{hybrid_total:,} hybrid rows at once would take {naive_mb:,.0f} MiB"))


def format_table(rows) -> str:
    lines = ["| workload | explainer | time (s) | speed-up vs shap | rel. MAE | reference / note |",
             "|---|---|---:|---:|---:|---|"]
    for label, name, t, ratio, err, note in rows:
        r = "" if np.isnan(ratio) else f"{ratio:.1f}x"
        e = "" if np.isnan(err) else f"{err:.2%}"
        lines.append(f"| {label} | {name} | {t:.2f} | {r} | {e} | {note} |")
    return "\n".join(lines)


def write_readme(table: str, command: str) -> None:
    path = Path(__file__).with_name("README.md")
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = (f"## agnostic.py\n\nCommand: `{command}` (2-core machine; timings include "
               "model evaluation, which dominates).\n\n" + table + "\n")
    pattern = re.compile(r"^## agnostic\.py\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~1 min)")
    parser.add_argument("--readme", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    rows: list = []
    run_svc(12, args.quick, rows, budgets=["auto"])
    run_svc(30, args.quick, rows, budgets=["auto", 200])
    run_onehot(args.quick, rows)
    run_memory(args.quick, rows)
    table = format_table(rows)
    sys.stdout.write(table + "\n")
    if args.readme:
        write_readme(table, "python benchmarks/agnostic.py" + (" --quick" if args.quick else ""))


if __name__ == "__main__":
    main()
