"""Which plotly.js bundle the dashboard and its static export load.

The dashboard only draws ``scatter``, ``bar``, ``box``, ``violin`` and ``heatmap`` traces, all
in plotly.js's official *cartesian* partial bundle (``assets/plotly-cartesian.min.js``, 1.5 MB, MIT licence in
``assets/plotly-cartesian.LICENSE``; the npm package ``plotly.js-cartesian-dist-min``). A
browser compiles and runs it in about a third of the time of the full 4.8 MB bundle that
plotly.py ships, which is most of the dashboard's time to first paint.

It is used only when its version is the plotly.js version of the installed plotly.py (figures
are built by plotly.py for that version); otherwise the full bundle is used, as Dash does.
To update it after a plotly upgrade: ``npm pack plotly.js-cartesian-dist-min@<version>`` with
``<version> = plotly.offline.get_plotlyjs_version()`` and copy ``plotly-cartesian.min.js``.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("assets")
CARTESIAN = "plotly-cartesian.min.js"
# The trace types of the cartesian bundle (its README); the dashboard's figures use a subset.
CARTESIAN_TRACES = frozenset({
    "bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
    "image", "pie", "scatter", "scatterternary", "violin",
})  # fmt: skip


def bundle_version(path: Path) -> str | None:
    """The plotly.js version in a bundle's header comment (``None`` when absent)."""
    with path.open(encoding="utf-8") as f:
        match = re.search(r"plotly\.js \(cartesian[^)]*\) v(\d+\.\d+\.\d+)", f.read(400))
    return match.group(1) if match else None


@functools.cache
def cartesian_bundle() -> Path | None:
    """The cartesian partial bundle when it matches plotly.py's plotly.js, else ``None``."""
    from plotly.offline import get_plotlyjs_version

    path = ASSETS / CARTESIAN
    if not path.is_file():
        logger.info("%s not found: the dashboard loads the full plotly.js bundle.", path)
        return None
    version, expected = bundle_version(path), get_plotlyjs_version()
    if version != expected:
        logger.info(
            "The dashboard's cartesian plotly.js bundle is v%s but plotly.py uses plotly.js "
            "v%s: loading the full bundle instead.", version, expected,
        )  # fmt: skip
        return None
    return path


def plotlyjs_source() -> str:
    """The plotly.js source to inline in a static HTML export."""
    path = cartesian_bundle()
    if path is not None:
        return path.read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
