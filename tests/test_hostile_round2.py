"""Hostile input, second round (issue 21), one section per class of defect:

1. bounded memory on every reader (archive members and lines, rejected-input reports, YAML, predict-article);
2. nothing of the user's overwritten (output = input, publish, a failed fetch, atomic writes: mode, symlinks);
3. the manifest as the only truth (unlisted files, size limits, a bounded and typed manifest);
4. Label Studio identity (task, paragraph, text hash) and field types;
5. usage errors are one line and exit 2;
6. normalisation removes every bidi control.

Memory itself is measured by ``benchmarks/bench_hostile_memory.py`` (not in a timed test); here the
bounds are checked by their behaviour (a cap reached is an error naming it, a report keeps N items).
Outcomes are listed in ``docs/robustness.md``.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from vistance.cli import main
from vistance.errors import ConfigError, InputError, ModelError

HYPO = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory):
    from vistance.models.lexicon import LexiconModel

    folder = tmp_path_factory.mktemp("m") / "lexicon"
    LexiconModel().save(folder)
    return folder


def snapshot(root: Path) -> dict:
    """Every path under ``root`` -> (kind, bytes or link target, mode): what "nothing changed" compares."""
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        if p.is_symlink():
            out[str(p.relative_to(root))] = ("link", os.readlink(p), None)
        elif p.is_file():
            out[str(p.relative_to(root))] = ("file", p.read_bytes(), stat.S_IMODE(st_.st_mode))
        else:
            out[str(p.relative_to(root))] = ("dir", None, stat.S_IMODE(st_.st_mode))
    return out


def changed(before: dict, after: dict) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return code, err


# ================================================================== 1. bounded memory on every reader

def _news_archive(path: Path, member_text: bytes, post: str = "2024-04-08-a.md") -> Path:
    from vistance.corpus.fetch import UPSTREAMS

    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(UPSTREAMS["news-2024"].prefix + "_posts/" + post)
        info.size = len(member_text)
        tar.addfile(info, io.BytesIO(member_text))
    return path


MANIFEST_A = {"articles": [{"id": "2024-04-08-a.md#0", "sha256": "0" * 64}]}


def test_an_archive_member_past_the_cap_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    import vistance.corpus.fetch as fetch

    monkeypatch.setattr(fetch, "MAX_MEMBER_BYTES", 1000)
    bomb = _news_archive(tmp_path / "bomb.tar.gz", b"\n" * 5000)
    with pytest.raises(fetch.FetchError) as e:
        fetch.convert_archive(bomb, "news-2024", MANIFEST_A)
    msg = str(e.value)
    assert "member _posts/2024-04-08-a.md inflates to 5000 bytes" in msg and "cap of 1000 bytes" in msg
    assert "\n" not in msg


def test_a_line_past_the_cap_in_an_archive_member_is_refused_naming_the_line(tmp_path, monkeypatch):
    import vistance.corpus.fetch as fetch

    monkeypatch.setattr(fetch, "MAX_LINE_BYTES", 100)
    post = b"---\ndate: Mon, 08 Apr 2024 09:00:00 +0700\n---\n[T](https://vov.vn/a)\n\n" + "Đoạn ".encode() * 40 + b"\n"
    with pytest.raises(fetch.FetchError, match=r"_posts/2024-04-08-a\.md:6: line longer than 100 bytes"):
        fetch.convert_archive(_news_archive(tmp_path / "a.tar.gz", post), "news-2024", MANIFEST_A)


def test_the_cli_names_the_member_past_the_cap_in_one_line(tmp_path, capsys, monkeypatch):
    import vistance.corpus.fetch as fetch

    monkeypatch.setattr(fetch, "MAX_MEMBER_BYTES", 1000)
    post = fetch.load_manifest("news-2024")["articles"][0]["id"].rsplit("#", 1)[0]
    bomb = _news_archive(tmp_path / "bomb.tar.gz", b"\n" * 5000, post=post)
    code, err = cli(capsys, "corpus", "fetch", "news-2024", "--archive", bomb, "--out", tmp_path / "o", "--no-download")
    assert code == 1 and f"member _posts/{post} inflates to 5000 bytes" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "articles.jsonl").exists()


def test_predict_keeps_a_count_and_only_the_first_rejections_without_tracebacks(tmp_path, lexicon, capsys):
    from vistance.errors import Rejections
    from vistance.models import load_model
    from vistance.predict import predict_file

    inp = tmp_path / "in.jsonl"
    bad = [f'{{"id": "k{i}", "text": "không đóng' for i in range(Rejections.limit + 150)]
    inp.write_text("\n".join(bad + ['{"id": "ok", "text": "Hai nước hợp tác kinh tế."}']) + "\n", encoding="utf-8")
    rep = predict_file(load_model(lexicon), inp, tmp_path / "out.jsonl", jobs=1)
    assert rep.rejected == len(bad) and len(rep.errors) == Rejections.limit and rep.written == 1
    assert all(e.__traceback__ is None and e.__context__ is None for e in rep.errors)  # no frames, no copy of the line
    code, err = cli(capsys, "predict", "--model", lexicon, "--input", inp, "--output", tmp_path / "out2.jsonl")
    assert code == 1 and "... and 150 more rejected line(s)" in err and f"{len(bad)} rejected" in err
    assert len(err.strip().splitlines()) == Rejections.limit + 2


def test_ingest_reports_are_bounded_too(tmp_path):
    from vistance.corpus import IngestReport, ingest_paths

    f = tmp_path / "a.jsonl"
    f.write_text("not json\n" * 500, encoding="utf-8")
    rep = IngestReport()
    assert list(ingest_paths([f], report=rep)) == []
    assert rep.errors.total == 500 and len(rep.errors) == rep.errors.limit and "500 input(s) rejected" in rep.summary()


def test_a_line_past_the_line_cap_is_one_error_and_the_next_line_is_read(tmp_path):
    from vistance.io import iter_lines

    f = tmp_path / "a.jsonl"
    f.write_bytes(b"short\n" + b"x" * 5000 + b"\r\nnext\rlast")
    got = list(iter_lines(f, max_line_bytes=1000))
    assert [n for n, _ in got] == [1, 2, 3, 4]
    assert got[0][1] == "short" and isinstance(got[1][1], InputError) and "line longer than 1000 bytes" in str(got[1][1])
    assert [got[2][1], got[3][1]] == ["next", "last"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"bb", b"\xc3\xa9", b"\r", b"\n", b"\r\n", b"x" * 7]), max_size=40),
       st.integers(1, 9), st.integers(1, 12))
def test_the_streaming_line_splitter_cuts_lines_as_before(pieces, chunk, limit):
    """Same lines as splitting the whole text at LF, CRLF and CR; lines over ``limit`` become None."""
    import re

    from vistance.io import _split_chunks

    data = b"".join(pieces)
    want = re.split(rb"\r\n|\r|\n", data)
    if want and want[-1] == b"":
        want.pop()
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    got = list(_split_chunks(iter(chunks), limit, b"", b"\r", b"\n"))
    assert got == [w if len(w) <= limit else None for w in want]


BOMB_IN_AN_UNUSED_MODEL = """
models:
  tfidf_lr: {kind: tfidf}
  unused:
    kind: lexicon
    a: &a [x, x, x, x, x, x, x, x, x, x]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


