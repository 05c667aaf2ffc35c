"""Silver labels: keyword labelling functions, the combiner, the CLI's files, and the gold/silver wall.

All sentences here are written for the tests (no corpus text)."""
from __future__ import annotations

import hashlib
import json

import pytest

from vistance.errors import VistanceError
from vistance.labels import silver as S
from vistance.labels.schema import default_schema
from vistance.labels.store import read_labels
from vistance.text.normalize import text_sha1

THEMES, TONES = default_schema().theme_names, default_schema().tone_names
OTHER = default_schema().catch_all

SENTENCES = [
    "Tàu hải cảnh Trung Quốc hoạt động trái phép ở Biển Đông.",
    "Bắc Biển Đông có gió mạnh cấp 7, giật cấp 9, biển động.",
    "Nhà hàng nằm trên đường Hoàng Sa, quận 1.",
    "Ai cũng biết điều đó.",
    "Hai nước hợp tác phát triển AI và bán dẫn.",
    "Giá vàng tiếp tục tăng trong phiên sáng nay.",
    "Hai bên thúc đẩy xây dựng tuyến đường sắt khổ tiêu chuẩn Lào Cai - Hà Nội.",
    "Tàu sân bay Mỹ được nâng cấp hệ thống radar.",
    "Bộ Ngoại giao phản đối việc tàu nước ngoài xâm phạm chủ quyền.",
    "Hai bên nhất trí tăng cường hợp tác nhưng vẫn còn bất đồng trên biển.",
    "Hai bên nhất trí tăng cường hợp tác kinh tế, thương mại.",
    "Tiền đạo tấn công liên tục trong trận đấu tối qua.",
    "Diễn đàn Hợp tác Kinh tế châu Á - Thái Bình Dương họp tại Lima.",
    "Thủ tướng Việt Nam hội đàm với Thủ tướng Nhật Bản tại Tokyo.",
    "Liên Hợp Quốc kêu gọi các bên kiềm chế.",
    "Sinh viên Việt Nam nhận học bổng du học.",
    "Kết quả xổ số miền Nam hôm nay.",
    "Nga và Ukraine tiếp tục giao tranh ác liệt ở miền đông.",
]


# -- labelling functions on hand-made sentences -------------------------------------------
def test_maritime_lfs_fire_on_sea_disputes_but_not_on_weather_or_streets():
    assert S.lf_maritime_sea_names(SENTENCES[0]) == "maritime"
    assert S.lf_maritime_enforcement(SENTENCES[0]) == "maritime"
    assert S.lf_maritime_sea_names(SENTENCES[1]) is S.ABSTAIN          # weather report
    assert S.lf_other_weather(SENTENCES[1]) == OTHER
    assert S.lf_maritime_sea_names(SENTENCES[2]) is S.ABSTAIN          # a street name
    assert S.lf_maritime_law_of_sea("Các bên cần tuân thủ UNCLOS năm 1982.") == "maritime"


def test_weather_vetoes_maritime_in_the_combined_label():
    themes, tone, votes = S.silver_label(SENTENCES[1])
    assert themes == [OTHER] and tone == "neutral"
    assert "lf_other_weather" in votes


def test_acronyms_are_case_sensitive_and_syllables_whole():
    assert S.lf_science_technology(SENTENCES[3]) is S.ABSTAIN          # "Ai" = who
    assert S.lf_science_technology(SENTENCES[4]) == "science_technology"
    for f in (S.lf_political_talks_visits, S.lf_political_partnership, S.lf_political_diplomacy,
              S.lf_political_leaders_two_states):
        assert f(SENTENCES[5]) is S.ABSTAIN                            # "tiếp tục" is not "tiếp <someone>"


def test_infrastructure_needs_a_transport_project():
    assert S.lf_infrastructure_transport(SENTENCES[6]) == "infrastructure"
    assert S.lf_infrastructure_transport(SENTENCES[7]) is S.ABSTAIN    # aircraft carrier
    assert S.lf_infrastructure_transport("Xe đi theo quốc lộ 1A rồi rẽ phải.") is S.ABSTAIN


def test_tone_lfs_and_friction_wins():
    assert S.lf_tone_protest_condemn(SENTENCES[8]) == "contentious"
    assert S.silver_label(SENTENCES[8])[1] == "contentious"
    both = S.apply_lfs(SENTENCES[9])
    assert "cooperative" in both.values() and "contentious" in both.values()
    assert S.silver_label(SENTENCES[9])[1] == "contentious"          # friction wins
    assert S.silver_label(SENTENCES[10])[1] == "cooperative"
    assert S.silver_label(SENTENCES[10])[0] == ["economy_trade"]


def test_sport_is_neutral_and_not_an_attack():
    assert S.lf_tone_hostilities(SENTENCES[11]) is S.ABSTAIN
    assert S.lf_tone_neutral_domain(SENTENCES[11]) == "neutral"
    themes, tone, _ = S.silver_label(SENTENCES[11])
    assert themes == ["people_culture_education"] and tone == "neutral"
    assert S.lf_tone_hostilities(SENTENCES[17]) == "contentious"
    assert S.lf_defense_war(SENTENCES[17]) == "defense_security"


