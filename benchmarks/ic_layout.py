"""interpret-community's own ``save_explanation`` folders, read by ``load_explanation``.

A conformance check rather than a timing: interpret-community 0.32 (``benchmarks/.venv-ic``,
``bash benchmarks/setup_peer_venv.sh``) explains small binary, multiclass and regression
models with every explainer it has (linear, tree, kernel, mimic, PFI), on raw columns (with
``transformations``) and on engineered ones, as local, global and global-only explanations,
and saves each folder with its ``save_explanation``. Then, here:

* ``layout``: the folder has the property files, kinds and metadata keys that
  ``tests/_ic_layout.py`` (the generator of our tests) writes for the same case;
* ``loads``: ``load_explanation`` reads it; ``unit`` is the output it names;
* ``vs model``: the largest difference between local values + expected values and the
  model's own output (probabilities, decision function or predictions, recorded by the peer
  run), for the explanations that carry local values.

interpret-community's ``save_explanation`` itself fails on raw global-only explanations
(``num_features`` is the engineered count, ``features`` the raw names); those cases are
listed as "peer fails" (it leaves half a folder behind). Usage: ``python benchmarks/ic_layout.py [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import print_table

HERE = Path(__file__).resolve().parent
PEER = HERE / ".venv-ic" / "bin" / "python"

PEER_RUN = r"""
import json, os, sys, warnings
import numpy as np
warnings.filterwarnings("ignore")
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR
from interpret_community import TabularExplainer
from interpret_community.explanation.explanation import save_explanation
from interpret_community.mimic import MimicExplainer
from interpret_community.mimic.models import LGBMExplainableModel
from interpret_community.permutation import PFIExplainer
from interpret_community.shap import KernelExplainer, LinearExplainer, TreeExplainer

out = sys.argv[1]
loaders = {"binary": load_breast_cancer, "multiclass": load_iris, "regression": load_diabetes}
record, failures = {}, []
for task, load in loaders.items():
    X, y = load(return_X_y=True, as_frame=True)
    order = np.random.RandomState(1).permutation(len(X))
    X, y = X.iloc[order, :5].reset_index(drop=True), y.iloc[order].to_numpy()
    X["colour"] = np.array(["red", "green", "blue"])[np.random.RandomState(0).randint(0, 3, len(X))]
    Xtr, ytr, Xte, yte = X.iloc[:80], y[:80], X.iloc[80:86].reset_index(drop=True), y[80:86]
    num = list(X.columns[:-1])
    ct = ColumnTransformer([("num", StandardScaler(), num),
                            ("cat", OneHotEncoder(sparse_output=False), ["colour"])]).fit(Xtr)
    Etr, Ete = ct.transform(Xtr), ct.transform(Xte)
    clf = task != "regression"
    for kind in ("linear", "tree", "kernel", "mimic", "pfi"):
        if kind == "linear":
            m = LogisticRegression(max_iter=2000) if clf else LinearRegression()
        elif kind == "kernel":
            m = SVC(probability=True, random_state=0) if clf else SVR()
        else:
            forest = RandomForestClassifier if clf else RandomForestRegressor
            m = forest(n_estimators=5, max_depth=3, random_state=0)
        m.fit(Etr, ytr)
        for space in ("raw", "engineered"):
            kw = {"features": list(X.columns) if space == "raw"
                  else list(ct.get_feature_names_out())}
            if clf:
                kw["classes"] = sorted(set(ytr.tolist()))
            if space == "raw":
                kw["transformations"] = ct
            init, ev = (Xtr, Xte) if space == "raw" else (Etr, Ete)
            if kind == "pfi":
                ex = PFIExplainer(m, **kw)
            elif kind == "mimic":
                ex = MimicExplainer(m, init, LGBMExplainableModel, augment_data=False, **kw)
            elif space == "raw":
                ex = TabularExplainer(m, init if kind != "kernel" else init.iloc[:10], **kw)
            elif kind == "linear":
                ex = LinearExplainer(m, init, **kw)
            elif kind == "tree":
                ex = TreeExplainer(m, **kw)
            else:
                ex = KernelExplainer(m, init, nsamples=60, **kw)
            name = f"{kind}-{task}-{space}"
            if kind == "pfi":
                parts = {"global": lambda: ex.explain_global(ev, true_labels=yte)}
            else:
                parts = {"local": lambda: ex.explain_local(ev),
                         "global": lambda: ex.explain_global(ev),
                         "globalonly": lambda: ex.explain_global(ev, include_local=False)}
            for part, explain in parts.items():
                try:
                    save_explanation(explain(), os.path.join(out, f"{name}-{part}"))
                except Exception as exc:
                    failures.append([f"{name}-{part}", f"{type(exc).__name__}: {exc}"[:90]])
            dec = m.decision_function(Ete).tolist() if hasattr(m, "decision_function") else None
            record[name] = {"output": (m.predict_proba(Ete) if clf else m.predict(Ete)).tolist(),
                            "decision": dec}
