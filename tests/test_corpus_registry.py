"""The corpora are data: params.yaml's `corpora` entries drive fetch, ingest, splits and split names."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from vistance.config import Config, load_config, validate_params
from vistance.corpus import registry
from vistance.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_the_default_corpora_name_the_splits_the_pipeline_has_always_used():
    c = load_config(ROOT / "params.yaml").corpora
    assert c == Config().corpora                                   # params.yaml states the packaged defaults
    assert registry.names(c) == ["seeds", "news-2024", "vietnews-fa"]
    assert registry.primary_corpora(c) == ("seeds", "news-2024")
    assert registry.cross_corpus_split(c) == "test_vietnews"
    assert registry.cross_corpus_name(c) == "train_news2024_test_vietnews"
    assert registry.cross_corpus_both_name(c) == "train_both_test_vietnews"
    assert registry.cross_era_names(c) == {"seeds": "train_news2024_test_seeds"}
    assert set(registry.split_descriptions(c)) == {"train_news2024_test_vietnews", "train_both_test_vietnews",
                                                   "train_news2024_test_seeds"}
    assert set(registry.upstream_sources(c)) == {"news-2024", "vietnews-fa"}
    assert [str(o) for o in registry.outputs(c)] == ["data/processed/paragraphs.jsonl", "data/unlabelled/vietnews.jsonl"]


def test_the_module_constants_come_from_the_registry():
    from vistance.dataset.splits import CROSS_CORPUS_SPLIT
    from vistance.evaluation.generalisation import CROSS_CORPUS, CROSS_CORPUS_BOTH
    from vistance.evaluation.heldout import SEEDS_SPLIT

    assert (CROSS_CORPUS_SPLIT, CROSS_CORPUS, CROSS_CORPUS_BOTH, SEEDS_SPLIT) == (
        registry.cross_corpus_split(), registry.cross_corpus_name(), registry.cross_corpus_both_name(),
        registry.cross_era_names()["seeds"])


@pytest.mark.parametrize("corpora, message", [
    ({"a": {"source": "x", "unit": "paragraph", "window": 3}}, "window applies to unit sentence_window only"),
    ({"a": {"source": "x", "roles": ["teaching"]}}, "roles"),
    ({"a": {"roles": ["training"]}}, "'corpora.0.source' is required"),
    ({"a-b": {"source": "x"}, "ab": {"source": "y"}}, "corpus key(s) ab appear more than once"),
    ({"a": {"name": "b", "source": "x"}}, "its entry says name 'b'"),
    ({"a b": {"source": "x"}}, "name"),
])
def test_a_bad_corpus_entry_is_a_one_line_config_error(corpora, message):
    with pytest.raises(ConfigError) as e:
        validate_params({"corpora": corpora})
    assert message in str(e.value) and "\n" not in str(e.value)


def _third_corpus_project(tmp_path) -> Path:
    """The default corpora (news-2024 and vietnews-fa not fetched here) plus a local JSONL corpus."""
    shutil.copytree(ROOT / "data" / "raw", tmp_path / "data" / "raw")
    mine = tmp_path / "elsewhere" / "my-news.jsonl"
    mine.parent.mkdir()
    with mine.open("w", encoding="utf-8") as fh:
        for a in range(12):
            fh.write(json.dumps({"id": f"mn{a:02d}", "title": f"Tin {a}", "date": "2019-03-0{}".format(a % 9 + 1),
                                 "paragraphs": [f"Đoạn thứ nhất của bài {a} nói về thương mại song phương.",
                                                f"Đoạn thứ hai của bài {a} nói về hợp tác an ninh khu vực."]},
                                ensure_ascii=False) + "\n")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    # adding a corpus: one entry
    params["corpora"]["my-news"] = {"source": "elsewhere/my-news.jsonl", "roles": ["cross_corpus_test"],
                                    "output": "data/unlabelled/my-news.jsonl", "key": "mine"}
    del params["corpora"]["vietnews-fa"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return tmp_path


def test_a_third_corpus_added_by_one_params_entry_flows_through_fetch_ingest_and_splits(tmp_path, monkeypatch):
    from vistance.cli import main
    from vistance.corpus import read_paragraphs
    from vistance.dataset.splits import assign_splits

    project = _third_corpus_project(tmp_path)
    monkeypatch.chdir(project)
    cfg = load_config("params.yaml")

    # fetch of a local source records its digest (what the ingest stage depends on); no upstream
    assert main(["corpus", "fetch", "my-news", "--source", "elsewhere/my-news.jsonl", "--out", "data/corpora/my-news"]) == 0
    digest = json.loads(Path("data/corpora/my-news/fetch.json").read_text(encoding="utf-8"))
    assert digest["name"] == "my-news" and digest["present"] and len(digest["sha256"]) == 64

    assert main(["corpus", "ingest", "--params", "params.yaml"]) == 0
    mine = read_paragraphs("data/unlabelled/my-news.jsonl")
    assert len(mine) == 24 and {p.corpus for p in mine} == {"my-news"} and {p.unit for p in mine} == {"paragraph"}
    assert {p.corpus for p in read_paragraphs("data/processed/paragraphs.jsonl")} == {"seeds"}
    report = json.loads(Path("data/unlabelled/ingest_report.json").read_text(encoding="utf-8"))
    assert report["inputs"] == ["elsewhere/my-news.jsonl"] and report["paragraphs"] == 24
    assert json.loads(Path("data/processed/ingest_report.json").read_text(encoding="utf-8"))["missing_optional"] == [
        "data/corpora/news-2024/articles.jsonl"]

    split = registry.cross_corpus_split(cfg.corpora)
    assert split == "test_mine" and registry.cross_corpus_name(cfg.corpora) == "train_news2024_test_mine"
    assert registry.corpus_of("mn03", cfg.corpora) == "my-news" and registry.corpus_of("nope", cfg.corpora) == "unknown"
    rows = [{"article_id": p.article_id, "corpus": p.corpus}
            for f in ("data/processed/paragraphs.jsonl", "data/unlabelled/my-news.jsonl") for p in read_paragraphs(f)]
    held = {f"mn{a:02d}" for a in range(4)}
    fr = {"train": 0.6, "validation": 0.2, "test": 0.2}
    split_of = assign_splits(rows, fr, seed=1, heldout_articles={split: held},
                             primary_corpora=registry.primary_corpora(cfg.corpora))
    assert {a for a, s in split_of.items() if s == split} == held
    assert {split_of[f"mn{a:02d}"] for a in range(4, 12)} <= {"train", "validation"}   # never an in-sample test
    assert "test" in {split_of[r["article_id"]] for r in rows if r["corpus"] == "seeds"}
    # without the list, the corpus with held-out articles is the cross-corpus one
    assert assign_splits(rows, fr, seed=1, heldout_articles={split: held}) == split_of


def test_a_cross_corpus_dataset_split_holds_another_codebook_with_two_tones(tmp_path):
    from vistance.dataset.build import build_dataset_dict, rows_from_dataset
    from vistance.dataset.splits import assign_splits
    from vistance.labels.schema import LabelSchema

    schema = LabelSchema.from_labels(["trade", "security"], ["positive", "negative"])
    corpora = validate_params({"corpora": {"mine": {"source": "x.jsonl", "roles": ["training"]},
                                           "theirs": {"source": "y.jsonl", "roles": ["cross_corpus_test"]}}}).corpora
    rows = [{"id": f"{c}{a}/p000", "article_id": f"{c}{a}", "text": "t", "themes": ["trade"] if a % 2 else ["security"],
             "tone": schema.tone_names[a % 2], "title": "", "date": "", "source": "", "corpus": c, "unit": "paragraph"}
            for c in ("mine", "theirs") for a in range(10)]
    split = registry.cross_corpus_split(corpora)
    split_of = assign_splits(rows, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=0,
                             heldout_articles={split: {"theirs0", "theirs1", "theirs2"}},
                             primary_corpora=registry.primary_corpora(corpora))
    dd = build_dataset_dict(rows, split_of, schema)
    assert split == "test_theirs" and sorted(r["article_id"] for r in rows_from_dataset(dd[split])) == [
        "theirs0", "theirs1", "theirs2"]
    assert dd[split].features["tone"].names == ["positive", "negative"]
    assert registry.cross_corpus_name(corpora) == "train_mine_test_theirs"
    assert registry.cross_era_names(corpora) == {}


def test_the_heldout_design_reads_its_tests_from_the_corpora():
    from vistance.evaluation.heldout import heldout_design

    corpora = validate_params({"corpora": {
        "old": {"source": "o", "roles": ["training", "cross_era_test"]},
        "mine": {"source": "m", "roles": ["training"]},
        "theirs": {"source": "t", "roles": ["cross_corpus_test"]}}}).corpora
    rows = [{"article_id": f"{c}{a}", "corpus": c, "source": f"outlet{a % 3}" if c == "mine" else "",
             "id": f"{c}{a}/p0"} for c in ("old", "mine", "theirs") for a in range(30)]
    d = heldout_design({"train": rows, "test_theirs": rows[-5:]}, n_outlets=1, seed=0, corpora=corpora)
    assert set(d.tests) == {"heldout_source_outlet0", "train_mine_test_theirs", "train_mine_test_old"}
    assert not {r["corpus"] for r in d.fit + d.valid} & {"old", "theirs"}
    assert d.meta["excluded_collection"] == "theirs"


def test_a_corpus_without_an_outlet_field_says_so_not_zero_outlets(tmp_path):
    from vistance.cards.dataset_card import corpus_facts

    f = tmp_path / "a.jsonl"
    f.write_text('{"id": "1", "sentences": ["x"]}\n{"id": "2", "sentences": ["y"]}\n', encoding="utf-8")
    assert corpus_facts(f) == f"`{f}`, 2 articles (no outlet field)"
    f.write_text('{"id": "1", "source": "a.vn", "date": "2020-01-02", "paragraphs": ["x"]}\n', encoding="utf-8")
    assert corpus_facts(f) == f"`{f}`, 1 articles (2020-01 … 2020-01, 1 outlets)"


def test_a_missing_local_source_is_an_error_for_fetch_unless_optional(tmp_path, capsys):
    from vistance.cli import main

    args = ["corpus", "fetch", "mine", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert main(args + ["--optional"]) == 0
    assert json.loads((tmp_path / "o" / "fetch.json").read_text(encoding="utf-8"))["present"] is False


def test_corpora_ingested_together_match_one_ingest_of_their_paths(tmp_path):
    from vistance.corpus import CorpusInput, IngestReport, ingest_corpora, ingest_paths

    news = tmp_path / "news-x" / "articles.jsonl"
    news.parent.mkdir()
    news.write_text(json.dumps({"id": "n1", "source": "a.vn", "paragraphs": [
        "Một đoạn văn đủ dài để được giữ lại sau khi làm sạch dữ liệu.",
        "Đoạn thứ hai cũng đủ dài để được giữ lại sau khi làm sạch."]}, ensure_ascii=False) + "\n", encoding="utf-8")
    seeds = ROOT / "data" / "raw"
    together = list(ingest_corpora([CorpusInput(seeds, "seeds"), CorpusInput(news, "news-x"),
                                    CorpusInput(tmp_path / "absent.jsonl", "gone", optional=True)], IngestReport()))
    assert [p.to_dict() for p in together] == [p.to_dict() for p in ingest_paths([seeds, news])]


def test_the_published_card_tells_how_to_ingest_each_output():
    from vistance.publish import ingest_commands

    assert ingest_commands() == [
        "vistance ingest data/raw --optional data/corpora/news-2024/articles.jsonl -o paragraphs.jsonl",
        "vistance ingest --optional data/corpora/vietnews-fa/articles.jsonl --corpus vietnews-fa --sentence-window 3 "
        "-o vietnews.jsonl"]
