"""The explainable-pipeline command line: help, explain outputs, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import penguin_preprocessor
from sklearn.linear_model import LogisticRegression

from explainable_pipeline import ExplainablePipeline, GlobalExplanation, LocalExplanation, save
from explainable_pipeline.cli import main

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def saved(penguins, tmp_path_factory):
    X, y = penguins
    ep = ExplainablePipeline(penguin_preprocessor(), LogisticRegression(max_iter=300)).fit(X, y)
    folder = tmp_path_factory.mktemp("cli")
    model = save(ep, folder / "model.joblib")
    data = folder / "rows.csv"
    X.iloc[:30].assign(species=y.iloc[:30].to_numpy()).to_csv(data, index=False)
    return ep, X.iloc[:30], y.iloc[:30], model, data


@pytest.mark.parametrize("argv", [[], ["serve"], ["explain"]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: explainable-pipeline")
    if argv == ["serve"]:
        assert "--host" in out and "127.0.0.1" in out and "--trust" in out


def test_demo_help_is_the_demos_own(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    assert "explainable-pipeline demo" in capsys.readouterr().out


def test_console_script_is_installed():
    exe = shutil.which("explainable-pipeline") or str(
        Path(sys.executable).with_name("explainable-pipeline")
    )
    if not Path(exe).exists():
        pytest.skip("console script not installed in this environment")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "serve" in result.stdout and "explain" in result.stdout


def test_explain_writes_global_and_local_explanations(saved, tmp_path, capsys):
    ep, X, y, model, data = saved
    out = tmp_path / "out"
    assert main(["explain", str(model), str(data), "--target", "species", "--out", str(out)]) == 0
    assert "Explained 30 rows" in capsys.readouterr().out
    glob = GlobalExplanation.from_dict(json.loads((out / "global.json").read_text()))
    local = LocalExplanation.from_dict(json.loads((out / "local.json").read_text()))
    expected = ep.explain_local(X)
    np.testing.assert_allclose(local.values, expected.values, rtol=1e-9)
    assert (
        glob.get_ranked_global_names()
        == GlobalExplanation.from_local(expected).get_ranked_global_names()
    )
    table = pd.read_csv(out / "global_importance.csv")
    assert list(table["feature"]) == glob.get_ranked_global_names()
    long = pd.read_csv(out / "local_importance.csv")
    assert len(long) == 3 * 30 * 7 and set(long.columns) == {"row", "class", "feature", "value"}
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions["prediction"]) == list(ep.predict(X))
    assert list(predictions["target"]) == list(y)
    assert (out / "global_importance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["explain", "{missing}", "{data}"], "does not exist"),
        (["explain", "{model}", "{missing}"], "does not exist"),
        (["explain", "{model}", "{data}", "--target", "nope"], "--target column 'nope'"),
        (["explain", "{model}", "{bad}"], "Missing raw column(s) ['island']"),
        (["explain", "{model}", "{data}"], "column(s) ['species'] the model was not fitted on"),
        (["serve", "{missing}"], "does not exist"),
        (["explain", "{data}", "{data}"], "error:"),
    ],
)
def test_errors_exit_1_with_one_line(saved, tmp_path, capsys, argv, needle):
    _, X, _, model, data = saved
    bad = tmp_path / "bad.csv"
    X.drop(columns=["island"]).to_csv(bad, index=False)  # (and no target column)
    paths = {"model": model, "data": data, "missing": tmp_path / "nope.joblib", "bad": bad}
    code = main(
        [a.format(**paths) for a in argv] + ["--out", str(tmp_path / "o")] * (argv[0] == "explain")
    )
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("explainable-pipeline: error:")
    assert needle in lines[0]


def test_untrusted_skops_file_names_the_trust_flags(saved, tmp_path, capsys):
    ep, _, _, _, data = saved
    model = save(ep, tmp_path / "m.skops", format="skops")
    assert main(["explain", str(model), str(data), "--out", str(tmp_path / "o")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--trust numpy.dtype" in line
    code = main(["explain", str(model), str(data), "--trust", "numpy.dtype", "--no-plot",
                 "--target", "species", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 0 and (tmp_path / "o" / "global.json").exists()


@pytest.mark.parametrize("argv", [["serve", "m", "--port", "0"], ["frobnicate"], ["explain", "m"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_explain_ignores_extra_columns_only_when_asked_and_says_so(saved, tmp_path, capsys):
    ep, X, _, model, data = saved
    out = tmp_path / "o"
    argv = ["explain", str(model), str(data), "--no-plot", "--out", str(out)]
    assert main(argv) == 1  # 'species' is not a model column: refused, nothing written
    assert "--ignore-extra" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--ignore-extra"]) == 0
    assert "Ignored column(s) the model was not fitted on (--ignore-extra): ['species']" in (
        capsys.readouterr().out
    )
    local = LocalExplanation.from_dict(json.loads((out / "local.json").read_text()))
    np.testing.assert_allclose(local.values, ep.explain_local(X).values, rtol=1e-9)


def test_explain_default_folder_is_not_the_stores(saved, tmp_path, monkeypatch, capsys):
    from explainable_pipeline.store import ExplanationClient

    ep, X, _, model, data = saved
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXPLAINABLE_PIPELINE_STORE", raising=False)
    assert main(["explain", str(model), str(data), "--target", "species", "--no-plot"]) == 0
    client = ExplanationClient()  # the default local store, in the same working directory
    client.upload_model_explanation(ep.explain_global(X), comment="api")
    written = {p.name for p in (tmp_path / "explain_output").iterdir()}
    assert "global.json" in written and not (tmp_path / "explain_output" / "index.json").exists()
    assert [e["comment"] for e in client.list_model_explanations()] == ["api"]
    store = {p.name for p in (tmp_path / "explanations").iterdir()}
    assert "global.json" not in store and "predictions.csv" not in store
