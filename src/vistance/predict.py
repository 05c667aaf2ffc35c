"""The one prediction engine, and the predict contract on top of it.

:func:`predict_batches` runs any model over a stream of batches: streaming (bounded memory),
batched, order-preserving, on ``jobs`` processes (default every core) for ``fork_safe``
model kinds. ``vistance predict`` (:func:`predict_file`), ``vistance predict-article``
(:func:`predict_articles`) and ``vistance analyze`` (:mod:`vistance.analysis.run`) all use it.

The contract: JSONL ``{"id", "text"}`` (or Parquet with ``id`` and ``text`` columns) in, JSONL
predictions out. Each output line is ``{"id", "themes": [...], "tone": ..., "scores": {"themes": {label: p},
"tone": {label: p}}}`` (plus ``"explain"`` with ``--explain`` for linear models). A bad
input record is rejected with its line (or row) number and the rest are processed.
"""
from __future__ import annotations

import gc
import itertools
import json
import multiprocessing as mp
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from vistance.errors import InputError, Rejections
from vistance.input_records import iter_records
from vistance.io import atomic_write
from vistance.labels.schema import LabelSchema, default_schema
from vistance.text.normalize import normalize

MAX_TEXT_CHARS = 1_000_000


@dataclass
class PredictReport:
    """What :func:`predict_file` did. ``errors`` keeps the first :attr:`Rejections.limit` rejected
    lines (detached: no traceback, no copy of the line) and counts them all: ``rejected``."""

    read: int = 0
    written: int = 0
    errors: Rejections = field(default_factory=Rejections)
    jobs: int = 1

    @property
    def rejected(self) -> int:
        return self.errors.total


#: the columns a Parquet input is read for (``id`` and ``text`` must be there)
REQUEST_COLUMNS = ("id", "text")


def check_request(obj: dict, path, number: int | None, seen: set[str]) -> tuple[str, str]:
    """The ``(id, text)`` of one input record, or an :class:`InputError` naming ``path`` and ``number``
    (its line, or its Parquet row): the rules of :func:`iter_requests`. ``seen``: the ids so far
    (this one is added)."""
    pid, text = obj.get("id"), obj.get("text")
    if not isinstance(pid, str) or not pid.strip():
        raise InputError(path, "missing or non-string 'id'", number)
    if not isinstance(text, str):
        raise InputError(path, f"missing or non-string 'text' for id {pid!r}", number)
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(path, f"text of id {pid!r} is longer than {MAX_TEXT_CHARS} characters", number)
    if not text.strip() or not normalize(text):
        raise InputError(path, f"empty 'text' for id {pid!r}", number)
    if pid in seen:
        raise InputError(path, f"duplicate id {pid!r} (kept the first)", number)
    seen.add(pid)
    return pid, text


def iter_requests(path, report: PredictReport) -> Iterator[tuple[str, str]]:
    """Stream valid ``(id, text)`` pairs from a JSONL file or from Parquet (a file or a folder of
    them, with ``id`` and ``text`` columns; :mod:`vistance.input_records`); invalid records go to
    ``report.errors``.

    JSONL line ends may be LF, CRLF or CR; a UTF-8 BOM is dropped and BOM-marked UTF-16 is
    decoded. Rejected: a line that is not UTF-8 or not JSON, JSON that is not an object,
    a missing/blank/non-string ``id`` or ``text`` (a null cell in Parquet), a text with nothing
    left after normalisation (only white space, invisible or control characters), a text longer
    than :data:`MAX_TEXT_CHARS`, a record over :data:`vistance.io.MAX_LINE_BYTES`, and a repeated
    ``id`` (the first one is kept). A Parquet file that cannot be read, or lacks a column, raises.
    """
    seen: set[str] = set()
    for where, number, obj in iter_records(path, REQUEST_COLUMNS, required=(("id",), ("text",))):
        report.read += 1
        try:
            if isinstance(obj, InputError):
                raise obj
            yield check_request(obj, where, number, seen)
        except InputError as e:
            report.errors.append(e)


# -- the prediction engine -------------------------------------------------------------------
_CONTEXT: Any = None  # what the forked workers see as their first argument