def test_cooperation_inside_an_organisation_name_is_not_cooperation():
    assert S.lf_tone_cooperation(SENTENCES[12]) is S.ABSTAIN


def test_more_theme_lfs():
    assert S.lf_political_talks_visits(SENTENCES[13]) == "political_relations"
    assert S.lf_political_leaders_two_states(SENTENCES[13]) == "political_relations"
    assert S.lf_multilateral_bodies(SENTENCES[14]) == "multilateral_global"
    assert S.lf_tone_diplomatic_demand(SENTENCES[14]) == "contentious"
    assert S.lf_people_education(SENTENCES[15]) == "people_culture_education"
    assert S.lf_other_entertainment_lottery(SENTENCES[16]) == OTHER


def test_every_lf_returns_its_own_label_or_abstains():
    assert len({f.__name__ for f in S.ALL_LFS}) == len(S.ALL_LFS)
    for f in S.ALL_LFS:
        assert f.__name__.startswith("lf_")
        assert S.LF_LABEL[f.__name__] in THEMES + TONES
        for s in SENTENCES:
            v = f(s)
            assert v is S.ABSTAIN or v == S.LF_LABEL[f.__name__], (f.__name__, s, v)


def test_combiner_priority_rules():
    assert S.combine({}) == (None, "neutral")                        # nothing fired: no silver label
    assert S.combine({"lf_other_weather": OTHER, "lf_maritime_sea_names": "maritime"})[0] == [OTHER]
    th, _ = S.combine({"lf_other_entertainment_lottery": OTHER, "lf_economy_trade": "economy_trade"})
    assert th == ["economy_trade"]                                   # a real theme beats other
    th, tone = S.combine({"lf_economy_trade": "economy_trade", "lf_defense_military": "defense_security",
                          "lf_tone_cooperation": "cooperative", "lf_tone_sanction": "contentious"})
    assert th == ["economy_trade", "defense_security"] and tone == "contentious"
    assert S.combine({"lf_people_sport": "people_culture_education", "lf_tone_hostilities": "contentious",
                      "lf_tone_neutral_domain": "neutral"})[1] == "neutral"


def test_evaluate_against_gold_counts():
    rows = [
        {"text": SENTENCES[0], "themes": ["maritime"], "tone": "contentious", "article_id": "a"},
        {"text": SENTENCES[10], "themes": ["economy_trade"], "tone": "cooperative", "article_id": "b"},
        {"text": SENTENCES[5], "themes": ["other"], "tone": "neutral", "article_id": "c"},
    ]
    ev = S.evaluate_against_gold(rows)
    assert ev["paragraphs"] == 3
    assert ev["per_label"]["maritime"]["precision"] == 1.0
    assert ev["per_lf"]["lf_economy_trade"]["coverage"] == pytest.approx(1 / 3, abs=1e-3)
    assert set(ev["per_label"]) == set(THEMES) | set(TONES)


# -- the CLI: files, stats keys, and gold untouched ----------------------------------------
def _write_corpus(path, texts, corpus, prefix):
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"paragraph_id": f"{prefix}{i // 3}/p{i % 3:03d}", "article_id": f"{prefix}{i // 3}",
                                 "index": i % 3, "text": t, "text_sha1": text_sha1(t), "title": "t",
                                 "unit": "sentence", "corpus": corpus}, ensure_ascii=False) + "\n")


