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


def test_every_cache_is_stamped_with_all_engine_sources(tmp_path):
    """numba checks a cache against its own file only; the engine's kernels inline each
    other's code across modules, so each cache carries a hash of all of them: editing any
    engine module invalidates every cached kernel instead of running stale code."""
    from explainable_pipeline.explainers import _jit, _treeshap_kernel, _treeshap_masks

    for disp in (_treeshap_kernel.kernel(False), _treeshap_masks._fail_block):
        assert disp._cache._cache_file._source_stamp[1] == _jit.engine_stamp()
    here = _jit._HERE
    for name in _jit.ENGINE_SOURCES:
        (tmp_path / name).write_bytes((here / name).read_bytes())
    assert _jit.sources_hash(tmp_path) == _jit.engine_stamp()
    entries = tmp_path / "_treeshap_entries.py"
    entries.write_text(entries.read_text() + "\n# edited\n")
    assert _jit.sources_hash(tmp_path) != _jit.engine_stamp()
