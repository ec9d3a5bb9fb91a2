"""Scaling explanations: one process vs a 2-worker Dask LocalCluster, and memory vs chunk size.

Run: ``python benchmarks/scale.py`` (``--quick`` for a smaller run). Prints three tables:

1. rows/s of tree (TreeSHAP, GradientBoostingClassifier) and kernel (raw-space KernelSHAP,
   MLPClassifier) explanations in one process (``ep.explain_local``, with the default BLAS /
   OpenMP threads and with one thread, as a Dask worker has) and on a
   ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``
   (``explainable_pipeline.distributed.explain_local(...).compute()``) started with Dask's
   default worker environment and with ``distributed.worker_environ()`` (no
   ``MALLOC_TRIM_THRESHOLD_``); the speed-up is the latter against the faster one-process run;
2. peak RSS of ``explain_local_to_parquet`` on many rows against ``batch_size`` (each in a fresh
   subprocess), next to ``explain_local`` holding every attribution;
3. a projection for N workers from the measured per-partition cost:
   ``T(N) = ceil(P / N) * t_partition + t_overhead``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from _common import peak_rss_mb, print_table
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

NUM = [f"x{i}" for i in range(8)]
CAT = ["city", "plan"]


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, len(NUM))), columns=NUM)
    X["city"] = rng.choice(["paris", "rome", "oslo", "lima"], n)
    X["plan"] = rng.choice(["a", "b", "c"], n)
    logit = X["x0"] - 2 * X["x1"] + X["x2"] * X["x3"] + (X["city"] == "oslo")
    return X, (logit + rng.normal(size=n) > 0).astype(int).to_numpy()


def pre():
    return ColumnTransformer(
        [("num", StandardScaler(), NUM), ("cat", OneHotEncoder(handle_unknown="ignore"), CAT)],
        sparse_threshold=0.0,
    )


def fitted(kind: str, X, y):
    if kind == "tree":
        est = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
        return ExplainablePipeline(pre(), est, "tree", progress=False).fit(X, y)
    est = MLPClassifier((32,), max_iter=300, random_state=0)
    return ExplainablePipeline(
        pre(), est, "kernel", background=10, random_state=0, progress=False
    ).fit(X, y)


def rss_child(batch_size: str, n_rows: int) -> None:
    """Subprocess body: explain n_rows (tree) and print the peak RSS in MiB."""
    X, y = make_data(2000)
    ep = fitted("tree", X, y)
    big, _ = make_data(n_rows, seed=1)
    import psutil

    base = psutil.Process().memory_info().rss / 2**20  # before explaining
    if batch_size == "in-memory":
        ep.set_params(batch_size=n_rows)
        ep.explain_local(big)
    else:
        ep.set_params(batch_size=int(batch_size))
        with tempfile.TemporaryDirectory() as tmp:
            ep.explain_local_to_parquet(big, os.path.join(tmp, "a.parquet"))
    print(f"{peak_rss_mb():.1f} {peak_rss_mb() - base:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-child", nargs=2)
    parser.add_argument("--tree-rows", type=int, help="rows of the tree throughput run")
    parser.add_argument("--kernel-rows", type=int, help="rows of the kernel throughput run")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS table")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per cell (best kept)")
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    from explainable_pipeline import distributed as epd

    n_tree, n_kernel, n_rss = (8192, 1024, 300_000) if args.quick else (65536, 16384, 1_000_000)
    n_tree, n_kernel = args.tree_rows or n_tree, args.kernel_rows or n_kernel
    X, y = make_data(3000)
    rows = {"tree": make_data(n_tree, 1)[0], "kernel": make_data(n_kernel, 2)[0]}
    eps = {kind: fitted(kind, X, y) for kind in rows}
    n_parts = 8
    results, costs = [], {}
    one, one_1t, dask_t, chunks = {}, {}, {}, {}
    for kind, data in rows.items():
        ep = eps[kind]
        ep.explain_local(data.iloc[:256])  # warm caches
        one[kind] = one_1t[kind] = math.inf
        for _ in range(args.repeat):
            start = time.perf_counter()
            ep.explain_local(data)
            one[kind] = min(one[kind], time.perf_counter() - start)
            with threadpool_limits(1):  # what a Dask worker runs with (OMP/BLAS threads = 1)
                start = time.perf_counter()
                ep.explain_local(data)
                one_1t[kind] = min(one_1t[kind], time.perf_counter() - start)
        chunks[kind] = math.ceil(len(data) / n_parts / 128) * 128  # whole 128-row blocks
    # worker_environ() first: a Nanny writes its pre-spawn environment into this process's
    # os.environ, which later workers inherit (so the default cluster must come second)
    envs = {
        "worker_environ()": epd.worker_environ(),
        "Dask default": dict(dask.config.get("distributed.nanny.pre-spawn-environ")),
    }
    for env_name, env in envs.items():
        if env_name == "worker_environ()":
            os.environ.pop(epd.MALLOC_TRIM, None)
        with (
            dask.config.set({"distributed.nanny.pre-spawn-environ": env}),
            warnings.catch_warnings(),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            warnings.simplefilter("ignore", RuntimeWarning)  # the MALLOC_TRIM hint
            client.wait_for_workers(2)
            for kind, data in rows.items():
                ep = eps[kind]
                ddf = dd.from_pandas(data, chunksize=chunks[kind])
                warm = dd.from_pandas(data.iloc[:256], npartitions=2)
                epd.explain_local(ep, warm, client=client).compute()
                times = []
                for _ in range(args.repeat):  # the first large call also grows the workers' heaps
                    start = time.perf_counter()
                    out = epd.explain_local(ep, ddf, client=client).compute()
                    times.append(time.perf_counter() - start)
                    assert len(out) == len(data)
                dask_t[env_name, kind] = min(times)
    for kind, data in rows.items():
        n = len(data)
        P = -(-n // chunks[kind])
        best_one = min(one[kind], one_1t[kind])
        t_dask = dask_t["worker_environ()", kind]
        # per-partition cost: the single-threaded in-process time per partition
        t_part = one_1t[kind] / P
        costs[kind] = (P, t_part, n, max(t_dask - t_part * P / 2, 0))
        results.append([kind, n, P, f"{n / one[kind]:,.0f}", f"{n / one_1t[kind]:,.0f}",
                        f"{n / dask_t['Dask default', kind]:,.0f}", f"{n / t_dask:,.0f}",
                        f"{best_one / t_dask:.2f}x"])  # fmt: skip
    print(f"\n## Throughput (2 cores, load average {os.getloadavg()[0]:.1f} at the end)\n")
    print_table(["explainer", "rows", "partitions", "1 process rows/s (default threads)",
                 "1 process rows/s (1 thread)", "2 workers rows/s (Dask default env)",
                 "2 workers rows/s (worker_environ())",
                 "speed-up (worker_environ() vs best 1 process)"], results)  # fmt: skip

    rss_rows = []
    for bs in [] if args.no_rss else ["1024", "8192", "65536", "in-memory"]:
        out = subprocess.run(
            [sys.executable, __file__, "--rss-child", bs, str(n_rss)],
            capture_output=True, text=True, check=True, cwd=os.path.dirname(__file__),
        )  # fmt: skip
        peak, grown = out.stdout.split()[-2:]
        label = (
            "explain_local (all in memory)" if bs == "in-memory" else f"to_parquet, batch_size={bs}"
        )
        rss_rows.append([label, f"{n_rss:,}", peak, grown])
    if rss_rows:
        print(f"\n## Peak RSS vs chunk size (tree, {n_rss:,} rows, 10 raw columns, binary)\n")
        print_table(["run", "rows", "peak RSS MiB", "peak - RSS before explaining, MiB"], rss_rows)

    proj = []
    for kind, (P, t_part, n, overhead) in costs.items():
        for workers in (1, 2, 4, 8, 16, 32):
            for mult in (1, 100):  # this run, and 100x the rows (100x the partitions)
                parts = P * mult
                t = math.ceil(parts / workers) * t_part + overhead
                proj.append([kind, f"{n * mult:,}", parts, workers, f"{t:,.1f}",
                             f"{n * mult / t:,.0f}"])  # fmt: skip
    print("\n## Projection for N workers (T = ceil(P / N) * t_partition + overhead)\n")
    print(
        ", ".join(f"{k}: t_partition={c[1]:.2f}s, overhead={c[3]:.2f}s" for k, c in costs.items())
    )
    print()
    print_table(["explainer", "rows", "partitions", "workers", "seconds", "rows/s"], proj)


if __name__ == "__main__":
    main()
