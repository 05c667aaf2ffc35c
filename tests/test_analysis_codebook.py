"""Analysis, plots and estimates under another codebook: the labels are the model's, not the package's.

The second codebook has themes [economy, security, culture] and tones [positive, negative], no
catch-all; without poles there is no cooperation index (no columns, no index figures, no crash),
with poles there is one. The default codebook's outputs are covered by test_analysis / test_estimate.
"""
from __future__ import annotations

import json

import pytest

from vistance.analysis.aggregate import ALL, ANY_POLICY, ToneAggregator, aggregate_tone, table_columns
from vistance.errors import VistanceError
from vistance.labels.schema import LabelSchema, default_schema

THEMES = ["economy", "security", "culture"]
TONES = ["positive", "negative"]
NO_POLES = LabelSchema.from_labels(THEMES, TONES)
POLES = LabelSchema.from_labels(THEMES, TONES, poles={"positive": "positive", "negative": "negative"})

ROWS = [
    {"article_id": "a1", "date": "2024-01-15", "themes": ["economy"], "tone": "positive", "counterparts": ["china"]},
    {"article_id": "a1", "date": "2024-02-01", "themes": ["security"], "tone": "negative", "counterparts": ["china"]},
    {"article_id": "a2", "date": "2024-04-20", "themes": ["economy", "culture"], "tone": "positive",
     "counterparts": []},
    {"article_id": "a3", "date": None, "themes": ["culture"], "tone": "negative", "counterparts": ["us"]},
]


def cell(table, cp, period, theme) -> dict:
    sel = table[(table.counterpart == cp) & (table.period == period) & (table.theme == theme)]
    assert len(sel) == 1, (cp, period, theme)
    return sel.iloc[0].to_dict()


# -- the table -------------------------------------------------------------------------------
def test_without_poles_the_table_has_a_count_and_a_share_per_tone_and_no_index():
    t = aggregate_tone(ROWS, "quarter", n_boot=20, schema=NO_POLES)
    assert list(t.columns) == ["counterpart", "period", "theme", "n_paragraphs", "n_articles", "n_positive",
                               "n_negative", "share_positive", "share_negative"]
    c = cell(t, "china", ALL, ALL)
    assert (c["n_paragraphs"], c["n_positive"], c["n_negative"], c["share_positive"]) == (2, 1, 1, 0.5)
    # no catch-all: every paragraph has a policy theme, so any_policy is every dated paragraph
    assert cell(t, ALL, ALL, ANY_POLICY)["n_paragraphs"] == cell(t, ALL, ALL, ALL)["n_paragraphs"] == 3
    themes = t[(t.counterpart == ALL) & (t.period == ALL)].theme.tolist()
    assert themes == [ALL, ANY_POLICY, "economy", "security", "culture"]   # the codebook's order


def test_with_poles_the_index_and_its_band_come_back():
    t = aggregate_tone(ROWS, "quarter", n_boot=50, seed=1, schema=POLES)
    assert list(t.columns) == table_columns(POLES) and list(t.columns)[-3:] == [
        "coop_index", "coop_index_low", "coop_index_high"]
    assert cell(t, "china", ALL, ALL)["coop_index"] == 0.0
    assert cell(t, ALL, "2024Q2", "culture")["coop_index"] == 1.0


def test_a_tone_outside_the_codebook_is_refused_naming_the_allowed_ones():
    with pytest.raises(VistanceError, match="positive, negative"):
        ToneAggregator(schema=NO_POLES).add("a", "2024-01-01", ["economy"], "neutral", [])


def test_aggregates_of_different_codebooks_do_not_merge():
    with pytest.raises(VistanceError, match="tones"):
        ToneAggregator(schema=NO_POLES).merge(ToneAggregator(schema=default_schema()))
    merged = ToneAggregator.merged([ToneAggregator("quarter", NO_POLES).add_rows(ROWS[:2]),
                                    ToneAggregator("quarter", NO_POLES).add_rows(ROWS[2:])])
    assert merged.schema is NO_POLES and merged.units == 4


# -- colours ---------------------------------------------------------------------------------
def test_tone_colours_keep_the_default_plots_and_cover_any_codebook():
    from vistance.analysis.plots import tone_colours

    assert tone_colours(default_schema()) == {"cooperative": "#2E7D32", "contentious": "#C62828",
                                              "neutral": "#757575"}
    assert tone_colours(POLES) == {"positive": "#2E7D32", "negative": "#C62828"}
    free = tone_colours(NO_POLES)
    assert list(free) == TONES and len(set(free.values())) == 2


def test_the_index_figures_refuse_a_codebook_without_poles(tmp_path):
    from vistance.analysis import plots

    t = aggregate_tone(ROWS, "quarter", n_boot=0, schema=NO_POLES)
    with pytest.raises(VistanceError, match="no poles"):
        plots.coop_index_timeseries(t, ["china"], tmp_path / "x.png", schema=NO_POLES)
    assert plots.theme_tone_heatmap(t, "china", tmp_path / "h.png", schema=NO_POLES).is_file()


