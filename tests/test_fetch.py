"""`vistance corpus fetch`: the extended corpora rebuilt from their upstream archives, hash-verified.

The rebuild tests run offline on the two GitHub-layout archives in ``../shared/upstream/`` and
compare with ``../shared/corpus/*/articles.jsonl``; they skip when ``../shared`` is absent. The
failure-path tests (tampering, interruption, offline) build their archives in tmp.
"""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_CORPUS
from vistance.corpus.fetch import (UPSTREAMS, FetchError, canonical_line, convert_archive, desegment,
                                   fetch_corpus, jekyll_articles, line_sha256, load_manifest, seg_article)

UPSTREAM = ROOT.parent / "shared" / "upstream"
ARCHIVES = {name: UPSTREAM / up.archive_name for name, up in UPSTREAMS.items()}
needs_shared = pytest.mark.skipif(not all(p.exists() for p in ARCHIVES.values()) or not SHARED_CORPUS.exists(),
                                  reason="../shared/upstream archives or ../shared/corpus not on this machine")


def offline(tmp_path):
    """Arguments that keep a fetch away from the network and from ../shared."""
    return dict(archive_dirs=(tmp_path / "downloads",), url="http://127.0.0.1:9/none.tar.gz", timeout=1)


# ------------------------------------------------------------------ conversions (no ../shared needed)

def test_desegment_joins_words_and_removes_spaces_around_punctuation():
    assert desegment("Việt_Nam , Trung_Quốc hội_đàm ( hôm_qua ) : “ tốt ” 5 % .") == \
        "Việt Nam, Trung Quốc hội đàm (hôm qua): “tốt” 5%."
    assert desegment('CLB " Vì_Hoàng_Sa "') == 'CLB " Vì Hoàng Sa "'  # straight quotes are left as they are


def test_a_jekyll_post_with_two_link_lines_holds_two_articles():
    post = ("---\nlayout: post\ntitle: \" [x] y\"\ndate: Tue, 30 Apr 2024 23:30:00 +0700\n---\n"
            "[Tiêu đề một](https://www.vov.vn/a-1.vov)\n\n![Tiêu đề một](https://img/1.jpg)\n\n"
            "Đoạn một.\n\n> Tin liên quan\n\nĐoạn hai.\n\n"
            "[Tiêu đề hai](https://tuoitre.vn/b-2.htm)\n\n![Tiêu đề hai](https://img/2.jpg)\n\nĐoạn ba.\n")
    arts = jekyll_articles("2024-04-30-x.md", post)
    assert [a["id"] for a in arts] == ["2024-04-30-x.md#0", "2024-04-30-x.md#1"]
    assert arts[0] == {"id": "2024-04-30-x.md#0", "title": "Tiêu đề một", "url": "https://www.vov.vn/a-1.vov",
                       "source": "vov.vn", "date": "2024-04-30", "paragraphs": ["Đoạn một.", "Đoạn hai."]}
    assert arts[1]["paragraphs"] == ["Đoạn ba."] and arts[1]["source"] == "tuoitre.vn"


def test_a_vietnews_file_is_title_summary_and_body_sentences_without_captions():
    seg = "Tiêu_đề bài\n\nTóm_tắt ngắn .\n\nCâu một .\nCâu hai , tiếp .\n\nChú_thích ảnh - Ảnh : X .\n"
    assert seg_article("train/000001.txt.seg", seg) == {
        "id": "train/000001.txt.seg", "title": "Tiêu đề bài", "summary": "Tóm tắt ngắn.",
        "sentences": ["Câu một.", "Câu hai, tiếp."]}


def test_the_committed_manifests_hold_ids_and_hashes_only():
    for name in UPSTREAMS:
        m = load_manifest(name)
        assert m["commit"] == UPSTREAMS[name].commit and m["url"] == UPSTREAMS[name].url
        for e in m["articles"]:
            assert set(e) <= {"id", "sha256", "omit"} and len(e["sha256"]) == 64
        assert len({e["id"] for e in m["articles"]}) == len(m["articles"])


