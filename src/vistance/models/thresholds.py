"""Per-label decision thresholds tuned on held-out scores."""
from __future__ import annotations

import numpy as np

GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def tune_thresholds(y_true: np.ndarray, scores: np.ndarray, default: float = 0.5, min_positives: int = 2) -> np.ndarray:
    """For each column, the grid threshold that maximises F1 of ``scores >= t`` against ``y_true``.

    Columns with fewer than ``min_positives`` positives keep ``default``. Ties go to
    the threshold closest to ``default`` so the choice is stable.
    """
    y_true = np.asarray(y_true)
    scores = np.asarray(scores)
    out = np.full(y_true.shape[1], default, dtype=float)
    for j in range(y_true.shape[1]):
        y = y_true[:, j]
        if y.sum() < min_positives:
            continue
        best, best_f1 = default, -1.0
        for t in sorted(GRID, key=lambda t: abs(t - default)):
            p = scores[:, j] >= t
            tp = float((p & (y == 1)).sum())
            denom = p.sum() + y.sum()
            f1 = 2 * tp / denom if denom else 0.0
            if f1 > best_f1 + 1e-12:
                best, best_f1 = float(t), f1
        out[j] = best
    return out
