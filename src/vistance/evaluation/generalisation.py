"""How a model configuration holds up on news it was not trained on.

One fit of the configuration (:mod:`vistance.evaluation.heldout`) holds out every test below
at once; none shares an article, outlet or collection with what it was fitted on. The split
names come from ``params.yaml``'s ``corpora`` (:mod:`vistance.corpus.registry`; ``<train>``: the
keys of the training corpora, ``<key>``: the tested corpus's):

``heldout_source_<outlet>``
    each of the largest outlets, none of which the fit saw;
``train_<train>_test_<key>`` of a ``cross_era_test`` corpus
    its articles (another era, e.g. the seed articles) against a model of the training news;
``train_<train>_test_<key>`` of the ``cross_corpus_test`` corpus (:data:`CROSS_CORPUS` by default)
    the cross-corpus test: that collection's test articles (drawn at random before any model
    saw them) against a model that never saw that collection at all;
``train_both_test_<key>``
    the same test against the model trained on every collection (the pipeline's own
    model, scored, not re-fitted).

The *generalisation score* of a metric is the mean of (a) the mean over the held-out
outlets and (b) the cross-corpus split: the criterion `best` is chosen by.
Predictions of every split are kept so that paired bootstrap tests can compare two
models on exactly the same items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vistance.corpus import registry
from vistance.evaluation.bootstrap import bootstrap_ci, paired_bootstrap
from vistance.evaluation.metrics import headline_metrics, label_arrays
from vistance.labels.schema import LabelSchema

#: the default corpora's split names (vistance/data/corpora.yaml); with a config, ask the registry
#: (``registry.cross_corpus_split/cross_corpus_name/cross_corpus_both_name(cfg.corpora)``)
CROSS_CORPUS_SPLIT = registry.cross_corpus_split()
CROSS_CORPUS = registry.cross_corpus_name()
CROSS_CORPUS_BOTH = registry.cross_corpus_both_name()
SELECTION_METRICS = ("tone_macro_f1", "themes_sample_f1")


@dataclass
class SplitResult:
    """Headline metrics (with article-bootstrap CIs) and the per-item predictions of one split."""

    name: str
    train: int
    test: int
    headline: dict
    predictions: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {"train": self.train, "test": self.test,
                **{k: v["value"] if isinstance(v, dict) else v for k, v in self.headline.items()},
                "ci": {k: [v["low"], v["high"]] for k, v in self.headline.items() if isinstance(v, dict)}}


def score_split(name: str, model, train_n: int, test_rows: list[dict], n_boot: int, seed: int) -> SplitResult:
    """Score ``model`` on ``test_rows`` (labels in ``model.schema``): headline metrics with CIs and
    prediction records."""
    sc = model.predict_proba([r["text"] for r in test_rows])
    Yp, yp = sc.theme_matrix(), sc.tone.argmax(axis=1)
    Yt, yt = label_arrays(test_rows, model.schema)
    groups = [r["article_id"] for r in test_rows]
    head = {}
    for m, fn in headline_metrics(model.schema).items():  # intervals for the two selection metrics; point values for the rest
        if m in SELECTION_METRICS:
            head[m] = bootstrap_ci(lambda ix, fn=fn: fn(Yt[ix], Yp[ix], yt[ix], yp[ix]), groups, n_boot, seed)
        else:
            head[m] = float(fn(Yt, Yp, yt, yp))
    preds = []
    for r, rec in zip(test_rows, sc.records([r["id"] for r in test_rows])):
        preds.append({"split": name, "id": r["id"], "article_id": r["article_id"], "themes": rec["themes"],
                      "tone": rec["tone"], "true": {"themes": r["themes"], "tone": r["tone"]}})
    return SplitResult(name, train_n, len(test_rows), head, preds)


def generalisation_score(gen: dict, corpora=None) -> dict:
    """Per selection metric: mean of (mean over held-out outlets) and the cross-corpus split
    (of ``corpora``, ``Config.corpora``; None: the default corpora).

    A part that is missing (no outlet large enough, no cross-corpus test on this machine)
    is left out of the mean; ``None`` when both are missing.
    """
    cross = registry.cross_corpus_name(corpora)
    out = {}
    for m in SELECTION_METRICS:
        outlets = [v[m] for k, v in gen.items() if k.startswith("heldout_source_") and m in v]
        parts = []
        if outlets:
            parts.append(float(np.mean(outlets)))
        if cross in gen and m in gen[cross]:
            parts.append(float(gen[cross][m]))
        out[m] = float(np.mean(parts)) if parts else None
    out["parts"] = {"heldout_outlets": sum(k.startswith("heldout_source_") for k in gen),
                    "cross_corpus": cross in gen}
    return out


def paired_generalisation_test(preds_a: list[dict], preds_b: list[dict], metric: str, splits: list[str],
                               schema: LabelSchema, *, n_boot: int, seed: int) -> dict | None:
    """Paired article bootstrap of ``metric(A) - metric(B)``, averaged over ``splits``.

    Both prediction lists must cover the same items of those splits (matched by split and
    id). Each replicate resamples articles; the difference is computed per split on the
    replicate's items and averaged, as the generalisation score averages splits.
    """
    key = lambda p: (p["split"], p["id"])  # noqa: E731
    a = {key(p): p for p in preds_a if p["split"] in splits}
    b = {key(p): p for p in preds_b if p["split"] in splits}
    items = sorted(set(a) & set(b))
    if not items or len(items) != len(a) or len(items) != len(b):
        return None
    fn = headline_metrics(schema)[metric]
    Yt, yt = label_arrays((a[k]["true"] for k in items), schema)
    Ya, ya = label_arrays((a[k] for k in items), schema)
    Yb, yb = label_arrays((b[k] for k in items), schema)
    split_of = np.array([k[0] for k in items])
    groups = [f"{k[0]}::{a[k]['article_id']}" for k in items]
    masks = [split_of == s for s in splits if (split_of == s).any()]

    def difference(ix):
        diffs = []
        for m in masks:
            sel = ix[m[ix]]
            if len(sel) == 0:
                continue
            diffs.append(fn(Yt[sel], Ya[sel], yt[sel], ya[sel]) - fn(Yt[sel], Yb[sel], yt[sel], yb[sel]))
        return float(np.mean(diffs)) if diffs else 0.0

    return {"metric": metric, "splits": list(splits), "items": len(items), **paired_bootstrap(difference, groups, n_boot=n_boot, seed=seed)}


__all__ = ["CROSS_CORPUS", "CROSS_CORPUS_BOTH", "CROSS_CORPUS_SPLIT", "SplitResult", "score_split",
           "generalisation_score", "paired_generalisation_test"]