# ------------------------------------------------------------------ the rebuild (needs ../shared)

@needs_shared
@pytest.mark.parametrize("name", sorted(UPSTREAMS))
def test_the_rebuilt_corpus_equals_the_reference_byte_for_byte(tmp_path, name):
    report = fetch_corpus(name, archive=ARCHIVES[name], out=tmp_path / name, **offline(tmp_path))
    assert report.fetched and report.articles == len(load_manifest(name)["articles"])
    assert Path(report.out).read_bytes() == (SHARED_CORPUS / name / "articles.jsonl").read_bytes()
    status = json.loads((tmp_path / name / "fetch.json").read_text())
    assert status["fetched"] and status["articles"] == report.articles and status["sha256"] == report.sha256


@needs_shared
def test_every_news_2024_gold_label_joins_its_rebuilt_text_with_a_matching_hash(tmp_path):
    from vistance.corpus import ingest_paths
    from vistance.labels.store import read_labels

    rebuilt = fetch_corpus("news-2024", archive=ARCHIVES["news-2024"], out=tmp_path / "news-2024",
                           **offline(tmp_path)).out
    reference_ids = {p.paragraph_id for p in ingest_paths([SHARED_CORPUS / "news-2024" / "articles.jsonl"])}
    rebuilt_hash = {p.paragraph_id: p.text_sha1 for p in ingest_paths([rebuilt])}
    gold = [g for g in read_labels(ROOT / "labels" / "gold.jsonl") if g.paragraph_id in reference_ids]
    assert len(gold) > 1000  # the labelled paragraphs live in news-2024
    unmatched = [g.paragraph_id for g in gold if rebuilt_hash.get(g.paragraph_id) != g.text_sha1]
    assert unmatched == []


@needs_shared
def test_a_verified_reference_is_copied_without_any_archive(tmp_path):
    ref = SHARED_CORPUS / "news-2024" / "articles.jsonl"
    report = fetch_corpus("news-2024", out=tmp_path / "out", reference=ref, download_ok=False, **offline(tmp_path))
    assert report.source.startswith("verified copy") and Path(report.out).read_bytes() == ref.read_bytes()
    again = fetch_corpus("news-2024", out=tmp_path / "out", download_ok=False, **offline(tmp_path))
    assert again.source == "already up to date"


# ------------------------------------------------------------------ refusals and failures

def _tiny_news_archive(path: Path, paragraph: str = "Đoạn một.") -> tuple[Path, dict]:
    """A GitHub-layout archive with one post, and a manifest for it."""
    up = UPSTREAMS["news-2024"]
    post = ("---\nlayout: post\ndate: Mon, 08 Apr 2024 09:00:00 +0700\n---\n"
            "[Tiêu đề](https://vov.vn/a.vov)\n\n![Tiêu đề](https://img/a.jpg)\n\n" + paragraph + "\n")
    with tarfile.open(path, "w:gz") as tar:
        data = post.encode()
        info = tarfile.TarInfo(up.prefix + "_posts/2024-04-08-a.md")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    record = jekyll_articles("2024-04-08-a.md", post)[0]
    return path, {"articles": [{"id": record["id"], "sha256": line_sha256(canonical_line(record))}]}


def test_a_tampered_archive_member_is_refused_naming_the_article(tmp_path):
    good, manifest = _tiny_news_archive(tmp_path / "good.tar.gz")
    assert len(convert_archive(good, "news-2024", manifest)) == 1
    bad, _ = _tiny_news_archive(tmp_path / "bad.tar.gz", paragraph="Đoạn một đã bị sửa.")
    with pytest.raises(FetchError, match=r"article 2024-04-08-a\.md#0 .*does not match the manifest"):
        convert_archive(bad, "news-2024", manifest)


