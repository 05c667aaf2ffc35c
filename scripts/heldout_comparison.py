"""One fit per model, every evaluation outlet and the cross-corpus test held out together.

The design is :func:`vistance.evaluation.heldout.heldout_design`: each model is fitted ONCE on what
is left after removing the ``--outlets`` largest outlets, the in-sample test split and every
vietnews-fa unit; early stopping, thresholds, the search and ensemble weights read a validation
part of the *training* articles only. Then every held-out test is scored, with article-bootstrap
CIs and paired tests against ``--reference``.

``--search NAME``: before the comparison, the grid in ``models.NAME.search`` is tried (one fit a
point, scored on validation only) and the chosen point is what NAME is compared with. With
``--seeds`` every model with ``search.seeds`` is refitted with each seed (mean ± sd). ``--curve``: fractions of the fitting
articles for learning curves (``--curve-seeds``: each point of a model with ``search.seeds`` once per
seed, the same units, mean ± sd). ``--ensemble A B``: per-task weights of A against B chosen on
validation. Writes ``<out>.json`` / ``<out>.md`` and ``experiments/search/NAME.{json,md}``.

    python scripts/heldout_comparison.py --models tfidf_lr e5_ft --search e5_ft --curve 0.25 0.5 \\
        --ensemble e5_ft tfidf_lr
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vistance.config import load_config
from vistance.dataset.build import dataset_schema, load_dataset_dict, rows_from_dataset
from vistance.evaluation.generalisation import CROSS_CORPUS, paired_generalisation_test, score_split
from vistance.evaluation.heldout import (apply_ensemble, choose_ensemble, fit_design, headline_of, heldout_design,
                                         validation_search)
from vistance.evaluation.evaluate import hash_key
from vistance.model_specs import checked_spec

METRICS = ("tone_macro_f1", "themes_sample_f1")


class _Mix:
    """Two fitted models mixed with per-task weights (for scoring like any model)."""

    def __init__(self, choice, a, b):
        self.choice, self.a, self.b = choice, a, b

    def predict_proba(self, texts):
        return apply_ensemble(self.choice, self.a.predict_proba(texts), self.b.predict_proba(texts))


def _spec(cfg, name):
    kind, spec = checked_spec(cfg, name)
    return kind, {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="data/dataset")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--reference", default="tfidf_lr")
    ap.add_argument("--outlets", type=int, default=3)
    ap.add_argument("--valid-fraction", type=float, default=0.15)
    ap.add_argument("--search", nargs="*", default=[])
    ap.add_argument("--seeds", action="store_true", help="refit the searched models with their search.seeds")
    ap.add_argument("--curve", nargs="*", type=float, default=[])
    ap.add_argument("--curve-models", nargs="*", default=None)
    ap.add_argument("--curve-seeds", action="store_true",
                    help="fit each curve point of a model with search.seeds once per seed (same units; mean ± sd)")
    ap.add_argument("--ensemble", nargs=2, default=None)
    ap.add_argument("--out", default="experiments/heldout_comparison")
    ap.add_argument("--n-boot", type=int, default=1000)
    a = ap.parse_args(argv)

    cfg = load_config(a.params)
    seed = cfg.seed
    dd = load_dataset_dict(a.dataset)
    schema = dataset_schema(a.dataset)
    d = heldout_design({s: rows_from_dataset(dd[s]) for s in dd}, a.outlets, seed, a.valid_fraction)
    print(f"fit {len(d.fit)} + validation {len(d.valid)} units; tests: "
          + ", ".join(f"{k} {len(v)}" for k, v in d.tests.items()), flush=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    results, preds, models, searches = {}, {}, {}, {}
    for name in a.models:
        kind, spec = _spec(cfg, name)
        t0 = time.perf_counter()
        if name in a.search:
            sc = cfg.models[name].search
            found = validation_search(kind, spec, sc.grid, d.fit, d.valid, seed)
            model, spec = found.pop("model"), {**spec, **found["chosen"]}
            searches[name] = found
        else:
            model = fit_design(kind, spec, d.fit, d.valid, seed, schema=schema)
        fit_s = time.perf_counter() - t0
        models[name] = model
        results[name] = {"kind": kind, "fit_seconds": round(fit_s, 1), "params": spec, "splits": {},
                         "training_stats": {k: v for k, v in (getattr(model, "training_stats_", {}) or {}).items()
                                            if k != "valid_curve"}}
        results[name]["splits"], preds[name] = _score_tests(model, d, a.n_boot, seed)
        print(f"{name}: {fit_s:.0f} s; " + _line(results[name]["splits"]), flush=True)
        sc = cfg.models[name].search
        if a.seeds and sc is not None and sc.seeds:
            runs = []
            for s in sc.seeds:
                m = model if s == seed else fit_design(kind, spec, d.fit, d.valid, s, schema=schema)
                runs.append({sp: headline_of(rows, m.predict_proba([r["text"] for r in rows]))
                             for sp, rows in d.tests.items()})
                print(f"{name} seed {s}: " + "; ".join(f"{sp} {h['tone_macro_f1']:.3f}/{h['themes_sample_f1']:.3f}"
                                                       for sp, h in runs[-1].items()), flush=True)
            results[name]["seeds"] = {"seeds": list(sc.seeds), "runs": runs, **{
                f"{part}.{m}": {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1))}
                for part, m, vals in _seed_parts(runs, d)}}

    if a.ensemble:
        na, nb = a.ensemble
        ma, mb = models[na], models[nb]
        vt = [r["text"] for r in d.valid]
        choice = choose_ensemble(d.valid, ma.predict_proba(vt), mb.predict_proba(vt))
        name = f"{na}+{nb}"
        mix = _Mix(choice, ma, mb)
        results[name] = {"kind": "ensemble (per-task weights on validation)", "fit_seconds": None,
                         "params": {"members": [na, nb], **{k: v for k, v in choice.items() if k != "thresholds"}},
                         "splits": {}}
        results[name]["splits"], preds[name] = _score_tests(mix, d, a.n_boot, seed)
        print(f"{name} (weights {choice['tone_weight']}/{choice['themes_weight']}): " + _line(results[name]["splits"]),
              flush=True)

    curves = {}
    if a.curve:
        arts = sorted({r["article_id"] for r in d.fit}, key=lambda x: hash_key(x, seed))
        for name in (a.curve_models or a.models):
            kind, spec = _spec(cfg, name)
            spec = {**spec, **results[name]["params"]}
            sc = cfg.models[name].search
            run_seeds = [seed] + [int(s) for s in sc.seeds if int(s) != seed] \
                if a.curve_seeds and sc is not None and sc.seeds else [seed]
            pts = []
            for frac in sorted(a.curve) + [1.0]:
                # the units of a point are fixed (cfg.seed's article order); only the model's seed moves
                keep = set(arts[: max(2, int(round(frac * len(arts))))]) if frac < 1.0 else None
                sub = d.fit if keep is None else [r for r in d.fit if r["article_id"] in keep]
                runs = []
                for s in run_seeds:
                    m = models[name] if keep is None and s == seed else fit_design(kind, spec, sub, d.valid, s,
                                                                                   schema=schema)
                    hs = {sp: headline_of(rows, m.predict_proba([r["text"] for r in rows]))
                          for sp, rows in d.tests.items()}
                    runs.append({"seed": s, **_gen(hs, d),
                                 "splits": {sp: {k: round(h[k], 4) for k in METRICS} for sp, h in hs.items()}})
                    print(f"curve {name} {frac} seed {s}: {runs[-1]}", flush=True)
                pts.append(_curve_point(frac, len(sub), runs))
            curves[name] = pts

    paired = {}
    for name in results:
        if name == a.reference or a.reference not in preds:
            continue
        paired[name] = {label: {m: paired_generalisation_test(preds[name], preds[a.reference], m, sp, schema,
                                                              n_boot=a.n_boot, seed=seed) for m in METRICS}
                        for label, sp in (("held-out outlets (mean)", d.outlet_splits),
                                          ("cross-corpus", [CROSS_CORPUS] if CROSS_CORPUS in d.tests else []))
                        if sp}
    for name, r in results.items():
        r["generalisation_score"] = _gen(r["splits"], d)

    summary = {"design": {"fit": len(d.fit), "validation": len(d.valid), "outlets": d.outlets,
                          "tests": {k: len(v) for k, v in d.tests.items()}, **d.meta},
               "results": results, "paired": paired, "reference": a.reference, "learning_curves": curves}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(_report(summary, d, a.reference), encoding="utf-8")
    for name, found in searches.items():
        p = Path("experiments/search") / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.with_suffix(".json").write_text(json.dumps(found, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        cols = list(found["table"][0])
        p.with_suffix(".md").write_text("\n".join(
            [f"# Validation-only search for {name}", "",
             f"{len(d.fit)} fitting units, {len(d.valid)} validation units (training articles only; no test split, "
             f"held-out outlet or cross-corpus unit is read). Criterion: {found['criterion']}. "
             f"Chosen: `{found['chosen']}`.", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            + ["| " + " | ".join(str(row[c]) for c in cols) + " |" for row in found["table"]]) + "\n", encoding="utf-8")
    print(f"wrote {out.with_suffix('.md')}")
    return 0


def _score_tests(model, d, n_boot: int, seed: int) -> tuple[dict, list]:
    """Every held-out test of design ``d`` scored: split summaries and the prediction records."""
    splits, preds = {}, []
    for split, rows in d.tests.items():
        res = score_split(split, model, len(d.fit), rows, n_boot, seed)
        splits[split] = res.summary()
        preds += res.predictions
    return splits, preds


def _curve_point(frac: float, n: int, runs: list[dict]) -> dict:
    """A learning-curve point: the mean over its seeds' runs (and their sd, with more than one seed)."""
    mean = lambda vals: round(float(np.mean(vals)), 4)  # noqa: E731
    pt = {"fraction": frac, "train_units": n, **{k: mean([r[k] for r in runs]) for k in METRICS},
          "splits": {sp: {k: mean([r["splits"][sp][k] for r in runs]) for k in METRICS} for sp in runs[0]["splits"]}}
    if len(runs) > 1:
        sd = lambda vals: round(float(np.std(vals, ddof=1)), 4)  # noqa: E731
        pt.update(seeds=[r["seed"] for r in runs], runs=runs, sd={k: sd([r[k] for r in runs]) for k in METRICS},
                  splits_sd={sp: {k: sd([r["splits"][sp][k] for r in runs]) for k in METRICS}
                             for sp in runs[0]["splits"]})
    return pt


