"""The one numba decorator of the compiled TreeSHAP engine: compiled once, cached on disk.

``jit`` is ``numba.njit(cache=True, nogil=True)``. numba stores the machine code next to the
module (``__pycache__``), else in ``NUMBA_CACHE_DIR``, else in the user's cache directory; when
none of them is writable (a read-only installation without a writable home), numba refuses
``cache=True`` with a RuntimeError when the module is imported. The engine then compiles
without a disk cache (every new process compiles on first use) and says so once in the log,
instead of failing to import.

numba checks a cached kernel only against the file of its own source, while the kernels of
one module call (and inline) those of the others: after an edit of ``_treeshap_entries.py``
alone, the cached kernel of ``_treeshap_kernel.py`` would still hold the old entries and
answer wrong values. Every cache of the engine is therefore stamped with a hash of all the
engine's sources (``ENGINE_SOURCES``): any change to any of them recompiles all of them.

Each kernel is compiled lazily at its first call, for the argument types the engine passes
(always the same ones), so a process compiles only what it uses: path-dependent values do
not compile the interventional or interaction kernels.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from numba import njit

logger = logging.getLogger("explainable_pipeline")
_warned = []
_HERE = Path(__file__).resolve().parent
#: The modules whose compiled code calls into each other (one stamp for all their caches).
ENGINE_SOURCES = ("_jit.py", "_tree_model.py", "_treeshap.py", "_treeshap_entries.py",
                  "_treeshap_kernel.py", "_treeshap_masks.py", "_treeshap_pairs.py")  # fmt: skip
_stamp: list = []


def sources_hash(directory: Path) -> str:
    """sha256 of the engine's sources in ``directory``."""
    digest = hashlib.sha256()
    for name in ENGINE_SOURCES:
        path = Path(directory) / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def engine_stamp() -> str:
    """:func:`sources_hash` of this installation (computed once per process)."""
    if not _stamp:
        _stamp.append(sources_hash(_HERE))
    return _stamp[0]


def _stamp_cache(disp):
    """Tie the dispatcher's disk cache to the whole engine's sources (numba's own stamp is
    the mtime and size of the one file; private attributes, so absent ones are left be)."""
    cache_file = getattr(getattr(disp, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, engine_stamp())
    return disp


def jit(fn=None, **options):
    """``njit(cache=True, nogil=True, **options)``, without the disk cache if none is writable."""
    if fn is None:
        return lambda f: jit(f, **options)
    try:
        return _stamp_cache(njit(cache=True, nogil=True, **options)(fn))
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        if not _warned:
            _warned.append(True)
            logger.warning(
                "numba cannot write its cache (%s); the compiled TreeSHAP kernels are compiled "
                "in every new process. Set NUMBA_CACHE_DIR to a writable directory to keep them.",
                exc,
            )
        return njit(cache=False, nogil=True, **options)(fn)