def test_a_yaml_alias_bomb_in_an_unused_model_is_refused_before_it_is_expanded(tmp_path):
    from vistance.config import load_config

    p = tmp_path / "params.yaml"
    p.write_text(BOMB_IN_AN_UNUSED_MODEL, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"params\.yaml:\d+: more than 100000 values once its aliases are expanded"):
        load_config(p)


def test_anchors_and_merge_keys_stay_usable(tmp_path):
    from vistance.config import load_config

    p = tmp_path / "params.yaml"
    p.write_text("models:\n  a: &a {kind: tfidf, C: 2.0}\n  b: {<<: *a, C: 4.0}\n"
                 "  e: {kind: ensemble, members: [*a, {kind: lexicon}]}\n", encoding="utf-8")
    cfg = load_config(p)
    assert cfg.model_spec("b") == ("tfidf", {"C": 4.0})
    assert cfg.model_spec("e")[1]["members"][0] == {"kind": "tfidf", "C": 2.0}
    assert load_config(ROOT / "params.yaml").models  # the project's own file (it uses anchors)


def _article(n_paragraphs: int, long_at: int | None = None) -> str:
    lines = [" date 2025-01-02 • Báo thử", "Tiêu đề", ""]
    for i in range(n_paragraphs):
        lines += [("Dài " * 6000 if i == long_at else f"Đoạn {i}: Việt Nam và Nhật Bản hợp tác kinh tế."), ""]
    return "\n".join(lines)


