"""The bottom layer for files: tolerant line reading, strict JSON lines, atomic writes and a
cross-platform lock for writers. Every JSONL/JSON file of vistance is read and written here.

- :func:`iter_jsonl` / :func:`read_jsonl`: JSON lines through :func:`iter_lines` (any line end,
  BOMs, UTF-16) and :func:`parse_json_line` (every failure an :class:`InputError` naming file and line);
- :func:`write_jsonl` / :func:`write_json`: atomic (temporary file, fsync, ``os.replace``);
- :func:`file_lock`: an exclusive lock on ``<path>.lock`` (the ``filelock`` library).
"""
from __future__ import annotations

import codecs
import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from vistance.errors import InputError

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# a \uD800-\uDFFF escape: json.loads accepts it, but a lone one is not encodable text
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NEWLINE = re.compile("\r\n|\r|\n")


def iter_lines(path) -> Iterator[tuple[int, "str | InputError"]]:
    """Stream the lines of a text file as ``(line_number, text)``, without line ends.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a line; a UTF-8 byte-order mark is
    dropped; a UTF-16 file with a byte-order mark is decoded as such. A line that is
    not UTF-8 (or holds NUL bytes) comes back as an :class:`InputError` naming the
    line, in place of the text, so the caller can reject it and go on. A file that
    looks like UTF-16 without a byte-order mark is one error for the whole file.
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith(_UTF16_BOMS):
            yield from _utf16_lines(fh.read(), path)
            return
        if len(head) == 4 and (head[1::2] == b"\0\0" or head[0::2] == b"\0\0"):
            yield 1, InputError(path, "looks like UTF-16 without a byte-order mark; save it as UTF-8")
            return
        lineno = 0
        for raw in fh:
            body = raw[:-1] if raw.endswith(b"\n") else raw
            body = body[:-1] if body.endswith(b"\r") else body
            for piece in body.split(b"\r"):
                lineno += 1
                if b"\0" in piece:
                    yield lineno, InputError(path, "contains NUL bytes (binary data?)", lineno)
                    continue
                try:
                    yield lineno, piece.decode("utf-8-sig")
                except UnicodeDecodeError as e:
                    yield lineno, InputError(
                        path, f"not UTF-8 text (invalid byte 0x{e.object[e.start]:02x}); re-save the file as UTF-8",
                        lineno)


def _utf16_lines(raw: bytes, path):
    try:
        text = raw.decode("utf-16")
    except UnicodeDecodeError as e:
        line = raw[:e.start].decode("utf-16", errors="replace").count("\n") + 1
        yield line, InputError(path, f"broken UTF-16 text ({e.reason})", line)
        return
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    yield from enumerate(lines, start=1)


def parse_json_line(text: str, path, line: int | None = None):
    """``json.loads`` of one line, every failure an :class:`InputError` naming the file and line.

    Beyond syntax errors this refuses what ``json`` accepts but vistance cannot use:
    nesting too deep to decode, integers too long to convert, and lone surrogate
    escapes (``"\\ud800"``) that are not encodable text.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"invalid JSON ({e.msg})", line) from None
    except RecursionError:
        raise InputError(path, "invalid JSON (nested too deeply)", line) from None
    except ValueError as e:  # e.g. an integer literal beyond the int-conversion limit
        raise InputError(path, f"invalid JSON ({str(e).split(':')[0]})", line) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(path, "a string holds a lone UTF-16 surrogate escape (\\udXXX); not valid text",
                             line) from None
    return obj


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Write to a temporary file in the same folder, fsync, then ``os.replace``.

    Readers see either the old file or the complete new one, never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(path, timeout: float | None = None):
    """Exclusive lock on ``<path>.lock`` (blocks until the other writer finishes; ``timeout`` in seconds).

    Uses :mod:`filelock`, so it works on Linux, macOS and Windows alike. A lock not obtained
    within ``timeout`` raises :class:`TimeoutError` naming ``path``.
    """
    from filelock import FileLock, Timeout

    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=-1 if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise TimeoutError(f"{path} is locked by another writer") from None
    try:
        yield
    finally:
        lock.release()


def iter_json_values(path) -> Iterator[tuple[int, Any]]:
    """``(line_number, value)`` for every non-blank line of a JSONL file; a line that cannot be
    read or parsed gives its :class:`InputError` as the value instead of raising (line ends and
    encodings as :func:`iter_lines`)."""
    for lineno, line in iter_lines(path):
        if isinstance(line, InputError):
            yield lineno, line
        elif line.strip():
            try:
                value = parse_json_line(line, path, lineno)
            except InputError as e:
                value = e
            yield lineno, value


def iter_jsonl(path, errors: list | None = None, objects: bool = True) -> Iterator[tuple[int, Any]]:
    """Stream ``(line_number, value)`` for every non-blank line of a JSONL file.

    A line that cannot be used (not UTF-8, NUL bytes, invalid JSON, and with ``objects``
    anything but a JSON object) raises :class:`InputError` naming the file and line, or,
    when ``errors`` is a list, is appended to it and skipped. Only ``\n``, ``\r\n`` and
    ``\r`` end a line (``str.splitlines`` would also cut at U+2028 inside a string).
    """
    def bad(err: InputError):
        if errors is None:
            raise err
        errors.append(err)

    for lineno, obj in iter_json_values(path):
        if isinstance(obj, InputError):
            bad(obj)
            continue
        if objects and not isinstance(obj, dict):
            bad(InputError(path, f"expected a JSON object, got {type(obj).__name__}", lineno))
            continue
        yield lineno, obj


def read_jsonl(path, errors: list | None = None, objects: bool = True, missing_ok: bool = False) -> list:
    """The values of a JSONL file as a list (see :func:`iter_jsonl`); ``missing_ok``: no file -> ``[]``."""
    if missing_ok and not Path(path).exists():
        return []
    return [obj for _, obj in iter_jsonl(path, errors=errors, objects=objects)]


def dumps_line(obj, sort_keys: bool = False, compact: bool = False) -> str:
    """One JSONL line (UTF-8 text kept as is, ``\n`` at the end)."""
    seps = (",", ":") if compact else None
    return json.dumps(obj, ensure_ascii=False, sort_keys=sort_keys, separators=seps) + "\n"


def write_jsonl(path, records: Iterable, sort_keys: bool = False, compact: bool = False,
                transform: Callable[[Any], Any] | None = None) -> int:
    """Write ``records`` (any iterable, streamed) as JSONL atomically; returns the number written.

    ``transform`` maps each record to the JSON value written (e.g. ``Label.to_dict``).
    """
    n = 0
    with atomic_write(path) as fh:
        for rec in records:
            fh.write(dumps_line(transform(rec) if transform else rec, sort_keys=sort_keys, compact=compact))
            n += 1
    return n


def write_json(path, obj, indent: int | None = 2, sort_keys: bool = True) -> None:
    """Write one JSON document atomically (UTF-8, trailing newline)."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent, sort_keys=sort_keys)
        fh.write("\n")


def read_json(path, missing_ok: bool = False, default=None):
    """One JSON document; a missing file is ``default`` with ``missing_ok``, bad JSON an :class:`InputError`."""
    p = Path(path)
    if missing_ok and not p.exists():
        return default
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(p, "not UTF-8 text") from None
    return parse_json_line(text, p)
