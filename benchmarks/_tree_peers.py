"""Peer TreeSHAP implementations, run inside the benchmark venv (see setup_peer_venv.sh tree).

Called by tree_raw.py as ``python _tree_peers.py <workdir> <mode> <repeat> <threads>``;
reads ``model.txt`` (LightGBM), ``X.npy`` (engineered rows) and ``bg.npy`` (background) from
``workdir`` and writes ``peers_<mode>.json``: per peer the seconds of each repeat and the max
|difference| to ``reference.npy`` (the booster's pred_contrib, or our interventional values).
A peer that fails is reported with its error instead of a time.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
from _common import timed

warnings.filterwarnings("ignore")


def _values(out, n_features):
    arr = out.values if hasattr(out, "values") and not isinstance(out, np.ndarray) else out
    if isinstance(arr, list):
        arr = arr[-1]
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[..., -1] if arr.shape[-1] == 2 else arr[-1]
    return arr[:, :n_features]


def main() -> None:
    workdir, mode, repeat, threads = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
    import lightgbm

    n_jobs = 1 if threads == "1" else -1
    booster = lightgbm.Booster(model_file=str(workdir / "model.txt"))
    X = np.load(workdir / "X.npy")
    bg = np.load(workdir / "bg.npy")
    ref = np.load(workdir / f"reference_{mode}.npy")
    n_features = X.shape[1]
    peers = {}

    def run(name, build, call):
        try:
            explainer = build()
            times, out = timed(lambda: call(explainer), repeat)
            err = float(np.abs(_values(out, n_features) - ref).max())
            peers[name] = {"seconds": times, "max_abs_diff": err}
        except Exception as exc:  # a peer that cannot run is reported, not fatal
            peers[name] = {"error": f"{type(exc).__name__}: {exc}"[:300],
                           "trace": traceback.format_exc()[-600:]}  # fmt: skip

    import fasttreeshap_fixed as fts
    import pandas as pd
    import shap
    import woodelf

    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(n_features)])
    bg_frame = pd.DataFrame(bg, columns=frame.columns)
    if mode == "margin":
        kw = {"num_threads": 1} if n_jobs == 1 else {}
        run("lightgbm pred_contrib", lambda: booster,
            lambda b: b.predict(X, pred_contrib=True, **kw))  # fmt: skip
        run("shap.TreeExplainer", lambda: shap.TreeExplainer(booster),
            lambda e: e.shap_values(X, check_additivity=False))  # fmt: skip
        run("woodelf-explainer (path-dependent)", lambda: woodelf.WoodelfExplainer(booster),
            lambda e: e.shap_values(frame, verbose=False))  # fmt: skip
        for alg in ("v1", "v2"):
            run(f"fasttreeshap {alg}",
                lambda alg=alg: fts.TreeExplainer(booster, algorithm=alg, n_jobs=n_jobs),
                lambda e: e.shap_values(X, check_additivity=False))  # fmt: skip
    else:
        run("shap.TreeExplainer (interventional)",
            lambda: shap.TreeExplainer(booster, data=bg, feature_perturbation="interventional"),
            lambda e: e.shap_values(X, check_additivity=False))  # fmt: skip
        run("woodelf-explainer (background)",
            lambda: woodelf.WoodelfExplainer(booster, data=bg_frame,
                                             feature_perturbation="interventional"),
            lambda e: e.shap_values(frame, verbose=False))  # fmt: skip
        run("fasttreeshap v1 (interventional)",
            lambda: fts.TreeExplainer(booster, data=bg, feature_perturbation="interventional",
                                      algorithm="v1", n_jobs=n_jobs),
            lambda e: e.shap_values(X, check_additivity=False))  # fmt: skip
    (workdir / f"peers_{mode}.json").write_text(json.dumps(peers, indent=1))


if __name__ == "__main__":
    main()
