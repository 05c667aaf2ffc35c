"""Use every core for the CPU-bound steps (segmentation, TF-IDF prediction) of large inputs.

Workers are *forked* after the model is loaded, so each one shares the loaded
model copy-on-write instead of unpickling it; only the texts go out and compact
results come back. :func:`parallel_map` keeps results in input order (output is
identical for any number of workers) and keeps at most ``max_pending`` chunks in
flight, so memory stays flat however long the input stream is.

Where ``fork`` is unavailable (Windows; macOS prefers ``spawn``) everything runs in
the calling process.
"""
from __future__ import annotations

import gc
import multiprocessing as mp
import os
from collections import deque
from typing import Any, Callable, Iterable, Iterator, Sequence

_CONTEXT: Any = None  # what the forked workers see as their first argument


def available_cpus() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fork_available() -> bool:
    return "fork" in mp.get_all_start_methods()


def resolve_jobs(n_jobs: int | None) -> int:
    """``None`` or ``-1``: every available core; otherwise at least 1 and at most the cores."""
    if n_jobs is None or n_jobs < 0:
        n = available_cpus()
    else:
        n = max(1, min(int(n_jobs), available_cpus()))
    return n if fork_available() else 1


def _call(fn: Callable, item):
    return fn(_CONTEXT, item)


def parallel_map(fn: Callable[[Any, Any], Any], items: Iterable, context: Any = None, n_jobs: int | None = 1,
                 max_pending: int | None = None) -> Iterator:
    """Yield ``fn(context, item)`` for each item, in order, on ``n_jobs`` forked workers.

    ``fn`` must be a module-level function (it is sent by name); ``context`` (e.g. a
    loaded model) reaches the workers through ``fork`` and is never pickled. With
    one job, or without ``fork``, it runs in this process. At most ``max_pending``
    items (default ``2 * n_jobs``) are queued at once.
    """
    global _CONTEXT
    n = resolve_jobs(n_jobs)
    if n == 1:
        for item in items:
            yield fn(context, item)
        return
    max_pending = max_pending or 2 * n
    previous = _CONTEXT
    _CONTEXT = context
    # objects that exist now are never collected in the workers: the garbage collector
    # then does not write to them, and their memory pages stay shared copy-on-write
    gc.freeze()
    pool = mp.get_context("fork").Pool(processes=n)
    gc.unfreeze()
    try:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(_call, (fn, item)))
            while len(pending) >= max_pending:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _CONTEXT = previous


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` consecutive items (the last may be shorter)."""
    chunk: list = []
    for x in items:
        chunk.append(x)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _segment_chunk(segmenter_name: str, texts: Sequence[str]) -> list[str]:
    from vistance.text.segment import get_segmenter

    seg = get_segmenter(segmenter_name)
    return [seg.segment(t) for t in texts]


def segment_parallel(texts: Iterable[str], segmenter: str = "pyvi", n_jobs: int | None = None,
                     chunk_size: int = 256) -> list[str]:
    """Segment ``texts`` with :func:`vistance.text.segment.get_segmenter` on ``n_jobs`` workers
    (order kept; the same output as segmenting one by one)."""
    from vistance.text.segment import get_segmenter

    get_segmenter(segmenter)  # load the back-end once, before forking
    out: list[str] = []
    for part in parallel_map(_segment_chunk, chunked(texts, chunk_size), context=segmenter, n_jobs=n_jobs):
        out.extend(part)
    return out
