"""The demo behind the README's first command: ``explainable-pipeline demo``.

Two models on real data that ships inside packages:

1. the Azure ML interpretability how-to's example on scikit-learn's breast-cancer
   data, with its model written as scikit-learn >= 1.9 asks for it:
   ``CalibratedClassifierCV(SVC(gamma=0.001, C=100.), ensemble=False)`` instead of
   the deprecated ``SVC(gamma=0.001, C=100., probability=True)`` (both are an SVC
   with Platt-scaled probabilities), explained with the model-agnostic raw-space
   Shapley explainer;
2. a mixed numeric/categorical pipeline with missing values (the
   ``palmerpenguins`` data) and LightGBM, explained with TreeSHAP mapped back to
   the raw columns.

It prints ranked raw global and local explanations, checks additivity, and saves
a bar plot of each global explanation to the output folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ._ranking import rank_order


def _print_global(title: str, glob, top_k: int = 8, out=sys.stdout) -> None:
    print(f"\n{title}", file=out)
    for name, value in glob.get_feature_importance_dict(top_k=top_k).items():
        print(f"  {name:<28} {value:10.4f}", file=out)


def _print_local(local, row: int, class_index: int | None, top_k: int = 5, out=sys.stdout):
    values = local.local_importance_values
    if class_index is not None:
        values = values[class_index]
    row_values = values[row]
    order = rank_order(row_values, "abs")[:top_k]  # largest effects first, either sign
    for j in order:
        print(f"  {local.features[j]:<28} {row_values[j]:+10.4f}", file=out)


def _save_bar(glob, path: Path, title: str, top_k: int = 10) -> None:
    from ._plot import save_global_bar

    save_global_bar(glob, path, title=title, top_k=top_k)


def breast_cancer_svc(out_dir: Path, out=sys.stdout):
    """The how-to's SVC, explained in its 30 raw columns."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    from . import ExplainablePipeline

    data = load_breast_cancer(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=0
    )
    # the how-to's SVC(gamma=0.001, C=100., probability=True), as scikit-learn 1.9 asks for it
    svc = CalibratedClassifierCV(SVC(gamma=0.001, C=100.0), ensemble=False)
    ep = ExplainablePipeline(estimator=svc, random_state=0).fit(x_train, y_train)
    start = time.perf_counter()
    glob = ep.explain_global(x_test)
    seconds = time.perf_counter() - start
    local = glob.local if getattr(glob, "local", None) is not None else ep.explain_local(x_test)
    err = np.abs(
        local.local_importance_values.sum(-1).T
        + np.asarray(local.expected_values)
        - ep.predict_proba(x_test)
    ).max()
    print(
        f"\n[1] Breast cancer, CalibratedClassifierCV(SVC(gamma=0.001, C=100), "
        f"ensemble=False): accuracy "
        f"{ep.score(x_test, y_test):.3f}; explainer={ep.explainer_!r}; explained "
        f"{len(x_test)} rows in {seconds:.1f} s; max additivity error {err:.1e}",
        file=out,
    )
    _print_global("Global importance (raw columns, probability):", glob, out=out)
    cls = list(ep.classes_).index(1)
    print(f"\nLocal explanation of test row 0 (class {str(data.target_names[1])!r}):", file=out)
    _print_local(local, 0, cls, out=out)
    _save_bar(glob, out_dir / "breast_cancer_svc_global.png", "Breast cancer SVC: raw importance")
    return ep, glob


def penguins_lightgbm(out_dir: Path, out=sys.stdout):
    """A mixed pipeline with NaN: imputers, scaling, one-hot encoding, LightGBM."""
    import lightgbm
    import palmerpenguins
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from . import ExplainablePipeline

    df = palmerpenguins.load_penguins()
    X, y = df.drop(columns=["species"]), df["species"].astype(str)
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    categorical = ["island", "sex"]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                categorical,
            ),
        ]
    )
    x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    ep = ExplainablePipeline(
        pre, lightgbm.LGBMClassifier(n_estimators=100, num_leaves=8, verbose=-1)
    ).fit(x_train, y_train)
    glob = ep.explain_global(x_test)
    local = ep.explain_local(x_test.iloc[:3])
    engineered = ep.explain_local(x_test.iloc[:3], space="engineered")
    same_total = np.allclose(
        local.local_importance_values.sum(-1), engineered.local_importance_values.sum(-1)
    )
    print(
        f"\n[2] Palmer penguins ({X.shape[1]} raw columns with NaN -> "
        f"{len(ep.feature_map_.engineered_features)} engineered), LightGBM: accuracy "
        f"{ep.score(x_test, y_test):.3f}; explainer={ep.explainer_!r} ({local.output}); "
        f"raw totals equal engineered totals: {same_total}",
        file=out,
    )
    _print_global("Global importance (raw columns, mean over classes):", glob, out=out)
    for k, cls in enumerate(ep.classes_[:3]):
        print(f"\nLocal explanation of test row 0 for class {cls!r}:", file=out)
        _print_local(local, 0, k, top_k=4, out=out)
    _save_bar(glob, out_dir / "penguins_lightgbm_global.png", "Penguins LightGBM: raw importance")
    return ep, glob


def main(argv=None) -> int:
    """Run the demo; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="explainable-pipeline demo",
        description=__doc__.replace("``", ""),  # plain text on a terminal, not reST
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="demo_output", help="folder for the plots")
    args = parser.parse_args(argv)
    from ._optional import import_optional

    # before any work: the second part needs these (the first needs matplotlib only)
    import_optional("matplotlib", "lightgbm", "palmerpenguins", extra="demo", what="The demo")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    breast_cancer_svc(out_dir)
    penguins_lightgbm(out_dir)
    print(f"\nPlots saved in {out_dir.resolve()}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
