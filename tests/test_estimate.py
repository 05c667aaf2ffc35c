"""Corrected shares (``vistance estimate``): what a social scientist may rely on.

- the prediction-powered estimate is unbiased where the classifier is biased, and agrees with
  ``ppi_py`` where both apply (units drawn one by one);
- only gold drawn with known probabilities enters: gold without a design, a design of another pool,
  probabilities that do not follow from the design, drawn ids missing from the corpus and drawn units
  without gold are all refused, with a clear message;
- a non-uniform (stratified) draw is weighted by its recorded probabilities;
- a cell with too little gold says so, and how many more draws would halve its interval;
- designs round-trip through their file, and ``annotate export --strategy random`` records one.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import make_label
from vistance.analysis.estimate import PredictedCorpus, estimate_shares
from vistance.labels.design import (DesignError, SamplingDesign, design_path_for, draw_sample, ids_sha1, read_design,
                                    write_design)

TONES = ("cooperative", "contentious", "neutral")


def population(n_articles=1200, seed=0, miss=0.45):
    """Articles of 1-8 units; the classifier misses ``miss`` of the contentious units (calls them neutral)."""
    rng = np.random.default_rng(seed)
    rows, gold = [], []
    for a in range(n_articles):
        p = rng.dirichlet([2, 1, 3])
        china = rng.random() < 0.3
        for j in range(int(rng.integers(1, 9))):
            t = int(rng.choice(3, p=p))
            pt = 2 if (t == 1 and rng.random() < miss) else (0 if (t == 2 and rng.random() < 0.1) else t)
            uid = f"a{a:04d}/p{j:02d}"
            rows.append({"id": uid, "article_id": f"a{a:04d}", "date": f"2024-0{1 + a % 6}-01", "themes": ["other"],
                         "tone": TONES[pt], "counterparts": ["china"] if china else []})
            gold.append({"paragraph_id": uid, "themes": ["other"], "tone": TONES[t]})
    return rows, gold


@pytest.fixture(scope="module")
def pop():
    rows, gold = population()
    return PredictedCorpus.from_rows(rows, name="c"), rows, gold


def articles_of(rows):
    return sorted({r["article_id"] for r in rows})


def overall(res, q="share_contentious"):
    t = res.table
    return t[(t.counterpart == "all") & (t.period == "all") & (t.theme == "all") & (t.quantity == q)].iloc[0]


def test_the_corrected_share_is_unbiased_where_the_classifier_is_biased(pop):
    pc, rows, gold = pop
    truth = np.mean([g["tone"] == "contentious" for g in gold])
    naive, ppi, gold_only, w_ppi, w_gold = [], [], [], [], []
    for rep in range(40):
        d = draw_sample(articles_of(rows), 60, seed=rep, unit="article", n_units=len(rows), corpus="c")
        r = overall(estimate_shares(pc, gold, d, n_boot=60, seed=rep, overall_only=True))
        naive.append(r.naive)
        ppi.append(r.estimate)
        gold_only.append(r.gold_only)
        w_ppi.append(r.high - r.low)
        w_gold.append(r.gold_high - r.gold_low)
        assert r.method == "ppi++" and 0 < r["lambda"] <= 1
    assert np.mean(naive) < truth - 0.05                                  # predictions under-count contentious
    assert abs(np.mean(ppi) - truth) < 3 * np.std(ppi) / np.sqrt(len(ppi)) + 0.003   # the correction removes it
    assert abs(np.mean(gold_only) - truth) < 3 * np.std(gold_only) / np.sqrt(len(gold_only)) + 0.003
    assert np.mean(w_ppi) < np.mean(w_gold)                               # and it is narrower than gold alone


def test_it_agrees_with_ppi_py_when_units_are_drawn_one_by_one(pop):
    from ppi_py import ppi_mean_ci, ppi_mean_pointestimate

    pc, rows, gold = pop
    d = draw_sample(pc.ids, 400, seed=3, unit="paragraph", corpus="c")
    res = estimate_shares(pc, gold, d, n_boot=400, seed=1, overall_only=True, population="superpopulation")
    r = overall(res)
    drawn = set(d.probabilities())
    y = np.array([g["tone"] == "contentious" for g in gold if g["paragraph_id"] in drawn], dtype=float)
    f_all = (pc.tone == 1).astype(float)
    f = np.array([f_all[pc.index[g["paragraph_id"]]] for g in gold if g["paragraph_id"] in drawn])
    # the same lambda gives the same point estimate; ppi_py's own tuning lands within a hair of ours
    assert ppi_mean_pointestimate(y, f, f_all, lam=r["lambda"])[0] == pytest.approx(r.estimate, abs=1e-9)
    assert ppi_mean_pointestimate(y, f, f_all)[0] == pytest.approx(r.estimate, abs=0.005)
    lo, hi = ppi_mean_ci(y, f, f_all, alpha=0.05)
    assert (r.high - r.low) == pytest.approx(float(hi[0] - lo[0]), rel=0.2)


def test_gold_without_a_recorded_design_is_refused(pop):
    pc, _rows, gold = pop
    with pytest.raises(DesignError, match="without a recorded sampling design"):
        estimate_shares(pc, gold, None)


def test_designs_that_do_not_fit_are_refused(pop):
    pc, rows, gold = pop
    d = draw_sample(articles_of(rows), 30, seed=1, unit="article", n_units=len(rows), corpus="c")
    wrong_pi = d.to_dict()
    wrong_pi["sample"][0]["pi"] = 0.5
    with pytest.raises(DesignError, match="does not match the design"):
        SamplingDesign.from_dict(wrong_pi)
    other_pool = draw_sample(articles_of(rows)[:-1], 30, seed=1, unit="article", corpus="c")
    with pytest.raises(DesignError, match="not the corpus given"):
        estimate_shares(pc, gold, other_pool)
    ghost = d.to_dict()
    ghost["sample"][0]["id"] = "no-such-article"
    with pytest.raises(DesignError, match="not in the corpus"):
        estimate_shares(pc, gold, SamplingDesign.from_dict(ghost))
    partial = [g for g in gold if not g["paragraph_id"].startswith(d.sample[0]["id"] + "/")]
    with pytest.raises(DesignError, match="have no gold label"):
        estimate_shares(pc, partial, d)
    res = estimate_shares(pc, partial, d, missing="drop", n_boot=20, overall_only=True)
    assert res.info["design"]["clusters_used"] == 29 and res.info["design"]["clusters_dropped_missing_gold"]


def test_gold_outside_the_design_is_left_out_and_counted(pop):
    pc, rows, gold = pop
    d = draw_sample(articles_of(rows), 40, seed=2, unit="article", n_units=len(rows), corpus="c")
    res = estimate_shares(pc, gold, d, n_boot=20, overall_only=True)
    used = res.info["design"]["gold_units_used"]
    assert used == sum(1 for g in gold if g["paragraph_id"].split("/")[0] in set(d.probabilities()))
    assert res.info["design"]["gold_left_out"]["outside_design"] == len(gold) - used


def test_a_stratified_oversample_is_weighted_by_its_probabilities(pop):
    pc, rows, gold = pop
    truth = np.mean([g["tone"] == "contentious" for g in gold])
    strata = {r["id"]: r["tone"] for r in rows}            # by predicted tone, equal allocation: rare tones over-drawn
    est, raw = [], []
    for rep in range(25):
        d = draw_sample(pc.ids, 450, seed=rep, strata=strata, corpus="c")
        assert len({s["pi"] for s in d.sample}) == 3
        r = overall(estimate_shares(pc, gold, d, n_boot=30, seed=rep, overall_only=True))
        est.append(r.gold_only)
        drawn = set(d.probabilities())
        raw.append(np.mean([g["tone"] == "contentious" for g in gold if g["paragraph_id"] in drawn]))
    assert abs(np.mean(est) - truth) < 0.01                 # weighted: on target
    assert abs(np.mean(raw) - truth) > 0.03                 # the unweighted sample share is not


def test_a_cell_with_too_little_gold_says_so_instead_of_a_number(pop):
    pc, rows, gold = pop
    d = draw_sample(articles_of(rows), 25, seed=5, unit="article", n_units=len(rows), corpus="c")
    lone = next(a for a in reversed(articles_of(rows)) if a not in d.probabilities())   # named only outside the sample
    rows = [dict(r, counterparts=["us"]) if r["article_id"] == lone else r for r in rows]
    t = estimate_shares(rows, gold, d, corpus="c", n_boot=50, seed=0, min_gold_units=60, min_gold_clusters=15).table
    few = t[(t.counterpart == "china") & (t.period == "all") & (t.theme == "all") & (t.quantity == "share_contentious")]
    r = few.iloc[0]
    assert r.method == "too_little_gold" and np.isnan(r.estimate) and np.isnan(r.gold_only)
    assert not np.isnan(r.naive)                             # the prediction count is still shown
    assert r.draws_to_halve > 0 and "would halve its interval" in r.note
    # a cell without any gold unit says that too
    empty = t[(t.counterpart == "us") & (t.quantity == "share_contentious")]
    assert len(empty) and empty.note.str.contains("no gold unit in this cell").all()


def test_the_halving_figure_follows_the_variance_formula(pop):
    pc, rows, gold = pop
    d = draw_sample(articles_of(rows), 60, seed=7, unit="article", n_units=len(rows), corpus="c")
    r = overall(estimate_shares(pc, gold, d, n_boot=20, overall_only=True))
    n, N = 60, len(articles_of(rows))
    # corpus target: the gold part is S^2 (1/n - 1/N); a quarter of it needs n' = 1 / ((1/n - 1/N)/4 + 1/N)
    assert r.draws_to_halve == np.ceil(1 / ((1 / n - 1 / N) / 4 + 1 / N) - n)


def test_a_design_file_round_trips_and_draws_are_reproducible(tmp_path):
    pool = [f"u{i:03d}" for i in range(100)]
    strata = {u: ("rare" if i < 10 else "common") for i, u in enumerate(pool)}
    d = draw_sample(pool, 20, seed=4, strata=strata, corpus="c", name="batch")
    assert d.strata == {"common": {"N": 90, "n": 10}, "rare": {"N": 10, "n": 10}}
    assert {s["pi"] for s in d.sample if s["stratum"] == "rare"} == {1.0}
    path = write_design(tmp_path / "batch.design.json", d)
    back = read_design(path)
    assert back.to_dict() == d.to_dict()
    assert draw_sample(pool, 20, seed=4, strata=strata, corpus="c", name="batch").sample == d.sample
    assert design_path_for(tmp_path / "batch.json") == tmp_path / "batch.design.json"
    (tmp_path / "broken.json").write_text(json.dumps({"name": "x"}), encoding="utf-8")
    with pytest.raises(DesignError, match="not a design record"):
        read_design(tmp_path / "broken.json")


def test_the_cross_corpus_test_set_has_a_committed_design():
    from conftest import ROOT

    d = read_design(ROOT / "labels" / "designs" / "test_vietnews.json")
    held = json.loads((ROOT / "labels" / "vietnews_test_articles.json").read_text(encoding="utf-8"))
    assert d.unit == "article" and d.corpus == "vietnews-fa"
    assert sorted(d.probabilities()) == sorted(held["articles"])


# -- the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_project(tmp_path_factory, seed_paragraphs):
    from vistance.corpus import write_paragraphs
    from vistance.labels.store import write_labels
    from vistance.models.lexicon import LexiconModel

    root = tmp_path_factory.mktemp("est")
    write_paragraphs(seed_paragraphs, root / "paragraphs.jsonl")
    labs = [make_label(p, ["political_relations"], ("contentious" if i % 3 == 0 else "cooperative"))
            for i, p in enumerate(seed_paragraphs)]
    write_labels(root / "gold.jsonl", labs)
    LexiconModel().fit([], [], []).save(root / "model")
    (root / "params.yaml").write_text("estimate:\n  designs: []\n  n_boot: 50\nanalysis:\n  batch_size: 16\n",
                                      encoding="utf-8")
    return root


def test_export_random_records_the_design_and_estimate_uses_it(seed_project, capsys):
    from vistance.cli import main

    root = seed_project
    batch = root / "batch.jsonl"
    assert main(["annotate", "export", "--strategy", "random", "--n", "35", "--seed", "3", "--exclude",
                 "--paragraphs", str(root / "paragraphs.jsonl"), "--out", str(batch)]) == 0
    d = read_design(root / "batch.design.json")
    exported = [json.loads(x)["paragraph_id"] for x in batch.read_text(encoding="utf-8").splitlines()]
    assert sorted(exported) == sorted(d.probabilities()) and d.scheme == "srswor" and d.corpus == "seeds"
    assert {s["pi"] for s in d.sample} == {35 / d.pool_size} and d.seed == 3
    assert d.pool["ids_sha1"] == ids_sha1(json.loads(x)["paragraph_id"] for x in
                                          (root / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines())
    out = root / "est"
    code = main(["estimate", "--model", str(root / "model"), "--paragraphs", str(root / "paragraphs.jsonl"),
                 "--gold", str(root / "gold.jsonl"), "--design", str(root / "batch.design.json"), "--out", str(out),
                 "--params", str(root / "params.yaml")])
    assert code == 0
    import pandas as pd

    t = pd.read_csv(out / "estimates.csv")
    row = t[(t.counterpart == "all") & (t.period == "all") & (t.theme == "all") & (t.quantity == "share_contentious")]
    assert row.method.item() == "ppi++" and row.n_gold.item() == 35
    assert row.low.item() <= row.estimate.item() <= row.high.item()
    assert (out / "naive_vs_corrected_china.png").exists() and (out / "estimates.json").exists()


def test_the_command_refuses_gold_without_a_design(seed_project, capsys):
    from vistance.cli import main

    root = seed_project
    code = main(["estimate", "--model", str(root / "model"), "--paragraphs", str(root / "paragraphs.jsonl"),
                 "--gold", str(root / "gold.jsonl"), "--out", str(root / "refused"), "--params",
                 str(root / "params.yaml")])
    assert code == 1
    assert "without a recorded sampling design are refused" in capsys.readouterr().err
    assert not (root / "refused" / "estimates.csv").exists()
