"""Tone by counterpart x period x theme: counts, the cooperation index, bands, determinism.

Hand-made predictions with counts worked out by hand; the end-to-end tests use the
lexicon model (no training) on made-up paragraphs. Nothing here depends on speed.
"""
from __future__ import annotations

import json
import math
import random

import numpy as np
import pandas as pd
import pytest

from vistance.analysis.aggregate import (
    ALL, ANY_POLICY, ToneAggregator, aggregate_tone, bootstrap_band, cell_rng, cooperation_index, period_of,
)
from vistance.predict import chunked, parallel_map, segment_parallel
from vistance.errors import VistanceError

ROWS = [
    {"article_id": "a1", "date": "2024-01-15", "themes": ["maritime"], "tone": "contentious", "counterparts": ["china"]},
    {"article_id": "a1", "date": "2024-02-01", "themes": ["maritime", "defense_security"], "tone": "contentious",
     "counterparts": ["china", "philippines"]},
    {"article_id": "a2", "date": "2024-02-20", "themes": ["economy_trade"], "tone": "cooperative", "counterparts": ["china"]},
    {"article_id": "a3", "date": "2024-04-02", "themes": ["economy_trade"], "tone": "neutral", "counterparts": ["china", "us"]},
    {"article_id": "a3", "date": "2024-04-02", "themes": ["other"], "tone": "cooperative", "counterparts": []},
    {"article_id": "a4", "date": None, "themes": ["maritime"], "tone": "contentious", "counterparts": ["china"]},
]


# the table of the default codebook: its columns and their order are part of the published outputs
COLUMNS = [
    "counterpart", "period", "theme", "n_paragraphs", "n_articles", "n_cooperative", "n_contentious", "n_neutral",
    "share_cooperative", "share_contentious", "share_neutral", "coop_index", "coop_index_low", "coop_index_high",
]


def cell(table, cp, period, theme) -> dict:
    sel = table[(table.counterpart == cp) & (table.period == period) & (table.theme == theme)]
    assert len(sel) == 1, (cp, period, theme)
    return sel.iloc[0].to_dict()


# -- periods ---------------------------------------------------------------------------
@pytest.mark.parametrize("date,period,expected", [
    ("2024-01-15", "month", "2024-01"), ("2024-12-31", "month", "2024-12"),
    ("2024-01-15", "quarter", "2024Q1"), ("2024-03-31", "quarter", "2024Q1"), ("2024-04-01", "quarter", "2024Q2"),
    ("2024-09-30", "quarter", "2024Q3"), ("2024-10-01", "quarter", "2024Q4"), ("2025-02-03", "year", "2025"),
    (None, "quarter", None), ("", "month", None), ("2024-02-30", "month", None), ("soon", "quarter", None),
])
def test_period_bucketing(date, period, expected):
    assert period_of(date, period) == expected


def test_an_unknown_period_is_refused():
    with pytest.raises(VistanceError, match="period"):
        period_of("2024-01-01", "week")
    with pytest.raises(VistanceError):
        ToneAggregator(period="fortnight")


# -- the index -------------------------------------------------------------------------
def test_cooperation_index_values_and_edges():
    assert cooperation_index(3, 1) == 0.5
    assert cooperation_index(0, 4) == -1.0
    assert cooperation_index(2, 0) == 1.0
    assert math.isnan(cooperation_index(0, 0))  # no cooperative and no contentious paragraph
    out = cooperation_index([1, 0, 2], [1, 0, 0])
    assert out[0] == 0.0 and math.isnan(out[1]) and out[2] == 1.0


# -- counts ----------------------------------------------------------------------------
def test_counts_by_counterpart_period_theme():
    agg = ToneAggregator(period="quarter").add_rows(ROWS)
    t = agg.table(n_boot=200, seed=1)
    assert list(t.columns) == COLUMNS
    c = cell(t, "china", "2024Q1", "maritime")
    assert (c["n_paragraphs"], c["n_articles"], c["n_contentious"], c["coop_index"]) == (2, 1, 2, -1.0)
    c = cell(t, "china", ALL, ALL)  # a1 x2, a2, a3: the undated a4 is left out
    assert (c["n_paragraphs"], c["n_articles"], c["n_cooperative"], c["n_contentious"], c["n_neutral"]) == (4, 3, 1, 2, 1)
    assert c["coop_index"] == pytest.approx(-1 / 3)
    assert c["share_cooperative"] == 0.25 and c["share_contentious"] == 0.5 and c["share_neutral"] == 0.25
    c = cell(t, "philippines", "2024Q1", "defense_security")
    assert c["n_paragraphs"] == 1
    c = cell(t, ALL, ALL, ALL)  # every dated paragraph, named counterpart or not
    assert c["n_paragraphs"] == 5 and c["n_articles"] == 3
    c = cell(t, ALL, ALL, ANY_POLICY)  # the "other"-only paragraph is not a policy paragraph
    assert c["n_paragraphs"] == 4
    assert agg.units == 6 and agg.undated == 1 and agg.with_counterpart == 4
    assert dict(agg.paragraphs_by_counterpart) == {"china": 4, "philippines": 1, "us": 1}


