"""The ensemble kind: averaged member probabilities, thresholds out of fold, a safe folder."""
import numpy as np
import pytest

from vistance.errors import ModelError
from vistance.models import build_model, load_model, model_class

CUES = {"maritime": "Biển Đông tàu hải cảnh ngư dân chủ quyền", "economy_trade": "xuất khẩu thương mại đầu tư thuế quan"}
TONE_CUE = {"contentious": "phản đối phản đối cáo buộc", "cooperative": "hợp tác ủng hộ nhất trí"}
MEMBERS = [{"kind": "tfidf", "use_char": False, "segmenter": "syllable"}, {"kind": "lexicon"}]


def _data(n=90):
    texts, themes, tones, groups = [], [], [], []
    for i in range(n):
        theme = "maritime" if i % 2 else "economy_trade"
        tone = "contentious" if i % 3 == 0 else "cooperative"
        texts.append(f"{CUES[theme]} {TONE_CUE[tone]} đoạn số {i}")
        themes.append([theme])
        tones.append(tone)
        groups.append(f"article{i // 3}")
    return texts, themes, tones, groups


def test_an_ensemble_learns_more_than_the_majority_class():
    texts, themes, tones, groups = _data()
    model = build_model("ensemble", members=MEMBERS, seed=1).fit(texts[:60], themes[:60], tones[:60], groups=groups[:60])
    sc = model.predict_proba(texts[60:])
    tone_acc = np.mean([p == t for p, t in zip(sc.tone_labels(), tones[60:])])
    majority = max(tones[60:].count(t) for t in set(tones[60:])) / 30
    assert tone_acc > majority
    assert np.mean([p == t for p, t in zip(sc.theme_labels(), themes[60:])]) > 0.9


def test_its_probabilities_are_the_weighted_mean_of_its_members():
    texts, themes, tones, groups = _data(60)
    model = build_model("ensemble", members=MEMBERS, weights=[3, 1], cv_folds=0).fit(texts, themes, tones, groups=groups)
    a, b = (m.predict_proba(texts[:5]) for m in model.models_)
    sc = model.predict_proba(texts[:5])
    np.testing.assert_allclose(sc.tone, 0.75 * a.tone + 0.25 * b.tone)
    np.testing.assert_allclose(sc.themes, 0.75 * a.themes + 0.25 * b.themes)


def test_a_saved_ensemble_reloads_with_the_same_decisions(tmp_path):
    texts, themes, tones, groups = _data(60)
    model = build_model("ensemble", members=MEMBERS, seed=2).fit(texts, themes, tones, groups=groups)
    model.save(tmp_path / "ens")
    again = load_model(tmp_path / "ens")
    before, after = model.predict_proba(texts), again.predict_proba(texts)
    np.testing.assert_allclose(after.tone, before.tone, atol=1e-6)
    assert after.theme_labels() == before.theme_labels() and after.tone_labels() == before.tone_labels()


def test_a_tampered_member_is_refused(tmp_path):
    texts, themes, tones, groups = _data(60)
    build_model("ensemble", members=MEMBERS, cv_folds=0).fit(texts, themes, tones, groups=groups).save(tmp_path / "ens")
    member_file = next(p for p in (tmp_path / "ens").rglob("*.json") if p.parent.name.startswith("member_0")
                       and p.name != "manifest.json")
    member_file.write_text(member_file.read_text() + " ")
    with pytest.raises(ModelError):
        load_model(tmp_path / "ens")


def test_bad_member_lists_are_clear_errors():
    with pytest.raises(ModelError, match="at least one"):
        build_model("ensemble", members=[])
    with pytest.raises(ModelError, match="kind"):
        build_model("ensemble", members=[{"C": 1.0}])
    with pytest.raises(ModelError, match="weight"):
        build_model("ensemble", members=MEMBERS, weights=[1.0])
    assert model_class("ensemble").Params.model_validate({"members": MEMBERS}).members == MEMBERS


def test_a_misspelt_member_parameter_names_the_member():
    with pytest.raises(ModelError, match=r"member 1 \(lexicon\): Cee"):
        build_model("ensemble", members=[MEMBERS[0], {"kind": "lexicon", "Cee": 1}])


def test_the_weights_a_validation_fit_chose_are_recorded_and_stated_on_the_card():
    from vistance.cards.model_card import ensemble_lines

    texts, themes, tones, groups = _data(90)
    valid = (texts[60:], themes[60:], tones[60:])
    model = build_model("ensemble", members=MEMBERS, weighting="validation", weight_grid=[0.0, 0.5, 1.0])
    model.fit(texts[:60], themes[:60], tones[:60], groups=groups[:60], valid=valid)
    chosen = model.training_stats_["ensemble"]
    assert chosen["task_weights"] == model.task_weights_ and chosen["members"] == ["tfidf", "lexicon"]
    text = "\n".join(ensemble_lines({"training_stats": model.training_stats_}))
    assert f"tone w = {model.task_weights_['tone']:g}" in text and "{0, 0.5, 1}" in text
    assert f"themes w = {model.task_weights_['themes']:g}" in text


def test_fixed_weights_are_stated_normalised():
    from vistance.cards.model_card import ensemble_lines

    texts, themes, tones, groups = _data(60)
    model = build_model("ensemble", members=MEMBERS, weights=[3, 1], cv_folds=0).fit(texts, themes, tones, groups=groups)
    assert "Fixed weights (normalised) 0.75, 0.25" in "\n".join(ensemble_lines({"training_stats": model.training_stats_}))
    assert ensemble_lines({"training_stats": {"recipe": "top layers"}}) == []


def test_a_member_fit_read_back_from_a_fit_cache_is_recorded_with_its_own_cost():
    texts, themes, tones, groups = _data(60)
    model = build_model("ensemble", members=MEMBERS, weights=[1, 1], cv_folds=0).fit(texts, themes, tones, groups=groups)
    assert model.training_stats_["ensemble"]["members_read_back"] == []
    model.models_[1].training_stats_ = {"fit_cache": "reused", "seconds": 12.5}   # as a transformer read back
    assert model.training_stats_["ensemble"]["members_read_back"] == [{"member": 1, "kind": "lexicon", "seconds": 12.5}]