@needs_shared
def test_a_tampered_member_of_the_real_archive_is_refused_and_nothing_is_written(tmp_path):
    """Copy the vietnews archive with one sentence of one member changed."""
    src, dst = ARCHIVES["vietnews-fa"], tmp_path / UPSTREAMS["vietnews-fa"].archive_name
    victim = "data/train_tokenized/001316.txt.seg"
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for info in tin:
            data = tin.extractfile(info).read() if info.isfile() else None
            if info.name.endswith(victim):
                data = data.replace("55.000".encode(), "66.000".encode(), 1)
                info.size = len(data)
            tout.addfile(info, io.BytesIO(data) if data is not None else None)
    out = tmp_path / "out"
    with pytest.raises(FetchError, match=r"article train/001316\.txt\.seg .*does not match the manifest"):
        fetch_corpus("vietnews-fa", archive=dst, out=out, **offline(tmp_path))
    assert not (out / "articles.jsonl").exists()


def test_an_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    good, manifest = _tiny_news_archive(tmp_path / "good.tar.gz")
    import vistance.corpus.fetch as fetch

    monkeypatch.setattr(fetch, "load_manifest", lambda name: manifest)

    def lines_then_crash(*a, **k):
        yield canonical_line({"id": "x"})
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch, "convert_archive", lambda *a, **k: lines_then_crash())
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        fetch_corpus("news-2024", archive=good, out=out, **offline(tmp_path))
    assert not (out / "articles.jsonl").exists()
    assert not out.exists() or list(out.iterdir()) == []


def test_a_truncated_archive_is_a_clear_error(tmp_path):
    good, manifest = _tiny_news_archive(tmp_path / "good.tar.gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(good.read_bytes()[:40])
    with pytest.raises(FetchError, match="not a readable .tar.gz"):
        convert_archive(cut, "news-2024", manifest)


def test_offline_without_an_archive_says_in_one_line_what_to_download_and_where(tmp_path):
    up = UPSTREAMS["news-2024"]
    with pytest.raises(FetchError) as e:
        fetch_corpus("news-2024", out=tmp_path / "out", **offline(tmp_path))
    msg = str(e.value)
    assert "\n" not in msg and up.url in msg and str(tmp_path / "downloads" / up.archive_name) in msg
    report = fetch_corpus("news-2024", out=tmp_path / "out", optional=True, **offline(tmp_path))
    assert not report.fetched and up.url in report.message and "\n" not in report.message
    assert not (tmp_path / "out" / "articles.jsonl").exists()
    assert json.loads((tmp_path / "out" / "fetch.json").read_text())["fetched"] is False


def test_the_cli_exit_codes(tmp_path, capsys):
    from vistance.cli import main

    args = ["corpus", "fetch", "news-2024", "--out", str(tmp_path / "o"), "--archive-dir", str(tmp_path / "d"),
            "--no-download"]
    assert main(args) == 1
    assert main(args + ["--optional"]) == 0
    assert "download https://github.com/nguyenvulebinh/trends/archive/" in capsys.readouterr().err
    assert main(["corpus", "fetch", "no-such-corpus"]) == 2
    assert main(["corpus", "fetch", "news-2024", "--archive", str(tmp_path / "missing.tar.gz"),
                 "--out", str(tmp_path / "o")]) == 1


def test_a_download_resumes_from_its_part_file(tmp_path):
    """A local HTTP server that honours Range: the second request asks only for the rest."""
    import http.server
    import threading

    from vistance.corpus.fetch import download

    payload = bytes(range(256)) * 40
    ranges = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            start = 0
            if "Range" in self.headers:
                ranges.append(self.headers["Range"])
                start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                self.send_response(206)
            else:
                self.send_response(200)
            body = payload[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "a.tar.gz"
        (tmp_path / "a.tar.gz.part").write_bytes(payload[:100])
        seen = []
        download(f"http://127.0.0.1:{server.server_port}/a", dest, timeout=5, progress=lambda d, t: seen.append((d, t)))
    finally:
        server.shutdown()
    assert ranges == ["bytes=100-"] and dest.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload)) and not (tmp_path / "a.tar.gz.part").exists()
