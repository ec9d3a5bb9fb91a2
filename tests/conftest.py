"""Shared fixtures: real data that ships inside packages, and generated mixed data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@pytest.fixture(scope="session")
def penguins():
    """palmerpenguins: 344 rows, numeric and string columns with NaN; target = species."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    df = palmerpenguins.load_penguins()
    X = df.drop(columns=["species"])
    y = df["species"].astype(str)
    return X, y


def penguin_preprocessor(sparse: bool = False):
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    categorical = ["island", "sex"]
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=sparse),
                ),
                categorical,
            ),
        ],
        sparse_threshold=1.0 if sparse else 0.0,
    )


@pytest.fixture
def mixed_data():
    """600 generated rows: 3 numeric, 2 categorical columns, NaN, a known signal."""
    rng = np.random.default_rng(0)
    n = 600
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "noise": rng.normal(size=n),
            "city": rng.choice(["paris", "rome", "oslo", "lima"], n),
            "plan": rng.choice(["a", "b", "c"], n),
        }
    )
    X.loc[rng.choice(n, 30, replace=False), "age"] = np.nan
    logit = (
        0.08 * (X["age"].fillna(40) - 40)
        + (X["city"] == "oslo") * 1.5
        - (X["plan"] == "c") * 1.0
        + 0.3 * rng.normal(size=n)
    )
    y_cls = (logit > 0).astype(int).to_numpy()
    y_reg = (logit * 10 + np.log(X["income"])).to_numpy()
    return X, y_cls, y_reg


def mixed_preprocessor(**onehot):
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income", "noise"]),
            ("cat", OneHotEncoder(handle_unknown="ignore", **onehot), ["city", "plan"]),
        ]
    )


def brute_force_shapley_rows(f, x, background, weights):
    """Shapley values of the row ``x`` (1-D array) by enumerating every permutation (M! orderings):
    a coalition keeps ``x``'s columns and takes the others from the weighted background rows."""
    M = x.shape[0]

    def v(S):
        rows = background.copy()
        rows[:, list(S)] = x[list(S)]
        return weights @ f(rows)

    phi = np.zeros(M)
    perms = list(itertools.permutations(range(M)))
    for perm in perms:
        prefix: list[int] = []
        for i in perm:
            phi[i] += v(prefix + [i]) - v(prefix)
            prefix.append(i)
    return phi / len(perms)


def brute_force_interactions(f, X, background):
    """Shapley values and Shapley interaction values (SHAP's convention) by enumerating every
    coalition, for all rows of ``X`` at once: (phi (n, M), interactions (n, M, M), base).

    v(S) = mean over the background rows of f(x_S, background_rest). Off the diagonal,
    interactions[:, i, j] is half the Shapley interaction index of i and j; the diagonal is
    phi_i minus the row's other entries, so each row of the matrix sums to phi_i.
    """
    n, M = X.shape
    v = np.zeros((1 << M, n))
    for S in range(1 << M):
        cols = [i for i in range(M) if S >> i & 1]
        hybrid = np.repeat(background[None], n, axis=0)  # (n, b, M)
        hybrid[:, :, cols] = X[:, None, cols]
        v[S] = f(hybrid.reshape(-1, M)).reshape(n, -1).mean(axis=1)
    phi, inter = interactions_from_values(v, M)
    return phi, inter, float(v[0].mean())


