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


def test_a_seeded_kind_is_refitted_once_per_seed_on_the_same_data_and_judged_by_the_mean(monkeypatch):
    """``seeds``: the same held-out design re-fitted with each seed; only the model's seed moves.
    The score is the mean ± sd of the runs, the selection criterion uses that mean, and the
    pipeline seed's run still gives the CIs and the prediction records."""
    import numpy as np

    from vistance.evaluation import evaluate
    from vistance.models.base import Scores

    schema = default_schema()
    rows = [dict(r, themes=["maritime"] if i % 2 else ["economy_trade"], tone=("cooperative", "contentious", "neutral")[i % 3])
            for i, r in enumerate(_rows())]
    cross = [dict(r, id=f"vt{i}", article_id=f"vt{i // 4}", corpus="vietnews-fa") for i, r in enumerate(rows[:40])]
    splits = {"train": rows[:200], "validation": rows[200:], "test_vietnews": cross}
    fits = []

    class Guess:   # right on a share of items that grows with the seed
        def __init__(self, seed):
            self.seed, self.schema = seed, schema

        def predict_proba(self, texts):
            n = len(texts)
            tone = np.tile(np.eye(3)[[0]], (n, 1))
            return Scores(np.full((n, 9), 0.9 if self.seed else 0.1), tone, np.full(9, 0.5), schema)

    def fake_fit(kind, spec, fit, valid, seed, schema=None):
        fits.append((seed, [r["id"] for r in fit], [r["id"] for r in valid]))
        return Guess(seed)

    monkeypatch.setattr(evaluate, "fit_design", fake_fit)
    result, preds = evaluate.generalisation("transformer", {}, splits, schema, n_sources=3, n_boot=10, seed=0,
                                            min_test_units=1, seeds=[0, 1, 2])
    assert [f[0] for f in fits] == [0, 1, 2]
    assert fits[0][1:] == fits[1][1:] == fits[2][1:]                  # the same fit and validation units
    seeded = result["generalisation_seeds"]
    assert seeded["seeds"] == [0, 1, 2]
    assert seeded["runs"][0]["score"] == {m: result["generalisation_score"][m] for m in ("tone_macro_f1", "themes_sample_f1")}
    themes = [r["score"]["themes_sample_f1"] for r in seeded["runs"]]
    assert themes[1] == themes[2] != themes[0]
    assert seeded["score"]["themes_sample_f1"]["mean"] == pytest.approx(np.mean(themes))
    assert seeded["score"]["themes_sample_f1"]["std"] == pytest.approx(np.std(themes, ddof=1))
    assert selection_value(result, "generalisation") == pytest.approx(
        (seeded["score"]["tone_macro_f1"]["mean"] + seeded["score"]["themes_sample_f1"]["mean"]) / 2)
    assert {p["split"] for p in preds} == set(result["generalisation"])   # predictions: the seed-0 run only
    assert len(preds) == sum(g["test"] for g in result["generalisation"].values())

    without, _ = evaluate.generalisation("transformer", {}, splits, schema, n_sources=3, n_boot=10, seed=0,
                                         min_test_units=1)
    assert "generalisation_seeds" not in without and len(fits) == 4


def test_the_comparison_shows_a_seeded_models_score_as_mean_and_sd_with_every_seed():
    from vistance.evaluation.compare import generalisation_point, seeds_table, summary_metrics

    run = lambda seed, t: {"seed": seed, "score": {"tone_macro_f1": t, "themes_sample_f1": 0.7},   # noqa: E731
                           "splits": {CROSS_CORPUS: {"tone_macro_f1": t, "themes_sample_f1": 0.7}}}
    ms = lambda m, s: {"mean": m, "std": s}   # noqa: E731
    seeded = {"seeds": [13, 14], "runs": [run(13, 0.7), run(14, 0.8)],
              "score": {"tone_macro_f1": ms(0.75, 0.0707), "themes_sample_f1": ms(0.7, 0.0)},
              "splits": {CROSS_CORPUS: {"tone_macro_f1": ms(0.75, 0.0707), "themes_sample_f1": ms(0.7, 0.0)}}}
    h = {m: {"value": 0.5} for m in ("tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1",
                                      "themes_macro_f1")}
    res = {"ft": {"headline": h, "generalisation_score": {"tone_macro_f1": 0.7, "themes_sample_f1": 0.7},
                  "generalisation_seeds": seeded},
           "lr": {"headline": h, "generalisation_score": {"tone_macro_f1": 0.6, "themes_sample_f1": 0.6}}}
    assert generalisation_point(res["ft"])["tone_macro_f1"] == 0.75
    assert generalisation_point(res["lr"])["tone_macro_f1"] == 0.6
    table = "\n".join(seeds_table(res, ["ft", "lr"]))
    assert "| ft | 13 | 0.700 / 0.700 |" in table and "| ft | 14 | 0.800 / 0.700 |" in table
    assert "| ft | mean ± sd | 0.750 ± 0.071 / 0.700 ± 0.000 |" in table and "| lr |" not in table
    summary = summary_metrics(res)
    assert summary["ft"]["generalisation_tone_macro_f1"] == 0.75 and summary["ft"]["generalisation_seeds"] == 2
    assert "generalisation_seeds" not in summary["lr"]
    assert seeds_table({"lr": res["lr"]}, ["lr"]) == []