def _pm(p: dict, k: str, sp: str | None = None) -> str:
    """A curve cell: the value, with ± sd over seeds where the point has seeds."""
    v = p[k] if sp is None else p["splits"][sp][k]
    sd = (p.get("sd") or {}).get(k) if sp is None else (p.get("splits_sd") or {}).get(sp, {}).get(k)
    return f"{v:.3f}" + (f" ± {sd:.3f}" if sd is not None else "")


def _line(splits: dict) -> str:
    return "; ".join(f"{k} {v['tone_macro_f1']:.3f}/{v['themes_sample_f1']:.3f}" for k, v in splits.items())


def _seed_parts(runs, d):
    for m in METRICS:
        yield "outlets", m, [float(np.mean([r[s][m] for s in d.outlet_splits])) for r in runs]
        if CROSS_CORPUS in d.tests:
            yield "cross_corpus", m, [r[CROSS_CORPUS][m] for r in runs]


def _gen(splits: dict, d) -> dict:
    """Generalisation score: per metric, mean of (mean over held-out outlets) and the cross-corpus test."""
    out = {}
    for m in METRICS:
        parts = [float(np.mean([splits[s][m] for s in d.outlet_splits]))]
        if CROSS_CORPUS in splits:
            parts.append(float(splits[CROSS_CORPUS][m]))
        out[m] = round(float(np.mean(parts)), 4)
    return out


