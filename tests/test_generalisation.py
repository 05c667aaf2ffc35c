"""The held-out design (one fit), the selection score, and paired tests on news a model never saw."""
import pytest

from vistance.evaluation.compare import selection_value
from vistance.evaluation.generalisation import CROSS_CORPUS, generalisation_score, paired_generalisation_test
from vistance.evaluation.heldout import SEEDS_SPLIT, heldout_design
from vistance.labels.schema import default_schema


def _rows():
    rows = []
    for a in range(40):
        corpus = "seeds" if a < 4 else ("vietnews-fa" if a >= 30 else "news-2024")
        source = {0: "tuoitre.vn", 1: "bbc.com", 2: "vnexpress.net"}.get(a % 4) if corpus == "news-2024" else ""
        for p in range(8):
            rows.append({"id": f"a{a}/p{p:03d}", "article_id": f"a{a}", "corpus": corpus, "source": source,
                         "themes": ["maritime"], "tone": "neutral", "text": "x"})
    return rows


def test_one_fit_holds_out_every_outlet_the_seeds_and_the_cross_corpus_test_at_once():
    rows = _rows()
    cross = [dict(r, id=f"vt{i}", article_id=f"vt{i // 4}", corpus="vietnews-fa") for i, r in enumerate(rows[:40])]
    d = heldout_design({"train": rows[:200], "validation": rows[200:], "test_vietnews": cross}, n_outlets=3, seed=0)
    assert sorted(d.tests) == sorted([CROSS_CORPUS, SEEDS_SPLIT, *d.outlet_splits])
    assert len(d.outlets) == 3
    trained = d.fit + d.valid
    assert not {r["article_id"] for r in d.fit} & {r["article_id"] for r in d.valid}
    for name, test in d.tests.items():
        assert not {r["article_id"] for r in trained} & {r["article_id"] for r in test}, name
    assert {r["corpus"] for r in trained} == {"news-2024"}          # never the other collection, nor the seeds
    assert not {r["source"] for r in trained} & set(d.outlets)
    for o in d.outlets:
        assert {r["source"] for r in d.tests[f"heldout_source_{o}"]} == {o}


def test_a_kind_without_validation_fits_on_the_validation_rows_too(monkeypatch):
    from vistance.evaluation import heldout

    seen = {}
    monkeypatch.setattr(heldout, "fit_rows", lambda kind, spec, fit, valid, seed=None, schema=None: seen.setdefault(kind, (len(fit), valid)))
    fit, valid = [{"x": 1}] * 5, [{"x": 2}] * 2
    heldout.fit_design("tfidf", {}, fit, valid, 0)
    heldout.fit_design("transformer", {}, fit, valid, 0)
    assert seen["tfidf"] == (7, None)
    assert seen["transformer"] == (5, valid)


def test_the_score_averages_the_outlet_mean_with_the_cross_corpus_test():
    gen = {"heldout_source_a": {"tone_macro_f1": 0.6, "themes_sample_f1": 0.5},
           "heldout_source_b": {"tone_macro_f1": 0.8, "themes_sample_f1": 0.7},
           CROSS_CORPUS: {"tone_macro_f1": 0.5, "themes_sample_f1": 0.9},
           "train_news2024_test_seeds": {"tone_macro_f1": 0.0, "themes_sample_f1": 0.0}}
    s = generalisation_score(gen)
    assert s["tone_macro_f1"] == pytest.approx((0.7 + 0.5) / 2)
    assert s["themes_sample_f1"] == pytest.approx((0.6 + 0.9) / 2)
    assert selection_value({"generalisation_score": s}, "generalisation") == pytest.approx((0.6 + 0.75) / 2)
    assert selection_value({}, "generalisation") == float("-inf")


SCHEMA = default_schema()


def _preds(split, n_articles, right):
    out = []
    for a in range(n_articles):
        for p in range(3):
            truth = "contentious" if (a + p) % 2 else "cooperative"
            guess = truth if right(a, p) else "neutral"
            out.append({"split": split, "id": f"{split}/{a}/{p}", "article_id": f"{a}", "themes": ["maritime"],
                        "tone": guess, "true": {"themes": ["maritime"], "tone": truth}})
    return out


def test_a_paired_test_of_a_model_against_itself_finds_no_difference():
    a = _preds("s1", 20, lambda a, p: a % 3 != 0)
    r = paired_generalisation_test(a, a, "tone_macro_f1", ["s1"], SCHEMA, n_boot=200, seed=0)
    assert r["difference"] == 0 and r["p_value"] == 1.0


def test_a_paired_test_finds_a_clearly_better_model_and_averages_splits():
    better = _preds("s1", 20, lambda a, p: True) + _preds("s2", 20, lambda a, p: True)
    worse = _preds("s1", 20, lambda a, p: a % 2 == 0) + _preds("s2", 20, lambda a, p: a % 2 == 0)
    r = paired_generalisation_test(better, worse, "tone_macro_f1", ["s1", "s2"], SCHEMA, n_boot=200, seed=0)
    assert r["difference"] > 0.2 and r["p_value"] < 0.05 and r["splits"] == ["s1", "s2"]


def test_a_paired_test_refuses_predictions_of_different_items():
    a = _preds("s1", 10, lambda a, p: True)
    assert paired_generalisation_test(a, a[:-1], "tone_macro_f1", ["s1"], SCHEMA, n_boot=200, seed=0) is None
