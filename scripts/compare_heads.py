"""Which transformer head layout to use: one encoder with two heads, or two fine-tuned models?

Trains both layouts from the same checkpoint on the dataset's train split with the
`params.yaml` settings of one transformer model, and scores them on the *validation*
split (the choice is a model-selection decision, so the test split stays untouched).
Writes `experiments/heads_choice.json` and prints a table.

    python scripts/compare_heads.py [--model phobert_pretrained] [--seeds 13 14]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from vistance.config import load_config
from vistance.dataset import load_dataset_dict, rows_from_dataset
from vistance.dataset.build import write_json
from vistance.evaluation.evaluate import rows_headline, score_rows
from vistance.dataset import dataset_schema
from vistance.models.train import fit_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="phobert_pretrained")
    ap.add_argument("--seeds", type=int, nargs="+", default=[13, 14])
    ap.add_argument("--out", default="experiments/heads_choice.json")
    a = ap.parse_args()
    kind, spec = load_config().model_spec(a.model)
    spec = {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}
    dd = load_dataset_dict("data/dataset")
    schema = dataset_schema("data/dataset")
    train, valid = rows_from_dataset(dd["train"]), rows_from_dataset(dd["validation"])
    results = {}
    for heads in ("shared_encoder", "two_models"):
        runs = []
        for seed in a.seeds:
            t0 = time.perf_counter()
            m = fit_rows(kind, {**spec, "heads": heads}, train, valid, seed=seed, schema=schema)
            secs = time.perf_counter() - t0
            _, Yp, yp = score_rows(m, valid)
            runs.append({"seed": seed, "train_seconds": round(secs, 1), **rows_headline(valid, Yp, yp, m.schema)})
            print(heads, runs[-1], flush=True)
        results[heads] = {"runs": runs, **{k: float(np.mean([r[k] for r in runs])) for k in
                                          ("tone_macro_f1", "themes_sample_f1", "themes_macro_f1", "train_seconds")}}
    score = {h: (r["tone_macro_f1"] + r["themes_macro_f1"]) / 2 for h, r in results.items()}
    out = {"model": a.model, "split": "validation", "seeds": a.seeds, "results": results,
           "selection_score": "mean of tone macro-F1 and themes macro-F1", "scores": score,
           "better": max(score, key=score.get), "in_params": spec.get("heads")}
    write_json(a.out, out)
    print("\n| heads | tone macro-F1 | themes sample-F1 | themes macro-F1 | train s |\n|---|---|---|---|---|")
    for h, r in results.items():
        print(f"| {h} | {r['tone_macro_f1']:.3f} | {r['themes_sample_f1']:.3f} | {r['themes_macro_f1']:.3f} | {r['train_seconds']:.0f} |")
    print(f"better on validation: {out['better']} (params.yaml uses {out['in_params']})")


if __name__ == "__main__":
    main()