# -- the pipeline, with a model that carries its codebook ---------------------------------------
class KeywordScores:
    def __init__(self, texts, schema):
        self.texts, self.schema = texts, schema

    def records(self, ids):
        out = []
        for pid, text in zip(ids, self.texts):
            themes = [t for t in self.schema.themes if t in text] or [self.schema.theme_names[0]]
            tone = "negative" if "negative" in text else "positive"
            out.append({"id": pid, "themes": themes, "tone": tone,
                        "scores": {"themes": {t: float(t in themes) for t in self.schema.themes},
                                   "tone": {t: float(t == tone) for t in self.schema.tones}}})
        return out


class KeywordModel:
    """A stand-in model of another codebook: labels by keyword, ``schema`` as a fitted model has it."""

    kind = "keyword"
    fork_safe = False

    def __init__(self, schema):
        self.schema = schema

    def predict_proba(self, texts):
        return KeywordScores(texts, self.schema)


TEXTS = [
    ("a1", "2024-01-10", "Trung Quốc economy positive"),
    ("a1", "2024-01-10", "Trung Quốc security negative"),
    ("a2", "2024-05-03", "Hoa Kỳ culture positive"),
    ("a3", "2024-05-21", "Trung Quốc economy culture negative"),
]


@pytest.fixture()
def paragraphs_file(tmp_path):
    path = tmp_path / "paragraphs.jsonl"
    path.write_text("".join(json.dumps({"paragraph_id": f"{a}/p{i}", "article_id": a, "date": d, "text": t,
                                        "corpus": "mine"}, ensure_ascii=False) + "\n"
                            for i, (a, d, t) in enumerate(TEXTS)), encoding="utf-8")
    return path


def test_run_analysis_reads_the_codebook_from_the_model_without_poles(paragraphs_file, tmp_path):
    from vistance.analysis.run import TABLE_NAME, run_analysis

    out = tmp_path / "out"
    s = run_analysis(KeywordModel(NO_POLES), paragraphs_file, out, n_boot=10, progress=False)
    assert s["tone_counts_dated"] == {"positive": 2, "negative": 2}
    assert s["overall"]["all_paragraphs"] == {"paragraphs": 4, "articles": 3, "positive": 2, "negative": 2}
    header = (out / f"{TABLE_NAME}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == ["counterpart", "counterpart_name"] + table_columns(NO_POLES)[1:]
    assert sorted(p.name for p in out.glob("*.png")) == ["theme_tone_heatmap_china.png"]
    pred = json.loads((out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert pred["themes"] == ["security"] and pred["tone"] == "negative" and pred["counterparts"] == ["china"]
    assert list(pred["scores"]["tone"]) == TONES


def test_run_analysis_with_poles_draws_the_index_figures(paragraphs_file, tmp_path):
    from vistance.analysis.run import run_analysis

    out = tmp_path / "out"
    s = run_analysis(KeywordModel(POLES), paragraphs_file, out, n_boot=10, progress=False)
    assert s["overall"]["all_paragraphs"]["coop_index"] == 0.0
    assert sorted(p.name for p in out.glob("*.png")) == [
        "coop_index_by_period.png", "coop_index_by_theme_china.png", "theme_tone_heatmap_china.png"]


def test_a_model_without_a_codebook_predicts_the_default_labels():
    from vistance.predict import model_schema

    assert model_schema(object()) == default_schema()
    assert model_schema(KeywordModel(POLES)) is POLES


# -- estimates -------------------------------------------------------------------------------
PREDICTED = [{"id": f"u{i}", "article_id": f"a{i // 2}", "date": "2024-03-01", "themes": [THEMES[i % 3]],
              "tone": TONES[i % 2], "counterparts": ["china"] if i % 4 else []} for i in range(24)]


def test_estimates_have_a_share_per_label_and_the_index_only_with_poles():
    from vistance.analysis.estimate import estimate_shares

    def overall(schema):
        res = estimate_shares(PREDICTED, schema=schema, n_boot=20, overall_only=True)
        return res.table.quantity.tolist(), res.info

    qs, info = overall(NO_POLES)
    assert qs == ["share_positive", "share_negative", "share_economy", "share_security", "share_culture"]
    assert info["tones"] == TONES and info["poles"] == []
    qs, info = overall(POLES)
    assert qs == ["share_positive", "share_negative", "coop_index", "share_economy", "share_security",
                  "share_culture"]
    assert info["poles"] == ["positive", "negative"]


def test_a_predicted_label_outside_the_codebook_is_refused():
    from vistance.analysis.estimate import estimate_shares

    with pytest.raises(VistanceError, match="positive, negative"):
        estimate_shares([{**PREDICTED[0], "tone": "neutral"}], schema=NO_POLES, n_boot=5)


@pytest.mark.parametrize("schema,plotted", [(NO_POLES, ("share_positive", "share_negative")),
                                            (POLES, ("share_negative", "coop_index"))])
def test_estimate_corpus_writes_its_outputs_under_another_codebook(tmp_path, schema, plotted):
    from vistance.analysis.estimate_run import estimate_corpus, plotted_quantities
    from vistance.config import EstimateConfig

    assert plotted_quantities(schema) == plotted
    rep = estimate_corpus(None, [], tmp_path, EstimateConfig(n_boot=20), rows_by_corpus={"mine": PREDICTED},
                          schema=schema)
    assert set(rep.table.quantity) >= set(plotted)
    assert ("coop_index" in set(rep.table.quantity)) == (schema.poles is not None)
    assert (tmp_path / "estimates.csv").is_file() and (tmp_path / "naive_vs_corrected_china.png").is_file()