json.dump({"outputs": record, "failures": failures}, open(os.path.join(out, "run.json"), "w"))
"""


def _read(folder: Path) -> tuple[dict, dict]:
    props = {}
    for f in folder.glob("*.json"):
        if f.name != "explanation_metadata.json":
            doc = json.loads(f.read_text())
            props[f.stem] = (doc["metadata"], doc["data"])
    return props, json.loads((folder / "explanation_metadata.json").read_text())


def _generated(name: str, props: dict, md: dict) -> tuple[dict, dict]:
    """What tests/_ic_layout.py writes for the same case (its own values, from the folder)."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from _ic_layout import ic_layout

    kind, task, space, part = name.split("-")
    get = lambda key: props.get(key, (None, None))[1]  # noqa: E731
    local = get("global_importance_values") if kind == "pfi" else get("local_importance_values")
    if local is None:  # global only: any values of the right shape
        pc = get("per_class_values")
        local = [[row] for row in pc] if pc is not None else [get("global_importance_values")]
    return ic_layout(kind, task, local=local, expected=get("expected_values"),
                     features=get("features"), classes=get("classes"), part=part,
                     raw=space == "raw", eval_rows=get("eval_data"),
                     predicted=get("eval_y_predicted"), proba=get("eval_y_predicted_proba"),
                     init_rows=get("init_data"))  # fmt: skip


def _compare(name: str, folder: Path) -> str:
    props, md = _read(folder)
    gen_props, gen_md = _generated(name, props, md)
    diffs = []
    if set(props) != set(gen_props):
        diffs.append(f"files {sorted(set(props) ^ set(gen_props))}")
    kinds = [k for k in set(props) & set(gen_props) if props[k][0] != gen_props[k][0]]
    if kinds:
        diffs.append(f"kinds {sorted(kinds)}")
    if set(md) != set(gen_md):
        diffs.append(f"metadata keys {sorted(set(md) ^ set(gen_md))}")
    flags = [k for k in ("model_type", "method", "global", "local", "is_local_sparse")
             if md[k] != gen_md[k]]  # fmt: skip
    if flags:
        diffs.append(f"metadata {flags}")
    return "same" if not diffs else "; ".join(diffs)


def _vs_model(exp, outputs: dict) -> str:
    import numpy as np

    local = getattr(exp, "local", exp)
    if local is None:
        return ""
    ev = np.asarray(local.expected_values)
    total = local.values.sum(-1) + (ev[:, None] if local.values.ndim == 3 else ev)
    out = np.asarray(outputs["output"])
    candidates = [out.T if out.ndim == 2 else out]
    if outputs["decision"] is not None:
        dec = np.asarray(outputs["decision"])
        candidates.append(np.stack([-dec, dec]) if dec.ndim == 1 else dec.T)
    errors = [np.abs(c - total).max() for c in candidates if c.shape == total.shape]
    return f"{min(errors):.1e}" if errors else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="write the peer's folders here and keep them")
    args = parser.parse_args(argv)
    if not PEER.exists():
        print(f"No peer venv at {PEER}: run bash benchmarks/setup_peer_venv.sh first.")
        return 1
    sys.path.insert(0, str(HERE.parent))
    from explainable_pipeline import load_explanation

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        if args.keep:
            shutil.rmtree(root, ignore_errors=True)  # the peer refuses existing folders
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(PEER), "-c", PEER_RUN, str(root)], check=True, capture_output=True)
        run = json.loads((root / "run.json").read_text())
        rows = []
        # a failed save_explanation leaves its property files without the metadata file
        done = [p for p in root.iterdir() if (p / "explanation_metadata.json").is_file()]
        for folder in sorted(done):
            name = folder.name
            try:
                exp = load_explanation(folder)
                loads, unit = "yes", exp.output
                vs = _vs_model(exp, run["outputs"][name.rsplit("-", 1)[0]])
            except Exception as exc:  # noqa: BLE001 - reported in the table
                loads, unit, vs = f"NO: {type(exc).__name__}: {exc}"[:70], "", ""
            rows.append([name, _compare(name, folder), loads, unit, vs])
        rows += [[name, "peer fails", why, "", ""] for name, why in run["failures"]]
    print_table(["case", "layout vs tests/_ic_layout.py", "loads", "unit", "vs model"], rows)
    bad = [r for r in rows if r[1] not in ("same", "peer fails") or r[2].startswith("NO")]
    print(f"\n{len(rows)} folders; {len(bad)} differ or fail to load.")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
