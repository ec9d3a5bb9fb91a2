"""The one numba decorator of the compiled TreeSHAP engine: compiled once, cached on disk.

``jit`` is ``numba.njit(cache=True, nogil=True)``. numba stores the machine code next to the
module (``__pycache__``), else in ``NUMBA_CACHE_DIR``, else in the user's cache directory; when
none of them is writable (a read-only installation without a writable home), numba refuses
``cache=True`` with a RuntimeError when the module is imported. The engine then compiles
without a disk cache (every new process compiles on first use) and says so once in the log,
instead of failing to import.

Each kernel is compiled lazily at its first call, for the argument types the engine passes
(always the same ones), so a process compiles only what it uses: path-dependent values do
not compile the interventional or interaction kernels.
"""

from __future__ import annotations

import logging

from numba import njit

logger = logging.getLogger("explainable_pipeline")
_warned = []


def jit(fn=None, **options):
    """``njit(cache=True, nogil=True, **options)``, without the disk cache if none is writable."""
    if fn is None:
        return lambda f: jit(f, **options)
    try:
        return njit(cache=True, nogil=True, **options)(fn)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        if not _warned:
            _warned.append(True)
            logger.warning(
                "numba cannot write its cache (%s); the compiled TreeSHAP kernels are compiled "
                "in every new process. Set NUMBA_CACHE_DIR to a writable directory to keep them.",
                exc,
            )
        return njit(cache=False, nogil=True, **options)(fn)
