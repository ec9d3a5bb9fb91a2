"""Small helpers shared by the benchmark scripts (timing, tables, peak memory)."""

from __future__ import annotations

import resource
import statistics
import time


def timed(fn, repeat: int = 3):
    """Run ``fn`` ``repeat`` times; return (seconds of every run, last result)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def timeit(fn, repeat: int = 3):
    """Run ``fn`` ``repeat`` times; return (median seconds, last result)."""
    times, result = timed(fn, repeat)
    return statistics.median(times), result


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(headers, rows) -> None:
    """Print a GitHub-markdown table."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
