"""``vistance checkpoint`` and ``vistance pretrain``: thin glue from params.yaml to models/."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def unlabelled_texts(paths, max_texts: int | None, seed: int) -> list[str]:
    """Texts of paragraph JSONL files, a seeded subsample of at most ``max_texts`` (order-independent)."""
    texts = []
    for p in paths:
        p = Path(p)
        if not p.exists() or p.stat().st_size == 0:
            continue
        with open(p, encoding="utf-8") as fh:
            texts.extend(json.loads(l)["text"] for l in fh if l.strip())
    texts = sorted(set(texts))
    if max_texts and len(texts) > max_texts:
        texts = sorted(texts, key=lambda t: hashlib.sha1(f"{seed}:{t}".encode()).hexdigest())[:max_texts]
    return texts


def checkpoint(a) -> int:
    from vistance.config import load_params
    from vistance.models.phobert_checkpoint import build_tiny_checkpoint

    params = load_params(a.params)
    c = params.get("checkpoint", {})
    seed = int(params.get("seed", 0))
    texts = unlabelled_texts(a.paragraphs, c.get("max_texts"), seed)
    out = build_tiny_checkpoint(
        texts, a.out, segmenter=c.get("segmenter", "pyvi"), num_merges=int(c.get("num_merges", 4000)),
        hidden_size=int(c.get("hidden_size", 64)), num_layers=int(c.get("num_layers", 2)),
        num_heads=int(c.get("num_heads", 2)), intermediate_size=int(c.get("intermediate_size", 128)),
        max_length=int(c.get("max_length", 256)), seed=seed,
    )
    print(f"built a randomly initialised PhoBERT-shaped checkpoint from {len(texts)} texts -> {out}", file=sys.stderr)
    return 0


def pretrain(a) -> int:
    from vistance.config import load_params
    from vistance.models.pretrain import pretrain_mlm

    params = load_params(a.params)
    c = params.get("checkpoint", {})
    p = params.get("pretrain", {})
    seed = int(params.get("seed", 0))
    texts = unlabelled_texts(a.paragraphs, c.get("max_texts"), seed)
    stats = pretrain_mlm(
        texts, a.out, init=a.init, segmenter=c.get("segmenter", "pyvi"), max_steps=int(p.get("max_steps", 200)),
        max_seconds=p.get("max_seconds"), batch_size=int(p.get("batch_size", 16)),
        learning_rate=p.get("learning_rate"), seed=seed, max_length=int(p.get("max_length", 128)),
    )
    print(f"pretrained {stats.get('steps')} steps in {stats.get('seconds')} s (MLM loss {stats.get('mlm_loss_before')} -> "
          f"{stats.get('mlm_loss_after')}) -> {a.out}", file=sys.stderr)
    return 0
