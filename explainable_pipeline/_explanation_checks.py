"""Validation of the fields of explanation objects (labels, shapes, JSON-able meta)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._codec import _scalar


def _labels(seq: Any, what: str, allowed: tuple) -> list:
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
        raise TypeError(f"{what} must be a list; got {type(seq).__name__}.")
    out = [_scalar(x, f"each entry of {what}", allowed) for x in seq]
    if len(set(out)) != len(out):
        dups = sorted({str(x) for x in out if out.count(x) > 1})
        raise ValueError(f"{what} must be unique; got duplicates {dups}.")
    return out


def _check_shape(arr: np.ndarray, shape: tuple, what: str) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{what} must have shape {tuple(shape)}; got {arr.shape}.")


def _str_param(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty str; got {value!r}.")
    return value


def _plain(obj: Any, where: str) -> Any:
    """Return obj as plain JSON types (dict with str keys, list, str, int, float, bool, None)."""
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, dict):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"{where} keys must be str to stay JSON-able; got {bad!r}.")
        return {k: _plain(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"{where} must hold JSON-able values; got {type(obj).__name__}.")


def _n_rows_of(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) == 0:
        raise TypeError(f"data must be a DataFrame or an array; got {type(data).__name__}.")
    return int(shape[0])
