"""Progress bars: a notebook widget when Jupyter can draw one, a text bar otherwise.

``tqdm.auto`` picks the widget bar in every Jupyter kernel and, when ipywidgets is missing,
warns "IProgress not found. Please update jupyter and ipywidgets" (when ``tqdm.auto`` is first
imported, e.g. by shap's explainers) before falling back to text bars. :func:`tqdm` makes the
same choice without the warning: the widget bar only when the kernel has a working ipywidgets,
the plain text bar (written to standard error) everywhere else. In a Jupyter kernel,
:func:`quiet_notebook_fallback` (run by ``import explainable_pipeline``) imports ``tqdm.auto``
once with that one warning filtered out, so libraries we call (shap) fall back silently too.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

__all__ = ["quiet_notebook_fallback", "tqdm"]


def _in_notebook_kernel() -> bool:
    """True inside a Jupyter (ipykernel) kernel that renders widgets, as tqdm.autonotebook asks."""
    if "ipykernel.zmqshell" not in sys.modules:  # plain python, ipython, jupyter-console
        return False
    if any(k == "QT_API" or k.startswith("SPYDER") for k in os.environ):
        return False  # qtconsole / spyder cannot draw widgets
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:  # noqa: BLE001 - any oddity means "not a notebook"
        return False
    if shell is None:
        return False
    name = type(shell).__name__.lower()
    return "qt" not in name and "spyder" not in name


def _notebook_bar_class() -> Any | None:
    """tqdm's widget bar class when ipywidgets is importable, else None (never warns)."""
    try:
        import tqdm.notebook as notebook
    except Exception:  # noqa: BLE001 - a broken IPython/ipywidgets install: use text bars
        return None
    return notebook.tqdm if getattr(notebook, "IProgress", None) is not None else None


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """A ``tqdm`` progress bar: the Jupyter widget when it can be drawn, else a text bar.

    Same arguments as :class:`tqdm.std.tqdm`. Never emits tqdm's "IProgress not found"
    warning: without ipywidgets a notebook gets the text bar silently.
    """
    bar_class = _notebook_bar_class() if _in_notebook_kernel() else None
    if bar_class is None:
        from tqdm.std import tqdm as bar_class
    return bar_class(*args, **kwargs)


def quiet_notebook_fallback() -> None:
    """In a Jupyter kernel, import ``tqdm.auto`` without its "IProgress not found" warning.

    Outside a kernel (or once ``tqdm.auto`` is imported) this does nothing, and never imports
    tqdm. In a kernel without ipywidgets, ``tqdm.auto`` then falls back to text bars silently
    for every later importer; with ipywidgets it is the widget bar, as before.
    """
    if "ipykernel.zmqshell" not in sys.modules or "tqdm.auto" in sys.modules:
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        try:
            import tqdm.auto  # noqa: F401
        except Exception:  # noqa: BLE001 - a broken install shows its error at first real use
            pass
