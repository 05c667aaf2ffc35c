"""Model cards lead with generalisation (news the model was not trained on), from the metrics file's facts."""
from __future__ import annotations

from vistance.cards.model_card import _base_model, generalisation_lines, generalisation_rows

METRICS = {
    "generalisation": {
        "heldout_source_vov.vn": {"train": 900, "test": 120, "tone_macro_f1": 0.7, "themes_sample_f1": 0.6},
        "train_news2024_test_vietnews": {"train": 1000, "test": 422, "tone_macro_f1": 0.5, "themes_sample_f1": 0.4,
                                         "ci": {"tone_macro_f1": [0.45, 0.56]}},
    },
    "cross_corpus": {"train_both_test_vietnews": {"train": 1400, "test": 422, "tone_macro_f1": 0.6,
                                                  "themes_sample_f1": 0.5}},
    "generalisation_score": {"tone_macro_f1": 0.6, "themes_sample_f1": 0.5, "parts": {}},
}


def test_cross_corpus_splits_come_first_with_their_confidence_intervals():
    assert [s for s, _ in generalisation_rows(METRICS)] == [
        "train_both_test_vietnews", "train_news2024_test_vietnews", "heldout_source_vov.vn"]
    text = "\n".join(generalisation_lines(METRICS))
    assert "tone macro-F1 **0.600**" in text and "0.500 [0.450, 0.560]" in text and "`vov.vn`" in text


def test_a_run_without_generalisation_says_why():
    lines = generalisation_lines({"skipped": "refitting analyses: 50 labelled paragraphs < 300"})
    assert any("Not measured here (refitting analyses: 50 labelled paragraphs < 300)" in line for line in lines)


def test_base_model_is_a_hub_id_never_a_local_path(tmp_path):
    assert _base_model("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    assert _base_model(None) is None and _base_model("experiments") is None
    (tmp_path / "vistance_checkpoint.json").write_text("{}", encoding="utf-8")   # a stand-in built here
    assert _base_model(str(tmp_path)) is None
