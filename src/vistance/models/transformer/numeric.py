"""Torch-free numeric pieces of the transformer: windows over long paragraphs, pooling
window outputs back to paragraphs, logits to probabilities, class weights, the
validation score used for early stopping."""
from __future__ import annotations

import numpy as np

from vistance.labels.schema import LabelSchema
from vistance.models.base import Scores
from vistance.models.scoring import theme_metrics, tone_metrics

POS_WEIGHT_CAP = 50.0


def window_spans(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``n_tokens`` subwords with windows of at most
    ``max_length - 2`` subwords (room for ``<s>``/``</s>``); consecutive windows
    overlap by at least ``stride``; the last one ends at ``n_tokens``. A short (or
    empty) sequence is one span."""
    body = max_length - 2
    if body < 1 or not 0 <= stride < body:
        raise ValueError(f"need max_length >= 3 and 0 <= stride < max_length - 2, got {max_length}, {stride}")
    if n_tokens <= body:
        return [(0, n_tokens)]
    step = body - stride
    starts = list(range(0, n_tokens - body, step)) + [n_tokens - body]
    return [(s, s + body) for s in starts]


def pool_windows(theme_probs: np.ndarray, tone_probs: np.ndarray, owners: np.ndarray, n: int):
    """Pool window rows to ``n`` paragraphs (``owners[i]`` = paragraph of window ``i``):
    theme max, tone mean (renormalised)."""
    themes = np.zeros((n, theme_probs.shape[1]))
    tone = np.zeros((n, tone_probs.shape[1]))
    counts = np.bincount(owners, minlength=n).astype(float)
    np.maximum.at(themes, owners, theme_probs)
    np.add.at(tone, owners, tone_probs)
    tone /= np.maximum(counts, 1.0)[:, None]
    tone /= np.maximum(tone.sum(axis=1, keepdims=True), 1e-12)
    return themes, tone


def probs_from_logits(logits: np.ndarray, n_themes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[n, n_themes + n_tones]`` logits into theme sigmoids ``[n, n_themes]`` and tone
    softmaxes ``[n, n_tones]``."""
    k = n_themes
    theme = 1.0 / (1.0 + np.exp(-np.clip(logits[:, :k], -50, 50)))
    z = logits[:, k:] - logits[:, k:].max(axis=1, keepdims=True)
    e = np.exp(z)
    return theme, e / e.sum(axis=1, keepdims=True)


def theme_pos_weights(Y: np.ndarray, cap: float = POS_WEIGHT_CAP) -> np.ndarray:
    """``negatives / positives`` per theme column of a multi-hot ``[n, n_themes]`` matrix,
    clipped to ``[1/cap, cap]``; 1 for a theme with no positive."""
    Y = np.asarray(Y, dtype=float)
    pos = Y.sum(axis=0)
    neg = Y.shape[0] - pos
    w = np.where(pos > 0, neg / np.maximum(pos, 1.0), 1.0)
    return np.clip(w, 1.0 / cap, cap)


def tone_class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Balanced weights ``n / (k * n_c)`` for tone indices ``y``; 1 for an absent class."""
    y = np.asarray(y, dtype=int)
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1.0)), 1.0)


def valid_scores(theme_probs, tone_probs, Y, y, schema: LabelSchema, thresholds=None) -> dict:
    """Theme macro-F1 (decisions of :meth:`Scores.theme_matrix`, over themes present in
    ``Y``), tone macro-F1 (over tones present in ``y``) and their mean ``macro_f1`` —
    the same metrics evaluation reports (:mod:`vistance.models.scoring`); ``schema``: the label set."""
    dec = Scores(theme_probs, tone_probs, thresholds, schema).theme_matrix()
    theme_f1 = theme_metrics(Y, dec, schema.theme_names)["macro_f1"]
    tone_f1 = tone_metrics(y, np.asarray(tone_probs).argmax(axis=1), schema.tone_names)["macro_f1"]
    return {"theme_macro_f1": theme_f1, "tone_macro_f1": tone_f1, "macro_f1": (theme_f1 + tone_f1) / 2}
