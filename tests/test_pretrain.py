"""PhoBERT-compatible BPE files, the tiny stand-in checkpoint, and masked-LM pretraining."""
from __future__ import annotations

import json
import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

from vistance.models.folder import read_manifest, sha256_file  # noqa: E402
from vistance.checkpoints.phobert import learn_bpe, write_phobert_tokenizer_files  # noqa: E402
from vistance.text.segment import get_segmenter  # noqa: E402

try:  # tests/ is on sys.path (rootdir import) or a package; fixtures must be names in this module
    from transformer_fixtures import (  # noqa: F401
        MAX_LENGTH, TINY, seed_texts, single_torch_thread, synthetic_labels, tiny_checkpoint)
except ImportError:  # pragma: no cover
    from tests.transformer_fixtures import (  # noqa: F401
        MAX_LENGTH, TINY, seed_texts, single_torch_thread, synthetic_labels, tiny_checkpoint)


# ----------------------------------------------------------------------------- BPE learner

def test_most_frequent_pair_is_merged_first_and_min_count_stops():
    codes, vocab = learn_bpe(["ab ab ab cd cd x"], num_merges=10, min_count=3)
    assert codes == [("a", "b</w>", 3)]  # (c, d</w>) occurs twice < min_count
    assert vocab["ab"] == 3 and vocab["c@@"] == 2 and vocab["d"] == 2 and vocab["x"] == 1
    # every character is in the vocabulary in both positions, so unseen words never hit <unk>
    assert {"a@@", "b", "x@@"} <= set(vocab)


def test_ties_are_broken_by_the_pair_itself():
    codes, _ = learn_bpe(["ba ab"], num_merges=1, min_count=1)
    assert codes == [("a", "b</w>", 1)]  # ("a","b</w>") < ("b","a</w>")


def test_bpe_is_deterministic_and_order_free(seed_texts):
    seg = get_segmenter("pyvi").segment_batch(seed_texts)
    assert learn_bpe(seg, 500) == learn_bpe(list(reversed(seg)), 500)


def test_bpe_files_have_three_fields_and_a_final_newline(tmp_path, seed_texts):
    from transformers import PhobertTokenizer

    seg = get_segmenter("pyvi").segment_batch(seed_texts)
    codes, vocab = learn_bpe(seg, 300)
    codes_path, vocab_path = write_phobert_tokenizer_files(codes, vocab, tmp_path)
    raw = codes_path.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    lines = raw.splitlines()
    assert len(lines) == len(codes) == 300
    assert all(len(line.split(" ")) == 3 and line.split(" ")[2].isdigit() for line in lines)
    assert all(line.split(" ")[1].endswith("</w>") for line in lines if "</w>" in line.split(" ")[1])
    vlines = vocab_path.read_text(encoding="utf-8").splitlines()
    assert all(len(v.split(" ")) == 2 and v.split(" ")[1].isdigit() for v in vlines)
    assert not {"<s>", "<pad>", "</s>", "<unk>", "<mask>"} & {v.split(" ")[0] for v in vlines}
    # PhobertTokenizer reads every merge, in order, with both halves
    tok = PhobertTokenizer(str(vocab_path), str(codes_path))
    assert tok.bpe_ranks == {(a, b): i for i, (a, b, _) in enumerate(codes)}


def test_why_three_fields_phobert_drops_the_last_field(tmp_path):
    from transformers import PhobertTokenizer

    (tmp_path / "vocab.txt").write_text("a 1\n", encoding="utf-8")
    (tmp_path / "bpe.codes").write_text("a b</w>\n", encoding="utf-8")  # two fields: the right half is lost
    tok = PhobertTokenizer(str(tmp_path / "vocab.txt"), str(tmp_path / "bpe.codes"))
    assert list(tok.bpe_ranks) == [("a",)]


# ----------------------------------------------------------------------------- tiny checkpoint

def test_tiny_checkpoint_is_phobert_shaped_and_says_it_is_a_stand_in(tiny_checkpoint):
    from transformers import AutoConfig

    names = {p.name for p in tiny_checkpoint.iterdir()}
    assert {"bpe.codes", "vocab.txt", "config.json", "model.safetensors", "tokenizer_config.json", "README.md"} <= names
    assert not names & {"pytorch_model.bin", "training_args.bin"}
    cfg = AutoConfig.from_pretrained(tiny_checkpoint, local_files_only=True)
    assert cfg.model_type == "roberta" and cfg.type_vocab_size == 1
    assert (cfg.bos_token_id, cfg.pad_token_id, cfg.eos_token_id) == (0, 1, 2)
    assert cfg.max_position_embeddings == MAX_LENGTH + 2
    notice = (tiny_checkpoint / "README.md").read_text(encoding="utf-8")
    assert "NOT PhoBERT" in notice and "randomly initialised" in notice
    assert json.loads((tiny_checkpoint / "vistance_checkpoint.json").read_text())["segmenter"] == "pyvi"
    assert read_manifest(tiny_checkpoint)["kind"] == "mlm_checkpoint"  # fine-tuning verifies it


