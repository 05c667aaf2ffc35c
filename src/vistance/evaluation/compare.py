"""``vistance compare``: every evaluated model side by side, with CIs, paired tests, timing,
generalisation splits, plots, and the best model exported as ``experiments/models/best``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from vistance.config import CompareConfig
from vistance.corpus import registry
from vistance.dataset.build import write_json
from vistance.errors import VistanceError
from vistance.evaluation.metrics import label_arrays, paired_difference
from vistance.evaluation.plots import comparison_bars, confusion_matrix_png, learning_curves_png
from vistance.labels.schema import LabelSchema
from vistance.models import model_class

HEADLINES = ["tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1", "themes_macro_f1"]


def _load_predictions(path, schema: LabelSchema):
    from vistance.io import read_jsonl

    rows = read_jsonl(path)
    rows.sort(key=lambda r: r["id"])
    truth = label_arrays((r["true"] for r in rows), schema)
    pred = label_arrays(rows, schema)
    return [r["id"] for r in rows], [r["article_id"] for r in rows], truth, pred


def _fmt(h: dict) -> str:
    return f"{h['value']:.3f} [{h['low']:.3f}, {h['high']:.3f}]"


def _p(p: float) -> str:
    return "n/a (one test article)" if p != p else f"{p:.3f}"


def _ms(d: dict, key: str) -> str:
    v = d.get(key)
    return f"{v['mean']:.3f} ± {v['std']:.3f}" if v else "–"


def _read(path) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# -- inputs ----------------------------------------------------------------------------------

def load_results(exp: Path, names: list[str]) -> dict[str, dict]:
    """``metrics/<name>.json`` of each of ``names`` that was evaluated, in that order."""
    res = {n: _read(exp / "metrics" / f"{n}.json") for n in names}
    res = {n: r for n, r in res.items() if r is not None}
    if not res:
        raise VistanceError(f"no evaluated model under {exp / 'metrics'}; run 'vistance evaluate NAME' first")
    return res


def compared_schema(exp, names: list[str]) -> LabelSchema:
    """The label set the compared models learned (their saved manifests); refuses models whose
    label sets differ, naming both."""
    from vistance.models.folder import manifest_schema, read_manifest

    schema, first = None, None
    for n in names:
        folder = Path(exp) / "models" / n
        if not (folder / "manifest.json").is_file():
            continue
        s = manifest_schema(read_manifest(folder, verify=False), folder)
        if schema is None:
            schema, first = s, n
        else:
            schema.require_labels(s.theme_names, s.tone_names, f"model {n} (compared with {first})")
    if schema is None:
        raise VistanceError(f"no model folder of {', '.join(names)} under {Path(exp) / 'models'}; train them first")
    return schema


def read_timings(exp: Path, names: list[str]) -> dict[str, dict]:
    """Prediction speed (``timings/<name>.json``) and training seconds (``models/<name>.train.json``) per model."""
    timings = {}
    for n in names:
        t = dict(_read(exp / "timings" / f"{n}.json") or {})
        train = _read(exp / "models" / f"{n}.train.json")
        if train is not None:
            t["train_seconds"] = train.get("train_seconds")
            st = train.get("training_stats") or {}
            if st.get("fit_cache") == "reused":   # the fit was read back: its own run's time is what it costs
                t["train_seconds"] = f"{st.get('seconds')} (read back from the fit cache in {train.get('train_seconds')})"
            back = [b.get("seconds") or 0 for b in (st.get("ensemble") or {}).get("members_read_back") or []]
            if back:                              # an ensemble's members read back: add what they cost
                total = round(float(train.get("train_seconds") or 0) + sum(back), 2)
                t["train_seconds"] = f"{total} ({train.get('train_seconds')} here + member fits read back from the fit cache)"
        timings[n] = t
    return timings


def training_recipes(exp: Path, names: list[str]) -> dict[str, dict]:
    """The training stats of each fine-tuned model (those with a ``recipe``)."""
    out = {}
    for n in names:
        st = (_read(exp / "models" / f"{n}.train.json") or {}).get("training_stats") or {}
        if st.get("recipe"):
            out[n] = st
    return out


# -- choices ----------------------------------------------------------------------------------

def best_model(res: dict[str, dict], select: str) -> str:
    """The model with the highest :func:`selection_value` (the first on ties)."""
    return max(res, key=lambda n: selection_value(res[n], select))


def reference_model(res: dict[str, dict], reference: str, select: str) -> str | None:
    """The model every other is paired-tested against: ``reference`` when it was evaluated, else the
    best baseline kind by ``select``; ``None`` without either."""
    if reference in res:
        return reference
    baselines = [n for n in res if model_class(res[n]["kind"]).baseline]
    return max(baselines, key=lambda n: selection_value(res[n], select)) if baselines else None


# -- paired tests -------------------------------------------------------------------------------

PAIRED_METRICS = ("tone_macro_f1", "themes_sample_f1")


def paired_tests(exp: Path, names: list[str], reference: str | None, schema: LabelSchema, *, n_boot: int,
                 seed: int) -> dict[str, dict]:
    """Each model against ``reference`` on the in-sample test split (the same paragraphs):
    ``{model: {metric: paired bootstrap}}``; a model scored on other items is left out."""
    if not reference:
        return {}
    ids_b, groups, truth, pred_b = _load_predictions(exp / "predictions" / f"{reference}.jsonl", schema)
    out = {}
    for n in names:
        if n == reference:
            continue
        ids_n, _, _, pred_n = _load_predictions(exp / "predictions" / f"{n}.jsonl", schema)
        if ids_n != ids_b:
            continue
        out[n] = {m: paired_difference(m, truth, pred_n, pred_b, groups, schema, n_boot=n_boot, seed=seed)
                  for m in PAIRED_METRICS}
    return out


def generalisation_paired_tests(exp: Path, names: list[str], reference: str | None, schema: LabelSchema, *,
                                n_boot: int, seed: int, corpora=None) -> dict[str, dict]:
    """Each model against ``reference`` on the news neither was trained on (held-out outlets,
    averaged; the cross-corpus test): ``{model: {test: {metric: paired bootstrap}}}``."""
    from vistance.evaluation.generalisation import paired_generalisation_test
    from vistance.io import read_jsonl

    ref_gen = exp / "predictions" / f"{reference}.generalisation.jsonl" if reference else None
    if ref_gen is None or not ref_gen.exists():
        return {}
    ref_preds = read_jsonl(ref_gen)
    outlets = sorted({p["split"] for p in ref_preds if p["split"].startswith("heldout_source_")})
    groups_of_tests = {"held-out outlets (mean)": outlets}
    cc = registry.cross_corpus_test(corpora)
    if cc is not None:
        trained = " + ".join(e.name for e in registry.corpora_with_role(corpora, "training")
                             if "cross_era_test" not in e.roles)
        groups_of_tests[f"cross-corpus ({trained} → {cc.name})"] = [registry.cross_corpus_name(corpora)]
    out: dict[str, dict] = {}
    for n in names:
        path = exp / "predictions" / f"{n}.generalisation.jsonl"
        if n == reference or not path.exists():
            continue
        preds = read_jsonl(path)
        out[n] = {}
        for label, splits in groups_of_tests.items():
            if not splits:
                continue
            out[n][label] = {m: paired_generalisation_test(preds, ref_preds, m, splits, schema, n_boot=n_boot, seed=seed)
                             for m in PAIRED_METRICS}
    return out


# -- outputs ------------------------------------------------------------------------------------

def write_plots(res: dict[str, dict], schema: LabelSchema, plots: Path) -> None:
    """The comparison bars, each model's tone confusion matrix and the learning curves (PNG)."""
    comparison_bars(res, ["tone_macro_f1", "themes_sample_f1", "themes_macro_f1"], plots / "comparison.png")
    for n, r in res.items():
        confusion_matrix_png(r["tone"]["confusion_matrix"], list(schema.tone_names), f"{n}: tone",
                             plots / n / "tone_confusion.png")
    curves = {n: r.get("learning_curve") for n, r in res.items() if r.get("learning_curve")}
    if curves:
        learning_curves_png(curves, "tone_macro_f1", plots / "learning_curve_tone.png")
        learning_curves_png(curves, "themes_sample_f1", plots / "learning_curve_themes.png")


