"""Write the API reference page from the public modules' ``__all__`` (run by conf.py).

One section per module: its docstring and an autosummary table of every public
name, so a name added to ``__all__`` is documented without editing the docs. Written only when
the text changes (Sphinx then rebuilds nothing it does not need to).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

INTRO = """\
API reference
=============

Every public name of the package, generated from the docstrings. A module's public names are
those in its ``__all__``; everything else (the ``_``-prefixed modules) is private. Optional
modules need their extra: ``compat`` and ``persistence`` none, ``store`` ``[mlflow]`` for MLflow,
``serving`` ``[serve]``, ``dashboard`` ``[dashboard]``, ``distributed`` ``[distributed]`` or
``[spark]``.
"""


def api_text(modules: list[ModuleType]) -> str:
    """The reStructuredText of the API page for ``modules``."""
    parts = [INTRO]
    for module in modules:
        names = [n for n in getattr(module, "__all__", []) if not n.startswith("__")]
        title = f"``{module.__name__}``"
        parts += [title, "-" * len(title), "",
                  f".. automodule:: {module.__name__}", "   :no-members:",
                  "   :no-index:", "", f".. currentmodule:: {module.__name__}", "",
                  ".. autosummary::", "   :toctree: generated", ""]  # fmt: skip
        parts += [f"   {name}" for name in sorted(names, key=lambda n: (n[0].islower(), n))]
        parts.append("")
    return "\n".join(parts)


def write_api_pages(folder: Path, modules: list[ModuleType]) -> Path:
    """Write ``folder/index.rst`` (when its text changed) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.rst"
    text = api_text(modules)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
