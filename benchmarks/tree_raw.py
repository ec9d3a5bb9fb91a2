"""Raw-column TreeSHAP against the booster's own pred_contrib and every TreeSHAP peer.

Workload (issue 15): LightGBM, 300 trees x 31 leaves, behind a ColumnTransformer (20 numeric
+ 5 categorical x 30 levels = 170 engineered columns, 25 raw), 3,000 rows explained; and the
same at depth 12 with 255 leaves. In the same run:

* margin (path-dependent): LightGBM ``pred_contrib``, ``shap.TreeExplainer``,
  woodelf-explainer 0.4.8, fasttreeshap v1 and v2 (package ``fasttreeshap-fixed`` 0.1.5),
  and ours: ``ExplainablePipeline.explain_local`` (raw players, end to end from raw rows)
  and the compiled engine on the engineered matrix with raw players and with engineered
  players (the latter is the peers' game: its max |difference| to pred_contrib is shown);
* interventional with 100 background rows: ``shap.TreeExplainer(data=...,
  feature_perturbation="interventional")``, woodelf, fasttreeshap v1, and ours;
* raw interaction values of 10,000 rows (ours; no peer has raw-column interactions).

The peers run in ``benchmarks/.venv-tree`` (``bash setup_peer_venv.sh tree``) in a
subprocess, right after ours, on the same saved model and matrices. ``--cores 1`` pins the
process (and the peers' subprocess) to CPU 0 and every library to one thread; ``--cores all``
lets everyone use every core (ours: threads over row blocks).

Usage: ``python tree_raw.py [--cores 1|all] [--rows 3000] [--deep-rows 1000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
from _common import print_table, timed
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE / ".venv-tree" / "bin" / "python"


def make_data(n_rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    num = {f"num{i}": rng.normal(size=n_rows) for i in range(20)}
    cat = {f"cat{i}": rng.integers(0, 30, n_rows).astype(str) for i in range(5)}
    X = pd.DataFrame({**num, **cat})
    logit = X["num0"] + 0.5 * X["num1"] * X["num2"] + (X["cat0"].astype(int) % 3 == 0) - 0.5
    y = (logit + rng.normal(size=n_rows) > 0).astype(int)
    return X, y


def preprocessor():
    numeric = [f"num{i}" for i in range(20)]
    categorical = [f"cat{i}" for i in range(5)]
    return ColumnTransformer(
        [("num", StandardScaler(), numeric),
         ("cat", OneHotEncoder(sparse_output=False), categorical)]
    )  # fmt: skip


def fmt(times):
    return f"{min(times):.3f} / {statistics.median(times):.3f}"


def run_peers(workdir: Path, mode: str, repeat: int, cores: str) -> dict:
    if not PEER_PYTHON.exists():
        print(f"(peer venv {PEER_PYTHON} absent: run setup_peer_venv.sh tree; peers skipped)")
        return {}
    env = dict(os.environ)
    if cores == "1":
        env.update(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run([str(PEER_PYTHON), str(HERE / "_tree_peers.py"), str(workdir), mode,
                    str(repeat), cores], check=True, env=env)  # fmt: skip
    return json.loads((workdir / f"peers_{mode}.json").read_text())


def fresh_process_first_call(ep, row, workdir: Path) -> float:
    """Seconds of the first explain_local in a new interpreter (numba's cache on disk warm)."""
    import joblib

    joblib.dump((ep, row), workdir / "ep.joblib")
    path = str(workdir / "ep.joblib")
    code = (
        f"import time, joblib; ep, row = joblib.load({path!r}); t = time.perf_counter(); "
        "ep.explain_local(row); print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def margin_rows(name, ep, booster, Xt, X_rows, raw_engine, sum_engine, n_jobs, args, workdir):
    """Path-dependent (margin) rows: pred_contrib, our calls and every peer."""
    rows = []
    kw = {"num_threads": 1} if n_jobs == 1 else {}
    t_ref, contrib = timed(lambda: booster.predict(Xt, pred_contrib=True, **kw), args.repeat)
    np.save(workdir / "reference_margin.npy", contrib[:, :-1])
    base = statistics.median(t_ref)

    def row(what, times, diff=""):
        rows.append([name, what, fmt(times), f"{base / statistics.median(times):.2f}x", diff])

    row("LightGBM pred_contrib (engineered)", t_ref, "reference")
    t_first, _ = timed(lambda: ep.explain_local(X_rows.iloc[:1]), 1)  # builds the engine
    rows.append([name, "ours: first explain_local of 1 row (reads the trees, JIT cache)",
                 fmt(t_first), "", ""])  # fmt: skip
    t, _ = timed(lambda: ep.explain_local(X_rows.iloc[:1]), max(args.repeat, 5))
    rows.append([name, "ours: explain_local of 1 row, later calls", fmt(t), "", ""])
    rows.append([name, "ours: first call in a fresh process (load pickled model, 1 row)",
                 fmt([fresh_process_first_call(ep, X_rows.iloc[:1], workdir)]), "", ""])
    t, local = timed(lambda: ep.explain_local(X_rows), args.repeat)
    additivity = np.abs(local.local_importance_values[1].sum(1) + local.expected_values[1]
                        - booster.predict(Xt, raw_score=True)).max()  # fmt: skip
    row("ours: ExplainablePipeline.explain_local (raw players, from raw rows)", t,
        f"additivity {additivity:.1e}")  # fmt: skip
    t, _ = timed(lambda: raw_engine.values(Xt, n_jobs=n_jobs), args.repeat)
    row("ours: compiled engine, raw players", t)
    t, (vals, _, _) = timed(lambda: sum_engine.values(Xt, n_jobs=n_jobs), args.repeat)
    row("ours: compiled engine, engineered players", t,
        f"{np.abs(vals[1 if vals.shape[0] > 1 else 0] - contrib[:, :-1]).max():.1e}")  # fmt: skip
    for peer, res in run_peers(workdir, "margin", args.peer_repeat, args.cores).items():
        if peer.startswith("lightgbm"):
            rows.append([name, f"peer: {peer} (peer venv)", fmt(res["seconds"]),
                         f"{base / statistics.median(res['seconds']):.2f}x", "same call"])  # fmt: skip
        elif "error" in res:
            rows.append([name, f"peer: {peer}", "failed", "", res["error"][:80]])
        else:
            row(f"peer: {peer}", res["seconds"], f"{res['max_abs_diff']:.1e}")

    return rows


def config(name, X_train, y_train, X_rows, bg_rows, est_params, args, workdir: Path):
    n_jobs = 1 if args.cores == "1" else -1
    est = lightgbm.LGBMClassifier(n_estimators=300, verbose=-1, n_jobs=n_jobs, **est_params)
    ep = ExplainablePipeline(preprocessor(), est, n_jobs=n_jobs).fit(X_train, y_train)
    ep_iv = ExplainablePipeline(preprocessor(), est, background=bg_rows, n_jobs=n_jobs).fit(
        X_train, y_train
    )
    Xt = ep.preprocessor_.transform(X_rows)
    bg_t = ep.preprocessor_.transform(bg_rows)
    booster = ep.estimator_.booster_
    booster.save_model(str(workdir / "model.txt"))
    np.save(workdir / "X.npy", Xt)
    np.save(workdir / "bg.npy", bg_t)

    from explainable_pipeline._tree_attribution import engineered_players
    from explainable_pipeline.explainers._tree_model import from_estimator
    from explainable_pipeline.explainers._treeshap import TreeShap

    ens = from_estimator(ep.estimator_, Xt[:100])
    raw_players, n_raw, _ = engineered_players(ep, "raw")
    raw_engine = TreeShap(ens, raw_players, n_raw)
    sum_engine = TreeShap(ens, np.arange(Xt.shape[1]), Xt.shape[1])
    raw_engine.values(Xt[:2])  # JIT from the on-disk cache

    rows = []
    if not args.interventional_only:
        rows += margin_rows(name, ep, booster, Xt, X_rows, raw_engine, sum_engine, n_jobs, args,
                            workdir)  # fmt: skip

    # interventional, 100 background rows
    iv_rows = X_rows.iloc[: args.iv_rows]
    Xt_iv = Xt[: args.iv_rows]
    np.save(workdir / "X.npy", Xt_iv)
    prepared = sum_engine.background(ens.model_input(bg_t))
    t_sum, (vals, _, _) = timed(lambda: sum_engine.values(Xt_iv, prepared, n_jobs=n_jobs),
                                args.repeat)  # fmt: skip
    np.save(workdir / "reference_interventional.npy", vals[0])
    peers = run_peers(workdir, "interventional", args.peer_repeat, args.cores)
    shap_peer = peers.get("shap.TreeExplainer (interventional)", {})
    base = statistics.median(shap_peer["seconds"]) if "seconds" in shap_peer else float("nan")
    what = f"interventional, {len(bg_rows)} background rows, {len(iv_rows)} rows"
    if "seconds" in shap_peer:
        rows.append([name, f"{what}: shap.TreeExplainer (peer, reference)",
                     fmt(shap_peer["seconds"]), "1.00x", f"{shap_peer['max_abs_diff']:.1e}"])  # fmt: skip
    ep_iv.explain_local(iv_rows.iloc[:2])
    t, _ = timed(lambda: ep_iv.explain_local(iv_rows), args.repeat)
    rows.append([name, f"{what}: ours explain_local (raw players)", fmt(t),
                 f"{base / statistics.median(t):.2f}x", ""])  # fmt: skip
    prep_t, prepared_raw = timed(lambda: raw_engine.background(ens.model_input(bg_t)), 1)
    t, _ = timed(lambda: raw_engine.values(Xt_iv, prepared_raw, n_jobs=n_jobs), args.repeat)
    rows.append([name, f"{what}: ours engine, raw players (+{prep_t[0]:.2f} s background prep)",
                 fmt(t), f"{base / statistics.median(t):.2f}x", ""])  # fmt: skip
    rows.append([name, f"{what}: ours engine, engineered players", fmt(t_sum),
                 f"{base / statistics.median(t_sum):.2f}x", "reference"])  # fmt: skip
    for peer, res in peers.items():
        if peer.startswith("shap."):
            continue
        if "error" in res:
            rows.append([name, f"{what}: peer {peer}", "failed", "", res["error"][:80]])
        else:
            rows.append([name, f"{what}: peer {peer}", fmt(res["seconds"]),
                         f"{base / statistics.median(res['seconds']):.2f}x",
                         f"{res['max_abs_diff']:.1e}"])  # fmt: skip
    return rows, raw_engine, Xt


def interaction_row(X, X_train, raw_engine, args):
    """Raw interaction values of ``--interaction-rows`` rows (ours alone)."""
    inter_rows = X.iloc[20_000: 20_000 + args.interaction_rows]
    ep_pre = preprocessor().fit(X_train)
    Xi = ep_pre.transform(inter_rows)
    n_jobs = 1 if args.cores == "1" else -1
    cpu = time.process_time()
    t, (vals, _, inter) = timed(lambda: raw_engine.values(Xi, interactions=True, n_jobs=n_jobs), 1)
    cpu = time.process_time() - cpu
    err = np.abs(inter.sum(-1) - vals).max()
    del inter
    return ["300 trees x 31 leaves", f"ours: raw interaction values, {len(Xi)} rows (CPU {cpu:.1f} s)",
            fmt(t), "target < 60 s", f"rows sum to values {err:.1e}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", choices=["1", "all"], default="1")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--deep-rows", type=int, default=1000)
    parser.add_argument("--iv-rows", type=int, default=1000)
    parser.add_argument("--interaction-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-repeat", type=int, default=2)
    parser.add_argument("--skip-deep", action="store_true")
    parser.add_argument("--interventional-only", action="store_true",
                        help="only the interventional rows (no margin rows, no interactions)")
    args = parser.parse_args()
    if args.cores == "1":
        os.sched_setaffinity(0, {0})  # inherited by the peers' subprocess
    X, y = make_data(20_000 + max(args.rows, args.interaction_rows) + 100)
    X_train, y_train = X.iloc[:20_000], y[:20_000]
    X_rows = X.iloc[20_000: 20_000 + args.rows].reset_index(drop=True)
    bg = X.iloc[-100:].reset_index(drop=True)
    print(f"cores={args.cores} (affinity {sorted(os.sched_getaffinity(0))}), load average "
          f"{os.getloadavg()[0]:.2f}; times are min / median of repeats (peers: "
          f"{args.peer_repeat} repeats)")  # fmt: skip
    headers = ["model", "what", "seconds min / median", "speed vs reference", "max |diff|"]
    all_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows, raw_engine, _ = config("300 trees x 31 leaves", X_train, y_train, X_rows, bg,
                                     {"num_leaves": 31}, args, Path(tmp))  # fmt: skip
        all_rows += rows
        if not args.interventional_only:
            all_rows.append(interaction_row(X, X_train, raw_engine, args))
        if not args.skip_deep:
            deep = X_rows.iloc[: args.deep_rows]
            rows, _, _ = config("300 trees x 255 leaves, depth 12", X_train, y_train, deep, bg,
                                {"num_leaves": 255, "max_depth": 12}, args, Path(tmp))  # fmt: skip
            all_rows += rows
    print_table(headers, all_rows)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
