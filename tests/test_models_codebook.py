"""Models learn their label set at fit: another codebook (other themes, two tones, no catch-all)
works with no source edit, is saved and read back, and a model is refused against another label set."""
import json

import numpy as np
import pytest

from vistance.errors import LabelError, ModelError
from vistance.labels.schema import LabelSchema, default_schema
from vistance.models import build_model, load_model
from vistance.models.base import Scores
from vistance.models.folder import MANIFEST, check_model_labels, manifest_schema, write_manifest
from vistance.models.lexicon import LexiconModel
from vistance.models.scoring import theme_metrics, tone_metrics
from vistance.models.tfidf import TfidfModel

#: a second codebook: three themes, two tones, no catch-all, no no-signal tone, no poles
OTHER_CODEBOOK = LabelSchema.from_dict({
    "name": "other-codebook",
    "themes": {"trade": "commerce", "security": "armed forces", "culture": "arts"},
    "tones": {"warm": "friendly", "cold": "hostile"},
    "precedence": ["cold", "warm"],
})

WORDS = {"trade": "tariff export market", "security": "army missile border", "culture": "film music festival"}
TONE_WORDS = {"warm": "praise friendship", "cold": "protest threat"}


def corpus(n: int = 36):
    texts, themes, tones, groups = [], [], [], []
    names, tone_names = OTHER_CODEBOOK.theme_names, OTHER_CODEBOOK.tone_names
    for i in range(n):
        theme, tone = names[i % 3], tone_names[(i // 3) % 2]
        texts.append(f"{WORDS[theme]} {TONE_WORDS[tone]} item{i}")
        themes.append([theme])
        tones.append(tone)
        groups.append(f"a{i // 2}")
    return texts, themes, tones, groups


@pytest.fixture(scope="module")
def tfidf_other():
    texts, themes, tones, groups = corpus()
    return TfidfModel(segmenter="syllable", cv_folds=2).fit(texts, themes, tones, groups=groups, schema=OTHER_CODEBOOK)


def test_scores_take_their_shape_and_names_from_the_schema():
    sc = Scores([[0.2, 0.1, 0.3], [0.9, 0.8, 0.1]], [[0.6, 0.4], [0.1, 0.9]], schema=OTHER_CODEBOOK)
    assert sc.themes.shape == (2, 3) and sc.tone.shape == (2, 2) and sc.thresholds.tolist() == [0.5] * 3
    # no catch-all: nothing passing -> the arg-max; two passing -> both kept
    assert sc.theme_labels() == [["culture"], ["trade", "security"]]
    assert sc.tone_labels() == ["warm", "cold"]
    rec = sc.records(["a", "b"])[1]
    assert list(rec["scores"]["themes"]) == ["trade", "security", "culture"] and list(rec["scores"]["tone"]) == ["warm", "cold"]
    empty = Scores.concat([], schema=OTHER_CODEBOOK)
    assert empty.themes.shape == (0, 3) and empty.tone.shape == (0, 2) and empty.schema is OTHER_CODEBOOK


def test_the_default_catch_all_is_dropped_next_to_a_real_theme():
    schema = default_schema()
    th = np.zeros((1, len(schema.themes)))
    th[0, schema.theme_names.index(schema.catch_all)] = 0.9
    th[0, 0] = 0.7
    assert Scores(th, np.eye(len(schema.tones))[:1]).theme_labels() == [[schema.theme_names[0]]]


def test_metrics_name_the_labels_they_are_given():
    names = OTHER_CODEBOOK.theme_names
    m = theme_metrics([[1, 0, 0], [0, 1, 0]], [[1, 0, 0], [0, 0, 1]], names)
    assert list(m["per_label"]) == list(names) and m["per_label"]["trade"]["f1"] == 1.0
    t = tone_metrics([0, 1, 1], [0, 1, 0], OTHER_CODEBOOK.tone_names)
    assert list(t["per_class"]) == ["warm", "cold"] and t["confusion_matrix"] == [[1, 0], [1, 1]]


def test_tfidf_learns_saves_and_loads_another_label_set(tfidf_other, tmp_path):
    texts = corpus()[0]
    sc = tfidf_other.predict_proba(texts)
    assert sc.themes.shape == (len(texts), 3) and sc.tone.shape == (len(texts), 2)
    assert tfidf_other.schema is OTHER_CODEBOOK and tfidf_other.thresholds_.shape == (3,)
    assert set(tfidf_other.top_features(k=2)["tone"]) == {"warm", "cold"}
    tfidf_other.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["themes"] == ["trade", "security", "culture"] and manifest["tones"] == ["warm", "cold"]
    assert manifest["label_rules"] == {"precedence": ["cold", "warm"]}
    back = load_model(tmp_path / "m")
    assert back.schema.digest() == OTHER_CODEBOOK.digest()
    assert back.predict_proba(texts).records(["x"] * len(texts)) == sc.records(["x"] * len(texts))
    check_model_labels(back, OTHER_CODEBOOK)  # same labels: accepted


def test_a_model_of_another_label_set_is_refused_naming_both_lists(tfidf_other):
    with pytest.raises(LabelError) as e:
        check_model_labels(tfidf_other, default_schema(), "the model experiments/models/x")
    msg = str(e.value)
    assert "the model experiments/models/x has labels themes [trade, security, culture], tones [warm, cold]" in msg
    assert ", ".join(default_schema().theme_names) in msg and ", ".join(default_schema().tone_names) in msg


def test_fit_refuses_a_label_outside_the_schema():
    texts, themes, tones, _ = corpus(6)
    with pytest.raises(LabelError, match="unknown tone 'neutral'"):
        TfidfModel(segmenter="syllable", tune_thresholds=False).fit(texts, themes, tones[:-1] + ["neutral"],
                                                                     schema=OTHER_CODEBOOK)


def test_the_svm_penalty_is_c_times_a_named_scale():
    assert TfidfModel(classifier="linearsvc", C=4.0)._binary().C == 0.5  # the default scale 0.125
    svc = TfidfModel(classifier="linearsvc", C=4.0, svm_c_scale=1.0)
    assert svc._binary().C == svc._multiclass().C == 4.0
    assert TfidfModel(classifier="logreg", C=4.0, svm_c_scale=1.0)._binary().C == 4.0  # logreg: C itself


def test_lexicon_without_cues_for_the_schema_still_predicts_deterministically(tmp_path):
    texts = corpus(6)[0]
    m = LexiconModel().fit(texts, *corpus(6)[1:3], schema=OTHER_CODEBOOK)
    sc = m.predict_proba(texts)
    assert sc.theme_labels() == [["trade"]] * 6  # no cue, no catch-all: the arg-max rule (first theme)
    assert sc.tone_labels() == ["warm"] * 6      # no cue, no no-signal tone: the first tone
    m.save(tmp_path / "lex")
    back = load_model(tmp_path / "lex")
    assert back.schema.digest() == OTHER_CODEBOOK.digest()
    assert back.predict_proba(texts).records(list("abcdef")) == sc.records(list("abcdef"))


def test_lexicon_reads_cues_by_label_and_ignores_labels_the_schema_lacks(tmp_path):
    lex = {"themes": {"security": ["missile"], "maritime": ["festival"]},
           "tone": {"cold": ["protest"], "warm": ["praise"], "neutral": ["film"]}}
    (tmp_path / "lexicon.json").write_text(json.dumps(lex), encoding="utf-8")
    m = LexiconModel(lexicon_path=str(tmp_path / "lexicon.json")).fit([], [], [], schema=OTHER_CODEBOOK)
    sc = m.predict_proba(["army missile praise protest", "film festival praise", "film festival"])
    assert sc.theme_labels() == [["security"], ["trade"], ["trade"]]
    assert sc.tone_labels() == ["cold", "warm", "warm"]  # friction (first in precedence) wins


def test_a_lexicon_of_tone_cues_only_round_trips(tmp_path):
    (tmp_path / "tone.json").write_text(json.dumps({"tone": {"cold": ["threat"]}}), encoding="utf-8")
    m = LexiconModel(lexicon_path=str(tmp_path / "tone.json")).fit([], [], [], schema=OTHER_CODEBOOK)
    m.save(tmp_path / "lex")
    assert load_model(tmp_path / "lex").predict_proba(["a threat", "a gift"]).tone_labels() == ["cold", "warm"]


def test_the_default_lexicon_keeps_its_rule():
    sc = LexiconModel().fit([], [], []).predict_proba(["phản đối nhưng vẫn hợp tác", "hợp tác", "trời mưa"])
    assert sc.tone_labels() == ["contentious", "cooperative", "neutral"]
    assert np.allclose(sc.tone[2], np.exp([0, 0, 0.5]) / np.exp([0, 0, 0.5]).sum())
    assert sc.theme_labels()[2] == [default_schema().catch_all]


def test_an_ensemble_fits_its_members_on_its_label_set_and_refuses_a_mixed_folder(tmp_path):
    texts, themes, tones, groups = corpus()
    ens = build_model("ensemble", members=[{"kind": "tfidf", "use_char": False, "segmenter": "syllable"},
                                           {"kind": "lexicon"}], cv_folds=2)
    ens.fit(texts, themes, tones, groups=groups, schema=OTHER_CODEBOOK)
    assert all(m.schema is OTHER_CODEBOOK for m in ens.models_)
    assert ens.predict_proba(texts).tone.shape == (len(texts), 2)
    folder = tmp_path / "ens"
    ens.save(folder)
    assert load_model(folder).schema.digest() == OTHER_CODEBOOK.digest()
    # a member of the default label set swapped in (manifest rewritten to match): refused
    import shutil

    shutil.rmtree(folder / "member_1_lexicon")
    LexiconModel().save(folder / "member_1_lexicon")
    (folder / MANIFEST).unlink()
    write_manifest(folder, "ensemble", None, ens.get_params(), schema=OTHER_CODEBOOK)
    with pytest.raises(ModelError, match="ensemble member member_1_lexicon has labels"):
        load_model(folder)


def test_a_manifest_from_before_label_rules_reads_as_the_default_codebook():
    schema = default_schema()
    assert manifest_schema({"themes": list(schema.themes), "tones": list(schema.tones)}, "m") is schema
    assert manifest_schema({}, "m") is schema
    two = manifest_schema({"themes": ["a", "b"], "tones": ["x", "y"]}, "m")
    assert two.theme_names == ("a", "b") and two.catch_all is None
    with pytest.raises(ModelError, match="label set is not valid"):
        manifest_schema({"themes": ["a"], "tones": ["x", "y"], "label_rules": {"catch_all": "z"}}, "m")


def test_train_model_reads_the_label_set_from_the_dataset(tmp_path):
    from vistance.dataset.build import build_dataset_dict, write_dataset_schema
    from vistance.models.train import train_model

    texts, themes, tones, groups = corpus()
    rows = [{"id": f"p{i}", "article_id": g, "text": t, "themes": th, "tone": to, "title": "", "date": "",
             "source": "", "corpus": "c", "unit": "paragraph"}
            for i, (t, th, to, g) in enumerate(zip(texts, themes, tones, groups))]
    split = {g: ("validation" if int(g[1:]) % 5 == 0 else "train") for g in groups}
    data = tmp_path / "dataset"
    build_dataset_dict(rows, split, OTHER_CODEBOOK).save_to_disk(str(data))
    write_dataset_schema(data, OTHER_CODEBOOK)
    info = train_model("lex", "lexicon", {}, data, tmp_path / "models" / "lex", seed=13)
    assert info["kind"] == "lexicon" and info["train_paragraphs"] + info["validation_paragraphs"] == len(texts)
    assert load_model(tmp_path / "models" / "lex").schema.theme_names == OTHER_CODEBOOK.theme_names
    with pytest.raises(LabelError, match="the dataset .* has labels themes \\[trade, security, culture\\]"):
        train_model("lex", "lexicon", {}, data, tmp_path / "models" / "lex2", seed=13, codebook=default_schema())
