"""Property-based tests (hypothesis): arbitrary bytes or text into the readers, the normaliser and
the predict reader give a result or the project's own error type -- never another exception --
and ingest is deterministic (same input -> same ids and hashes, whatever the listing order)."""
from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from vistance.corpus import IngestReport, ingest_paths
from vistance.corpus.readers import iter_jsonl_articles, read_seed_text
from vistance.errors import InputError, VistanceError
from vistance.predict import PredictReport, iter_requests
from vistance.text.normalize import normalize, text_sha1

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
# modest by default (the file runs in seconds); VISTANCE_HYPOTHESIS_SCALE=20 for a long hunt
SCALE = float(os.environ.get("VISTANCE_HYPOTHESIS_SCALE", "1"))
FAST = settings(max_examples=int(300 * SCALE), **SETTINGS)
SLOW = settings(max_examples=int(80 * SCALE), **SETTINGS)

# Vietnamese letters (precomposed and combining tone marks), the invisible and control characters
# normalize() removes, every kind of line end and some wide white space.
VI = list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯ hoàthuỷ quý Việt Nam hợp tác.,:;!?…\"()-–•0123456789") + [
    "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b",
    "\u200b", "\u200d", "\u200e", "\u202a", "\u202e", "\u2060", "\ufeff", "\u00ad",
    "\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f",
    "\n", "\r", "\r\n", "\t", "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "😀", "🇻🇳",
]
vi_text = st.lists(st.sampled_from(VI), max_size=300).map("".join)
any_text = st.one_of(st.text(max_size=300), vi_text)
# lone surrogates: only reachable through JSON escapes ("\ud800"), which json.loads accepts
surrogate_text = st.lists(st.one_of(st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from("ab ")), max_size=6).map("".join)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])

_TMP = Path(tempfile.mkdtemp(prefix="vistance-prop-"))
atexit.register(shutil.rmtree, _TMP, True)
_COUNTER = itertools.count()


def tmpfile(data: bytes, suffix: str) -> Path:
    f = _TMP / f"{next(_COUNTER)}" / f"art{suffix}"
    f.parent.mkdir()
    f.write_bytes(data)
    return f


# -- the normaliser -------------------------------------------------------------------------------
@FAST
@given(any_text)
@example("hoà thuỷ quý\r\nHOÀ")
@example("\ufeff\u200b \x00\r\r\n  ")
def test_normalize_is_total_idempotent_nfc_and_clean(s):
    out = normalize(s)
    assert normalize(out) == out
    assert unicodedata.is_normalized("NFC", out)
    assert "\r" not in out and out == out.strip()
    assert not any(c in out for c in "\u200b\u200d\u200e\u202a\u202e\u2060\ufeff\u00ad")
    assert not any(unicodedata.category(c) == "Cc" and c != "\n" for c in out)
    assert all(line == line.strip() for line in out.split("\n"))


@FAST
@given(any_text)
def test_the_hash_ignores_encoding_level_differences(s):
    digest = text_sha1(s)
    assert len(digest) == 40 and digest == hashlib.sha1(normalize(s).encode("utf-8")).hexdigest()
    for variant in (unicodedata.normalize("NFD", s), unicodedata.normalize("NFC", s),
                    re.sub("\r\n|\r|\n", "\r\n", s), re.sub("\r\n|\r|\n", "\r", s),
                    "\ufeff" + s, s.replace(" ", "\u200b \u00a0")):
        assert text_sha1(variant) == digest


# -- the seed text reader -------------------------------------------------------------------------
@SLOW
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\xff\xfe")
@example(b"\xfe\xff\xd8\x00")
@example(b" date 2024-02-30\nT\nBody line.")
def test_read_seed_text_on_arbitrary_bytes_returns_an_article_or_an_input_error(data):
    f = tmpfile(data, ".txt")
    try:
        art = read_seed_text(f)
    except InputError as e:
        assert e.path == str(f) and str(e).startswith(str(f))
        return
    assert art.blocks and all(b == b.strip() and b for b in art.blocks)
    assert art.date is None or len(art.date) == 10


@SLOW
@given(any_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1258"]))
def test_read_seed_text_on_arbitrary_text_in_any_encoding(text, encoding):
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    f = tmpfile(data, ".txt")
    try:
        read_seed_text(f)
    except InputError:
        pass


@st.composite
def seed_articles(draw):
    word = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạầấẩẫậềếểễệòóỏõọờớởỡợùúủũụừứửữự", min_size=1, max_size=8)
    sentence = st.lists(word, min_size=1, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")
    date = draw(st.one_of(st.none(), st.dates().map(lambda d: d.isoformat())))
    title = draw(sentence)
    paras = draw(st.lists(sentence, min_size=1, max_size=6))
    return date, title, paras


def render(date, title, paras, nl="\n") -> str:
    head = [f" date {date}"] if date else []
    return nl.join(head + [title, ""] + paras) + nl


@SLOW
@given(seed_articles(), line_ends, st.sampled_from(["plain", "bom", "utf16", "nfd", "zero-width"]))
def test_seed_text_repairs_are_invisible(article, nl, variant):
    date, title, paras = article
    clean = read_seed_text(tmpfile(render(date, title, paras).encode("utf-8"), ".txt"))
    text = render(date, title, paras, nl)
    data = {
        "plain": lambda: text.encode("utf-8"),
        "bom": lambda: b"\xef\xbb\xbf" + text.encode("utf-8"),
        "utf16": lambda: text.encode("utf-16"),
        "nfd": lambda: unicodedata.normalize("NFD", text).encode("utf-8"),
        "zero-width": lambda: text.replace(" ", "\u200b \u2060").encode("utf-8"),
    }[variant]()
    got = read_seed_text(tmpfile(data, ".txt"))
    assert (got.title, got.date, got.blocks) == (clean.title, clean.date, clean.blocks)
    assert got.date == date


# -- the JSONL readers ----------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["id", "title", "date", "source", "paragraphs", "sentences", "text", "x"]), inner, max_size=6),
    max_leaves=20,
)
article_like = st.fixed_dictionaries(
    {"id": st.one_of(any_text, st.integers(), st.none())},
    optional={"title": json_values, "date": st.one_of(st.dates().map(str), any_text, st.integers()),
              "source": json_values, "paragraphs": st.lists(st.one_of(any_text, st.integers()), max_size=5),
              "sentences": st.lists(any_text, max_size=5)},
)
json_lines = st.lists(st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    article_like.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.fixed_dictionaries({"id": surrogate_text, "paragraphs": st.lists(surrogate_text, max_size=3)}).map(json.dumps),
    any_text,
), max_size=8)


