"""Evaluate one trained model: test-split metrics with article-bootstrap CIs, predictions,
and — by re-fitting the same configuration — grouped cross-validation, cross-source /
cross-time splits, seed variance and a learning curve.

:func:`evaluate_model` is a thin orchestrator: each analysis is its own function, taking the
labelled rows, the model's configuration and the label schema (the dataset's, which the model
must share: :func:`vistance.models.folder.check_model_labels`).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vistance.config import EvaluateConfig, ModelEvaluate
from vistance.dataset.build import load_dataset_dict, rows_from_dataset, write_json
from vistance.corpus import registry
from vistance.dataset.splits import grouped_kfold
from vistance.evaluation.generalisation import SELECTION_METRICS, generalisation_score, score_split
from vistance.evaluation.heldout import fit_design, heldout_design
from vistance.dataset import dataset_schema
from vistance.evaluation.metrics import headline, headline_with_ci, label_arrays
from vistance.io import atomic_write, write_jsonl
from vistance.labels.schema import LabelSchema
from vistance.models import load_model, model_class
from vistance.models.folder import check_model_labels
from vistance.models.scoring import theme_metrics, tone_metrics
from vistance.models.train import fit_rows

#: spec keys that belong to the trained model's run only (training curves), not to a re-fit
RUN_ONLY = ("use_dvclive", "log_dir")


@dataclass
class ScoredRows:
    """A model's predictions on the test rows and how long they took."""

    rows: list[dict]
    scores: object          # vistance.models.base.Scores
    Y_pred: np.ndarray
    y_pred: np.ndarray
    seconds: float


def score_rows(model, rows):
    """``(Scores, theme decisions, tone indices)`` of ``model`` on ``rows``."""
    sc = model.predict_proba([r["text"] for r in rows])
    return sc, sc.theme_matrix(), sc.tone.argmax(axis=1)


def rows_headline(rows, Y_pred, y_pred, schema: LabelSchema) -> dict:
    """Headline metrics (point values) of decisions against ``rows``' gold."""
    Yt, yt = label_arrays(rows, schema)
    return headline(Yt, Y_pred, yt, y_pred, schema)


def load_splits(dataset_dir) -> dict[str, list[dict]]:
    """The dataset's rows by split."""
    dd = load_dataset_dict(dataset_dir)
    return {s: rows_from_dataset(dd[s]) for s in dd}


def _summarise(runs: list[dict]) -> dict:
    runs = [r for r in runs if r is not None]
    keys = runs[0].keys() if runs else []
    return {k: {"mean": float(np.mean([r[k] for r in runs])), "std": float(np.std([r[k] for r in runs], ddof=1)) if len(runs) > 1 else 0.0}
            for k in keys}


def _refit_eval(kind, spec, train_rows, test_rows, seed, schema: LabelSchema, valid_rows=None) -> dict | None:
    """Fit a fresh model on ``train_rows`` and score ``test_rows``; ``None`` when the training
    part has a single tone class (possible on tiny corpora), so the run is skipped, not faked."""
    if len({r["tone"] for r in train_rows}) < 2 or not test_rows:
        return None
    spec = {k: v for k, v in spec.items() if k not in RUN_ONLY}
    m = fit_rows(kind, spec, train_rows, valid_rows, seed=seed, schema=schema)
    _, Yp, yp = score_rows(m, test_rows)
    return rows_headline(test_rows, Yp, yp, schema)


# -- the analyses --------------------------------------------------------------------------

def prediction_seconds(model, texts: list[str], warmup: int = 8) -> float:
    """Seconds ``model`` takes to predict ``texts`` as new text: after a warm-up call on the first
    ``warmup`` texts (loading an engine, compiling a graph: paid once per process), with no cache of
    earlier results read or filled (:meth:`~vistance.models.base.ModelBase.uncached`)."""
    with model.uncached():
        model.predict_proba(texts[:warmup])
        t0 = time.perf_counter()
        model.predict_proba(texts)
        return time.perf_counter() - t0


