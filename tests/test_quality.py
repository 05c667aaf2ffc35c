"""Label-quality check: confident learning finds planted label flips; corrections apply as documented."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from vistance.errors import LabelError
from vistance.labels.adjudication import apply_corrections, read_corrections
from vistance.evaluation.label_quality import confident_issues, find_label_issues, review_labels
from vistance.labels.schema import Label, default_schema

SCHEMA = default_schema()
THEMES, TONES = SCHEMA.theme_names, SCHEMA.tone_names
from vistance.text.normalize import text_sha1

TONE_WORDS = {
    "cooperative": ["hợp tác", "nhất trí", "hữu nghị", "ủng hộ", "cam kết", "thúc đẩy"],
    "contentious": ["phản đối", "tranh chấp", "cáo buộc", "lên án", "đe dọa", "trừng phạt"],
    "neutral": ["lịch trình", "số liệu", "diễn ra", "thông báo", "dự kiến", "thống kê"],
}
THEME_WORDS = {
    "maritime": ["biển", "tàu", "đảo", "hải cảnh"],
    "economy_trade": ["thương mại", "xuất khẩu", "đầu tư", "thuế"],
    "defense_security": ["quân đội", "tên lửa", "quốc phòng", "tập trận"],
    "people_culture_education": ["giáo dục", "du lịch", "văn hóa", "sinh viên"],
}
FILLER = ["hôm nay", "theo", "các", "bên", "cho biết", "trong", "năm", "ngày", "tại", "của", "những", "được"]


def synthetic_rows(n_articles=60, per_article=6, seed=0):
    rng = random.Random(seed)
    rows = []
    for a in range(n_articles):
        for j in range(per_article):
            tone = rng.choice(TONES)
            theme = rng.choice(sorted(THEME_WORDS))
            words = rng.sample(TONE_WORDS[tone], 2) + rng.sample(THEME_WORDS[theme], 2) + rng.sample(FILLER, 6)
            if rng.random() < 0.5:  # a stray cue of another class: real text is not perfectly separable
                words.append(rng.choice(TONE_WORDS[rng.choice([t for t in TONES if t != tone])]))
            rng.shuffle(words)
            text = " ".join(words) + "."
            rows.append({"id": f"a{a:03d}/p{j:03d}", "article_id": f"a{a:03d}", "text": text, "themes": [theme],
                         "tone": tone, "text_sha1": text_sha1(text)})
    return rows


def plant_flips(rows, n_tone=12, n_theme=8, seed=1):
    rng = random.Random(seed)
    idx = rng.sample(range(len(rows)), n_tone + n_theme)
    planted = {}
    for i in idx[:n_tone]:
        old = rows[i]["tone"]
        rows[i]["tone"] = rng.choice([t for t in TONES if t != old])
        planted[(rows[i]["id"], "tone")] = old
    for i in idx[n_tone:]:
        old = rows[i]["themes"][0]
        new = rng.choice([t for t in THEME_WORDS if t != old])
        rows[i]["themes"] = [new]
        planted[(rows[i]["id"], f"theme:{new}")] = old   # the wrongly given theme should be flagged for removal
    return planted


@pytest.fixture(scope="module")
def flipped():
    rows = synthetic_rows()
    planted = plant_flips(rows)
    issues = find_label_issues(rows, k=5, seed=13, segmenter="syllable", schema=SCHEMA)
    return rows, planted, issues


def test_planted_flips_rank_high(flipped):
    rows, planted, issues = flipped
    ranked = [(d["paragraph_id"], d["flag"]) for d in issues]
    top = set(ranked[: 2 * len(planted)])
    found_top = sum(1 for key in planted if key in top)
    found_any = sum(1 for key in planted if key in set(ranked))
    # confident learning only flags a row when another class beats *its* mean self-confidence, so not every
    # flip is caught on a small set; the ones caught must sit at the top of the ranking
    assert found_any >= 0.6 * len(planted), (found_any, len(planted))
    assert found_top == found_any
    head = ranked[: len(planted)]
    assert sum(1 for k in head if k in planted) >= 0.6 * len(planted)
    # and a flag on an unflipped row is rare
    assert sum(1 for k in ranked if k[0] not in {p for p, _ in planted}) <= 0.1 * len(rows)


def test_planted_tone_flips_suggest_the_original_label(flipped):
    rows, planted, issues = flipped
    by_key = {(d["paragraph_id"], d["flag"]): d for d in issues}
    tone_keys = [k for k in planted if k[1] == "tone" and k in by_key]
    assert tone_keys
    right = sum(1 for k in tone_keys if by_key[k]["suggested"] == planted[k])
    assert right >= 0.8 * len(tone_keys)


def test_issue_records_are_ranked_and_carry_no_text(flipped):
    rows, _, issues = flipped
    assert issues, "no issue flagged"
    scores = [d["score"] for d in issues]
    assert scores == sorted(scores, reverse=True)
    assert [d["rank"] for d in issues] == list(range(1, len(issues) + 1))
    texts = {r["text"] for r in rows}
    for d in issues:
        assert "text" not in d and not any(isinstance(v, str) and v in texts for v in d.values())
        assert d["flag"] == "tone" or d["flag"].split(":", 1)[1] in THEMES
        assert d["given_tone"] in TONES and d["suggested_tone"] in TONES
        assert d["suggested_themes"] and set(d["suggested_themes"]) <= set(THEMES)


def test_confident_learning_rule_on_hand_made_probabilities():
    # 3 rows labelled cooperative; row 2 looks contentious with confidence above that class's mean
    given = np.array([0, 0, 0, 1, 1, 2])
    tone = np.array([[.9, .05, .05], [.8, .1, .1], [.1, .85, .05], [.1, .8, .1], [.2, .7, .1], [.1, .1, .8]])
    themes = np.zeros((6, len(THEMES)))
    given_th = np.zeros((6, len(THEMES)), dtype=int)
    given_th[:, THEMES.index("political_relations")] = 1
    themes[:, THEMES.index("political_relations")] = .9
    out = confident_issues(given, tone, given_th, themes, SCHEMA)
    assert [(d["i"], d["flag"], d["suggested"]) for d in out] == [(2, "tone", "contentious")]


def test_review_writes_top_flags_as_jsonl(tmp_path):
    rows = synthetic_rows(n_articles=20, per_article=5, seed=4)
    plant_flips(rows, n_tone=4, n_theme=2, seed=5)
    paras = tmp_path / "paragraphs.jsonl"
    labels = tmp_path / "gold.jsonl"
    with open(paras, "w", encoding="utf-8") as fp, open(labels, "w", encoding="utf-8") as fl:
        for r in rows:
            fp.write(json.dumps({"paragraph_id": r["id"], "article_id": r["article_id"], "index": 0, "text": r["text"],
                                 "text_sha1": r["text_sha1"], "corpus": "synthetic"}, ensure_ascii=False) + "\n")
            fl.write(json.dumps({"paragraph_id": r["id"], "text_sha1": r["text_sha1"], "themes": r["themes"],
                                 "tone": r["tone"], "annotator": "ann-A"}) + "\n")
    out = tmp_path / "issues.jsonl"
    report = review_labels(paras, labels, out, top=5, segmenter="syllable", schema=SCHEMA)
    assert report.written == min(5, len(report.issues)) and report.gold_rows == len(rows)
    assert "label issues:" in report.summary()
    lines = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(lines) <= 5
    for d in lines:
        assert {"paragraph_id", "flag", "given", "suggested", "score", "text_sha1"} <= set(d) and "text" not in d


# -- apply_corrections ------------------------------------------------------------------
def _gold():
    return [Label("p1", "a" * 40, ["political_relations"], "neutral", "ann-A", "2026-01-01T00:00:00Z"),
            Label("p2", "b" * 40, ["maritime"], "contentious", "ann-B", "2026-01-01T00:00:00Z"),
            Label("p3", "c" * 40, ["other"], "neutral", "ann-C", "2026-01-01T00:00:00Z")]


def _corr(pid, sha, decision, corrected=None, flag="tone"):
    r = {"paragraph_id": pid, "text_sha1": sha, "flag": flag, "gold_before": {}, "decision": decision,
         "reason": "r", "reviewer": "rev-1", "reviewed_at": "2026-02-02T00:00:00Z"}
    if corrected is not None:
        r["corrected"] = corrected
    return r


def test_apply_corrections_replaces_only_correct_decisions():
    corrs = [_corr("p1", "a" * 40, "correct", {"themes": ["multilateral_global", "political_relations"], "tone": "neutral"},
                   flag="theme:multilateral_global"),
             _corr("p2", "b" * 40, "keep"),
             _corr("p1", "a" * 40, "correct", {"themes": ["political_relations", "multilateral_global"], "tone": "neutral"})]
    labels, n = apply_corrections(_gold(), corrs)
    assert n == 1
    by = {l.paragraph_id: l for l in labels}
    assert by["p1"].themes == ["political_relations", "multilateral_global"]   # schema order
    assert by["p1"].annotator == "rev-1" and by["p1"].note == "corrected after label-quality review"
    assert by["p2"] == _gold()[1] and by["p3"] == _gold()[2]
    again, n2 = apply_corrections(labels, corrs)                               # idempotent
    assert n2 == 0 and {l.paragraph_id: l for l in again}["p1"] == by["p1"]


def test_apply_corrections_rejects_bad_records():
    with pytest.raises(LabelError):   # another text
        apply_corrections(_gold(), [_corr("p1", "f" * 40, "correct", {"themes": ["other"], "tone": "neutral"})])
    with pytest.raises(LabelError):   # not in gold
        apply_corrections(_gold(), [_corr("p9", "a" * 40, "correct", {"themes": ["other"], "tone": "neutral"})])
    with pytest.raises(LabelError):   # conflicting corrections of one paragraph
        apply_corrections(_gold(), [_corr("p1", "a" * 40, "correct", {"themes": ["other"], "tone": "neutral"}),
                                    _corr("p1", "a" * 40, "correct", {"themes": ["maritime"], "tone": "neutral"})])
    with pytest.raises(LabelError):   # correct without a valid label
        apply_corrections(_gold(), [_corr("p1", "a" * 40, "correct", {"themes": ["other", "maritime"], "tone": "neutral"})])
    with pytest.raises(LabelError):   # unknown decision
        apply_corrections(_gold(), [_corr("p1", "a" * 40, "maybe")])


def test_committed_corrections_file_is_valid():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "labels" / "corrections.jsonl"
    if not path.exists():
        pytest.skip("no corrections recorded")
    recs = read_corrections(path)
    assert recs
    for r in recs:
        assert r["decision"] in ("keep", "correct")
        if "codebook" in r:          # a re-check of a label under a later codebook version (any reviewer)
            assert r["flag"].startswith("codebook") and r["codebook"] in ("1", "2")
        else:                        # the label-quality review: a model flag, reviewed by rev-1
            assert r["reviewer"] == "rev-1"
            assert r["flag"] == "tone" or r["flag"].startswith("theme:")
        assert set(r["gold_before"]) == {"themes", "tone"}
        assert len(r["reason"]) < 400        # reasons paraphrase; no long quotes of corpus text
        assert (r["decision"] == "correct") == ("corrected" in r)
