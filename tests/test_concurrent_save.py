"""Two processes saving explanations into one directory in a loop: neither raises, a reader
running meanwhile always loads a whole explanation (one of the two), and so does the result."""

from __future__ import annotations

import multiprocessing as mp
import traceback

import numpy as np

from explainable_pipeline import LocalExplanation, load_explanation

ROUNDS = 40


def _explanation(k: int) -> LocalExplanation:
    rng = np.random.default_rng(k)
    return LocalExplanation(
        np.full((2000, 5), float(k)), 0.0, list("abcde"), method="kernel", space="raw",
        output="prediction", data=rng.normal(size=(2000, 5)),
    )  # fmt: skip


def _save_loop(path: str, k: int, start, errors) -> None:
    exp = _explanation(k)
    start.wait(60)
    try:
        for _ in range(ROUNDS):
            exp.save(path)
    except BaseException:  # noqa: BLE001 - reported to the test
        errors.put(f"writer {k}: {traceback.format_exc()}")


def _load_loop(path: str, start, done, errors, loads) -> None:
    start.wait(60)
    n = 0
    try:
        while not done.is_set():
            exp = load_explanation(path)
            kinds = np.unique(exp.values).tolist()
            assert kinds in ([1.0], [2.0]), kinds  # whole explanations only, never a mix
            assert exp.data.shape == (2000, 5)
            n += 1
    except BaseException:  # noqa: BLE001
        errors.put(f"reader: {traceback.format_exc()}")
    loads.put(n)


def test_two_processes_saving_to_one_directory(tmp_path):
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    path = str(tmp_path / "shared")
    _explanation(1).save(path)  # the reader starts on a complete explanation
    start, done, errors, loads = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    writers = [ctx.Process(target=_save_loop, args=(path, k, start, errors)) for k in (1, 2)]
    reader = ctx.Process(target=_load_loop, args=(path, start, done, errors, loads))
    for proc in (*writers, reader):
        proc.start()
    start.set()
    try:
        for proc in writers:
            proc.join(240)
        done.set()
        reader.join(60)
    finally:
        for proc in (*writers, reader):
            if proc.is_alive():
                proc.kill()
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, "\n".join(found)
    assert all(proc.exitcode == 0 for proc in (*writers, reader))
    assert loads.get(timeout=10) > 0
    final = load_explanation(path)
    assert np.unique(final.values).tolist() in ([1.0], [2.0])
    names = sorted(p.name for p in (tmp_path / "shared").iterdir())
    assert len(names) == 2 and names[0].startswith("arrays.") and names[1] == "explanation.json"
