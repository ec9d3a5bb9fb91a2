"""Every benchmark script answers ``--help`` at once, from any working directory."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_benchmark_script_is_listed():
    assert {"agnostic.py", "dashboard.py", "mimic_pfi.py", "persistence_size.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_answers_without_running_the_benchmark(script, tmp_path):
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        cwd=tmp_path,  # not the repository root: the README says any folder works
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:"), proc.stdout[:500]
    # imports only (a benchmark run takes minutes); generous for a loaded 2-core machine
    assert seconds < 30, f"{script} --help took {seconds:.1f} s"
    # nothing measured, nothing written
    assert "|---" not in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_agnostic_refuses_a_bad_reference_before_measuring(tmp_path):
    for flag, value in (("--reference-runs", "1"), ("--reference-runs", "9"),
                        ("--reference-factor", "0")):
        proc = subprocess.run(
            [sys.executable, str(BENCHMARKS / "agnostic.py"), flag, value],
            cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (flag, value, proc.stderr[-500:])
        assert flag in proc.stderr and "|---" not in proc.stdout


def test_agnostic_reference_averages_its_runs(monkeypatch):
    """The black-box reference above 12 columns is the mean of ``runs`` seeded long runs, and
    its label says how many and how far one run is from the others."""
    from types import SimpleNamespace

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import agnostic

    from explainable_pipeline import ExplainablePipeline
    from explainable_pipeline._attribution import output_method
    from explainable_pipeline.explainers._evaluators import pipeline_evaluator

    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 13))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    ep = ExplainablePipeline(StandardScaler(), LogisticRegression(), explainer="kernel")
    ep.fit(X, y)
    summary = SimpleNamespace(data=X[:3], weights=np.array([0.5, 0.3, 0.2]))

    def f(Z):
        return ep.predict_proba(Z)[:, 1]

    ref, label = agnostic.black_box_reference(ep, f, X[:2], summary, 200, runs=3)
    ev = pipeline_evaluator(ep.preprocessor_, ep.estimator_, output_method(ep)[0],
                            ep.feature_map_)
    # on the model's fast path: the evaluator gives both classes, so the engine is given both
    # (given f, class 1 alone, its probe check fails and it falls back to the black box)
    runs = [agnostic.shapley_values(ep.predict_proba, X[:2], summary.data, summary.weights,
                                    method="kernel", n_samples=200, tol=None, evaluator=ev,
                                    kernel_design="neyman", random_state=seed)
            for seed in agnostic.REFERENCE_SEEDS[:3]]
    assert {run.evaluation for run in runs} == {"linear-model"}
    np.testing.assert_allclose(ref, np.mean([run.values[:, :, 1] for run in runs], axis=0),
                               rtol=0, atol=1e-12)
    assert label.startswith("3 runs x 200 coalitions/background row (linear-model)")
    assert "one run vs the others" in label
    with pytest.raises(ValueError, match="reference runs"):
        agnostic.black_box_reference(ep, f, X[:2], summary, 200, runs=1)
