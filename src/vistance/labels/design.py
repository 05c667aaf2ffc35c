"""Sampling designs: how a gold sample was drawn, recorded so an estimate can be weighted by it.

A gold sample enters a corrected estimate (:mod:`vistance.analysis.estimate`) only when it was
drawn with *known* inclusion probabilities and the draw is written down beside it. The record
(a small JSON file, committed next to the labels; no text, only ids, counts and hashes)::

    {"design_version": 1, "name": "test_vietnews", "corpus": "vietnews-fa",
     "unit": "article",                      # what was drawn: whole articles or single units
     "scheme": "sequential_random_articles", # srswor | stratified_srswor | sequential_random_articles
     "seed": 13, "drawn_by": "...",
     "pool": {"n_units": 30681, "n_clusters": 5472, "ids_sha1": "...", "excluded": [...]},
     "strata": {"all": {"N": 5472, "n": 70}},
     "sample": [{"id": "val/011807.txt.seg", "pi": 0.01279, "stratum": "all"}, ...]}

``pool`` describes what could have been drawn: its clusters (articles for ``unit: article``,
unit ids for ``unit: paragraph``) hashed in sorted order, and the ids left out of the pool
(already labelled units, test articles). ``pi`` is each drawn cluster's inclusion probability;
:meth:`SamplingDesign.check` refuses a record whose probabilities do not follow from its
scheme and strata (``n_h / N_h``).

Schemes:

``srswor``
    ``n`` clusters drawn uniformly without replacement from the pool (``vistance annotate export
    --strategy random``): ``pi = n / N``.
``stratified_srswor``
    the pool split into strata (e.g. by a model's predicted tone) and ``n_h`` drawn uniformly
    in each: ``pi = n_h / N_h`` (``--stratify-by tone``). Rare strata can be over-sampled; the
    estimator weights every unit by ``1 / pi``.
``sequential_random_articles``
    whole articles taken in a seeded random order until they hold a number of units (how the
    cross-corpus test set was drawn, :func:`vistance.labels.sampling.choose_heldout_articles`).
    Whether an article is taken depends only on the sizes of the articles drawn *before* it,
    never on its own, so every article has (up to a negligible term) the same probability;
    conditional on the ``n`` drawn, the design is treated as ``srswor`` with ``pi = n / N``.
"""
from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from vistance.errors import VistanceError

DESIGN_VERSION = 1
SCHEMES = ("srswor", "stratified_srswor", "sequential_random_articles")
UNITS = ("article", "paragraph")
_TOL = 1e-6


class DesignError(VistanceError):
    """A gold sample without a usable design: none recorded, ids that do not match, wrong probabilities."""


