"""One run that holds out every evaluation outlet and the cross-corpus test together.

Fine-tuning a 12-layer encoder on two CPU cores costs tens of minutes a fit, so instead of
re-fitting it once per generalisation split (as ``vistance evaluate`` does for the cheap kinds),
this script fits each model ONCE on what is left after removing, together:

- every article of the ``--outlets`` largest outlets of the labelled news (the held-out outlets),
- the in-sample test split, and
- every vietnews-fa unit (its test articles are the cross-corpus test; no vietnews-fa unit trains),

then scores the held-out outlets (one row per outlet and their mean) and the cross-corpus test, with
article-bootstrap CIs and paired tests against ``--reference``. Early stopping and threshold tuning use
a validation part of the *training* articles only. Writes ``experiments/heldout_comparison.json`` and
``.md``.

    python scripts/heldout_comparison.py --models tfidf_lr e5_lr tfidf_e5 e5_ft
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from vistance.config import load_config
from vistance.dataset.build import load_dataset_dict, rows_from_dataset
from vistance.dataset.splits import CROSS_CORPUS_SPLIT, assign_groups
from vistance.evaluation.generalisation import paired_generalisation_test, score_split
from vistance.models import build_model, model_class


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/dataset")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--reference", default="tfidf_lr")
    ap.add_argument("--outlets", type=int, default=3)
    ap.add_argument("--out", default="experiments/heldout_comparison")
    ap.add_argument("--n-boot", type=int, default=1000)
    a = ap.parse_args(argv)

    cfg = load_config(a.params)
    params = cfg.as_params()
    seed = cfg.seed
    dd = load_dataset_dict(a.dataset)
    rows = [r for s in ("train", "validation") if s in dd for r in rows_from_dataset(dd[s])]
    cross = rows_from_dataset(dd[CROSS_CORPUS_SPLIT]) if CROSS_CORPUS_SPLIT in dd else []
    news = [r for r in rows if r["corpus"] != "vietnews-fa"]
    outlets = [s for s, _ in Counter(r["source"] for r in news if r["source"] and r["corpus"] != "seeds").most_common(a.outlets)]
    held = {o: [r for r in news if r["source"] == o] for o in outlets}
    train_all = [r for r in news if r["source"] not in outlets]
    part = assign_groups([r["article_id"] for r in train_all], {"fit": 0.88, "valid": 0.12}, seed=seed)
    fit_rows = [r for r in train_all if part[r["article_id"]] == "fit"]
    valid_rows = [r for r in train_all if part[r["article_id"]] == "valid"]
    tests = {f"heldout_source_{o}": rs for o, rs in held.items()}
    if cross:
        tests["train_news2024_test_vietnews"] = cross
    print(f"train {len(fit_rows)} (+{len(valid_rows)} validation) units; tests: "
          + ", ".join(f"{k} {len(v)}" for k, v in tests.items()), flush=True)

    results, preds = {}, {}
    for name in a.models:
        spec = dict(params["models"][name])
        kind = spec.pop("kind")
        spec.pop("evaluate", None)
        spec = {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}
        if model_class(kind).seeded:
            spec["seed"] = seed
        t0 = time.perf_counter()
        model = build_model(kind, **spec)
        valid = ([r["text"] for r in valid_rows], [r["themes"] for r in valid_rows], [r["tone"] for r in valid_rows])
        model.fit([r["text"] for r in fit_rows], [r["themes"] for r in fit_rows], [r["tone"] for r in fit_rows],
                  groups=[r["article_id"] for r in fit_rows], valid=valid)
        fit_s = time.perf_counter() - t0
        results[name] = {"kind": kind, "fit_seconds": round(fit_s, 1), "splits": {}}
        preds[name] = []
        t1 = time.perf_counter()
        for split, test_rows in tests.items():
            res = score_split(split, model, len(fit_rows), test_rows, a.n_boot, seed)
            results[name]["splits"][split] = res.summary()
            preds[name] += res.predictions
        results[name]["predict_seconds"] = round(time.perf_counter() - t1, 1)
        print(f"{name}: fitted in {fit_s:.0f} s; " + "; ".join(
            f"{k} tone {v['tone_macro_f1']:.3f} themes {v['themes_sample_f1']:.3f}" for k, v in results[name]["splits"].items()),
            flush=True)

    outlet_splits = [f"heldout_source_{o}" for o in outlets]
    paired = {}
    if a.reference in preds:
        for name in a.models:
            if name == a.reference:
                continue
            paired[name] = {
                label: {m: paired_generalisation_test(preds[name], preds[a.reference], m, splits, n_boot=a.n_boot, seed=seed)
                        for m in ("tone_macro_f1", "themes_sample_f1")}
                for label, splits in (("held-out outlets (mean)", outlet_splits),
                                      ("cross-corpus", ["train_news2024_test_vietnews"] if cross else []))
                if splits}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"train": len(fit_rows), "validation": len(valid_rows), "outlets": outlets,
               "tests": {k: len(v) for k, v in tests.items()}, "results": results, "paired": paired,
               "reference": a.reference}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    L = ["# One fit per model, every evaluation outlet and the cross-corpus test held out together", "",
         f"Trained on {len(fit_rows)} news-2024/seed units (validation {len(valid_rows)}, from the same training articles); "
         f"held out: {', '.join(outlets)} and the vietnews-fa test articles. 95 % CIs from an article bootstrap.", "",
         "| model | fit s | " + " | ".join(f"{s} tone / themes" for s in tests) + " | outlets mean tone / themes |",
         "|---|---|" + "---|" * (len(tests) + 1)]
    for name, r in results.items():
        sp = r["splits"]
        mt = sum(sp[s]["tone_macro_f1"] for s in outlet_splits) / len(outlet_splits)
        mh = sum(sp[s]["themes_sample_f1"] for s in outlet_splits) / len(outlet_splits)
        L.append(f"| {name} | {r['fit_seconds']} | " + " | ".join(
            f"{sp[s]['tone_macro_f1']:.3f} / {sp[s]['themes_sample_f1']:.3f}" for s in tests) + f" | {mt:.3f} / {mh:.3f} |")
    if paired:
        L += ["", f"Paired bootstrap against {a.reference} (difference = model − reference, two-sided p):", "",
              "| model | test | Δ tone [95 % CI] | p | Δ themes [95 % CI] | p |", "|---|---|---|---|---|---|"]
        for name, d in paired.items():
            for label, mm in d.items():
                t, h = mm["tone_macro_f1"], mm["themes_sample_f1"]
                L.append(f"| {name} | {label} | {t['difference']:+.3f} [{t['low']:+.3f}, {t['high']:+.3f}] | {t['p_value']:.3f} | "
                         f"{h['difference']:+.3f} [{h['low']:+.3f}, {h['high']:+.3f}] | {h['p_value']:.3f} |")
    out.with_suffix(".md").write_text("\n".join(L) + "\n", encoding="utf-8")
    print(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
