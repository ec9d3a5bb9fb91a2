"""Read the plain leading part of a pickle stream without unpickling it.

A joblib model file is a pickle of the envelope ``{"format", "format_version", "metadata",
"model"}`` (every version of the library wrote it in that key order). Pickle writes a dict's
keys and values in order, so the metadata (plain strings, numbers, lists and dicts) comes
before the first byte of the model. :func:`plain_prefix` walks the opcodes with
:mod:`pickletools` (which only parses) and builds plain values itself; it stops at the first
opcode that would import or call anything. Nothing is ever executed, so this is safe on any
file, hostile ones included.
"""

from __future__ import annotations

import io
import pickletools
from typing import Any

_PUSH_ARG = {
    "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG", "BINFLOAT", "FLOAT",
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
}  # fmt: skip
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_CONTAINERS = (list, dict, tuple)


class Unsupported(Exception):
    """The stream reached an opcode that is not plain data (e.g. the model's first class)."""


def _plain_ops(data: bytes) -> tuple[list, list]:
    """Run the plain opcodes of ``data``; return ``(metastack, stack)`` where it stopped."""
    stack: list = []
    meta: list = []
    memo: dict = {}
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                break
            if name in _PUSH_ARG:
                stack.append(arg)
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name])
            elif name == "MARK":
                meta.append(stack)
                stack = []
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name in ("TUPLE", "APPENDS", "SETITEMS"):
                items, stack = stack, meta.pop()
                if name == "TUPLE":
                    stack.append(tuple(items))
                elif name == "APPENDS":
                    _target(stack, list).extend(items)
                else:
                    target = _target(stack, dict)
                    for i in range(0, len(items) - 1, 2):
                        target[items[i]] = items[i + 1]
            elif name == "APPEND":
                value = stack.pop()
                _target(stack, list).append(value)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                _target(stack, dict)[key] = value
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                value = memo[arg]
                if isinstance(value, _CONTAINERS):  # no shared or cyclic containers
                    raise Unsupported(name)
                stack.append(value)
            else:
                raise Unsupported(name)
    except (Unsupported, ValueError, KeyError, IndexError, TypeError):
        pass  # not plain data (the model), a truncated prefix, or a malformed stream: stop here
    return meta, stack


def _target(stack: list, kind: type) -> Any:
    if not stack or not isinstance(stack[-1], kind):
        raise ValueError(f"pickle stream adds items to a non-{kind.__name__}")
    return stack[-1]


def envelope_items(data: bytes) -> dict:
    """The leading plain ``key: value`` pairs of a pickled top-level dict.

    Values that were still being built where decoding stopped are left out, so a returned
    value is always complete. Raises ValueError when ``data`` does not start with a dict.
    """
    meta, stack = _plain_ops(data)
    levels = [*meta, stack]
    if not levels or not levels[0] or not isinstance(levels[0][0], dict):
        raise ValueError("the pickle stream does not start with a dict")
    if len(levels) == 1:  # decoding finished: a complete dict
        return dict(levels[0][0])
    items = levels[1]
    # a value is complete when the next key was pushed after it
    return {
        items[i]: items[i + 1]
        for i in range(0, len(items) - 2, 2)
        if isinstance(items[i], str)
    }