def test_a_cell_with_only_neutral_paragraphs_has_no_index_and_no_band():
    t = aggregate_tone(ROWS, period="quarter", n_boot=100, seed=0)
    c = cell(t, "us", "2024Q2", "economy_trade")
    assert c["n_neutral"] == 1
    assert math.isnan(c["coop_index"]) and math.isnan(c["coop_index_low"]) and math.isnan(c["coop_index_high"])


def test_a_paragraph_counts_once_per_theme_and_counterpart_even_if_repeated():
    agg = ToneAggregator("month")
    agg.add("a", "2024-05-05", ["maritime", "maritime"], "contentious", ["china", "china"])
    t = agg.table(n_boot=0)
    assert cell(t, "china", "2024-05", "maritime")["n_paragraphs"] == 1


def test_unknown_tone_is_an_error():
    with pytest.raises(VistanceError, match="tone"):
        ToneAggregator().add("a", "2024-01-01", ["maritime"], "hostile", [])


# -- bands -----------------------------------------------------------------------------
def test_bootstrap_band_brackets_the_estimate_and_resamples_articles():
    coop = np.array([3, 0, 2, 1, 0, 4, 1, 0])
    cont = np.array([0, 2, 1, 1, 3, 0, 0, 2])
    lo, hi = bootstrap_band(coop, cont, n_boot=500, rng=np.random.default_rng(0))
    est = cooperation_index(coop.sum(), cont.sum())
    assert -1 <= lo <= est <= hi <= 1 and hi > lo
    # one article: every replicate is that article, so the band collapses on the estimate
    lo1, hi1 = bootstrap_band([3], [1], n_boot=50, rng=np.random.default_rng(0))
    assert lo1 == hi1 == 0.5
    assert all(math.isnan(x) for x in bootstrap_band([1], [0], n_boot=0))
    assert all(math.isnan(x) for x in bootstrap_band([], [], n_boot=10))