def test_predict_article_streams_through_the_engine_and_keeps_no_list(tmp_path, lexicon):
    from vistance.models import load_model
    from vistance.predict import predict_articles

    (tmp_path / "a.txt").write_text(_article(300), encoding="utf-8")
    sink = io.StringIO()
    rep = predict_articles(load_model(lexicon), [tmp_path / "a.txt"], stream=sink, batch_size=16, jobs=1)
    lines = sink.getvalue().splitlines()
    assert rep.paragraphs == 300 and rep.records == [] and len(lines) == 300
    assert json.loads(lines[0])["id"] == "a/p000" and json.loads(lines[-1])["text"].startswith("Đoạn 299:")


def test_predict_article_warns_about_a_paragraph_over_the_length_cap(tmp_path, lexicon, capsys):
    (tmp_path / "a.txt").write_text(_article(3, long_at=1), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    code, err = cli(capsys, "predict-article", tmp_path / "a.txt", "--model", lexicon, "--output", out)
    assert code == 0 and "warning:" in err and "block 1" in err and "dropped as too_long" in err
    assert [json.loads(l)["id"] for l in out.read_text(encoding="utf-8").splitlines()] == ["a/p000", "a/p002"]


def test_predict_article_to_standard_output_is_the_same_as_to_a_file(tmp_path, lexicon, capsys):
    (tmp_path / "a.txt").write_text(_article(5), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert main(["predict-article", str(tmp_path / "a.txt"), "--model", str(lexicon)]) == 0
    printed = capsys.readouterr().out
    assert main(["predict-article", str(tmp_path / "a.txt"), "--model", str(lexicon), "--output", str(out)]) == 0
    assert printed == out.read_text(encoding="utf-8") and len(printed.splitlines()) == 5


# ================================================================== 2. nothing of the user's overwritten

@pytest.mark.parametrize("how", ["same path", "symlink", "hard link"])
def test_predict_refuses_an_output_that_is_its_input(tmp_path, lexicon, capsys, how):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "Hai nước hợp tác."}\n', encoding="utf-8")
    out = inp
    if how == "symlink":
        (out := tmp_path / "link.jsonl").symlink_to(inp)
    elif how == "hard link":
        os.link(inp, out := tmp_path / "hard.jsonl")
    before = snapshot(tmp_path)
    code, err = cli(capsys, "predict", "--model", lexicon, "--input", inp, "--output", out)
    assert code == 2 and "is also an input" in err and len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before


def test_predict_article_and_ingest_refuse_to_overwrite_an_input(tmp_path, lexicon, capsys):
    art = tmp_path / "a.txt"
    art.write_text(_article(2), encoding="utf-8")
    jl = tmp_path / "b.jsonl"
    jl.write_text('{"id": "b", "paragraphs": ["Đoạn một."]}\n', encoding="utf-8")
    before = snapshot(tmp_path)
    assert cli(capsys, "predict-article", art, jl, "--model", lexicon, "--output", jl)[0] == 2
    assert cli(capsys, "predict-article", tmp_path, "--model", lexicon, "--output", jl)[0] == 2  # a file of an input folder
    assert cli(capsys, "ingest", art, jl, "-o", art)[0] == 2
    assert cli(capsys, "ingest", art, "-o", tmp_path / "p.jsonl", "--report", art)[0] == 2
    assert snapshot(tmp_path) == before


def test_annotate_import_refuses_a_store_that_is_an_input(tmp_path, capsys):
    batch = tmp_path / "batch.jsonl"
    batch.write_text("", encoding="utf-8")
    paras = tmp_path / "p.jsonl"
    paras.write_text("", encoding="utf-8")
    before = snapshot(tmp_path)
    assert cli(capsys, "annotate", "import", batch, "--into", paras, "--paragraphs", paras)[0] == 2
    assert cli(capsys, "annotate", "import", batch, "--into", tmp_path / "g.jsonl",
               "--second-into", tmp_path / "g.jsonl")[0] == 2
    assert cli(capsys, "agreement", "--first", paras, "--second", batch, "--out", batch)[0] == 2
    assert snapshot(tmp_path) == before


def test_publish_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "README.md").write_text("my notes\n", encoding="utf-8")
    (mine / "dataset").mkdir()
    (mine / "dataset" / "keep.txt").write_text("x", encoding="utf-8")
    before = snapshot(tmp_path)
    code, err = cli(capsys, "publish", "--out", mine, "--params", ROOT / "params.yaml",
                    "--experiments", tmp_path / "none")
    assert code == 2 and "was not written by vistance publish" in err and len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before


