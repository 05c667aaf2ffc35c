"""A tiny PhoBERT-shaped checkpoint built from our own text: fastBPE codes, vocabulary, random model.

Real PhoBERT (``vinai/phobert-base``) cannot always be downloaded (offline
machines, CI). This module builds a *stand-in* with the same file layout and
tokenizer, so the whole transformer path (segmentation → PhoBERT BPE →
RoBERTa encoder → heads → safe folder) runs end to end anywhere:

    path = build_tiny_checkpoint(texts, "models/tiny-phobert")   # raw texts in
    TransformerModel(model_name_or_path=str(path)).fit(...)

The stand-in is randomly initialised (or MLM-pretrained by
:func:`vistance.checkpoints.pretrain.pretrain_mlm`); it is **not** PhoBERT and its
scores say nothing about what PhoBERT would reach.

fastBPE / ``PhobertTokenizer`` file contract (checked here, because the
tokenizer fails silently otherwise):

* ``bpe.codes``: one merge per line, ``left right count``. The tokenizer drops the
  *last* field of every line, so a two-field line would lose its right half; the
  file must end with a newline (the tokenizer drops the text after the last one).
  The last symbol of a word carries the end-of-word marker ``</w>``.
* ``vocab.txt``: ``token count`` per line; ids 0-3 are ``<s> <pad> </s> <unk>``
  (added by the tokenizer, never listed), non-final subwords end in ``@@``.
"""
from __future__ import annotations

import heapq
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from vistance.errors import ModelError
from vistance.models.folder import MANIFEST, write_manifest

EOW = "</w>"
CONT = "@@"
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
CHECKPOINT_INFO = "vistance_checkpoint.json"
ROUNDTRIP_SAMPLE = 5000  # texts checked after building (the first ones, so the check is deterministic)
NOTICE = "README.md"

Code = tuple[str, str, int]


def _word_symbols(word: str) -> tuple[str, ...]:
    return tuple(list(word[:-1]) + [word[-1] + EOW])


def _merge_word(symbols: tuple[str, ...], left: str, right: str) -> tuple[str, ...]:
    """Merge every non-overlapping ``left right`` pair, scanning left to right
    (exactly what ``PhobertTokenizer.bpe`` does for one merge)."""
    out: list[str] = []
    i, n = 0, len(symbols)
    while i < n:
        if i < n - 1 and symbols[i] == left and symbols[i + 1] == right:
            out.append(left + right)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def _pairs(symbols: tuple[str, ...]) -> Counter:
    return Counter(zip(symbols[:-1], symbols[1:]))


