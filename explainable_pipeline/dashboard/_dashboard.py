"""The public :class:`ExplanationDashboard`: build, serve in a thread, show in Jupyter, export."""

from __future__ import annotations

import html
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from .._optional import import_optional
from ._data import DashboardData

logger = logging.getLogger(__name__)


def _require_dash() -> None:
    import_optional("dash", "plotly", extra="dashboard", what="ExplanationDashboard")


def _request_handler(access_log: bool) -> type:
    """werkzeug's request handler, logging each request at DEBUG unless ``access_log``."""
    from werkzeug.serving import WSGIRequestHandler

    if access_log:
        return WSGIRequestHandler

    class QuietRequestHandler(WSGIRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            logger.debug('%s "%s" %s %s', self.address_string(), self.requestline, code, size)

    return QuietRequestHandler


class ExplanationDashboard:
    """Interactive explanation dashboard (Dash): importance, performance, cohorts, error
    analysis, local views, what-if, ICE, partial dependence and interactions.

    Parameters
    ----------
    explanation : LocalExplanation or GlobalExplanation
        Per-row attributions; a GlobalExplanation must carry its local part (as
        ``ExplainablePipeline.explain_global`` returns it).
    model : object, optional
        The fitted ExplainablePipeline, or any fitted model taking raw rows (``predict`` /
        ``predict_proba``). Needed by what-if and ICE; predictions are shown when given.
        With an engineered-space explanation (``space="engineered"``) the pipeline's fitted
        ``estimator_`` predicts from the engineered rows; raw rows or a model fitted on other
        columns are refused with a ValueError saying what to pass.
    dataset : DataFrame or array-like, optional
        The explained raw rows, in the explanation's row order; defaults to
        ``explanation.data``.
    true_y : array-like, optional
        True targets: the performance and error-analysis views need them.
    cohorts : dict, optional
        Named subsets of the rows, ``{name: spec}``; ``spec`` is a boolean mask (one value per
        row), integer row positions, a ``DataFrame.query`` string over the raw columns and
        ``predicted``, ``p(<class>)``, ``true_y``, ``correct`` (classifiers), ``abs_error``
        (regression), or a list of filter dicts such as
        ``{"column": "age", "op": ">=", "value": 30}``. Every view can switch to a cohort;
        up to 4 are compared side by side; they are kept in :meth:`save_html`.
    interactions : object or ndarray, optional
        Shapley interaction values of the same rows, for the interactions view: an object
        with ``values`` (``(n_rows, p, p)``, or ``(n_classes, n_rows, p, p)``) and optionally
        ``features`` and ``classes`` (as ``ep.explain_interactions(X)`` returns), or the
        array itself (players: the explanation's features).
    max_points : int, default=2000
        Scatter views show a random sample of at most this many rows (with a note).
    random_state : int, default=0
        Seed of that sample.

    Examples
    --------
    >>> dash = ExplanationDashboard(ep.explain_local(X), model=ep)  # doctest: +SKIP
    >>> url = dash.serve(port=8050)  # doctest: +SKIP
    >>> dash  # in Jupyter: the dashboard inline  # doctest: +SKIP
    >>> dash.stop()  # doctest: +SKIP
    >>> dash.save_html("explanation.html")  # doctest: +SKIP
    """

    def __init__(self, explanation: Any, model: Any = None, dataset: Any = None,
                 true_y: Any = None, *, cohorts: dict | None = None, interactions: Any = None,
                 max_points: int = 2000, random_state: int = 0) -> None:  # fmt: skip
        _require_dash()
        self.data = DashboardData(explanation, model, dataset, true_y, max_points=max_points,
                                  random_state=random_state, cohorts=cohorts,
                                  interactions=interactions)  # fmt: skip
        self._app = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    @property
    def cohorts(self) -> dict:
        """{cohort name: sorted row positions}, "All data" first, including the cohorts made
        in the browser (from filters or error-analysis nodes and cells)."""
        reg = self.data.cohorts
        return {name: reg.rows(name).copy() for name in reg.names}

    @property
    def app(self) -> Any:
        """The ``dash.Dash`` application (built on first access)."""
        if self._app is None:
            from ._app import build_app

            self._app = build_app(self.data)
        return self._app

    def serve(self, port: int = 8050, host: str = "127.0.0.1", *,
              access_log: bool = False) -> str:  # fmt: skip
        """Serve the dashboard in a background thread and return its URL.

        ``port=0`` picks a free port. Call :meth:`stop` to shut the server down. Requests
        are logged at DEBUG on the ``explainable_pipeline.dashboard`` logger only, so a
        notebook cell or a terminal stays quiet; ``access_log=True`` writes one line per
        request to stderr (werkzeug's access log).
        """
        if self._server is not None:
            raise RuntimeError(f"The dashboard is already served at {self.url}; call stop() first.")
        from werkzeug.serving import make_server

        server = make_server(host, port, self.app.server, threaded=True,
                             request_handler=_request_handler(access_log))  # fmt: skip
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="explanation-dashboard",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self.url = f"http://{host}:{server.server_port}/"
        logger.info("Explanation dashboard running at %s", self.url)
        return self.url

    def stop(self) -> None:
        """Stop the server started by :meth:`serve` (no-op when not serving)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = self.url = None

    def show(self, mode: str = "inline", port: int = 0, height: int = 900,
             width: str = "100%") -> None:  # fmt: skip
        """Display the dashboard in a Jupyter notebook.

        Serves it from the kernel (:meth:`serve` on ``port``, ``0``: a free one) unless it is
        already served, then displays it. :meth:`stop` stops the server. Displaying the object
        itself (a cell ending with ``dashboard``) shows the same iframe through
        :meth:`_repr_html_`.

        Parameters
        ----------
        mode : {"inline", "external"}, default="inline"
            ``"inline"``: an iframe in the cell output (in Google Colab, through Colab's
            kernel-port proxy); ``"external"``: a link that opens the dashboard in a tab.
        port : int, default=0
            Port on 127.0.0.1 (the browser running the notebook must reach it).
        height : int, default=900
            Height of the iframe in pixels.
        width : str or int, default="100%"
            Width of the iframe.
        """
        if mode not in ("inline", "external"):
            raise ValueError(f"mode must be 'inline' or 'external'; got {mode!r}.")
        from IPython.display import HTML, IFrame, display

        url = self.url or self.serve(port=port)
        if mode == "external":
            display(HTML(f'<a href="{html.escape(url)}" target="_blank">{html.escape(url)}</a>'))
        elif "google.colab" in sys.modules:  # pragma: no cover - needs Colab
            from google.colab import output

            output.serve_kernel_port_as_iframe(self._server.server_port, height=height)
        else:
            display(IFrame(url, width=width, height=height))

    def _repr_html_(self) -> str:
        """Jupyter's rich display: an iframe of the dashboard, served on a free port if needed.

        Only front ends that render HTML ask for it (a notebook, not a terminal IPython), so a
        server starts only where the iframe can be shown; :meth:`stop` stops it.
        """
        url = html.escape(self.url or self.serve(port=0))
        return (f'<iframe src="{url}" width="100%" height="900" frameborder="0" '
                'title="Explanation dashboard"></iframe>')  # fmt: skip

    def save_html(self, path: str | Path) -> Path:
        """Write one self-contained HTML file (plotly.js inlined) with the static views.

        Global views, and local importance for a sample of rows (a dropdown picks the row);
        what-if and ICE need a live model and say so.
        """
        from ._static import write_html

        return write_html(self.data, Path(path))

    def __enter__(self) -> ExplanationDashboard:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"serving at {self.url}" if self.url else "not serving"
        return (f"ExplanationDashboard(n_rows={self.data.n_rows}, "
                f"n_features={len(self.data.features)}, {state})")  # fmt: skip
