"""The public :class:`ExplanationDashboard`: build, serve in a thread, show in Jupyter, export."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from .._optional import import_optional
from ._data import DashboardData

logger = logging.getLogger(__name__)


def _require_dash() -> None:
    import_optional("dash", "plotly", extra="dashboard", what="ExplanationDashboard")


class ExplanationDashboard:
    """Interactive explanation dashboard (Dash): global and local views, what-if and ICE.

    Parameters
    ----------
    explanation : LocalExplanation or GlobalExplanation
        Per-row attributions; a GlobalExplanation must carry its local part (as
        ``ExplainablePipeline.explain_global`` returns it).
    model : object, optional
        The fitted ExplainablePipeline, or any fitted model taking raw rows (``predict`` /
        ``predict_proba``). Needed by what-if and ICE; predictions are shown when given.
    dataset : DataFrame or array-like, optional
        The explained raw rows, in the explanation's row order; defaults to
        ``explanation.data``.
    true_y : array-like, optional
        True targets, offered in the data view.
    max_points : int, default=2000
        Scatter views show a random sample of at most this many rows (with a note).
    random_state : int, default=0
        Seed of that sample.

    Examples
    --------
    >>> dash = ExplanationDashboard(ep.explain_local(X), model=ep)  # doctest: +SKIP
    >>> url = dash.serve(port=8050)  # doctest: +SKIP
    >>> dash.stop()  # doctest: +SKIP
    >>> dash.save_html("explanation.html")  # doctest: +SKIP
    """

    def __init__(self, explanation: Any, model: Any = None, dataset: Any = None,
                 true_y: Any = None, *, max_points: int = 2000, random_state: int = 0) -> None:  # fmt: skip
        _require_dash()
        self.data = DashboardData(explanation, model, dataset, true_y, max_points=max_points,
                                  random_state=random_state)  # fmt: skip
        self._app = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    @property
    def app(self) -> Any:
        """The ``dash.Dash`` application (built on first access)."""
        if self._app is None:
            from ._app import build_app

            self._app = build_app(self.data)
        return self._app

    def serve(self, port: int = 8050, host: str = "127.0.0.1") -> str:
        """Serve the dashboard in a background thread and return its URL.

        ``port=0`` picks a free port. Call :meth:`stop` to shut the server down.
        """
        if self._server is not None:
            raise RuntimeError(f"The dashboard is already served at {self.url}; call stop() first.")
        from werkzeug.serving import make_server

        server = make_server(host, port, self.app.server, threaded=True)
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

    def show(self, mode: str = "inline", port: int = 8050, height: int = 900) -> None:
        """Render in Jupyter through Dash's jupyter mode (``"inline"``, ``"tab"``, ...)."""
        self.app.run(jupyter_mode=mode, port=port, jupyter_height=height)

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a notebook kernel
        self.show()

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
