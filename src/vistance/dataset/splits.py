"""Splits that never put one article in two places."""
from __future__ import annotations

import random
from collections import Counter, defaultdict


def assign_groups(groups: list[str], fractions: dict[str, float], seed: int = 0) -> dict[str, str]:
    """Assign each distinct group (article) to a split so paragraph counts approach ``fractions``.

    Groups are shuffled with ``seed`` (after sorting, so the OS or input order
    does not matter), then each goes to the split furthest below its target.
    Returns ``{group: split_name}``.
    """
    sizes = Counter(groups)
    names = list(fractions)
    total = sum(sizes.values())
    target = {n: fractions[n] * total for n in names}
    have = {n: 0 for n in names}
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    out = {}
    for g in order:
        # the split with the largest remaining deficit (relative), ties in declared order
        best = max(names, key=lambda n: ((target[n] - have[n]) / max(target[n], 1e-9), -names.index(n)))
        out[g] = best
        have[best] += sizes[g]
    return out


def grouped_kfold(groups: list[str], k: int = 5, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """``k`` (train_idx, test_idx) folds over item indices, grouped by ``groups``."""
    distinct = sorted(set(groups))
    if len(distinct) < k:
        raise ValueError(f"grouped_kfold needs at least k={k} groups, got {len(distinct)}")
    fold_of = assign_groups(groups, {str(i): 1.0 / k for i in range(k)}, seed)
    folds = []
    for i in range(k):
        test = [j for j, g in enumerate(groups) if fold_of[g] == str(i)]
        train = [j for j, g in enumerate(groups) if fold_of[g] != str(i)]
        folds.append((train, test))
    return folds


def time_source_split(rows: list[dict], test_corpus: str | None = None, test_sources: list[str] | None = None,
                      after_date: str | None = None) -> tuple[list[int], list[int]]:
    """Train/test indices for a generalisation split: test on another corpus (e.g. the 2025–2026
    seed articles), other outlets, or articles dated after ``after_date``; train on the rest."""
    test = []
    for i, r in enumerate(rows):
        hit = False
        if test_corpus is not None and r.get("corpus") == test_corpus:
            hit = True
        if test_sources is not None and r.get("source") in test_sources:
            hit = True
        if after_date is not None and (r.get("date") or "") > after_date:
            hit = True
        test.append(hit)
    by_article = defaultdict(set)
    for i, r in enumerate(rows):
        by_article[r["article_id"]].add(test[i])
    # an article is test if any of its paragraphs is
    art_test = {a: any(v) for a, v in by_article.items()}
    tr = [i for i, r in enumerate(rows) if not art_test[r["article_id"]]]
    te = [i for i, r in enumerate(rows) if art_test[r["article_id"]]]
    return tr, te


def __getattr__(attr):
    if attr == "CROSS_CORPUS_SPLIT":   # the default corpora's; with a config: registry.cross_corpus_split(cfg.corpora)
        from vistance.corpus.registry import cross_corpus_split

        return cross_corpus_split()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def assign_splits(rows: list[dict], fractions: dict[str, float], seed: int = 0,
                  heldout_articles: dict[str, set[str]] | None = None,
                  primary_corpora: tuple[str, ...] | None = None) -> dict[str, str]:
    """``{article_id: split}`` for the dataset: in-sample splits plus held-out cross-corpus tests.

    - Articles named in ``heldout_articles`` (``{split_name: article ids}``, e.g. the
      cross-corpus test drawn at random before any model saw the corpus) go to that split,
      whatever corpus they belong to; they never reach train or validation.
    - Articles of ``primary_corpora`` are split by :func:`assign_groups` with ``fractions``
      exactly as if no other corpus were present (adding a corpus never moves them).
      ``None``: every corpus none of whose articles is held out (with a config:
      :func:`vistance.corpus.registry.primary_corpora`).
    - Articles of any other corpus that are not held out join ``train`` and ``validation``
      only (``fractions`` renormalised over those two), so "train on both" has them while
      every in-sample test stays where it was.
    """
    heldout_articles = heldout_articles or {}
    split_of: dict[str, str] = {}
    for name, arts in heldout_articles.items():
        for a in arts:
            split_of[a] = name
    if primary_corpora is None:
        held = {r.get("corpus") for r in rows if r["article_id"] in split_of}
        primary_corpora = tuple(sorted({r.get("corpus") for r in rows} - held, key=str))
    primary = [r["article_id"] for r in rows if r.get("corpus") in primary_corpora and r["article_id"] not in split_of]
    other = [r["article_id"] for r in rows if r.get("corpus") not in primary_corpora and r["article_id"] not in split_of]
    if primary:
        split_of.update(assign_groups(primary, fractions, seed))
    if other:
        fit = {k: v for k, v in fractions.items() if k in ("train", "validation")} or {"train": 1.0}
        total = sum(fit.values())
        split_of.update(assign_groups(other, {k: v / total for k, v in fit.items()}, seed))
    return split_of
