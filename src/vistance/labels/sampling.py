"""Choosing which paragraphs a person annotates next.

Keywords here only decide *what gets read*, never what label it gets: a
stratified sample that favours foreign-affairs articles (whole articles, so an
annotator reads paragraphs in context) and tops up rare labels. The cues are data
(``vistance/data/sampling_cues.json``, rare strata keyed by label name), so another
codebook brings its own or has none.
"""
from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

from vistance.labels.schema import LabelSchema, default_schema


def load_sampling_cues(path=None) -> dict:
    """The sampling cues: ``vistance/data/sampling_cues.json`` (or ``path``): ``density`` (a regex
    ranking articles) and ``rare_strata`` (``{label name: regex}``); both optional."""
    if path is None:
        return json.loads(resources.files("vistance.data").joinpath("sampling_cues.json").read_text(encoding="utf-8"))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _regex(spec: dict) -> re.Pattern:
    return re.compile(spec["pattern"], re.I if spec.get("ignore_case") else 0)


_CUES = load_sampling_cues()
FOREIGN_AFFAIRS = _regex(_CUES["density"])


def rare_strata(schema: LabelSchema | None = None, cues: dict | None = None) -> dict[str, re.Pattern]:
    """``{label: regex}`` of the cues' rare strata whose label is in ``schema`` (default: the packaged
    codebook and cues); a label the codebook lacks is skipped."""
    schema = schema or default_schema()
    cues = _CUES if cues is None else cues
    known = set(schema.themes) | set(schema.tones)
    return {k: _regex(v) for k, v in (cues.get("rare_strata") or {}).items() if k in known}


def foreign_affairs_density(texts: list[str], pattern: re.Pattern | None = FOREIGN_AFFAIRS) -> float:
    """Cue hits of ``pattern`` (default: the foreign-affairs cues) per paragraph (a sampling weight,
    not a label); 0 without a pattern."""
    if not texts or pattern is None:
        return 0.0
    return sum(len(pattern.findall(t)) for t in texts) / len(texts)


def select_for_annotation(paragraphs, n_paragraphs: int, per_article_cap: int = 25,
                          stratum_quota: int = 40, seed: int = 0, exclude: set[str] | None = None,
                          schema: LabelSchema | None = None, cues: dict | None = None):
    """Pick paragraphs to annotate.

    1. Rank articles by the cues' ``density`` (foreign affairs by default); take whole articles
       (first ``per_article_cap`` paragraphs) until ``n_paragraphs`` paragraphs.
    2. For each rare stratum of ``schema`` (:func:`rare_strata`), add up to ``stratum_quota``
       more paragraphs (from other articles) that mention its cues, chosen at random with ``seed``.
    ``cues``: :func:`load_sampling_cues` (default: the packaged ones; ``{}``: none, so articles
    are taken in id order and there is no top-up). Returns the selected paragraphs in corpus order.
    """
    exclude = exclude or set()
    density = _regex(cues["density"]) if cues is not None and cues.get("density") else (
        FOREIGN_AFFAIRS if cues is None else None)
    strata = rare_strata(schema, cues)
    by_article = defaultdict(list)
    for p in paragraphs:
        if p.paragraph_id not in exclude:
            by_article[p.article_id].append(p)
    ranked = sorted(by_article, key=lambda a: (-foreign_affairs_density([p.text for p in by_article[a]], density), a))
    chosen: list = []
    chosen_articles: set[str] = set()
    for a in ranked:
        if len(chosen) >= n_paragraphs:
            break
        chosen.extend(by_article[a][:per_article_cap])
        chosen_articles.add(a)
    rng = random.Random(seed)
    chosen_ids = {p.paragraph_id for p in chosen}
    rest = [p for a in sorted(by_article) if a not in chosen_articles for p in by_article[a]]
    for name, pattern in sorted(strata.items()):
        pool = [p for p in rest if p.paragraph_id not in chosen_ids and pattern.search(p.text)]
        for p in rng.sample(pool, min(stratum_quota, len(pool))):
            chosen.append(p)
            chosen_ids.add(p.paragraph_id)
    order = {p.paragraph_id: i for i, p in enumerate(paragraphs)}
    return sorted(chosen, key=lambda p: order[p.paragraph_id])


def choose_heldout_articles(paragraphs, min_units: int, seed: int = 13) -> list[str]:
    """Whole articles chosen at random (seeded) until they hold ``min_units`` units.

    This is how a cross-corpus test set is drawn *before* any model sees the corpus:
    no keyword, score or label takes part. Returns the article ids in drawing order.
    """
    by_article: dict[str, int] = defaultdict(int)
    for p in paragraphs:
        by_article[p.article_id] += 1
    order = sorted(by_article)
    random.Random(seed).shuffle(order)
    chosen, total = [], 0
    for a in order:
        if total >= min_units:
            break
        chosen.append(a)
        total += by_article[a]
    return chosen