def apply_bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Split one word into subword tokens the way ``PhobertTokenizer`` does.

    Non-final pieces end in ``@@``; a one-character word is returned as is.
    """
    if len(word) <= 1:
        return [word]
    symbols = _word_symbols(word)
    while len(symbols) > 1:
        candidates = [p for p in set(zip(symbols[:-1], symbols[1:])) if p in ranks]
        if not candidates:
            break
        left, right = min(candidates, key=ranks.__getitem__)
        symbols = _merge_word(symbols, left, right)
    return [s + CONT for s in symbols[:-1]] + [symbols[-1][: -len(EOW)]]


def _symbol_token(symbol: str) -> str:
    """The vocabulary entry of a BPE symbol: final symbols lose ``</w>``, others gain ``@@``."""
    return symbol[: -len(EOW)] if symbol.endswith(EOW) else symbol + CONT


def learn_bpe(texts: Iterable[str], num_merges: int, min_count: int = 2) -> tuple[list[Code], dict[str, int]]:
    """Learn fastBPE-compatible merges and a vocabulary from word-segmented text.

    ``texts`` are already segmented (words separated by spaces, syllables inside a
    word joined by ``_``). Each word is a sequence of characters whose last one
    carries ``</w>``; the most frequent adjacent pair is merged, ``num_merges``
    times or until the best pair occurs fewer than ``min_count`` times. Ties are
    broken by the pair itself in lexicographic order, so the result depends only
    on the texts.

    Returns ``(codes, vocab)``: ``codes`` is the list of ``(left, right, count)``
    merges in rank order; ``vocab`` maps every token the tokenizer can produce from
    the seen characters (each character and merge result, in its ``@@`` / final
    form) to its count in the BPE-encoded texts (0 for reachable but unseen
    forms), ordered by count then token. Tokens that clash with the special tokens
    (``<s>``, ``<pad>``, ...) are left out.
    """
    if num_merges < 0:
        raise ValueError(f"num_merges must be >= 0, got {num_merges}")
    freq: Counter = Counter()
    for text in texts:
        freq.update(text.split())
    words = sorted(freq)  # fixed order: results never depend on dict/set order
    counts = [freq[w] for w in words]
    symbols = [_word_symbols(w) for w in words]

    pair_count: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for wid, syms in enumerate(symbols):
        for pair, k in _pairs(syms).items():
            pair_count[pair] += k * counts[wid]
            where[pair].add(wid)
    heap = [(-c, a, b) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)

    codes: list[Code] = []
    while len(codes) < num_merges and heap:
        neg, a, b = heapq.heappop(heap)
        if pair_count.get((a, b), 0) != -neg:  # stale entry
            continue
        if -neg < min_count:
            break
        codes.append((a, b, -neg))
        changed: set[tuple[str, str]] = set()
        for wid in sorted(where.pop((a, b), ())):
            old = symbols[wid]
            new = _merge_word(old, a, b)
            if new == old:
                continue
            c = counts[wid]
            for pair, k in _pairs(old).items():
                pair_count[pair] -= k * c
                changed.add(pair)
            for pair, k in _pairs(new).items():
                pair_count[pair] += k * c
                where[pair].add(wid)
                changed.add(pair)
            symbols[wid] = new
        pair_count.pop((a, b), None)
        for pair in changed:
            c = pair_count.get(pair, 0)
            if c > 0:
                heapq.heappush(heap, (-c, pair[0], pair[1]))
            else:
                pair_count.pop(pair, None)

    ranks = {(a, b): i for i, (a, b, _) in enumerate(codes)}
    observed: Counter = Counter()
    for w, c in zip(words, counts):
        for tok in apply_bpe(w, ranks):
            observed[tok] += c
    reachable = set(observed)
    for w in words:
        for ch in w:
            reachable.update((ch, ch + CONT))
    for a, b, _ in codes:
        reachable.add(_symbol_token(a + b))
    reachable.difference_update(SPECIAL_TOKENS)
    reachable.discard(CONT)
    reachable = {t for t in reachable if t and not any(ch.isspace() for ch in t)}
    vocab = {t: observed.get(t, 0) for t in sorted(reachable, key=lambda t: (-observed.get(t, 0), t))}
    return codes, vocab


def write_phobert_tokenizer_files(codes: Sequence[Code], vocab: dict[str, int], out_dir) -> tuple[Path, Path]:
    """Write ``bpe.codes`` (``left right count``, newline-terminated) and ``vocab.txt``
    (``token count``) into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for left, right, count in codes:
        if not left or not right or re.search(r"\s", left + right):
            raise ValueError(f"BPE symbols must be non-empty and space-free: {left!r} {right!r}")
        lines.append(f"{left} {right} {int(count)}\n")
    codes_path, vocab_path = out / "bpe.codes", out / "vocab.txt"
    codes_path.write_text("".join(lines), encoding="utf-8")
    vlines = []
    for token, count in vocab.items():
        if not token or re.search(r"\s", token) or token in SPECIAL_TOKENS:
            raise ValueError(f"invalid vocabulary token {token!r}")
        vlines.append(f"{token} {int(count)}\n")
    vocab_path.write_text("".join(vlines), encoding="utf-8")
    return codes_path, vocab_path


def check_tokenizer_roundtrip(tokenizer, segmented_texts: Iterable[str], where: str = "tokenizer") -> int:
    """Check that every (segmented) text tokenises to a non-empty id list with no ``<unk>``
    and decodes back to itself; return the number of tokens. Raises :class:`ModelError`.

    Texts containing ``@@`` (the continuation marker itself) are skipped: no
    fastBPE tokenizer can round-trip them.
    """
    n_tokens = 0
    unk = tokenizer.unk_token_id
    for text in segmented_texts:
        text = " ".join(text.split())
        if not text or CONT in text:
            continue
        ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        if not ids:
            raise ModelError(f"{where}: tokenisation of {text[:60]!r} is empty")
        if unk in ids:
            raise ModelError(f"{where}: {text[:60]!r} tokenises to <unk>; the vocabulary does not cover its characters")
        back = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
        if back != text:
            raise ModelError(f"{where}: tokenisation does not round-trip: {text[:60]!r} -> {back[:60]!r}")
        n_tokens += len(ids)
    return n_tokens


_NOTICE_TEXT = """# Tiny PhoBERT-shaped stand-in (NOT PhoBERT)

This folder holds a **tiny, randomly initialised** RoBERTa masked-LM with a
PhoBERT-style fastBPE tokenizer (`bpe.codes`, `vocab.txt`) learnt by vistance
from {n_texts} {segmenter}-segmented paragraphs. It exists so that the
transformer code path can run and be tested without downloading
`vinai/phobert-base`. It has never seen a large corpus: its scores say nothing
about what PhoBERT would reach.

- built by: `vistance.checkpoints.phobert.build_tiny_checkpoint`
- segmenter: `{segmenter}` (feed it text segmented the same way)
- BPE merges: {n_merges}; vocabulary: {vocab_size} ids
- model: hidden {hidden_size}, {num_layers} layers, {num_heads} heads, max length {max_length}
- seed: {seed}
"""


