"""`vistance.dataset.build_dataset`: a split no labelled paragraph falls in is left out, not saved empty."""
from __future__ import annotations

import json

from vistance.corpus import write_paragraphs
from vistance.corpus.records import Paragraph
from vistance.dataset import load_dataset_dict
from vistance.dataset.build import build_dataset
from vistance.labels.schema import Label
from vistance.labels.store import write_labels
from vistance.text.normalize import text_sha1


def _corpus(root, articles=10):
    paras, labels = [], []
    for a in range(articles):
        for i, (themes, tone) in enumerate([(["maritime"], "contentious"), (["economy_trade"], "cooperative")]):
            text = f"Đoạn {i} của bài {a}."
            pid = f"art{a:02d}/p{i:03d}"
            paras.append(Paragraph(paragraph_id=pid, article_id=f"art{a:02d}", text=text, text_sha1=text_sha1(text),
                                   title="t", date="2024-05-01", source="vov.vn", corpus="news-2024",
                                   unit="paragraph", index=i))
            labels.append(Label(paragraph_id=pid, text_sha1=text_sha1(text), themes=themes, tone=tone,
                                annotator="ann-A", annotated_at="2026-01-01T00:00:00Z"))
    write_paragraphs(paras, root / "paragraphs.jsonl")
    write_labels(root / "gold.jsonl", labels)


def test_the_crosscorpus_split_is_left_out_when_its_paragraphs_are_absent(tmp_path):
    _corpus(tmp_path)
    heldout = tmp_path / "heldout.json"
    heldout.write_text(json.dumps({"articles": ["vietnews-fa/x1", "vietnews-fa/x2"]}), encoding="utf-8")
    report = build_dataset([tmp_path / "paragraphs.jsonl", tmp_path / "absent.jsonl"], tmp_path / "gold.jsonl",
                           tmp_path / "dataset", tmp_path / "stats.json",
                           split={"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1, crosscorpus_test=heldout)
    dd = load_dataset_dict(tmp_path / "dataset")          # an empty split here used to crash the load
    assert list(dd) == ["train", "validation", "test"]
    assert sum(len(dd[s]) for s in dd) == report.rows == 20
    stats = json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))
    assert stats["empty_splits"] == ["test_vietnews"] and "test_vietnews" not in stats["splits"]


def test_a_zero_fraction_split_is_not_saved(tmp_path):
    _corpus(tmp_path, articles=4)
    build_dataset(tmp_path / "paragraphs.jsonl", tmp_path / "gold.jsonl", tmp_path / "dataset",
                  tmp_path / "stats.json", split={"train": 0.75, "validation": 0.0, "test": 0.25}, seed=1)
    dd = load_dataset_dict(tmp_path / "dataset")
    assert "validation" not in dd and all(len(dd[s]) for s in dd)


def test_labels_check_matches_labels_against_several_paragraph_files(tmp_path, capsys):
    from vistance.cli import main

    _corpus(tmp_path, articles=2)
    lines = (tmp_path / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "a.jsonl").write_text("".join(lines[:2]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("".join(lines[2:]), encoding="utf-8")
    gold = str(tmp_path / "gold.jsonl")
    assert main(["labels", "check", gold, "--paragraphs", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]) == 0
    assert "not in this corpus" not in capsys.readouterr().err
    assert main(["labels", "check", gold, "--paragraphs", str(tmp_path / "a.jsonl")]) == 0
    assert "(2 label(s) for paragraphs not in this corpus)" in capsys.readouterr().err
