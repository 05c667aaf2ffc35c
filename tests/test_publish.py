"""`vistance publish`: Hub-ready dataset and model folders that `datasets`, the Hub and `vistance predict` read.

A tiny pipeline is built in tmp: synthetic paragraphs and gold labels, a dataset with splits,
a lexicon model evaluated by vistance's own evaluation, copied as ``best``.
"""
from __future__ import annotations

import json
import shutil

import pytest

from vistance.labels.schema import Label

TEXTS = [
    ("Hai bên nhất trí tăng cường hợp tác thương mại và đầu tư.", ["economy_trade"], "cooperative"),
    ("Việt Nam phản đối việc tàu Trung Quốc vi phạm chủ quyền trên Biển Đông.", ["maritime"], "contentious"),
    ("Bộ trưởng hai nước hội đàm về quan hệ đối tác chiến lược.", ["political_relations"], "cooperative"),
    ("Nhiệt độ thấp nhất 23-26 độ, trời nắng.", ["other"], "neutral"),
    ("Hai nước ký thỏa thuận xây dựng tuyến đường sắt cao tốc.", ["infrastructure"], "cooperative"),
    ("Hải quân hai nước tập trận chung trên biển.", ["defense_security", "maritime"], "cooperative"),
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Paragraphs, gold, dataset, an evaluated lexicon model and its `best` copy, in one tmp tree."""
    from vistance.corpus.records import Paragraph
    from vistance.dataset.build import build_dataset
    from vistance.evaluation.evaluate import evaluate_model
    from vistance.labels.store import write_labels
    from vistance.models.lexicon import LexiconModel
    from vistance.text.normalize import text_sha1

    root = tmp_path_factory.mktemp("pipe")
    paras, labels = [], []
    for a in range(12):  # 12 articles x 6 paragraphs
        for i, (text, themes, tone) in enumerate(TEXTS):
            t = f"{text} Bài {a}."
            pid = f"art{a:02d}/p{i:03d}"
            paras.append(Paragraph(paragraph_id=pid, article_id=f"art{a:02d}", text=t, text_sha1=text_sha1(t),
                                   title=f"Bài {a}", date="2024-05-01", source="vov.vn", corpus="news-2024",
                                   unit="paragraph", index=i))
            labels.append(Label(paragraph_id=pid, text_sha1=text_sha1(t), themes=themes, tone=tone,
                                annotator="ann-A", annotated_at="2026-01-01T00:00:00Z", codebook="2"))
    from vistance.corpus import write_paragraphs

    write_paragraphs(paras, root / "paragraphs.jsonl")
    write_labels(root / "gold.jsonl", labels + [Label(paragraph_id="absent/p000", text_sha1="0" * 40,
                                                      themes=["other"], tone="neutral", annotator="ann-A",
                                                      annotated_at="2026-01-01T00:00:00Z")])
    build_dataset([root / "paragraphs.jsonl"], root / "gold.jsonl", root / "dataset", root / "stats.json",
                  split={"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1)
    exp = root / "experiments"
    LexiconModel().fit([], [], []).save(exp / "models" / "lexicon")
    from vistance.config import EvaluateConfig

    specs = {"lexicon": ("lexicon", {})}
    evaluate_model("lexicon", "lexicon", {}, root / "dataset", exp / "models" / "lexicon", exp,
                   settings=EvaluateConfig(n_boot=20, cv_folds=3, generalisation=False, min_paragraphs=0), seed=0)
    shutil.copytree(exp / "models" / "lexicon", exp / "models" / "best")
    (exp / "models" / "best" / "BEST.json").write_text(json.dumps({"model": "lexicon", "selected_by": "tone_macro_f1",
                                                                    "value": 0.5}))
    from vistance.publish import publish

    report = publish(specs=specs, experiments=exp, dataset_dir=root / "dataset", gold=root / "gold.jsonl",
                     dataset_stats=root / "stats.json", adjudication=None, second_pass=None)
    return root, report


def test_the_dataset_folder_loads_offline_with_datasets_and_holds_no_text(pipeline):
    from datasets import load_dataset

    root, report = pipeline
    dd = load_dataset(report.dataset)
    assert set(dd) == {"train", "validation", "test"}
    assert sum(len(ds) for ds in dd.values()) == 72  # the label of the absent paragraph is not in the release
    assert "text" not in dd["train"].column_names
    row = dd["train"][0]
    assert row["codebook"] == "2" and row["annotator"] == "ann-A" and len(row["text_sha1"]) == 40
    articles = [set(ds["article_id"]) for ds in dd.values()]
    assert not (articles[0] & articles[1] or articles[0] & articles[2] or articles[1] & articles[2])


def test_the_dataset_card_metadata_is_what_the_hub_reads(pipeline):
    from huggingface_hub import DatasetCard

    _, report = pipeline
    card = DatasetCard.load(f"{report.dataset}/README.md")
    d = card.data.to_dict()
    assert d["license"] == "mit" and d["language"] == ["vi"] and d["task_categories"] == ["text-classification"]
    assert d["size_categories"] == ["n<1K"] and d["annotations_creators"] and d["source_datasets"]
    assert {f["split"] for f in d["configs"][0]["data_files"]} == {"train", "validation", "test"}
    assert "1 further gold label" in card.text and "vistance corpus fetch" in card.text


def test_attach_text_joins_the_text_back_and_checks_its_hash(pipeline, tmp_path):
    from vistance.errors import VistanceError
    from vistance.publish import attach_text

    root, report = pipeline
    dd = attach_text(report.dataset, root / "paragraphs.jsonl")
    assert all(r["text"].endswith(".") for r in dd["test"]) and "text" in dd["train"].column_names
    lines = (root / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()
    changed = json.loads(lines[0])
    changed["text"] += " (sửa)"
    (tmp_path / "p.jsonl").write_text("\n".join([json.dumps(changed, ensure_ascii=False)] + lines[1:]) + "\n",
                                      encoding="utf-8")
    with pytest.raises(VistanceError, match="matching hash"):
        attach_text(report.dataset, tmp_path / "p.jsonl")
    dropped = attach_text(report.dataset, tmp_path / "p.jsonl", missing="drop")
    assert sum(len(d) for d in dropped.values()) == 71


def test_the_model_card_parses_and_carries_model_index_datasets_and_licences(pipeline):
    from huggingface_hub import ModelCard

    _, report = pipeline
    card = ModelCard.load(f"{report.models[0]}/README.md")
    d = card.data.to_dict()
    assert d["license"] == "mit" and d["datasets"] == ["vistance/vistance-gold"]
    splits = {r.dataset_split for r in card.data.eval_results}
    assert "test" in splits and any(s.startswith("grouped_") for s in splits)  # generalisation rows too
    assert "## Licences" in card.text and "--model ." in card.text and "selected by" in card.text


def test_predict_works_on_the_published_model_folder(pipeline, tmp_path):
    from vistance.cli import main

    _, report = pipeline
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "text": TEXTS[1][0]}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["predict", "--model", report.models[0], "--input", str(inp), "--output", str(tmp_path / "o.jsonl")]) == 0
    out = json.loads((tmp_path / "o.jsonl").read_text())
    assert out["id"] == "a" and out["tone"] == "contentious"


def test_base_model_is_declared_only_for_a_hub_checkpoint(tmp_path):
    from vistance.publish import _hub_checkpoint, checkpoint_licence

    assert _hub_checkpoint("vinai/phobert-base") == "vinai/phobert-base"
    assert _hub_checkpoint(str(tmp_path)) is None and _hub_checkpoint("experiments/checkpoints/tiny") is None
    assert checkpoint_licence("vinai/phobert-base-v2") == "agpl-3.0" and checkpoint_licence(None) == "mit"


def test_size_categories_follow_the_row_count():
    from vistance.publish import size_category

    assert [size_category(n) for n in (10, 1784, 20_000)] == ["n<1K", "1K<n<10K", "10K<n<100K"]


def test_card_limitations_come_from_the_data_that_ran():
    from vistance.cards.model_card import rare_themes_sentence, training_data_sentence

    stats = {"splits": {"train": {"paragraphs": 40, "articles": 5, "sources": {"vov.vn": 30, "bbc.com": 10}},
                        "test": {"paragraphs": 10, "articles": 2, "sources": {"vov.vn": 10}}}}
    s = training_data_sentence(stats)
    assert "50 gold paragraphs" in s and "7 articles" in s and "2 outlet(s)" in s and "vov.vn (40)" in s
    assert "few thousand" not in training_data_sentence(None)
    per = {t: {"support": 25} for t in ("maritime", "economy_trade")}
    per["infrastructure"] = {"support": 3}
    from vistance.labels.schema import default_schema

    rare = rare_themes_sentence(per, default_schema())
    assert "`infrastructure` 3" in rare and "maritime" not in rare


def test_publish_writes_again_into_its_own_folder_and_never_into_a_foreign_one(pipeline, tmp_path):
    """`--out` must be new, empty or a folder publish wrote (its marker lists what it wrote there)."""
    from vistance.errors import UsageError
    from vistance.publish import MARKER, publish

    root, report = pipeline
    exp = root / "experiments"
    kwargs = dict(specs={"lexicon": ("lexicon", {})}, experiments=exp, dataset_dir=root / "dataset", gold=root / "gold.jsonl",
                  dataset_stats=root / "stats.json", adjudication=None, second_pass=None)
    out = exp / "publish"
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["entries"]) == {"README.md", "dataset", "models/best"}
    again = publish(**kwargs)  # its own folder: replaced in place
    assert again.dataset == report.dataset and (out / "models" / "best" / "manifest.json").is_file()

    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "README.md").write_text("the project's own README\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not written by vistance publish"):
        publish(**kwargs, out=foreign)
    assert [p.name for p in foreign.iterdir()] == ["README.md"]
    assert (foreign / "README.md").read_text(encoding="utf-8") == "the project's own README\n"

    (out / "models" / "mine").mkdir()
    (out / "models" / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="models/mine: exists and was not written by vistance publish"):
        publish(**{**kwargs, "models": ["best", "mine"]})
    assert (out / "models" / "mine" / "notes.txt").read_text(encoding="utf-8") == "mine"
