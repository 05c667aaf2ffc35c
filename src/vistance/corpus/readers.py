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
import io
import re
from pathlib import Path
from typing import Callable, Iterator

from vistance.corpus.records import Article
from vistance.errors import InputError
from vistance.io import iter_lines, parse_json_line, read_bytes_capped
from vistance.text.normalize import normalize

TEXT_SUFFIXES = {".txt"}
JSONL_SUFFIXES = {".jsonl", ".json"}
_HEADER = re.compile(r"^\s*date\s+(\S+)\s*(.*)$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LINE_END = re.compile(rb"\r\n|\r|\n")
#: a seed-format article is read whole: the most one file may hold (bytes)
MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024


def decode_bytes(raw: bytes, path) -> str:
    """Decode UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is an error.

    NUL bytes are refused too: they never occur in text (UTF-16 without a BOM, or binary data).
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise InputError(path, f"broken UTF-16 text ({e.reason} at byte {e.start})") from None
    if b"\0" in raw:
        line = len(_LINE_END.findall(raw, 0, raw.index(b"\0"))) + 1
        raise InputError(path, "contains NUL bytes: binary data, or UTF-16 without a byte-order mark; "
                               "re-save the file as UTF-8", line)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        at = e.start + (len(raw) - len(e.object))  # the position in ``raw`` (a BOM is not in e.object)
        raise InputError(
            path, f"not UTF-8 text (invalid byte 0x{raw[at]:02x} at offset {at}); re-save the file as UTF-8",
            len(_LINE_END.findall(raw, 0, at)) + 1,
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
    decoded = decode_bytes(read_bytes_capped(path, MAX_TEXT_FILE_BYTES, "seed text file"), path)
    # normalised line by line: the same non-blank lines as normalize(decoded), without its whole-text
    # copies (a 10 MB article cost 200 MB that way)
    lines = [normalize(line) for line in io.StringIO(decoded, newline=None)]
    date, source, title = None, None, ""
    first = next((i for i, l in enumerate(lines) if l.strip()), None)
    if first is None:
        raise InputError(path, "empty file: no header, title or body")
    m = _HEADER.match(lines[first])
    body_start = first
    if m:
        date = parse_date(m.group(1), path, first + 1)  # ``lines`` keeps the blank lines: its index is the line
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
    if not isinstance(aid, str) or not normalize(aid):  # an id of only invisible/control characters is blank
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
    """Stream articles from a JSONL file; a bad line goes to ``on_error`` and the rest go on.

    Line ends may be LF, CRLF or CR; a UTF-8 BOM is dropped and BOM-marked UTF-16 is
    decoded. A file without a single non-blank line is an error ("empty file").
    """
    corpus = corpus or Path(path).parent.name or "jsonl"
    blank = True
    for lineno, text in iter_lines(path):
        try:
            if isinstance(text, InputError):
                blank = False
                raise text
            if not text.strip():
                continue
            blank = False
            obj = parse_json_line(text, path, lineno)
            yield _article_from_json(obj, path, lineno, corpus, sentence_window)
        except InputError as err:  # every error from here names its line (when it has one)
            if on_error is None:
                raise
            on_error(err)
    if blank:
        err = InputError(path, "empty file: no articles")
        if on_error is None:
            raise err
        on_error(err)


def read_articles(path, corpus: str | None = None, sentence_window: int = 1,
                  on_error: Callable[[InputError], None] | None = None) -> Iterator[Article]:
    """Articles of one file, by its suffix (``.txt`` seed format, ``.jsonl``/``.json``).

    A file that cannot be read at all (permissions, a folder) is an :class:`InputError` too.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            yield read_seed_text(path, corpus=corpus or "seeds")
        elif suffix in JSONL_SUFFIXES:
            yield from iter_jsonl_articles(path, corpus, sentence_window, on_error)
        else:
            raise InputError(path, f"unsupported file type {suffix or '(none)'}; expected .txt or .jsonl")
    except OSError as e:
        err = InputError(path, f"cannot read the file ({e.strerror or e})")
        if on_error is None:
            raise err from None
        on_error(err)
    except InputError as err:
        if on_error is None:
            raise
        on_error(err)
