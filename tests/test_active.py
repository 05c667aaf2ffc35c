"""Active learning: the sampler interface, and the cross-corpus test set that training never sees."""
import numpy as np
import pytest

from vistance.dataset.splits import CROSS_CORPUS_SPLIT, assign_splits
from vistance.labels.active import STRATEGIES, make_sampler, uncertainty
from vistance.labels.schema import default_schema
from vistance.models.base import Scores

THEMES, TONES = default_schema().theme_names, default_schema().tone_names


def _pool(n=60, seed=0):
    rng = np.random.default_rng(seed)
    themes = rng.random((n, len(THEMES)))
    tone = rng.dirichlet(np.ones(len(TONES)), size=n)
    ids = [f"a{i // 3}/p{i % 3:03d}" for i in range(n)]
    feats = rng.random((n, 8))
    return ids, Scores(themes, tone), feats


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_sampler_never_returns_labelled_or_excluded_ids(strategy):
    ids, sc, feats = _pool()
    labelled, excluded = set(ids[:10]), set(ids[10:20])
    got = make_sampler(strategy, seed=3).query(ids, 25, labelled=labelled, excluded=excluded, scores=sc,
                                               features=feats, label_counts={"maritime": 5})
    assert len(got) == 25 and len(set(got)) == 25
    assert not set(got) & (labelled | excluded)
    assert set(got) <= set(ids)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_sampler_is_deterministic_for_a_seed(strategy):
    ids, sc, feats = _pool()
    a = make_sampler(strategy, seed=7).query(ids, 15, scores=sc, features=feats)
    b = make_sampler(strategy, seed=7).query(ids, 15, scores=sc, features=feats)
    assert a == b


def test_random_sampling_depends_on_the_seed():
    ids, _, _ = _pool()
    assert make_sampler("random", seed=1).query(ids, 15) != make_sampler("random", seed=2).query(ids, 15)


def test_margin_sampling_takes_the_least_confident_first():
    ids = ["sure", "unsure", "middle"]
    themes = np.array([[0.99] + [0.01] * 8, [0.5] * 9, [0.8] + [0.1] * 8])
    tone = np.array([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.7, 0.2, 0.1]])
    sc = Scores(themes, tone)
    assert make_sampler("uncertainty").query(ids, 3, scores=sc) == ["unsure", "middle", "sure"]
    u = uncertainty(sc)
    assert u[1] > u[2] > u[0]


def test_balanced_sampling_favours_the_rarest_labelled_class():
    n = 40
    themes = np.full((n, len(THEMES)), 0.1)
    themes[:5, THEMES.index("infrastructure")] = 0.9  # the model thinks these five are infrastructure
    tone = np.tile([0.8, 0.1, 0.1], (n, 1))
    ids = [f"u{i}" for i in range(n)]
    counts = {t: 500 for t in THEMES + TONES}
    counts["infrastructure"] = 0
    got = make_sampler("balanced").query(ids, 5, scores=Scores(themes, tone), label_counts=counts)
    assert set(got) == {f"u{i}" for i in range(5)}


def test_model_strategies_refuse_to_run_without_scores():
    with pytest.raises(ValueError, match="scores"):
        make_sampler("margin").query(["a"], 1)
    ids, sc, _ = _pool()
    with pytest.raises(ValueError, match="feature"):
        make_sampler("diverse").query(ids, 3, scores=sc)
    with pytest.raises(ValueError, match="unknown strategy"):
        make_sampler("clever")


def _rows():
    rows = []
    for a in range(30):
        rows.append({"article_id": f"news{a}", "corpus": "news-2024"})
    for a in range(20):
        rows.append({"article_id": f"vn{a}", "corpus": "vietnews-fa"})
    return rows


def test_no_cross_corpus_test_article_reaches_training():
    rows = _rows()
    heldout = {f"vn{a}" for a in range(8)}
    split = assign_splits(rows, {"train": 0.7, "validation": 0.15, "test": 0.15}, seed=13,
                          heldout_articles={CROSS_CORPUS_SPLIT: heldout})
    assert {a for a, s in split.items() if s == CROSS_CORPUS_SPLIT} == heldout
    others = {split[f"vn{a}"] for a in range(8, 20)}
    assert others <= {"train", "validation"}  # the rest of the second corpus only trains


def test_adding_a_corpus_never_moves_the_in_sample_splits():
    rows = _rows()
    fr = {"train": 0.7, "validation": 0.15, "test": 0.15}
    alone = assign_splits([r for r in rows if r["corpus"] == "news-2024"], fr, seed=13)
    both = assign_splits(rows, fr, seed=13, heldout_articles={CROSS_CORPUS_SPLIT: {"vn0"}})
    assert {a: both[a] for a in alone} == alone


