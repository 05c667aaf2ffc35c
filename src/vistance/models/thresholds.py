"""Per-label decision thresholds tuned on held-out scores."""
from __future__ import annotations

from typing import Callable, Sequence

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


def item_groups(groups: Sequence[str] | None, n: int) -> list[str]:
    """``groups`` as a list, or one group per item (``"0"``, ``"1"``, …) when ``None``."""
    return list(groups) if groups is not None else [str(i) for i in range(n)]


def tune_thresholds_out_of_fold(
    fit_score: Callable[[list[int], list[int]], np.ndarray | None],
    Y: np.ndarray,
    groups: Sequence[str] | None,
    k: int,
    seed: int,
    min_items: int = 20,
) -> np.ndarray:
    """Per-theme thresholds (:func:`tune_thresholds`) on out-of-fold scores of article-grouped folds.

    ``fit_score(train_idx, test_idx)`` fits on the training rows and returns the ``[len(test_idx),
    n_labels]`` scores of the test rows, or ``None`` to skip that fold (its rows then score 0).
    ``Y`` is the binary ``[n, n_labels]`` truth; ``groups`` the article id of each row (``None``: one
    group per row); ``k`` folds at most (never more than there are groups) by
    :func:`vistance.dataset.splits.grouped_kfold` with ``seed``. With fewer than ``min_items`` rows
    or fewer than two folds every threshold stays 0.5.
    """
    from vistance.dataset.splits import grouped_kfold

    Y = np.asarray(Y)
    out = np.full(Y.shape[1], 0.5)
    g = item_groups(groups, len(Y))
    k = min(k, len(set(g)))
    if len(Y) < min_items or k < 2:
        return out
    oof = np.zeros(Y.shape, dtype=float)
    for tr, te in grouped_kfold(g, k=k, seed=seed):
        scores = fit_score(tr, te)
        if scores is not None:
            oof[te] = scores
    return tune_thresholds(Y, oof)
