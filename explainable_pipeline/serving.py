"""HTTP scoring service: predictions and their raw local explanations over JSON.

``create_app(model_or_path)`` builds a FastAPI application around a fitted
:class:`~explainable_pipeline.ExplainablePipeline` (the "scoring explainer"):

* ``POST /score`` takes rows as records (``[{"col": value, ...}, ...]``) or split
  (``{"columns": [...], "data": [[...], ...]}``) JSON and returns what
  :meth:`~explainable_pipeline.ExplainablePipeline.predict_and_explain` returns;
  ``?top_k=N`` keeps the N highest attributions per row (and class).
* ``GET /health`` and ``GET /metadata`` (raw columns and dtypes, classes, explainer, versions,
  limits); the OpenAPI document is at ``/openapi.json``.

With ``api_key=`` (``serve --api-key-env VAR``) every route but ``GET /health`` needs the key,
as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; it is compared in constant time and
a missing or wrong key gets 401 before the body is read (the key is never echoed).

Bad requests get a 4xx whose ``detail`` names the problem: 400 malformed JSON, 413 body
larger than ``max_body_bytes``, 422 anything else (missing or unknown column, wrong type,
more than ``max_rows`` rows, rows the model cannot score). Request models are strict: a JSON
``false`` is not a number and ``"1"`` is not a number either.

FastAPI, pydantic and uvicorn are imported inside the functions that need them (install the
``serve`` extra); :func:`coerce_frame` needs pandas only and is shared with the CLI.
"""

import hmac
import ipaddress
import json
import logging
import os
import warnings

import numpy as np
import pandas as pd

from ._optional import import_optional
from ._outputs import explained_output
from ._pipeline import ExplainablePipeline

__all__ = [
    "DEFAULT_MAX_ABS_VALUE",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_ROWS",
    "coerce_frame",
    "create_app",
    "serve",
]

logger = logging.getLogger(__name__)

#: Rows accepted in one ``POST /score`` request by default.
DEFAULT_MAX_ROWS = 1000
#: Request body size accepted by default (bytes).
DEFAULT_MAX_BODY_BYTES = 1_000_000
#: Numeric values accepted by default lie in [-DEFAULT_MAX_ABS_VALUE, DEFAULT_MAX_ABS_VALUE].
DEFAULT_MAX_ABS_VALUE = 1e15

_NUMERIC_PREFIXES = ("int", "uint", "float", "Int", "UInt", "Float")


def _fastapi():
    return import_optional("fastapi", "pydantic", extra="serve", what="The scoring service")


# --------------------------------------------------------------------------- columns
def _column_kinds(ep: ExplainablePipeline) -> dict[str, str]:
    """Raw column -> "number", "boolean", "string", "datetime" or "any"."""
    dtypes = getattr(ep, "feature_dtypes_", None)
    if not dtypes:  # fitted on an array: numeric columns x0, x1, ...
        return {f"x{i}": "number" for i in range(ep.n_features_in_)}
    kinds = {}
    for col, dtype in dtypes.items():
        if dtype.startswith(_NUMERIC_PREFIXES):
            kinds[col] = "number"
        elif dtype in ("bool", "boolean"):
            kinds[col] = "boolean"
        elif dtype.startswith("datetime"):
            kinds[col] = "datetime"
        elif dtype in ("object", "str", "string", "category") or dtype.startswith("string"):
            kinds[col] = "string"
        else:
            kinds[col] = "any"
    return kinds


def coerce_frame(ep: ExplainablePipeline, frame: pd.DataFrame) -> pd.DataFrame | np.ndarray:
    """Rows in the column order and dtypes the pipeline saw at fit.

    Parameters
    ----------
    ep : ExplainablePipeline
        A fitted pipeline.
    frame : DataFrame
        Rows with (at least) the raw columns, e.g. parsed from JSON or CSV. Extra columns
        are dropped.

    Returns
    -------
    DataFrame, or ndarray of float for a pipeline fitted on an array

    Raises
    ------
    ValueError
        A raw column is missing, or a value cannot be converted to the column's fit dtype.
    """
    kinds = _column_kinds(ep)
    missing = [c for c in kinds if c not in frame.columns]
    if missing:
        raise ValueError(f"Missing raw column(s) {missing}; the model needs all of {list(kinds)}.")
    return _coerce_columns(ep, kinds, {col: frame[col] for col in kinds}, frame.index)


