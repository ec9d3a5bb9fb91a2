"""numba's disk cache of the compiled TreeSHAP kernels: on when it can be, never a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("numba")


def test_kernels_are_cached_on_disk():
    """Every kernel keeps its machine code on disk (a new process loads instead of compiling)."""
    from numba.core.caching import FunctionCache

    from explainable_pipeline.explainers import (
        _treeshap_entries,
        _treeshap_kernel,
        _treeshap_masks,
        _treeshap_pairs,
    )

    dispatchers = [
        _treeshap_kernel.kernel(False), _treeshap_kernel.kernel(True),
        _treeshap_masks._fail_block, _treeshap_masks.background_sets, _treeshap_masks._paths,
        _treeshap_masks._predict_raw, _treeshap_entries.entry, _treeshap_pairs.pair_entry,
    ]  # fmt: skip
    for disp in dispatchers:
        assert isinstance(disp._cache, FunctionCache), disp


def test_no_writable_cache_still_imports_and_computes():
    """A read-only installation without a writable cache directory: numba refuses
    ``cache=True`` (no locator); the engine compiles in memory, logs it once, and its values
    are still those of the booster."""
    code = textwrap.dedent(
        """
        import logging
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []  # no writable place for the cache
        logging.basicConfig(level=logging.WARNING, format="LOG %(message)s")
        import numpy as np
        from sklearn.tree import DecisionTreeRegressor
        from explainable_pipeline.explainers._tree_model import from_estimator
        from explainable_pipeline.explainers._treeshap import TreeShap
        from explainable_pipeline.explainers import _treeshap_kernel
        assert type(_treeshap_kernel.kernel(False)._cache).__name__ == "NullCache"
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 3))
        y = X[:, 0] * X[:, 1] + X[:, 2]
        est = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
        values, expected, _ = TreeShap(from_estimator(est, X), np.arange(3), 3).values(X[:20])
        err = np.abs(values[0].sum(1) + expected[0] - est.predict(X[:20])).max()
        assert err < 1e-9, err
        print("VALUES OK")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "VALUES OK" in out.stdout
    assert out.stderr.count("numba cannot write its cache") == 1, out.stderr[-3000:]
