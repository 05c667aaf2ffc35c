"""Evaluate one trained model: test-split metrics with article-bootstrap CIs, predictions,
and — by re-fitting the same configuration — grouped cross-validation, cross-source /
cross-time splits, seed variance and a learning curve."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from vistance.config import model_params
from vistance.dataset.build import load_dataset_dict, rows_from_dataset, write_json
from vistance.dataset.splits import CROSS_CORPUS_SPLIT, grouped_kfold
from vistance.evaluation.generalisation import (CROSS_CORPUS, CROSS_CORPUS_BOTH, generalisation_score, score_split,
                                                 truth_arrays)
from vistance.evaluation.heldout import fit_design, heldout_design
from vistance.evaluation.metrics import HEADLINE, headline_with_ci, theme_metrics, tone_metrics
from vistance.io import atomic_write, write_jsonl
from vistance.labels.schema import TONES
from vistance.models import load_model, model_class
from vistance.models.train import fit_rows


def score_rows(model, rows):
    sc = model.predict_proba([r["text"] for r in rows])
    return sc, sc.theme_matrix(), sc.tone.argmax(axis=1)


def headline(rows, Yp, yp) -> dict:
    Yt, yt = truth_arrays(rows)
    return {k: float(fn(Yt, Yp, yt, yp)) for k, fn in HEADLINE.items()}


def _summarise(runs: list[dict]) -> dict:
    runs = [r for r in runs if r is not None]
    keys = runs[0].keys() if runs else []
    return {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs], ddof=1)) if len(runs) > 1 else 0.0}
            for k in keys}


def _refit(kind, spec, train_rows, seed, valid_rows=None):
    """A fresh model of the same configuration fitted on ``train_rows`` (``None`` if it has one tone class)."""
    if len({r["tone"] for r in train_rows}) < 2:
        return None
    spec = {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}
    return fit_rows(kind, spec, train_rows, valid_rows, seed=seed)


def _refit_eval(kind, spec, train_rows, test_rows, seed, valid_rows=None) -> dict | None:
    """Fit a fresh model on ``train_rows`` and score ``test_rows``; ``None`` when the training
    part has a single tone class (possible on tiny corpora), so the run is skipped, not faked."""
    if len({r["tone"] for r in train_rows}) < 2 or not test_rows:
        return None
    spec = {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}  # curves belong to the trained model
    m = fit_rows(kind, spec, train_rows, valid_rows, seed=seed)
    _, Yp, yp = score_rows(m, test_rows)
    return headline(test_rows, Yp, yp)


def evaluate_model(name: str, params: dict, dataset_dir, model_dir, out_dir) -> dict:
    """Write ``<out>/metrics/<name>.json``, ``<out>/predictions/<name>.jsonl``,
    ``<out>/plots/<name>/*.json`` (DVC plot data) and ``<out>/timings/<name>.json``."""
    ev = params.get("evaluate", {})
    seed = int(params.get("seed", 0))
    n_boot = int(ev.get("n_boot", 1000))
    kind, spec = model_params(params, name)
    mode = (params["models"][name].get("evaluate") or {})
    dd = load_dataset_dict(dataset_dir)
    splits = {s: rows_from_dataset(dd[s]) for s in dd}
    test = splits["test"]
    model = load_model(model_dir)

    t0 = time.perf_counter()
    sc, Yp, yp = score_rows(model, test)
    infer_s = time.perf_counter() - t0
    Yt, yt = truth_arrays(test)
    groups = [r["article_id"] for r in test]
    result = {
        "model": name, "kind": kind, "test_paragraphs": len(test), "test_articles": len(set(groups)),
        "headline": headline_with_ci(Yt, Yp, yt, yp, groups, n_boot=n_boot, seed=seed),
        "themes": theme_metrics(Yt, Yp), "tone": tone_metrics(yt, yp),
    }

    all_rows = [r for s in ("train", "validation", "test") if s in splits for r in splits[s]]
    refit = mode.get("refit", True)
    min_rows = int(ev.get("min_paragraphs", 0))
    if refit and len(all_rows) < min_rows:   # e.g. a fresh clone without the corpora: seeds only
        refit = False
        result["skipped"] = (f"refitting analyses (CV, generalisation, seed variance, learning curve): "
                             f"{len(all_rows)} labelled paragraphs < evaluate.min_paragraphs {min_rows}")
    if refit and ev.get("cv_folds", 0) and mode.get("cv", True):
        k = int(ev["cv_folds"])
        runs = []
        for tr, te in grouped_kfold([r["article_id"] for r in all_rows], k=k, seed=seed):
            runs.append(_refit_eval(kind, spec, [all_rows[i] for i in tr], [all_rows[i] for i in te], seed))
        if any(r is not None for r in runs):
            result["grouped_cv"] = {"folds": k, "folds_used": sum(r is not None for r in runs), **_summarise(runs)}
    gen_preds: list[dict] = []
    cross = splits.get(CROSS_CORPUS_SPLIT) or []
    if cross:  # the pipeline's own model (trained on both collections) on the cross-corpus test articles
        both = score_split(CROSS_CORPUS_BOTH, model, len(splits["train"]), cross, n_boot, seed)
        result["cross_corpus"] = {CROSS_CORPUS_BOTH: both.summary()}
        gen_preds += both.predictions
    if refit and ev.get("generalisation", True):
        # one fit that holds out every evaluation outlet, the seed articles and the cross-corpus
        # test together (evaluation/heldout.py), the same design for every model
        n_sources = int(mode.get("heldout_sources", ev.get("heldout_sources", 3)))
        design = heldout_design(splits, n_sources, seed)
        if len({r["tone"] for r in design.fit + design.valid}) >= 2:
            spec_g = {k: v for k, v in spec.items() if k not in ("use_dvclive", "log_dir")}
            refitted = fit_design(kind, spec_g, design.fit, design.valid, seed)
            gen = {}
            for split_name, te_rows in design.tests.items():
                if len(te_rows) < 20 and split_name != CROSS_CORPUS:
                    continue
                res = score_split(split_name, refitted, len(design.fit) + len(design.valid), te_rows, n_boot, seed)
                gen[split_name] = res.summary()
                gen_preds += res.predictions
            result["generalisation"] = gen
            result["generalisation_score"] = generalisation_score(gen)
            result["generalisation_design"] = {"fit": len(design.fit), "validation": len(design.valid),
                                               "outlets": design.outlets, "one_fit": True}
    capabilities = model_class(kind)
    if refit and capabilities.seeded and ev.get("seeds") and mode.get("seed_variance", capabilities.stochastic):
        valid = splits.get("validation")
        main = headline(test, Yp, yp)  # the trained model is the run with the pipeline's seed
        runs = [main if int(s) == seed else _refit_eval(kind, spec, splits["train"], test, int(s), valid) for s in ev["seeds"]]
        if any(r is not None for r in runs):
            result["seed_variance"] = {"seeds": list(ev["seeds"]), **_summarise(runs)}
    curve = []
    if refit and ev.get("learning_curve") and mode.get("learning_curve", True):
        # nested subsets of the train split (whole articles, seeded hash order); the full
        # train split is the trained model itself, so that point is not fitted again
        train = splits["train"]
        arts = sorted({r["article_id"] for r in train}, key=lambda a: hash_key(a, seed))
        for frac in mode.get("learning_curve_fractions", ev["learning_curve"]):
            if frac >= 1.0:
                curve.append({"fraction": 1.0, "train_paragraphs": len(train), **headline(test, Yp, yp)})
                continue
            keep = set(arts[: max(2, int(round(frac * len(arts))))])
            sub = [r for r in train if r["article_id"] in keep]
            h = _refit_eval(kind, spec, sub, test, seed, splits.get("validation"))
            if h is None:
                continue
            curve.append({"fraction": frac, "train_paragraphs": len(sub), **h})
        result["learning_curve"] = curve

    out_dir = Path(out_dir)
    write_json(out_dir / "metrics" / f"{name}.json", _round(result))
    write_jsonl(out_dir / "predictions" / f"{name}.generalisation.jsonl", gen_preds, sort_keys=True)
    recs = sc.records([r["id"] for r in test])
    with atomic_write(out_dir / "predictions" / f"{name}.jsonl") as fh:
        for r, rec in zip(test, recs):
            rec["true"] = {"themes": r["themes"], "tone": r["tone"]}
            rec["article_id"] = r["article_id"]
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    # DVC plot data: confusion pairs and learning curve
    plots = out_dir / "plots" / name
    write_json(plots / "tone_confusion.json", [{"actual": TONES[a], "predicted": TONES[b]} for a, b in zip(yt, yp)])
    if curve:
        write_json(plots / "learning_curve.json", [{"train_paragraphs": c["train_paragraphs"], "tone_macro_f1": round(c["tone_macro_f1"], 4),
                                                    "themes_sample_f1": round(c["themes_sample_f1"], 4)} for c in curve])
    write_json(out_dir / "timings" / f"{name}.json", {
        "predict_seconds": round(infer_s, 3), "paragraphs": len(test),
        "paragraphs_per_second": round(len(test) / infer_s, 1) if infer_s > 0 else None})
    return result


def hash_key(s: str, seed: int) -> str:
    import hashlib

    return hashlib.sha1(f"{seed}:{s}".encode()).hexdigest()


def _round(obj, nd: int = 6):
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, dict):
        return {k: _round(v, nd) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v, nd) for v in obj]
    return obj