def test_annotate_export_with_a_strategy_writes_a_batch_without_test_or_labelled_units(tmp_path):
    import json

    from vistance.cli import main
    from vistance.corpus.records import Paragraph
    from vistance.models import build_model
    from vistance.text.normalize import text_sha1

    texts = ["Hai nước nhất trí hợp tác thương mại và đầu tư.", "Tàu hải cảnh xâm phạm vùng biển, Bộ Ngoại giao phản đối.",
             "Thời tiết hôm nay nắng nhẹ.", "Hai bên ký kết thỏa thuận về đường sắt kết nối.",
             "Lãnh đạo hai nước hội đàm tại Hà Nội.", "Trung Quốc cảnh báo Mỹ về Đài Loan."]
    paras = tmp_path / "p.jsonl"
    with open(paras, "w", encoding="utf-8") as fh:
        for a in range(6):
            for i, t in enumerate(texts):
                text = f"{t} Bài {a}."
                fh.write(json.dumps(Paragraph(paragraph_id=f"art{a}/p{i:03d}", article_id=f"art{a}", index=i, text=text,
                                              text_sha1=text_sha1(text), corpus="vietnews-fa").to_dict(),
                                    ensure_ascii=False) + "\n")
    model = build_model("lexicon").fit(texts, [["other"]] * 6, ["neutral"] * 6)
    model.save(tmp_path / "lex")
    (tmp_path / "test.json").write_text(json.dumps({"articles": ["art0", "art1"]}))
    labelled = tmp_path / "labels.jsonl"
    labelled.write_text(json.dumps({"paragraph_id": "art2/p000", "text_sha1": "0" * 40, "themes": ["other"],
                                    "tone": "neutral", "annotator": "x", "annotated_at": ""}) + "\n")
    out = tmp_path / "batch.jsonl"
    rc = main(["annotate", "export", "--paragraphs", str(paras), "--strategy", "uncertainty", "--model", str(tmp_path / "lex"),
               "--exclude-articles", str(tmp_path / "test.json"), "--exclude", str(labelled), "--n", "10",
               "--out", str(out)])
    assert rc == 0
    got = [json.loads(line)["paragraph_id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(got) == 10
    assert not any(g.startswith(("art0/", "art1/")) for g in got) and "art2/p000" not in got
    assert main(["annotate", "export", "--paragraphs", str(paras), "--strategy", "margin", "--out", str(out)]) == 1


def test_the_built_dataset_keeps_every_cross_corpus_test_unit_out_of_training(tmp_path):
    import json

    from vistance.corpus.records import Paragraph
    from vistance.dataset.build import build_dataset, load_dataset_dict
    from vistance.text.normalize import text_sha1

    paras, labels = tmp_path / "p.jsonl", tmp_path / "gold.jsonl"
    with open(paras, "w", encoding="utf-8") as pf, open(labels, "w", encoding="utf-8") as lf:
        for a in range(40):
            corpus = "vietnews-fa" if a >= 20 else "news-2024"
            for i in range(3):
                text = f"Đoạn {i} của bài {a}: hai nước {'hợp tác' if i else 'phản đối'}."
                pid = f"art{a}/p{i:03d}"
                pf.write(json.dumps(Paragraph(paragraph_id=pid, article_id=f"art{a}", index=i, text=text,
                                              text_sha1=text_sha1(text), corpus=corpus).to_dict(), ensure_ascii=False) + "\n")
                lf.write(json.dumps({"paragraph_id": pid, "text_sha1": text_sha1(text), "themes": ["political_relations"],
                                     "tone": "cooperative" if i else "contentious", "annotator": "a",
                                     "annotated_at": "2026-12-01T00:00:00Z"}) + "\n")
    heldout = [f"art{a}" for a in range(20, 28)]
    (tmp_path / "test.json").write_text(json.dumps({"articles": heldout}))
    build_dataset(paragraphs=[paras], labels=labels, out=tmp_path / "ds", stats=tmp_path / "stats.json",
                  split={"train": 0.7, "validation": 0.15, "test": 0.15}, seed=1, crosscorpus_test=tmp_path / "test.json")
    dd = load_dataset_dict(tmp_path / "ds")
    assert set(dd[CROSS_CORPUS_SPLIT]["article_id"]) == set(heldout)
    for name in ("train", "validation", "test"):
        assert not set(dd[name]["article_id"]) & set(heldout), name
    assert set(dd["test"]["article_id"]) <= {f"art{a}" for a in range(20)}  # in-sample test: the first collection only


def test_the_simulation_segments_each_text_once_and_predicts_as_an_unshared_model():
    from vistance.evaluation.active_simulation import share_segmentation
    from vistance.models import build_model

    texts = [f"Hà Nội hợp tác kinh tế {i % 7} với đối tác {i % 5}" for i in range(40)]
    themes = [[THEMES[i % 3]] for i in range(40)]
    tones = [TONES[i % 2] for i in range(40)]
    spec = dict(segmenter="syllable", use_char=False, tune_thresholds=False)
    plain, shared = build_model("tfidf", **spec), build_model("tfidf", **spec)
    calls, memo = [], {}
    own = shared.segment
    shared.segment = lambda ts: calls.extend(ts) or own(ts)   # count what the model's own segmenter sees
    share_segmentation(shared, memo)
    for m in (plain, shared):
        m.fit(texts[:30], themes[:30], tones[:30])
    a, b = plain.predict_proba(texts), shared.predict_proba(texts)
    shared.predict_proba(texts)
    assert np.array_equal(a.themes, b.themes) and np.array_equal(a.tone, b.tone)
    assert sorted(calls) == sorted(set(texts)) and len(memo) == len(set(texts))


def test_the_simulation_fits_each_labelled_list_once_and_keeps_the_start_labels_fit():
    from vistance.evaluation.active_simulation import _Refits

    calls = []
    refit = _Refits(lambda ids: calls.append(tuple(ids)) or len(calls), keep=["a"])
    assert refit(["a"]) == refit(["a"]) == 1
    assert refit(["a", "b"]) == refit(["a", "b"]) == 2
    refit(["a", "b", "c"])
    assert refit(["a"]) == 1 and refit(["a", "b"]) == 4   # the start fit stays; an older one is fitted again
    assert calls == [("a",), ("a", "b"), ("a", "b", "c"), ("a", "b")]
