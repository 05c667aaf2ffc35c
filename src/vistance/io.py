"""Safe file reading and writing: tolerant line reading, strict JSON lines, atomic replace
and an advisory lock for writers."""
from __future__ import annotations

import codecs
import contextlib
import fcntl
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

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
    """Exclusive advisory lock on ``<path>.lock`` (blocks until the other writer finishes)."""
    import time

    lock_path = Path(str(path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{path} is locked by another writer") from None
                    time.sleep(0.05)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
