"""Metrics for themes (multi-label) and tone (single-label), with article-level bootstrap.

All functions take label *indices* in schema order: themes as a binary matrix
``[n, len(THEMES)]``, tone as a vector of indices into ``TONES``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from vistance.labels.schema import THEMES, TONES


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def theme_metrics(Y_true: np.ndarray, Y_pred: np.ndarray) -> dict:
    """Sample-F1, micro-F1, macro-F1 (over labels present in ``Y_true``) and per-label P/R/F1."""
    Y_true = np.asarray(Y_true, dtype=int)
    Y_pred = np.asarray(Y_pred, dtype=int)
    tp = (Y_true & Y_pred).sum(axis=0)
    fp = ((1 - Y_true) & Y_pred).sum(axis=0)
    fn = (Y_true & (1 - Y_pred)).sum(axis=0)
    per = {}
    for j, t in enumerate(THEMES):
        p, r, f = _prf(tp[j], fp[j], fn[j])
        per[t] = {"precision": p, "recall": r, "f1": f, "support": int(Y_true[:, j].sum())}
    present = [t for t in THEMES if per[t]["support"] > 0]
    macro = float(np.mean([per[t]["f1"] for t in present])) if present else 0.0
    micro = _prf(tp.sum(), fp.sum(), fn.sum())[2]
    inter = (Y_true & Y_pred).sum(axis=1)
    denom = Y_true.sum(axis=1) + Y_pred.sum(axis=1)
    sample = float(np.mean(np.where(denom > 0, 2 * inter / np.maximum(denom, 1), 1.0))) if len(Y_true) else 0.0
    exact = float(np.mean((Y_true == Y_pred).all(axis=1))) if len(Y_true) else 0.0
    return {"sample_f1": sample, "micro_f1": float(micro), "macro_f1": macro, "exact_match": exact, "per_label": per}


def tone_metrics(y_true, y_pred) -> dict:
    """Macro-F1 (over classes present in ``y_true``), accuracy, per-class P/R/F1, confusion matrix
    (rows = true, columns = predicted, in ``TONES`` order)."""
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    k = len(TONES)
    cm = np.zeros((k, k), dtype=int)
    for a, b in zip(y_true, y_pred):
        cm[a, b] += 1
    per = {}
    for j, t in enumerate(TONES):
        p, r, f = _prf(cm[j, j], cm[:, j].sum() - cm[j, j], cm[j, :].sum() - cm[j, j])
        per[t] = {"precision": p, "recall": r, "f1": f, "support": int(cm[j, :].sum())}
    present = [t for t in TONES if per[t]["support"] > 0]
    macro = float(np.mean([per[t]["f1"] for t in present])) if present else 0.0
    acc = float(np.trace(cm) / cm.sum()) if cm.sum() else 0.0
    return {"macro_f1": macro, "accuracy": acc, "per_class": per, "confusion_matrix": cm.tolist()}


HEADLINE = {
    "themes_sample_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["sample_f1"],
    "themes_micro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["micro_f1"],
    "themes_macro_f1": lambda Yt, Yp, yt, yp: theme_metrics(Yt, Yp)["macro_f1"],
    "tone_macro_f1": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp)["macro_f1"],
    "tone_accuracy": lambda Yt, Yp, yt, yp: tone_metrics(yt, yp)["accuracy"],
}


def _group_index(groups) -> list[np.ndarray]:
    idx = defaultdict(list)
    for i, g in enumerate(groups):
        idx[g].append(i)
    return [np.array(idx[g]) for g in sorted(idx)]


def bootstrap_ci(metric: Callable[[np.ndarray], float], groups, n_boot: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> dict:
    """Percentile CI of ``metric(indices)`` resampling whole *groups* (articles) with replacement.

    ``metric`` receives an index array (with repeats) into the evaluation items.
    """
    blocks = _group_index(groups)
    rng = np.random.default_rng(seed)
    point = metric(np.concatenate(blocks)) if blocks else float("nan")
    vals = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(blocks), size=len(blocks))
        vals.append(metric(np.concatenate([blocks[i] for i in pick])))
    vals = np.array(vals)
    return {"value": float(point), "low": float(np.quantile(vals, alpha / 2)),
            "high": float(np.quantile(vals, 1 - alpha / 2)), "std": float(vals.std(ddof=1)) if n_boot > 1 else 0.0}


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
    """Paired bootstrap over articles of ``metric(A) - metric(B)`` on the same items.

    ``truth`` = (Y_true, y_true); ``pred_*`` = (Y_pred, y_pred). Returns the observed
    difference, its 95 % CI and a two-sided p-value (share of resamples whose
    difference crosses zero, doubled, capped at 1).
    """
    fn = HEADLINE[metric_name]
    Yt, yt = (np.asarray(x) for x in truth)
    Ya, ya = (np.asarray(x) for x in pred_a)
    Yb, yb = (np.asarray(x) for x in pred_b)
    blocks = _group_index(groups)
    allix = np.concatenate(blocks)
    diff = fn(Yt[allix], Ya[allix], yt[allix], ya[allix]) - fn(Yt[allix], Yb[allix], yt[allix], yb[allix])
    rng = np.random.default_rng(seed)
    ds = []
    for _ in range(n_boot):
        ix = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), size=len(blocks))])
        ds.append(fn(Yt[ix], Ya[ix], yt[ix], ya[ix]) - fn(Yt[ix], Yb[ix], yt[ix], yb[ix]))
    ds = np.array(ds)
    if len(blocks) < 2:
        p = float("nan")  # one article: resampling cannot tell chance from a difference
    elif diff >= 0:
        p = 2 * float(np.mean(ds <= 0))
    else:
        p = 2 * float(np.mean(ds >= 0))
    return {"metric": metric_name, "difference": float(diff), "low": float(np.quantile(ds, 0.025)),
            "high": float(np.quantile(ds, 0.975)), "p_value": min(1.0, p) if p == p else p,
            "n_articles": len(blocks), "n_boot": n_boot}
