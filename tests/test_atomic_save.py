"""Model and explanation saves are atomic: SIGKILL at any moment of an overwrite leaves a file
that loads as the old or the new version, never a truncated one; a failing write leaves the
old file and no temporary file."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import joblib
import numpy as np
import pandas as pd
import pytest

from explainable_pipeline import load, load_explanation

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

FRACTIONS = [0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0, 1.3, 1.9]


def _writer(write, versions, ready) -> None:  # runs in a forked child until killed
    write(versions[0])
    ready.set()
    i = 1
    while True:
        write(versions[i % 2])
        i += 1


def _kill_during_writes(write, versions, path) -> list:
    """Fork a writer that saves two versions over ``path`` in turn forever; SIGKILL it at
    moments spread over one save's duration; load after every kill (the caller's check)."""
    ctx = mp.get_context("fork")  # the child has everything imported: it starts at once
    write(versions[1])  # warm (imports)
    t = time.perf_counter()
    write(versions[0])
    duration = time.perf_counter() - t
    for fraction in FRACTIONS:
        ready = ctx.Event()
        proc = ctx.Process(target=_writer, args=(write, versions, ready), daemon=True)
        proc.start()
        try:
            assert ready.wait(60), "the writer did not save once"
            time.sleep(fraction * duration)
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(30)
        finally:
            if proc.is_alive():
                proc.kill()
                proc.join(30)
        assert proc.exitcode == -signal.SIGKILL
        yield path


def _two_forests(n: int):
    from sklearn.ensemble import RandomForestRegressor

    from explainable_pipeline import ExplainablePipeline

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(400, 4)), columns=list("abcd"))
    return X, [
        ExplainablePipeline(None, RandomForestRegressor(n_estimators=m, random_state=0),
                            background=20).fit(X, X.a * k)
        for m, k in ((n, 1.0), (n + 1, -1.0))
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_sigkill_during_model_overwrites_always_leaves_a_loadable_model(tmp_path, fmt):
    from explainable_pipeline import save

    n = 30 if fmt == "joblib" else 3  # skops (de)serialises trees slowly
    X, versions = _two_forests(n)
    path = tmp_path / f"model.{fmt}"
    trusted = ["sklearn.tree._tree.Tree"] if fmt == "skops" else None
    for _ in _kill_during_writes(lambda v: save(v, path, format=fmt), versions, path):
        model = load(path, trusted=trusted)
        n_trees = len(model.estimator_.estimators_)
        assert n_trees in (n, n + 1)
        sign = np.sign(np.corrcoef(model.predict(X), X.a)[0, 1])
        assert sign == (1.0 if n_trees == n else -1.0)  # a whole old or a whole new model


def test_sigkill_during_explanation_overwrites_always_leaves_a_loadable_explanation(tmp_path):
    from explainable_pipeline import LocalExplanation

    versions = [
        LocalExplanation(np.full((5000, 4), float(k)), 0.0, list("abcd"), method="tree",
                         space="raw", output="prediction")
        for k in (1, 2)
    ]  # fmt: skip
    path = tmp_path / "explanation"
    for _ in _kill_during_writes(lambda v: v.save(path), versions, path):
        exp = load_explanation(path)
        assert exp.values.shape == (5000, 4)
        assert np.unique(exp.values).tolist() in ([1.0], [2.0])


def test_a_failing_model_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    from sklearn.linear_model import Ridge

    from explainable_pipeline import ExplainablePipeline, save

    X = np.random.default_rng(0).normal(size=(30, 3))
    old = ExplainablePipeline(None, Ridge()).fit(X, X[:, 0])
    new = ExplainablePipeline(None, Ridge()).fit(X, -X[:, 0])
    path = save(old, tmp_path / "m.joblib")

    def half_then_fail(value, f, *args, **kwargs):
        f.write(b"\x80\x05 half a pickle")
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save(new, path)
    monkeypatch.undo()
    np.testing.assert_allclose(load(path).predict(X), old.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == ["m.joblib"]
