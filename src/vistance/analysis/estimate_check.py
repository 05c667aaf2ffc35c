"""Does the correction work on the project's own data? ``experiments/estimates/estimate_check.{json,md}``.

Two checks, both on the cross-corpus test set (70 vietnews-fa articles drawn at random before any
model: a probability sample with a recorded design) and a model that never saw that collection
(fitted on the news-2024 and seed rows of every split):

**Cross-era bias.** The model predicts every unit of the vietnews-fa corpus. For each tone, the
cooperation index and each theme: the naive share of its predictions, the design-weighted gold
share of the random test articles, and the prediction-powered estimate (both with intervals), plus
the exact difference between prediction and gold on the test units themselves.

**Coverage by simulation.** The 70 articles (their units, gold and predictions) play the corpus.
Each repetition keeps the gold of a random ``fraction`` of the articles (drawn without
replacement, recorded as a design) and hides the rest; every method estimates the corpus share
from the predictions on all units plus the kept gold, and its 95 % interval is checked against the
true share of the 70 articles. For a tone share, covering the corpus share given the kept gold is
the same event as covering the share of the hidden articles (one is an affine map of the other).
Methods: ``naive`` (predictions, article-bootstrap band), ``gold_only`` (Hajek, Rao-Wu bootstrap
with the finite-population correction), ``ppi`` (:func:`~vistance.analysis.estimate.estimate_shares`,
population ``corpus``), ``ppi_superpopulation`` (the same without the correction, the corpus
resampled as well) and ``ppi_py_units`` (``ppi_py.ppi_mean_ci``, PPI++ that treats units as
independent and the hidden units as the unlabelled sample; tone and theme shares only).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from vistance.analysis.estimate import PredictedCorpus, estimate_shares, pole_names
from vistance.errors import VistanceError
from vistance.labels.design import SamplingDesign, ids_sha1
from vistance.labels.schema import LabelSchema

if TYPE_CHECKING:
    from vistance.config import EstimateCheckConfig

METHODS = ("naive", "gold_only", "ppi", "ppi_superpopulation", "ppi_py_units")
GOAL_COVERAGE = (0.92, 0.98)


def _fit_news_model(dataset_dir, kind: str, spec: dict, seed: int, exclude_corpus: str):
    from vistance.dataset.build import load_dataset_dict, rows_from_dataset
    from vistance.models.train import fit_rows

    dd = load_dataset_dict(dataset_dir)
    rows = [r for s in dd if s in ("train", "validation", "test") for r in rows_from_dataset(dd[s])
            if r["corpus"] != exclude_corpus]
    if not rows:
        raise VistanceError(f"{dataset_dir}: no training rows outside {exclude_corpus}")
    return fit_rows(kind, spec, rows, seed=seed), rows


def _predict_rows(model, paragraphs, batch_size: int = 1024) -> list[dict]:
    """Prediction rows (no counterparts: the checks read the overall cell) for every unit of ``paragraphs``."""
    from vistance.analysis.run import iter_paragraph_batches

    out = []
    for batch in iter_paragraph_batches(paragraphs, batch_size=batch_size):
        sc = model.predict_proba([r["text"] for r in batch])
        for r, rec in zip(batch, sc.records([r["id"] for r in batch])):
            out.append({"id": r["id"], "article_id": r["article_id"], "date": r["date"], "themes": rec["themes"],
                        "tone": rec["tone"], "counterparts": []})
    return out


def _truth(labels_by_id: dict, ids: Sequence[str], tones, themes, poles) -> dict:
    """The true overall quantities of the units ``ids``."""
    tone = np.array([labels_by_id[i][1] for i in ids])
    out = {f"share_{t}": float(np.mean(tone == t)) for t in tones}
    if poles:
        c, k = float(np.sum(tone == poles[0])), float(np.sum(tone == poles[1]))
        out["coop_index"] = (c - k) / (c + k) if c + k else float("nan")
    for t in themes:
        out[f"share_{t}"] = float(np.mean([t in labels_by_id[i][0] for i in ids]))
    return out


def cross_era(rows: list[dict], gold, design: SamplingDesign, corpus: str, schema: LabelSchema, n_boot: int,
              seed: int) -> dict:
    """Naive vs gold vs corrected shares of the whole corpus, and prediction vs gold on the sample itself."""
    tones, themes, poles = schema.tone_names, schema.theme_names, pole_names(schema)
    res = estimate_shares(rows, gold, design, corpus=corpus, schema=schema, n_boot=n_boot, seed=seed,
                          overall_only=True)
    labels = {lab.paragraph_id: (list(lab.themes), lab.tone) for lab in gold}
    drawn = set(design.probabilities())
    sample = [r for r in rows if (r["article_id"] if design.unit == "article" else r["id"]) in drawn]
    ids = [r["id"] for r in sample]
    truth = _truth(labels, ids, tones, themes, poles)
    pred_labels = {r["id"]: (r["themes"], r["tone"]) for r in sample}
    pred = _truth(pred_labels, ids, tones, themes, poles)
    out = {}
    for r in res.table.to_dict("records"):
        q = r["quantity"]
        out[q] = {"naive": r["naive"], "naive_ci": [r["naive_low"], r["naive_high"]],
                  "gold": r["gold_only"], "gold_ci": [r["gold_low"], r["gold_high"]],
                  "estimate": r["estimate"], "ci": [r["low"], r["high"]], "lambda": r["lambda"],
                  "naive_minus_estimate": r["naive"] - r["estimate"],
                  "sample_predicted": pred[q], "sample_gold": truth[q], "sample_predicted_minus_gold": pred[q] - truth[q],
                  "n_gold": int(r["n_gold"]), "n_predicted": int(r["n_predicted"])}
    return {"quantities": out, "info": res.info, "sample_units": len(ids)}


def _ppi_py_interval(y, yhat, yhat_unlabelled, level):
    from ppi_py import ppi_mean_ci

    lo, hi = ppi_mean_ci(np.asarray(y, float), np.asarray(yhat, float), np.asarray(yhat_unlabelled, float),
                         alpha=1.0 - level)
    return float(np.ravel(lo)[0]), float(np.ravel(hi)[0])


def coverage_simulation(rows: list[dict], gold, design: SamplingDesign, corpus: str, schema: LabelSchema,
                        fractions: Sequence[float], reps: int, n_boot: int, seed: int, level: float = 0.95,
                        min_gold_positive: int = 5, progress: Callable[[str], None] | None = None) -> dict:
    """Coverage and mean width of every method's interval when part of the random gold sample is hidden."""
    tones, themes, poles = schema.tone_names, schema.theme_names, pole_names(schema)
    drawn = set(design.probabilities())
    sample = [r for r in rows if (r["article_id"] if design.unit == "article" else r["id"]) in drawn]
    labels = {lab.paragraph_id: (list(lab.themes), lab.tone) for lab in gold}
    missing = [r["id"] for r in sample if r["id"] not in labels]
    if missing:
        raise VistanceError(f"{len(missing)} unit(s) of the random sample have no gold (e.g. {missing[0]})")
    gold_sample = [{"paragraph_id": r["id"], "themes": labels[r["id"]][0], "tone": labels[r["id"]][1]} for r in sample]
    pc = PredictedCorpus.from_rows(sample, name=corpus, schema=schema)
    clusters = pc.articles if design.unit == "article" else pc.ids
    truth = _truth(labels, pc.ids, tones, themes, poles)
    tone_true = {r["paragraph_id"]: r["tone"] for r in gold_sample}
    theme_true = {r["paragraph_id"]: r["themes"] for r in gold_sample}
    cluster_of = np.array([pc.articles[a] for a in pc.article]) if design.unit == "article" else np.array(pc.ids)
    rng = np.random.default_rng(seed)
    results = {}
    for frac in fractions:
        k = max(2, int(round(frac * len(clusters))))
        hits = {m: {} for m in METHODS}
        widths = {m: {} for m in METHODS}
        suppressed: dict = {}
        t0 = time.perf_counter()
        for rep in range(reps):
            kept = sorted(rng.choice(clusters, size=k, replace=False).tolist())
            d = SamplingDesign(name=f"keep{frac}", unit=design.unit, scheme="srswor", corpus=corpus, seed=rep,
                               sample=[{"id": c, "pi": k / len(clusters), "stratum": "all"} for c in kept],
                               pool={"n_units": pc.n, "n_clusters": len(clusters), "ids_sha1": ids_sha1(clusters),
                                     "excluded": []},
                               strata={"all": {"N": len(clusters), "n": k}}).check()
            tabs = {}
            for pop in ("corpus", "superpopulation"):
                tabs[pop] = estimate_shares(pc, gold_sample, d, schema=schema, n_boot=n_boot, seed=seed * 7919 + rep, level=level, population=pop,
                                            overall_only=True, min_gold_units=0, min_gold_clusters=0,
                                            min_gold_positive=min_gold_positive).table
            keep_mask = np.isin(cluster_of, kept)
            for r, rs in zip(tabs["corpus"].to_dict("records"), tabs["superpopulation"].to_dict("records")):
                q = r["quantity"]
                tv = truth[q]
                if tv != tv:
                    continue
                if r["method"] != "ppi++":   # too little gold for this quantity: no interval, for any method
                    suppressed[q] = suppressed.get(q, 0) + 1
                    continue
                ivs = {"naive": (r["naive_low"], r["naive_high"]), "gold_only": (r["gold_low"], r["gold_high"]),
                       "ppi": (r["low"], r["high"]), "ppi_superpopulation": (rs["low"], rs["high"])}
                if q.startswith("share_"):
                    lab = q[len("share_"):]
                    if lab in tones:
                        yv = np.array([tone_true[u] == lab for u in pc.ids])
                        fv = pc.tone == list(tones).index(lab)
                    else:
                        yv = np.array([lab in theme_true[u] for u in pc.ids])
                        fv = pc.themes[:, list(themes).index(lab)]
                    ivs["ppi_py_units"] = _ppi_py_interval(yv[keep_mask], fv[keep_mask], fv[~keep_mask], level)
                for m, (lo, hi) in ivs.items():
                    if lo != lo or hi != hi:
                        continue
                    hits[m].setdefault(q, []).append(lo <= tv <= hi)
                    widths[m].setdefault(q, []).append(hi - lo)
            if progress and (rep + 1) % max(1, reps // 5) == 0:
                progress(f"coverage: keep {frac:.0%}: {rep + 1}/{reps} ({time.perf_counter() - t0:.0f} s)")
        per_method = {}
        for m in METHODS:
            qs = sorted(hits[m])
            if not qs:
                continue
            cov = {q: float(np.mean(hits[m][q])) for q in qs}
            wid = {q: float(np.mean(widths[m][q])) for q in qs}
            tone_qs = [q for q in qs if q[len("share_"):] in tones or q == "coop_index"]
            per_method[m] = {
                "coverage_tone": float(np.mean([cov[q] for q in tone_qs])) if tone_qs else None,
                "width_tone": float(np.mean([wid[q] for q in tone_qs])) if tone_qs else None,
                "coverage_all": float(np.mean(list(cov.values()))), "width_all": float(np.mean(list(wid.values()))),
                "coverage": cov, "width": wid, "n": {q: len(hits[m][q]) for q in qs}}
        results[f"{frac:g}"] = {"kept_clusters": k, "hidden_clusters": len(clusters) - k, "methods": per_method,
                                "suppressed_too_little_gold": dict(sorted(suppressed.items()))}
    return {"reps": reps, "n_boot": n_boot, "level": level, "clusters": len(clusters), "units": pc.n,
            "truth": truth, "fractions": results}


def _goals(cov: dict) -> dict:
    out = {}
    for frac, r in cov["fractions"].items():
        m = r["methods"]
        ppi, gold = m.get("ppi", {}), m.get("gold_only", {})
        c = ppi.get("coverage_tone")
        out[frac] = {"ppi_coverage_tone": c,
                     "ppi_coverage_in_goal": bool(c is not None and GOAL_COVERAGE[0] <= c <= GOAL_COVERAGE[1]),
                     "ppi_width_over_gold_width": (ppi["width_tone"] / gold["width_tone"])
                     if ppi.get("width_tone") and gold.get("width_tone") else None}
    return out


def run_estimate_check(dataset_dir, paragraphs, gold_path, design_path, out_dir, model_kind: str, model_spec: dict,
                       model_name: str, settings: "EstimateCheckConfig | None" = None, *, corpus: str | None = None,
                       seed: int = 13, progress: Callable[[str], None] | None = None) -> dict:
    """Fit the cross-era model, predict the corpus, run both checks, write ``estimate_check.{json,md}``.

    ``settings``: ``params.yaml``'s ``estimate.check`` (:class:`vistance.config.EstimateCheckConfig`:
    repetitions, gold fractions kept, bootstrap draws; default: its defaults). ``corpus``: the sampled
    corpus (default: the design's). The labels are the fitted model's (:func:`~vistance.predict.model_schema`)."""
    from vistance.config import EstimateCheckConfig
    from vistance.predict import model_schema

    settings = settings or EstimateCheckConfig()
    reps, fractions, n_boot = settings.reps, settings.fractions, settings.n_boot

    from vistance.io import atomic_write, write_json
    from vistance.labels.design import read_design
    from vistance.labels.store import read_labels

    say = progress or (lambda s: None)
    t0 = time.perf_counter()
    design = read_design(design_path)
    corpus = corpus or design.corpus
    gold = read_labels(gold_path, allow_missing=False)
    out = Path(out_dir)
    reason = _unavailable(paragraphs, design)
    if reason:   # e.g. a fresh clone without the corpus: say so, as evaluation does, instead of failing the pipeline
        report = {"skipped": reason, "design": {"file": str(design_path), "name": design.name}}
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "estimate_check.json", report, sort_keys=False)
        with atomic_write(out / "estimate_check.md") as fh:
            fh.write(f"# Do the corrected estimates hold? (`vistance estimate-check`)\n\nSkipped: {reason}\n")
        say(f"estimate check skipped: {reason}")
        return report
    say(f"fitting {model_name} ({model_kind}) on the rows outside {corpus}")
    model, train_rows = _fit_news_model(dataset_dir, model_kind, model_spec, seed, corpus)
    schema = model_schema(model)
    say(f"predicting {paragraphs}")
    rows = _predict_rows(model, paragraphs)
    say("cross-era table")
    era = cross_era(rows, gold, design, corpus, schema, n_boot=max(n_boot, 1000), seed=seed)
    say("coverage simulation")
    cov = coverage_simulation(rows, gold, design, corpus, schema, fractions, reps, n_boot, seed, progress=say)
    report = {
        "model": {"name": model_name, "kind": model_kind,
                  "trained_on": f"every split's rows outside {corpus} ({len(train_rows)} units: "
                                f"{' and '.join(sorted({str(r.get('corpus')) for r in train_rows}))})"},
        "corpus": {"name": corpus, "paragraphs": str(paragraphs), "units": len(rows),
                   "articles": len({r['article_id'] for r in rows})},
        "design": {"file": str(design_path), "name": design.name, "scheme": design.scheme, "unit": design.unit,
                   "drawn": len(design.sample), "pool": design.pool_size},
        "cross_era": era, "coverage": cov, "goals": {"coverage_range": list(GOAL_COVERAGE), **_goals(cov)},
        "seed": seed,
    }
    out.mkdir(parents=True, exist_ok=True)
    clean = _finite(report)
    write_json(out / "estimate_check.json", clean, sort_keys=False)
    with atomic_write(out / "estimate_check.md") as fh:
        fh.write(render_markdown(clean))
    say(f"estimate check done in {time.perf_counter() - t0:.0f} s -> {out}")
    return clean


