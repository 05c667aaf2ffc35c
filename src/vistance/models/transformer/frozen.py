"""Fine-tuning the top of an encoder from cached lower-layer outputs: the 2-core recipe.

With ``freeze_layers = k`` the embeddings and the bottom ``k`` layers stay as pretrained. Their
output for every window is computed once (:func:`bottom_states`) and kept in a
:class:`HiddenStateCache` on disk, so every later fit on the same units (epochs, refits, seeds,
learning curves, the hyper-parameter search) runs only the top ``L - k`` layers and the heads
(:func:`train_top`). The cache is keyed by a hash of the frozen parameters themselves (a changed
checkpoint, or another ``k``, never hits), the windowing, the compute dtype and the SHA-1 of the
exact text tokenised; a lookup returns states only for that text.

Importing this module imports torch.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

CACHE_VERSION = 2   # 2: each window's states computed alone (1: in padded batches)


def layer_stack(encoder) -> nn.ModuleList:
    """The encoder's list of transformer layers (BERT, RoBERTa, XLM-R: ``encoder.encoder.layer``)."""
    try:
        layers = encoder.encoder.layer
    except AttributeError:
        raise ValueError(f"{type(encoder).__name__}: freeze_layers needs a BERT-style encoder "
                         "(encoder.encoder.layer)") from None
    return layers


def check_freeze_layers(encoder, k: int) -> None:
    n = len(layer_stack(encoder))
    if not 0 <= k < n:
        raise ValueError(f"freeze_layers must be in [0, {n - 1}] for this {n}-layer encoder, got {k}")


def frozen_parameters(encoder, k: int):
    """``(name, parameter)`` of the embeddings and the bottom ``k`` layers."""
    for name, p in encoder.named_parameters():
        if name.startswith("embeddings."):
            yield name, p
        elif name.startswith("encoder.layer."):
            if int(name.split(".")[2]) < k:
                yield name, p


def freeze_bottom(encoder, k: int) -> None:
    """``requires_grad = False`` on the embeddings and the bottom ``k`` layers."""
    for _name, p in frozen_parameters(encoder, k):
        p.requires_grad = False


def frozen_fingerprint(encoder, k: int) -> str:
    """BLAKE2b of the frozen parameters' names, shapes and bytes (what the cached states depend on)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{type(encoder).__name__}:{k}:{getattr(encoder.config, '_attn_implementation', '')}".encode())
    for name, p in frozen_parameters(encoder, k):
        t = p.detach().cpu().contiguous()
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes())
    return h.hexdigest()


@contextmanager
def _only_bottom(encoder, k: int):
    layers = layer_stack(encoder)
    encoder.encoder.layer = nn.ModuleList(list(layers)[:k])
    try:
        yield encoder
    finally:
        encoder.encoder.layer = layers


def pad_states(states: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``[len_i, H]`` arrays into ``[b, max_len, H]`` plus the ``[b, max_len]`` mask."""
    n = max(s.shape[0] for s in states)
    h = torch.zeros((len(states), n, states[0].shape[1]), dtype=torch.float32)
    mask = torch.zeros((len(states), n), dtype=torch.long)
    for i, s in enumerate(states):
        h[i, : s.shape[0]] = torch.from_numpy(np.ascontiguousarray(s, dtype=np.float32))
        mask[i, : s.shape[0]] = 1
    return h, mask


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Indices in batches of similar length (sorted, chunked); the batch order shuffled by ``rng``."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def bottom_states(encoder, windows: Sequence[Sequence[int]], k: int, bf16: bool = False,
                  progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
    """Output of the embeddings and the bottom ``k`` layers for each window (``[len, H]`` float32).

    Each window is run alone (no batch, no padding), so its states are the same bits whatever
    other windows a call holds: a cache filled by an earlier run with other units (a learning
    curve, a script) gives a fit exactly the states a fresh run computes. Batched with padding,
    19 of 150 windows of the news corpus differed in their last bits with the batch, enough to
    move a fine-tune by a seed's worth; one at a time costs ~1.6x (about 25 s a full fit here)."""
    out: list[np.ndarray] = []
    was_training = encoder.training
    encoder.eval()
    try:
        with _only_bottom(encoder, k), torch.inference_mode(), \
                torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            for w in windows:
                ids = torch.as_tensor([list(w)], dtype=torch.long)
                h = encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
                out.append(h[0].float().numpy().copy())
                if progress:
                    progress(1)
    finally:
        encoder.train(was_training)
    return out