def build_tiny_checkpoint(
    texts: Sequence[str],
    out_dir,
    segmenter: str = "pyvi",
    num_merges: int = 4000,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 128,
    max_length: int = 256,
    max_position_embeddings: int | None = None,
    seed: int = 0,
    min_count: int = 2,
) -> Path:
    """Build a tiny PhoBERT-shaped checkpoint folder from raw ``texts``; return its path.

    The texts are segmented with ``segmenter``, a BPE is learnt on them
    (:func:`learn_bpe`), and a ``PhobertTokenizer`` plus a randomly initialised
    ``RobertaForMaskedLM`` (pad 1, bos 0, eos 2, ``type_vocab_size`` 1,
    ``max_position_embeddings`` = ``max_length`` + 2 as in PhoBERT: 258 for 256)
    are saved with safetensors. Before returning, the saved tokenizer is
    reloaded with ``AutoTokenizer`` and every segmented text must tokenise
    non-empty and round-trip (:func:`check_tokenizer_roundtrip`). A ``README.md``
    says that the folder is a stand-in, not PhoBERT, and
    ``vistance_checkpoint.json`` records the segmenter.
    """
    import torch
    from transformers import AutoTokenizer, PhobertTokenizer, RobertaConfig, RobertaForMaskedLM

    from vistance.text.segment import get_segmenter

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # rewritten at the end; a stale one would fail verification
    seg = get_segmenter(segmenter)
    segmented = [s for s in seg.segment_batch(list(texts)) if s.strip()]
    if not segmented:
        raise ValueError("build_tiny_checkpoint needs at least one non-empty text")
    codes, vocab = learn_bpe(segmented, num_merges=num_merges, min_count=min_count)
    codes_path, vocab_path = write_phobert_tokenizer_files(codes, vocab, out)
    tok = PhobertTokenizer(
        vocab_file=str(vocab_path), merges_file=str(codes_path),
        model_max_length=max_length, clean_up_tokenization_spaces=False,
    )
    tok.save_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    if type(tok).__name__ != "PhobertTokenizer":
        raise ModelError(f"{out}: AutoTokenizer loaded {type(tok).__name__}, expected PhobertTokenizer")
    if len(tok.bpe_ranks) != len(codes):
        raise ModelError(f"{out}: the tokenizer read {len(tok.bpe_ranks)} merges from bpe.codes, {len(codes)} were written")
    check_tokenizer_roundtrip(tok, segmented[:ROUNDTRIP_SAMPLE], where=str(out))

    if max_position_embeddings is None:
        max_position_embeddings = max_length + 2
    config = RobertaConfig(
        vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=num_heads, intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings, type_vocab_size=1,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        layer_norm_eps=1e-5, tokenizer_class="PhobertTokenizer",
    )
    torch.manual_seed(seed)
    model = RobertaForMaskedLM(config)
    model.save_pretrained(out, safe_serialization=True)

    info = {
        "built_by": "vistance.checkpoints.phobert.build_tiny_checkpoint",
        "stand_in": True, "segmenter": seg.name, "n_texts": len(segmented), "num_merges": len(codes),
        "vocab_size": len(tok), "hidden_size": hidden_size, "num_layers": num_layers, "num_heads": num_heads,
        "intermediate_size": intermediate_size, "max_length": max_length,
        "max_position_embeddings": max_position_embeddings, "seed": seed,
    }
    (out / CHECKPOINT_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    (out / NOTICE).write_text(_NOTICE_TEXT.format(
        n_texts=len(segmented), segmenter=seg.name, n_merges=len(codes), vocab_size=len(tok),
        hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads, max_length=max_length, seed=seed,
    ), encoding="utf-8")
    write_manifest(out, kind="mlm_checkpoint", segmenter=seg.name, params=info)
    return out


def read_checkpoint_info(path) -> dict:
    """``vistance_checkpoint.json`` of a checkpoint folder built or pretrained by vistance ({} otherwise)."""
    p = Path(path) / CHECKPOINT_INFO
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}


__all__ = [
    "learn_bpe", "apply_bpe", "write_phobert_tokenizer_files", "check_tokenizer_roundtrip",
    "build_tiny_checkpoint", "read_checkpoint_info",
]
