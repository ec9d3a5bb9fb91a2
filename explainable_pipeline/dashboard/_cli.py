"""``explainable-pipeline dashboard MODEL_PATH DATA.csv [--html OUT.html] [--port N]``.

``cli.py`` wires it: ``add_dashboard_command(sub)`` in ``_build_parser`` and
``"dashboard": run_dashboard`` in its command table. Printing is allowed here (command line).
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

DEFAULT_MAX_ROWS = 10_000


def add_dashboard_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``dashboard`` subcommand to an ``argparse`` subparsers object and return it."""
    parser = subparsers.add_parser(
        "dashboard",
        help="interactive explanation dashboard of the rows of a CSV file (Dash)",
        description="Explain the rows of DATA.csv with the saved model and serve the dashboard "
        "on 127.0.0.1 (Ctrl-C stops it), or write a static HTML file with --html.",
    )
    parser.add_argument("model_path", metavar="MODEL_PATH", help="file written by save()")
    parser.add_argument("data", metavar="DATA.csv", help="rows with the raw input columns")
    parser.add_argument("--html", metavar="OUT.html", help="write a static HTML file and exit")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8050, help="port (default: %(default)s)")
    parser.add_argument("--access-log", action="store_true",
                        help="log one line per HTTP request to stderr")  # fmt: skip
    parser.add_argument("--target", metavar="COL", help="target column to drop (shown as truth)")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS,
                        help="explain a random sample of at most this many rows "
                        "(default: %(default)s)")  # fmt: skip
    parser.add_argument("--trust", action="append", default=None, metavar="TYPE",
                        help="type to trust when MODEL_PATH is a skops file")  # fmt: skip
    parser.add_argument("--cohort", action="append", default=[], metavar="NAME=QUERY",
                        help="a named cohort, a DataFrame.query over the columns (and "
                        "predicted, true_y, correct, abs_error); repeatable, e.g. "
                        "--cohort \"Dream=island == 'Dream'\"")  # fmt: skip
    from ..cli import add_safe_only_flag

    add_safe_only_flag(parser)
    parser.set_defaults(handler=run_dashboard)
    return parser


def run_dashboard(args: argparse.Namespace, *, block: bool = True) -> int:
    """Handle ``dashboard``: explain, then write ``--html`` or serve until interrupted."""
    import pandas as pd

    from ..persistence import load
    from . import ExplanationDashboard

    for path, what in ((args.model_path, "model"), (args.data, "data")):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{what} file {path!r} does not exist")
    from ..cli import allow_pickle_of

    model = load(args.model_path, trusted=args.trust, allow_pickle=allow_pickle_of(args))
    X = pd.read_csv(args.data)
    y = None
    if args.target:
        if args.target not in X.columns:
            raise ValueError(f"--target {args.target!r} is not a column of {args.data}")
        y = X.pop(args.target)
    if args.max_rows and len(X) > args.max_rows:
        keep = X.sample(args.max_rows, random_state=0).index.sort_values()
        X, y = X.loc[keep], None if y is None else y.loc[keep]
        print(f"Explaining a random sample of {args.max_rows} of the rows (--max-rows).")
    X = X.reset_index(drop=True)
    y = None if y is None else y.reset_index(drop=True)
    cohorts = {}
    for spec in args.cohort:
        name, sep, query = spec.partition("=")
        if not sep or not name.strip() or not query.strip():
            raise ValueError(f"--cohort takes NAME=QUERY, e.g. \"Dream=island == 'Dream'\"; "
                             f"got {spec!r}")  # fmt: skip
        cohorts[name.strip()] = query.strip()
    dashboard = ExplanationDashboard(model.explain_local(X), model=model, dataset=X, true_y=y,
                                     cohorts=cohorts)  # fmt: skip
    if args.html:
        path = dashboard.save_html(args.html)
        print(f"Wrote {path}")
        return 0
    url = dashboard.serve(port=args.port, host=args.host,
                          access_log=getattr(args, "access_log", False))  # fmt: skip
    print(f"Explanation dashboard at {url} (Ctrl-C to stop)")
    if not block:
        dashboard.stop()
        return 0
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
    return 0
