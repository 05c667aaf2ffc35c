"""Metrics for themes (multi-label) and tone (single-label), with article-level bootstrap.

All functions take label *indices* in schema order: themes as a binary matrix
``[n, len(THEMES)]``, tone as a vector of indices into ``TONES``. The metrics are
scikit-learn's (:mod:`vistance.models.scoring`, shared with training); the intervals
come from the one article bootstrap (:mod:`vistance.evaluation.bootstrap`).
"""
from __future__ import annotations

import numpy as np

from vistance.evaluation.bootstrap import bootstrap_ci
from vistance.evaluation.bootstrap import paired_bootstrap as _paired_bootstrap
from vistance.models.scoring import theme_metrics, tone_metrics

HEADLINE = {
    "themes_sample_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["sample_f1"],
    "themes_micro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["micro_f1"],
    "themes_macro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["macro_f1"],
    "tone_macro_f1": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp)["macro_f1"],
    "tone_accuracy": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp)["accuracy"],
}


def headline_with_ci(Y_true, Y_pred, y_true, y_pred, groups, n_boot: int = 1000, seed: int = 0) -> dict:
    """Every headline metric with a 95 % CI from an article-level bootstrap."""
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = {}
    for name, fn in HEADLINE.items():
        out[name] = bootstrap_ci(lambda ix: fn(Y_true[ix], Y_pred[ix], y_true[ix], y_pred[ix]), groups, n_boot, seed)
    return out


def paired_bootstrap(metric_name: str, truth: tuple, pred_a: tuple, pred_b: tuple, groups,
                     n_boot: int = 1000, seed: int = 0) -> dict:
    """Paired bootstrap over articles of headline ``metric(A) - metric(B)`` on the same items.

    ``truth`` = (Y_true, y_true); ``pred_*`` = (Y_pred, y_pred). Returns the observed
    difference, its 95 % CI and a two-sided p-value (see
    :func:`vistance.evaluation.bootstrap.paired_bootstrap`).
    """
    fn = HEADLINE[metric_name]
    Yt, yt = (np.asarray(x) for x in truth)
    Ya, ya = (np.asarray(x) for x in pred_a)
    Yb, yb = (np.asarray(x) for x in pred_b)

    def difference(ix):
        return fn(Yt[ix], Ya[ix], yt[ix], ya[ix]) - fn(Yt[ix], Yb[ix], yt[ix], yb[ix])

    return {"metric": metric_name, **_paired_bootstrap(difference, groups, n_boot=n_boot, seed=seed)}


__all__ = ["HEADLINE", "theme_metrics", "tone_metrics", "bootstrap_ci", "headline_with_ci", "paired_bootstrap"]
