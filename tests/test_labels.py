"""Labels: schema validation, the store, import/export round trips, agreement, adjudication."""
import csv
import json

import pytest

from vistance.errors import LabelError
from vistance.labels.adjudication import build_gold
from vistance.labels.agreement import cohen_kappa, krippendorff_alpha_nominal
from vistance.labels.annotation_io import export_batch, judgements_to_import
from vistance.labels.schema import default_schema, label_from_dict

from vistance.labels.store import merge_labels, read_labels, write_labels
from vistance.labels.validate import check_against_corpus

from conftest import make_label

THEMES, TONES = default_schema().theme_names, default_schema().tone_names

SHA = "0" * 40


def rec(**kw):
    base = {"paragraph_id": "a/p000", "text_sha1": SHA, "themes": ["maritime"], "tone": "contentious",
            "annotator": "x", "annotated_at": "2026-01-01T00:00:00Z"}
    base.update(kw)
    return base


def test_the_schema_lists_the_spec_labels_in_one_place():
    assert THEMES == ("maritime", "economy_trade", "infrastructure", "science_technology", "defense_security",
                      "political_relations", "people_culture_education", "multilateral_global", "other")
    assert TONES == ("cooperative", "contentious", "neutral")


@pytest.mark.parametrize("bad,message", [
    (dict(themes=["sea"]), "unknown theme"),
    (dict(themes=[]), "non-empty"),
    (dict(themes=["other", "maritime"]), "'other' cannot be combined"),
    (dict(tone="hostile"), "unknown tone"),
    (dict(text_sha1="abc"), "40 lowercase hex"),
    (dict(annotated_at="yesterday"), "ISO-8601"),
])
def test_invalid_labels_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(LabelError, match=message):
        label_from_dict(rec(**bad), "f.jsonl:3")


def test_themes_come_back_in_schema_order():
    assert label_from_dict(rec(themes=["political_relations", "maritime"])).themes == ["maritime", "political_relations"]


def test_duplicate_ids_in_a_label_file_are_an_error(tmp_path):
    f = tmp_path / "gold.jsonl"
    f.write_text(json.dumps(rec()) + "\n" + json.dumps(rec(tone="neutral")) + "\n")
    with pytest.raises(LabelError, match=r"gold.jsonl:2: duplicate paragraph_id 'a/p000' \(first on line 1\)"):
        read_labels(f)


def test_stale_labels_are_found_when_the_text_changed(seed_paragraphs):
    p, q = seed_paragraphs[0], seed_paragraphs[1]
    fresh = make_label(p, ["political_relations"], "cooperative")
    stale = make_label(q, ["political_relations"], "cooperative")
    stale.text_sha1 = p.text_sha1  # judged on another text
    orphan = make_label(p, ["other"], "neutral")
    orphan.paragraph_id = "gone/p001"
    rep = check_against_corpus([fresh, stale, orphan], seed_paragraphs)
    assert rep.stale == [q.paragraph_id] and rep.orphans == ["gone/p001"] and not rep.ok


def test_labels_check_cli_fails_on_stale_and_passes_on_fresh(tmp_path, seed_paragraphs):
    from vistance.cli import main
    from vistance.corpus import write_paragraphs

    paras = tmp_path / "p.jsonl"
    write_paragraphs(seed_paragraphs, paras)
    good = tmp_path / "good.jsonl"
    write_labels(good, [make_label(p, ["political_relations"], "neutral") for p in seed_paragraphs[:3]])
    assert main(["labels", "check", str(good), "--paragraphs", str(paras)]) == 0
    bad = tmp_path / "bad.jsonl"
    lab = make_label(seed_paragraphs[0], ["political_relations"], "neutral")
    lab.text_sha1 = "f" * 40
    write_labels(bad, [lab])
    assert main(["labels", "check", str(bad), "--paragraphs", str(paras)]) == 1
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps(rec(themes=["sea"])) + "\n")
    assert main(["labels", "check", str(unknown), "--paragraphs", str(paras)]) == 1


def test_merge_is_idempotent_and_never_overwrites_silently(tmp_path, seed_paragraphs):
    store = tmp_path / "gold.jsonl"
    a = [make_label(p, ["political_relations"], "cooperative", "ann1") for p in seed_paragraphs[:4]]
    r1 = merge_labels(store, a)
    assert len(r1.added) == 4
    r2 = merge_labels(store, a)
    assert r2.added == [] and len(r2.unchanged) == 4
    other = make_label(seed_paragraphs[0], ["economy_trade"], "neutral", "ann2")
    r3 = merge_labels(store, [other])
    assert len(r3.conflicts) == 1
    assert read_labels(store)[0].themes == ["political_relations"]  # kept
    r4 = merge_labels(store, [other], replace=True)
    assert r4.replaced == [other.paragraph_id]
    assert {l.paragraph_id: l.tone for l in read_labels(store)}[other.paragraph_id] == "neutral"


