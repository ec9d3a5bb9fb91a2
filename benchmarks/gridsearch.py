"""Cost of the explainer in a grid search: ExplainablePipeline vs the bare Pipeline.

The same GridSearchCV (same grid over the estimator's parameters, same folds)
over ``Pipeline(preprocessor, estimator)`` and over
``ExplainablePipeline(preprocessor, estimator)``, which also builds its
feature map and background summary in every fit. Target: ratio <= 1.2.

Usage: ``python benchmarks/gridsearch.py [--rows N] [--repeat R]``.
"""

from __future__ import annotations

import argparse

import lightgbm
from _common import print_table, timeit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from tree_raw import make_data

from explainable_pipeline import ExplainablePipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = make_data(args.rows)
    numeric = [c for c in X.columns if c.startswith("num")]
    categorical = [c for c in X.columns if c.startswith("cat")]

    def pre():
        return ColumnTransformer(
            [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
        )

    rows = []
    for label, est, grid in [
        ("LogisticRegression", LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}),
        ("LGBMClassifier", lightgbm.LGBMClassifier(n_estimators=50, verbose=-1), {"num_leaves": [15, 31]}),
    ]:
        bare = GridSearchCV(
            Pipeline([("pre", pre()), ("est", est)]), {f"est__{k}": v for k, v in grid.items()}, cv=3
        )
        ours = GridSearchCV(
            ExplainablePipeline(pre(), est),
            {f"estimator__{k}": v for k, v in grid.items()},
            cv=3,
        )
        t_bare, _ = timeit(lambda s=bare: s.fit(X, y), args.repeat)
        t_ours, _ = timeit(lambda s=ours: s.fit(X, y), args.repeat)
        rows.append([label, f"{t_bare:.2f}", f"{t_ours:.2f}", f"{t_ours / t_bare:.3f}"])
    print(f"rows={args.rows}, 3-fold GridSearchCV, 2 candidates")
    print_table(["estimator", "Pipeline s", "ExplainablePipeline s", "ratio"], rows)


if __name__ == "__main__":
    main()