def test_tiny_tokenizer_round_trips_segmented_text(tiny_checkpoint, seed_texts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint, local_files_only=True)
    assert type(tok).__name__ == "PhobertTokenizer"
    seg = get_segmenter("pyvi")
    for text in seed_texts:
        s = seg.segment(text)
        ids = tok(s, add_special_tokens=False)["input_ids"]
        assert ids and tok.unk_token_id not in ids
        assert tok.decode(ids, clean_up_tokenization_spaces=False) == s
    # a sentence that is not in the corpus still tokenises into known subwords
    unseen = seg.segment("Hai nước ký thỏa thuận về năng lượng tái tạo và chuyển đổi số.")
    ids = tok(unseen, add_special_tokens=False)["input_ids"]
    assert ids and tok.unk_token_id not in ids and tok.decode(ids) == unseen
    assert tok(unseen)["input_ids"][0] == tok.bos_token_id == 0


# ----------------------------------------------------------------------------- pretraining

@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, seed_texts):
    from vistance.checkpoints.pretrain import pretrain_mlm

    out = tmp_path_factory.mktemp("mlm")
    stats = pretrain_mlm(seed_texts, out, init=None, max_steps=8, batch_size=8, seed=0, **TINY)
    return out, stats


def test_pretraining_runs_the_step_budget_and_records_stats(pretrained):
    out, stats = pretrained
    assert stats["steps"] == 8 and stats["stopped_by"] == "max_steps"
    assert json.loads((out / "pretrain_stats.json").read_text()) == stats
    assert stats["tokens"] > 1000 and stats["tokens_seen"] > 0 and stats["windows"] >= stats["texts"]
    assert all(math.isfinite(stats[k]) for k in ("final_loss", "train_loss", "mlm_loss_before", "mlm_loss_after"))
    assert stats["seconds"] > 0 and stats["steps_per_second"] > 0
    manifest = read_manifest(out)
    assert manifest["kind"] == "mlm_checkpoint" and manifest["segmenter"] == "pyvi"
    assert (out / "model.safetensors").is_file() and not (out / "pytorch_model.bin").exists()
    assert "NOT PhoBERT" in (out / "README.md").read_text(encoding="utf-8")


def test_pretraining_is_deterministic_for_a_seed(pretrained, tmp_path, seed_texts):
    from vistance.checkpoints.pretrain import pretrain_mlm

    out, stats = pretrained
    again = pretrain_mlm(seed_texts, tmp_path / "again", max_steps=8, batch_size=8, seed=0, **TINY)
    assert again["final_loss"] == stats["final_loss"]
    assert sha256_file(tmp_path / "again" / "model.safetensors") == sha256_file(out / "model.safetensors")


def test_time_budget_stops_training_early(tmp_path, seed_texts):
    from vistance.checkpoints.pretrain import pretrain_mlm

    stats = pretrain_mlm(seed_texts[:10], tmp_path / "timed", max_steps=100_000, max_seconds=0.3, batch_size=4, **TINY)
    assert stats["stopped_by"] == "max_seconds" and 0 < stats["steps"] < 100_000


def test_pretraining_can_continue_from_a_checkpoint(pretrained, tmp_path, seed_texts):
    from vistance.checkpoints.pretrain import pretrain_mlm

    out, _ = pretrained
    stats = pretrain_mlm(seed_texts, tmp_path / "dapt", init=out, max_steps=3, batch_size=8, max_length=MAX_LENGTH)
    assert stats["from_scratch"] is False and stats["steps"] == 3 and stats["learning_rate"] == 5e-5
    assert (tmp_path / "dapt" / "vocab.txt").read_bytes() == (out / "vocab.txt").read_bytes()


def test_a_pretrained_folder_can_be_fine_tuned(pretrained, seed_texts):
    from vistance.models.transformer import TransformerModel

    out, _ = pretrained
    themes, tones = synthetic_labels(seed_texts)
    model = TransformerModel(model_name_or_path=str(out), max_length=MAX_LENGTH, stride=16, epochs=1,
                             batch_size=16, learning_rate=1e-3)
    scores = model.fit(seed_texts[:20], themes[:20], tones[:20]).predict_proba(seed_texts[20:25])
    assert scores.themes.shape == (5, 9) and scores.tone.shape == (5, 3)


def test_tampered_pretrained_folder_is_refused(pretrained, tmp_path, seed_texts):
    import shutil

    from vistance.errors import ModelError
    from vistance.models.transformer import TransformerModel

    out, _ = pretrained
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with open(copy / "vocab.txt", "a", encoding="utf-8") as fh:
        fh.write("extra 1\n")
    themes, tones = synthetic_labels(seed_texts[:4])
    with pytest.raises(ModelError, match="do not match its manifest"):
        TransformerModel(model_name_or_path=str(copy), max_length=MAX_LENGTH, stride=16).fit(seed_texts[:4], themes, tones)