@pytest.mark.parametrize("fmt,suffix", [("labelstudio", ".json"), ("jsonl", ".jsonl"), ("csv", ".csv")])
def test_export_then_import_round_trips(tmp_path, seed_paragraphs, fmt, suffix):
    batch = seed_paragraphs[:3]
    out = tmp_path / f"batch{suffix}"
    assert export_batch(batch, out, fmt=fmt) == 3
    # an annotator fills in the batch
    if fmt == "labelstudio":
        tasks = json.loads(out.read_text())
        assert (tmp_path / "batch.config.xml").read_text().count("<Choice ") == len(THEMES) + len(TONES)
        for t in tasks:
            t["annotations"] = [{"completed_by": 7, "created_at": "2026-01-02T00:00:00Z", "result": [
                {"from_name": "themes", "type": "choices", "value": {"choices": ["political_relations", "economy_trade"]}},
                {"from_name": "tone", "type": "choices", "value": {"choices": ["cooperative"]}}]}]
        out.write_text(json.dumps(tasks, ensure_ascii=False))
    elif fmt == "jsonl":
        rows = [json.loads(l) for l in out.read_text().splitlines()]
        out.write_text("\n".join(json.dumps({**r, "themes": ["economy_trade", "political_relations"], "tone": "cooperative"},
                                            ensure_ascii=False) for r in rows) + "\n")
    else:
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        with out.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({**r, "themes": "economy_trade;political_relations", "tone": "cooperative"})
    ok, rejected = judgements_to_import(out, seed_paragraphs, annotator="ann-test")
    assert rejected == []
    assert [(l.paragraph_id, l.text_sha1, l.themes, l.tone) for l in ok] == [
        (p.paragraph_id, p.text_sha1, ["economy_trade", "political_relations"], "cooperative") for p in batch]


def test_import_rejects_stale_and_unknown_judgements_and_keeps_the_rest(tmp_path, seed_paragraphs):
    from vistance.cli import main
    from vistance.corpus import write_paragraphs

    paras = tmp_path / "p.jsonl"
    write_paragraphs(seed_paragraphs, paras)
    p0, p1 = seed_paragraphs[:2]
    f = tmp_path / "j.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        rec(paragraph_id=p0.paragraph_id, text_sha1=p0.text_sha1),
        rec(paragraph_id=p1.paragraph_id, text_sha1=p0.text_sha1),       # stale
        rec(paragraph_id="nope/p000"),                                     # unknown
        rec(paragraph_id=p1.paragraph_id, text_sha1=p1.text_sha1, tone="angry"),  # bad label
    ]) + "\n")
    gold = tmp_path / "gold.jsonl"
    assert main(["annotate", "import", str(f), "--into", str(gold), "--paragraphs", str(paras)]) == 1
    assert [l.paragraph_id for l in read_labels(gold)] == [p0.paragraph_id]
    # importing again changes nothing
    before = gold.read_bytes()
    main(["annotate", "import", str(f), "--into", str(gold), "--paragraphs", str(paras)])
    assert gold.read_bytes() == before


def test_krippendorff_alpha_matches_a_hand_computation():
    # coincidences: o_aa=2, o_ab=o_ba=1, o_bb=4; n=8, n_a=3, n_b=5
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["b", "b"]]
    expected = 1 - (2 / 8) / ((3 * 5 + 5 * 3) / (8 * 7))
    assert krippendorff_alpha_nominal(units) == pytest.approx(expected)
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b"]]) == 1.0
    assert krippendorff_alpha_nominal([["a", None]]) != krippendorff_alpha_nominal([["a", None]])  # nan: nothing pairable


def test_cohen_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    a = ["x", "x", "y", "y", "z", "x", "y", "z"]
    b = ["x", "y", "y", "y", "z", "x", "x", "z"]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_gold_is_first_pass_with_adjudicated_decisions(seed_paragraphs):
    p0, p1 = seed_paragraphs[:2]
    first = [make_label(p0, ["political_relations"], "cooperative"), make_label(p1, ["other"], "neutral")]
    adj = [{"paragraph_id": p1.paragraph_id, "text_sha1": p1.text_sha1, "decision": {"themes": ["economy_trade"], "tone": "neutral"},
            "chosen": "coding_2", "adjudicator": "adj", "reason": "r"}]
    gold, changed = build_gold(first, adj)
    assert changed == 1
    assert {l.paragraph_id: (l.themes, l.annotator) for l in gold}[p1.paragraph_id] == (["economy_trade"], "adj")
    adj[0]["text_sha1"] = "1" * 40
    with pytest.raises(LabelError, match="another text"):
        build_gold(first, adj)


def test_committed_gold_labels_are_valid_and_large_enough():
    from conftest import ROOT

    gold = read_labels(ROOT / "labels" / "gold.jsonl", allow_missing=False)
    assert len(gold) >= 1500
    assert all(l.annotator for l in gold)
