"""Transformer inference on CPU: batch sizes, and whether dynamic int8 quantisation helps.

Prints paragraphs/s of a transformer model folder for several batch sizes in float32,
then with `torch.ao.quantization.quantize_dynamic` (int8 linear layers), and how often the
quantised model's decisions agree with float32 ones. TF-IDF is printed beside it.

    .venv/bin/python benchmarks/bench_transformer.py --model experiments/models/phobert_pretrained \
        --tfidf experiments/models/tfidf_lr --n 400
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def texts_sample(n: int) -> list[str]:
    p = Path("data/processed/paragraphs.jsonl")
    rows = [json.loads(l)["text"] for l in p.read_text(encoding="utf-8").splitlines()[: n * 3] if l.strip()]
    return rows[:n]


def rate(model, texts, **kw) -> tuple[float, object]:
    model.predict_proba(texts[:8], **kw)  # warm-up
    t0 = time.perf_counter()
    sc = model.predict_proba(texts, **kw)
    return len(texts) / (time.perf_counter() - t0), sc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="experiments/models/phobert_pretrained")
    ap.add_argument("--tfidf", default="experiments/models/tfidf_lr")
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64])
    a = ap.parse_args()

    import numpy as np
    import torch

    from vistance.models import load_model

    texts = texts_sample(a.n)
    print(f"{len(texts)} paragraphs of data/processed/paragraphs.jsonl; torch threads {torch.get_num_threads()}")
    print("| model | variant | batch | paragraphs/s |\n|---|---|---|---|")
    tf = load_model(a.tfidf)
    r, _ = rate(tf, texts)
    print(f"| {Path(a.tfidf).name} | tfidf | all | {r:.0f} |")
    m = load_model(a.model)
    base = {}
    for bs in a.batch_sizes:
        r, sc = rate(m, texts, batch_size=bs)
        base[bs] = sc
        print(f"| {Path(a.model).name} | float32 | {bs} | {r:.1f} |")
    m.network_ = torch.ao.quantization.quantize_dynamic(m.network_, {torch.nn.Linear}, dtype=torch.qint8)
    for bs in a.batch_sizes:
        r, sc = rate(m, texts, batch_size=bs)
        ref = base[bs]
        tone_agree = float(np.mean(np.array(sc.tone_labels()) == np.array(ref.tone_labels())))
        theme_agree = float(np.mean((sc.theme_matrix() == ref.theme_matrix()).all(axis=1)))
        print(f"| {Path(a.model).name} | int8 dynamic | {bs} | {r:.1f} (tone agrees {tone_agree:.3f}, themes agree {theme_agree:.3f}) |")


if __name__ == "__main__":
    main()
