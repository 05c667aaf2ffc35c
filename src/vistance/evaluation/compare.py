"""``vistance compare``: every evaluated model side by side, with CIs, paired tests, timing,
generalisation splits, plots, and the best model exported as ``experiments/models/best``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from vistance.dataset.build import write_json
from vistance.evaluation.metrics import paired_bootstrap
from vistance.evaluation.plots import comparison_bars, confusion_matrix_png, learning_curves_png
from vistance.labels.schema import THEMES, TONES

HEADLINES = ["tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1", "themes_macro_f1"]
BASELINE_KINDS = ("lexicon", "tfidf")


def _load_predictions(path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    rows.sort(key=lambda r: r["id"])
    Yt = np.array([[int(t in r["true"]["themes"]) for t in THEMES] for r in rows])
    yt = np.array([TONES.index(r["true"]["tone"]) for r in rows])
    Yp = np.array([[int(t in r["themes"]) for t in THEMES] for r in rows])
    yp = np.array([TONES.index(r["tone"]) for r in rows])
    return [r["id"] for r in rows], [r["article_id"] for r in rows], (Yt, yt), (Yp, yp)


def _fmt(h: dict) -> str:
    return f"{h['value']:.3f} [{h['low']:.3f}, {h['high']:.3f}]"


def _p(p: float) -> str:
    return "n/a (one test article)" if p != p else f"{p:.3f}"


def _ms(d: dict, key: str) -> str:
    v = d.get(key)
    return f"{v['mean']:.3f} ± {v['std']:.3f}" if v else "–"


def compare_models(params: dict, experiments="experiments") -> Path:
    exp = Path(experiments)
    cmp = params.get("compare", {})
    names = [n for n in cmp.get("models", list(params.get("models", {}))) if (exp / "metrics" / f"{n}.json").exists()]
    if not names:
        from vistance.errors import VistanceError

        raise VistanceError(f"no evaluated model under {exp / 'metrics'}; run 'vistance evaluate NAME' first")
    res = {n: json.loads((exp / "metrics" / f"{n}.json").read_text(encoding="utf-8")) for n in names}
    select = cmp.get("select_metric", "tone_macro_f1")
    seed = int(params.get("seed", 0))
    n_boot = int(params.get("evaluate", {}).get("n_boot", 1000))

    baselines = [n for n in names if res[n]["kind"] in BASELINE_KINDS]
    best_baseline = max(baselines, key=lambda n: res[n]["headline"][select]["value"]) if baselines else None
    best = max(names, key=lambda n: res[n]["headline"][select]["value"])

    paired = {}
    if best_baseline:
        ids_b, groups, truth, pred_b = _load_predictions(exp / "predictions" / f"{best_baseline}.jsonl")
        for n in names:
            if n == best_baseline:
                continue
            ids_n, _, _, pred_n = _load_predictions(exp / "predictions" / f"{n}.jsonl")
            if ids_n != ids_b:
                continue
            paired[n] = {m: paired_bootstrap(m, truth, pred_n, pred_b, groups, n_boot=n_boot, seed=seed)
                         for m in ("tone_macro_f1", "themes_sample_f1")}

    timings = {}
    for n in names:
        t = {}
        tp = exp / "timings" / f"{n}.json"
        if tp.exists():
            t.update(json.loads(tp.read_text()))
        trp = exp / "models" / f"{n}.train.json"
        if trp.exists():
            t["train_seconds"] = json.loads(trp.read_text()).get("train_seconds")
        timings[n] = t

    # -- plots ------------------------------------------------------------------------
    plots = exp / "plots"
    comparison_bars(res, ["tone_macro_f1", "themes_sample_f1", "themes_macro_f1"], plots / "comparison.png")
    for n in names:
        confusion_matrix_png(res[n]["tone"]["confusion_matrix"], list(TONES), f"{n}: tone", plots / n / "tone_confusion.png")
    curves = {n: res[n].get("learning_curve") for n in names if res[n].get("learning_curve")}
    if curves:
        learning_curves_png(curves, "tone_macro_f1", plots / "learning_curve_tone.png")
        learning_curves_png(curves, "themes_sample_f1", plots / "learning_curve_themes.png")

    # -- best model -------------------------------------------------------------------
    src = exp / "models" / best
    dst = exp / "models" / "best"
    if src.is_dir():
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst)
        (dst / "BEST.json").write_text(json.dumps({"model": best, "selected_by": select,
                                                   "value": res[best]["headline"][select]["value"]}, indent=2) + "\n")

    # -- summary metrics (DVC) and report ---------------------------------------------
    summary = {n: {m: round(res[n]["headline"][m]["value"], 4) for m in HEADLINES} for n in names}
    write_json(exp / "metrics.json", {"models": summary, "best": best, "select_metric": select})

    any_test = res[names[0]]
    L = ["# Model comparison", "",
         f"Test split: {any_test['test_paragraphs']} paragraphs from {any_test['test_articles']} articles "
         "(article-grouped split; no article in two splits). Brackets: 95 % CI from a bootstrap over *articles* "
         f"({n_boot} resamples). Best model by `{select}`: **{best}** (exported to `experiments/models/best`).", "",
         "| model | kind | tone macro-F1 | tone accuracy | themes sample-F1 | themes micro-F1 | themes macro-F1 |",
         "|---|---|---|---|---|---|---|"]
    for n in names:
        h = res[n]["headline"]
        L.append(f"| {n} | {res[n]['kind']} | " + " | ".join(_fmt(h[m]) for m in HEADLINES) + " |")
    if paired:
        L += ["", f"## Paired tests against the best baseline ({best_baseline})", "",
              "Paired bootstrap over articles on the same test paragraphs; difference = model − baseline, two-sided p.", "",
              "| model | Δ tone macro-F1 [95 % CI] | p | Δ themes sample-F1 [95 % CI] | p |", "|---|---|---|---|---|"]
        for n, d in paired.items():
            a, b = d["tone_macro_f1"], d["themes_sample_f1"]
            L.append(f"| {n} | {a['difference']:+.3f} [{a['low']:+.3f}, {a['high']:+.3f}] | {_p(a['p_value'])} | "
                     f"{b['difference']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}] | {_p(b['p_value'])} |")
    L += ["", "## Generalisation", "",
          "Grouped CV: article-grouped k-fold over all gold paragraphs (mean ± sd over folds). Cross-time: trained on "
          "news of 2024–25, tested on the 2025–26 seed articles. Held-out source: every article of that outlet in test.", "",
          "| model | split | train | test | tone macro-F1 | themes sample-F1 |", "|---|---|---|---|---|---|"]
    for n in names:
        cv = res[n].get("grouped_cv")
        if cv:
            L.append(f"| {n} | grouped {cv['folds']}-fold CV | – | – | {_ms(cv, 'tone_macro_f1')} | {_ms(cv, 'themes_sample_f1')} |")
        for split, g in (res[n].get("generalisation") or {}).items():
            L.append(f"| {n} | {split} | {g['train']} | {g['test']} | {g['tone_macro_f1']:.3f} | {g['themes_sample_f1']:.3f} |")
    sv = {n: res[n]["seed_variance"] for n in names if res[n].get("seed_variance")}
    if sv:
        L += ["", "## Seed variance (stochastic models)", "", "| model | seeds | tone macro-F1 | themes sample-F1 |", "|---|---|---|---|"]
        for n, v in sv.items():
            L.append(f"| {n} | {', '.join(map(str, v['seeds']))} | {_ms(v, 'tone_macro_f1')} | {_ms(v, 'themes_sample_f1')} |")
    L += ["", "## Cost", "", "| model | train seconds | predict paragraphs/s (test split) |", "|---|---|---|"]
    for n in names:
        t = timings[n]
        L.append(f"| {n} | {t.get('train_seconds', '–')} | {t.get('paragraphs_per_second', '–')} |")
    L += ["", "Timings are wall-clock on the machine that ran the pipeline and vary run to run; every other number "
          "is reproducible from `params.yaml` (fixed seeds).", "",
          "## Per-label F1 (test split)", "", "| model | " + " | ".join(THEMES) + " |", "|---|" + "---|" * len(THEMES)]
    for n in names:
        per = res[n]["themes"]["per_label"]
        L.append(f"| {n} | " + " | ".join(f"{per[t]['f1']:.2f} ({per[t]['support']})" for t in THEMES) + " |")
    L += ["", "| model | " + " | ".join(TONES) + " |", "|---|" + "---|" * len(TONES)]
    for n in names:
        per = res[n]["tone"]["per_class"]
        L.append(f"| {n} | " + " | ".join(f"{per[t]['f1']:.2f} ({per[t]['support']})" for t in TONES) + " |")
    L += ["", "Plots: `experiments/plots/comparison.png`, `experiments/plots/<model>/tone_confusion.png`, "
          "`experiments/plots/learning_curve_*.png`.", ""]
    out = exp / "comparison.md"
    out.write_text("\n".join(L), encoding="utf-8")
    return out
