"""Model cards lead with generalisation (news the model was not trained on), from the metrics file's facts."""
from __future__ import annotations

from vistance.cards.model_card import _base_model, generalisation_lines, generalisation_rows, training_time_text

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


def test_a_model_refitted_with_several_seeds_leads_with_their_mean_and_sd():
    ms = lambda m, s: {"mean": m, "std": s}   # noqa: E731
    seeded = dict(METRICS, generalisation_seeds={"seeds": [13, 14, 15], "runs": [],
                                                 "score": {"tone_macro_f1": ms(0.71, 0.02), "themes_sample_f1": ms(0.52, 0.01)},
                                                 "splits": {}})
    text = "\n".join(generalisation_lines(seeded))
    assert "3 re-fits that differ only in the seed (13, 14, 15)" in text
    assert "**0.710 ± 0.020**" in text and "**0.520 ± 0.010**" in text and "**0.600**" not in text


def test_a_fast_inference_path_is_stated_with_its_measured_agreement():
    from vistance.cards.model_card import _inference_text

    measured = {"path": "onnx", "reference": "float32", "units": 422, "split": "test_vietnews",
                "agreement": {"tone": 1.0, "themes_all": 0.995, "theme:maritime": 1.0, "theme:other": 0.9976}}
    text = _inference_text("onnx", True, measured)
    assert "ONNX Runtime float32" in text and "422 units of `test_vietnews`" in text
    assert "100.0% of tones and 99.5% of theme sets" in text and "other 99.8%" in text
    text = _inference_text("openvino", True, {**measured, "path": "openvino", "precision": "bf16"})
    assert text.startswith("OpenVINO") and "bf16 on the machine that ran this evaluation" in text


def test_a_fit_read_back_from_the_fit_cache_states_the_time_of_the_run_that_made_it():
    reused = {"train_seconds": 8.93, "training_stats": {"fit_cache": "reused", "seconds": 494.8}}
    assert training_time_text(reused).startswith("Training took 494.8 s when this fit ran")
    assert "read it back from the fit cache in 8.93 s" in training_time_text(reused)
    assert training_time_text({"train_seconds": 23.26}) == "Training took 23.26 s on the machine that ran the pipeline."


def test_an_ensemble_whose_member_fit_was_read_back_states_what_that_fit_cost(tmp_path):
    from vistance.evaluation.compare import read_timings

    info = {"train_seconds": 36.3, "training_stats": {"ensemble": {
        "members": ["tfidf", "transformer"], "members_read_back": [{"member": 1, "kind": "transformer", "seconds": 492.9}]}}}
    assert training_time_text(info) == ("Training took 36.3 s on the machine that ran the pipeline, with member 1's "
                                        "(`transformer`) fit read back from the fit cache (it took 492.9 s when it ran).")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "ens.train.json").write_text(__import__("json").dumps(info), encoding="utf-8")
    assert read_timings(tmp_path, ["ens"])["ens"]["train_seconds"].startswith("529.2 (36.3 here")
