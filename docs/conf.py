"""Sphinx configuration of the explainable-pipeline documentation site.

Build it with ``make -C docs html`` (warnings are errors, nothing is downloaded); the site is
written to ``docs/_build/html/index.html``.

The source directory is the repository root, so the site is made of the Markdown files where
they live (``README.md``, ``docs/*.md``, ``benchmarks/README.md``) and their relative links and
images work both on the site and when the files are read as they are. Generated at build time
(and ignored by git): ``docs/api/`` (the API reference, one autosummary table per public module,
listing its ``__all__``) and ``docs/auto_examples/`` (the gallery, run from ``examples/``).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import explainable_pipeline

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # docs/_api.py (the API page writer)

from _api import write_api_pages  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

# -- project ------------------------------------------------------------------------------
project = "explainable-pipeline"
author = "the explainable-pipeline developers"
copyright = "the explainable-pipeline developers, BSD-3-Clause"  # noqa: A001
release = version = explainable_pipeline.__version__

# -- sources ------------------------------------------------------------------------------
root_doc = "docs/site/index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
include_patterns = ["README.md", "benchmarks/README.md", "docs/**"]
exclude_patterns = [
    ".*", "**/.*", "**/__pycache__", "build", "dist", "*.egg-info", "tests", "examples",
    "explainable_pipeline", "benchmarks/out", "demo_output", "mlruns",
    "docs/_build", "docs/_templates", "docs/auto_examples/*.ipynb", "docs/auto_examples/*.py",
    "docs/auto_examples/*.zip", "docs/auto_examples/*.json",
]  # fmt: skip
templates_path = ["_templates"]  # relative to this folder

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
# Offline build: no intersphinx (it downloads inventories), nothing else fetched.

# -- API reference ------------------------------------------------------------------------
PUBLIC_MODULES = [
    "explainable_pipeline",
    "explainable_pipeline.compat",
    "explainable_pipeline.persistence",
    "explainable_pipeline.store",
    "explainable_pipeline.serving",
    "explainable_pipeline.dashboard",
    "explainable_pipeline.distributed",
    "explainable_pipeline.explainers",
]
write_api_pages(HERE / "api", [importlib.import_module(m) for m in PUBLIC_MODULES])

autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "groupwise"}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Markdown -----------------------------------------------------------------------------
myst_heading_anchors = 3  # links such as docs/dashboard.md#performance

# -- gallery ------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["examples"],  # relative to the source directory: the repository root
    "gallery_dirs": ["docs/auto_examples"],
    "filename_pattern": r"/plot_",  # every example is executed
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "write_computation_times": False,  # no sg_execution_times file at the repository root
    "reference_url": {"explainable_pipeline": None},  # link calls to our API pages, locally
    "doc_module": ("explainable_pipeline",),
    "backreferences_dir": "docs/api/generated/backreferences",
    "remove_config_comments": True,
    "show_memory": False,
    "show_signature": False,
}

# -- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"explainable-pipeline {release}"
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_additional_pages = {"index": "redirect.html"}  # _build/html/index.html -> the home page
html_show_sourcelink = False


# -- str-valued Enums ---------------------------------------------------------------------
def _skip_str_members(app, what, name, obj, skip, options):
    """compat's constants are ``str`` Enums: autodoc would list ``str.maketrans`` among their
    members (and fail to import it); document only what the classes define."""
    if not name.startswith("__") and getattr(str, name, None) is obj:
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_str_members)
