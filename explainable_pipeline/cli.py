"""The ``explainable-pipeline`` command line: ``serve``, ``explain`` and ``demo``.

Exit codes: 0 success, 1 an error while running (one line on standard error, starting with
``explainable-pipeline: error:``), 2 a usage error (argparse), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ._fileio import atomic_write

__all__ = ["main"]

PROG = "explainable-pipeline"


class CLIError(Exception):
    """An error reported as one line with exit code 1."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1..65535, got {text!r}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .serving import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve, explain and demo scikit-learn models explained in raw input columns.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    trust_help = (
        "type to trust when MODEL_PATH is a skops file, e.g. lightgbm.basic.Booster "
        "(repeat for several; the error of an untrusted file lists them). Implies --safe-only"
    )

    serve = sub.add_parser(
        "serve",
        help="run the HTTP scoring service (FastAPI + uvicorn)",
        description="Serve POST /score, GET /health, GET /metadata and /openapi.json for a "
        "model saved with explainable_pipeline.save.",
    )
    serve.add_argument("model_path", metavar="MODEL_PATH", help="file written by save()")
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--max-rows",
        type=_positive_int,
        default=DEFAULT_MAX_ROWS,
        help="most rows per request (default: %(default)s)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body in bytes (default: %(default)s)",
    )
    serve.add_argument("--trust", action="append", default=None, metavar="TYPE", help=trust_help)
    add_safe_only_flag(serve)
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require the API key held in environment variable VAR on every route but "
        "/health (Authorization: Bearer <key> or X-API-Key: <key>)",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a --host other than loopback without an API key (e.g. behind an "
        "authenticating proxy)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (default: %(default)s); requests are logged only at "
        "debug or with --access-log",
    )
    serve.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="log one line per HTTP request (default: only with --log-level debug)",
    )

    explain = sub.add_parser(
        "explain",
        help="explain the rows of a CSV file (JSON, CSV and a PNG plot)",
        description="Write global and local explanations of the rows of DATA.csv: "
        "global.json, global_importance.csv, local.json, local_importance.csv, "
        "predictions.csv and global_importance.png in --out.",
    )
    explain.add_argument("model_path", metavar="MODEL_PATH", help="file written by save()")
    explain.add_argument("data", metavar="DATA.csv", help="rows with the raw input columns")
    explain.add_argument("--target", metavar="COL", help="target column to drop (and use as y)")
    explain.add_argument(
        "--out",
        default="explain_output",
        help="output folder (default: %(default)s; not ExplanationClient()'s ./explanations "
        "store)",
    )
    explain.add_argument(
        "--top-k", type=_positive_int, default=20, help="bars in the plot (default: %(default)s)"
    )
    explain.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    explain.add_argument(
        "--ignore-extra",
        action="store_true",
        help="explain without the CSV columns the model was not fitted on (by default they "
        "are refused, as ep.explain_local refuses them)",
    )
    explain.add_argument("--trust", action="append", default=None, metavar="TYPE", help=trust_help)
    add_safe_only_flag(explain)

    sub.add_parser(
        "demo",
        help="run the demo on bundled data (options: explainable-pipeline demo --help)",
        add_help=False,
        description="Run explainable_pipeline.demo.",
    ).add_argument("demo_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    from .dashboard._cli import add_dashboard_command  # argparse only; dash loads when run

    add_dashboard_command(sub)
    return parser


def add_safe_only_flag(parser: argparse.ArgumentParser) -> None:
    """``--safe-only``: refuse any model file that is not a skops zip (nothing is unpickled)."""
    parser.add_argument(
        "--safe-only",
        action="store_true",
        help="load MODEL_PATH only if it is a skops file; refuse joblib/pickle files without "
        "unpickling them (implied by --trust and by a .skops file name)",
    )


def allow_pickle_of(args: argparse.Namespace) -> bool | None:
    """``allow_pickle`` for :func:`explainable_pipeline.load` from ``--safe-only``."""
    return False if getattr(args, "safe_only", False) else None


def _load_model(path: str, trusted, allow_pickle=None):
    from .persistence import load

    if not Path(path).is_file():
        raise CLIError(f"model file {path!r} does not exist")
    return load(path, trusted=trusted, allow_pickle=allow_pickle)


def _api_key(args) -> str | None:
    if args.api_key_env is None:
        return None
    key = os.environ.get(args.api_key_env)
    if not key:
        raise CLIError(
            f"--api-key-env {args.api_key_env}: that environment variable is not set or empty"
        )
    return key


def _cmd_serve(args) -> int:
    from .serving import is_loopback, serve

    if not Path(args.model_path).is_file():
        raise CLIError(f"model file {args.model_path!r} does not exist")
    api_key = _api_key(args)
    if api_key is None and not args.insecure and not is_loopback(args.host):
        raise CLIError(
            f"refusing to serve on {args.host!r} without an API key: set one with "
            "--api-key-env VAR, bind 127.0.0.1, or pass --insecure if a proxy authenticates"
        )
    serve(
        args.model_path,
        host=args.host,
        port=args.port,
        max_rows=args.max_rows,
        max_body_bytes=args.max_body_bytes,
        trusted=args.trust,
        log_level=args.log_level,
        api_key=api_key,
        insecure=args.insecure,
        allow_pickle=allow_pickle_of(args),
        access_log=args.access_log,
    )
    return 0


def _bar_plot(glob, path: Path, top_k: int) -> None:
    from ._plot import save_global_bar

    try:
        save_global_bar(
            glob, path, title=f"Global importance of raw columns ({glob.method})", top_k=top_k
        )
    except ImportError as exc:
        raise CLIError(f"{exc} (or use --no-plot)") from exc


def _local_long(local):
    """Local values as a long table: row, [class,] feature, value."""
    import pandas as pd

    frame = local.to_dataframe()
    frame.index = pd.RangeIndex(len(frame), name="row")
    long = frame.stack(list(range(frame.columns.nlevels)), future_stack=True)
    long = long.rename("value").reset_index()
    return long


def _write_csv(frame, path: Path, **kwargs) -> None:
    """``frame.to_csv`` written atomically (a crash never leaves half a file)."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        frame.to_csv(f, **kwargs)


def _cmd_explain(args) -> int:
    import pandas as pd

    from ._explanation import GlobalExplanation
    from ._fileio import atomic_write_text
    from .serving import coerce_frame

    ep = _load_model(args.model_path, args.trust, allow_pickle_of(args))
    if not Path(args.data).is_file():
        raise CLIError(f"data file {args.data!r} does not exist")
    try:
        frame = pd.read_csv(args.data)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise CLIError(f"cannot read {args.data!r} as CSV: {exc}") from exc
    if frame.empty:
        raise CLIError(f"{args.data!r} has no rows")
    y = None
    if args.target is not None:
        if args.target not in frame.columns:
            raise CLIError(f"--target column {args.target!r} is not in {args.data!r}")
        y = frame.pop(args.target)
    X = coerce_frame(ep, frame)  # missing columns are reported first
    extra = _extra_columns(ep, frame)
    if extra and not args.ignore_extra:
        raise CLIError(
            f"{args.data!r} has column(s) {extra} the model was not fitted on (ep.explain_local "
            "refuses them too): pass --target COL for the target, drop them, or pass "
            "--ignore-extra to explain without them"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    if ep.explainer_ == "pfi":
        if y is None:
            raise CLIError("this model's explainer is 'pfi' (global only): it needs --target")
        glob, local = ep.explain_global(X, y), None
    else:
        local = ep.explain_local(X)
        glob = GlobalExplanation.from_local(local, fidelity=local.meta.get("fidelity"))
    atomic_write_text(out / "global.json", json.dumps(glob.to_dict(), indent=1))
    _write_csv(glob.to_dataframe(), out / "global_importance.csv", index=False)
    written += ["global.json", "global_importance.csv"]
    if local is not None:
        atomic_write_text(out / "local.json", json.dumps(local.to_dict()))
        _write_csv(_local_long(local), out / "local_importance.csv", index=False)
        written += ["local.json", "local_importance.csv"]
    predictions = pd.DataFrame({"prediction": ep.predict(X)})
    if hasattr(ep, "predict_proba") and ep._class_list() is not None:
        proba = ep.predict_proba(X)
        for j, cls in enumerate(ep._class_list()):
            predictions[f"probability_{cls}"] = proba[:, j]
    if y is not None:
        predictions.insert(0, "target", y.to_numpy())
    predictions.index.name = "row"
    _write_csv(predictions, out / "predictions.csv")
    written.append("predictions.csv")
    if not args.no_plot:
        _bar_plot(glob, out / "global_importance.png", args.top_k)
        written.append("global_importance.png")
    print(f"Explained {len(frame)} rows with {ep.explainer_!r}; wrote {', '.join(written)} "
          f"to {out}/")  # fmt: skip
    print("Top raw columns: " + ", ".join(glob.get_ranked_global_names(top_k=5)))
    if extra:
        print(f"Ignored column(s) the model was not fitted on (--ignore-extra): {extra}")
    return 0


def _extra_columns(ep, frame) -> list[str]:
    """The columns of ``frame`` that ``ep`` was not fitted on (fitted on an array: the CSV
    names its columns x0, x1, ...)."""
    names = getattr(ep, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(ep.n_features_in_)]
    known = {str(n) for n in names}
    return [str(c) for c in frame.columns if str(c) not in known]


def _cmd_demo(args) -> int:
    try:
        from . import demo
    except ImportError as exc:
        from ._optional import install_hint

        raise CLIError(f"the demo needs {exc.name or exc}. {install_hint('demo')}") from exc
    # demo.main checks its extras before any work (import_optional: the install hint)
    return int(demo.main(args.demo_args) or 0)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from .dashboard._cli import run_dashboard

    return run_dashboard(args)


_COMMANDS = {
    "serve": _cmd_serve,
    "explain": _cmd_explain,
    "demo": _cmd_demo,
    "dashboard": _cmd_dashboard,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (``sys.argv[1:]`` when None).

    Returns
    -------
    int
        0 on success, 1 on an error (reported as one line on standard error), 2 on a usage
        error, 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _build_parser()
    if argv[:1] == ["demo"]:  # the demo parses its own options (argparse.REMAINDER skips -h)
        args = argparse.Namespace(command="demo", demo_args=argv[1:])
    else:
        args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        from .persistence import UntrustedTypesError

        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, UntrustedTypesError):
            flags = " ".join(f"--trust {t}" for t in exc.types)
            exc = CLIError(
                f"{exc.path} holds types that are not trusted by default: {exc.types}; if you "
                f"trust the file, add: {flags}"
            )
            message = str(exc)
        if not isinstance(exc, CLIError):
            message = f"{type(exc).__name__}: {message}"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
