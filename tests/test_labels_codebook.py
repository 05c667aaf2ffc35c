"""Another codebook end to end through the labels and dataset room: three other themes, two tones,
no catch-all, no no-signal tone, no poles. Validation, the Label Studio config out and the export
back in, silver labels (none without a cue file; its own cue file works), agreement, active
learning, sampling, adjudication and the dataset, whose ClassLabel names and codebook.json are its own."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from vistance.cli import main
from vistance.corpus import write_paragraphs
from vistance.corpus.records import Paragraph
from vistance.errors import LabelError, VistanceError
from vistance.labels.schema import Label, LabelSchema, default_schema, label_from_dict
from vistance.text.normalize import text_sha1

CODEBOOK = """name: civic
version: "1"
themes:
  economy: prices, jobs & trade
  security: police, army, crime
  culture: arts, "heritage", festivals
tones: [positive, negative]
"""
TEXTS = ["Giá cả tăng mạnh.", "Cảnh sát bắt giữ nghi phạm.", "Lễ hội văn hóa khai mạc.", "Hợp tác kinh tế tốt đẹp."]
LABELLED = [(["economy"], "negative"), (["security"], "negative"), (["culture"], "positive"),
            (["economy", "culture"], "positive")]


@pytest.fixture()
def civic(tmp_path):
    path = tmp_path / "civic.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text(f"labels:\n  codebook: {path}\n", encoding="utf-8")
    return LabelSchema.from_file(path), params


def _paragraphs(n_articles=8):
    out = []
    for a in range(n_articles):
        for i, text in enumerate(TEXTS):
            text = f"{text} Bài {a}."
            out.append(Paragraph(paragraph_id=f"art{a:02d}/p{i:03d}", article_id=f"art{a:02d}", text=text,
                                 text_sha1=text_sha1(text), title="t", date="2024-05-01", source="x.vn",
                                 corpus="news-2024", unit="paragraph", index=i))
    return out


def _gold(paras, annotator="ann-A"):
    return [Label(paragraph_id=p.paragraph_id, text_sha1=p.text_sha1, themes=LABELLED[p.index][0],
                  tone=LABELLED[p.index][1], annotator=annotator, annotated_at="2026-01-01T00:00:00Z") for p in paras]


def test_labels_are_validated_against_the_codebook(civic):
    schema, _ = civic
    rec = {"paragraph_id": "a/p0", "text_sha1": "0" * 40, "themes": ["culture", "economy"], "tone": "positive",
           "annotator": "x"}
    assert label_from_dict(rec, schema=schema).themes == ["economy", "culture"]     # schema order
    with pytest.raises(LabelError, match="unknown theme.*allowed: economy, security, culture"):
        label_from_dict({**rec, "themes": ["maritime"]}, schema=schema)
    with pytest.raises(LabelError, match="unknown tone 'neutral'"):
        label_from_dict({**rec, "tone": "neutral"}, schema=schema)
    with pytest.raises(LabelError, match="unknown theme"):
        label_from_dict(rec)                                                       # the default codebook


def test_the_label_studio_config_is_the_codebook(civic):
    from vistance.labels.annotation_io import label_studio_config

    schema, _ = civic
    xml = label_studio_config(schema)
    assert re.findall(r'<Choice value="([^"]+)"', xml) == ["economy", "security", "culture", "positive", "negative"]
    assert 'hint="prices, jobs &amp; trade"' in xml and 'hint="arts, &quot;heritage&quot;, festivals"' in xml
    assert '<Header value="Themes (all that apply)"/>' in xml and "alone" not in xml
    assert '<Header value="Tone"/>' in xml
    import xml.etree.ElementTree as ET

    ET.fromstring(xml)                                                             # well-formed


def test_the_default_label_studio_config_keeps_its_choices_and_headers():
    from vistance.labels.annotation_io import label_studio_config

    xml = label_studio_config()
    schema = default_schema()
    assert re.findall(r'<Choice value="([^"]+)"', xml) == list(schema.theme_names + schema.tone_names)
    assert "<Header value=\"Themes (all that apply; 'other' alone)\"/>" in xml
    assert '<Header value="Tone (friction wins)"/>' in xml
    without_hints = re.sub(r' hint="[^"]*"', "", xml)
    assert '    <Choice value="maritime"/>\n    <Choice value="economy_trade"/>' in without_hints


def test_label_studio_export_and_import_round_trip_under_the_codebook(civic, tmp_path):
    schema, params = civic
    paras = _paragraphs(1)
    write_paragraphs(paras, tmp_path / "paras.jsonl")
    batch = tmp_path / "batch.json"
    assert main(["annotate", "export", "--paragraphs", str(tmp_path / "paras.jsonl"), "--format", "labelstudio",
                 "--out", str(batch), "--n", "10", "--exclude", "--params", str(params)]) == 0
    assert 'value="security"' in (tmp_path / "batch.config.xml").read_text(encoding="utf-8")
    tasks = json.loads(batch.read_text(encoding="utf-8"))
    for i, t in enumerate(tasks):
        themes, tone = LABELLED[i]
        if i == 3:
            themes = ["maritime"]                                                  # not a choice of this codebook
        t["id"] = i + 1
        t["annotations"] = [{"id": 10 + i, "completed_by": "Ann", "created_at": "2026-01-01T00:00:00Z",
                             "result": [{"from_name": "themes", "to_name": "text", "type": "choices",
                                         "value": {"choices": themes}},
                                        {"from_name": "tone", "to_name": "text", "type": "choices",
                                         "value": {"choices": [tone]}}]}]
    batch.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    assert main(["annotate", "import", str(batch), "--into", str(gold), "--paragraphs", str(tmp_path / "paras.jsonl"),
                 "--params", str(params)]) == 1                                    # one rejected
    from vistance.labels.store import read_labels

    labs = read_labels(gold, schema=schema)
    assert [(l.themes, l.tone) for l in labs] == LABELLED[:3]
    with pytest.raises(LabelError):
        read_labels(gold)                                                          # not labels of the default codebook
    assert main(["labels", "check", str(gold), "--paragraphs", str(tmp_path / "paras.jsonl"),
                 "--params", str(params)]) == 0


def test_without_a_cue_file_there_are_no_silver_labels_and_a_clear_message(civic, tmp_path, capsys):
    from vistance.labels.silver import NoSilverCues, silver_rules

    schema, params = civic
    with pytest.raises(NoSilverCues, match="no silver cue file.*--cues"):
        silver_rules(schema)
    paras = _paragraphs(1)
    write_paragraphs(paras, tmp_path / "units.jsonl")
    out = tmp_path / "silver"
    assert main(["silver", "--paragraphs", str(tmp_path / "units.jsonl"), "--out", str(out),
                 "--params", str(params)]) == 0
    assert "no silver labels" in capsys.readouterr().err and not out.exists()


CUES = {"version": "c1", "combiner": {"vetoes": {"lf_festival": ["economy"]}},
        "cue_sets": {"prices": {"phrases": ["giá cả", "kinh tế"]}, "police": {"phrases": ["cảnh sát"]},
                     "fest": {"phrases": ["lễ hội"]}, "good": {"phrases": ["tốt đẹp", "khai mạc"]}},
        "functions": [
            {"name": "lf_economy", "task": "theme", "label": "economy", "when": {"cue": "prices"}},
            {"name": "lf_police", "task": "theme", "label": "security", "when": {"cue": "police"}},
            {"name": "lf_festival", "task": "theme", "label": "culture", "when": {"cue": "fest"}},
            {"name": "lf_good", "task": "tone", "label": "positive", "when": {"cue": "good"}}]}


def test_a_codebooks_own_cue_file_gives_silver_labels_by_its_rules(civic, tmp_path):
    from vistance.labels.silver import SilverRules, run_silver

    schema, _ = civic
    rules = SilverRules(CUES, schema)
    assert rules.label("Lễ hội văn hóa khai mạc.")[:2] == (["culture"], "positive")
    assert rules.label("Giá cả tăng mạnh.")[:2] == (["economy"], None)            # no tone cue, no no-signal tone
    assert rules.combine({}) == (None, None)
    paras = _paragraphs(1)
    write_paragraphs(paras, tmp_path / "units.jsonl")
    cues = tmp_path / "cues.json"
    cues.write_text(json.dumps(CUES, ensure_ascii=False), encoding="utf-8")
    rep = run_silver(tmp_path / "units.jsonl", tmp_path / "none.jsonl", tmp_path / "none-paras.jsonl",
                     out=tmp_path / "silver", schema=schema, cues=cues)
    assert rep.labelled == 2 and rep.stats["annotator"] == "lf:c1"              # the festival and the cooperation
    assert rep.stats["silver_label_counts"] == {"themes": {"economy": 1, "security": 0, "culture": 1},
                                                "tone": {"positive": 2, "negative": 0}}


def test_a_cue_for_a_label_the_codebook_lacks_is_refused(civic):
    from vistance.labels.silver import SilverRules

    schema, _ = civic
    bad = dict(CUES, functions=CUES["functions"] + [
        {"name": "lf_sea", "task": "theme", "label": "maritime", "when": {"cue": "prices"}}])
    with pytest.raises(VistanceError, match="lf_sea has task 'theme' and label 'maritime'"):
        SilverRules(bad, schema)
    with pytest.raises(VistanceError, match="vetoes of lf_festival names \\['other'\\]"):
        SilverRules(dict(CUES, combiner={"vetoes": {"lf_festival": ["other"]}}), schema)


def test_agreement_adjudication_and_active_learning_use_the_codebook(civic):
    from vistance.labels.active import make_sampler
    from vistance.labels.adjudication import build_gold
    from vistance.labels.agreement import agreement_report

    schema, _ = civic
    paras = _paragraphs(2)
    first, second = _gold(paras), _gold(paras, "ann-B")
    second[0] = Label(**{**second[0].to_dict(), "tone": "positive"})
    rep = agreement_report(first, second, schema)
    assert list(rep["themes"]["per_label"]) == ["economy", "security", "culture"] and rep["tone"]["agreement"] < 1
    adj = [{"paragraph_id": first[0].paragraph_id, "text_sha1": first[0].text_sha1, "adjudicator": "adj",
            "reason": "r", "decision": {"themes": ["security"], "tone": "positive"}}]
    gold, replaced = build_gold(first, adj, schema)
    assert replaced == 1
    with pytest.raises(LabelError):
        build_gold(first, adj)                                                     # the default codebook
    n = 12                                                                         # every class counts: no catch-all
    themes = np.full((n, 3), 0.1)                                                  # and no no-signal tone
    themes[0, 1] = 0.9
    tone = np.tile([0.5, 0.5], (n, 1))
    tone[1] = [0.0, 1.0]
    scores = SimpleNamespace(themes=themes, tone=tone, thresholds=0.5)   # what a model of this codebook says
    picked = make_sampler("balanced", seed=1, schema=schema).query([f"u{i}" for i in range(n)], 5, scores=scores,
                                                                   label_counts={"positive": 100})
    assert {"u0", "u1"} <= set(picked)
    with pytest.raises(ValueError, match="3 theme and 2 tone column.*the codebook has 9 and 3"):
        make_sampler("balanced", schema=default_schema()).query(["a"] * n, 2, scores=scores)


def test_sampling_without_cues_for_the_codebook_still_samples(civic):
    from vistance.labels.sampling import rare_strata, select_for_annotation

    schema, _ = civic
    assert rare_strata(schema) == {} and "maritime" in rare_strata()
    paras = _paragraphs(4)
    chosen = select_for_annotation(paras, 8, stratum_quota=5, seed=1, schema=schema)
    assert len(chosen) == 8
    assert len(select_for_annotation(paras, 4, stratum_quota=0, cues={}, schema=schema)) == 4


def test_the_dataset_carries_the_codebook(civic, tmp_path):
    from vistance.dataset import check_dataset_schema, dataset_schema, load_dataset_dict, rows_from_dataset
    from vistance.labels.store import write_labels

    schema, params = civic
    paras = _paragraphs(10)
    write_paragraphs(paras, tmp_path / "paras.jsonl")
    write_labels(tmp_path / "gold.jsonl", _gold(paras))
    assert main(["dataset", "--paragraphs", str(tmp_path / "paras.jsonl"), "--labels", str(tmp_path / "gold.jsonl"),
                 "--out", str(tmp_path / "ds"), "--stats", str(tmp_path / "stats.json"),
                 "--params", str(params)]) == 0
    dd = load_dataset_dict(tmp_path / "ds")
    assert dd["train"].features["tone"].names == ["positive", "negative"]
    assert dd["train"].features["themes"].feature.names == ["economy", "security", "culture"]
    assert {tuple(r["themes"]) for r in rows_from_dataset(dd["train"])} <= {("economy",), ("security",), ("culture",),
                                                                             ("economy", "culture")}
    assert dataset_schema(tmp_path / "ds").model_dump() == schema.model_dump()
    saved = (tmp_path / "ds" / "codebook.json").read_text(encoding="utf-8")
    assert saved.endswith("}\n") and json.loads(saved)["themes"]["economy"] == "prices, jobs & trade"
    stats = json.loads((tmp_path / "stats.json").read_text(encoding="utf-8"))
    assert set(stats["splits"]["train"]["tone"]) == {"positive", "negative"}
    with pytest.raises(LabelError, match="themes \\[economy, security, culture\\].*themes \\[maritime"):
        check_dataset_schema(tmp_path / "ds", default_schema())
    assert check_dataset_schema(tmp_path / "ds", schema).theme_names == schema.theme_names


def test_a_dataset_without_its_codebook_asks_for_a_rebuild(tmp_path):
    from vistance.dataset import dataset_schema

    (tmp_path / "ds").mkdir()
    with pytest.raises(VistanceError, match="rebuild the dataset"):
        dataset_schema(tmp_path / "ds")