def export_best(exp: Path, best: str, select: str, value: float) -> Path | None:
    """Copy ``models/<best>`` to ``models/best`` with ``BEST.json`` (what chose it); ``None`` without a folder."""
    src, dst = exp / "models" / best, exp / "models" / "best"
    if not src.is_dir():
        return None
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    (dst / "BEST.json").write_text(json.dumps({"model": best, "selected_by": select, "value": value}, indent=2) + "\n")
    return dst


def summary_metrics(res: dict[str, dict], corpora=None) -> dict[str, dict]:
    """Per model: the headline values and the generalisation figures (``metrics.json`` for DVC)."""
    summary = {n: {m: round(r["headline"][m]["value"], 4) for m in HEADLINES} for n, r in res.items()}
    for n, r in res.items():
        gs = generalisation_point(r)
        for m in PAIRED_METRICS:
            if gs.get(m) is not None:
                summary[n][f"generalisation_{m}"] = round(gs[m], 4)
        seeded = r.get("generalisation_seeds")
        if seeded:
            summary[n]["generalisation_seeds"] = len(seeded["seeds"])
            for m in PAIRED_METRICS:
                summary[n][f"generalisation_{m}_sd"] = round(seeded["score"][m]["std"], 4)
        cc = (r.get("generalisation") or {}).get(registry.cross_corpus_name(corpora))
        if cc:
            summary[n]["crosscorpus_tone_macro_f1"] = round(cc["tone_macro_f1"], 4)
            summary[n]["crosscorpus_themes_sample_f1"] = round(cc["themes_sample_f1"], 4)
    return summary