def interactions_from_values(v, M):
    """Shapley values (..., M) and interaction values (..., M, M) of the game ``v[S]`` (``S``
    a coalition bit mask; ``v`` of shape (2**M, ...)), by independent loops over coalitions.

    SHAP's convention: half the Shapley interaction index off the diagonal, the rest of the
    Shapley value on it, so each row of the matrix sums to the Shapley value.
    """
    fact = math.factorial
    v = np.moveaxis(np.asarray(v, dtype=float), 0, -1)  # (..., 2**M)
    phi = np.zeros(v.shape[:-1] + (M,))
    inter = np.zeros(v.shape[:-1] + (M, M))
    for i in range(M):
        for S in range(1 << M):
            if S >> i & 1:
                continue
            s = bin(S).count("1")
            phi[..., i] += fact(s) * fact(M - s - 1) / fact(M) * (v[..., S | 1 << i] - v[..., S])
            for j in range(M):
                if j != i and not S >> j & 1:
                    w = fact(s) * fact(M - s - 2) / (2 * fact(M - 1))
                    inter[..., i, j] += w * (v[..., S | 1 << i | 1 << j] - v[..., S | 1 << i]
                                             - v[..., S | 1 << j] + v[..., S])  # fmt: skip
    for i in range(M):
        inter[..., i, i] = phi[..., i] - inter[..., i, :].sum(axis=-1)
    return phi, inter


def interacting_explanation(n: int = 300):
    """Four generated columns, f = 2 a b + c + 0.3 c d: its exact local explanation and
    interaction values (background: the first 40 rows). Returns (local, interactions, X, f)."""
    from explainable_pipeline import LocalExplanation

    rng = np.random.default_rng(0)
    names = ["a", "b", "c", "d"]
    X = rng.normal(size=(n, 4))

    def f(Z):
        return 2 * Z[:, 0] * Z[:, 1] + Z[:, 2] + 0.3 * Z[:, 2] * Z[:, 3]

    phi, inter, base = brute_force_interactions(f, X, X[:40])
    local = LocalExplanation(phi, base, names, method="exact", space="raw", output="prediction",
                             data=pd.DataFrame(X, columns=names))  # fmt: skip
    return local, inter, X, f


def penguin_sex_model(penguins):
    """Binary logistic regression of the penguin's sex from the other columns (species
    included), on the 333 rows where sex is known; 93% accurate: errors to analyse.
    Returns (fitted ExplainablePipeline, X, y)."""
    from sklearn.linear_model import LogisticRegression

    from explainable_pipeline import ExplainablePipeline

    X, species = penguins
    keep = X["sex"].notna().to_numpy()
    X = X[keep].reset_index(drop=True)
    X["species"] = species[keep].to_numpy()
    y = X.pop("sex")
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
                             ("cat", OneHotEncoder(handle_unknown="ignore"),
                              ["species", "island"])])  # fmt: skip
    ep = ExplainablePipeline(pre, LogisticRegression(max_iter=1000), random_state=0).fit(X, y)
    return ep, X, y


def penguin_lgbm(X, y):
    """The small LightGBM ExplainablePipeline that persistence and serving tests share."""
    lightgbm = pytest.importorskip("lightgbm")
    from explainable_pipeline import ExplainablePipeline

    return ExplainablePipeline(
        penguin_preprocessor(),
        lightgbm.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1, n_jobs=1),
        random_state=0,
    ).fit(X, y)


class MarkerPayload:
    """Unpickling this creates the file ``marker`` (``open(marker, "w")``): a stand-in for
    hostile code in a pickle. A test asserts the marker does not exist afterwards."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import builtins

        return builtins.open, (self.marker, "w")


def marker_envelope(marker) -> dict:
    """An explainable-pipeline joblib envelope whose model (and metadata) run the payload."""
    return {
        "format": "explainable-pipeline",
        "format_version": 1,
        "metadata": MarkerPayload(marker),
        "model": MarkerPayload(marker),
    }


@pytest.fixture(scope="module")
def penguin_explained(penguins):
    """(the shared penguin LightGBM pipeline, X, y, its local explanation of X)."""
    X, y = penguins
    ep = penguin_lgbm(X, y)
    return ep, X, y, ep.explain_local(X)


def notebook_client(cells: list[str], tmp_path):
    """A notebook of ``cells`` and an nbclient client for a real python3 ipykernel.

    Skips without nbformat, nbclient or ipykernel (the ``test`` extra has them). Returns
    ``(nb, client)``; run it with ``client.execute()`` or cell by cell in
    ``client.setup_kernel()``.
    """
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    client = nbclient.NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    return nb, client