def test_bands_are_deterministic_and_do_not_depend_on_order_or_other_cells():
    t1 = aggregate_tone(ROWS, "month", n_boot=300, seed=7)
    shuffled = ROWS[:]
    random.Random(3).shuffle(shuffled)
    t2 = aggregate_tone(shuffled, "month", n_boot=300, seed=7)
    pd.testing.assert_frame_equal(t1, t2)
    extra = shuffled + [{"article_id": "z9", "date": "2024-07-07", "themes": ["maritime"], "tone": "cooperative",
                         "counterparts": ["japan"]}]
    t3 = aggregate_tone(extra, "month", n_boot=300, seed=7)
    a = t1[t1.counterpart == "china"].reset_index(drop=True)
    b = t3[t3.counterpart == "china"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert not cell_rng(7, "x").integers(0, 1 << 30) == cell_rng(8, "x").integers(0, 1 << 30)


def test_table_order_puts_all_first_then_ids_periods_and_schema_themes():
    t = aggregate_tone(ROWS, "quarter", n_boot=0)
    assert t.iloc[0][["counterpart", "period", "theme"]].tolist() == [ALL, ALL, ALL]
    cps = list(dict.fromkeys(t.counterpart))
    assert cps == [ALL, "china", "philippines", "us"]
    china_all = t[(t.counterpart == "china") & (t.period == ALL)].theme.tolist()
    assert china_all[:2] == [ALL, ANY_POLICY]
    assert china_all[2:] == ["maritime", "economy_trade", "defense_security"]


# -- parallel helper -------------------------------------------------------------------
def _square_plus(context, items):
    return [x * x + context for x in items]


def test_parallel_map_keeps_order_and_matches_serial():
    items = list(chunked(range(103), 10))
    serial = list(parallel_map(_square_plus, items, context=1, n_jobs=1))
    par = list(parallel_map(_square_plus, items, context=1, n_jobs=2, max_pending=2))
    assert serial == par == [[x * x + 1 for x in c] for c in items]


def test_segment_parallel_equals_one_by_one():
    from vistance.text.segment import get_segmenter

    texts = ["Việt Nam và Trung Quốc hợp tác kinh tế.", "Hai bên trao đổi về tình hình Biển Đông."] * 5
    seg = get_segmenter("syllable")
    assert segment_parallel(texts, "syllable", n_jobs=2, chunk_size=3) == [seg.segment(t) for t in texts]


# -- the pipeline ----------------------------------------------------------------------
PARAGRAPHS = [
    ("a1", "2024-01-10", "Việt Nam và Trung Quốc ký thỏa thuận hợp tác thương mại, tăng cường đầu tư."),
    ("a1", "2024-01-10", "Việt Nam phản đối tàu Trung Quốc xâm phạm chủ quyền trên Biển Đông."),
    ("a2", "2024-02-03", "Hoa Kỳ và Việt Nam nâng cấp quan hệ, hợp tác công nghệ bán dẫn."),
    ("a3", "2024-04-21", "Bộ Ngoại giao Nga thông báo lịch trình chuyến thăm."),
    ("a3", "2024-04-21", "Thời tiết hôm nay nắng nhẹ."),
    ("a4", None, "Trung Quốc và ASEAN thúc đẩy đàm phán Bộ quy tắc ứng xử."),
]


@pytest.fixture(scope="module")
def lexicon_model(tmp_path_factory):
    from vistance.models.lexicon import LexiconModel

    folder = tmp_path_factory.mktemp("lexicon")
    LexiconModel().fit([], [], []).save(folder)
    return folder


@pytest.fixture()
def paragraphs_file(tmp_path):
    path = tmp_path / "paragraphs.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i, (aid, date, text) in enumerate(PARAGRAPHS):
            fh.write(json.dumps({"paragraph_id": f"{aid}/p{i:03d}", "article_id": aid, "date": date, "text": text,
                                 "unit": "paragraph", "corpus": "test"}, ensure_ascii=False) + "\n")
    return path


def test_run_analysis_writes_table_summary_predictions_and_plots(lexicon_model, paragraphs_file, tmp_path):
    from vistance.analysis.run import TABLE_NAME, run_analysis
    from vistance.models import load_model

    out = tmp_path / "out"
    s = run_analysis(load_model(lexicon_model), paragraphs_file, out, period="month", n_boot=50, seed=3, batch_size=2,
                     progress=False)
    assert s["units_read"] == 6 and s["units_undated_skipped"] == 1 and s["units_dated"] == 5
    for name in (f"{TABLE_NAME}.csv", f"{TABLE_NAME}.parquet", "summary.json", "predictions.jsonl",
                 "coop_index_by_period.png", "theme_tone_heatmap_china.png", "coop_index_by_theme_china.png"):
        assert (out / name).is_file(), name
    csv = pd.read_csv(out / f"{TABLE_NAME}.csv", keep_default_na=False, na_values=[""])
    pq = pd.read_parquet(out / f"{TABLE_NAME}.parquet")
    assert list(pq.columns) == ["counterpart", "counterpart_name"] + COLUMNS[1:]
    assert len(csv) == len(pq)
    assert csv.counterpart.tolist() == pq.counterpart.tolist()
    assert cell(pq, "china", "2024-01", ALL)["n_paragraphs"] == 2
    preds = [json.loads(l) for l in open(out / "predictions.jsonl", encoding="utf-8")]
    assert [p["id"] for p in preds] == [f"{a}/p{i:03d}" for i, (a, _, _) in enumerate(PARAGRAPHS)]
    assert all("text" not in p for p in preds)  # outputs never carry paragraph text
    assert preds[0]["counterparts"] == ["china"] and preds[2]["counterparts"] == ["us"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counterparts"]["china"]["all_paragraphs"]["paragraphs"] == 2
    assert summary["period"] == "month" and summary["seed"] == 3


def test_run_analysis_is_deterministic_and_independent_of_the_number_of_processes(lexicon_model, paragraphs_file,
                                                                                   tmp_path):
    from vistance.analysis.run import TABLE_NAME, run_analysis
    from vistance.models import load_model

    model = load_model(lexicon_model)
    outs = []
    for jobs, name in ((1, "a"), (2, "b"), (2, "c")):
        run_analysis(model, paragraphs_file, tmp_path / name, period="quarter", n_boot=40, seed=5, n_jobs=jobs,
                     batch_size=1, progress=False, plots=name == "a")
        outs.append(tmp_path / name)
    for fname in (f"{TABLE_NAME}.csv", "predictions.jsonl", "summary.json"):
        texts = {(o / fname).read_bytes() for o in outs}
        assert len(texts) == 1, fname


def test_bad_lines_are_reported_and_skipped(lexicon_model, paragraphs_file, tmp_path):
    from vistance.analysis.run import iter_paragraph_batches

    with open(paragraphs_file, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
        fh.write(json.dumps({"paragraph_id": "x"}) + "\n")
    errors: list = []
    n = sum(len(b) for b in iter_paragraph_batches(paragraphs_file, batch_size=4, errors=errors))
    assert n == len(PARAGRAPHS) and len(errors) == 2
    assert ":7:" in str(errors[0]) and ":8:" in str(errors[1])
    with pytest.raises(VistanceError):
        list(iter_paragraph_batches(paragraphs_file))


def test_cli_analyze(lexicon_model, paragraphs_file, tmp_path):
    from vistance.cli import main

    params = tmp_path / "params.yaml"
    params.write_text("seed: 2\nanalysis:\n  period: quarter\n  n_boot: 30\n", encoding="utf-8")
    out = tmp_path / "cli_out"
    rc = main(["analyze", "--model", str(lexicon_model), "--paragraphs", str(paragraphs_file), "--out", str(out),
               "--params", str(params)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["period"] == "quarter" and summary["n_boot"] == 30 and summary["seed"] == 2
    assert main(["analyze", "--model", str(lexicon_model), "--paragraphs", str(tmp_path / "missing.jsonl"),
                 "--out", str(out), "--params", str(params)]) == 1


def test_an_undated_corpus_gives_an_empty_table_and_counts_what_it_skipped(lexicon_model, tmp_path):
    from vistance.analysis.run import TABLE_NAME, run_analysis
    from vistance.models import load_model

    path = tmp_path / "undated.jsonl"
    path.write_text("".join(json.dumps({"paragraph_id": f"s{i}", "article_id": "s", "text": t}, ensure_ascii=False) + "\n"
                            for i, (_, _, t) in enumerate(PARAGRAPHS)), encoding="utf-8")
    s = run_analysis(load_model(lexicon_model), path, tmp_path / "out", n_boot=10, progress=False)
    assert s["units_read"] == s["units_undated_skipped"] == len(PARAGRAPHS)
    assert s["table"].empty and s["mentions_all_units"]["china"] == 3
    assert (tmp_path / "out" / f"{TABLE_NAME}.csv").is_file()
    assert not list((tmp_path / "out").glob("*.png"))


def test_merging_shard_aggregates_equals_aggregating_everything():
    whole = aggregate_tone(ROWS, "quarter", n_boot=100, seed=4)
    # shards split one article (a1) across two parts: it must stay one resampling unit
    parts = [ToneAggregator("quarter").add_rows(ROWS[i::3]) for i in range(3)]
    merged = ToneAggregator.merged(parts)
    pd.testing.assert_frame_equal(merged.table(n_boot=100, seed=4), whole)
    assert merged.units == len(ROWS) and merged.undated == 1
    with pytest.raises(VistanceError):
        ToneAggregator("month").merge(ToneAggregator("quarter"))


def test_corpora_filter_keeps_only_the_named_corpora(paragraphs_file, tmp_path):
    from vistance.analysis.run import iter_paragraph_batches

    mixed = tmp_path / "mixed.jsonl"
    lines = paragraphs_file.read_text(encoding="utf-8").splitlines()
    extra = json.dumps({"paragraph_id": "seed/p000", "article_id": "seed", "date": "2026-01-01", "text": "Mỹ.",
                        "corpus": "seeds"}, ensure_ascii=False)
    mixed.write_text("\n".join(lines + [extra]) + "\n", encoding="utf-8")
    ids = [r["id"] for b in iter_paragraph_batches(mixed, corpora=["test"]) for r in b]
    assert len(ids) == len(PARAGRAPHS) and "seed/p000" not in ids
    assert [r["id"] for b in iter_paragraph_batches(mixed, corpora=["seeds"]) for r in b] == ["seed/p000"]
