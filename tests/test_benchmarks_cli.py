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
