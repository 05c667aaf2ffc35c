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
import secrets
import stat
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml

from vistance.errors import ConfigError, InputError, detached

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# a \uD800-\uDFFF escape: json.loads accepts it, but a lone one is not encodable text
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


#: the longest line any JSONL/text reader accepts (bytes; characters for UTF-16 input): a longer
#: line is one error naming it, skipped without being held in memory
MAX_LINE_BYTES = 16 * 1024 * 1024
#: the largest JSON document :func:`read_json` reads whole (bytes)
MAX_JSON_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 16


def _split_chunks(chunks, limit: int, empty, cr, lf):
    """Lines of a stream of chunks (all ``bytes`` or all ``str``), cut at LF, CRLF and a lone CR.

    Yields each line without its end, or ``None`` for a line longer than ``limit`` (its content is
    dropped as it streams past, so no more than ``limit`` plus one chunk is ever held).
    """
    parts: list = []  # the start of a line that spans chunks
    held = 0  # its length
    skipping = False  # inside a line already past the limit
    held_cr = False  # the previous chunk ended with CR: a LF at the start of this one belongs to it
    for chunk in chunks:
        if held_cr and chunk[:1] == lf:
            chunk = chunk[1:]
        held_cr = False
        start, n = 0, len(chunk)
        while start < n:
            i_lf = chunk.find(lf, start)
            i_cr = chunk.find(cr, start, i_lf if i_lf >= 0 else n)
            end = i_cr if i_cr >= 0 else i_lf
            if end < 0:  # no line end in the rest of this chunk
                if not skipping:
                    parts.append(chunk[start:])
                    held += n - start
                    if held > limit:
                        parts, held, skipping = [], 0, True
                break
            if skipping:
                skipping = False
                yield None
            elif held + end - start > limit:
                parts, held = [], 0
                yield None
            elif parts:
                parts.append(chunk[start:end])
                yield empty.join(parts)
                parts, held = [], 0
            else:
                yield chunk[start:end]
            if end == i_cr:
                if end + 1 < n:
                    start = end + 2 if chunk[end + 1:end + 2] == lf else end + 1
                else:
                    held_cr, start = True, n
            else:
                start = end + 1
    if skipping:
        yield None
    elif parts:
        yield empty.join(parts)


def _byte_chunks(fh):
    while chunk := fh.read(_CHUNK):
        yield chunk


def iter_lines(path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, "str | InputError"]]:
    """Stream the lines of a text file as ``(line_number, text)``, without line ends.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a line; a UTF-8 byte-order mark is
    dropped; a UTF-16 file with a byte-order mark is decoded as such (incrementally). A line that
    is not UTF-8 (or holds NUL bytes), or is longer than ``max_line_bytes``, comes back as an
    :class:`InputError` naming the line, in place of the text, so the caller can reject it and go
    on; memory stays within one line of at most ``max_line_bytes``. A file that looks like UTF-16
    without a byte-order mark is one error for the whole file.
    """
    too_long = f"line longer than {max_line_bytes} bytes (the limit of one line); skipped"
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith(_UTF16_BOMS):
            yield from _utf16_lines(fh, path, max_line_bytes, too_long)
            return
        if len(head) == 4 and (head[1::2] == b"\0\0" or head[0::2] == b"\0\0"):
            yield 1, InputError(path, "looks like UTF-16 without a byte-order mark; save it as UTF-8")
            return
        for lineno, piece in enumerate(_split_chunks(_byte_chunks(fh), max_line_bytes, b"", b"\r", b"\n"), 1):
            if piece is None:
                yield lineno, InputError(path, too_long, lineno)
                continue
            if b"\0" in piece:
                yield lineno, InputError(path, "contains NUL bytes (binary data?)", lineno)
                continue
            try:
                yield lineno, piece.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                yield lineno, InputError(
                    path, f"not UTF-8 text (invalid byte 0x{e.object[e.start]:02x}); re-save the file as UTF-8",
                    lineno)


def _utf16_lines(fh, path, limit: int, too_long: str):
    decoder = codecs.getincrementaldecoder("utf-16")()
    state = {"line": 0}

    def chunks():
        while True:
            raw = fh.read(_CHUNK)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as e:
                raise _BrokenUtf16(e.reason) from None
            if text:
                yield text
            if not raw:
                return

    try:
        for piece in _split_chunks(chunks(), limit, "", "\r", "\n"):
            state["line"] += 1
            if piece is None:
                yield state["line"], InputError(path, too_long, state["line"])
            else:
                yield state["line"], piece
    except _BrokenUtf16 as e:
        line = state["line"] + 1
        yield line, InputError(path, f"broken UTF-16 text ({e})", line)


class _BrokenUtf16(Exception):
    pass


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


