"""Readers for the raw formats: the seed text format and JSONL articles.

Seed text format (``data/raw/*.txt``)::

     date 2026-02-03 [• Source | lead or title on the same line]
    Title line

    Paragraph one.

    Paragraph two.

The `` date`` header is optional (an article without it gets ``date=None``);
a header whose date is malformed or impossible is an error. Each non-empty line
is one block. JSONL: one article an object, ``{id, title, date, source,
paragraphs: [...]}`` or, for sentence-level corpora, ``{id, title, sentences}``.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import Callable, Iterator

from vistance.corpus.records import Article
from vistance.errors import InputError
from vistance.text.normalize import normalize

TEXT_SUFFIXES = {".txt"}
JSONL_SUFFIXES = {".jsonl", ".json"}
_HEADER = re.compile(r"^\s*date\s+(\S+)\s*(.*)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def decode_bytes(raw: bytes, path) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is an error."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise InputError(path, f"broken UTF-16 text ({e.reason} at byte {e.start})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            path, f"not UTF-8 text (invalid byte 0x{raw[e.start]:02x} at offset {e.start}); re-save the file as UTF-8"
        ) from None


def parse_date(value, path, line: int | None = None) -> str | None:
    """Validate an ISO date (``YYYY-MM-DD``); ``None``/empty stays ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise InputError(path, f"bad date {value!r}: expected YYYY-MM-DD", line)
    try:
        return _dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise InputError(path, f"impossible date {value!r}", line) from None


def read_seed_text(path: Path, corpus: str = "seeds") -> Article:
    """Parse one article in the seed text format."""
    text = normalize(decode_bytes(Path(path).read_bytes(), path))
    lines = text.split("\n")
    date, source, title = None, None, ""
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is None:
        raise InputError(path, "empty file: no header, title or body")
    m = _HEADER.match(lines[first])
    body_start = first
    if m:
        date = parse_date(m.group(1), path, first + 1)
        rest = m.group(2).strip()
        if rest.startswith("•"):
            source = rest.lstrip("•").strip() or None
        elif rest:
            title = rest
        body_start = first + 1
    blocks = [l.strip() for l in lines[body_start:] if l.strip()]
    if not title and blocks:
        title = blocks.pop(0)
    if not blocks:
        raise InputError(path, "no body: the file has a header/title but no paragraphs")
    return Article(
        article_id=Path(path).stem, title=title, date=date, source=source,
        blocks=blocks, unit="paragraph", corpus=corpus, path=str(path),
    )


def _article_from_json(obj, path, line: int, corpus: str, sentence_window: int) -> Article:
    if not isinstance(obj, dict):
        raise InputError(path, f"expected a JSON object, got {type(obj).__name__}", line)
    aid = obj.get("id")
    if not isinstance(aid, str) or not aid.strip():
        raise InputError(path, "missing or non-string 'id'", line)
    if isinstance(obj.get("paragraphs"), list):
        raw, unit = obj["paragraphs"], "paragraph"
    elif isinstance(obj.get("sentences"), list):
        raw, unit = obj["sentences"], "sentence"
    else:
        raise InputError(path, f"article {aid!r} has no 'paragraphs' or 'sentences' list", line)
    if not all(isinstance(b, str) for b in raw):
        raise InputError(path, f"article {aid!r}: every paragraph must be a string", line)
    blocks = [normalize(b) for b in raw]
    if unit == "sentence" and sentence_window > 1:
        blocks = [" ".join(blocks[i:i + sentence_window]) for i in range(0, len(blocks), sentence_window)]
        unit = f"sentence_window{sentence_window}"
    if not any(b.strip() for b in blocks):
        raise InputError(path, f"article {aid!r} has no body", line)
    title = obj.get("title") or ""
    source = obj.get("source")
    return Article(
        article_id=normalize(aid.strip()), title=normalize(str(title)),
        date=parse_date(obj.get("date"), path, line),
        source=normalize(str(source)) if source else None,
        blocks=blocks, unit=unit, corpus=corpus, path=str(path),
    )


def iter_jsonl_articles(path: Path, corpus: str | None = None, sentence_window: int = 1,
                        on_error: Callable[[InputError], None] | None = None) -> Iterator[Article]:
    """Stream articles from a JSONL file; a bad line goes to ``on_error`` and the rest go on."""
    corpus = corpus or Path(path).parent.name or "jsonl"
    with open(path, "rb") as fh:
        first = True
        for lineno, raw in enumerate(fh, start=1):
            try:
                if first and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise InputError(path, "UTF-16 JSONL is not supported; save it as UTF-8", lineno)
                text = decode_bytes(raw, path) if not first else decode_bytes(raw, path).lstrip("\ufeff")
                first = False
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise InputError(path, f"invalid JSON ({e.msg})", lineno) from None
                yield _article_from_json(obj, path, lineno, corpus, sentence_window)
            except InputError as err:
                if err.line is None:
                    err = InputError(path, err.reason, lineno)
                if on_error is None:
                    raise err
                on_error(err)


def read_articles(path, corpus: str | None = None, sentence_window: int = 1,
                  on_error: Callable[[InputError], None] | None = None) -> Iterator[Article]:
    """Articles of one file, by its suffix (``.txt`` seed format, ``.jsonl``/``.json``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        try:
            yield read_seed_text(path, corpus=corpus or "seeds")
        except InputError as err:
            if on_error is None:
                raise
            on_error(err)
    elif suffix in JSONL_SUFFIXES:
        yield from iter_jsonl_articles(path, corpus, sentence_window, on_error)
    else:
        err = InputError(path, f"unsupported file type {suffix or '(none)'}; expected .txt or .jsonl")
        if on_error is None:
            raise err
        on_error(err)
