"""Precision, recall, F1 and confusion of theme and tone decisions (scikit-learn), in one place.

Training (the transformer's early-stopping score) and evaluation
(:mod:`vistance.evaluation.metrics`) both use these, so a model is selected on the
metric it is reported with. Inputs are label *indices* in schema order: themes as a
binary matrix ``[n, len(names)]``, tone as a vector of indices into the tone ``names``
(a model's ``schema.theme_names`` / ``schema.tone_names``).
Macro averages run over the labels present in the truth (a label absent from the
gold is neither rewarded nor punished).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def _per_label(p, r, f, support, names) -> dict:
    return {t: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "support": int(support[j])}
            for j, t in enumerate(names)}


def _present_mean(per: dict) -> float:
    present = [v["f1"] for v in per.values() if v["support"] > 0]
    return float(np.mean(present)) if present else 0.0


def theme_metrics(Y_true, Y_pred, names: Sequence[str]) -> dict:
    """Sample-F1, micro-F1, macro-F1 (over themes present in ``Y_true``), exact match and
    per-theme precision/recall/F1/support of binary ``[n, len(names)]`` matrices."""
    names = tuple(names)
    Y_true = np.asarray(Y_true, dtype=int).reshape(-1, len(names))
    Y_pred = np.asarray(Y_pred, dtype=int).reshape(-1, len(names))
    support = Y_true.sum(axis=0)
    if not len(Y_true):
        zeros = np.zeros(len(names))
        per = _per_label(zeros, zeros, zeros, support, names)
        return {"sample_f1": 0.0, "micro_f1": 0.0, "macro_f1": 0.0, "exact_match": 0.0, "per_label": per}
    p, r, f, _ = precision_recall_fscore_support(Y_true, Y_pred, average=None, zero_division=0.0)
    per = _per_label(p, r, f, support, names)
    return {
        "sample_f1": float(f1_score(Y_true, Y_pred, average="samples", zero_division=1.0)),
        "micro_f1": float(f1_score(Y_true, Y_pred, average="micro", zero_division=0.0)),
        "macro_f1": _present_mean(per),
        "exact_match": float(accuracy_score(Y_true, Y_pred)),
        "per_label": per,
    }


def tone_metrics(y_true, y_pred, names: Sequence[str]) -> dict:
    """Macro-F1 (over tones present in ``y_true``), accuracy, per-tone precision/recall/F1/support
    and the confusion matrix (rows = true, columns = predicted, in ``names`` order)."""
    names = tuple(names)
    y_true = np.asarray(y_true, dtype=int).ravel()
    y_pred = np.asarray(y_pred, dtype=int).ravel()
    labels = list(range(len(names)))
    if not len(y_true):
        zeros = np.zeros(len(names))
        per = _per_label(zeros, zeros, zeros, np.zeros(len(names), dtype=int), names)
        return {"macro_f1": 0.0, "accuracy": 0.0, "per_class": per,
                "confusion_matrix": np.zeros((len(names), len(names)), dtype=int).tolist()}
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0.0)
    per = _per_label(p, r, f, support, names)
    return {"macro_f1": _present_mean(per), "accuracy": float(accuracy_score(y_true, y_pred)), "per_class": per,
            "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()}