def score_test(model, rows: list[dict]) -> ScoredRows:
    """The trained model on the test rows, and its prediction time on them (:func:`prediction_seconds`)."""
    sc, Yp, yp = score_rows(model, rows)
    return ScoredRows(rows, sc, Yp, yp, prediction_seconds(model, [r["text"] for r in rows]))


def in_sample_metrics(test: ScoredRows, schema: LabelSchema, *, n_boot: int, seed: int) -> dict:
    """Headline metrics with article-bootstrap CIs, per-theme and per-tone metrics of the test split."""
    Yt, yt = label_arrays(test.rows, schema)
    groups = [r["article_id"] for r in test.rows]
    return {"test_paragraphs": len(test.rows), "test_articles": len(set(groups)),
            "headline": headline_with_ci(Yt, test.Y_pred, yt, test.y_pred, groups, schema, n_boot=n_boot, seed=seed),
            "themes": theme_metrics(Yt, test.Y_pred, schema.theme_names),
            "tone": tone_metrics(yt, test.y_pred, schema.tone_names)}


def grouped_cv(kind: str, spec: dict, rows: list[dict], schema: LabelSchema, *, folds: int, seed: int) -> dict | None:
    """Article-grouped ``folds``-fold cross-validation over ``rows`` (mean ± sd); ``None`` if no fold ran."""
    runs = [_refit_eval(kind, spec, [rows[i] for i in tr], [rows[i] for i in te], seed, schema)
            for tr, te in grouped_kfold([r["article_id"] for r in rows], k=folds, seed=seed)]
    if not any(r is not None for r in runs):
        return None
    return {"folds": folds, "folds_used": sum(r is not None for r in runs), **_summarise(runs)}


def generalisation(kind: str, spec: dict, splits: dict[str, list[dict]], schema: LabelSchema, *,
                   n_sources: int, n_boot: int, seed: int, corpora=None, min_test_units: int = 20,
                   seeds: list[int] | tuple = ()) -> tuple[dict, list[dict]] | None:
    """One fit that holds out every evaluation outlet, the seed articles and the cross-corpus test
    together (:mod:`vistance.evaluation.heldout`), scored on each: the result's ``generalisation*``
    entries and the prediction records; ``None`` when the fit part has a single tone class.
    ``corpora``: ``Config.corpora`` (the split names; None: the default corpora). A held-out test
    with fewer than ``min_test_units`` units is left out (the cross-corpus test never is).

    ``seeds``: the same design re-fitted with each seed (the data stay fixed, only the model's seed
    moves); ``generalisation_seeds`` then holds each run's score and splits and their mean ± sd.
    The run with ``seed`` is the one the CIs, predictions and paired tests come from."""
    design = heldout_design(splits, n_sources, seed, corpora=corpora)
    cross_name = registry.cross_corpus_name(corpora)
    if len({r["tone"] for r in design.fit + design.valid}) < 2:
        return None
    fit_spec = {k: v for k, v in spec.items() if k not in RUN_ONLY}
    tests = {n: rows for n, rows in design.tests.items() if len(rows) >= min_test_units or n == cross_name}
    refitted = fit_design(kind, fit_spec, design.fit, design.valid, seed, schema=schema)
    gen, preds = {}, []
    for split_name, te_rows in tests.items():
        res = score_split(split_name, refitted, len(design.fit) + len(design.valid), te_rows, n_boot, seed)
        gen[split_name] = res.summary()
        preds += res.predictions
    result = {"generalisation": gen, "generalisation_score": generalisation_score(gen, corpora),
              "generalisation_design": {"fit": len(design.fit), "validation": len(design.valid),
                                        "outlets": design.outlets, "one_fit": True}}
    if len(seeds) > 1:
        runs = [_seed_run(seed, gen, corpora)]
        for s in seeds:
            if int(s) == seed:
                continue
            m = fit_design(kind, fit_spec, design.fit, design.valid, int(s), schema=schema)
            split_heads = {}
            for split_name, te_rows in tests.items():
                _, Yp, yp = score_rows(m, te_rows)
                split_heads[split_name] = rows_headline(te_rows, Yp, yp, schema)
            runs.append(_seed_run(int(s), split_heads, corpora))
        runs.sort(key=lambda r: r["seed"])
        result["generalisation_seeds"] = {
            "seeds": [r["seed"] for r in runs], "runs": runs,
            "score": _summarise([r["score"] for r in runs]),
            "splits": {n: _summarise([r["splits"][n] for r in runs]) for n in tests}}
    return result, preds