def _consume_articles(f: Path, window: int = 1):
    errors: list = []
    arts = list(iter_jsonl_articles(f, sentence_window=window, on_error=errors.append))
    assert all(isinstance(e, InputError) and e.path == str(f) for e in errors)
    for a in arts:
        assert isinstance(a.article_id, str) and a.article_id and a.blocks
        json.dumps(a.__dict__, ensure_ascii=False).encode("utf-8")  # always writable
    return arts, errors


@SLOW
@given(st.binary(max_size=3000))
def test_iter_jsonl_articles_on_arbitrary_bytes(data):
    _consume_articles(tmpfile(data, ".jsonl"))


@SLOW
@given(json_lines, line_ends, st.integers(1, 3))
def test_iter_jsonl_articles_on_json_ish_lines(lines, nl, window):
    arts, errors = _consume_articles(tmpfile(nl.join(lines).encode("utf-8"), ".jsonl"), window)
    assert len(arts) + len(errors) <= max(1, len(lines) + sum(l.count("\r") + l.count("\n") for l in lines))


# -- the predict reader ---------------------------------------------------------------------------
request_like = st.fixed_dictionaries(
    {}, optional={"id": st.one_of(any_text, st.integers(), st.none()), "text": st.one_of(any_text, st.integers(), st.none()),
                  "extra": json_values})


def _consume_requests(f: Path):
    report = PredictReport()
    got = list(iter_requests(f, report))
    assert all(isinstance(e, VistanceError) and str(e).startswith(str(f)) for e in report.errors)
    ids = [pid for pid, _ in got]
    assert len(ids) == len(set(ids))
    for pid, text in got:
        assert isinstance(pid, str) and pid.strip() and isinstance(text, str) and normalize(text)
        (pid + text).encode("utf-8")
    assert report.read == len(got) + len(report.errors)
    return got, report


@SLOW
@given(st.binary(max_size=3000))
def test_iter_requests_on_arbitrary_bytes(data):
    _consume_requests(tmpfile(data, ".jsonl"))


@FAST
@given(st.lists(st.one_of(request_like.map(lambda v: json.dumps(v, ensure_ascii=False)),
                          request_like.map(json.dumps), json_values.map(json.dumps), any_text,
                          st.fixed_dictionaries({"id": surrogate_text, "text": surrogate_text}).map(json.dumps)),
                max_size=10),
       line_ends)
@example(['{"id": "\\ud800", "text": "x"}', '{"id": "a", "text": "\\udfff"}', "[" * 5000], "\n")
def test_iter_requests_on_json_ish_lines(lines, nl):
    _consume_requests(tmpfile(nl.join(lines).encode("utf-8"), ".jsonl"))


# -- determinism of ingest ------------------------------------------------------------------------
@st.composite
def corpora(draw):
    names = draw(st.lists(st.text(alphabet="abcxyz019_-", min_size=1, max_size=6), min_size=1, max_size=5, unique=True))
    files = {}
    for n in names:
        sub = draw(st.sampled_from(["", "sub/", "sub/deeper/"]))
        if draw(st.booleans()):
            files[f"{sub}{n}.txt"] = render(*draw(seed_articles())).encode("utf-8")
        else:
            arts = draw(st.lists(seed_articles(), min_size=1, max_size=3))
            files[f"{sub}{n}.jsonl"] = "".join(
                json.dumps({"id": f"{n}-{i}", "title": t, "date": d, "paragraphs": p}, ensure_ascii=False) + "\n"
                for i, (d, t, p) in enumerate(arts)).encode("utf-8")
    return files


def _ingest_dir(files: dict, order_seed: int | None = None):
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        root = Path(tmp)
        items = list(files.items())
        if order_seed is not None:  # create the files in another order (another listing order on most file systems)
            random.Random(order_seed).shuffle(items)
        for rel, data in items:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        report = IngestReport()
        out = [(p.paragraph_id, p.text_sha1, p.text) for p in ingest_paths([root], report=report)]
        return out, sorted(str(e).replace(str(root), "ROOT") for e in report.errors)


@SLOW
@given(corpora(), st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_ingest_is_deterministic_and_independent_of_listing_order(files, order_seed, rnd):
    import vistance.corpus.ingest as ingest_mod

    first = _ingest_dir(files)
    assert _ingest_dir(files) == first
    assert _ingest_dir(files, order_seed) == first
    real_walk = os.walk

    def shuffled_walk(top, *a, **k):  # the OS may list a folder in any order
        for root, dirs, names in real_walk(top, *a, **k):
            rnd.shuffle(dirs)
            rnd.shuffle(names)
            yield root, dirs, names

    ingest_mod.os.walk = shuffled_walk
    try:
        assert _ingest_dir(files, order_seed) == first
    finally:
        ingest_mod.os.walk = real_walk