def available_cpus() -> int:
    """Cores this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fork_available() -> bool:
    return "fork" in mp.get_all_start_methods()


def resolve_jobs(jobs: int | None) -> int:
    """``None`` or a negative number: every available core; otherwise at least 1 and at most
    the cores; 1 where ``fork`` is unavailable (Windows; macOS prefers ``spawn``)."""
    if jobs is None or jobs < 0:
        n = available_cpus()
    else:
        n = max(1, min(int(jobs), available_cpus()))
    return n if fork_available() else 1


def _call(fn: Callable, item):
    return fn(_CONTEXT, item)


def parallel_map(fn: Callable[[Any, Any], Any], items: Iterable, context: Any = None, jobs: int | None = 1,
                 max_pending: int | None = None, n_jobs: int | None = None) -> Iterator:
    """Yield ``fn(context, item)`` for each item, in input order, on ``jobs`` forked workers.

    ``fn`` must be a module-level function (it is sent by name); ``context`` (e.g. a
    loaded model) reaches the workers through ``fork`` and is never pickled: each worker
    shares the loaded model copy-on-write, only items go out and results come back. With
    one job, or without ``fork``, it runs in this process. At most ``max_pending`` items
    (default ``2 * jobs``) are in flight, so memory stays flat however long the stream.
    The output is the same for any number of jobs. (``n_jobs`` is the old name of ``jobs``.)
    """
    global _CONTEXT
    n = resolve_jobs(n_jobs if n_jobs is not None else jobs)
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


def workers_for(model, jobs: int | None) -> int:
    """Processes the engine uses for ``model``: ``resolve_jobs(jobs)`` when the model's kind is
    ``fork_safe`` (see :class:`vistance.models.base.ModelBase`), else 1 (it runs in this process
    and uses its own threads, e.g. a transformer)."""
    return resolve_jobs(jobs) if getattr(model, "fork_safe", False) else 1


def predict_batches(model, batches: Iterable[list], work: Callable[[Any, list], Any] | None = None,
                    context: Any = None, jobs: int | None = None, min_batches: int = 4,
                    info: dict | None = None, engine=None) -> Iterator:
    """The prediction engine: ``work(context, batch)`` for every batch of a stream, in order.

    ``work`` is a module-level function (default :func:`score_batch`: ``(id, text)`` pairs ->
    predict-contract records); ``context`` defaults to ``model`` and is what ``work`` gets
    as its first argument. ``jobs`` (default ``None``: every core) processes run it when
    the model is ``fork_safe``; with ``jobs=None`` a stream shorter than ``min_batches``
    batches stays in this process (not worth starting workers). Results are identical for
    any ``jobs``. ``info["jobs"]`` (when a dict is given) tells how many processes ran.
    ``engine``: a :class:`vistance.predict_dask.DaskEngine` runs the batches on a Dask cluster
    instead (the same output; ``jobs`` is then the cluster's business).
    """
    work = work or score_batch
    if engine is not None:
        yield from engine.map(work, batches, context=context, model=model, info=info)
        return
    context = model if context is None else context
    batches = iter(batches)
    n = workers_for(model, jobs)
    if jobs is None and n > 1:
        head = list(itertools.islice(batches, min_batches))
        batches = itertools.chain(head, batches)
        if len(head) < min_batches:
            n = 1
    if info is not None:
        info["jobs"] = n
    yield from parallel_map(work, batches, context=context, jobs=n)


def model_schema(model) -> LabelSchema:
    """The :class:`~vistance.labels.schema.LabelSchema` ``model`` predicts (``model.schema``, learned at
    fit or read from its folder); the packaged default codebook for a model that carries none."""
    schema = getattr(model, "schema", None)
    return schema if isinstance(schema, LabelSchema) else default_schema()


def score_batch(model, batch: Sequence[tuple[str, str]], explain: bool = False) -> list[dict]:
    """Predict-contract records ``{id, themes, tone, scores}`` (+ ``explain``) for ``(id, text)`` pairs."""
    if not batch:
        return []
    recs = model.predict_proba([t for _, t in batch]).records([p for p, _ in batch])
    if explain and getattr(model, "can_explain", False):
        for (_, text), rec in zip(batch, recs):
            rec["explain"] = model.explain(text)
    return recs


def _score_lines(context, batch) -> list[str]:
    """Worker: records of a batch, already serialised as JSON lines (that work is spread too)."""
    model, explain = context
    return [json.dumps(rec, ensure_ascii=False) + "\n" for rec in score_batch(model, batch, explain)]


def predict_file(model, input_path, output_path, batch_size: int = 256, explain: bool = False,
                 jobs: int | None = None, progress: bool | None = None, engine=None) -> PredictReport:
    """Predict every valid record of ``input_path`` (``{"id", "text"}`` JSONL, or Parquet: a file or a
    folder of them; see :func:`iter_requests`) into ``output_path``.

    Streams in batches of ``batch_size`` on ``jobs`` processes (default every core, for
    ``fork_safe`` kinds); output lines are in input order and the file is written
    atomically (all or nothing). Rejected records are in the report's ``errors``. ``engine``: see
    :func:`predict_batches` (a :class:`vistance.predict_dask.DaskEngine`, or ``None``: local).
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    report = PredictReport()
    bar = tqdm(desc="predict", unit="para", disable=None if progress is None else not progress)
    batches = chunked(iter_requests(input_path, report), batch_size)
    info: dict = {}
    with atomic_write(Path(output_path)) as fh:
        for lines in predict_batches(model, batches, work=_score_lines, context=(model, explain), jobs=jobs,
                                     info=info, engine=engine):
            fh.writelines(lines)
            report.written += len(lines)
            bar.update(len(lines))
    bar.close()
    report.jobs = info.get("jobs", 1)
    return report


@dataclass
class ArticlePredictReport:
    """What :func:`predict_articles` did: paragraphs predicted, ingest errors (bounded, see
    :class:`~vistance.errors.Rejections`) and warnings (e.g. a paragraph over the length cap),
    the records (only when neither an output file nor a stream was given) and the output path."""

    paragraphs: int = 0
    errors: Rejections = field(default_factory=Rejections)
    warnings: Rejections = field(default_factory=Rejections)
    records: list[dict] = field(default_factory=list)
    output: str | None = None


def _score_with_text(context, batch) -> list[dict]:
    recs = score_batch(context, [(p, t) for p, t in batch])
    for (_, text), rec in zip(batch, recs):
        rec["text"] = text
    return recs


def _article_lines(context, batch) -> list[str]:
    """Worker: predict-article records of a batch, serialised as JSON lines."""
    return [json.dumps(rec, ensure_ascii=False) + "\n" for rec in _score_with_text(context, batch)]


def predict_articles(model, paths: Sequence, output_path=None, batch_size: int = 256,
                     jobs: int | None = None, stream=None, max_chars: int = 20_000) -> ArticlePredictReport:
    """Label every paragraph of raw article files (seed text format or JSONL), streaming.

    Paragraphs flow from the readers through :func:`predict_batches` (the engine of
    ``vistance predict``) in batches of ``batch_size``: memory does not grow with the number of
    paragraphs. Records are the predict contract plus ``"text"``, in file and paragraph order.
    With ``output_path`` they are written atomically as JSONL; with ``stream`` (a text file
    object, e.g. ``sys.stdout``) written to it as they come; with neither, returned in
    ``report.records`` (a list: for small inputs). A file or record that cannot be read is in
    ``report.errors``; a paragraph longer than ``max_chars`` is dropped with a warning in
    ``report.warnings`` (as ``vistance ingest`` does).
    """
    from vistance.corpus import IngestReport, ingest_paths

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    ingest = IngestReport()
    report = ArticlePredictReport(output=str(output_path) if output_path else None)
    report.errors, report.warnings = ingest.errors, ingest.warnings  # the same bounded lists
    paragraphs = ((p.paragraph_id, p.text) for p in ingest_paths(list(paths), report=ingest, dedupe=False,
                                                                max_chars=max_chars))
    batches = chunked(paragraphs, batch_size)
    if output_path or stream is not None:
        def write(fh):
            for lines in predict_batches(model, batches, work=_article_lines, jobs=jobs):
                fh.writelines(lines)
                report.paragraphs += len(lines)

        if output_path:
            with atomic_write(Path(output_path)) as fh:
                write(fh)
        else:
            write(stream)
            stream.flush()
    else:
        for recs in predict_batches(model, batches, work=_score_with_text, jobs=jobs):
            report.records.extend(recs)
            report.paragraphs += len(recs)
    return report


def _segment_chunk(segmenter_name: str, texts: Sequence[str]) -> list[str]:
    from vistance.text.segment import get_segmenter

    seg = get_segmenter(segmenter_name)
    return [seg.segment(t) for t in texts]


def segment_parallel(texts: Iterable[str], segmenter: str = "pyvi", jobs: int | None = None,
                     chunk_size: int = 256, n_jobs: int | None = None) -> list[str]:
    """Segment ``texts`` with :func:`vistance.text.segment.get_segmenter` on ``jobs`` workers
    (order kept; the same output as segmenting one by one)."""
    from vistance.text.segment import get_segmenter

    get_segmenter(segmenter)  # load the back-end once, before forking
    out: list[str] = []
    for part in parallel_map(_segment_chunk, chunked(texts, chunk_size), context=segmenter,
                             jobs=n_jobs if n_jobs is not None else jobs):
        out.extend(part)
    return out