def ids_sha1(ids: Iterable[str]) -> str:
    """SHA-1 of the sorted distinct ids, one a line: the fingerprint of a pool."""
    h = hashlib.sha1()
    for i in sorted(set(ids)):
        h.update(i.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class SamplingDesign:
    """One recorded draw (see the module docstring). ``sample``: ``[{"id", "pi", "stratum"}]``."""

    name: str
    unit: str
    scheme: str
    sample: list[dict]
    pool: dict
    strata: dict = field(default_factory=dict)
    corpus: str | None = None
    seed: int | None = None
    drawn_by: str = ""
    note: str = ""
    design_version: int = DESIGN_VERSION

    # -- reading and writing ------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON record (a deep copy: editing it leaves the design as it is)."""
        import copy

        return copy.deepcopy({"design_version": self.design_version, "name": self.name, "corpus": self.corpus,
                              "unit": self.unit, "scheme": self.scheme, "seed": self.seed, "drawn_by": self.drawn_by,
                              "note": self.note, "pool": self.pool, "strata": self.strata, "sample": self.sample})

    @classmethod
    def from_dict(cls, d: Mapping, where: str = "design") -> "SamplingDesign":
        if not isinstance(d, Mapping):
            raise DesignError(f"{where}: not a design record (expected a JSON object)")
        missing = [k for k in ("name", "unit", "scheme", "sample", "pool") if k not in d]
        if missing:
            raise DesignError(f"{where}: not a design record (missing {', '.join(missing)})")
        if d.get("design_version", DESIGN_VERSION) != DESIGN_VERSION:
            raise DesignError(f"{where}: design_version {d.get('design_version')!r} is not {DESIGN_VERSION}")
        import copy

        d = copy.deepcopy(dict(d))
        design = cls(name=str(d["name"]), unit=d["unit"], scheme=d["scheme"], sample=list(d["sample"]),
                     pool=dict(d["pool"]), strata=dict(d.get("strata") or {}), corpus=d.get("corpus"),
                     seed=d.get("seed"), drawn_by=d.get("drawn_by", ""), note=d.get("note", ""))
        design.check(where)
        return design

    # -- validation -----------------------------------------------------------------------
    @property
    def pool_size(self) -> int:
        return int(self.pool.get("n_clusters") if self.unit == "article" else self.pool.get("n_units"))

    def check(self, where: str = "design") -> "SamplingDesign":
        """Refuse a record whose probabilities do not follow from its scheme (a :class:`DesignError`)."""
        if self.unit not in UNITS:
            raise DesignError(f"{where}: unit {self.unit!r} is not one of {', '.join(UNITS)}")
        if self.scheme not in SCHEMES:
            raise DesignError(f"{where}: scheme {self.scheme!r} is not one of {', '.join(SCHEMES)}")
        if not self.sample:
            raise DesignError(f"{where}: the sample is empty")
        for key in ("n_units", "n_clusters", "ids_sha1"):
            if key not in self.pool:
                raise DesignError(f"{where}: pool.{key} is missing")
        ids = [s.get("id") for s in self.sample]
        if any(not isinstance(i, str) or not i for i in ids):
            raise DesignError(f"{where}: every sample entry needs a string 'id'")
        dup = [i for i, c in Counter(ids).items() if c > 1]
        if dup:
            raise DesignError(f"{where}: sample ids drawn twice: {', '.join(dup[:5])}")
        for s in self.sample:
            pi = s.get("pi")
            if not isinstance(pi, (int, float)) or not (0.0 < float(pi) <= 1.0):
                raise DesignError(f"{where}: {s['id']}: inclusion probability {pi!r} is not in (0, 1]")
        by_stratum = Counter(str(s.get("stratum", "all")) for s in self.sample)
        strata = self.strata or {"all": {"N": self.pool_size, "n": len(self.sample)}}
        unknown = sorted(set(by_stratum) - set(strata))
        if unknown:
            raise DesignError(f"{where}: sample strata {unknown} are not described in 'strata'")
        if sum(int(v["N"]) for v in strata.values()) != self.pool_size:
            raise DesignError(f"{where}: strata sizes add up to {sum(int(v['N']) for v in strata.values())}, "
                              f"not the pool's {self.pool_size} {self.unit}s")
        for h, v in strata.items():
            n_h, N_h = int(v["n"]), int(v["N"])
            if by_stratum.get(h, 0) != n_h:
                raise DesignError(f"{where}: stratum {h!r} records n={n_h} but the sample holds {by_stratum.get(h, 0)}")
            if n_h > N_h:
                raise DesignError(f"{where}: stratum {h!r} draws {n_h} of only {N_h}")
        if self.scheme != "stratified_srswor" and len(strata) != 1:
            raise DesignError(f"{where}: scheme {self.scheme} has one stratum, the record has {len(strata)}")
        for s in self.sample:
            v = strata[str(s.get("stratum", "all"))]
            expected = int(v["n"]) / int(v["N"])
            if abs(float(s["pi"]) - expected) > _TOL * max(1.0, expected):
                raise DesignError(f"{where}: {s['id']}: inclusion probability {s['pi']} does not match the design "
                                  f"(n/N = {v['n']}/{v['N']} = {expected:.6g} in stratum {s.get('stratum', 'all')!r})")
        self.strata = strata
        return self

    def probabilities(self) -> dict[str, float]:
        """``{cluster id: pi}``."""
        return {s["id"]: float(s["pi"]) for s in self.sample}

    def stratum_of(self) -> dict[str, str]:
        return {s["id"]: str(s.get("stratum", "all")) for s in self.sample}

    def sampling_fraction(self) -> dict[str, float]:
        """``{stratum: n_h / N_h}`` (the finite-population correction of each stratum)."""
        return {h: int(v["n"]) / int(v["N"]) for h, v in self.strata.items()}

    def check_pool(self, cluster_ids: Iterable[str], where: str = "design") -> str:
        """Compare the pool with the clusters of a corpus: ``"same"``, ``"subset"`` (the corpus minus
        the pool's ``excluded`` ids) or a :class:`DesignError` when neither matches."""
        cluster_ids = set(cluster_ids)
        if ids_sha1(cluster_ids) == self.pool["ids_sha1"]:
            return "same"
        excluded = set(self.pool.get("excluded") or [])
        if excluded and ids_sha1(cluster_ids - excluded) == self.pool["ids_sha1"]:
            return "subset"
        n = len(cluster_ids)
        raise DesignError(f"{where}: the design's pool ({self.pool_size} {self.unit}s, sha1 "
                          f"{self.pool['ids_sha1'][:10]}…) is not the corpus given ({n} {self.unit}s): the "
                          f"probabilities were computed for another pool (re-ingested corpus, other --paragraphs?)")


def read_design(path) -> SamplingDesign:
    """Read and check a design file (a :class:`DesignError` naming the file when it is unusable)."""
    from vistance.io import read_json

    path = Path(path)
    if not path.is_file():
        raise DesignError(f"{path}: no such design file")
    return SamplingDesign.from_dict(read_json(path), where=str(path))


def write_design(path, design: SamplingDesign) -> Path:
    from vistance.io import write_json

    design.check(str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, design.to_dict(), sort_keys=False)
    return path


def design_path_for(batch_path) -> Path:
    """Where ``annotate export`` records the design of a batch: ``batch.json`` -> ``batch.design.json``."""
    p = Path(batch_path)
    stem = p.name[: -len("".join(p.suffixes))] if p.suffixes else p.name
    return p.with_name(f"{stem}.design.json")


# -- drawing ---------------------------------------------------------------------------------
def allocate(sizes: Mapping[str, int], n: int, allocation: str = "equal") -> dict[str, int]:
    """How many of ``n`` draws each stratum gets: ``equal`` (as even as the sizes allow) or
    ``proportional`` (largest remainders). Never more than a stratum holds."""
    names = sorted(sizes)
    n = min(n, sum(sizes.values()))
    if allocation == "proportional":
        total = sum(sizes.values())
        raw = {h: n * sizes[h] / total for h in names}
        out = {h: min(sizes[h], math.floor(raw[h])) for h in names}
        for h in sorted(names, key=lambda h: (-(raw[h] - math.floor(raw[h])), h)):
            if sum(out.values()) >= n:
                break
            if out[h] < sizes[h]:
                out[h] += 1
    elif allocation == "equal":
        out = {h: 0 for h in names}
        left = n
        open_ = [h for h in names if sizes[h] > 0]
        while left > 0 and open_:
            share = max(1, left // len(open_))
            for h in list(open_):
                take = min(share, sizes[h] - out[h], left)
                out[h] += take
                left -= take
                if out[h] >= sizes[h]:
                    open_.remove(h)
                if left == 0:
                    break
    else:
        raise DesignError(f"unknown allocation {allocation!r}; use equal or proportional")
    while sum(out.values()) < n:  # leftovers where room remains
        for h in names:
            if sum(out.values()) < n and out[h] < sizes[h]:
                out[h] += 1
    return out


def draw_sample(pool: Sequence[str], n: int, seed: int = 0, strata: Mapping[str, str] | None = None,
                allocation: str = "equal", unit: str = "paragraph", name: str = "sample", corpus: str | None = None,
                n_units: int | None = None, excluded: Iterable[str] = (), drawn_by: str = "") -> SamplingDesign:
    """Draw ``n`` clusters of ``pool`` (ids) without replacement and return the design of the draw.

    ``strata`` (``{id: stratum}``, e.g. a model's predicted tone) makes it a stratified draw
    with ``allocation`` (``equal``: rare strata over-sampled; ``proportional``). The same
    inputs and ``seed`` give the same sample. ``n_units``: units in the pool (default: its
    size, one unit a cluster); ``excluded``: ids left out of the pool (recorded, so the
    estimator can tell the pool from the whole corpus).
    """
    pool = list(dict.fromkeys(pool))
    if n <= 0 or not pool:
        raise DesignError("nothing to draw: the pool is empty or n <= 0")
    rng = random.Random(seed)
    groups: dict[str, list[str]] = defaultdict(list)
    for i in sorted(pool):
        groups[str(strata.get(i, "none")) if strata is not None else "all"].append(i)
    sizes = {h: len(v) for h, v in groups.items()}
    quota = allocate(sizes, n, allocation) if strata is not None else {"all": min(n, len(pool))}
    sample = []
    for h in sorted(groups):
        picked = rng.sample(groups[h], quota[h]) if quota[h] else []
        sample.extend({"id": i, "pi": quota[h] / sizes[h], "stratum": h} for i in sorted(picked))
    scheme = "stratified_srswor" if strata is not None else "srswor"
    design = SamplingDesign(
        name=name, unit=unit, scheme=scheme, sample=sorted(sample, key=lambda s: s["id"]), corpus=corpus, seed=seed,
        drawn_by=drawn_by or f"vistance.labels.design.draw_sample ({scheme}, {allocation if strata is not None else 'uniform'})",
        pool={"n_units": int(n_units if n_units is not None else len(pool)), "n_clusters": len(pool),
              "ids_sha1": ids_sha1(pool), "excluded": sorted(set(excluded))},
        strata={h: {"N": sizes[h], "n": quota[h]} for h in sorted(groups)})
    return design.check(name)


def heldout_design(paragraphs, heldout: Mapping, name: str) -> SamplingDesign:
    """The design of a cross-corpus test set drawn by :func:`~vistance.labels.sampling.choose_heldout_articles`.

    ``heldout`` is the committed JSON (``articles``, ``seed``, ``min_units``, ``corpus``). The draw is
    replayed on ``paragraphs`` (the pool) first: a pool that does not give the same articles is
    refused, so the recorded probabilities belong to this pool.
    """
    from vistance.labels.sampling import choose_heldout_articles

    paragraphs = list(paragraphs)
    replay = choose_heldout_articles(paragraphs, int(heldout["min_units"]), seed=int(heldout["seed"]))
    if replay != list(heldout["articles"]):
        raise DesignError(f"replaying the draw (seed {heldout['seed']}, min_units {heldout['min_units']}) on this pool "
                          f"does not give the recorded {len(heldout['articles'])} articles: not the pool it was drawn from")
    articles = sorted({p.article_id for p in paragraphs})
    n, N = len(replay), len(articles)
    design = SamplingDesign(
        name=name, unit="article", scheme="sequential_random_articles", corpus=heldout.get("corpus"),
        seed=int(heldout["seed"]), drawn_by=str(heldout.get("chosen_by", "choose_heldout_articles")),
        note=(f"whole articles in a seeded random order until {heldout['min_units']} units; an article's inclusion "
              "depends only on the articles drawn before it, so pi = n/N for every article (srswor given n)"),
        pool={"n_units": len(paragraphs), "n_clusters": N, "ids_sha1": ids_sha1(articles), "excluded": []},
        strata={"all": {"N": N, "n": n}},
        sample=[{"id": a, "pi": n / N, "stratum": "all"} for a in sorted(replay)])
    return design.check(name)
