"""Packaging and documentation rules: declared floors, install commands, public imports."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest
import tomllib

import explainable_pipeline

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _oldest_versions():
    spec = importlib.util.spec_from_file_location("oldest_versions", ROOT / ".ci" / "oldest_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_dependency_declares_a_floor():
    oldest = _oldest_versions()
    requirements = list(PROJECT["dependencies"])
    for reqs in PROJECT["optional-dependencies"].values():
        requirements += [r for r in reqs if not r.startswith("explainable-pipeline")]
    missing = [r for r in requirements if oldest.parse(r)[1] is None and oldest.parse(r)[0] != "six"]
    assert missing == [], f"declare the oldest supported version (>=) of {missing}"


def test_oldest_versions_pin_every_core_dependency():
    pins = _oldest_versions().pins(PROJECT)
    core = {_oldest_versions().parse(r)[0] for r in PROJECT["dependencies"]}
    assert core <= set(pins)
    assert pins["numpy"] == "1.26" and pins["scikit-learn"] == "1.6"  # docs/install.md's table
    assert {"lightgbm", "skops", "matplotlib"} <= set(pins)


def test_floors_in_install_page_match_pyproject():
    """docs/install.md's table of oldest versions says what pyproject.toml declares."""
    table = dict(re.findall(r"^\| ([a-z-]+)(?: \(extra\))? \| ([0-9.]+) \|",
                            (ROOT / "docs" / "install.md").read_text(), flags=re.M))  # fmt: skip
    pins = _oldest_versions().pins(PROJECT)
    assert table, "docs/install.md lost its table of oldest versions"
    for name, floor in table.items():
        assert pins.get(name) == floor, f"docs/install.md says {name} {floor}, pyproject {pins.get(name)}"


def test_spark_extra_keeps_pandas_below_3():
    """PySpark warns that it does not yet fully support pandas >= 3."""
    spark = PROJECT["optional-dependencies"]["spark"]
    pandas = [r for r in spark if r.startswith("pandas")]
    assert pandas and "<3" in pandas[0].replace(" ", "")


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_install_commands_work_without_a_package_index(path):
    """The package is not published: every install of it is from a checkout or a wheel."""
    text = path.read_text(encoding="utf-8")
    published = re.findall(r"pip install\s+['\"]?explainable-pipeline\b", text)
    assert published == [], f"{path.name}: use pip install -e \".[extra]\" (docs/install.md)"


@pytest.mark.parametrize(
    "path",
    [*DOC_FILES, *sorted((ROOT / "examples").glob("*.py"))],
    ids=lambda p: p.name,
)
def test_docs_and_examples_import_only_public_names(path):
    text = path.read_text(encoding="utf-8")
    private = re.findall(r"(?:from|import)\s+explainable_pipeline(?:\.\w+)*\._\w+", text)
    assert private == [], f"{path.name} imports private modules: {private}"


def _conf_public_modules() -> list[str]:
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "PUBLIC_MODULES" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no PUBLIC_MODULES")


def test_api_reference_covers_every_public_module():
    """A new public module gets a section of the API reference (docs/conf.py)."""
    public = {
        f"explainable_pipeline.{m.name}"
        for m in pkgutil.iter_modules(explainable_pipeline.__path__)
        if not m.name.startswith("_") and m.name not in ("cli", "demo")  # commands, not API
    }
    assert public <= set(_conf_public_modules())


def test_load_sklearn_pandas_is_public():
    """docs/dataframe_mapper.md imports it from the package, not from a private module."""
    assert "load_sklearn_pandas" in explainable_pipeline.__all__
    assert "from explainable_pipeline import load_sklearn_pandas" in (
        ROOT / "docs" / "dataframe_mapper.md"
    ).read_text()