def test_publish_claims_a_new_or_empty_folder_with_its_marker(tmp_path):
    from vistance.errors import UsageError
    from vistance.publish import MARKER, claim_root

    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim_root(empty)["entries"] == [] and (empty / MARKER).is_file()
    assert claim_root(empty)["entries"] == []  # its own folder: again
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UsageError):
        claim_root(tmp_path / "full")


def test_a_folder_published_before_the_marker_existed_is_still_its_own(tmp_path):
    from vistance.errors import UsageError
    from vistance.publish import UPLOAD_README, claim_root

    old = tmp_path / "publish"
    (old / "dataset").mkdir(parents=True)
    (old / "models" / "best").mkdir(parents=True)
    (old / "README.md").write_text(UPLOAD_README.format(dataset_id="x/y"), encoding="utf-8")
    assert set(claim_root(old)["entries"]) == {"README.md", "dataset", "models/best"}
    other = tmp_path / "other"
    (other / "dataset").mkdir(parents=True)
    (other / "README.md").write_text("# My project\n", encoding="utf-8")
    with pytest.raises(UsageError):
        claim_root(other)


def test_a_failed_fetch_keeps_every_earlier_copy_and_says_where(tmp_path):
    from vistance.corpus.fetch import FetchError, fetch_corpus

    out = tmp_path / "news-2024"
    out.mkdir()
    (out / "articles.jsonl").write_text('{"id": "edited by me"}\n', encoding="utf-8")
    (out / "articles.jsonl.unverified").write_text("an earlier copy\n", encoding="utf-8")
    with pytest.raises(FetchError) as e:
        fetch_corpus("news-2024", out=out, archive_dirs=(tmp_path / "none",), download_ok=False)
    aside = out / "articles.jsonl.unverified.2"
    assert f"is kept as {aside}" in str(e.value) and "\n" not in str(e.value)
    assert aside.read_text(encoding="utf-8") == '{"id": "edited by me"}\n'
    assert (out / "articles.jsonl.unverified").read_text(encoding="utf-8") == "an earlier copy\n"
    assert not (out / "articles.jsonl").exists()  # nothing reads an unverified copy as the corpus


def test_atomic_writes_keep_the_mode_of_the_file_they_replace(tmp_path):
    from vistance.io import write_json, write_jsonl

    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        write_json(new, {"a": 1})
        assert stat.S_IMODE(new.stat().st_mode) == 0o644  # the umask default, as open() gives
        shared = tmp_path / "shared.jsonl"
        shared.write_text("", encoding="utf-8")
        shared.chmod(0o664)
        write_jsonl(shared, [{"a": 1}])
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() == '{"a": 1}\n'
    finally:
        os.umask(old)


