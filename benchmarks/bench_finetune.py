"""Fine-tuning multilingual-e5-small on CPU: the full fine-tune against the frozen-bottom recipe.

Same units, same run:

1. **full fine-tune** (``freeze_layers=0``: every layer but the word embeddings trained through
   ``transformers.Trainer``, as ``e5_ft`` was before): training windows/s over one epoch;
2. **recipe** (``params.yaml``'s ``e5_ft``: bottom ``k`` layers frozen and cached): the time to
   cache the units, training windows/s from the cache, and the amortised rate over ``--epochs``;
3. **bf16 autocast** for the recipe: the same, plus how many validation decisions (tone and each
   theme) agree with the float32 model and whether validation picks the same epoch;
4. with ``--full-fit``: the wall time of one recipe fit on every training unit of the pipeline's
   train split (validation split for early stopping and thresholds), caching included.

    .venv/bin/python benchmarks/bench_finetune.py --n 300 --full-fit

Rates are given per wall second and per CPU second of the process (all its threads): on a machine
shared with other jobs the second is the fair comparison. Prints figures and writes
``benchmarks/results/finetune.json``; no test depends on them.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/dataset")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--model", default="e5_ft")
    ap.add_argument("--n", type=int, default=300, help="training units for the rate comparison")
    ap.add_argument("--n-valid", type=int, default=150)
    ap.add_argument("--epochs", type=int, default=3, help="recipe epochs for the amortised rate")
    ap.add_argument("--full-fit", action="store_true", help="also time one recipe fit on the whole train split")
    ap.add_argument("--out", default="benchmarks/results/finetune.json")
    a = ap.parse_args()

    import torch

    from vistance.config import load_config
    from vistance.dataset.build import load_dataset_dict, rows_from_dataset
    from vistance.model_specs import checked_spec
    from vistance.models.transformer import TransformerModel

    _, spec = checked_spec(load_config(a.params), a.model)
    dd = load_dataset_dict(a.dataset)
    train, valid = rows_from_dataset(dd["train"]), rows_from_dataset(dd["validation"])
    rng = np.random.default_rng(0)
    sub = [train[i] for i in sorted(rng.choice(len(train), min(a.n, len(train)), replace=False))]
    vsub = [valid[i] for i in sorted(rng.choice(len(valid), min(a.n_valid, len(valid)), replace=False))]
    cols = lambda rs: ([r["text"] for r in rs], [r["themes"] for r in rs], [r["tone"] for r in rs])  # noqa: E731
    out = {"threads": torch.get_num_threads(), "cpu_bf16": "avx512_bf16" in Path("/proc/cpuinfo").read_text()
           if Path("/proc/cpuinfo").exists() else None, "units": len(sub), "valid_units": len(vsub), "spec": spec}
    print(f"{len(sub)} training units, {len(vsub)} validation units, {out['threads']} torch threads", flush=True)

    # 1. the full fine-tune, one epoch (Trainer path)
    full = TransformerModel(**{**spec, "freeze_layers": 0, "epochs": 1, "cache_dir": None,
                               "early_stopping_patience": None, "learning_rate": 5e-5})
    t0, c0 = time.perf_counter(), time.process_time()
    full.fit(*cols(sub))
    s, c = time.perf_counter() - t0, time.process_time() - c0
    w = full.training_stats_["n_train_windows"]
    out["full_finetune"] = {"seconds_one_epoch": round(s, 1), "cpu_seconds": round(c, 1), "windows": w,
                            "train_windows_per_second": round(w / s, 2), "train_windows_per_cpu_second": round(w / c, 2)}
    print(f"full fine-tune: 1 epoch {s:.0f} s, {w / s:.2f} windows/s, {w / c:.2f} windows/CPU-s", flush=True)

    # 2./3. the recipe in float32 and bf16, same units, fresh cache each
    runs = {}
    for precision in ("float32", "bf16"):
        with tempfile.TemporaryDirectory() as cache:
            m = TransformerModel(**{**spec, "epochs": a.epochs, "early_stopping_patience": None,
                                    "cache_dir": cache, "bf16": precision == "bf16"})
            t0 = time.perf_counter()
            m.fit(*cols(sub), valid=cols(vsub))
            total = time.perf_counter() - t0
            st = m.training_stats_
            sc = m.predict_proba(cols(vsub)[0])
            runs[precision] = {"model": m, "scores": sc}
            out[f"recipe_{precision}"] = {
                "cache_seconds": st["cache_seconds"], "train_seconds": st["train_seconds"],
                "train_windows_per_second": st["train_windows_per_second"], "fit_seconds": round(total, 1),
                "cache_cpu_seconds": st["cache_cpu_seconds"],
                "train_windows_per_cpu_second": st["train_windows_per_cpu_second"],
                "amortised_windows_per_second": round(st["n_train_windows"] * a.epochs / total, 2),
                "valid_curve": st["valid_curve"], "best_epoch": st["best_epoch"],
                "valid_at_tuned_thresholds": st.get("valid_at_tuned_thresholds")}
            print(f"recipe {precision}: cache {st['cache_seconds']:.0f} s, train {st['train_windows_per_second']} windows/s "
                  f"({st['train_windows_per_cpu_second']} windows/CPU-s), "
                  f"{a.epochs} epochs amortised {out[f'recipe_{precision}']['amortised_windows_per_second']} windows/s, "
                  f"best epoch {st['best_epoch']}", flush=True)
    f32, b16 = runs["float32"]["scores"], runs["bf16"]["scores"]
    out["bf16_agreement"] = {
        "tone": float(np.mean(f32.tone.argmax(1) == b16.tone.argmax(1))),
        "themes_each": float(np.mean(f32.theme_matrix() == b16.theme_matrix())),
        "themes_rows_identical": float(np.mean((f32.theme_matrix() == b16.theme_matrix()).all(1))),
        "same_best_epoch": out["recipe_float32"]["best_epoch"] == out["recipe_bf16"]["best_epoch"]}
    out["speedup_recipe_vs_full"] = round(out["recipe_float32"]["train_windows_per_second"]
                                          / out["full_finetune"]["train_windows_per_second"], 2)
    out["speedup_recipe_amortised_vs_full"] = round(out["recipe_float32"]["amortised_windows_per_second"]
                                                    / out["full_finetune"]["train_windows_per_second"], 2)
    out["speedup_recipe_vs_full_cpu"] = round(out["recipe_float32"]["train_windows_per_cpu_second"]
                                              / out["full_finetune"]["train_windows_per_cpu_second"], 2)
    out["speedup_bf16_vs_float32_cpu"] = round(out["recipe_bf16"]["train_windows_per_cpu_second"]
                                               / out["recipe_float32"]["train_windows_per_cpu_second"], 2)
    print(f"per CPU-second: recipe / full {out['speedup_recipe_vs_full_cpu']}x, bf16 / float32 "
          f"{out['speedup_bf16_vs_float32_cpu']}x", flush=True)
    print(f"recipe / full: {out['speedup_recipe_vs_full']}x from the cache, {out['speedup_recipe_amortised_vs_full']}x "
          f"amortised over {a.epochs} epochs with caching; bf16 agreement {out['bf16_agreement']}", flush=True)

    if a.full_fit:
        m = TransformerModel(**spec)
        t0 = time.perf_counter()
        m.fit(*cols(train), valid=cols(valid))
        s = time.perf_counter() - t0
        st = m.training_stats_
        out["one_fit_all_training_units"] = {"seconds": round(s, 1), "units": len(train), "windows": st["n_train_windows"],
                                             "cache_seconds": st["cache_seconds"], "epochs_run": st["epochs_run"],
                                             "best_epoch": st["best_epoch"],
                                             "train_windows_per_second": st["train_windows_per_second"]}
        print(f"one fit on all {len(train)} training units: {s:.0f} s ({st['epochs_run']} epochs, "
              f"cache {st['cache_seconds']:.0f} s; the cache in {spec.get('cache_dir')} was "
              f"{'warm' if st['cache_seconds'] < 5 else 'cold'})", flush=True)

    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