def render_report(res: dict[str, dict], schema: LabelSchema, *, best: str, select: str, reference: str | None,
                  paired: dict, gen_paired: dict, timings: dict, recipes: dict, units: int | None, n_boot: int,
                  corpora=None) -> str:
    """``comparison.md``: the generalisation table, the in-sample test split, paired tests, CV,
    seed variance, fine-tuning runs, cost and per-label F1."""
    names = list(res)
    any_test = res[names[0]]
    L = ["# Model comparison", "",
         f"Best model by `{select}` ({SELECT_TEXT.get(select, 'the in-sample test split')}): **{best}** "
         "(exported to `experiments/models/best`). Brackets: 95 % CI from a bootstrap over *articles* "
         f"({n_boot} resamples).", ""]
    L += generalisation_table(res, names, corpora)
    if gen_paired:
        L += ["", f"### Paired tests on news the models were not trained on, against {reference}", "",
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
        L += ["", f"### Paired tests on the in-sample test split, against {reference}", "",
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
    if recipes:
        L += ["", "## Fine-tuning runs", "",
              "| model | frozen layers | trained layers | epochs run / kept | precision | cache s | train s | windows/s "
              "| inference: same decisions as float32 (tone / all themes) |",
              "|---|---|---|---|---|---|---|---|---|"]
        for n, st in recipes.items():
            inf = res[n].get("inference") if n in res else None
            inf_text = (f"{inf['path']}: {inf['agreement']['tone']:.1%} / {inf['agreement']['themes_all']:.1%} "
                        f"({inf['units']} units)" if inf else "–")
            L.append(f"| {n} | embeddings + {st['freeze_layers']} | {st['trainable_layers']} + heads | "
                     f"{st['epochs_run']} / {st['best_epoch']} | {st['precision']} | {st['cache_seconds']:.0f} | "
                     f"{st['train_seconds']:.0f}{' (fit cache)' if st.get('fit_cache') == 'reused' else ''} | "
                     f"{st['train_windows_per_second']} | {inf_text} |")
    L += ["", "## Cost", "", "Choose the model for `vistance analyze` (`analysis.model`) by this and the held-out figures above. "
          "Prediction speed is one pass over the test split after a warm-up call, with no cache of earlier "
          "results (embeddings, segmented text) read; a re-fit read back from the fit cache is charged its own "
          "run's train seconds.", "",
          "| model | train seconds | predict paragraphs/s (test split) | analyze the "
          + (f"{cc.name} corpus" if (cc := registry.cross_corpus_test(corpora)) else "unlabelled corpus")
          + (f" ({units:,} units)" if units else "") + " |", "|---|---|---|---|"]
    for n in names:
        t = timings[n]
        rate = t.get("paragraphs_per_second")
        cost = f"≈ {units / rate / 60:.1f} min" if units and rate else "–"
        L.append(f"| {n} | {t.get('train_seconds', '–')} | {rate if rate is not None else '–'} | {cost} |")
    themes, tones = schema.theme_names, schema.tone_names
    L += ["", "Timings are wall-clock on the machine that ran the pipeline and vary run to run; every other number "
          "is reproducible from `params.yaml` (fixed seeds).", "",
          "## Per-label F1 (test split)", "", "| model | " + " | ".join(themes) + " |", "|---|" + "---|" * len(themes)]
    for n in names:
        per = res[n]["themes"]["per_label"]
        L.append(f"| {n} | " + " | ".join(f"{per[t]['f1']:.2f} ({per[t]['support']})" for t in themes) + " |")
    L += ["", "| model | " + " | ".join(tones) + " |", "|---|" + "---|" * len(tones)]
    for n in names:
        per = res[n]["tone"]["per_class"]
        L.append(f"| {n} | " + " | ".join(f"{per[t]['f1']:.2f} ({per[t]['support']})" for t in tones) + " |")
    L += ["", "Plots: `experiments/plots/comparison.png`, `experiments/plots/<model>/tone_confusion.png`, "
          "`experiments/plots/learning_curve_*.png`.", ""]
    return "\n".join(L)


# -- the orchestrator -----------------------------------------------------------------------------

def compare_models(experiments, *, names: list[str], schema: LabelSchema, settings: CompareConfig, n_boot: int,
                   seed: int, corpora=None) -> Path:
    """Compare the evaluated models among ``names`` (``settings``: the ``compare`` section): paired
    tests against the reference, plots, the best model exported as ``models/best``,
    ``metrics.json`` and ``comparison.md`` (returned). ``corpora``: ``Config.corpora`` (None: the defaults)."""
    exp = Path(experiments)
    res = load_results(exp, names)
    names = list(res)
    select = settings.select_metric
    reference = reference_model(res, settings.reference, select)
    best = best_model(res, select)
    paired = paired_tests(exp, names, reference, schema, n_boot=n_boot, seed=seed)
    gen_paired = generalisation_paired_tests(exp, names, reference, schema, n_boot=n_boot, seed=seed, corpora=corpora)
    write_plots(res, schema, exp / "plots")
    export_best(exp, best, select, selection_value(res[best], select))
    write_json(exp / "metrics.json", {"models": summary_metrics(res, corpora), "best": best, "select_metric": select})
    cc = registry.cross_corpus_test(corpora)
    report = render_report(res, schema, best=best, select=select, reference=reference, paired=paired,
                           gen_paired=gen_paired, timings=read_timings(exp, names), recipes=training_recipes(exp, names),
                           units=_corpus_units(exp.parent / registry.report_path(cc)) if cc else None, n_boot=n_boot,
                           corpora=corpora)
    out = exp / "comparison.md"
    out.write_text(report, encoding="utf-8")
    return out


SELECT_TEXT = {
    "generalisation": "the mean of tone macro-F1 and themes sample-F1 on news the model was not trained on: "
                      "the mean over held-out outlets averaged with the cross-corpus test",
}


def generalisation_point(result: dict) -> dict:
    """The generalisation score a model is judged by: the mean over its seeds' re-fits when it was
    re-fitted with several (``generalisation_seeds``), else its one re-fit's."""
    seeded = (result.get("generalisation_seeds") or {}).get("score")
    if seeded:
        return {m: v["mean"] for m, v in seeded.items()}
    return result.get("generalisation_score") or {}


def selection_value(result: dict, select: str) -> float:
    """The number ``best`` is chosen by: ``generalisation`` (see :data:`SELECT_TEXT`) or a headline metric
    of the in-sample test split. A model without generalisation runs scores ``-inf`` under ``generalisation``."""
    if select == "generalisation":
        gs = generalisation_point(result)
        vals = [gs.get("tone_macro_f1"), gs.get("themes_sample_f1")]
        return float(np.mean(vals)) if all(v is not None for v in vals) else float("-inf")
    return result["headline"][select]["value"]


def generalisation_table(res: dict, names: list[str], corpora=None) -> list[str]:
    """Markdown lines: each model on news it was not trained on, beside its in-sample test figures
    (the collections named from ``corpora``, ``Config.corpora``; None: the defaults)."""
    CROSS_CORPUS, CROSS_CORPUS_BOTH = registry.cross_corpus_name(corpora), registry.cross_corpus_both_name(corpora)
    cc = registry.cross_corpus_test(corpora)
    held = [registry.title(e) for e in registry.corpora_with_role(corpora, "cross_era_test")]
    held += [f"the {cc.name} test articles"] if cc else []
    trained = [registry.title(e) for e in registry.corpora_with_role(corpora, "training")
               if "cross_era_test" not in e.roles]
    L = ["## On news the model was not trained on", "",
         f"One re-fit per model holds out together the largest outlets{', ' if len(held) > 1 else ' and '}"
         f"{', '.join(held[:-1]) + ' and ' if len(held) > 1 else ''}{held[-1] if held else 'nothing else'}: it is "
         f"fitted on the labelled units of {' and '.join(trained) or 'the training corpora'} from the other outlets "
         "only (the same units for every model; a model that early-stops does so on a validation part of them). "
         "Held-out outlets: mean over the outlets."
         + (f" Cross-corpus: the test articles of {registry.title(cc)}, drawn at random before any model (no unit "
            "of that collection trains the re-fit). Both-trained: the pipeline's model (trained on every collection) "
            f"on the same test articles." if cc else "")
         + " Score = mean of the first two (the selection criterion).", "",
         "| model | score tone / themes | held-out outlets tone / themes | cross-corpus tone [CI] | cross-corpus themes [CI] "
         f"| both-trained → {registry.key(cc) if cc else '–'} tone / themes | in-sample test tone / themes |",
         "|---|---|---|---|---|---|---|"]

    def pair(a, b):
        return f"{a:.3f} / {b:.3f}" if a is not None and b is not None else "–"

    for n in names:
        r = res[n]
        gen = r.get("generalisation") or {}
        gs = generalisation_point(r)
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
        seeded = (r.get("generalisation_seeds") or {}).get("score")
        score = (f"{_ms(seeded, 'tone_macro_f1')} / {_ms(seeded, 'themes_sample_f1')}"
                 f" ({len(r['generalisation_seeds']['seeds'])} seeds)" if seeded
                 else pair(gs.get('tone_macro_f1'), gs.get('themes_sample_f1')))
        L.append(f"| {n} | {score} | {ho} | {ci(cc, 'tone_macro_f1')} | "
                 f"{ci(cc, 'themes_sample_f1')} | {pair(both['tone_macro_f1'], both['themes_sample_f1']) if both else '–'} | "
                 f"{pair(h['tone_macro_f1']['value'], h['themes_sample_f1']['value'])} |")
    return L + seeds_table(res, names)


def seeds_table(res: dict, names: list[str]) -> list[str]:
    """Markdown lines: every seed's re-fit of the models re-fitted with several seeds (none: no lines)."""
    seeded = {n: res[n]["generalisation_seeds"] for n in names if res[n].get("generalisation_seeds")}
    if not seeded:
        return []
    splits = list(dict.fromkeys(s for v in seeded.values() for s in v["splits"]))
    L = ["", "A score with ± is the mean ± sd over re-fits of the same design that differ only in the model's seed "
         "(the selection criterion for that model); the other columns and the paired tests come from the re-fit with "
         "the pipeline's seed.", "", "### Seeds of the re-fit", "",
         "| model | seed | score tone / themes | " + " | ".join(f"{s} tone / themes" for s in splits) + " |",
         "|---|---|---|" + "---|" * len(splits)]
    for n, v in seeded.items():
        rows = [(str(r["seed"]), r["score"], r["splits"]) for r in v["runs"]]
        for seed, score, sp in rows:
            cells = [f"{sp[s]['tone_macro_f1']:.3f} / {sp[s]['themes_sample_f1']:.3f}" if s in sp else "–" for s in splits]
            L.append(f"| {n} | {seed} | {score['tone_macro_f1']:.3f} / {score['themes_sample_f1']:.3f} | "
                     + " | ".join(cells) + " |")
        cells = [f"{_ms(v['splits'][s], 'tone_macro_f1')} / {_ms(v['splits'][s], 'themes_sample_f1')}"
                 if s in v["splits"] else "–" for s in splits]
        L.append(f"| {n} | mean ± sd | {_ms(v['score'], 'tone_macro_f1')} / {_ms(v['score'], 'themes_sample_f1')} | "
                 + " | ".join(cells) + " |")
    return L


def _corpus_units(report_path) -> int | None:
    """Units of the unlabelled corpus (its ingest report), for the analysis cost column."""
    try:
        return int(json.loads(Path(report_path).read_text(encoding="utf-8"))["paragraphs"]) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None
