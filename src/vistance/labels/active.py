"""Active learning: which unlabelled units a person should read next.

Every strategy sits behind one small interface::

    sampler = make_sampler("margin", seed=13)
    ids = sampler.query(pool, n=200, labelled=done_ids, excluded=test_ids,
                        scores=model_scores, features=feature_matrix)

``pool`` is a sequence of unit ids; ``scores`` are a model's :class:`Scores`-like
arrays for those ids in the same order (``themes`` ``[n, n_themes]`` probabilities with
``thresholds``, ``tone`` ``[n, n_tones]``, columns in the order of the model's label schema);
``features`` an optional ``[n, d]`` matrix
(TF-IDF or embeddings) for diversity. A sampler never imports a model: it
receives what a model said. It never returns an id in ``labelled`` or
``excluded`` (e.g. a test set), and with the same inputs and seed it returns
the same ids. Scores only decide *what gets read*; the label is always an
annotator's.

Strategies:

``random``
    Uniform without replacement (seeded): the baseline every curve is read against.
``margin``
    Least confident first: ``u = (u_tone + u_themes) / 2`` where ``u_tone`` is one
    minus the margin between the two most probable tones, and ``u_themes`` is the
    largest closeness of any theme score to its decision threshold.
``diverse``
    ``margin`` for a shortlist of ``shortlist_factor * n`` candidates, then a
    greedy farthest-first walk over ``features`` (cosine) that starts from the
    most uncertain, so one batch does not spend itself on near-duplicates.
``balanced``
    Class-balanced: the batch is shared among theme and tone classes in inverse
    proportion to how often each is already labelled (``label_counts``), and each
    share goes to the pool units the model scores highest for that class, most
    uncertain first among ties; what is left over is filled by ``margin``. The classes
    are the schema's informative ones: its policy themes (not the catch-all) and its
    signal tones (not the no-signal tone).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Optional, Protocol, Sequence

import numpy as np

from vistance.labels.schema import LabelSchema, default_schema

STRATEGIES = ("random", "margin", "diverse", "balanced")


class Sampler(Protocol):
    """What every strategy provides."""

    name: str

    def query(self, pool: Sequence[str], n: int, *, labelled=(), excluded=(), scores=None,
              features=None, label_counts: Mapping[str, int] | None = None) -> list[str]: ...


def _candidates(pool: Sequence[str], labelled, excluded) -> np.ndarray:
    """Positions in ``pool`` that may be chosen (first occurrence of each id, not labelled, not excluded)."""
    banned = set(labelled) | set(excluded)
    seen: set[str] = set()
    keep = []
    for i, pid in enumerate(pool):
        if pid in banned or pid in seen:
            continue
        seen.add(pid)
        keep.append(i)
    return np.asarray(keep, dtype=int)


def uncertainty(scores) -> np.ndarray:
    """Per-unit uncertainty in [0, 1] from tone margin and theme closeness to threshold."""
    tone = np.asarray(scores.tone, dtype=float)
    top2 = np.sort(tone, axis=1)[:, -2:]
    u_tone = 1.0 - (top2[:, 1] - top2[:, 0])
    themes = np.asarray(scores.themes, dtype=float)
    thr = np.broadcast_to(np.asarray(getattr(scores, "thresholds", 0.5), dtype=float), themes.shape)
    span = np.maximum(thr, 1.0 - thr)
    u_themes = (1.0 - np.abs(themes - thr) / span).max(axis=1)
    return (u_tone + u_themes) / 2.0


def _check(scores, pool):
    if scores is None:
        raise ValueError("this strategy needs a model's scores for the pool")
    if len(scores.tone) != len(pool):
        raise ValueError(f"scores cover {len(scores.tone)} units but the pool has {len(pool)}")


def _by_uncertainty(u: np.ndarray, cand: np.ndarray, rng: random.Random) -> list[int]:
    """Candidates sorted most-uncertain first; ties broken by a seeded random key."""
    keys = {int(i): rng.random() for i in cand}
    return sorted((int(i) for i in cand), key=lambda i: (-round(float(u[i]), 12), keys[i]))


@dataclass
class RandomSampler:
    seed: int = 0
    name: str = "random"

    def query(self, pool, n, *, labelled=(), excluded=(), scores=None, features=None, label_counts=None):
        cand = [int(i) for i in _candidates(pool, labelled, excluded)]
        picked = random.Random(self.seed).sample(cand, min(n, len(cand)))
        return [pool[i] for i in picked]


@dataclass
class _ScoredSampler:
    """A strategy that ranks the candidates by a model's ``scores``; subclasses give ``_pick``."""

    seed: int = 0

    def query(self, pool, n, *, labelled=(), excluded=(), scores=None, features=None, label_counts=None):
        _check(scores, pool)
        cand = _candidates(pool, labelled, excluded)
        return [pool[i] for i in self._pick(cand, n, scores, features, label_counts)]

    def _pick(self, cand: np.ndarray, n: int, scores, features, label_counts) -> list[int]:
        """At most ``n`` positions out of ``cand``, in the order they are chosen."""
        raise NotImplementedError


@dataclass
class MarginSampler(_ScoredSampler):
    name: str = "margin"

    def _pick(self, cand, n, scores, features, label_counts):
        return _by_uncertainty(uncertainty(scores), cand, random.Random(self.seed))[:n]


