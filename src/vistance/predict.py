"""The predict contract: JSONL ``{"id", "text"}`` in, JSONL predictions out, streaming.

Each output line is ``{"id", "themes": [...], "tone": ..., "scores": {"themes": {label: p},
"tone": {label: p}}}`` (plus ``"explain"`` with ``--explain`` for linear models). A bad
input line is rejected with its line number and the rest are processed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from vistance.errors import InputError
from vistance.io import atomic_write, iter_lines, parse_json_line
from vistance.text.normalize import normalize

MAX_TEXT_CHARS = 1_000_000


@dataclass
class PredictReport:
    read: int = 0
    written: int = 0
    errors: list[InputError] = field(default_factory=list)


def iter_requests(path, report: PredictReport) -> Iterator[tuple[str, str]]:
    """Stream valid ``(id, text)`` pairs from a JSONL file; invalid lines go to ``report.errors``.

    Line ends may be LF, CRLF or CR; a UTF-8 BOM is dropped and BOM-marked UTF-16 is
    decoded. Rejected: a line that is not UTF-8 or not JSON, JSON that is not an object,
    a missing/blank/non-string ``id`` or ``text``, a text with nothing left after
    normalisation (only white space, invisible or control characters), a text longer
    than :data:`MAX_TEXT_CHARS`, and a repeated ``id`` (the first one is kept).
    """
    seen: set[str] = set()
    for lineno, line in iter_lines(path):
        report.read += 1
        try:
            if isinstance(line, InputError):
                raise line
            if not line.strip():
                report.read -= 1
                continue
            obj = parse_json_line(line, path, lineno)
            if not isinstance(obj, dict):
                raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", lineno)
            pid, text = obj.get("id"), obj.get("text")
            if not isinstance(pid, str) or not pid.strip():
                raise InputError(path, "missing or non-string 'id'", lineno)
            if not isinstance(text, str):
                raise InputError(path, f"missing or non-string 'text' for id {pid!r}", lineno)
            if len(text) > MAX_TEXT_CHARS:
                raise InputError(path, f"text of id {pid!r} is longer than {MAX_TEXT_CHARS} characters", lineno)
            if not text.strip() or not normalize(text):
                raise InputError(path, f"empty 'text' for id {pid!r}", lineno)
            if pid in seen:
                raise InputError(path, f"duplicate id {pid!r} (kept the first)", lineno)
            seen.add(pid)
            yield pid, text
        except InputError as e:
            report.errors.append(e)


def predict_file(model, input_path, output_path, batch_size: int = 256, explain: bool = False,
                 progress: bool | None = None) -> PredictReport:
    """Predict every valid line of ``input_path`` into ``output_path`` (written atomically)."""
    from tqdm.auto import tqdm

    report = PredictReport()
    batch: list[tuple[str, str]] = []
    bar = tqdm(desc="predict", unit="para", disable=None if progress is None else not progress)

    def flush(fh):
        sc = model.predict_proba([t for _, t in batch])
        for (pid, text), rec in zip(batch, sc.records([p for p, _ in batch])):
            if explain and hasattr(model, "explain"):
                rec["explain"] = model.explain(text)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            report.written += 1
        bar.update(len(batch))
        batch.clear()

    with atomic_write(Path(output_path)) as fh:
        for item in iter_requests(input_path, report):
            batch.append(item)
            if len(batch) >= batch_size:
                flush(fh)
        if batch:
            flush(fh)
    bar.close()
    return report