def _report(s: dict, d, reference: str) -> str:
    tests = list(d.tests)
    L = ["# One fit per model, every evaluation outlet and the cross-corpus test held out together", "",
         f"{s['design']['fit']} news-2024 units to fit and {s['design']['validation']} validation units from other "
         "articles of the same outlets (early stopping, thresholds, the search, ensemble weights; kinds that use no "
         f"validation data fit on both). Held out together: {', '.join(d.outlets)}, the seed articles and the "
         "vietnews-fa test articles (no vietnews-fa unit trains). 95 % CIs from an article bootstrap. "
         "Score = mean of (mean over the held-out outlets) and the cross-corpus test.", "",
         "| model | fit s | score tone / themes | " + " | ".join(f"{t} tone / themes" for t in tests) + " |",
         "|---|---|---|" + "---|" * len(tests)]
    for name, r in s["results"].items():
        g, sp = r["generalisation_score"], r["splits"]
        L.append(f"| {name} | {r['fit_seconds']} | {g['tone_macro_f1']:.3f} / {g['themes_sample_f1']:.3f} | " + " | ".join(
            f"{sp[t]['tone_macro_f1']:.3f} / {sp[t]['themes_sample_f1']:.3f}" for t in tests) + " |")
    seeded = {n: r["seeds"] for n, r in s["results"].items() if "seeds" in r}
    if seeded:
        L += ["", "Seed variance (the chosen configuration refitted; mean ± sd):", "",
              "| model | seeds | outlets tone | outlets themes | cross-corpus tone | cross-corpus themes |",
              "|---|---|---|---|---|---|"]
        for n, v in seeded.items():
            cell = lambda k: f"{v[k]['mean']:.3f} ± {v[k]['sd']:.3f}" if k in v else "–"  # noqa: E731
            L.append(f"| {n} | {v['seeds']} | {cell('outlets.tone_macro_f1')} | {cell('outlets.themes_sample_f1')} | "
                     f"{cell('cross_corpus.tone_macro_f1')} | {cell('cross_corpus.themes_sample_f1')} |")
    if s["paired"]:
        L += ["", f"Paired article bootstrap against {reference} (difference = model − reference, two-sided p):", "",
              "| model | test | Δ tone [95 % CI] | p | Δ themes [95 % CI] | p |", "|---|---|---|---|---|---|"]
        for name, dd in s["paired"].items():
            for label, mm in dd.items():
                t, h = mm["tone_macro_f1"], mm["themes_sample_f1"]
                L.append(f"| {name} | {label} | {t['difference']:+.3f} [{t['low']:+.3f}, {t['high']:+.3f}] | {t['p_value']:.3f} | "
                         f"{h['difference']:+.3f} [{h['low']:+.3f}, {h['high']:+.3f}] | {h['p_value']:.3f} |")
    if s["learning_curves"]:
        seeded_curves = {n: pts[0]["seeds"] for n, pts in s["learning_curves"].items() if "seeds" in pts[0]}
        L += ["", "Learning curves (fraction of the fitting articles → generalisation score tone / themes; the units "
              "of a point are the same for every model"
              + ("; " + ", ".join(f"{n}: mean ± sd over seeds {v}" for n, v in seeded_curves.items())
                 if seeded_curves else "") + "):", "",
              "| model | " + " | ".join(f"{p['fraction']:g} ({p['train_units']})" for p in next(iter(s['learning_curves'].values()))) + " |",
              "|---|" + "---|" * len(next(iter(s["learning_curves"].values())))]
        for n, pts in s["learning_curves"].items():
            L.append(f"| {n} | " + " | ".join(f"{_pm(p, 'tone_macro_f1')} / {_pm(p, 'themes_sample_f1')}"
                                                for p in pts) + " |")
        L += ["", "The same curves per held-out test (tone / themes):", "",
              "| model | test | " + " | ".join(f"{p['fraction']:g}" for p in next(iter(s['learning_curves'].values()))) + " |",
              "|---|---|" + "---|" * len(next(iter(s["learning_curves"].values())))]
        for n, pts in s["learning_curves"].items():
            for t in tests:
                L.append(f"| {n} | {t} | " + " | ".join(
                    f"{_pm(p, 'tone_macro_f1', t)} / {_pm(p, 'themes_sample_f1', t)}" for p in pts) + " |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
