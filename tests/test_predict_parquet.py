"""Parquet input to ``vistance predict`` and ``vistance analyze``: the same records give the same bytes
as JSONL, the same field rules and rejections (by row), bounded reading, and a clear one-line error
for a file that is not Parquet or lacks a column. (The Dask engine on Parquet: test_predict_dask.py.)"""
from __future__ import annotations

import json

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from vistance.cli import main  # noqa: E402
from vistance.errors import InputError  # noqa: E402
from vistance.input_records import iter_parquet, parquet_files  # noqa: E402
from vistance.predict import PredictReport, iter_requests, predict_file  # noqa: E402


@pytest.fixture(scope="module")
def records(seed_paragraphs):
    """Valid requests, then a duplicate id, a blank text, a null text and a null id."""
    recs = [{"id": f"r{i:04d}", "text": p.text} for i, p in enumerate(seed_paragraphs * 2)]
    return recs + [{"id": "r0000", "text": "dup"}, {"id": "x", "text": "   "}, {"id": "y", "text": None},
                   {"id": None, "text": "no id"}]


def write_jsonl(path, recs):
    with open(path, "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False) + "\n")
    return path


def write_parquet(path, recs, **kw):
    pq.write_table(pa.Table.from_pylist(recs, schema=pa.schema([("id", pa.string()), ("text", pa.string())])),
                   path, **kw)
    return path


def test_parquet_gives_the_bytes_and_rejections_of_the_same_jsonl(tmp_path, lexicon_folder, records):
    from vistance.models import load_model

    model = load_model(lexicon_folder)
    src_j = write_jsonl(tmp_path / "in.jsonl", records)
    src_p = write_parquet(tmp_path / "in.parquet", records, row_group_size=7)  # many row groups
    parts = tmp_path / "parts"
    parts.mkdir()
    for k, lo in enumerate(range(0, len(records), 10)):  # part.0, part.1, ... part.10 (natural order)
        write_parquet(parts / f"part.{k}.parquet", records[lo:lo + 10])
    (parts / "_SUCCESS").write_text("")
    (parts / "notes.txt").write_text("not a part")
    out = {}
    reports = {}
    for name, src in (("jsonl", src_j), ("parquet", src_p), ("folder", parts)):
        reports[name] = predict_file(model, src, tmp_path / f"{name}.out", batch_size=16, jobs=1, progress=False)
        out[name] = (tmp_path / f"{name}.out").read_bytes()
    assert out["jsonl"] == out["parquet"] == out["folder"] and reports["jsonl"].written == len(records) - 4
    reasons = [e.reason for e in reports["jsonl"].errors]
    assert reasons == [e.reason for e in reports["parquet"].errors] == [e.reason for e in reports["folder"].errors]
    assert len(reasons) == 4 and reasons[0].startswith("duplicate id")
    n = len(records)
    assert [e.line for e in reports["parquet"].errors] == [n - 3, n - 2, n - 1, n]  # rows, from 1
    assert str(reports["parquet"].errors[0]).startswith(f"{src_p}:{n - 3}: duplicate id")
    assert reports["parquet"].read == reports["jsonl"].read == n
    assert [p.name for p in parquet_files(parts)][-2:] == ["part.9.parquet", "part.10.parquet"]


def test_a_row_over_the_record_limit_is_rejected_and_the_rest_read(tmp_path):
    src = write_parquet(tmp_path / "big.parquet", [{"id": "a", "text": "ok"}, {"id": "b", "text": "x" * 5000},
                                                   {"id": "c", "text": "fine"}])
    got = [(n, r) for _, n, r in iter_parquet(src, ("id", "text"), max_row_bytes=1000)]
    assert [r for n, r in got if n != 2] == [{"id": "a", "text": "ok"}, {"id": "c", "text": "fine"}]
    assert isinstance(got[1][1], InputError) and "row larger than 1000 bytes" in str(got[1][1])


def test_a_parquet_file_is_read_in_bounded_slices(tmp_path, monkeypatch):
    """One row group of 5,000 rows, one 1,000-byte value repeated through the column's dictionary: the
    Arrow batches keep it once, and rows become Python text lazily, at most BATCH_BYTES (4 KiB here) at a time."""
    import vistance.input_records as ir

    monkeypatch.setattr(ir, "BATCH_BYTES", 4096)
    src = write_parquet(tmp_path / "one_group.parquet", [{"id": f"i{k}", "text": "t" * 1000} for k in range(5000)])
    assert pq.ParquetFile(src).metadata.num_row_groups == 1
    slices, dictionaries = [], set()
    real = ir._python

    def spy(col, t):
        dictionaries.add(pa.types.is_dictionary(col.type))
        values = real(col, t)
        slices.append(len(values))
        return values

    monkeypatch.setattr(ir, "_python", spy)
    stream = iter_parquet(src, ("id", "text"))
    assert next(stream)[2] == {"id": "i0", "text": "t" * 1000}
    assert slices == [4, 4]  # id and text of the first slice, nothing more yet
    assert sum(1 for _ in stream) == 4999 and max(slices) == 4 and dictionaries == {True}


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text('{"id": "a", "text": "b"}\n'), "not a Parquet file (no PAR1 marks at its start and "
                                                          "end); JSONL input needs a .jsonl name"),
    (lambda p: p.write_bytes(b"PAR1" + b"\0" * 40 + b"\x10\0\0\0PAR1"), "not a readable Parquet file"),
    (lambda p: pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), p), "no 'text' column (columns: id, body)"),
    (lambda p: pq.write_table(pa.table({"id": [1], "text": ["x"]}), p), "column 'id' holds int64, not text"),
])
def test_unusable_parquet_is_one_clear_error_and_no_output(tmp_path, lexicon_folder, capsys, make, message):
    src = tmp_path / "in.parquet"
    make(src)
    with pytest.raises(InputError, match="^" + str(src).replace(".", r"\.") + ": "):
        list(iter_requests(src, PredictReport()))
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(lexicon_folder), "--input", str(src), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_analyze_reads_parquet_paragraphs_like_jsonl(tmp_path, seed_paragraphs):
    """Dates as strings or Parquet dates, nulls as absent fields, the file's stem as the corpus."""
    import datetime as dt

    from vistance.analysis.run import iter_paragraph_batches

    rows = [{"paragraph_id": p.paragraph_id, "article_id": p.article_id, "date": p.date, "text": p.text}
            for p in seed_paragraphs[:30]]
    src_j = write_jsonl(tmp_path / "seeds.jsonl", rows)
    typed = [{**r, "date": dt.date.fromisoformat(r["date"]) if r["date"] else None} for r in rows]
    src_p = tmp_path / "seeds.parquet"
    pq.write_table(pa.Table.from_pylist(typed), src_p)
    assert pa.types.is_date32(pq.read_schema(src_p).field("date").type)
    flat = [r for b in iter_paragraph_batches(src_j, batch_size=7) for r in b]
    assert flat == [r for b in iter_paragraph_batches(src_p, batch_size=7) for r in b]
    assert any(r["date"] for r in flat) and {r["corpus"] for r in flat} == {"seeds"}
    pq.write_table(pa.table({"paragraph_id": ["a"]}), tmp_path / "notext.parquet")
    with pytest.raises(InputError, match="no 'text' column"):
        list(iter_paragraph_batches(tmp_path / "notext.parquet", errors=[]))
