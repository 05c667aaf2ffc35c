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
from vistance.models import model_class

HEADLINES = ["tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1", "themes_macro_f1"]


def _load_predictions(path):
    from vistance.io import read_jsonl

    rows = read_jsonl(path)
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

    reference = cmp.get("reference", "tfidf_lr")
    baselines = [n for n in names if model_class(res[n]["kind"]).baseline]
    best_baseline = reference if reference in names else (
        max(baselines, key=lambda n: selection_value(res[n], select)) if baselines else None)
    best = max(names, key=lambda n: selection_value(res[n], select))

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

    gen_paired = {}
    ref_gen = exp / "predictions" / f"{best_baseline}.generalisation.jsonl" if best_baseline else None
    if ref_gen is not None and ref_gen.exists():
        from vistance.evaluation.generalisation import CROSS_CORPUS, paired_generalisation_test
        from vistance.io import read_jsonl

        ref_preds = read_jsonl(ref_gen)
        outlets = sorted({p["split"] for p in ref_preds if p["split"].startswith("heldout_source_")})
        groups_of_tests = {"held-out outlets (mean)": outlets, "cross-corpus (news-2024 → vietnews-fa)": [CROSS_CORPUS]}
        for n in names:
            path = exp / "predictions" / f"{n}.generalisation.jsonl"
            if n == best_baseline or not path.exists():
                continue
            preds = read_jsonl(path)
            gen_paired[n] = {}
            for label, splits in groups_of_tests.items():
                if not splits:
                    continue
                gen_paired[n][label] = {m: paired_generalisation_test(preds, ref_preds, m, splits, n_boot=n_boot, seed=seed)
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
                                                   "value": selection_value(res[best], select)}, indent=2) + "\n")

    # -- summary metrics (DVC) and report ---------------------------------------------
    summary = {n: {m: round(res[n]["headline"][m]["value"], 4) for m in HEADLINES} for n in names}
    for n in names:
        gs = res[n].get("generalisation_score") or {}
        for m in ("tone_macro_f1", "themes_sample_f1"):
            if gs.get(m) is not None:
                summary[n][f"generalisation_{m}"] = round(gs[m], 4)
        cc = (res[n].get("generalisation") or {}).get("train_news2024_test_vietnews")
        if cc:
            summary[n]["crosscorpus_tone_macro_f1"] = round(cc["tone_macro_f1"], 4)
            summary[n]["crosscorpus_themes_sample_f1"] = round(cc["themes_sample_f1"], 4)
    write_json(exp / "metrics.json", {"models": summary, "best": best, "select_metric": select})

    any_test = res[names[0]]
    L = ["# Model comparison", "",
         f"Best model by `{select}` ({SELECT_TEXT.get(select, 'the in-sample test split')}): **{best}** "
         "(exported to `experiments/models/best`). Brackets: 95 % CI from a bootstrap over *articles* "
         f"({n_boot} resamples).", ""]
    L += generalisation_table(res, names)
    if gen_paired:
        L += ["", f"### Paired tests on news the models were not trained on, against {best_baseline}", "",
              "Paired bootstrap over articles on the same items; difference = model − reference (the held-out-outlet "
              "row averages the per-outlet differences, as the score does); two-sided p.", "",
              "| model | test | Δ tone macro-F1 [95 % CI] | p | Δ themes sample-F1 [95 % CI] | p |",
              "|---|---|---|---|---|---|"]
        for n, tests in gen_paired.items():
            for label, d in tests.items():
                a, b = d["tone_macro_f1"], d["themes_sample_f1"]
                if a is None or b is None:
                    continue
                L.append(f"| {n} | {label} | {a['difference']:+.3f} [{a['low']:+.3f}, {a['high']:+.3f}] | {_p(a['p_value'])} | "
                         f"{b['difference']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}] | {_p(b['p_value'])} |")
    L += ["", "## In-sample test split", "",
          f"Test split: {any_test['test_paragraphs']} paragraphs from {any_test['test_articles']} articles "
          "(article-grouped split of the labelled news; no article in two splits).", "",
          "| model | kind | tone macro-F1 | tone accuracy | themes sample-F1 | themes micro-F1 | themes macro-F1 |",
          "|---|---|---|---|---|---|---|"]
    for n in names:
        h = res[n]["headline"]
        L.append(f"| {n} | {res[n]['kind']} | " + " | ".join(_fmt(h[m]) for m in HEADLINES) + " |")
    if paired:
        L += ["", f"### Paired tests on the in-sample test split, against {best_baseline}", "",
              "Paired bootstrap over articles on the same test paragraphs; difference = model − baseline, two-sided p.", "",
              "| model | Δ tone macro-F1 [95 % CI] | p | Δ themes sample-F1 [95 % CI] | p |", "|---|---|---|---|---|"]
        for n, d in paired.items():
            a, b = d["tone_macro_f1"], d["themes_sample_f1"]
            L.append(f"| {n} | {a['difference']:+.3f} [{a['low']:+.3f}, {a['high']:+.3f}] | {_p(a['p_value'])} | "
                     f"{b['difference']:+.3f} [{b['low']:+.3f}, {b['high']:+.3f}] | {_p(b['p_value'])} |")
    L += ["", "## Generalisation", "",
          "Grouped CV: article-grouped k-fold over all gold paragraphs (mean ± sd over folds). The other rows come from "
          "one re-fit per model that held out all of them at once: cross-time (the 2025–26 seed articles), each "
          "held-out source (every article of that outlet) and the cross-corpus test.", "",
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
    recipes = {}
    for n in names:
        trp = exp / "models" / f"{n}.train.json"
        st = (json.loads(trp.read_text()).get("training_stats") or {}) if trp.exists() else {}
        if st.get("recipe"):
            recipes[n] = st
    if recipes:
        L += ["", "## Fine-tuning runs", "",
              "| model | frozen layers | trained layers | epochs run / kept | precision | cache s | train s | windows/s |",
              "|---|---|---|---|---|---|---|---|"]
        for n, st in recipes.items():
            L.append(f"| {n} | embeddings + {st['freeze_layers']} | {st['trainable_layers']} + heads | "
                     f"{st['epochs_run']} / {st['best_epoch']} | {st['precision']} | {st['cache_seconds']:.0f} | "
                     f"{st['train_seconds']:.0f} | {st['train_windows_per_second']} |")
    units = _corpus_units(exp.parent / "data" / "unlabelled" / "ingest_report.json")
    L += ["", "## Cost", "", "Choose the model for `vistance analyze` (`analysis.model`) by this and the held-out figures above.", "",
          "| model | train seconds | predict paragraphs/s (test split) | analyze the vietnews-fa corpus"
          + (f" ({units:,} units)" if units else "") + " |", "|---|---|---|---|"]
    for n in names:
        t = timings[n]
        rate = t.get("paragraphs_per_second")
        cost = f"≈ {units / rate / 60:.1f} min" if units and rate else "–"
        L.append(f"| {n} | {t.get('train_seconds', '–')} | {rate if rate is not None else '–'} | {cost} |")
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


SELECT_TEXT = {
    "generalisation": "the mean of tone macro-F1 and themes sample-F1 on news the model was not trained on: "
                      "the mean over held-out outlets averaged with the cross-corpus test",
}


def selection_value(result: dict, select: str) -> float:
    """The number ``best`` is chosen by: ``generalisation`` (see :data:`SELECT_TEXT`) or a headline metric
    of the in-sample test split. A model without generalisation runs scores ``-inf`` under ``generalisation``."""
    if select == "generalisation":
        gs = result.get("generalisation_score") or {}
        vals = [gs.get("tone_macro_f1"), gs.get("themes_sample_f1")]
        return float(np.mean(vals)) if all(v is not None for v in vals) else float("-inf")
    return result["headline"][select]["value"]


def generalisation_table(res: dict, names: list[str]) -> list[str]:
    """Markdown lines: each model on news it was not trained on, beside its in-sample test figures."""
    from vistance.evaluation.generalisation import CROSS_CORPUS, CROSS_CORPUS_BOTH

    L = ["## On news the model was not trained on", "",
         "One re-fit per model holds out together the largest outlets, the seed articles and the vietnews-fa test "
         "articles: it is fitted on the labelled 2024–25 news of the other outlets only (the same units for every "
         "model; a model that early-stops does so on a validation part of them). Held-out outlets: mean over the "
         "outlets. Cross-corpus: the vietnews-fa test articles (2016–19, other outlets, drawn at random before any "
         "model). Both-trained: the pipeline's model (trained on both collections) on the same vietnews-fa test "
         "articles. Score = mean of the first two (the selection criterion).", "",
         "| model | score tone / themes | held-out outlets tone / themes | cross-corpus tone [CI] | cross-corpus themes [CI] "
         "| both-trained → vietnews tone / themes | in-sample test tone / themes |", "|---|---|---|---|---|---|---|"]

    def pair(a, b):
        return f"{a:.3f} / {b:.3f}" if a is not None and b is not None else "–"

    for n in names:
        r = res[n]
        gen = r.get("generalisation") or {}
        gs = r.get("generalisation_score") or {}
        outs = [v for k, v in gen.items() if k.startswith("heldout_source_")]
        ho = pair(float(np.mean([o["tone_macro_f1"] for o in outs])), float(np.mean([o["themes_sample_f1"] for o in outs]))) \
            if outs else "–"
        cc = gen.get(CROSS_CORPUS)

        def ci(g, m):
            if not g:
                return "–"
            lo, hi = (g.get("ci") or {}).get(m, [None, None])
            return f"{g[m]:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None else f"{g[m]:.3f}"

        both = (r.get("cross_corpus") or {}).get(CROSS_CORPUS_BOTH)
        h = r["headline"]
        L.append(f"| {n} | {pair(gs.get('tone_macro_f1'), gs.get('themes_sample_f1'))} | {ho} | {ci(cc, 'tone_macro_f1')} | "
                 f"{ci(cc, 'themes_sample_f1')} | {pair(both['tone_macro_f1'], both['themes_sample_f1']) if both else '–'} | "
                 f"{pair(h['tone_macro_f1']['value'], h['themes_sample_f1']['value'])} |")
    return L


def _corpus_units(report_path) -> int | None:
    """Units of the unlabelled corpus (its ingest report), for the analysis cost column."""
    try:
        return int(json.loads(Path(report_path).read_text(encoding="utf-8"))["paragraphs"]) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None