@pytest.fixture()
def project(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    units = tmp_path / "units.jsonl"
    _write_corpus(units, SENTENCES, "vietnews-fa", "train/x")
    gold_paras = tmp_path / "paragraphs.jsonl"
    gold_texts = SENTENCES[:12]
    _write_corpus(gold_paras, gold_texts, "news-2024", "art")
    gold = labels / "gold.jsonl"
    gl = [("maritime", "contentious"), ("other", "neutral"), ("other", "neutral"), ("other", "neutral"),
          ("science_technology", "cooperative"), ("other", "neutral"), ("infrastructure", "cooperative"),
          ("defense_security", "neutral"), ("political_relations", "contentious"), ("maritime", "contentious"),
          ("economy_trade", "cooperative"), ("people_culture_education", "neutral")]
    with open(gold, "w", encoding="utf-8") as fh:
        for i, (t, tone) in enumerate(gl):
            fh.write(json.dumps({"paragraph_id": f"art{i // 3}/p{i % 3:03d}", "text_sha1": text_sha1(gold_texts[i]),
                                 "themes": [t], "tone": tone, "annotator": "ann-A",
                                 "annotated_at": "2026-01-01T00:00:00Z"}) + "\n")
    return tmp_path, units, gold_paras, gold


def _run(units, gold_paras, gold, out, limit=None) -> S.SilverReport:
    return S.run_silver(paragraphs=units, gold_paragraphs=gold_paras, gold=gold, out=out, limit=limit)


def test_run_writes_silver_file_and_stats_with_the_card_keys(project):
    root, units, gold_paras, gold = project
    out = root / "labels" / "silver"
    before = hashlib.sha1(gold.read_bytes()).hexdigest()
    report = _run(units, gold_paras, gold, out, limit=10)
    assert report.exit_code == 0 and report.labels_path == out / "vietnews-fa.jsonl" and report.units == 10
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats == report.stats
    assert isinstance(stats["units"], int) and stats["units"] == 10
    assert isinstance(stats["lf_vs_gold"], dict) and set(stats["lf_vs_gold"]) == set(THEMES) | set(TONES)
    for v in stats["lf_vs_gold"].values():
        assert isinstance(v["coverage"], float) and isinstance(v["precision"], float)
        assert 0.0 <= v["coverage"] <= 1.0 and 0.0 <= v["precision"] <= 1.0
    assert set(stats["per_lf_vs_gold"]) == {f.__name__ for f in S.ALL_LFS}
    labs = read_labels(out / "vietnews-fa.jsonl", allow_missing=False)      # valid Label records
    assert 0 < len(labs) <= 10 and all(l.annotator == S.ANNOTATOR and l.annotator.startswith("lf:") for l in labs)
    for line in (out / "vietnews-fa.jsonl").read_text(encoding="utf-8").splitlines():
        assert set(json.loads(line)) <= {"paragraph_id", "text_sha1", "themes", "tone", "annotator"}  # no text
    # gold is untouched and holds no silver record
    assert hashlib.sha1(gold.read_bytes()).hexdigest() == before
    assert all(not l.annotator.startswith("lf:") for l in read_labels(gold))


def test_run_refuses_to_write_silver_into_the_gold_folder(project):
    root, units, gold_paras, gold = project
    before = gold.read_bytes()
    with pytest.raises(VistanceError):
        _run(units, gold_paras, gold, gold.parent)
    assert gold.read_bytes() == before
    assert sorted(p.name for p in gold.parent.iterdir()) == ["gold.jsonl"]


def test_committed_silver_is_apart_from_gold():
    """The repository's silver file (when present) is silver only, and gold has no LF labels."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    gold = root / "labels" / "gold.jsonl"
    if gold.exists():
        assert all(not l.annotator.startswith("lf:") for l in read_labels(gold))
    stats = root / "labels" / "silver" / "stats.json"
    if stats.exists():
        s = json.loads(stats.read_text(encoding="utf-8"))
        assert isinstance(s["units"], int) and "lf_vs_gold" in s


# -- the cue data file and its engine ---------------------------------------------------------

def test_each_lf_label_is_declared_in_the_data_file_not_parsed_from_its_name():
    data = S.load_cues()
    assert [f["name"] for f in data["functions"]] == [f.name for f in S.ALL_LFS]
    for f in data["functions"]:
        assert S.LF_LABEL[f["name"]] == f["label"]
        assert f["label"] in (THEMES if f["task"] == "theme" else TONES)
    renamed = dict(data, functions=[dict(data["functions"][0], name="lf_whatever_name")])
    assert S.build_lfs(renamed)[0].label == data["functions"][0]["label"]  # the name carries no label


def test_a_bad_cue_file_is_refused_with_the_function_named():
    data = S.load_cues()
    wrong_label = dict(data, functions=[dict(data["functions"][0], label="weather")])
    with pytest.raises(VistanceError, match="lf_maritime_sea_names"):
        S.build_lfs(wrong_label)
    unknown_cue = dict(data, functions=[dict(data["functions"][0], when={"cue": "no_such_set"})])
    with pytest.raises(VistanceError, match="no_such_set"):
        S.build_lfs(unknown_cue)


def test_rules_compose_cues():
    data = {"cue_sets": {"a": {"phrases": ["hợp tác"]}, "names": {"phrases": ["tổ chức hợp tác thượng hải"]},
                         "acr": {"phrases": ["AI"], "case_sensitive": True},
                         "land": {"phrases": ["mỹ", "nga", "lào"]}},
            "functions": [
                {"name": "lf_x", "task": "tone", "label": "cooperative", "when": {"cue": "a", "after_removing": "names"}},
                {"name": "lf_y", "task": "theme", "label": "science_technology", "when": {"cue": "acr"}},
                {"name": "lf_z", "task": "theme", "label": "political_relations",
                 "when": {"all": [{"distinct": "land", "at_least": 2}, {"not": {"cue": "acr"}}]}}]}
    x, y, z = S.build_lfs(data)
    assert x("Hai nước tăng cường hợp tác.") == "cooperative"
    assert x("Tổ chức Hợp tác Thượng Hải họp.") is S.ABSTAIN          # only inside a name
    assert y("Ứng dụng AI trong y tế") == "science_technology" and y("ai cũng biết") is S.ABSTAIN
    assert z("Mỹ và Nga đàm phán") == "political_relations" and z("Mỹ và Mỹ") is S.ABSTAIN
