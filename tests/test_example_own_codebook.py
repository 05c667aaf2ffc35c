"""examples/own-codebook runs end to end from its own params.yaml, with no source edit.

The example is a user's project in miniature: a synthetic corpus in its own JSONL file, a codebook
with five themes (no catch-all) and only two tones (warm, cold), gold labels that come back from a
Label Studio export. Its ``run.sh`` runs ingest -> Label Studio export -> import -> dataset -> train
-> evaluate -> compare -> cards -> analyze. Every output must speak the example's labels, and none
of the default codebook's label names (nor its corpora) may leak into it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vistance.labels.schema import LabelSchema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "own-codebook"
DEFAULT_CODEBOOK = LabelSchema.from_file(ROOT / "src" / "vistance" / "data" / "codebook.yaml")
CODEBOOK = LabelSchema.from_file(EXAMPLE / "codebook.yaml")
MODELS = ("tfidf_lr", "tfidf_word")


def default_corpora_in(text: str) -> list[str]:
    """The default corpora (a params file without ``corpora``) that ``text`` names, by name or split key.

    ``seeds`` is left out: the word is everywhere in prose about random seeds.
    """
    from vistance.config import Config

    names = {n for e in Config().corpora for n in (e.name, e.key) if n and n != "seeds"}
    return sorted(n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text))


def default_names_in(text: str) -> list[str]:
    """The default codebook's theme and tone names that ``text`` holds as words.

    The catch-all (``other``) is left out: it is an ordinary English word of any prose.
    """
    names = [*DEFAULT_CODEBOOK.theme_names, *DEFAULT_CODEBOOK.tone_names]
    return [n for n in names
            if n != DEFAULT_CODEBOOK.catch_all and re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]


@pytest.fixture(scope="module")
def run(own_codebook_example):
    """A copy of the example, its committed gold removed (the import must write it again), run once
    (tests/conftest.py: build_own_codebook_example)."""
    return own_codebook_example


def test_the_codebook_differs_from_the_default():
    assert set(CODEBOOK.theme_names).isdisjoint(DEFAULT_CODEBOOK.theme_names)
    assert len(CODEBOOK.tones) == 2 and CODEBOOK.catch_all is None and CODEBOOK.poles is not None


def test_the_import_reproduces_the_committed_gold(run):
    assert (run / "labels" / "gold.jsonl").read_bytes() == (EXAMPLE / "labels" / "gold.jsonl").read_bytes()
    labels = [json.loads(line) for line in (run / "labels" / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {t for lab in labels for t in lab["themes"]} == set(CODEBOOK.theme_names)
    assert {lab["tone"] for lab in labels} == set(CODEBOOK.tone_names)


def test_the_label_studio_interface_offers_the_example_labels(run):
    config = (run / "labels" / "labelstudio" / "tasks.config.xml").read_text(encoding="utf-8")
    values = re.findall(r'<Choice value="([^"]+)"', config)
    assert values == [*CODEBOOK.theme_names, *CODEBOOK.tone_names]
    assert default_names_in(config) == []


def test_the_dataset_class_labels_are_the_codebook(run):
    from datasets import load_from_disk

    dd = load_from_disk(str(run / "data" / "dataset"))
    assert {"train", "validation", "test"} <= set(dd)
    for split in dd.values():
        assert split.features["themes"].feature.names == list(CODEBOOK.theme_names)
        assert split.features["tone"].names == list(CODEBOOK.tone_names)


def test_models_save_and_predict_only_the_example_labels(run):
    for name in MODELS:
        manifest = json.loads((run / "experiments" / "models" / name / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["themes"] == list(CODEBOOK.theme_names) and manifest["tones"] == list(CODEBOOK.tone_names)
        lines = (run / "experiments" / "predictions" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert lines
        for rec in map(json.loads, lines):
            assert set(rec["themes"]) <= set(CODEBOOK.theme_names) and rec["tone"] in CODEBOOK.tone_names, rec
            assert set(rec["scores"]["themes"]) == set(CODEBOOK.theme_names), rec
            assert set(rec["scores"]["tone"]) == set(CODEBOOK.tone_names), rec
        metrics = json.loads((run / "experiments" / "metrics" / f"{name}.json").read_text(encoding="utf-8"))
        assert set(metrics["themes"]["per_label"]) == set(CODEBOOK.theme_names)
        assert set(metrics["tone"]["per_class"]) == set(CODEBOOK.tone_names)
        assert [k.startswith("heldout_source_") for k in metrics["generalisation"]] == [True]   # the largest outlet


def test_the_comparison_and_the_cards_name_the_example_labels_only(run):
    def names_every_label(text):
        return all(re.search(rf"\b{label}\b", text) for label in (*CODEBOOK.theme_names, *CODEBOOK.tone_names))

    comparison = (run / "experiments" / "comparison.md").read_text(encoding="utf-8")
    assert all(m in comparison for m in MODELS) and names_every_label(comparison)
    assert default_names_in(comparison) == []
    for name in MODELS:
        card = (run / "experiments" / "cards" / name / "README.md").read_text(encoding="utf-8")
        assert names_every_label(card), name
        assert default_names_in(card) == [], name
    assert default_names_in((run / "DATASET_CARD.md").read_text(encoding="utf-8")) == []


def test_the_analysis_has_the_warm_cold_index(run):
    import pandas as pd

    out = run / "experiments" / "analysis"
    table = pd.read_csv(out / "tone_by_counterpart_period_theme.csv")
    assert {f"n_{t}" for t in CODEBOOK.tone_names} | {"coop_index"} <= set(table.columns)
    assert not {c for c in table.columns if c.startswith("n_")} - {f"n_{t}" for t in CODEBOOK.tone_names} - {
        "n_paragraphs", "n_articles"}
    assert set(table["theme"]) - {"all", "any_policy"} <= set(CODEBOOK.theme_names)
    overall = table[(table.counterpart == "all") & (table.period == "all") & (table.theme == "all")].iloc[0]
    warm, cold = overall[f"n_{CODEBOOK.poles.positive}"], overall[f"n_{CODEBOOK.poles.negative}"]
    assert warm + cold == overall["n_paragraphs"] == 90
    assert overall["coop_index"] == pytest.approx((warm - cold) / (warm + cold))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    cell = summary["overall"]["all_paragraphs"]
    assert (cell[CODEBOOK.poles.positive], cell[CODEBOOK.poles.negative]) == (warm, cold)
    assert cell["coop_index"] == pytest.approx(overall["coop_index"], abs=1e-4)
    assert (out / "coop_index_by_period.png").is_file()
    assert default_names_in(json.dumps(summary)) == []
    for rec in map(json.loads, (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()):
        assert set(rec["themes"]) <= set(CODEBOOK.theme_names) and rec["tone"] in CODEBOOK.tone_names


def test_the_comparison_and_the_cards_name_only_the_example_corpus(run):
    texts = {p: (run / p).read_text(encoding="utf-8") for p in (
        "experiments/comparison.md", "DATASET_CARD.md", *(f"experiments/cards/{m}/README.md" for m in MODELS))}
    assert {p: default_corpora_in(t) for p, t in texts.items() if default_corpora_in(t)} == {}
    assert "vanlam-news" in texts["DATASET_CARD.md"] or "Vân Lâm" in texts["DATASET_CARD.md"]