def top_logits(net, hidden: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Logits (themes ++ tone) of ``net`` (a ``SharedEncoderNet``) from the states after layer ``k``."""
    encoder = net.encoder
    ext = encoder.get_extended_attention_mask(mask, mask.shape).to(hidden.dtype)
    h = hidden
    for layer in list(layer_stack(encoder))[k:]:
        out = layer(h, attention_mask=ext)
        h = out[0] if isinstance(out, tuple) else out
    return net.heads(h, mask)


# ----------------------------------------------------------------------------- the cache

class HiddenStateCache:
    """Lower-layer states on disk: ``<root>/<fingerprint>/shard-*.npz`` (in memory when ``root`` is None).

    Each shard holds ``keys`` (SHA-1 hex of the tokenised text), ``counts`` (windows per text),
    ``lengths`` (tokens per window) and ``states`` (``[sum lengths, H]`` float32). A shard is
    written whole to a temporary file and renamed; one that does not parse is ignored. ``get``
    returns states only for the exact text that produced them.
    """

    def __init__(self, root, fingerprint: str):
        self.folder = None if root is None else Path(root) / fingerprint
        self.fingerprint = fingerprint
        self._index: dict[str, list[np.ndarray]] = {}
        self._loaded: set[str] = set()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _refresh(self) -> None:
        if self.folder is None or not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("shard-*.npz")):
            if shard.name in self._loaded:
                continue
            self._loaded.add(shard.name)
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, counts, lengths, states = z["keys"], z["counts"], z["lengths"], z["states"]
                if int(counts.sum()) != len(lengths) or int(lengths.sum()) != states.shape[0]:
                    raise ValueError("inconsistent shard")
            except Exception as e:  # noqa: BLE001 - a broken shard is a cache miss, never an error
                log.warning("ignoring cache shard %s (%s)", shard, e)
                continue
            ends = np.cumsum(lengths)
            starts = ends - lengths
            w = 0
            for key, c in zip(keys.tolist(), counts.tolist()):
                self._index[key] = [states[starts[j]:ends[j]] for j in range(w, w + c)]
                w += c

    def get(self, key: str) -> list[np.ndarray] | None:
        if key not in self._index:
            self._refresh()
        return self._index.get(key)

    def put(self, items: dict[str, list[np.ndarray]]) -> None:
        """Store ``{key: [window states]}`` as one new shard (atomically)."""
        items = {k: v for k, v in items.items() if k not in self._index}
        if not items:
            return
        if self.folder is None:  # in memory only
            self._index.update(items)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = list(items)
        wins = [w for k in keys for w in items[k]]
        tmp = self.folder / f".shard-{uuid.uuid4().hex}.tmp.npz"
        final = self.folder / f"shard-{uuid.uuid4().hex}.npz"
        try:
            np.savez(tmp, keys=np.array(keys), counts=np.array([len(items[k]) for k in keys], dtype=np.int64),
                     lengths=np.array([w.shape[0] for w in wins], dtype=np.int64),
                     states=np.concatenate(wins).astype(np.float32))
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._loaded.add(final.name)
        self._index.update(items)


# ----------------------------------------------------------------------------- training

def _param_groups(net, k: int, lr: float, head_lr: float, layer_decay: float, weight_decay: float) -> list[dict]:
    """AdamW groups: heads at ``head_lr``; trainable layer ``i`` (of ``L``) at
    ``lr * layer_decay ** (L - 1 - i)``; no weight decay on biases and LayerNorm weights."""
    groups = []
    layers = list(layer_stack(net.encoder))
    n = len(layers)

    def split(named, rate):
        decay = [p for nm, p in named if p.requires_grad and p.ndim > 1]
        no_decay = [p for nm, p in named if p.requires_grad and p.ndim <= 1]
        if decay:
            groups.append({"params": decay, "lr": rate, "weight_decay": weight_decay})
        if no_decay:
            groups.append({"params": no_decay, "lr": rate, "weight_decay": 0.0})

    split(list(net.head_parameters()), head_lr)
    for i in range(k, n):
        split(list(layers[i].named_parameters()), lr * layer_decay ** (n - 1 - i))
    return groups


def train_top(net, k: int, states: Sequence[np.ndarray], Y: np.ndarray, y: np.ndarray, *, epochs: int,
              batch_size: int, lr: float, head_lr: float, layer_decay: float, weight_decay: float,
              warmup_ratio: float, pos_weight=None, tone_weight=None, seed: int = 0, bf16: bool = False,
              max_grad_norm: float = 1.0, evaluate: Callable[[], float] | None = None,
              patience: int | None = None) -> dict:
    """Train the top layers and heads of ``net`` on cached window ``states`` with window labels
    ``Y`` (multi-hot themes) and ``y`` (tone index); AdamW with linear warm-up and decay,
    length-bucketed batches in a seeded order. With ``evaluate`` (returns a score, higher is
    better) the best epoch's weights are restored and training stops after ``patience`` epochs
    without improvement. Returns per-epoch losses, scores, the best epoch and the throughput."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    groups = _param_groups(net, k, lr, head_lr, layer_decay, weight_decay)
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = (len(states) + batch_size - 1) // batch_size
    total = max(1, steps_per_epoch * epochs)
    warm = int(round(warmup_ratio * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    Yt = torch.as_tensor(np.asarray(Y, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    n_themes = Yt.shape[1]
    trainable = [p for g in groups for p in g["params"]]
    best, best_state, best_epoch, bad = -np.inf, None, 0, 0
    curve, seconds, cpu, units = [], 0.0, 0.0, 0
    for epoch in range(1, epochs + 1):
        net.train()
        t0, c0 = time.perf_counter(), time.process_time()
        total_loss = 0.0
        for idx in length_batches([s.shape[0] for s in states], batch_size, rng):
            h, mask = pad_states([states[i] for i in idx])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = top_logits(net, h, mask, k)
            logits = logits.float()
            loss = F.binary_cross_entropy_with_logits(logits[:, :n_themes], Yt[idx], pos_weight=pos_weight)
            loss = loss + F.cross_entropy(logits[:, n_themes:], yt[idx], weight=tone_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        seconds += time.perf_counter() - t0
        cpu += time.process_time() - c0
        units += len(states)
        row = {"epoch": epoch, "train_loss": total_loss / max(1, len(states))}
        net.eval()
        if evaluate is not None:
            score = float(evaluate())
            row["valid_score"] = score
            if score > best + 1e-12:
                best, best_epoch, bad = score, epoch, 0
                best_state = {n: p.detach().clone() for n, p in net.named_parameters() if p.requires_grad}
            else:
                bad += 1
        curve.append(row)
        log.info("epoch %d: %s", epoch, row)
        if evaluate is not None and patience and bad >= patience:
            break
    if best_state is not None:
        with torch.no_grad():
            params = dict(net.named_parameters())
            for n, v in best_state.items():
                params[n].copy_(v)
    net.eval()
    return {"curve": curve, "epochs_run": len(curve), "best_epoch": best_epoch or len(curve),
            "best_valid_score": None if evaluate is None else float(best),
            "train_seconds": round(seconds, 3), "train_windows_per_second": round(units / seconds, 2) if seconds else None,
            "train_cpu_seconds": round(cpu, 3), "train_windows_per_cpu_second": round(units / cpu, 2) if cpu else None}


def clone_network(net):
    """A deep copy (for a search that must not disturb the model being fitted)."""
    return copy.deepcopy(net)