def _seed_run(seed: int, split_heads: dict, corpora) -> dict:
    """One seed's re-fit: the two selection metrics of each split and its generalisation score."""
    splits = {n: {m: float(h[m]) for m in SELECTION_METRICS} for n, h in split_heads.items()}
    score = generalisation_score(splits, corpora)
    return {"seed": seed, "score": {m: score[m] for m in SELECTION_METRICS}, "splits": splits}


def seed_variance(kind: str, spec: dict, splits: dict[str, list[dict]], main: dict, schema: LabelSchema, *,
                  seeds: list[int], seed: int) -> dict | None:
    """The configuration re-fitted with each of ``seeds`` (``main``: the trained model, the run with ``seed``)."""
    valid = splits.get("validation")
    runs = [main if int(s) == seed else _refit_eval(kind, spec, splits["train"], splits["test"], int(s), schema, valid)
            for s in seeds]
    if not any(r is not None for r in runs):
        return None
    return {"seeds": list(seeds), **_summarise(runs)}


def learning_curve(kind: str, spec: dict, splits: dict[str, list[dict]], main: dict, schema: LabelSchema, *,
                   fractions: list[float], seed: int) -> list[dict]:
    """Nested subsets of the train split (whole articles, seeded hash order); the full train split
    is the trained model itself (``main``), so that point is not fitted again."""
    train, test = splits["train"], splits["test"]
    arts = sorted({r["article_id"] for r in train}, key=lambda a: hash_key(a, seed))
    curve = []
    for frac in fractions:
        if frac >= 1.0:
            curve.append({"fraction": 1.0, "train_paragraphs": len(train), **main})
            continue
        keep = set(arts[: max(2, int(round(frac * len(arts))))])
        sub = [r for r in train if r["article_id"] in keep]
        h = _refit_eval(kind, spec, sub, test, seed, schema, splits.get("validation"))
        if h is not None:
            curve.append({"fraction": frac, "train_paragraphs": len(sub), **h})
    return curve


def write_outputs(out_dir, name: str, result: dict, test: ScoredRows, gen_preds: list[dict], schema: LabelSchema) -> None:
    """``metrics/<name>.json``, the prediction files, the DVC plot data and ``timings/<name>.json``."""
    out_dir = Path(out_dir)
    write_json(out_dir / "metrics" / f"{name}.json", _round(result))
    write_jsonl(out_dir / "predictions" / f"{name}.generalisation.jsonl", gen_preds, sort_keys=True)
    recs = test.scores.records([r["id"] for r in test.rows])
    with atomic_write(out_dir / "predictions" / f"{name}.jsonl") as fh:
        for r, rec in zip(test.rows, recs):
            rec["true"] = {"themes": r["themes"], "tone": r["tone"]}
            rec["article_id"] = r["article_id"]
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
    plots = out_dir / "plots" / name
    _, yt = label_arrays(test.rows, schema)
    tones = schema.tone_names
    write_json(plots / "tone_confusion.json", [{"actual": tones[a], "predicted": tones[b]} for a, b in zip(yt, test.y_pred)])
    curve = result.get("learning_curve")
    if curve:
        write_json(plots / "learning_curve.json", [{"train_paragraphs": c["train_paragraphs"], "tone_macro_f1": round(c["tone_macro_f1"], 4),
                                                    "themes_sample_f1": round(c["themes_sample_f1"], 4)} for c in curve])
    n, secs = len(test.rows), test.seconds
    write_json(out_dir / "timings" / f"{name}.json", {
        "predict_seconds": round(secs, 3), "paragraphs": n,
        "paragraphs_per_second": round(n / secs, 1) if secs > 0 else None})


# -- the orchestrator -------------------------------------------------------------------------

