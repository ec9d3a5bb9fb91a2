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
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{what} needs {', '.join(m.split('.')[0] for m in modules)}: "
            f"pip install 'explainable-pipeline[{extra}]'."
        ) from exc
