"""Headline metrics for themes (multi-label) and tone (single-label), with article-level bootstrap.

Functions take label *indices* in the column order of a :class:`~vistance.labels.schema.LabelSchema`
(the model's, checked equal to the dataset's): themes as a binary matrix ``[n, len(schema.themes)]``,
tone as a vector of indices into ``schema.tones``. The metrics are scikit-learn's
(:mod:`vistance.models.scoring`, shared with training); the headline values a bootstrap recomputes
thousands of times (:func:`headline_metrics`) use the same formulas in plain numpy, equal to
scikit-learn's to the last bit (tested) at a fraction of its per-call validation cost. The intervals
come from the one article bootstrap (:mod:`vistance.evaluation.bootstrap`).
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


def _f1(tp, true, pred, zero_division: float) -> np.ndarray:
    """F1 = 2·tp / (true + pred) in float64 as ``sklearn.metrics.precision_recall_fscore_support``
    computes it; ``zero_division`` where ``true + pred`` is 0."""
    denom = np.asarray(true, dtype=np.float64) + np.asarray(pred, dtype=np.float64)
    zero = denom == 0
    denom[zero] = 1.0
    f = 2.0 * np.asarray(tp, dtype=np.float64) / denom
    f[zero] = zero_division
    return f


def _present_mean(f: np.ndarray, support: np.ndarray) -> float:
    """Mean F1 over the labels present in the truth (0.0 without any), as :mod:`vistance.models.scoring`."""
    present = f[support > 0]
    return float(np.mean(present)) if present.size else 0.0


def _theme_counts(Yt, Yp, n_labels: int):
    Yt = np.asarray(Yt).reshape(-1, n_labels) != 0
    Yp = np.asarray(Yp).reshape(-1, n_labels) != 0
    return Yt, Yp, Yt & Yp


def themes_sample_f1(Yt, Yp, n_labels: int) -> float:
    """``theme_metrics(...)["sample_f1"]`` (a unit with no theme true or predicted scores 1)."""
    Yt, Yp, both = _theme_counts(Yt, Yp, n_labels)
    if not len(Yt):
        return 0.0
    return float(np.nanmean(_f1(both.sum(axis=1), Yt.sum(axis=1), Yp.sum(axis=1), 1.0)))


def themes_micro_f1(Yt, Yp, n_labels: int) -> float:
    """``theme_metrics(...)["micro_f1"]``."""
    Yt, Yp, both = _theme_counts(Yt, Yp, n_labels)
    if not len(Yt):
        return 0.0
    return float(_f1([both.sum()], [Yt.sum()], [Yp.sum()], 0.0)[0])


def themes_macro_f1(Yt, Yp, n_labels: int) -> float:
    """``theme_metrics(...)["macro_f1"]`` (over the themes present in ``Yt``)."""
    Yt, Yp, both = _theme_counts(Yt, Yp, n_labels)
    if not len(Yt):
        return 0.0
    support = Yt.sum(axis=0)
    return _present_mean(_f1(both.sum(axis=0), support, Yp.sum(axis=0), 0.0), support)


def tone_macro_f1(yt, yp, n_labels: int) -> float:
    """``tone_metrics(...)["macro_f1"]`` (over the tones present in ``yt``)."""
    yt, yp = np.asarray(yt, dtype=np.intp).ravel(), np.asarray(yp, dtype=np.intp).ravel()
    if not len(yt):
        return 0.0
    support = np.bincount(yt, minlength=n_labels)
    tp = np.bincount(yt[yt == yp], minlength=n_labels)
    return _present_mean(_f1(tp, support, np.bincount(yp, minlength=n_labels), 0.0), support)


def tone_accuracy(yt, yp) -> float:
    """``tone_metrics(...)["accuracy"]``."""
    yt, yp = np.asarray(yt).ravel(), np.asarray(yp).ravel()
    return float(np.mean(yt == yp)) if len(yt) else 0.0


def headline_metrics(schema: LabelSchema) -> dict[str, Metric]:
    """Each headline metric as ``fn(Y_true, Y_pred, y_true, y_pred) -> float`` for ``schema``'s labels
    (the values of :func:`theme_metrics` / :func:`tone_metrics`, computed without their per-call overhead)."""
    nth, nto = len(schema.theme_names), len(schema.tone_names)
    return {
        "themes_sample_f1": lambda Yt, Yp, yt, yp: themes_sample_f1(Yt, Yp, nth),
        "themes_micro_f1": lambda Yt, Yp, yt, yp: themes_micro_f1(Yt, Yp, nth),
        "themes_macro_f1": lambda Yt, Yp, yt, yp: themes_macro_f1(Yt, Yp, nth),
        "tone_macro_f1": lambda Yt, Yp, yt, yp: tone_macro_f1(yt, yp, nto),
        "tone_accuracy": lambda Yt, Yp, yt, yp: tone_accuracy(yt, yp),
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
