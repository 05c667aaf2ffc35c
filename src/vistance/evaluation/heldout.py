"""One fit per model that holds out every evaluation outlet and the cross-corpus test at once,
and a hyper-parameter search that reads only validation data.

:func:`heldout_design` removes, together, every article of the ``n_outlets`` largest outlets of
the labelled news, the articles of every ``cross_era_test`` corpus (another era: the seed
articles by default), the in-sample test split and every unit of the ``cross_corpus_test`` corpus
(its test articles are the cross-corpus test, so no unit of that collection trains); the corpora
and split names come from ``params.yaml``'s ``corpora`` (:mod:`vistance.corpus.registry`); what is left is split by article into a ``fit`` part and a ``valid`` part. Each model is
fitted once (:func:`fit_design`: a kind that uses validation data fits on ``fit`` and stops early /
tunes thresholds on ``valid``; any other kind fits on both, so every model sees the same labelled
units) and scored on every held-out test. Refitting a fine-tuned encoder once per outlet is what a
2-core machine cannot afford, and every model gets the same design.
"""
from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vistance.corpus import registry
from vistance.dataset.splits import assign_groups
from vistance.evaluation.metrics import headline_metrics, label_arrays
from vistance.labels.schema import LabelSchema
from vistance.models.train import fit_rows

SELECT = ("tone_macro_f1", "themes_sample_f1")
#: the default corpora's cross-era split (``train_<train>_test_<key>`` of the seed articles)
SEEDS_SPLIT = next(iter(registry.cross_era_names().values()), None)


@dataclass
class HeldoutDesign:
    """Rows to fit on, validation rows from the same training articles, and the held-out tests."""

    fit: list[dict]
    valid: list[dict]
    tests: dict[str, list[dict]]
    outlets: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def outlet_splits(self) -> list[str]:
        return [f"heldout_source_{o}" for o in self.outlets]


def heldout_design(splits: dict[str, list[dict]], n_outlets: int = 3, seed: int = 0,
                   valid_fraction: float = 0.15, corpora=None) -> HeldoutDesign:
    """The design described in the module docstring, from the dataset's rows by split
    (``corpora``: ``Config.corpora``; None: the default corpora)."""
    cross_entries = registry.cross_corpus_tests(corpora)
    others = {e.name for e in cross_entries}
    eras = registry.cross_era_names(corpora)
    rows = [r for s in ("train", "validation") if s in splits for r in splits[s]]
    news = [r for r in rows if r["corpus"] not in others]
    counts = Counter(r["source"] for r in news if r["source"] and r["corpus"] not in eras)
    outlets = [s for s, _ in counts.most_common(n_outlets)]
    tests = {f"heldout_source_{o}": [r for r in news if r["source"] == o] for o in outlets}
    for e in cross_entries:
        cross = splits.get(registry.test_split(e)) or []
        if cross:
            tests[registry.generalisation_split(corpora, e)] = list(cross)
    for name, split in eras.items():
        held = [r for r in news if r["corpus"] == name]
        if held:
            tests[split] = held
    rest = [r for r in news if r["source"] not in outlets and r["corpus"] not in eras]
    part = assign_groups([r["article_id"] for r in rest], {"fit": 1 - valid_fraction, "valid": valid_fraction},
                         seed=seed)
    return HeldoutDesign(fit=[r for r in rest if part[r["article_id"]] == "fit"],
                         valid=[r for r in rest if part[r["article_id"]] == "valid"], tests=tests, outlets=outlets,
                         meta={"valid_fraction": valid_fraction, "seed": seed,
                               "excluded_collection": ", ".join(sorted(others)) or None})


def fit_design(kind: str, spec: dict, fit: list[dict], valid: list[dict], seed: int | None,
               schema: LabelSchema | None = None):
    """A model of ``kind`` fitted on a design's rows: on ``fit`` with ``valid`` for a kind that uses
    validation data, on ``fit + valid`` otherwise (the same labelled units for every kind).
    ``schema``: the label set to learn (``None``: the packaged default codebook)."""
    from vistance.models import model_class

    if model_class(kind).uses_validation:
        return fit_rows(kind, spec, fit, valid, seed=seed, schema=schema)
    return fit_rows(kind, spec, fit + valid, None, seed=seed, schema=schema)


def headline_of(rows: list[dict], scores) -> dict:
    """The two selection metrics (and their mean, ``score``) of ``scores`` against ``rows``' gold
    (labels in ``scores.schema``)."""
    Yt, yt = label_arrays(rows, scores.schema)
    Yp, yp = scores.theme_matrix(), scores.tone.argmax(axis=1)
    fns = headline_metrics(scores.schema)
    out = {m: float(fns[m](Yt, Yp, yt, yp)) for m in SELECT}
    out["score"] = float(np.mean([out[m] for m in SELECT]))
    return out


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of a ``{parameter: [values]}`` grid, in a stable order."""
    names = sorted(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(list(grid[n]) for n in names))]


def validation_search(kind: str, spec: dict, grid: dict[str, list], fit: list[dict], valid: list[dict],
                      seed: int, log=print, schema: LabelSchema | None = None) -> dict:
    """Fit ``spec`` updated with each grid point on ``fit`` (early stopping on ``valid``), score it on
    ``valid`` only, and return the table, the chosen point (highest mean of tone macro-F1 and
    themes sample-F1 on validation; ties to the earlier point) and its model."""
    table, best, best_model = [], None, None
    for point in grid_points(grid):
        t0 = time.perf_counter()
        model = fit_design(kind, {**spec, **point}, fit, valid, seed, schema=schema)
        seconds = time.perf_counter() - t0
        h = headline_of(valid, model.predict_proba([r["text"] for r in valid]))
        stats = getattr(model, "training_stats_", {}) or {}
        row = {**point, **{f"valid_{k}": round(v, 4) for k, v in h.items()}, "fit_seconds": round(seconds, 1),
               "best_epoch": stats.get("best_epoch"), "epochs_run": stats.get("epochs_run")}
        table.append(row)
        log(f"search {point}: valid tone {h['tone_macro_f1']:.3f} themes {h['themes_sample_f1']:.3f} "
            f"({seconds:.0f} s, best epoch {row['best_epoch']})")
        if best is None or h["score"] > best[1] + 1e-12:
            best, best_model = (point, h["score"]), model
    return {"grid": grid, "table": table, "chosen": best[0] if best else {}, "model": best_model,
            "criterion": "mean of tone macro-F1 and themes sample-F1 on the validation part only"}


def choose_ensemble(valid: list[dict], a, b, weights=(0.0, 0.25, 0.5, 0.75, 1.0)) -> dict:
    """Per-task weights of ``a`` against ``b`` (``Scores`` of ``valid``) and the mix's theme
    thresholds, chosen on ``valid``'s gold (:func:`vistance.models.ensemble.choose_task_weights`)."""
    from vistance.models.ensemble import choose_task_weights

    Yt, yt = label_arrays(valid, a.schema)
    return choose_task_weights(Yt, yt, a, b, weights)


def apply_ensemble(choice: dict, a, b):
    """The ensemble's scores from members' scores ``a`` and ``b`` with the chosen weights."""
    from vistance.models.ensemble import mix_scores

    return mix_scores(a, b, choice["themes_weight"], choice["tone_weight"], choice["thresholds"])


__all__ = ["HeldoutDesign", "heldout_design", "fit_design", "headline_of", "grid_points", "validation_search",
           "choose_ensemble", "apply_ensemble"]
