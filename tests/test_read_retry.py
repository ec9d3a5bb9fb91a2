"""A reader whose array file is replaced between reading explanation.json and opening the
arrays (a concurrent save) loads the new explanation instead of failing."""

from __future__ import annotations

import numpy as np

from explainable_pipeline import LocalExplanation, load_explanation
from explainable_pipeline import _explanation_io as io


def _explanation(k: float) -> LocalExplanation:
    return LocalExplanation(np.full((4, 3), k), 0.0, list("abc"), method="kernel", space="raw",
                            output="prediction")  # fmt: skip


def test_array_file_replaced_after_the_check_is_read_again(tmp_path, monkeypatch):
    path = tmp_path / "shared"
    _explanation(1.0).save(path)
    original, calls = io._read_npz, []

    def racing_read(npz):
        calls.append(npz.name)
        if len(calls) == 1:  # another process saves right now: the old arrays are removed
            _explanation(2.0).save(path)
            assert not npz.exists()
        return original(npz)

    monkeypatch.setattr(io, "_read_npz", racing_read)
    loaded = load_explanation(path)
    assert np.unique(loaded.values).tolist() == [2.0]  # the whole new explanation
    assert len(calls) == 2 and calls[0] != calls[1]
