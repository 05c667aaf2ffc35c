"""Evaluation, comparison and model cards read the label set from the dataset and the models.

A second codebook — themes economy / security / culture, tones positive / negative, no catch-all,
no poles — runs through evaluate, compare and the model card with no source edit; a model whose
labels differ from the dataset's is refused, naming both lists. The orchestrators are the sum of
their analyses (each a function of its own).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from vistance.config import CompareConfig, EvaluateConfig
from vistance.errors import LabelError
from vistance.labels.schema import Label, LabelSchema

SECOND = LabelSchema.from_dict({"name": "second", "themes": ["economy", "security", "culture"],
                                "tones": ["positive", "negative"]})
THEME_WORDS = {"economy": "thương mại đầu tư xuất khẩu", "security": "quân sự an ninh tập trận",
               "culture": "văn hoá du lịch lễ hội"}
TONE_WORDS = {"positive": "hợp tác ủng hộ nhất trí", "negative": "phản đối tranh chấp chỉ trích"}
SPEC = {"segmenter": "syllable", "use_char": False, "min_df": 1, "tune_thresholds": False}
SETTINGS = EvaluateConfig(n_boot=20, cv_folds=2, generalisation=False, seeds=[], learning_curve=[0.5, 1.0],
                          min_paragraphs=0)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A dataset under the second codebook, two tfidf models trained on it and evaluated."""
    from vistance.corpus import write_paragraphs
    from vistance.corpus.records import Paragraph
    from vistance.dataset.build import build_dataset
    from vistance.evaluation.evaluate import evaluate_model
    from vistance.labels.store import write_labels
    from vistance.models.train import fit_rows
    from vistance.text.normalize import text_sha1

    root = tmp_path_factory.mktemp("second")
    paras, labels, rows = [], [], []
    themes, tones = SECOND.theme_names, SECOND.tone_names
    for a in range(16):
        for i in range(6):
            theme, tone = themes[(a + i) % 3], tones[(a * 7 + i) % 2]
            text = f"Hai bên {THEME_WORDS[theme]} và {TONE_WORDS[tone]} trong bài {a} đoạn {i}."
            pid = f"art{a:02d}/p{i:03d}"
            paras.append(Paragraph(paragraph_id=pid, article_id=f"art{a:02d}", text=text, text_sha1=text_sha1(text),
                                   title=f"Bài {a}", date="2024-05-01", source="vov.vn", corpus="news-2024",
                                   unit="paragraph", index=i))
            labels.append(Label(paragraph_id=pid, text_sha1=text_sha1(text), themes=[theme], tone=tone,
                                annotator="ann-A", annotated_at="2026-01-01T00:00:00Z"))
    write_paragraphs(paras, root / "paragraphs.jsonl")
    write_labels(root / "gold.jsonl", labels)
    build_dataset([root / "paragraphs.jsonl"], root / "gold.jsonl", root / "dataset", root / "stats.json",
                  split={"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1, schema=SECOND)
    from vistance.evaluation.evaluate import load_splits

    splits = load_splits(root / "dataset")
    exp = root / "experiments"
    results = {}
    for name, spec in (("tfidf_a", SPEC), ("tfidf_b", {**SPEC, "C": 0.05})):
        model = fit_rows("tfidf", spec, splits["train"], splits.get("validation"), seed=0, schema=SECOND)
        model.save(exp / "models" / name)
        (exp / "models" / f"{name}.train.json").write_text(json.dumps({"train_seconds": 1.0}), encoding="utf-8")
        results[name] = evaluate_model(name, "tfidf", spec, root / "dataset", exp / "models" / name, exp,
                                       settings=SETTINGS, seed=0)
    return root, exp, splits, results


def test_evaluation_reports_the_datasets_labels(project):
    root, exp, _, results = project
    r = results["tfidf_a"]
    assert list(r["themes"]["per_label"]) == ["economy", "security", "culture"]
    assert list(r["tone"]["per_class"]) == ["positive", "negative"]
    assert np.array(r["tone"]["confusion_matrix"]).shape == (2, 2)
    confusion = json.loads((exp / "plots" / "tfidf_a" / "tone_confusion.json").read_text(encoding="utf-8"))
    assert {c["actual"] for c in confusion} <= {"positive", "negative"}
    pred = json.loads((exp / "predictions" / "tfidf_a.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert pred["tone"] in ("positive", "negative") and set(pred["themes"]) <= {"economy", "security", "culture"}


def test_a_model_whose_labels_differ_from_the_datasets_is_refused_naming_both(project, tmp_path):
    from vistance.evaluation.evaluate import evaluate_model
    from vistance.models.lexicon import LexiconModel

    root, *_ = project
    LexiconModel().fit([], [], []).save(tmp_path / "lexicon")   # the packaged codebook's labels
    with pytest.raises(LabelError) as e:
        evaluate_model("lexicon", "lexicon", {}, root / "dataset", tmp_path / "lexicon", tmp_path / "out",
                       settings=SETTINGS, seed=0)
    assert "economy, security, culture" in str(e.value) and "maritime" in str(e.value)
    assert not (tmp_path / "out").exists()


def test_the_evaluation_is_the_sum_of_its_analyses(project):
    from vistance.evaluation.evaluate import (grouped_cv, in_sample_metrics, learning_curve, rows_headline,
                                              score_test)
    from vistance.models import load_model

    root, exp, splits, results = project
    model = load_model(exp / "models" / "tfidf_a")
    test = score_test(model, splits["test"])
    r = results["tfidf_a"]
    assert in_sample_metrics(test, SECOND, n_boot=20, seed=0)["headline"] == r["headline"]
    all_rows = [x for s in ("train", "validation", "test") for x in splits[s]]
    assert grouped_cv("tfidf", SPEC, all_rows, SECOND, folds=2, seed=0) == r["grouped_cv"]
    main = rows_headline(test.rows, test.Y_pred, test.y_pred, SECOND)
    curve = learning_curve("tfidf", SPEC, splits, main, SECOND, fractions=[0.5, 1.0], seed=0)
    assert curve == r["learning_curve"] and curve[-1]["train_paragraphs"] == len(splits["train"])
    assert "seed_variance" not in r and "generalisation" not in r   # switched off: not run, not faked


def test_compare_reads_the_models_labels_and_does_each_job_apart(project):
    from vistance.evaluation.compare import (best_model, compare_models, compared_schema, export_best,
                                             paired_tests, reference_model)

    root, exp, _, results = project
    names = ["tfidf_a", "tfidf_b"]
    schema = compared_schema(exp, names)
    assert schema.label_set() == SECOND.label_set()
    paired = paired_tests(exp, names, "tfidf_a", schema, n_boot=20, seed=0)
    assert set(paired) == {"tfidf_b"} and set(paired["tfidf_b"]) == {"tone_macro_f1", "themes_sample_f1"}
    # a reference that was not evaluated: the best baseline kind stands in (tfidf is one)
    assert reference_model(results, "absent", "tone_macro_f1") == best_model(results, "tone_macro_f1")
    assert export_best(exp, "missing", "tone_macro_f1", 0.0) is None

    out = compare_models(exp, names=names, schema=schema, n_boot=20, seed=0,
                         settings=CompareConfig(select_metric="tone_macro_f1", reference="tfidf_a"))
    report = out.read_text(encoding="utf-8")
    assert "| model | economy | security | culture |" in report and "| model | positive | negative |" in report
    assert "maritime" not in report and "cooperative" not in report
    best = best_model(results, "tone_macro_f1")
    assert json.loads((exp / "metrics.json").read_text())["best"] == best
    assert json.loads((exp / "models" / "best" / "BEST.json").read_text())["model"] == best
    assert (exp / "plots" / "tfidf_b" / "tone_confusion.png").is_file()


def test_compare_refuses_models_with_different_label_sets(project, tmp_path):
    import shutil

    from vistance.evaluation.compare import compared_schema
    from vistance.models.lexicon import LexiconModel

    _, exp, *_ = project
    shutil.copytree(exp / "models" / "tfidf_a", tmp_path / "models" / "tfidf_a")
    LexiconModel().fit([], [], []).save(tmp_path / "models" / "lexicon")
    with pytest.raises(LabelError, match="economy, security, culture"):
        compared_schema(tmp_path, ["tfidf_a", "lexicon"])


def test_the_model_card_names_the_second_codebooks_labels(project):
    from vistance.cards.model_card import render_model_card, write_model_cards

    _, exp, _, results = project
    metrics = json.loads((exp / "metrics" / "tfidf_a.json").read_text(encoding="utf-8"))
    card = render_model_card("tfidf_a", "tfidf", SPEC, metrics, {}, None, SECOND)
    assert "`economy`, `security`, `culture`" in card and "`positive`, `negative`" in card
    assert "| economy |" in card and "| negative |" in card
    assert "maritime" not in card and "friction wins" not in card   # no precedence in this codebook
    paths = write_model_cards(exp, {"tfidf_a": ("tfidf", SPEC), "never_evaluated": ("tfidf", SPEC)}, SECOND, None)
    assert [p.parent.name for p in paths] == ["tfidf_a"]


def test_label_review_takes_k_from_the_codebook():
    from vistance.evaluation.label_quality import _suggested_themes, confident_issues

    given = np.array([0, 0, 0, 1, 1, 1])
    tone = np.array([[.9, .1], [.8, .2], [.1, .9], [.1, .9], [.2, .8], [.15, .85]])
    themes = np.full((6, 3), .1)
    themes[:, 0] = .9
    given_th = np.zeros((6, 3), dtype=int)
    given_th[:, 0] = 1
    out = confident_issues(given, tone, given_th, themes, SECOND)
    assert [(d["i"], d["flag"], d["given"], d["suggested"]) for d in out] == [(2, "tone", "positive", "negative")]
    # no catch-all: dropping the only theme leaves nothing to stand in for it
    assert _suggested_themes(["economy"], "economy", False, SECOND) == []
    assert _suggested_themes(["economy"], "culture", True, SECOND) == ["economy", "culture"]


def test_the_dataset_card_names_the_second_codebooks_labels(tmp_path, monkeypatch):
    from vistance.cards.dataset_card import render_dataset_card

    monkeypatch.chdir(tmp_path)   # no label files here: the card says so, with this codebook's names
    stats = {"splits": {"train": {"paragraphs": 4, "articles": 2, "tone": {"positive": 3, "negative": 1}}}}
    card = render_dataset_card({}, stats, None, SECOND)
    assert "(`positive` / `negative`)" in card and "| `economy` | 0 |" in card and "| train | 4 | 2 | 3 | 1 |" in card
    assert "maritime" not in card and "`neutral`" not in card and "friction wins" not in card


def test_prediction_time_is_measured_after_a_warm_up_and_without_caches():
    import contextlib

    from vistance.evaluation.evaluate import prediction_seconds

    class Recorder:
        def __init__(self):
            self.calls, self.cached = [], True

        @contextlib.contextmanager
        def uncached(self):
            self.cached = False
            yield
            self.cached = True

        def predict_proba(self, texts):
            self.calls.append((len(texts), self.cached))

    model = Recorder()
    assert prediction_seconds(model, [f"đoạn {i}" for i in range(20)], warmup=3) >= 0
    assert model.calls == [(3, False), (20, False)]
