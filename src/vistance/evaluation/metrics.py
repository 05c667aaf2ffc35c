"""Headline metrics for themes (multi-label) and tone (single-label), with article-level bootstrap.

Functions take label *indices* in the column order of a :class:`~vistance.labels.schema.LabelSchema`
(the model's, checked equal to the dataset's): themes as a binary matrix ``[n, len(schema.themes)]``,
tone as a vector of indices into ``schema.tones``. The metrics are scikit-learn's
(:mod:`vistance.models.scoring`, shared with training); the intervals come from the one article
bootstrap (:mod:`vistance.evaluation.bootstrap`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from vistance.evaluation.bootstrap import bootstrap_ci, paired_bootstrap
from vistance.labels.schema import LabelSchema
from vistance.models.scoring import theme_metrics, tone_metrics

#: the headline metrics, in the order every report lists them
HEADLINE = ("themes_sample_f1", "themes_micro_f1", "themes_macro_f1", "tone_macro_f1", "tone_accuracy")

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def headline_metrics(schema: LabelSchema) -> dict[str, Metric]:
    """Each headline metric as ``fn(Y_true, Y_pred, y_true, y_pred) -> float`` for ``schema``'s labels."""
    th, to = schema.theme_names, schema.tone_names
    return {
        "themes_sample_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp, th)["sample_f1"],
        "themes_micro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp, th)["micro_f1"],
        "themes_macro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp, th)["macro_f1"],
        "tone_macro_f1": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp, to)["macro_f1"],
        "tone_accuracy": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp, to)["accuracy"],
    }


def label_arrays(items, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray]:
    """``items``' labels (each with ``themes`` names and a ``tone`` name) as arrays in ``schema`` order:
    themes ``[n, len(themes)]`` multi-hot, tone indices ``[n]``."""
    items = list(items)
    themes = schema.theme_names
    Y = np.array([[int(t in set(r["themes"])) for t in themes] for r in items], dtype=int).reshape(-1, len(themes))
    y = np.array([schema.tone_names.index(r["tone"]) for r in items], dtype=int)
    return Y, y


def headline(Y_true, Y_pred, y_true, y_pred, schema: LabelSchema) -> dict[str, float]:
    """Every headline metric (point values)."""
    return {k: float(fn(Y_true, Y_pred, y_true, y_pred)) for k, fn in headline_metrics(schema).items()}


def headline_with_ci(Y_true, Y_pred, y_true, y_pred, groups, schema: LabelSchema, *, n_boot: int, seed: int) -> dict:
    """Every headline metric with a 95 % CI from an article-level bootstrap."""
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {name: bootstrap_ci(lambda ix, fn=fn: fn(Y_true[ix], Y_pred[ix], y_true[ix], y_pred[ix]), groups, n_boot, seed)
            for name, fn in headline_metrics(schema).items()}


def paired_difference(metric_name: str, truth: tuple, pred_a: tuple, pred_b: tuple, groups, schema: LabelSchema, *,
                      n_boot: int, seed: int) -> dict:
    """Paired article bootstrap of headline ``metric(A) - metric(B)`` on the same items.

    ``truth`` = (Y_true, y_true); ``pred_*`` = (Y_pred, y_pred). Returns ``metric`` and what
    :func:`vistance.evaluation.bootstrap.paired_bootstrap` returns (difference, 95 % CI, p-value).
    """
    fn = headline_metrics(schema)[metric_name]
    Yt, yt = (np.asarray(x) for x in truth)
    Ya, ya = (np.asarray(x) for x in pred_a)
    Yb, yb = (np.asarray(x) for x in pred_b)

    def difference(ix):
        return fn(Yt[ix], Ya[ix], yt[ix], ya[ix]) - fn(Yt[ix], Yb[ix], yt[ix], yb[ix])

    return {"metric": metric_name, **paired_bootstrap(difference, groups, n_boot=n_boot, seed=seed)}


__all__ = ["HEADLINE", "headline_metrics", "label_arrays", "headline", "headline_with_ci", "paired_difference",
           "theme_metrics", "tone_metrics", "bootstrap_ci"]
