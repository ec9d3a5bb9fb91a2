"""The README's first command, as a newcomer runs it: correct, and quiet on the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from explainable_pipeline.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_demo_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out  # reST markup belongs in the docstring, not on a terminal
    assert "CalibratedClassifierCV(SVC(gamma=0.001, C=100.), ensemble=False)" in out
    assert "\n1. the Azure ML" in out  # the numbered list keeps its lines


def _demo_command() -> list[str]:
    exe = shutil.which("explainable-pipeline") or str(
        Path(sys.executable).with_name("explainable-pipeline")
    )
    if Path(exe).exists():
        return [exe, "demo"]
    return [sys.executable, "-m", "explainable_pipeline.cli", "demo"]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_demo_is_correct_and_quiet(tmp_path):
    pytest.importorskip("lightgbm")
    pytest.importorskip("palmerpenguins")
    pytest.importorskip("matplotlib")
    # a newcomer's shell: no warning filters, no matplotlib backend chosen for them
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "MPLBACKEND")}
    proc = subprocess.run([*_demo_command(), "--out", str(tmp_path / "out")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=380)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # no scikit-learn FutureWarning (SVC(probability=True)), no LightGBM info lines
    assert "FutureWarning" not in proc.stderr, proc.stderr
    assert "[LightGBM]" not in proc.stderr + proc.stdout, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    out = proc.stdout
    assert "CalibratedClassifierCV(SVC(gamma=0.001, C=100), ensemble=False)" in out
    # the printed additivity check holds: attributions + expected value == predict_proba
    error = float(re.search(r"max additivity error ([0-9.eE+-]+)", out).group(1))
    assert error < 1e-8
    assert "raw totals equal engineered totals: True" in out
    accuracy = [float(a) for a in re.findall(r"accuracy (0\.\d+)", out)]
    assert len(accuracy) == 2 and min(accuracy) > 0.85
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "breast_cancer_svc_global.png",
        "penguins_lightgbm_global.png",
    ]


def _lightgbm_calls(text: str) -> list[str]:
    return re.findall(r"LGBM(?:Classifier|Regressor|Ranker)\(([^()]*(?:\([^()]*\)[^()]*)*)\)", text)


@pytest.mark.parametrize(
    "path",
    [ROOT / "README.md", ROOT / "explainable_pipeline" / "demo.py",
     *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("*.py"))],  # fmt: skip
    ids=lambda p: p.name,
)
def test_lightgbm_examples_are_quiet(path):
    """Every LightGBM model a newcomer copies passes verbose=-1 (else ~300 info lines)."""
    calls = _lightgbm_calls(path.read_text())
    for args in calls:
        assert "verbose=-1" in args, f"{path.name}: LGBM...({args}) without verbose=-1"


def test_demo_prints_a_rows_largest_effects_first():
    """The demo's local lines follow the explanation's rank_by="abs" order (either sign)."""
    import io

    from explainable_pipeline import LocalExplanation
    from explainable_pipeline.demo import _print_local

    values = np.array([[0.5, -3.0, 0.1, 2.0], [1.0, -1.0, 0.2, -1.5]])
    local = LocalExplanation(values, 0.0, ["a", "b", "c", "d"], method="linear", space="raw",
                             output="prediction")  # fmt: skip
    for row in range(2):
        out = io.StringIO()
        _print_local(local, row, None, top_k=3, out=out)
        printed = [line.split()[0] for line in out.getvalue().splitlines()]
        assert printed == local.get_ranked_local_names(top_k=3, rank_by="abs")[row]