def test_a_label_store_reached_through_a_symlink_receives_the_labels(tmp_path):
    from vistance.io import file_lock
    from vistance.labels.schema import Label
    from vistance.labels.store import merge_labels, read_labels

    target = tmp_path / "real" / "gold.jsonl"
    target.parent.mkdir()
    target.write_text("", encoding="utf-8")
    link = tmp_path / "labels" / "gold.jsonl"
    link.parent.mkdir()
    link.symlink_to(target)
    lab = Label(paragraph_id="a/p000", text_sha1="0" * 40, themes=["other"], tone="neutral", annotator="x",
                annotated_at="2026-01-01T00:00:00+00:00")
    assert merge_labels(link, [lab]).added == ["a/p000"]
    assert link.is_symlink() and [l.paragraph_id for l in read_labels(target)] == ["a/p000"]
    with file_lock(link):  # the lock is the target's: a writer using the real path waits for it
        assert (tmp_path / "real" / "gold.jsonl.lock").exists() and not (tmp_path / "labels" / "gold.jsonl.lock").exists()


@HYPO
@given(lines=st.lists(st.one_of(
    st.just('{"id": "a", "text": "Hai nước hợp tác."}'), st.just('{"id": "a", "text": "lặp lại"}'),
    st.just("{not json"), st.just('{"id": 7, "text": "x"}'), st.just('{"id": "e", "text": "\\u200b"}'),
    st.text(max_size=30), st.builds(lambda i, t: json.dumps({"id": f"i{i}", "text": t}, ensure_ascii=False),
                                    st.integers(0, 5), st.text(min_size=1, max_size=40))), max_size=12),
    nl=st.sampled_from(["\n", "\r\n", "\r"]))
def test_predict_changes_nothing_but_its_output_and_exits_as_documented(tmp_path_factory, lexicon, lines, nl):
    import contextlib

    root = tmp_path_factory.mktemp("run")
    inp = root / "in.jsonl"
    inp.write_text(nl.join(lines), encoding="utf-8", newline="")
    (root / "other.txt").write_text("untouched", encoding="utf-8")
    before = snapshot(root)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["predict", "--model", str(lexicon), "--input", str(inp), "--output", str(root / "out.jsonl")])
    assert code in (0, 1) and "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    assert changed(before, snapshot(root)) == {"out.jsonl"}
    n_out = len((root / "out.jsonl").read_text(encoding="utf-8").splitlines())
    assert (code == 0) == (f"predicted {n_out} of {n_out} line(s)" in err.getvalue() and "; 0 rejected" in err.getvalue())


# ================================================================== 3. the manifest is the only truth

def _copy(folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(folder, dst)
    return dst


def _edit_manifest(folder: Path, change) -> None:
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    change(m)
    (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")


def test_a_file_the_manifest_does_not_list_is_never_read(tmp_path, lexicon, capsys):
    m = _copy(lexicon, tmp_path)
    _edit_manifest(m, lambda x: x.update(files={}, sizes={}))
    (m / "lexicon.json").write_text(json.dumps({"themes": {"maritime": ["anything"]}, "tone": {}}), encoding="utf-8")
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "anything"}\n', encoding="utf-8")
    code, err = cli(capsys, "predict", "--model", m, "--input", inp, "--output", tmp_path / "o.jsonl")
    assert code == 1 and "lexicon.json is not listed in its manifest.json" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_an_unlisted_file_pointing_at_dev_zero_is_refused_at_once(tmp_path, lexicon):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    m = _copy(lexicon, tmp_path)
    _edit_manifest(m, lambda x: x.update(files={}, sizes={}))
    (m / "lexicon.json").unlink()
    (m / "lexicon.json").symlink_to("/dev/zero")
    code = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from vistance.models import load_model\nfrom vistance.errors import ModelError\n"
            f"try:\n    load_model({str(m)!r})\nexcept ModelError as e:\n    print('refused:', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "refused:" in r.stdout and "not listed" in r.stdout, r.stderr[-500:]


def test_a_listed_file_is_read_up_to_its_recorded_size_and_checked_as_read(tmp_path, lexicon):
    from vistance.models.folder import listed_bytes, read_manifest

    m = _copy(lexicon, tmp_path)
    manifest = read_manifest(m)
    assert manifest["sizes"]["lexicon.json"] == (m / "lexicon.json").stat().st_size
    (m / "lexicon.json").write_bytes((m / "lexicon.json").read_bytes() + b" " * 10)  # swapped after verification
    with pytest.raises(ModelError, match="over its limit"):
        listed_bytes(m, manifest, "lexicon.json")
    with pytest.raises(ModelError, match=r"lexicon\.json \(checksum differs\)"):
        read_manifest(m)


@pytest.mark.parametrize("manifest_text,fragment", [
    ('{"kind": "lexicon", "files": {}, "params": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply"),
    ('{"kind": "lexicon", "files": {}, "params": {"x": ' + "[" * 40 + "]" * 40 + "}}", "nested deeper than"),
    ('{"kind": "lexicon", "files": {}, "params": {"n": ' + "9" * 5000 + "}}", "an integer of 5000 digits"),
    ('{"kind": "lexicon", "files": {}, "params": {"n": 1e999}}', "out of range"),
    ('{"kind": ["lexicon"], "files": {}}', "field 'kind' must be a non-empty string, got list"),
    ('{"kind": "lexicon", "files": {}, "sizes": {"a": "12"}}', "field 'sizes' must be"),
    ('{"kind": "lexicon", "files": {}, "segmenter": 3}', "field 'segmenter' must be"),
    ('{"kind": "lexicon", "files": {}, "versions": {"x": 1}}', "'versions' must be an object"),
])
def test_a_hostile_manifest_is_one_clear_model_error(tmp_path, lexicon, manifest_text, fragment, capsys):
    m = _copy(lexicon, tmp_path)
    (m / "manifest.json").write_text(manifest_text, encoding="utf-8")
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    code, err = cli(capsys, "predict", "--model", m, "--input", inp, "--output", tmp_path / "o.jsonl")
    assert code == 1 and fragment in err and len(err.strip().splitlines()) == 1


MANIFEST_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**50, 10**50), st.floats(), st.text(max_size=10)),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=12), kids, max_size=3), max_leaves=8)


