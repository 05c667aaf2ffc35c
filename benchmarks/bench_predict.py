"""Throughput of the prediction engine against the segmentation floor, measured in the same run.

    .venv/bin/vistance ingest /work/shared/corpus/news-2024/articles.jsonl --output /tmp/news.jsonl
    .venv/bin/python benchmarks/bench_predict.py --model experiments/models/tfidf_lr --paragraphs /tmp/news.jsonl

* floor: pyvi segmentation alone, one process, one text at a time, times the cores the engine
  may use (what a perfectly parallel segment-only pipeline would reach);
* engine: :func:`vistance.predict.predict_file` end to end (read JSONL, validate, segment,
  TF-IDF, decide, write JSONL atomically) on every core (``--jobs``, default all);
* ratio: engine / floor (the issue's goal: >= 0.70 with the best TF-IDF model on 7k+ paragraphs);
* the same two rates per CPU-second (this process plus its workers, from ``getrusage``) and their
  ratio: what the code costs, independent of other load on the machine (on a shared machine the
  wall-clock ratio understates what idle cores would give).

With fewer than ``--min-paragraphs`` paragraphs in the input, the list is repeated (fresh ids)
up to that size; no text is cached (the TF-IDF model caches n-grams per *word*, which a repeat
shares as any paragraph with the same words does).
Model loading is timed apart. Prints one JSON object (no asserts; no test depends on it).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def read_texts(path) -> list[str]:
    texts = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="experiments/models/tfidf_lr")
    p.add_argument("--paragraphs", required=True, help="paragraphs JSONL from `vistance ingest`")
    p.add_argument("--min-paragraphs", type=int, default=7362)
    p.add_argument("--jobs", type=int, default=None, help="engine processes (default: every core)")
    p.add_argument("--batch-size", type=int, default=256)
    a = p.parse_args()

    from vistance.models import load_model
    from vistance.predict import predict_file, resolve_jobs
    from vistance.text.segment import get_segmenter

    texts = read_texts(a.paragraphs)
    distinct = len(texts)
    while len(texts) < a.min_paragraphs:
        texts += texts[: a.min_paragraphs - len(texts)]
    jobs = resolve_jobs(a.jobs)

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    seg = get_segmenter("pyvi")
    seg.segment(texts[0])  # load the back-end before timing
    t0, c0 = time.perf_counter(), cpu()
    for t in texts:
        seg.segment(t)
    seg_rate = len(texts) / (time.perf_counter() - t0)
    seg_cpu_rate = len(texts) / (cpu() - c0)

    t0 = time.perf_counter()
    model = load_model(a.model)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        with open(src, "w", encoding="utf-8") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"id": f"b{i:06d}", "text": t}, ensure_ascii=False) + "\n")
        t0, c0 = time.perf_counter(), cpu()
        rep = predict_file(model, src, out, batch_size=a.batch_size, jobs=a.jobs, progress=False)
        engine_s = time.perf_counter() - t0
        engine_cpu_rate = rep.written / (cpu() - c0)
    engine_rate = rep.written / engine_s
    floor = seg_rate * jobs
    print(json.dumps({
        "paragraphs": len(texts), "distinct_paragraphs": distinct, "model": a.model, "kind": model.kind,
        "cores": os.cpu_count(), "engine_jobs": rep.jobs, "model_load_s": round(load_s, 2),
        "pyvi_1p_paragraphs_per_s": round(seg_rate, 1), "floor_paragraphs_per_s": round(floor, 1),
        "engine_paragraphs_per_s": round(engine_rate, 1), "ratio_to_floor": round(engine_rate / floor, 3),
        "pyvi_paragraphs_per_cpu_s": round(seg_cpu_rate, 1), "engine_paragraphs_per_cpu_s": round(engine_cpu_rate, 1),
        "ratio_per_cpu_s": round(engine_cpu_rate / seg_cpu_rate, 3),
        "load_average_1min": round(os.getloadavg()[0], 2), "rejected": len(rep.errors),
    }, indent=2))


if __name__ == "__main__":
    main()