def _unavailable(paragraphs, design: SamplingDesign) -> str | None:
    """Why the check cannot run on ``paragraphs`` (no such file, no unit, not the design's pool), or None."""
    from vistance.io import iter_jsonl
    from vistance.labels.design import DesignError

    if not Path(paragraphs).is_file():
        return f"{paragraphs}: no such file"
    ids, articles = [], set()
    for _line, obj in iter_jsonl(paragraphs, errors=[]):
        pid = obj.get("paragraph_id", obj.get("id"))
        if isinstance(pid, str):
            ids.append(pid)
            articles.add(str(obj.get("article_id") or pid))
    if not ids:
        return f"{paragraphs} holds no unit (corpus {design.corpus} not fetched: `vistance corpus fetch {design.corpus}`)"
    try:
        design.check_pool(articles if design.unit == "article" else ids, f"design {design.name}")
    except DesignError as e:
        return str(e)
    return None


def _finite(obj):
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return None if math.isnan(x) or math.isinf(x) else round(x, 6)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _f(x, nd=3):
    return "–" if x is None else f"{x:.{nd}f}"


def _ci(v):
    return "–" if not v or v[0] is None else f"[{v[0]:.3f}, {v[1]:.3f}]"


_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def render_markdown(r: dict) -> str:
    era = r["cross_era"]["quantities"]
    tones = r["cross_era"]["info"]["tones"]
    has_index = "coop_index" in era
    lines = [
        "# Do the corrected estimates hold? (`vistance estimate-check`)", "",
        f"Model `{r['model']['name']}` fitted on {r['model']['trained_on']}, applied to the "
        f"{r['corpus']['name']} corpus ({r['corpus']['units']:,} units, {r['corpus']['articles']:,} articles). "
        f"Gold: the random sample `{r['design']['name']}` ({r['design']['drawn']} {r['design']['unit']}s of "
        f"{r['design']['pool']:,}, scheme `{r['design']['scheme']}`; {r['cross_era']['sample_units']} units). "
        "95 % intervals; the corrected estimate is PPI++ (λ tuned) with design weights and an article bootstrap.", "",
        "## Cross-era bias", "",
        "| quantity | naive (corpus) | gold share (random articles) | corrected (PPI++) | λ | naive − corrected | "
        "on the sample: predicted − gold |",
        "|---|---|---|---|---|---|---|",
    ]
    tone_qs = [f"share_{t}" for t in tones if f"share_{t}" in era]
    order = tone_qs + (["coop_index"] if has_index else []) \
        + [q for q in era if q.startswith("share_") and q not in tone_qs]
    for q in order:
        e = era[q]
        lines.append(f"| {q} | {_f(e['naive'])} {_ci(e['naive_ci'])} | {_f(e['gold'])} {_ci(e['gold_ci'])} | "
                     f"**{_f(e['estimate'])}** {_ci(e['ci'])} | {_f(e['lambda'], 2)} | {_f(e['naive_minus_estimate'], 3)} | "
                     f"{_f(e['sample_predicted_minus_gold'], 3)} |")
    cov = r["coverage"]
    biased = [q for q in order if era[q]["naive_minus_estimate"] is not None]
    worst = "the cross-era table"
    if biased:
        q = max(biased, key=lambda q: abs(era[q]["naive_minus_estimate"]))
        e = era[q]
        worst = (f"largest here: {q} naive {_f(e['naive'])} {_ci(e['naive_ci'])} against corrected "
                 f"{_f(e['estimate'])} {_ci(e['ci'])}")
    lines += ["", "## Coverage by simulation", "",
              f"The {cov['clusters']} random articles ({cov['units']} units) play the corpus; each of {cov['reps']} "
              f"repetitions keeps the gold of a random share of the articles, hides the rest, and estimates the "
              f"corpus share from the predictions on every unit plus the kept gold ({cov['n_boot']} bootstrap "
              "replicates). Coverage: how often the 95 % interval holds the true share (for a tone share the same "
              "event as holding the hidden articles' share). Tone quantities: the "
              f"{_COUNT_WORDS.get(len(tones), len(tones))} tone shares"
              + (" and the cooperation index" if has_index else "")
              + "; all: the themes too.", "",
              "| gold kept | method | coverage (tone) | mean width (tone) | coverage (all) | mean width (all) |",
              "|---|---|---|---|---|---|"]
    names = {"naive": "naive (predictions)", "gold_only": "gold only", "ppi": "**PPI++ (this toolkit)**",
             "ppi_superpopulation": "PPI++, superpopulation (no fpc)", "ppi_py_units": "ppi_py, units independent"}
    for frac, fr in cov["fractions"].items():
        for m in METHODS:
            if m not in fr["methods"]:
                continue
            x = fr["methods"][m]
            lines.append(f"| {fr['kept_clusters']} of {cov['clusters']} articles | {names[m]} | {_f(x['coverage_tone'])} | "
                         f"{_f(x['width_tone'])} | {_f(x['coverage_all'])} | {_f(x['width_all'])} |")
    first = next(iter(cov["fractions"].values()), {}).get("methods", {}).get("naive", {})
    half = (first.get("width_tone") or 0) / 2
    lines += ["", f"How to read it: the naive band here resamples the {cov['clusters']} articles only, so it is wide "
              f"(about ±{half:.2f}) and, "
              "because this model's tone errors nearly cancel on this sample, it holds the tone shares; on the whole "
              f"corpus ({r['corpus']['articles']:,} articles) the same band is narrow and misses where the model "
              f"is biased ({worst}). "
              "`PPI++, superpopulation` has no finite-population correction, so with most of this small 'corpus' in "
              "the gold it is conservative by construction; `ppi_py, units independent` ignores that units of one "
              "article are correlated and under-covers as the gold shrinks.", "",
              "Per quantity (PPI++ coverage / gold-only coverage / naive coverage):", "",
              "| gold kept | " + " | ".join(order) + " |", "|---|" + "---|" * len(order)]
    for frac, fr in cov["fractions"].items():
        m = fr["methods"]
        cells = []
        for q in order:
            vals = [m.get(k, {}).get("coverage", {}).get(q) for k in ("ppi", "gold_only", "naive")]
            cells.append(" / ".join(_f(v, 2) for v in vals))
        lines.append(f"| {fr['kept_clusters']} | " + " | ".join(cells) + " |")
    g = r["goals"]
    lines += ["", "## Goals", "", f"PPI++ coverage of the tone quantities within {g['coverage_range']}; its interval "
              "narrower than gold-only:", ""]
    for frac, x in g.items():
        if frac == "coverage_range":
            continue
        lines.append(f"- keep {float(frac):.0%}: coverage {_f(x['ppi_coverage_tone'])} "
                     f"({'in' if x['ppi_coverage_in_goal'] else 'NOT in'} range), width {_f(x['ppi_width_over_gold_width'], 2)}"
                     " × gold-only")
    lines += ["", "Monte-Carlo error of one coverage figure: about ±"
              f"{1.96 * math.sqrt(0.95 * 0.05 / max(cov['reps'], 1)):.3f} (95 %, {cov['reps']} repetitions; the "
              "quantities of one repetition are not independent).", ""]
    return "\n".join(lines)