@HYPO
@given(field=st.sampled_from(["kind", "files", "sizes", "segmenter", "themes", "tones", "versions", "params", "extra"]),
       value=MANIFEST_VALUES, entry=st.booleans())
def test_any_manifest_field_of_any_value_is_a_model_error_or_a_load(tmp_path_factory, lexicon, field, value, entry):
    from vistance.models import load_model

    m = tmp_path_factory.mktemp("hm") / "model"
    shutil.copytree(lexicon, m)

    def change(x):
        if entry and isinstance(x.get(field), dict):
            x[field]["lexicon.json"] = value  # one entry of an object field
        else:
            x[field] = value

    _edit_manifest(m, change)
    try:
        load_model(m)
    except ModelError as e:
        assert "\n" not in str(e)
    except Exception as e:  # noqa: BLE001 - a segmenter/kind name may be refused by its own registry
        from vistance.errors import VistanceError

        assert isinstance(e, VistanceError), repr(e)


def test_strict_loading_refuses_files_the_manifest_does_not_list(tmp_path, lexicon):
    from vistance.models.folder import read_manifest

    m = _copy(lexicon, tmp_path)
    (m / "README.md").write_text("card", encoding="utf-8")  # a published card: no loader reads it
    (m / ".DS_Store").write_text("x", encoding="utf-8")
    read_manifest(m, strict=True)
    (m / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="does not list: tokenizer.json"):
        read_manifest(m, strict=True)
    read_manifest(m)  # loaders that open only listed files ignore it


def test_an_ensemble_member_folder_must_be_listed(tmp_path):
    from vistance.models import build_model, load_model

    texts = [f"Biển Đông hợp tác {i}" for i in range(12)]
    model = build_model("ensemble", members=[{"kind": "lexicon"}, {"kind": "lexicon"}], cv_folds=0)
    model.fit(texts, [["maritime"]] * 12, ["cooperative"] * 12).save(tmp_path / "ens")
    assert len(load_model(tmp_path / "ens").models_) == 2
    meta = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    shutil.copytree(tmp_path / "ens" / meta["folders"][0], tmp_path / "elsewhere")
    meta["folders"][0] = "../elsewhere"
    desc = tmp_path / "ens" / "ensemble.json"
    desc.write_text(json.dumps(meta))

    def relist(m):  # a consistent manifest: the barrier is the member check, not the checksum
        m["files"]["ensemble.json"] = hashlib.sha256(desc.read_bytes()).hexdigest()
        m["sizes"]["ensemble.json"] = desc.stat().st_size

    _edit_manifest(tmp_path / "ens", relist)
    with pytest.raises(ModelError, match="member folder '../elsewhere' is not a sub-folder listed"):
        load_model(tmp_path / "ens")