def _coerce_columns(ep, kinds: dict, columns: dict, index) -> pd.DataFrame | np.ndarray:
    """:func:`coerce_frame` on columns given as Series or lists of JSON values.

    The service builds the columns straight from the request (a few hundred microseconds
    less per request than a DataFrame of objects).
    """
    if not getattr(ep, "feature_dtypes_", None):
        return np.column_stack([np.asarray(columns[c], dtype=float) for c in kinds])
    background = ep.background_ if isinstance(ep.background_, pd.DataFrame) else None
    out = {}
    for col, kind in kinds.items():
        series = columns[col]
        if not isinstance(series, pd.Series):
            series = pd.Series(series, index=index, dtype=object)
        fit_dtype = ep.feature_dtypes_[col]
        try:
            if kind == "number":
                series = series.astype("float64")
                integral = series.notna().all() and bool(np.all(np.mod(series.to_numpy(), 1) == 0))
                if fit_dtype.startswith(("int", "uint", "Int", "UInt")) and integral:
                    series = series.astype(fit_dtype)
            elif kind == "datetime":
                series = pd.to_datetime(series)
            elif kind == "boolean" and series.notna().all():
                series = series.astype(bool)
            elif fit_dtype == "category":
                target = background[col].dtype if background is not None else "category"
                series = series.astype(target)
            elif background is not None and kind == "string":
                series = series.astype(background[col].dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(
                f"Column {col!r} cannot be converted to its fit dtype {fit_dtype}: {exc}"
            ) from exc
        out[col] = series
    return pd.DataFrame(out, index=index)


def _nullable_columns(ep: ExplainablePipeline, columns: list[str]) -> set[str]:
    """Columns whose missing value (null) the pipeline predicts through, probed on one row."""
    background = ep.background_
    if isinstance(background, pd.DataFrame):
        row = background.iloc[:1].astype(object)
    else:
        row = pd.DataFrame(np.asarray(background)[:1], columns=columns).astype(object)

    def works(cols) -> bool:
        probe = row.copy()
        probe[list(cols)] = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(ep.predict(coerce_frame(ep, probe)))
        except Exception:  # noqa: BLE001 - any failure means "not nullable"
            return False
        return out.dtype.kind not in "fc" or bool(np.isfinite(out).all())

    if works(columns):
        return set(columns)
    return {c for c in columns if works([c])}


# --------------------------------------------------------------------------- app
def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _load(model_or_path, trusted, allow_pickle=None):
    if isinstance(model_or_path, ExplainablePipeline):
        return model_or_path, None
    if isinstance(model_or_path, (str, os.PathLike)):
        from .persistence import load, read_metadata

        ep = load(model_or_path, trusted=trusted, allow_pickle=allow_pickle)
        try:
            saved = read_metadata(model_or_path)
        except Exception:  # noqa: BLE001 - metadata is informative only
            saved = None
        return ep, saved
    raise TypeError(
        "create_app expects a fitted ExplainablePipeline or the path of a file written by "
        f"explainable_pipeline.save; got {type(model_or_path).__name__}."
    )


def _loc(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error_detail(errors: list[dict]) -> str:
    parts = []
    for err in errors[:5]:
        parts.append(f"{_loc(err.get('loc', ()))}: {err.get('msg', '')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


async def _send_detail(send, status: int, detail: str, headers: list = ()) -> None:
    """Answer an ASGI request with ``{"detail": detail}`` and ``status`` (from a middleware)."""
    body = json.dumps({"detail": detail}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


class _BodySizeLimit:
    """ASGI middleware: reject bodies over ``max_body_bytes`` with 413 before parsing them."""

    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _reject(self, send):
        detail = (
            f"Request body is larger than the limit of {self.max_body_bytes} bytes; send fewer "
            "rows per request."
        )
        await _send_detail(send, 413, detail)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(send)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _ApiKey:
    """ASGI middleware: every route but ``/health`` needs the API key (401 otherwise)."""

    def __init__(self, app, api_key: str):
        self.app = app
        self.key = api_key.encode("utf-8")

    def _given(self, scope) -> bytes | None:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization")
        if auth is not None:
            scheme, _, token = auth.partition(b" ")
            if scheme.lower() == b"bearer":
                return token.strip()
        return headers.get(b"x-api-key")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") == "/health":
            await self.app(scope, receive, send)
            return
        given = self._given(scope)
        if given is not None and hmac.compare_digest(given, self.key):
            await self.app(scope, receive, send)
            return
        await _send_detail(send, 401, _UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])


_UNAUTHORIZED = (
    "Missing or invalid API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."
)


def _check_api_key(api_key) -> None:
    if api_key is None:
        return
    if not isinstance(api_key, str) or not api_key or any(c.isspace() for c in api_key) or (
        not api_key.isprintable()
    ):
        raise ValueError(
            "api_key must be a non-empty string of printable characters without spaces (e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )


def _secure_openapi(app) -> None:
    """Declare the API key in the OpenAPI document (``/health`` stays open)."""
    build = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            }
            schema["security"] = [{"bearer": []}, {"apiKey": []}]
            for path, ops in schema.get("paths", {}).items():
                if path == "/health":
                    for op in ops.values():
                        op["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def create_app(
    model_or_path: ExplainablePipeline | str | os.PathLike,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    trusted: list[str] | None = None,
    allow_missing: bool | str = "auto",
    max_abs_value: float = DEFAULT_MAX_ABS_VALUE,
    api_key: str | None = None,
    allow_pickle: bool | None = None,
):
    """Build the FastAPI scoring application for a fitted pipeline.

    Parameters
    ----------
    model_or_path : ExplainablePipeline or path
        A fitted pipeline, or a file written by :func:`explainable_pipeline.save`.
    max_rows : int, default=1000
        Most rows accepted in one ``POST /score`` (more get a 422).
    max_body_bytes : int, default=1_000_000
        Largest request body accepted (larger gets a 413).
    trusted : list of str, default=None
        Types to trust when loading a skops file (see :func:`explainable_pipeline.load`);
        giving it means safe loading (skops files only).
    allow_missing : "auto" or bool, default="auto"
        Which columns accept ``null`` (a missing value). ``"auto"`` probes the pipeline
        once at start-up: a column is nullable when a background row with that column
        missing still gets a finite prediction (e.g. behind an imputer, or with LightGBM).
    max_abs_value : float, default=1e15
        Numeric values must lie in ``[-max_abs_value, max_abs_value]``; larger magnitudes
        are data errors that would overflow models into infinite outputs.
    api_key : str, default=None
        When given, every route except ``GET /health`` (including ``/openapi.json``) needs
        ``Authorization: Bearer <api_key>`` or ``X-API-Key: <api_key>``; other requests get
        401 without their body being read. Compared in constant time.
    allow_pickle : bool, default=None
        As in :func:`explainable_pipeline.load`: False refuses any file but a skops zip.

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(create_app("model.skops", trusted=[...]))  # doctest: +SKIP
    >>> client.post("/score", json=[{"age": 41, "city": "oslo"}]).json()  # doctest: +SKIP
    """
    fastapi, pydantic = _fastapi()
    from typing import Annotated, Literal

    from fastapi import Body, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Discriminator, Field, Strict, Tag

    from .persistence import current_versions

    if not isinstance(max_rows, int) or max_rows < 1:
        raise ValueError(f"max_rows must be a positive int; got {max_rows!r}.")
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be a positive int; got {max_body_bytes!r}.")
    _check_api_key(api_key)
    ep, saved_meta = _load(model_or_path, trusted, allow_pickle)
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(ep)
    kinds = _column_kinds(ep)
    columns = list(kinds)

    bound = float(max_abs_value)
    number = Annotated[float, Strict(), Field(allow_inf_nan=False, ge=-bound, le=bound)]
    strict_types = {
        "number": number,
        "boolean": Annotated[bool, Strict()],
        "string": Annotated[str, Strict()],
        "datetime": Annotated[str, Strict()],
        "any": Annotated[str, Strict()] | number | Annotated[bool, Strict()],
    }
    if allow_missing == "auto":
        nullable = _nullable_columns(ep, columns)
    else:
        nullable = set(columns) if allow_missing else set()

    def _type(col):
        return strict_types[kinds[col]] | None if col in nullable else strict_types[kinds[col]]

    fields = {f"c{i}": (_type(c), Field(..., alias=c)) for i, c in enumerate(columns)}
    Row = pydantic.create_model(
        "Row",
        __config__=ConfigDict(extra="forbid", populate_by_name=False),
        **fields,
    )

    column_names = tuple[tuple(Literal[c] for c in columns)]
    columns_doc = f"Exactly the raw columns in fit order: {columns}."
    row_values = tuple[tuple(_type(c) for c in columns)]

    class SplitFrame(BaseModel):
        """Rows in pandas' "split" orientation: the raw columns in fit order, then rows."""

        model_config = ConfigDict(extra="forbid")
        columns: column_names = Field(description=columns_doc)
        data: list[row_values] = Field(min_length=1, max_length=max_rows)

    def _tag(value):
        if isinstance(value, list):
            return "records"
        if isinstance(value, dict):
            return "split"
        return None

    ScoreRequest = Annotated[
        Annotated[list[Row], Tag("records"), Field(min_length=1, max_length=max_rows)]
        | Annotated[SplitFrame, Tag("split")],
        Discriminator(
            _tag,
            custom_error_type="invalid_body",
            custom_error_message=(
                'The body must be a JSON array of records [{"column": value, ...}] or a split '
                'object {"columns": [...], "data": [[...]]}'
            ),
        ),
    ]

    label = Annotated[str, Strict()] | Annotated[int, Strict()] | float | bool | None

    class ScoreResponse(BaseModel):
        """Predictions and raw local importances (see ``predict_and_explain``)."""

        n_rows: int
        predictions: list[label]
        probabilities: list[list[float | None]] | None
        classes: list[label] | None
        method: str
        output: str
        space: Literal["raw"]
        features: list[str]
        expected_values: float | list[float]
        top_k: int | None
        local_importance_values: list[list[float]] | list[list[list[float]]] | None = None
        ranked_local_names: list[list[str]] | list[list[list[str]]] | None = None
        ranked_local_values: list[list[float]] | list[list[list[float]]] | None = None

    class ErrorResponse(BaseModel):
        """A one-line description of what is wrong with the request."""

        detail: str

    class Health(BaseModel):
        status: Literal["ok"]

    class Metadata(BaseModel):
        columns: list[str]
        dtypes: dict[str, str]
        classes: list[label] | None
        explainer: str
        output: str
        estimator: str
        versions: dict[str, dict[str, str | None] | None]
        nullable_columns: list[str]
        max_abs_value: float
        max_rows: int
        max_body_bytes: int

    errors = {
        400: {"model": ErrorResponse, "description": "Malformed JSON body"},
        413: {"model": ErrorResponse, "description": "Body larger than max_body_bytes"},
        422: {
            "model": ErrorResponse,
            "description": "Valid JSON that cannot be scored: missing or unknown column, wrong "
            "type, too many rows, or rows the model rejects",
        },
    }

    est = ep.estimator_
    classes = ep._class_list()
    plain_classes = None if classes is None else [np.asarray(c).item() for c in classes]
    output = explained_output(ep)  # the unit /score's "output" names (one vocabulary)
    metadata = {
        "columns": columns,
        "dtypes": dict(ep.feature_dtypes_ or dict.fromkeys(columns, "float64")),
        "classes": plain_classes,
        "explainer": ep.explainer_,
        "output": output,
        "estimator": f"{type(est).__module__}.{type(est).__qualname__}",
        "versions": {
            "runtime": current_versions((saved_meta or {}).get("model_libraries") or ()),
            "saved": None if saved_meta is None else saved_meta.get("versions"),
        },
        "nullable_columns": [c for c in columns if c in nullable],
        "max_abs_value": bound,
        "max_rows": max_rows,
        "max_body_bytes": max_body_bytes,
    }

    app = fastapi.FastAPI(
        title="explainable-pipeline scoring service",
        version=str(metadata["versions"]["runtime"].get("explainable-pipeline")),
        description=(
            "Predictions with their local importance values per raw input column. Bad requests "
            "get 400 (malformed JSON), 413 (body too large) or 422 (anything else), each with a "
            "`detail` naming the problem."
        ),
    )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errs = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errs):
            ctx = next(e for e in errs if e.get("type") == "json_invalid").get("ctx") or {}
            detail = f"Malformed JSON body: {ctx.get('error', 'could not parse')}"
            return JSONResponse({"detail": detail}, status_code=400)
        if any(tuple(e.get("loc", ()))[:3] == ("body", "split", "columns") for e in errs):
            got = exc.body.get("columns") if isinstance(exc.body, dict) else None
            detail = (
                f"body.columns must be exactly the raw columns in fit order {columns} "
                f"(see GET /metadata); got {got!r}"
            )
            return JSONResponse({"detail": detail[:2000]}, status_code=422)
        return JSONResponse({"detail": _error_detail(errs)}, status_code=422)

    def _unprocessable(message: str) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=422)

    @app.get("/health", response_model=Health)
    def health() -> dict:
        """Liveness: the model is loaded."""
        return {"status": "ok"}

    @app.get("/metadata", response_model=Metadata)
    def get_metadata() -> dict:
        """Raw columns and dtypes, classes, explainer method, versions and request limits."""
        return metadata

    @app.post("/score", response_model=ScoreResponse, responses=errors)
    def score(
        body: Annotated[ScoreRequest, Body()],
        top_k: Annotated[int | None, Query(ge=1, description="Keep the top_k attributions")] = None,
    ):
        """Predict and explain rows given as records or split JSON."""
        if isinstance(body, SplitFrame):
            values = {c: [row[j] for row in body.data] for j, c in enumerate(columns)}
        else:
            records = [r.model_dump(by_alias=True) for r in body]
            values = {c: [r.get(c) for r in records] for c in columns}
        try:
            X = _coerce_columns(ep, kinds, values, pd.RangeIndex(len(next(iter(values.values())))))
            result = ep.predict_and_explain(X, top_k=top_k)
        except Exception as exc:  # noqa: BLE001 - any model failure is this request's problem
            if not isinstance(exc, (ValueError, TypeError)):
                logger.exception("scoring failed")
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return _unprocessable(f"The model could not score these rows: {message}")
        return JSONResponse(result)

    # warm up (builds lazily cached explainers) so the first request is not slow
    if isinstance(ep.background_, pd.DataFrame) and len(ep.background_):
        try:
            ep.predict_and_explain(ep.background_.iloc[:1])
        except Exception:  # noqa: BLE001 - a warm-up failure shows on the first request
            logger.warning("warm-up scoring of one background row failed", exc_info=True)

    app.add_middleware(_BodySizeLimit, max_body_bytes=max_body_bytes)
    if api_key is not None:  # outermost: an unauthenticated body is never read
        app.add_middleware(_ApiKey, api_key=api_key)
        _secure_openapi(app)
    app.state.model = ep
    app.state.metadata = metadata
    return app


def serve(
    model_path: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    trusted: list[str] | None = None,
    log_level: str = "info",
    api_key: str | None = None,
    insecure: bool = False,
    allow_pickle: bool | None = None,
    access_log: bool | None = None,
) -> None:
    """Run the scoring service with uvicorn until interrupted (binds loopback by default).

    Parameters
    ----------
    model_path : str or path-like
        A file written by :func:`explainable_pipeline.save`.
    host : str, default="127.0.0.1"
        Interface to bind. A host other than a loopback address needs ``api_key`` (or
        ``insecure=True``, e.g. behind a proxy that authenticates).
    port : int, default=8000
    max_rows, max_body_bytes, trusted, api_key, allow_pickle
        See :func:`create_app`.
    log_level : str, default="info"
        uvicorn's log level: startup, shutdown and errors.
    insecure : bool, default=False
        Allow a non-loopback ``host`` without ``api_key``.
    access_log : bool, default=None
        Log one line per HTTP request (uvicorn's access log). None: only when
        ``log_level="debug"``; requests are not logged by default (a notebook or a
        terminal would get one line per call).

    Raises
    ------
    ValueError
        ``host`` is not a loopback address, no ``api_key`` is given and ``insecure`` is False.
    """
    if api_key is None and not insecure and not is_loopback(host):
        raise ValueError(
            f"Refusing to serve on {host!r} without an API key: anyone who reaches it could "
            "use the model. Set a key (serve --api-key-env VAR / api_key=...), bind "
            "127.0.0.1, or pass --insecure (insecure=True) if a proxy authenticates."
        )
    (uvicorn,) = import_optional("uvicorn", extra="serve", what="The scoring service")
    app = create_app(model_path, max_rows=max_rows, max_body_bytes=max_body_bytes, trusted=trusted,
                     api_key=api_key, allow_pickle=allow_pickle)  # fmt: skip
    if access_log is None:
        access_log = str(log_level).lower() == "debug"
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=bool(access_log))
