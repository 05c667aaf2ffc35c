"""Metrics checked against hand-computed cases."""
import numpy as np
import pytest

from vistance.evaluation.bootstrap import article_blocks, article_draws, percentile_interval, replicate_indices
from vistance.evaluation.metrics import bootstrap_ci, headline_metrics, paired_difference, theme_metrics, tone_metrics
from vistance.labels.schema import default_schema

SCHEMA = default_schema()
THEMES, TONES = SCHEMA.theme_names, SCHEMA.tone_names


def onehot(rows):
    return np.array([[int(t in r) for t in THEMES] for r in rows])


def test_theme_metrics_by_hand():
    Yt = onehot([["maritime"], ["maritime", "economy_trade"], ["other"]])
    Yp = onehot([["maritime"], ["maritime"], ["economy_trade"]])
    m = theme_metrics(Yt, Yp, THEMES)
    # per sample F1: 1, 2*1/(2+1)=2/3, 0
    assert m["sample_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # micro: tp=2, fp=1, fn=2 -> P=2/3, R=1/2
    assert m["micro_f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # macro over labels present in truth: maritime 1.0, economy_trade 0, other 0
    assert m["macro_f1"] == pytest.approx(1 / 3)
    assert m["per_label"]["maritime"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}


def test_tone_metrics_by_hand():
    c, k, n = (TONES.index(t) for t in ("cooperative", "contentious", "neutral"))
    yt = [c, c, k, n]
    yp = [c, k, k, n]
    m = tone_metrics(yt, yp, TONES)
    assert m["accuracy"] == 0.75
    # cooperative P=1 R=.5 F=2/3; contentious P=.5 R=1 F=2/3; neutral F=1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["confusion_matrix"][c][k] == 1


def test_bootstrap_resamples_articles_not_paragraphs():
    # article A: nine correct paragraphs; article B: one wrong paragraph
    correct = np.array([1] * 9 + [0])
    groups = ["A"] * 9 + ["B"]
    ci = bootstrap_ci(lambda ix: float(correct[ix].mean()), groups, n_boot=2000, seed=0)
    assert ci["value"] == pytest.approx(0.9)
    # with two articles a resample is AA (1.0), AB/BA (0.9) or BB (0.0): P(BB) = 1/4
    assert ci["low"] == 0.0 and ci["high"] == 1.0


def test_bootstrap_of_a_constant_metric_has_zero_width():
    ci = bootstrap_ci(lambda ix: 0.5, ["a", "b", "c"], n_boot=200, seed=1)
    assert (ci["low"], ci["value"], ci["high"]) == (0.5, 0.5, 0.5)


def test_paired_bootstrap_detects_a_clearly_better_model_and_not_an_identical_one():
    rng = np.random.default_rng(0)
    n = 300
    yt = rng.integers(0, 3, n)
    Y = np.zeros((n, len(THEMES)), dtype=int)
    Y[:, 0] = 1
    good = yt.copy()
    bad = rng.integers(0, 3, n)
    groups = [f"a{i // 5}" for i in range(n)]
    res = paired_difference("tone_macro_f1", (Y, yt), (Y, good), (Y, bad), groups, SCHEMA, n_boot=500, seed=0)
    assert res["difference"] > 0.5 and res["p_value"] < 0.01 and res["low"] > 0
    same = paired_difference("tone_macro_f1", (Y, yt), (Y, bad), (Y, bad), groups, SCHEMA, n_boot=200, seed=0)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_one_percentile_interval_reads_every_bootstrap():
    vals = np.arange(1001) / 1000
    assert percentile_interval(vals) == pytest.approx((0.025, 0.975))
    assert percentile_interval(vals, alpha=0.1) == pytest.approx((0.05, 0.95))
    assert percentile_interval([np.nan, 0.5]) == (0.5, 0.5)
    assert all(v != v for v in percentile_interval([np.nan]))


def _random_labels(rng, n):
    Yt = (rng.random((n, len(THEMES))) < rng.uniform(0.02, 0.6)).astype(int)
    Yp = (rng.random((n, len(THEMES))) < rng.uniform(0.02, 0.6)).astype(int)
    yt = rng.integers(0, int(rng.integers(1, len(TONES) + 1)), n)   # some tones absent from the truth
    yp = np.where(rng.random(n) < 0.5, yt, rng.integers(0, len(TONES), n))
    return Yt, Yp, yt, yp


def test_headline_metrics_equal_scikit_learns_to_the_last_bit():
    """The bootstrap's fast metrics are the reported ones: same float, empty and label-free items included."""
    rng = np.random.default_rng(7)
    fns = headline_metrics(SCHEMA)
    for n in [0, 1, 2, 3] + list(rng.integers(4, 80, 40)):
        Yt, Yp, yt, yp = _random_labels(rng, int(n))
        th, to = theme_metrics(Yt, Yp, THEMES), tone_metrics(yt, yp, TONES)
        want = {"themes_sample_f1": th["sample_f1"], "themes_micro_f1": th["micro_f1"], "themes_macro_f1": th["macro_f1"],
                "tone_macro_f1": to["macro_f1"], "tone_accuracy": to["accuracy"]}
        assert {k: fn(Yt, Yp, yt, yp) for k, fn in fns.items()} == want


def test_a_replicate_is_the_items_of_its_drawn_articles_in_draw_order():
    groups = ["b", "a", "b", "c", "a", "b"]
    blocks = article_blocks(groups)   # a: [1, 4], b: [0, 2, 5], c: [3]
    draws = list(article_draws(len(blocks), 20, np.random.default_rng(3)))
    reps = list(replicate_indices(blocks, 20, np.random.default_rng(3)))
    assert len(reps) == 20
    for d, ix in zip(draws, reps):
        assert ix.tolist() == [i for a in d[0] for i in blocks[a].tolist()]