@dataclass
class DiverseSampler(_ScoredSampler):
    shortlist_factor: int = 4
    name: str = "diverse"

    def _pick(self, cand, n, scores, features, label_counts):
        if features is None:
            raise ValueError("the diverse strategy needs a feature matrix for the pool")
        order = _by_uncertainty(uncertainty(scores), cand, random.Random(self.seed))
        short = order[: max(n, self.shortlist_factor * n)]
        if not short:
            return []
        X = _rows(features, short)
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms == 0, 1.0, norms)
        chosen = [0]
        dist = 1.0 - X @ X[0]
        while len(chosen) < min(n, len(short)):
            dist[chosen] = -np.inf
            nxt = int(np.argmax(dist))  # first maximum: the more uncertain wins a tie
            chosen.append(nxt)
            dist = np.minimum(dist, 1.0 - X @ X[nxt])
        return [short[j] for j in chosen]


@dataclass
class BalancedSampler(_ScoredSampler):
    """``schema``: the label set of the scores' columns (default: ``scores.schema``, else the
    packaged codebook)."""

    name: str = "balanced"
    schema: Optional[LabelSchema] = None

    def _pick(self, cand, n, scores, features, label_counts):
        rng = random.Random(self.seed)
        u = uncertainty(scores)
        counts = dict(label_counts or {})
        schema = self.schema or getattr(scores, "schema", None) or default_schema()
        if np.shape(scores.themes)[1] != len(schema.themes) or np.shape(scores.tone)[1] != len(schema.tones):
            raise ValueError(f"scores have {np.shape(scores.themes)[1]} theme and {np.shape(scores.tone)[1]} tone "
                             f"column(s); the codebook has {len(schema.themes)} and {len(schema.tones)}")
        classes = [("themes", j, t) for j, t in enumerate(schema.theme_names) if t in schema.policy_themes] + \
                  [("tone", j, t) for j, t in enumerate(schema.tone_names) if t in schema.signal_tones]
        weights = np.array([1.0 / (1.0 + counts.get(t, 0)) for _, _, t in classes])
        shares = np.floor(n * weights / weights.sum()).astype(int)
        taken: list[int] = []
        used: set[int] = set()
        tiebreak = {int(i): rng.random() for i in cand}
        for (task, j, _t), share in zip(classes, shares):
            col = np.asarray(scores.themes if task == "themes" else scores.tone, dtype=float)[:, j]
            ranked = sorted((int(i) for i in cand if int(i) not in used),
                            key=lambda i: (-round(float(col[i]), 6), -round(float(u[i]), 12), tiebreak[i]))
            for i in ranked[:share]:
                used.add(i)
                taken.append(i)
        for i in _by_uncertainty(u, cand, rng):
            if len(taken) >= n:
                break
            if i not in used:
                used.add(i)
                taken.append(i)
        return taken[:n]


def _rows(features, idx):
    sub = features[idx]
    return np.asarray(sub.toarray() if hasattr(sub, "toarray") else sub, dtype=float)


_SAMPLERS = {"random": RandomSampler, "margin": MarginSampler, "diverse": DiverseSampler, "balanced": BalancedSampler}


def make_sampler(strategy: str, seed: int = 0, schema: LabelSchema | None = None) -> Sampler:
    """The sampler called ``strategy`` (one of :data:`STRATEGIES`); ``schema``: the label set of
    the scores (used by ``balanced``; default: the scores' own, else the packaged codebook)."""
    if strategy == "uncertainty":  # the common name of margin sampling
        strategy = "margin"
    if strategy not in _SAMPLERS:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)} (or 'uncertainty')")
    if strategy == "balanced":
        return BalancedSampler(seed=seed, schema=schema)
    return _SAMPLERS[strategy](seed=seed)


def text_features(texts):
    """A sparse TF-IDF matrix of ``texts`` (syllable unigrams and bigrams) for the diverse strategy."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(min_df=2, ngram_range=(1, 2), sublinear_tf=True, max_features=50_000).fit_transform(list(texts))


def choose_batch(pool, n: int, *, strategy: str = "random", seed: int = 0, labelled=(), excluded_articles=(),
                 scores=None, label_counts=None, schema: LabelSchema | None = None) -> list:
    """The next ``n`` paragraphs of ``pool`` (``Paragraph`` records) to annotate, in corpus order.

    ``labelled`` ids and every paragraph of ``excluded_articles`` (e.g. a test set) are never
    chosen. ``scores`` are the model's scores for ``pool`` in order (needed by every strategy
    but ``random``); ``schema`` their label set (see :func:`make_sampler`). The batch keeps
    whole-corpus order so an annotator reads neighbours together.
    """
    pool = list(pool)
    excluded_articles = set(excluded_articles)
    excluded = {p.paragraph_id for p in pool if p.article_id in excluded_articles}
    ids = [p.paragraph_id for p in pool]
    features = text_features([p.text for p in pool]) if strategy == "diverse" else None
    chosen = set(make_sampler(strategy, seed=seed, schema=schema).query(ids, n, labelled=set(labelled), excluded=excluded,
                                                         scores=scores, features=features, label_counts=label_counts))
    return [p for p in pool if p.paragraph_id in chosen]
