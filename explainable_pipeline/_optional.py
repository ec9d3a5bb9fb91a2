"""Lazy imports of optional dependencies, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_optional(*modules: str, extra: str, what: str) -> list[ModuleType]:
    """Import ``modules`` or raise an ImportError naming the pip extra that provides them.

    Parameters
    ----------
    *modules : str
        Dotted module names, e.g. ``"skops.io"``.
    extra : str
        The ``explainable-pipeline`` extra that installs them, e.g. ``"serve"``.
    what : str
        What needs them, for the message, e.g. ``"The 'skops' format"``.

    Returns
    -------
    list of module
        The imported modules, in the order given.
    """
    try:
        return [importlib.import_module(name) for name in modules]
    except ImportError as exc:
        packages = list(dict.fromkeys(m.split(".")[0] for m in modules))
        raise ImportError(
            f"{what} needs {', '.join(packages)}. {install_hint(extra, *packages)}"
        ) from exc


def install_hint(extra: str, *packages: str) -> str:
    """How to install an extra, for error messages.

    The package is not on a package index: the hint installs the extra from a checkout or a
    built wheel (docs/install.md), or the named packages alone.
    """
    alone = f"; or pip install {' '.join(packages)}" if packages else ""
    return (
        f"Install the '{extra}' extra: pip install -e \".[{extra}]\" in a checkout of "
        f"explainable-pipeline, or pip install \"<wheel>.whl[{extra}]\" (docs/install.md)"
        f"{alone}."
    )