def evaluate_model(name: str, kind: str, spec: dict, dataset_dir, model_dir, out_dir, *, settings: EvaluateConfig,
                   mode: ModelEvaluate | None = None, seed: int, corpora=None) -> dict:
    """Write ``<out>/metrics/<name>.json``, ``<out>/predictions/<name>.jsonl``,
    ``<out>/plots/<name>/*.json`` (DVC plot data) and ``<out>/timings/<name>.json``.

    ``kind``/``spec``: the model's configuration (re-fitted by the analyses); ``settings``: the
    ``evaluate`` section; ``mode``: the model's own switches (``models.<name>.evaluate``);
    ``corpora``: ``Config.corpora`` (which collection is the cross-corpus test; None: the defaults).
    Refuses a model whose labels differ from the dataset's.
    """
    mode = mode or ModelEvaluate()
    schema = dataset_schema(dataset_dir)
    model = load_model(model_dir)
    check_model_labels(model, schema, f"model {model_dir}")
    splits = load_splits(dataset_dir)
    test = score_test(model, splits["test"])
    result = {"model": name, "kind": kind, **in_sample_metrics(test, schema, n_boot=settings.n_boot, seed=seed)}
    main = rows_headline(test.rows, test.Y_pred, test.y_pred, schema)

    all_rows = [r for s in ("train", "validation", "test") if s in splits for r in splits[s]]
    refit = mode.refit
    if refit and len(all_rows) < settings.min_paragraphs:   # e.g. a fresh clone without the corpora: seeds only
        refit = False
        result["skipped"] = (f"refitting analyses (CV, generalisation, seed variance, learning curve): "
                             f"{len(all_rows)} labelled paragraphs < evaluate.min_paragraphs {settings.min_paragraphs}")
    if refit and settings.cv_folds and mode.cv:
        cv = grouped_cv(kind, spec, all_rows, schema, folds=settings.cv_folds, seed=seed)
        if cv:
            result["grouped_cv"] = cv
    gen_preds: list[dict] = []
    cross_split, both_name = registry.cross_corpus_split(corpora), registry.cross_corpus_both_name(corpora)
    cross = splits.get(cross_split) or [] if cross_split else []
    if cross:  # the pipeline's own model (trained on both collections) on the cross-corpus test articles
        both = score_split(both_name, model, len(splits["train"]), cross, settings.n_boot, seed)
        result["cross_corpus"] = {both_name: both.summary()}
        gen_preds += both.predictions
    agreement = getattr(model, "inference_agreement", None)
    if agreement is not None:   # a fast inference path: how often it decides as float32 does (this run's figures)
        ag = agreement([r["text"] for r in (cross or splits["test"])])
        if ag:
            result["inference"] = {**ag, "split": cross_split if cross else "test"}
    if refit and settings.generalisation:
        n_sources = mode.heldout_sources if mode.heldout_sources is not None else settings.heldout_sources
        gen_seeds = settings.seeds if mode.generalisation_seeds and model_class(kind).seeded else ()
        gen = generalisation(kind, spec, splits, schema, n_sources=n_sources, n_boot=settings.n_boot, seed=seed,
                             corpora=corpora, min_test_units=settings.min_test_units, seeds=gen_seeds)
        if gen:
            result.update(gen[0])
            gen_preds += gen[1]
    capabilities = model_class(kind)
    wants_seeds = mode.seed_variance if mode.seed_variance is not None else capabilities.stochastic
    if refit and capabilities.seeded and settings.seeds and wants_seeds:
        sv = seed_variance(kind, spec, splits, main, schema, seeds=settings.seeds, seed=seed)
        if sv:
            result["seed_variance"] = sv
    if refit and settings.learning_curve and mode.learning_curve:
        fractions = mode.learning_curve_fractions if mode.learning_curve_fractions is not None else settings.learning_curve
        result["learning_curve"] = learning_curve(kind, spec, splits, main, schema, fractions=fractions, seed=seed)
    write_outputs(out_dir, name, result, test, gen_preds, schema)
    return result


def hash_key(s: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{s}".encode()).hexdigest()


def _round(obj, nd: int = 6):
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, dict):
        return {k: _round(v, nd) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v, nd) for v in obj]
    return obj
