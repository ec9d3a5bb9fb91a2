"""The rules every file the library writes or reads follows, implemented once.

Writing
    * :func:`atomic_path` / :func:`atomic_write` / :func:`atomic_write_bytes`: the content goes to
      a temporary file in the destination's folder, named ``.<name>.<random>.tmp`` in this call;
      it is flushed and fsynced, moved over the destination with ``os.replace`` (atomic on POSIX
      and Windows) and the folder is fsynced. A crash leaves the previous file or none, never a
      partial one. On an error the temporary file (and only it) is removed.
    * After a crash (``SIGKILL``, power loss) the temporary file stays behind; the next write to
      the same destination removes it (:func:`sweep_dead`). A writer holds an ``fcntl.flock``
      on its temporary file until it is moved or removed, and such locks die with their
      process, so only the files of dead writers are removed: a file whose lock is free and
      that is older than :data:`STALE_AFTER_SECONDS` (an hour). Only the names
      ``.<name>.<16 hex>.tmp`` of that destination are looked at. Without ``fcntl`` (Windows)
      nothing is swept.
    * :func:`directory_lock`: an exclusive lock on a folder (``fcntl.flock`` on a lock file that
      the holder removes), for writers that update several files of one folder.

Reading
    * :func:`child`: a name read from a file (an id, an array file) must be a plain file or
      folder name: a non-empty str, no separator, not ``.``/``..``, and its resolved path stays
      inside the folder (a symlink pointing out is refused too).
    * :func:`read_json`: a size limit before reading, then a nesting-depth limit before
      parsing; every failure is the caller's error type, naming the file.
    * :func:`check_npy_members`: the ``.npy`` members of a zip (an ``.npz``, a skops file)
      declare shapes that match their stored bytes and stay under a size limit, checked before
      numpy allocates anything; no object arrays.
    * :func:`check_dense_size`: a declared shape is checked before a dense array is allocated.
    * :func:`reading`: any other failure while decoding a file becomes the caller's documented
      error type, naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: Largest JSON document read (bytes); larger files are refused before reading.
MAX_JSON_BYTES = 1 << 30
#: Deepest nesting of arrays/objects accepted in a JSON document.
MAX_JSON_DEPTH = 100
#: Largest array (bytes, uncompressed) a loader allocates from a declared shape.
MAX_ARRAY_BYTES = 8 << 30

#: Age (seconds) under which a leftover temporary file or folder is never swept: its writer
#: may have created it and not locked it yet, or be a version of the library that did not lock
#: (a rolling upgrade on a shared folder).
STALE_AFTER_SECONDS = 3600.0

_TMP_SUFFIX = ".tmp"
_LOCK_NAME = ".explainable_pipeline.lock"
_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


# --------------------------------------------------------------------------- writing
def temp_name(target: Path) -> Path:
    """A fresh hidden name beside ``target`` (``.<name>.<random>.tmp``), unique to this call."""
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}{_TMP_SUFFIX}")


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def create_locked(path: Path) -> int | None:
    """Create the file ``path`` (which must not exist) and hold an exclusive lock on it.

    Parameters
    ----------
    path : Path
        The file to create, with ``O_CREAT | O_EXCL``.

    Returns
    -------
    int or None
        The open descriptor holding the ``flock``; closing it releases the lock (so does the
        death of the process). ``None`` without ``fcntl`` (Windows): nothing is created.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return fd


