"""JSON encoding of arrays and tabular data held by explanations.

Floats keep NaN and infinities as strings so that ``json.dumps(..., allow_nan=False)``
works; DataFrames keep their dtypes (numeric, str, categorical, nullable, datetime),
column order and index, so ``from_dict(to_dict(x))`` is exact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def _scalar(x: Any, what: str, allowed: tuple = (str, int, float, bool)) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    if not isinstance(x, allowed):
        names = "/".join(t.__name__ for t in allowed)
        raise TypeError(f"{what} must be {names}; got {x!r} of type {type(x).__name__}.")
    return x


def _float_array(x: Any, what: str, *, finite: bool = False) -> np.ndarray:
    try:
        arr = np.array(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a numeric array; got {type(x).__name__}: {exc}") from exc
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{what} must be finite; got {int((~np.isfinite(arr)).sum())} NaN/inf.")
    arr.setflags(write=False)
    return arr


def _enc_floats(arr: Any) -> Any:
    """Nested lists of floats; NaN -> None, +-inf -> "inf"/"-inf" (strict JSON)."""
    if arr is None:
        return None
    arr = np.asarray(arr, dtype=float)
    if np.isfinite(arr).all():
        return arr.tolist()
    obj = arr.astype(object)
    obj[np.isnan(arr)] = None
    obj[np.isposinf(arr)] = "inf"
    obj[np.isneginf(arr)] = "-inf"
    return obj.tolist()


def _dec_floats(lst: Any, what: str = "array") -> np.ndarray | None:
    return None if lst is None else _float_array(lst, what)


def _enc_cell(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    if x is None or isinstance(x, (str, bool, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"float": repr(x)}
    raise TypeError(
        f"to_dict cannot serialise an object cell of type {type(x).__name__} ({x!r}); "
        "convert the column to str, numeric or category first."
    )


def _dec_cell(x: Any) -> Any:
    return float(x["float"]) if isinstance(x, dict) else x


def _enc_numpy(arr: np.ndarray, what: str) -> Any:
    kind = arr.dtype.kind
    if kind == "f":
        return _enc_floats(arr)
    if kind in "iubU":
        return arr.tolist()
    if kind == "O":
        return [_enc_cell(x) for x in arr.tolist()]
    raise TypeError(f"to_dict cannot serialise {what} of dtype {arr.dtype}.")


def _dec_numpy(values: list, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "O":
        out = np.empty(len(values), dtype=object)
        out[:] = [_dec_cell(x) for x in values]
        return out
    if dt.kind == "f":
        return np.asarray(values, dtype=float).astype(dt)
    return np.asarray(values, dtype=dt)


def _enc_series(s: pd.Series, what: str) -> dict:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = _enc_series(pd.Series(dtype.categories), f"categories of {what}")
        codes = s.cat.codes.to_numpy().tolist()
        return {
            "kind": "category",
            "ordered": bool(dtype.ordered),
            "categories": cats,
            "codes": codes,
        }
    if isinstance(dtype, np.dtype) and dtype.kind not in "mM":
        return {"kind": "numpy", "dtype": str(dtype), "values": _enc_numpy(s.to_numpy(), what)}
    # pandas extension dtypes (str, string, Int64, boolean, datetime64 with tz, ...)
    stamps = (pd.Timestamp, pd.Timedelta)
    cells = [None if pd.isna(x) else x.isoformat() if isinstance(x, stamps) else x for x in s]
    return {"kind": "pandas", "dtype": str(dtype), "values": [_enc_cell(x) for x in cells]}


def _dec_series(enc: dict) -> pd.Series:
    kind = enc["kind"]
    if kind == "category":
        cats = pd.Index(_dec_series(enc["categories"]))
        cat = pd.Categorical.from_codes(enc["codes"], categories=cats, ordered=enc["ordered"])
        return pd.Series(cat)
    if kind == "numpy":  # explicit dtype: pandas 3 would infer str for an object array
        return pd.Series(_dec_numpy(enc["values"], enc["dtype"]), dtype=np.dtype(enc["dtype"]))
    if kind == "pandas":
        return pd.Series(pd.array(enc["values"], dtype=enc["dtype"]))
    raise ValueError(f"Unknown column kind {kind!r} in explanation dict.")


def _enc_data(data: Any) -> dict | None:
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        if isinstance(data.columns, pd.MultiIndex) or isinstance(data.index, pd.MultiIndex):
            raise TypeError("to_dict cannot serialise a MultiIndex; reset or flatten it first.")
        index = data.index
        if isinstance(index, pd.RangeIndex):
            enc_index = {"kind": "range", "range": [index.start, index.stop, index.step]}
        else:
            enc_index = _enc_series(pd.Series(index), "index")
        enc_index["name"] = _scalar(index.name, "data.index.name", (str, int, type(None)))
        cols = [_scalar(c, "data column name", (str, int)) for c in data.columns]
        dtypes = [_enc_series(data.iloc[:, j], f"column {c!r}") for j, c in enumerate(cols)]
        return {"type": "dataframe", "columns": cols, "dtypes": dtypes, "index": enc_index}
    if hasattr(data, "tocsr"):  # CSR parts, as interpret-community stores sparse data
        csr = data.tocsr()
        return {"type": "csr", "dtype": str(csr.dtype), "shape": list(csr.shape),
                "data": _enc_numpy(csr.data, "data"), "indices": csr.indices.tolist(),
                "indptr": csr.indptr.tolist()}  # fmt: skip
    enc = {"type": "ndarray", "dtype": str(data.dtype), "shape": list(data.shape)}
    return {**enc, "values": _enc_numpy(data.ravel(), "data")}


def _dec_data(enc: dict | None) -> Any:
    if enc is None:
        return None
    if enc["type"] == "csr":
        from scipy.sparse import csr_matrix

        parts = (_dec_numpy(enc["data"], enc["dtype"]), enc["indices"], enc["indptr"])
        matrix = csr_matrix(parts, shape=tuple(enc["shape"]))
        matrix.check_format(full_check=True)  # out-of-range indices of a tampered file
        return matrix
    if enc["type"] == "ndarray":
        return _dec_numpy(enc["values"], enc["dtype"]).reshape(enc["shape"])
    idx = enc["index"]
    if idx["kind"] == "range":
        index = pd.RangeIndex(*idx["range"], name=idx["name"])
    else:
        index = pd.Index(_dec_series(idx), name=idx["name"])
    if not enc["columns"]:
        return pd.DataFrame(index=index, columns=pd.Index(enc["columns"]))
    frame = pd.concat([_dec_series(c) for c in enc["dtypes"]], axis=1, ignore_index=True)
    frame.columns = pd.Index(enc["columns"])
    frame.index = index
    return frame
