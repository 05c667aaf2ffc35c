"""Records for prediction from JSONL or Parquet: one stream, the same rules downstream.

:func:`iter_records` yields ``(file, number, record)`` for a JSONL file (through
:func:`vistance.io.iter_json_values`: numbers are lines) or a Parquet file or folder of Parquet files
(numbers are rows, from 1 in each file); a record that cannot be used comes as an
:class:`~vistance.errors.InputError` in its place, for the caller's per-record checks to report. The
readers of ``vistance predict`` (:func:`vistance.predict.iter_requests`) and ``vistance analyze``
(:func:`vistance.analysis.run.iter_paragraph_batches`) both read through it.

Parquet is read in bounded batches (``pyarrow.parquet.ParquetFile.iter_batches``), never whole:

* only the columns asked for; a required column that is missing, or an ``id``/``text`` column that
  does not hold strings, is one error for the file; so is a file that is not Parquet, or whose
  footer is larger than :data:`MAX_FOOTER_BYTES`;
* column chunks stream through a :data:`READ_BUFFER_BYTES` buffer (a huge row group is never read
  whole); a batch holds about :data:`BATCH_BYTES` of the columns read (by the row groups' sizes, at
  most :data:`BATCH_ROWS` rows);
* string columns are read as Arrow dictionaries (a value repeated through a dictionary-encoded column
  is held once, not once per row), and rows become Python values in slices of at most
  :data:`BATCH_BYTES` of strings;
* a row whose strings are longer than ``max_row_bytes`` (default :data:`vistance.io.MAX_LINE_BYTES`,
  the limit of one JSONL line) is rejected before it becomes Python text. Parquet stores one cell in
  one page, and pyarrow decodes a page whole, so a giant cell is held once, as Arrow data, while it
  is measured (the format caps a page at 2 GiB; pyarrow offers no lower cap).

Null cells are absent keys (as a field missing from a JSON object); dates and timestamps become
``YYYY-MM-DD``. A folder is read file by file in natural order (``part.2`` before ``part.10``): its
``.parquet`` files, skipping names that start with ``.`` or ``_`` (``_metadata``); partition values in
folder names (``key=value``) are not read as columns.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Iterator, Sequence

from vistance.errors import InputError
from vistance.io import MAX_JSON_BYTES, MAX_LINE_BYTES, iter_json_values

PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
#: the largest Parquet footer (file metadata) read, bytes
MAX_FOOTER_BYTES = MAX_JSON_BYTES
#: the read buffer of a column chunk, bytes
READ_BUFFER_BYTES = 1 << 20
#: the target size of one batch of rows (the columns read, uncompressed), bytes, and its most rows
BATCH_BYTES = 16 * 1024 * 1024
BATCH_ROWS = 1024
_MAGIC = b"PAR1"  # at the start and the end of a Parquet file
_TEXT_COLUMNS = ("id", "text", "paragraph_id")  # must hold strings


def is_parquet(path) -> bool:
    """Parquet by name: a folder, or a name ending in ``.parquet``/``.parq``/``.pq`` (anything else is JSONL)."""
    p = Path(path)
    return p.suffix.lower() in PARQUET_SUFFIXES or p.is_dir()


def _natural(p: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.as_posix())]


def parquet_files(path) -> list[Path]:
    """``path`` itself, or the Parquet files under a folder (recursively, in natural order; those with a
    Parquet suffix when there are any, else every file whose name does not start with ``.`` or ``_``)."""
    p = Path(path)
    if not p.is_dir():
        return [p]
    files = [f for f in p.rglob("*") if f.is_file()
             and not any(part.startswith((".", "_")) for part in f.relative_to(p).parts)]
    named = [f for f in files if f.suffix.lower() in PARQUET_SUFFIXES]
    files = named or files  # the .parquet files; all files where a writer gave none a suffix
    if not files:
        raise InputError(p, "a folder with no Parquet files in it")
    return sorted(files, key=lambda f: _natural(f.relative_to(p)))


def _open(path: Path, max_footer: int):
    """A ``pyarrow.parquet.ParquetFile`` and its open file; every way it can fail is one :class:`InputError`."""
    import pyarrow as pa

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before opening: a FIFO would block the open
            raise InputError(path, "not a regular file; a Parquet input must be one")
        fh = open(path, "rb")
    except OSError as e:
        raise InputError(path, f"cannot open ({e.strerror or e})") from None
    try:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InputError(path, "not a regular file; a Parquet input must be one")
        if st.st_size < 12:
            raise InputError(path, "not a Parquet file (too short)")
        fh.seek(-8, os.SEEK_END)
        tail = fh.read(8)
        fh.seek(0)
        head = fh.read(4)
        if head != _MAGIC or tail[4:] != _MAGIC:
            hint = "; JSONL input needs a .jsonl name" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else ""
            raise InputError(path, f"not a Parquet file (no PAR1 marks at its start and end){hint}")
        footer = int.from_bytes(tail[:4], "little")
        if footer > max_footer or footer > st.st_size - 12:
            why = f"over the limit of {max_footer}" if footer > max_footer else "larger than the file"
            raise InputError(path, f"not a readable Parquet file (a footer of {footer} bytes, {why})")
        return _parquet_file(fh, max_footer), fh
    except InputError:
        fh.close()
        raise
    except (pa.ArrowException, OSError, ValueError) as e:
        fh.close()
        raise InputError(path, f"not a readable Parquet file ({_first_line(e)})") from None


def _parquet_file(fh, max_footer: int, read_dictionary=None):
    import pyarrow.parquet as pq

    fh.seek(0)
    return pq.ParquetFile(fh, buffer_size=READ_BUFFER_BYTES, pre_buffer=False, thrift_string_size_limit=max_footer,
                          read_dictionary=read_dictionary)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__


def _plan(pf, path: Path, columns: Sequence[str], required: Sequence[Sequence[str]]):
    """The columns to read (those of ``columns`` in the file) and their Arrow types, checked."""
    import pyarrow as pa

    schema = pf.schema_arrow
    present = [c for c in columns if schema.get_field_index(c) >= 0]
    for alternatives in required:
        if not any(c in present for c in alternatives):
            names = " or ".join(repr(c) for c in alternatives)
            raise InputError(path, f"no {names} column (columns: {', '.join(schema.names[:20]) or 'none'})")
    types = {}
    for c in present:
        t = schema.field(c).type
        if pa.types.is_dictionary(t):
            t = t.value_type
        is_str = pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view",
                                                                                    lambda _: False)(t)
        if c in _TEXT_COLUMNS and not (is_str or pa.types.is_null(t)):
            raise InputError(path, f"column {c!r} holds {t}, not text")
        if pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
            raise InputError(path, f"column {c!r} holds {t}; expected text, a number or a date")
        types[c] = t
    return present, types


def _batch_rows(pf, present: Sequence[str]) -> int:
    """Rows per batch: about :data:`BATCH_BYTES` of the columns read, by the densest row group."""
    md = pf.metadata
    idx = [i for i in range(md.num_columns) if md.schema.column(i).path in present]  # the read ones are flat
    worst = 1.0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        if rg.num_rows:
            size = sum(rg.column(i).total_uncompressed_size for i in idx)
            worst = max(worst, size / rg.num_rows)
    return int(max(1, min(BATCH_ROWS, BATCH_BYTES // worst)))


def _python(col, t):
    """A column of a batch as Python values (dates as ``YYYY-MM-DD``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_timestamp(t):
        col = pc.cast(col, pa.date32())
        t = pa.date32()
    if pa.types.is_date(t):
        col = pc.strftime(col, format="%Y-%m-%d") if pa.types.is_date64(t) else pc.cast(col, pa.string())
    return col.to_pylist()


def _byte_lengths(batch, present: Sequence[str]) -> list[int]:
    """The bytes of each row's strings, measured on the Arrow data (a dictionary's values once)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = None
    for c in present:
        col = batch.column(c)
        if pa.types.is_dictionary(col.type):
            if not (pa.types.is_string(col.type.value_type) or pa.types.is_large_string(col.type.value_type)):
                continue
            n = pc.take(pc.binary_length(col.dictionary), col.indices)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            n = pc.binary_length(col)
        else:
            continue
        n = pc.fill_null(n, 0)
        total = n if total is None else pc.add(total, n)
    return [0] * batch.num_rows if total is None else total.to_pylist()


def _string_columns(pf, present: Sequence[str]) -> list[str]:
    import pyarrow as pa

    out = []
    for c in present:
        t = pf.schema_arrow.field(c).type
        t = t.value_type if pa.types.is_dictionary(t) else t
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            out.append(c)
    return out


def iter_parquet(path, columns: Sequence[str], required: Sequence[Sequence[str]] = (),
                 max_row_bytes: int = MAX_LINE_BYTES,
                 max_footer: int = MAX_FOOTER_BYTES) -> Iterator[tuple[Path, int, "dict | InputError"]]:
    """``(file, row, record)`` for every row of a Parquet file or folder: ``record`` holds the
    non-null cells of ``columns`` (those the file has), or is an :class:`InputError` (a row whose
    strings exceed ``max_row_bytes``). ``required``: groups of alternative column names, one of each
    must be there. A file that cannot be read is raised, as one :class:`InputError`.

    String columns are read as Arrow dictionaries, so a value repeated through a dictionary-encoded
    column is not expanded in Arrow memory; rows become Python values in slices of at most
    :data:`BATCH_BYTES` of strings (plus one row).
    """
    import pyarrow as pa

    for f in parquet_files(path):
        pf, fh = _open(f, max_footer)
        try:
            present, types = _plan(pf, f, columns, required)
            if not present:
                continue
            strings = _string_columns(pf, present)
            if strings:  # reopen with the string columns as dictionaries
                pf.close()
                pf = _parquet_file(fh, max_footer, read_dictionary=strings)
            row = 0
            try:
                for batch in pf.iter_batches(batch_size=_batch_rows(pf, present), columns=present,
                                             use_threads=False):
                    sizes = _byte_lengths(batch, present)
                    i, n = 0, batch.num_rows
                    while i < n:
                        if sizes[i] > max_row_bytes:
                            row += 1
                            i += 1
                            yield f, row, InputError(f, f"row larger than {max_row_bytes} bytes (the limit of one "
                                                        "record); skipped", row)
                            continue
                        j, held = i, 0
                        while j < n and sizes[j] <= max_row_bytes and (j == i or held + sizes[j] <= BATCH_BYTES):
                            held += sizes[j]
                            j += 1
                        part = batch.slice(i, j - i)
                        values = [_python(part.column(c), types[c]) for c in present]
                        for cells in zip(*values):
                            row += 1
                            yield f, row, {c: v for c, v in zip(present, cells) if v is not None}
                        i = j
            except (pa.ArrowException, OSError) as e:
                raise InputError(f, f"cannot read from row {row + 1} on ({_first_line(e)})") from None
        finally:
            pf.close()
            fh.close()


def iter_records(path, columns: Sequence[str], required: Sequence[Sequence[str]] = ()
                 ) -> Iterator[tuple[Path, int, "dict | InputError"]]:
    """``(file, number, record)`` of a JSONL file (by line; a line that is not a JSON object is an
    :class:`InputError`) or of Parquet (:func:`iter_parquet`, by row), chosen by :func:`is_parquet`.
    JSONL records are whole objects; ``columns``/``required`` apply to Parquet."""
    if is_parquet(path):
        yield from iter_parquet(path, columns, required)
        return
    for lineno, obj in iter_json_values(path):
        if not isinstance(obj, (dict, InputError)):
            obj = InputError(path, f"expected a JSON object, got {type(obj).__name__}", lineno)
        yield path, lineno, obj


def iter_objects(path, columns: Sequence[str], required: Sequence[Sequence[str]] = (),
                 errors: list | None = None) -> Iterator[tuple[int, dict]]:
    """:func:`iter_records` with the contract of :func:`vistance.io.iter_jsonl`: ``(number, record)``;
    a record that cannot be used raises, or is appended to ``errors`` (when a list) and skipped."""
    for _, number, obj in iter_records(path, columns, required):
        if isinstance(obj, InputError):
            if errors is None:
                raise obj
            errors.append(obj)
            continue
        yield number, obj