# ================================================================== 4. Label Studio identity and field types

DATA = Path(__file__).parent / "data" / "labelstudio"


def _names():
    from vistance.labels.annotation_io import read_users_file

    return read_users_file(DATA / "users.json")


def _export(tmp_path, name, change):
    tasks = json.loads((DATA / name).read_text())
    change(tasks)
    out = tmp_path / name
    out.write_text(json.dumps(tasks))
    return out


def test_one_task_id_on_two_paragraphs_is_an_error_naming_both(tmp_path):
    from vistance.labels.annotation_io import import_judgements

    def reuse_id(tasks):  # p002 (annotated by Bob alone) gets the id of p000's task
        by_pid = {t["data"]["paragraph_id"]: t for t in tasks}
        by_pid["synth/p002"]["id"] = by_pid["synth/p000"]["id"]

    res = import_judgements(_export(tmp_path, "export.json", reuse_id), names=_names())
    msgs = [r for r in res.rejected if "is on two paragraphs" in r]
    assert len(msgs) == 1 and "paragraph synth/p000" in msgs[0] and "paragraph synth/p002" in msgs[0]
    every = [l.paragraph_id for labs in res.by_pass.values() for l in labs]
    assert "synth/p000" not in every and "synth/p002" not in every  # neither routed, nothing superseded
    assert not any("synth/p000" in w or "synth/p002" in w for w in res.label_studio.superseded)
    assert "synth/p001" in every


def test_json_min_rows_are_keyed_by_task_paragraph_and_text_hash(tmp_path):
    from vistance.labels.annotation_io import import_judgements

    def same_task_other_text(rows):
        for r in rows:
            if r["paragraph_id"] == "synth/p002":
                r["id"] = next(x["id"] for x in rows if x["paragraph_id"] == "synth/p003")

    res = import_judgements(_export(tmp_path, "export_min.json", same_task_other_text), names=_names())
    assert any("is on two paragraphs" in r and "synth/p002" in r and "synth/p003" in r for r in res.rejected)


@pytest.mark.parametrize("name,field,value", [
    ("export.json", "created_at", 1733046212),
    ("export.json", "updated_at", ["2026"]),
    ("export.json", "was_cancelled", "no"),
    ("export.json", "completed_by", 2.5),
    ("export.json", "id", True),
    ("export_min.json", "created_at", 1733046212),
    ("export_min.json", "annotator", [3]),
    ("export_min.json", "tone", 7),
])
def test_a_field_of_the_wrong_type_names_task_annotation_and_field(tmp_path, name, field, value):
    from vistance.labels.annotation_io import import_judgements

    def poison(rows):
        if name == "export.json":
            rows[1]["annotations"][0][field] = value
        else:
            rows[1][field] = value

    res = import_judgements(_export(tmp_path, name, poison), names=_names())
    bad = [r for r in res.rejected if f"field {field!r}" in r]
    assert len(bad) == 1 and "Label Studio task" in bad[0] and "annotation" in bad[0], res.rejected
    assert all("TypeError" not in r for r in res.rejected)


def test_a_users_file_with_a_number_as_a_name_is_one_clear_error(tmp_path):
    from vistance.labels.annotation_io import read_users_file

    f = tmp_path / "users.json"
    f.write_text(json.dumps([{"id": 2, "first_name": 7, "last_name": "Nguyen"}]))
    with pytest.raises(InputError, match=r"user 2: field 'first_name' must be a string, got a number"):
        read_users_file(f)


JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                                     st.text(max_size=8)),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                           max_leaves=6)


@HYPO
@given(which=st.sampled_from(["export.json", "export_min.json"]), row=st.integers(0, 6),
       field=st.sampled_from(["id", "data", "annotations", "paragraph_id", "text_sha1", "annotator", "themes", "tone",
                              "created_at", "updated_at", "was_cancelled", "completed_by", "result", "annotation_id",
                              "suggestion", "predictions"]),
       value=JSON_VALUES)
