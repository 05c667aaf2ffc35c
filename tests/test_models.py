"""Baseline models: the protocol, persistence, explanations, and the predict contract."""
import json
import subprocess
import sys

import numpy as np
import pytest

from vistance.labels.schema import default_schema
from vistance.labels.store import read_labels
from vistance.models import load_model
from vistance.models.base import Scores
from vistance.models.lexicon import LexiconModel
from vistance.models.tfidf import TfidfModel

from conftest import ROOT

THEMES, TONES = default_schema().theme_names, default_schema().tone_names


@pytest.fixture(scope="module")
def seed_gold(seed_paragraphs):
    gold = {l.paragraph_id: l for l in read_labels(ROOT / "labels" / "gold.jsonl")}
    rows = [(p, gold[p.paragraph_id]) for p in seed_paragraphs if p.paragraph_id in gold]
    assert len(rows) >= 40, "every seed paragraph is annotated"
    return ([p.text for p, _ in rows], [l.themes for _, l in rows], [l.tone for _, l in rows], [p.article_id for p, _ in rows])


@pytest.fixture(scope="module")
def tfidf(seed_gold):
    texts, themes, tones, groups = seed_gold
    return TfidfModel(segmenter="pyvi", min_df=1).fit(texts, themes, tones, groups=groups)


def test_scores_decide_at_least_one_theme_and_drop_other_next_to_a_real_theme():
    th = np.zeros((2, len(THEMES)))
    th[0, THEMES.index("maritime")] = 0.2           # nothing passes 0.5 -> arg-max
    th[1, THEMES.index("other")] = 0.9
    th[1, THEMES.index("economy_trade")] = 0.7       # real theme passes -> other dropped
    sc = Scores(th, np.tile([0.2, 0.5, 0.3], (2, 1)))
    assert sc.theme_labels() == [["maritime"], ["economy_trade"]]
    assert sc.tone_labels() == ["contentious", "contentious"]
    rec = sc.records(["a", "b"])[0]
    assert set(rec) == {"id", "themes", "tone", "scores"}
    assert list(rec["scores"]["themes"]) == list(THEMES) and list(rec["scores"]["tone"]) == list(TONES)


def test_lexicon_baseline_reads_cues_and_lets_friction_win():
    m = LexiconModel().fit([], [], [])
    sc = m.predict_proba(["Hai bên nhất trí tăng cường hợp tác thương mại và đầu tư.",
                          "Việt Nam phản đối việc tàu hải cảnh Trung Quốc vi phạm chủ quyền, dù hai bên vẫn hợp tác.",
                          "Nhiệt độ thấp nhất 23-26 độ."])
    assert "economy_trade" in sc.theme_labels()[0]
    assert sc.tone_labels() == ["cooperative", "contentious", "neutral"]
    assert sc.theme_labels()[2] == ["other"]


def test_tfidf_trains_predicts_probabilities_and_round_trips(tfidf, seed_gold, tmp_path):
    texts = seed_gold[0]
    sc = tfidf.predict_proba(texts)
    assert sc.themes.shape == (len(texts), len(THEMES)) and sc.tone.shape == (len(texts), len(TONES))
    assert np.allclose(sc.tone.sum(axis=1), 1) and (sc.themes >= 0).all() and (sc.themes <= 1).all()
    tfidf.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert np.array_equal(again.predict_proba(texts).themes, sc.themes)
    assert np.array_equal(again.thresholds_, tfidf.thresholds_)


def test_tfidf_fits_its_training_data(tfidf, seed_gold):
    texts, themes, tones, _ = seed_gold
    sc = tfidf.predict_proba(texts)
    assert np.mean([a == b for a, b in zip(sc.tone_labels(), tones)]) > 0.8


def test_linearsvc_variant_shares_the_contract(seed_gold):
    texts, themes, tones, groups = seed_gold
    m = TfidfModel(classifier="linearsvc", segmenter="syllable", tune_thresholds=False).fit(texts, themes, tones)
    sc = m.predict_proba(texts[:5])
    assert np.allclose(sc.tone.sum(axis=1), 1)


