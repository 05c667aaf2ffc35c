"""Hostile input to ``vistance ingest``: every case is either repaired (same paragraphs as the
clean file) or rejected with a message naming the file (and line), never a traceback.

The outcome of each case is recorded in the table of ``docs/robustness.md``.
Seed text format: an optional first line `` date YYYY-MM-DD [• source | title]``, a title
line, then one paragraph per non-empty line.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from vistance.corpus import IngestReport, ingest_paths
from vistance.corpus.readers import iter_jsonl_articles, read_seed_text
from vistance.errors import InputError

TITLE = "Việt Nam và Nhật Bản thúc đẩy hợp tác"
PARAS = [
    "Hai bên nhất trí tăng cường hợp tác kinh tế, thương mại và đầu tư trong thời gian tới.",
    "Bộ trưởng Ngoại giao hai nước đã hội đàm tại Hà Nội vào sáng ngày thứ Hai tuần này.",
    "Việt Nam kiên quyết phản đối mọi hành vi vi phạm chủ quyền trên Biển Đông của mình.",
]
# old-style tone marks ("hoà", "thuỷ") are rewritten by normalize(); these are already new style


def seed_text(date: str | None = "2024-03-05", title: str = TITLE, paras=PARAS, source: str | None = "• Báo Mẫu") -> str:
    head = [f" date {date}" + (f"   {source}" if source else "")] if date is not None else []
    return "\n".join(head + [title, ""] + [p + "\n" for p in paras])


def article_json(aid="a1", **kw) -> dict:
    return {"id": aid, "title": TITLE, "date": "2024-03-05", "source": "vov.vn", "paragraphs": PARAS, **kw}


def ingest(*paths):
    report = IngestReport()
    paras = list(ingest_paths(list(paths), report=report))
    return paras, report


def records(paras):
    return [(p.paragraph_id, p.text, p.text_sha1, p.title, p.date, p.source) for p in paras]


def messages(report) -> str:
    return "\n".join(str(e) for e in report.errors)


def run_cli(*args, env=None, timeout=120):
    e = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vistance.cli", *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout)


@pytest.fixture
def reference(tmp_path):
    """The clean seed file (UTF-8, LF, NFC) and what it ingests to."""
    d = tmp_path / "ref"
    d.mkdir()
    (d / "a.txt").write_text(seed_text(), encoding="utf-8")
    paras, report = ingest(d / "a.txt")
    assert not report.errors and len(paras) == 3
    return records(paras)


# -- repaired silently: same paragraph ids, texts and hashes as the clean file ---------------------
def _zero_width(s: str) -> str:
    # a zero-width space, joiner and a soft hyphen inside words, a BOM mid-line
    return s.replace("hợp tác", "hợp\u200b tác").replace("Nhật", "Nh\u200dật").replace("Biển", "Bi\u00adển")


REPAIRED = {
    "utf8_bom": lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
    "utf16_le_bom": lambda t: t.encode("utf-16"),  # Python writes a BOM (little-endian here)
    "utf16_be_bom": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "crlf": lambda t: t.replace("\n", "\r\n").encode("utf-8"),
    "cr_only": lambda t: t.replace("\n", "\r").encode("utf-8"),
    "nfd": lambda t: unicodedata.normalize("NFD", t).encode("utf-8"),
    "zero_width_and_bidi": lambda t: _zero_width(t).replace("Hai bên", "\u202aHai\u202c bên").encode("utf-8"),
    "control_chars_between_words": lambda t: t.replace(" bên ", " \x07bên\x1b ").encode("utf-8"),
    "nbsp_and_tabs": lambda t: t.replace("hai nước", "hai\u00a0\tnước").encode("utf-8"),
    "trailing_spaces_blank_lines": lambda t: ("\n\n" + t.replace("\n", "   \n\n")).encode("utf-8"),
}


@pytest.mark.parametrize("case", sorted(REPAIRED))
def test_encoding_line_end_and_invisible_noise_is_repaired_to_the_same_paragraphs(case, tmp_path, reference):
    f = tmp_path / "a.txt"
    f.write_bytes(REPAIRED[case](seed_text()))
    paras, report = ingest(f)
    assert not report.errors, messages(report)
    assert records(paras) == reference
    for p in paras:
        assert unicodedata.is_normalized("NFC", p.text)
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in p.text)


def test_jsonl_with_bom_crlf_cr_or_utf16_gives_the_same_articles(tmp_path):
    lines = [json.dumps(article_json("a1"), ensure_ascii=False), json.dumps(article_json("a2"), ensure_ascii=False)]
    variants = {
        "lf": ("\n".join(lines) + "\n").encode("utf-8"),
        "crlf": ("\r\n".join(lines) + "\r\n").encode("utf-8"),
        "cr": ("\r".join(lines) + "\r").encode("utf-8"),
        "bom": b"\xef\xbb\xbf" + ("\n".join(lines)).encode("utf-8"),
        "utf16": ("\n".join(lines) + "\n").encode("utf-16"),
        "nfd": unicodedata.normalize("NFD", "\n".join(lines)).encode("utf-8"),
    }
    out = {}
    for name, data in variants.items():
        d = tmp_path / name
        d.mkdir()
        (d / "news.jsonl").write_bytes(data)
        paras, report = ingest(d / "news.jsonl")
        assert not report.errors, (name, messages(report))
        out[name] = [(p.paragraph_id, p.text_sha1, p.date) for p in paras]
    assert len(out["lf"]) == 3  # a2 repeats a1's texts: dropped as duplicates
    assert all(v == out["lf"] for v in out.values())


# -- rejected with a message naming the file (and the line) -----------------------------------------
LATIN1 = seed_text().encode("utf-8").replace("Việt Nam kiên".encode("utf-8"), "Café résumé".encode("latin-1"))

REJECTED = {
    # name: (bytes, message fragment, line or None)
    "latin1": (LATIN1, "not UTF-8 text (invalid byte 0xe9", 8),
    "cp1258_tail": (seed_text(source=None, title="Tieu de", paras=["Hai ben nhat tri ve hop tac kinh te va dau tu trong nam toi."]).encode("ascii") + "Hai ben đa\u0303 ky".encode("cp1258"), "not UTF-8", 5),
    "random_bytes": (random.Random(7).randbytes(4096), None, None),
    "utf16_without_bom": (seed_text().encode("utf-16-le"), "NUL bytes", 1),
    "empty_file": (b"", "empty file", None),
    "only_white_space": (b" \n\t\r\n\xc2\xa0\n", "empty file", None),
    "only_zero_width": ("\u200b\ufeff\u200d\n".encode("utf-8"), "empty file", None),
    "header_only": (b" date 2024-03-05   \xe2\x80\xa2 B\xc3\xa1o M\xe1\xba\xabu\n", "no body", None),
    "header_and_title_only": (f" date 2024-03-05\n{TITLE}\n".encode("utf-8"), "no body", None),
    "title_only": (f"{TITLE}\n".encode("utf-8"), "no body", None),
    "impossible_date": (seed_text(date="2024-02-30").encode("utf-8"), "impossible date '2024-02-30'", 1),
    "month_13": (seed_text(date="2024-13-01").encode("utf-8"), "impossible date", 1),
    "malformed_date": (seed_text(date="5/3/2024").encode("utf-8"), "bad date '5/3/2024': expected YYYY-MM-DD", 1),
    "short_date": (seed_text(date="2024-3-5").encode("utf-8"), "bad date", 1),
    "fullwidth_digit_date": (seed_text(date="２０２４-03-05").encode("utf-8"), "bad date", 1),
    "date_after_blank_lines": (("\n\n" + seed_text(date="2024-02-30")).encode("utf-8"), "impossible date", 3),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_unusable_seed_files_are_rejected_by_name_and_line(case, tmp_path):
    data, fragment, line = REJECTED[case]
    f = tmp_path / f"{case}.txt"
    f.write_bytes(data)
    paras, report = ingest(f)
    assert paras == [] and len(report.errors) == 1
    err = report.errors[0]
    assert isinstance(err, InputError) and err.path == str(f)
    if fragment is not None:
        assert fragment in err.reason, err
    if line is not None:
        assert err.line == line and str(err).startswith(f"{f}:{line}: ")
    else:
        assert str(err).startswith(f"{f}")


def test_random_bytes_never_escape_as_another_exception(tmp_path):
    rng = random.Random(0)
    for i in range(200):
        f = tmp_path / f"r{i}.txt"
        f.write_bytes(rng.randbytes(rng.randrange(0, 600)))
        try:
            read_seed_text(f)
        except InputError as e:
            assert str(e).startswith(str(f))


def test_missing_date_header_means_no_date(tmp_path):
    f = tmp_path / "nodate.txt"
    f.write_text(seed_text(date=None), encoding="utf-8")
    paras, report = ingest(f)
    assert not report.errors and len(paras) == 3
    assert {p.date for p in paras} == {None} and paras[0].title == TITLE


JSONL_BAD_LINES = [
    ("{not json", "invalid JSON"),
    ("[1, 2, 3]", "expected a JSON object, got list"),
    ('"just a string"', "expected a JSON object, got str"),
    ("null", "expected a JSON object, got NoneType"),
    (json.dumps({"title": "x", "paragraphs": PARAS}), "missing or non-string 'id'"),
    (json.dumps({"id": 42, "paragraphs": PARAS}), "missing or non-string 'id'"),
    (json.dumps({"id": "b"}), "has no 'paragraphs' or 'sentences' list"),
    (json.dumps({"id": "c", "paragraphs": "not a list"}), "has no 'paragraphs'"),
    (json.dumps({"id": "d", "paragraphs": ["ok", 3]}), "every paragraph must be a string"),
    (json.dumps({"id": "e", "paragraphs": ["", "  "]}), "has no body"),
    (json.dumps({"id": "f", "paragraphs": PARAS, "date": "2024-02-30"}), "impossible date"),
    (json.dumps({"id": "g", "paragraphs": PARAS, "date": 20240305}), "bad date"),
    ('{"id": "h", "paragraphs": ["\\ud800 lone surrogate"]}', "lone UTF-16 surrogate"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"id": "i", "n": ' + "9" * 5000 + "}", "invalid JSON"),
]


def test_bad_jsonl_lines_are_rejected_with_their_number_and_the_rest_ingests(tmp_path):
    good = json.dumps(article_json("good"), ensure_ascii=False)
    body = [good] + [line for line, _ in JSONL_BAD_LINES]
    raw = ("\n".join(body) + "\n").encode("utf-8")
    raw += "Café".encode("latin-1") + b"\n" + b'{"id": "nul\x00", "paragraphs": []}\n'
    f = tmp_path / "news.jsonl"
    f.write_bytes(raw)
    paras, report = ingest(f)
    assert {p.article_id for p in paras} == {"good"} and len(paras) == 3
    by_line = {e.line: e.reason for e in report.errors}
    for n, (_line, fragment) in enumerate(JSONL_BAD_LINES, start=2):
        assert fragment in by_line.get(n, ""), (n, fragment, by_line.get(n))
    n = len(JSONL_BAD_LINES) + 2
    assert "not UTF-8" in by_line[n] and "NUL" in by_line[n + 1]
    assert len(report.errors) == len(JSONL_BAD_LINES) + 2
    assert all(str(e).startswith(f"{f}:{e.line}: ") for e in report.errors)


def test_empty_or_utf16_without_bom_jsonl_is_one_error_for_the_file(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"\n \n")
    (tmp_path / "u16.jsonl").write_bytes((json.dumps(article_json()) + "\n").encode("utf-16-le") * 50)
    _paras, report = ingest(tmp_path / "empty.jsonl", tmp_path / "u16.jsonl")
    assert sorted(e.reason.split(";")[0] for e in report.errors) == [
        "empty file: no articles", "looks like UTF-16 without a byte-order mark"]


def test_duplicate_article_ids_keep_the_first_in_sorted_file_order(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "a.txt").write_text(seed_text(), encoding="utf-8")
    (tmp_path / "y" / "a.txt").write_text(seed_text(paras=["Một đoạn văn khác hẳn, đủ dài để được giữ lại ở đây."]), encoding="utf-8")
    paras, report = ingest(tmp_path)
    assert len(paras) == 3 and "duplicate article id 'a'" in messages(report)
    assert str(tmp_path / "y" / "a.txt") in messages(report)


# -- size ------------------------------------------------------------------------------------------
def test_a_multi_megabyte_paragraph_is_dropped_as_too_long_with_a_warning(tmp_path):
    huge = ("Việt Nam và Nhật Bản tăng cường hợp tác kinh tế, thương mại và đầu tư. " * 40_000).strip()
    assert len(huge.encode("utf-8")) > 3_000_000
    f = tmp_path / "big.txt"
    f.write_text(seed_text(paras=[PARAS[0], huge, PARAS[1]]), encoding="utf-8")
    t0 = time.perf_counter()
    paras, report = ingest(f)
    assert time.perf_counter() - t0 < 20
    assert not report.errors and report.dropped["too_long"] == 1
    assert [p.text for p in paras] == [PARAS[0], PARAS[1]]
    assert [p.paragraph_id for p in paras] == ["big/p000", "big/p002"]  # ids count raw blocks
    assert len(report.warnings) == 1 and str(f) in report.warnings[0] and "too_long" in report.warnings[0]


def test_a_hundred_thousand_tiny_paragraphs_ingest_in_linear_time(tmp_path):
    n = 100_000
    f = tmp_path / "tiny.txt"
    f.write_text(" date 2024-03-05\nTiêu đề\n" + "".join(f"Đây là câu số {i}.\n" for i in range(n)), encoding="utf-8")
    t0 = time.perf_counter()
    paras, report = ingest(f)
    elapsed = time.perf_counter() - t0
    assert not report.errors and len(paras) == n
    assert paras[0].paragraph_id == "tiny/p000" and paras[-1].paragraph_id == f"tiny/p{n - 1}"
    assert len({p.paragraph_id for p in paras}) == n
    assert elapsed < 45, f"{elapsed:.1f} s: quadratic again?"


# -- folders ---------------------------------------------------------------------------------------
def make_messy_folder(root: Path) -> Path:
    d = root / "raw"
    (d / "sub").mkdir(parents=True)
    (d / ".git").mkdir()
    (d / ".ipynb_checkpoints").mkdir()
    (d / "a.txt").write_text(seed_text(), encoding="utf-8")
    (d / "sub" / "B.TXT").write_text(seed_text(paras=["Hai nước ký kết thỏa thuận hợp tác về khoa học và công nghệ mới."]), encoding="utf-8")
    (d / "README.md").write_text("# notes\n", encoding="utf-8")
    (d / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (d / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (d / "noext").write_text("hello", encoding="utf-8")
    (d / ".hidden.txt").write_text(seed_text(), encoding="utf-8")
    (d / ".git" / "COMMIT.txt").write_text(seed_text(), encoding="utf-8")
    (d / ".ipynb_checkpoints" / "a-checkpoint.txt").write_text(seed_text(), encoding="utf-8")
    os.mkfifo(d / "pipe.txt")  # would block forever if opened
    (d / "dangling.txt").symlink_to(d / "does-not-exist.txt")
    return d


def test_unrelated_hidden_and_special_files_in_a_folder_are_skipped(tmp_path):
    d = make_messy_folder(tmp_path)
    paras, report = ingest(d)
    assert not report.errors, messages(report)
    assert sorted({p.article_id for p in paras}) == ["B", "a"]
    skipped = {Path(s).name for s in report.skipped_files}
    assert {"README.md", "photo.jpg", "data.csv", "noext", ".hidden.txt", "pipe.txt", "dangling.txt"} <= skipped
    assert "COMMIT.txt" not in skipped and "a-checkpoint.txt" not in skipped  # hidden folders not entered


def test_named_unsupported_missing_or_special_paths_are_rejected(tmp_path):
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    _paras, report = ingest(tmp_path / "notes.md", tmp_path / "nope.txt", tmp_path / "pipe.txt")
    got = sorted((Path(e.path).name, e.reason.split(";")[0]) for e in report.errors)
    assert got == [("nope.txt", "no such file or folder"), ("notes.md", "unsupported file type .md"),
                   ("pipe.txt", "not a regular file or folder")]


def test_output_does_not_depend_on_directory_listing_order(tmp_path, monkeypatch):
    import vistance.corpus.ingest as ingest_mod

    d = tmp_path / "raw"
    (d / "z").mkdir(parents=True)
    for i, name in enumerate(["m.txt", "b.txt", "z/a.txt", "k.jsonl"]):
        paras = [f"Đoạn {i}-{j}: hai bên trao đổi về hợp tác kinh tế và thương mại." for j in range(3)] + [PARAS[0]]
        if name.endswith(".jsonl"):
            (d / name).write_text(json.dumps(article_json("j1", paragraphs=paras), ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            (d / name).write_text(seed_text(paras=paras), encoding="utf-8")
    first = records(ingest(d)[0])
    real_walk = os.walk

    def reversed_walk(top, *a, **k):
        for root, dirs, names in real_walk(top, *a, **k):
            dirs.reverse()
            yield root, dirs, list(reversed(names))

    monkeypatch.setattr(ingest_mod.os, "walk", reversed_walk)
    assert records(ingest(d)[0]) == first
    assert records(ingest(*reversed([d / "z" / "a.txt", d / "m.txt", d / "b.txt", d / "k.jsonl"]))[0]) == first
    assert sum(1 for r in first if r[1] == PARAS[0]) == 1  # the shared paragraph kept once, in the first file


# -- the CLI contract --------------------------------------------------------------------------------
def test_cli_ingest_exit_codes_messages_and_summary(tmp_path):
    d = make_messy_folder(tmp_path)
    (d / "bad_date.txt").write_bytes(REJECTED["impossible_date"][0])
    (d / "latin1.txt").write_bytes(LATIN1)
    (d / "empty.txt").write_bytes(b"")
    other = ["Hai nước đồng ý mở rộng hợp tác giáo dục, văn hóa và giao lưu nhân dân trong năm nay."]
    (d / "news.jsonl").write_text(json.dumps(article_json("n1", paragraphs=other), ensure_ascii=False) + "\n{oops\n",
                                  encoding="utf-8")
    out, rep = tmp_path / "out" / "p.jsonl", tmp_path / "report.json"
    r = run_cli("ingest", d, "--output", out, "--report", rep)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    for expected in (f"vistance: {d / 'bad_date.txt'}:1: impossible date '2024-02-30'",
                     f"vistance: {d / 'latin1.txt'}:8: not UTF-8 text",
                     f"vistance: {d / 'empty.txt'}: empty file",
                     f"vistance: {d / 'news.jsonl'}:2: invalid JSON"):
        assert expected in r.stderr, (expected, r.stderr)
    summary = r.stderr.strip().splitlines()[-1]
    assert "4 input(s) rejected" in summary and "unrelated file(s)" in summary
    ids = [json.loads(l)["article_id"] for l in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(set(ids)) == ["B", "a", "n1"]
    assert len(json.loads(rep.read_text(encoding="utf-8"))["rejected"]) == 4

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_bytes(REPAIRED["crlf"](seed_text()))
    r = run_cli("ingest", clean, "-o", tmp_path / "clean.jsonl")
    assert r.returncode == 0 and "vistance:" not in r.stderr, r.stderr


def test_cli_ingest_usage_errors_exit_2_and_missing_input_exits_1(tmp_path):
    r = run_cli("ingest", tmp_path)  # no --output
    assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("ingest", "--output", tmp_path / "o.jsonl")  # no path
    assert r.returncode == 2
    r = run_cli("ingest", "--sentence-window", "two", tmp_path, "-o", tmp_path / "o.jsonl")
    assert r.returncode == 2
    r = run_cli("ingest", tmp_path / "missing", "-o", tmp_path / "o.jsonl")
    assert r.returncode == 1 and f"vistance: {tmp_path / 'missing'}: no such file or folder" in r.stderr


def test_cli_ingest_output_is_atomic_when_the_output_cannot_be_written(tmp_path):
    (tmp_path / "a.txt").write_text(seed_text(), encoding="utf-8")
    target = tmp_path / "out_is_a_dir"
    target.mkdir()
    r = run_cli("ingest", tmp_path / "a.txt", "-o", target)
    assert r.returncode == 1 and "Traceback" not in r.stderr and str(target) in r.stderr
    assert target.is_dir() and not list(tmp_path.glob(".out_is_a_dir.*.tmp"))


def test_a_huge_file_of_tiny_blocks_via_jsonl_streams(tmp_path):
    # 20k one-article lines: streaming, one pass, ids unique
    f = tmp_path / "many.jsonl"
    with open(f, "w", encoding="utf-8") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": f"a{i}", "paragraphs": [f"Bài số {i}: hai nước nhất trí thúc đẩy hợp tác."]}, ensure_ascii=False) + "\n")
    paras = list(iter_jsonl_articles(f))
    assert len(paras) == 20_000
