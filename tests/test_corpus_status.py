"""`vistance corpus status`: one line at the start of `make repro` saying which corpora are here and how to fetch."""
from __future__ import annotations

from vistance.corpus.fetch import UPSTREAMS
from vistance.corpus.status import corpus_status


def test_nothing_here_names_every_corpus_and_the_fetch_command(tmp_path):
    status = corpus_status(root=tmp_path / "corpora", reference=tmp_path / "none", archive_dirs=(tmp_path,),
                           download=False)
    line = status.line()
    assert status.missing == sorted(UPSTREAMS) and "\n" not in line
    assert "vistance corpus fetch news-2024 && vistance corpus fetch vietnews-fa" in line and "seed articles" in line


def test_a_reference_copy_or_an_archive_counts_as_available(tmp_path):
    ref = tmp_path / "ref" / "news-2024"
    ref.mkdir(parents=True)
    (ref / "articles.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / UPSTREAMS["vietnews-fa"].archive_name).write_bytes(b"")
    status = corpus_status(root=tmp_path / "corpora", reference=tmp_path / "ref", archive_dirs=(tmp_path,))
    assert status.missing == [] and status.available["news-2024"].startswith("reference copy")
    assert status.available["vietnews-fa"].startswith("upstream archive")
    assert status.line().startswith("corpora: news-2024")


def test_the_cli_prints_one_line_and_exits_0(tmp_path, capsys, monkeypatch):
    from vistance.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("corpus:\n  reference: nowhere\n", encoding="utf-8")
    assert main(["corpus", "status"]) == 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "vistance corpus fetch" in err
