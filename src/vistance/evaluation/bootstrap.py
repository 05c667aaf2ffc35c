"""The one article bootstrap behind every confidence interval of vistance.

Paragraphs of one article are not independent, so every interval resamples whole
*articles* with replacement: the test-set metric CIs (:func:`bootstrap_ci`), the paired
model-vs-baseline tests (:func:`paired_bootstrap`) and the analysis bands of the
cooperation index (:func:`vistance.analysis.aggregate.bootstrap_band`) all draw their
replicates from :func:`article_draws` and read them with :func:`percentile_interval`.

The same ``seed`` (or generator state) gives the same replicates, so the numbers in
``experiments/`` are reproducible.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterator, Sequence

import numpy as np


def article_blocks(groups: Sequence) -> list[np.ndarray]:
    """Item indices of each article, articles in sorted order (the resampling units)."""
    idx = defaultdict(list)
    for i, g in enumerate(groups):
        idx[g].append(i)
    return [np.array(idx[g]) for g in sorted(idx)]


def article_draws(n_articles: int, n_boot: int, rng: np.random.Generator,
                  rows_per_draw: int = 1) -> Iterator[np.ndarray]:
    """Article indices of ``n_boot`` replicates, each ``n_articles`` articles drawn with replacement.

    Yields ``[m, n_articles]`` integer arrays with ``m <= rows_per_draw`` (their rows
    together are the ``n_boot`` replicates, in order). ``rows_per_draw`` bounds memory
    for vectorised statistics; the stream of replicates depends on it, so a caller keeps
    it fixed to keep its numbers.
    """
    rows_per_draw = max(1, int(rows_per_draw))
    for start in range(0, n_boot, rows_per_draw):
        m = min(rows_per_draw, n_boot - start)
        yield rng.integers(0, n_articles, size=(m, n_articles) if rows_per_draw > 1 else n_articles).reshape(m, -1)


def replicate_indices(blocks: list[np.ndarray], n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Item indices (with repeats) of each replicate: the items of the drawn articles, in draw order."""
    flat = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.intp)
    sizes = np.array([len(b) for b in blocks], dtype=np.intp)
    starts = np.cumsum(sizes) - sizes
    for draw in article_draws(len(blocks), n_boot, rng):
        n = sizes[draw[0]]    # a ragged gather: block i's items are flat[starts[i]:starts[i] + sizes[i]]
        yield flat[np.repeat(starts[draw[0]] - (np.cumsum(n) - n), n) + np.arange(n.sum())]


def _replicates(statistic: Callable[[np.ndarray], float], blocks, n_boot: int, seed: int) -> np.ndarray:
    """``statistic`` of each of ``n_boot`` article-bootstrap replicates (generator seeded with ``seed``)."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(ix) for ix in replicate_indices(blocks, n_boot, rng)], dtype=float)


def percentile_interval(values, level: float = 0.95, *, alpha: float | None = None) -> tuple[float, float]:
    """``(low, high)`` percentile interval of bootstrap ``values`` at ``level`` (or miss rate ``alpha`` =
    ``1 - level``, split evenly between the tails). NaNs are dropped; NaNs if none are left."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level if alpha is None else alpha) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_ci(metric: Callable[[np.ndarray], float], groups, n_boot: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> dict:
    """Percentile CI of ``metric(indices)`` resampling whole *groups* (articles) with replacement.

    ``metric`` receives an index array (with repeats) into the evaluation items.
    Returns ``{"value", "low", "high", "std"}`` (``value`` on all items once).
    """
    blocks = article_blocks(groups)
    point = metric(np.concatenate(blocks)) if blocks else float("nan")
    vals = _replicates(metric, blocks, n_boot, seed)
    low, high = percentile_interval(vals, alpha=alpha)
    return {"value": float(point), "low": low, "high": high, "std": float(vals.std(ddof=1)) if n_boot > 1 else 0.0}


def paired_bootstrap(difference: Callable[[np.ndarray], float], groups, n_boot: int = 1000, seed: int = 0,
                     alpha: float = 0.05) -> dict:
    """Paired bootstrap over articles of a *difference* ``difference(indices)`` (model A minus B on the
    same items). Returns the observed difference, its percentile CI and a two-sided p-value (share of
    resamples whose difference crosses zero, doubled, capped at 1; NaN for a single article)."""
    blocks = article_blocks(groups)
    diff = difference(np.concatenate(blocks))
    ds = _replicates(difference, blocks, n_boot, seed)
    if len(blocks) < 2:
        p = float("nan")  # one article: resampling cannot tell chance from a difference
    elif diff >= 0:
        p = min(1.0, 2 * float(np.mean(ds <= 0)))
    else:
        p = min(1.0, 2 * float(np.mean(ds >= 0)))
    low, high = percentile_interval(ds, alpha=alpha)
    return {"difference": float(diff), "low": low, "high": high, "p_value": p, "n_articles": len(blocks), "n_boot": n_boot}