def write_target(path) -> Path:
    """The file a write to ``path`` lands in: for a symlink (or a chain of them) its final target,
    so the link stays a link and the file it points at receives the data."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _new_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A fresh ``.NAME.XXXXXXXX.tmp`` in ``folder``, created with mode 0666 less the umask (what
    ``open`` gives a new file; ``mkstemp`` would make it 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: cannot create a temporary file for {name}")


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Write to a temporary file in the same folder, fsync, then ``os.replace``.

    Readers see either the old file or the complete new one, never a half-written one. The new
    file keeps the permission bits (and, where allowed, the owner and group) of the file it
    replaces; a new file gets the umask default, as ``open`` would. When ``path`` is a symlink the
    write goes to its target (the link is kept); lock that same file with :func:`file_lock`.
    """
    path = write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        old = None
    fd, tmp = _new_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            if old is not None:
                _keep_metadata(fh.fileno(), tmp, old)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _keep_metadata(fd: int, tmp: Path, old: os.stat_result) -> None:
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(OSError):  # only root (or a group member) may; the mode matters most
            os.fchown(fd, old.st_uid, old.st_gid)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))
    else:  # pragma: no cover - Windows
        os.chmod(tmp, stat.S_IMODE(old.st_mode))


def _fsync_folder(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open a folder
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@contextlib.contextmanager
def file_lock(path, timeout: float | None = None):
    """Exclusive lock on ``<file>.lock`` (blocks until the other writer finishes; ``timeout`` in seconds).

    ``<file>`` is the file a write to ``path`` lands in (:func:`write_target`: a symlink's
    target), so writers reaching one store through different links lock the same file. Uses
    :mod:`filelock`, so it works on Linux, macOS and Windows alike. A lock not obtained within
    ``timeout`` raises :class:`TimeoutError` naming ``path``.
    """
    from filelock import FileLock, Timeout

    lock_path = Path(str(write_target(path)) + ".lock")
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
                value = detached(e)  # no traceback, no chained decoder error holding the line
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


def read_bytes_capped(path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is an :class:`InputError`
    (a FIFO or device would never end, a huge file would fill the memory)."""
    p = Path(path)
    with open(p, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InputError(p, f"not a regular file; a {what} must be one")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(p, f"larger than {limit} bytes, the limit of a {what}")
    return data


def read_json(path, missing_ok: bool = False, default=None, limit: int = MAX_JSON_BYTES):
    """One JSON document; a missing file is ``default`` with ``missing_ok``, bad JSON (or a file over
    ``limit`` bytes, or not a regular file) an :class:`InputError`."""
    p = Path(path)
    if missing_ok and not p.exists():
        return default
    try:
        text = read_bytes_capped(p, limit, "JSON document").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(p, "not UTF-8 text") from None
    return parse_json_line(text, p)


#: bounds of a params file: its size, its nesting, and its values once aliases are expanded
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 40
MAX_YAML_VALUES = 100_000


class _Refused(Exception):
    """A params file refused while composing (too deep, too many values, a duplicate key)."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.mark = mark


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and nesting deeper than :data:`MAX_YAML_DEPTH`."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class names an unhashable key
                if key in first:
                    raise _Refused(f"duplicate key {key!r} (first on line {first[key] + 1}); "
                                   "YAML would silently keep the last one", key_node.start_mark)
                first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _count_values(root) -> None:
    """Refuse a node graph that holds more than :data:`MAX_YAML_VALUES` values once every alias is
    expanded (a "billion laughs" file is small as YAML and huge as data), or a recursive alias."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise _Refused("an alias refers to a node that contains it (a recursive structure)", node.start_mark)
        busy.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        busy.discard(key)
        if n > MAX_YAML_VALUES:
            raise _Refused(f"more than {MAX_YAML_VALUES} values once its aliases are expanded "
                           "(an alias bomb?)", node.start_mark)
        sizes[key] = n
        return n

    size(root)


def _decode(raw: bytes, path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: broken UTF-16 text ({e.reason})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        at = e.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, at) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (invalid byte 0x{raw[at]:02x} at offset {at}); "
                          "re-save the file as UTF-8") from None


def safe_load_yaml(raw: bytes, path="params.yaml"):
    """Parse a YAML document safely and within bounds; every problem is a one-line :class:`ConfigError`.

    Plain ``yaml.safe_load`` plus: UTF-8 (or BOM-marked UTF-16) only, at most :data:`MAX_YAML_BYTES`,
    no duplicate keys (YAML keeps the last one silently), nesting at most :data:`MAX_YAML_DEPTH`,
    at most :data:`MAX_YAML_VALUES` values with aliases expanded (anchors and aliases stay usable).
    """
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_YAML_BYTES} bytes; not a params file")
    text = _decode(raw, path)
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _count_values(node)
        return loader.construct_document(node)
    except _Refused as e:
        where = f"{path}:{e.mark.line + 1}" if e.mark is not None else str(path)
        raise ConfigError(f"{where}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        why = " ".join(str(getattr(e, "problem", None) or e).split())  # one line
        raise ConfigError(f"{where}: not valid YAML ({why})") from None
    except (ValueError, OverflowError, RecursionError) as e:  # e.g. a 5,000-digit integer, 2024-13-45
        raise ConfigError(f"{path}: not valid YAML ({str(e).split(':')[0][:200]})") from None
    finally:
        if loader is not None:
            loader.dispose()