def test_any_field_of_any_type_is_a_message_never_a_crash(tmp_path_factory, which, row, field, value):
    from vistance.labels.annotation_io import import_judgements

    rows = json.loads((DATA / which).read_text())
    target = rows[row % len(rows)]
    if which == "export.json" and field in ("completed_by", "created_at", "updated_at", "was_cancelled", "result") \
            and target.get("annotations"):
        target["annotations"][0][field] = value
    elif which == "export.json" and field in ("paragraph_id", "text_sha1"):
        target["data"][field] = value
    else:
        target[field] = value
    f = tmp_path_factory.mktemp("ls") / which
    f.write_text(json.dumps(rows))
    res = import_judgements(f, names=_names())  # nothing but messages: no exception escapes
    assert all(isinstance(r, str) and "\n" not in r for r in res.rejected)


# ================================================================== 5. usage errors: one line, exit 2

def test_batch_size_zero_is_a_usage_error(tmp_path, lexicon, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    for cmd in (["predict", "--input", inp, "--output", tmp_path / "o.jsonl"], ["predict-article", inp]):
        code, err = cli(capsys, *cmd, "--model", lexicon, "--batch-size", "0")
        assert code == 2 and "--batch-size: must be >= 1, got 0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("content,fragment", [
    (b"seed: 1\nseed: 2\n", "params.yaml:2: duplicate key 'seed' (first on line 1)"),
    (b"models:\n  t:\n    kind: tfidf\n    C: 1.0\n    C: 8.0\n", "params.yaml:5: duplicate key 'C'"),
    (b"seed: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper than 40 levels"),
    (b"seed: 1\ncorpus:\n  seeds: caf\xe9\n", "params.yaml:3: not UTF-8 text (invalid byte 0xe9"),
    (b"seed: " + b"9" * 5000 + b"\n", "not valid YAML (Exceeds the limit"),
    (b"seed: 1\x00\n", "not valid YAML (unacceptable character"),
    (b"a: &a [*a]\n", "recursive structure"),
])
def test_a_broken_params_file_is_one_line_and_exit_2(tmp_path, capsys, content, fragment):
    p = tmp_path / "params.yaml"
    p.write_bytes(content)
    code, err = cli(capsys, "corpus", "status", "--params", p)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err


@HYPO
@given(raw=st.one_of(st.binary(max_size=200),
                     st.text(alphabet="ab:- &*[]{},\n\t'\"!<>|%@#0123456789xé\u00a0\x00", max_size=120).map(str.encode)))
def test_any_params_bytes_are_a_config_or_a_config_error(tmp_path_factory, raw):
    from vistance.config import load_config

    p = tmp_path_factory.mktemp("yaml") / "params.yaml"
    p.write_bytes(raw)
    try:
        load_config(p)
    except ConfigError as e:
        assert "\n" not in str(e)


# ================================================================== 6. normalisation: every bidi control

BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("mark", BIDI)
def test_every_bidi_control_is_removed(mark):
    from vistance.text.normalize import normalize, text_sha1

    assert normalize(f"Biển{mark} Đông") == "Biển Đông"
    assert text_sha1(f"Biển Đông{mark}") == text_sha1("Biển Đông")


def test_an_isolate_no_longer_hides_a_maritime_cue():
    from vistance.models.lexicon import LexiconModel

    m = LexiconModel()
    assert m.hits("Căng thẳng ở Biển\u2066 Đông.")["themes"]["maritime"] == 1
    assert m.hits("Căng thẳng ở \u2067Biển \u2068Đông\u2069\u061c.")["themes"]["maritime"] == 1


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=40),
       marks=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(BIDI)), max_size=6))
def test_bidi_controls_anywhere_never_change_text_sha1(text, marks):
    from vistance.text.normalize import text_sha1

    noisy = text
    for pos, mark in marks:
        pos = min(pos, len(noisy))
        noisy = noisy[:pos] + mark + noisy[pos:]
    assert text_sha1(noisy) == text_sha1(text)