def test_explanations_name_ngrams(tfidf, seed_gold):
    top = tfidf.top_features(k=5)
    assert set(top["tone"]) <= set(TONES) and all(len(v) == 5 for v in top["tone"].values())
    ex = tfidf.explain(seed_gold[0][0], k=3)
    assert ex["tone"] and all(isinstance(ng, str) for ng, _w in next(iter(ex["tone"].values())))


def test_predict_cli_follows_the_contract_and_reports_a_bad_line(tfidf, tmp_path):
    tfidf.save(tmp_path / "model")
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join([
        json.dumps({"id": "p1", "text": "Hai nước nhất trí thúc đẩy hợp tác kinh tế, thương mại."}, ensure_ascii=False),
        "{this is not json",
        json.dumps({"id": "p2", "text": "Việt Nam kiên quyết phản đối hành vi vi phạm chủ quyền trên Biển Đông."}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = subprocess.run([sys.executable, "-m", "vistance.cli", "predict", "--model", str(tmp_path / "model"),
                        "--input", str(inp), "--output", str(out), "--explain"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert f"{inp}:2: invalid JSON" in r.stderr and "Traceback" not in r.stderr
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in rows] == ["p1", "p2"]
    for x in rows:
        assert x["tone"] in TONES and x["themes"] and set(x["themes"]) <= set(THEMES)
        assert set(x["scores"]["themes"]) == set(THEMES) and set(x["scores"]["tone"]) == set(TONES)
        assert "explain" in x


def test_predict_article_labels_every_paragraph_of_a_raw_file(tfidf, tmp_path):
    from vistance.cli import main

    tfidf.save(tmp_path / "model")
    out = tmp_path / "o.jsonl"
    assert main(["predict-article", str(ROOT / "data" / "raw" / "002_6887269b432569c6.txt"),
                 "--model", str(tmp_path / "model"), "--output", str(out)]) == 0
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 10 and all(r["id"].startswith("002_6887269b432569c6/p") for r in rows)


def test_a_skops_file_with_a_type_outside_the_allow_list_is_refused(tmp_path, seed_gold):
    """skops trusts many scikit-learn types by default; vistance only loads the ones it saves."""
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    from vistance.errors import ModelError
    from vistance.models.folder import write_manifest

    texts, themes, tones, _ = seed_gold
    m = TfidfModel(segmenter="syllable", tune_thresholds=False).fit(texts, themes, tones)
    m.save(tmp_path / "m")
    sio.dump({"vectorizer": m.vectorizer_, "themes": RandomForestClassifier(n_estimators=1), "tone": m.tone_clf_},
             tmp_path / "m" / "model.skops")
    write_manifest(tmp_path / "m", "tfidf", segmenter="syllable", params=m.get_params())  # a consistent manifest
    with pytest.raises(ModelError, match="RandomForestClassifier"):
        load_model(tmp_path / "m")


def test_fast_char_ngram_counting_is_bit_identical_to_sklearn(tfidf, seed_gold, tmp_path):
    from vistance.models.tfidf import transform_features

    texts = seed_gold[0] + ["", "Một câu   có  khoảng trắng\tlạ và CHỮ HOA.", "x"]
    seg = tfidf.segment(texts)
    fast, ref = transform_features(tfidf.vectorizer_, seg, {}), tfidf.vectorizer_.transform(seg)
    assert fast.shape == ref.shape
    assert np.array_equal(fast.indptr, ref.indptr) and np.array_equal(fast.indices, ref.indices)
    assert np.array_equal(fast.data, ref.data)
    before = tfidf.predict_proba(texts)      # fills the per-word cache, which is never saved
    tfidf.save(tmp_path / "m")
    after = load_model(tmp_path / "m").predict_proba(texts)
    assert np.array_equal(before.themes, after.themes) and np.array_equal(before.tone, after.tone)