def sweep_dead(folder: Path, pattern: re.Pattern[str], lock_name: str | None = None) -> None:
    """Remove the leftovers of dead writers in ``folder``; never fails.

    An entry whose whole name matches ``pattern`` is removed when it is older than
    :data:`STALE_AFTER_SECONDS` and its lock can be taken at once (``LOCK_EX | LOCK_NB``), that
    is no living process holds it (see :func:`create_locked`). Any error (an entry vanished,
    permission denied, another sweeper) skips the entry. Without ``fcntl`` nothing is done.

    Parameters
    ----------
    folder : Path
        The folder to look in (not recursively).
    pattern : re.Pattern
        The names of the candidates.
    lock_name : str, optional
        ``None``: the candidates are files, each locked by its writer. Else the candidates are
        folders locked through their file ``lock_name``; a folder without it counts as dead
        (its writer died before locking).
    """
    if fcntl is None:  # pragma: no cover - Windows
        return
    try:
        names = [n for n in os.listdir(folder) if pattern.fullmatch(n)]
    except OSError:
        return
    before = time.time() - STALE_AFTER_SECONDS
    for name in names:
        with contextlib.suppress(OSError):
            _remove_if_dead(Path(folder) / name, lock_name, before)


def _remove_if_dead(path: Path, lock_name: str | None, before: float) -> None:
    info = os.lstat(path)
    kind = stat.S_ISREG if lock_name is None else stat.S_ISDIR
    if info.st_mtime > before or not kind(info.st_mode):
        return
    try:  # O_NONBLOCK: a FIFO put there cannot hang the open; O_RDWR: NFS emulates flock
        # with fcntl locks, whose exclusive form needs a descriptor open for writing
        fd = os.open(path if lock_name is None else path / lock_name, os.O_RDWR | os.O_NONBLOCK)
    except FileNotFoundError:
        if lock_name is None:
            return
        fd = None  # a folder whose writer died before locking it
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a live writer
        if lock_name is None:
            os.unlink(path)
        else:
            shutil.rmtree(path, ignore_errors=True)
    finally:
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, allow_empty: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    For writers that need a path (pyarrow, matplotlib, joblib with a file name): the file
    exists (empty) and they overwrite it. On an error inside the block, or when the file is
    still empty after it (the writer wrote elsewhere, e.g. to another filesystem; unless
    ``allow_empty``), the temporary file is removed and ``target`` is left as it was. The
    temporary files of dead writers to ``target`` are removed first (:func:`sweep_dead`); this
    one stays locked until it is moved or removed.
    """
    target = Path(target)
    tmp = temp_name(target)
    name = re.escape(target.name)
    sweep_dead(target.parent, re.compile(rf"\.{name}\.[0-9a-f]{{16}}{re.escape(_TMP_SUFFIX)}"))
    lock = create_locked(tmp)
    try:
        yield tmp
        if not allow_empty and lock is not None and tmp.stat().st_size == 0:
            raise OSError(f"Nothing was written to {tmp} (the temporary file of {target}); "
                          f"{target} is left as it was.")
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        if lock is not None:
            os.close(lock)
    fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``target`` for writing; replace ``target`` on success."""
    if "w" not in mode:
        raise ValueError(f"atomic_write needs a write mode; got {mode!r}.")
    with atomic_path(target, allow_empty=True) as tmp:  # empty content is content here
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_path`)."""
    with atomic_write(target, "wb") as f:
        f.write(data)


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(target, text.encode(encoding))


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (which must exist) for the block.

    The lock file is created, locked with ``flock`` and removed by its holder; a waiter that
    wakes up on a removed file retries, so the folder is left without a lock file. The lock
    dies with its process (no stale locks after a crash). On systems without ``fcntl`` the
    block runs unlocked.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    path = directory / _LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)  # the holder removed it while we waited: lock the new one
    try:
        yield
    finally:
        try:
            os.unlink(path)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- reading
@contextlib.contextmanager
def reading(where: Any, error: type[Exception], passthrough: tuple = ()) -> Iterator[None]:
    """Turn any failure while decoding ``where`` into ``error`` naming it and the problem.

    ``error`` itself and the types in ``passthrough`` propagate unchanged.
    """
    try:
        yield
    except (error, *passthrough):
        raise
    except RecursionError as exc:
        raise error(f"Cannot read {where}: it is nested too deeply.") from exc
    except MemoryError as exc:
        raise error(f"Cannot read {where}: it declares more data than fits in memory.") from exc
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the file's problem
        detail = str(exc).splitlines()[0][:300] if str(exc) else ""
        raise error(
            f"Cannot read {where}: corrupt, truncated or not written by explainable-pipeline "
            f"({type(exc).__name__}: {detail})."
        ) from exc


def safe_name(name: Any, what: str, where: Any, error: type[Exception]) -> str:
    """``name`` if it is a plain file or folder name, else ``error`` naming ``where``."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or len(name) > 255
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or (os.sep in name)
        or (os.altsep is not None and os.altsep in name)
        or os.path.isabs(name)
        or os.path.splitdrive(name)[0]
    ):
        raise error(
            f"{where} holds an unsafe {what} {name!r}: expected a plain name (no path "
            "separator, no '..'). The file may have been tampered with."
        )
    return name


def child(folder: Path, name: Any, what: str, where: Any, error: type[Exception]) -> Path:
    """``folder / name`` after :func:`safe_name`, refused if it resolves outside ``folder``."""
    path = Path(folder) / safe_name(name, what, where, error)
    base = Path(folder).resolve()
    resolved = path.resolve()
    if resolved.parent != base and base not in resolved.parents:
        raise error(f"{where} names {what} {name!r}, which resolves outside {folder}.")
    return path


def json_depth(data: bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text (strings do not count)."""
    stripped = _STRING_RE.sub(b'""', data)
    arr = np.frombuffer(stripped, dtype=np.uint8)
    opens = (arr == ord("[")) | (arr == ord("{"))
    closes = (arr == ord("]")) | (arr == ord("}"))
    idx = np.flatnonzero(opens | closes)
    if idx.size == 0:
        return 0
    steps = np.where(opens[idx], 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max())


def loads_json(data: bytes | str, where: Any, error: type[Exception],
               max_depth: int = MAX_JSON_DEPTH) -> Any:  # fmt: skip
    """Parse JSON after checking its nesting depth; failures are ``error`` naming ``where``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    depth = json_depth(raw)
    if depth > max_depth:
        raise error(f"Cannot read {where}: JSON nested {depth} levels deep (limit {max_depth}).")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise error(f"Cannot read {where}: corrupt or truncated ({exc}).") from exc


def read_json(path: Path, error: type[Exception], max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read a JSON file with the size and depth limits; failures are ``error`` naming it."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise error(f"Cannot read {path}: {size} bytes, over the limit of {max_bytes}.")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"Cannot read {path}: corrupt or truncated ({exc}).") from exc
    return loads_json(data, path, error)


def check_dense_size(shape: Any, itemsize: int, where: Any, error: type[Exception],
                     limit: int = MAX_ARRAY_BYTES) -> tuple[int, ...]:  # fmt: skip
    """``shape`` as a tuple of ints if an array of it fits in ``limit`` bytes, else ``error``."""
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
    ):
        raise error(f"{where} declares an invalid shape {shape!r}.")
    nbytes = math.prod(shape) * itemsize
    if nbytes > limit:
        raise error(
            f"{where} declares an array of shape {tuple(shape)} ({nbytes} bytes), over the "
            f"limit of {limit} bytes; the file is corrupt or hostile."
        )
    return tuple(shape)


def check_npy_members(zf: zipfile.ZipFile, where: Any, error: type[Exception],
                      limit: int = MAX_ARRAY_BYTES) -> None:  # fmt: skip
    """Check every ``.npy`` member's header against its stored size before numpy reads it."""
    fmt = np.lib.format
    total = 0
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with zf.open(info) as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, _, dtype = fmt.read_array_header_2_0(f)
            else:
                raise error(f"{where}: member {info.filename!r} has npy version {version}.")
            header = f.tell()
        if dtype.hasobject:
            raise error(f"{where}: member {info.filename!r} holds Python objects; refused.")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != info.file_size - header:
            raise error(
                f"{where}: member {info.filename!r} declares shape {shape} of {dtype} "
                f"({nbytes} bytes) but stores {info.file_size - header} bytes."
            )
        total += nbytes
        if total > limit:
            raise error(f"{where} holds arrays over the limit of {limit} bytes.")
