"""Tone by counterpart x period x theme, with the cooperation index and article-bootstrap bands.

Each predicted paragraph adds one count to every cell it belongs to::

    counterpart in  its detected counterparts + "all"   (every dated paragraph)
    period      in  its month/quarter/year     + "all"
    theme       in  its predicted themes       + "all" + "any_policy" (when a theme other than "other" is predicted)

The cooperation index of a cell is ``(coop - cont) / (coop + cont)`` over its
cooperative and contentious paragraphs (neutral ones do not enter); it is NaN when
the cell has neither. Bands are percentile intervals from a bootstrap that
resamples *articles* (paragraphs of one article are not independent), with a
random stream per cell derived from ``seed`` and the cell's key, so a cell's band
does not depend on which other cells exist or the order rows arrive in.

:class:`ToneAggregator` consumes rows one at a time (memory grows with cells x
articles, not with paragraphs), so it sits at the end of a streaming prediction.
"""
from __future__ import annotations

import datetime as _dt
import zlib
from collections import Counter, defaultdict
from typing import Iterable, Mapping

import numpy as np

from vistance.errors import VistanceError
from vistance.evaluation.bootstrap import article_draws, percentile_interval
from vistance.labels.schema import OTHER, THEMES, TONES

ALL = "all"
ANY_POLICY = "any_policy"
PERIODS = ("month", "quarter", "year")
COLUMNS = [
    "counterpart", "period", "theme", "n_paragraphs", "n_articles", "n_cooperative", "n_contentious", "n_neutral",
    "share_cooperative", "share_contentious", "share_neutral", "coop_index", "coop_index_low", "coop_index_high",
]
_TONE_COL = {t: i for i, t in enumerate(TONES)}
_COOP, _CONT, _NEUT = _TONE_COL["cooperative"], _TONE_COL["contentious"], _TONE_COL["neutral"]
_MAX_BOOT_CELLS = 4_000_000  # replicate x article draws held at once (bounded memory for big cells)


def period_of(date: str | None, period: str = "quarter") -> str | None:
    """The period label of an ISO date: ``2024-07`` (month), ``2024Q3`` (quarter), ``2024`` (year).

    ``None`` for a missing or unreadable date (such units are counted as undated).
    """
    if period not in PERIODS:
        raise VistanceError(f"unknown analysis period {period!r}; use one of {', '.join(PERIODS)}")
    if not date:
        return None
    try:
        d = _dt.date.fromisoformat(str(date)[:10])
    except ValueError:
        return None
    if period == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if period == "quarter":
        return f"{d.year:04d}Q{(d.month - 1) // 3 + 1}"
    return f"{d.year:04d}"


def cooperation_index(coop, cont):
    """``(coop - cont) / (coop + cont)``; NaN where ``coop + cont == 0``. Scalars or arrays."""
    coop = np.asarray(coop, dtype=float)
    cont = np.asarray(cont, dtype=float)
    den = coop + cont
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, (coop - cont) / np.where(den > 0, den, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def cell_rng(seed: int, *key: str) -> np.random.Generator:
    """A random generator for one cell: the same ``seed`` and key give the same stream."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32("|".join(key).encode("utf-8"))])


def bootstrap_band(coop_by_article, cont_by_article, n_boot: int = 500, rng=None, level: float = 0.95):
    """Percentile band of the cooperation index when articles are resampled with replacement.

    ``coop_by_article`` and ``cont_by_article`` hold, per article, its number of
    cooperative and contentious paragraphs in the cell. Replicates with no
    cooperative or contentious paragraph are undefined and left out. Returns
    ``(low, high)``; NaNs when there is nothing to resample or ``n_boot`` is 0.
    """
    c = np.asarray(coop_by_article, dtype=float)
    k = np.asarray(cont_by_article, dtype=float)
    n = c.shape[0]
    if n == 0 or n_boot <= 0 or (c.sum() + k.sum()) == 0:
        return float("nan"), float("nan")
    rng = rng if rng is not None else np.random.default_rng(0)
    # vectorised over replicates, at most _MAX_BOOT_CELLS drawn article indices at a time
    draws = article_draws(n, n_boot, rng, rows_per_draw=max(1, _MAX_BOOT_CELLS // n))
    stats = np.concatenate([cooperation_index(c[idx].sum(axis=1), k[idx].sum(axis=1)) for idx in draws])
    return percentile_interval(stats, level)


def _theme_sort_key(theme: str):
    order = {ALL: 0, ANY_POLICY: 1, **{t: 2 + i for i, t in enumerate(THEMES)}}
    return (order.get(theme, len(order) + 2), theme)


class ToneAggregator:
    """Streaming counts of predicted tone by counterpart x period x theme.

    >>> agg = ToneAggregator(period="month")
    >>> agg.add(article_id="a1", date="2024-07-02", themes=["maritime"], tone="contentious", counterparts=["china"])
    True
    >>> agg.table(n_boot=0).query("counterpart == 'china' and period == '2024-07' and theme == 'maritime'")["coop_index"].item()
    -1.0
    """

    def __init__(self, period: str = "quarter"):
        period_of(None, period)  # validates the name
        self.period = period
        # (counterpart, period, theme) -> article_id -> [coop, cont, neutral]
        self._cells: dict[tuple[str, str, str], dict[str, list[int]]] = defaultdict(dict)
        self.units = 0
        self.undated = 0
        self.with_counterpart = 0
        self.tones: Counter = Counter()
        self.paragraphs_by_counterpart: Counter = Counter()  # dated paragraphs naming each counterpart
        self.mentions_by_counterpart: Counter = Counter()    # every unit naming it, dated or not
        self.dates: list[str] = []  # min and max dated unit seen

    def add(self, article_id: str, date: str | None, themes: Iterable[str], tone: str,
            counterparts: Iterable[str]) -> bool:
        """Count one paragraph; returns False (and counts it as undated) when it has no usable date."""
        self.units += 1
        cps = list(dict.fromkeys(counterparts))
        for cp in cps:
            self.mentions_by_counterpart[cp] += 1
        per = period_of(date, self.period)
        if per is None:
            self.undated += 1
            return False
        if tone not in _TONE_COL:
            raise VistanceError(f"unknown tone {tone!r}; allowed: {', '.join(TONES)}")
        d = str(date)[:10]
        if not self.dates:
            self.dates = [d, d]
        else:
            self.dates = [min(self.dates[0], d), max(self.dates[1], d)]
        themes = list(dict.fromkeys(themes))
        self.tones[tone] += 1
        if cps:
            self.with_counterpart += 1
        for cp in cps:
            self.paragraphs_by_counterpart[cp] += 1
        theme_keys = themes + [ALL] + ([ANY_POLICY] if any(t != OTHER for t in themes) else [])
        col = _TONE_COL[tone]
        aid = str(article_id)
        for cp in cps + [ALL]:
            for p in (per, ALL):
                for th in theme_keys:
                    counts = self._cells[(cp, p, th)].setdefault(aid, [0, 0, 0])
                    counts[col] += 1
        return True

    def merge(self, other: "ToneAggregator") -> "ToneAggregator":
        """Add the counts of ``other`` (same period) into this one and return it: partial
        aggregates of shards combine into the aggregate of the whole corpus (map-reduce).
        An article split across shards is still one resampling unit."""
        if other.period != self.period:
            raise VistanceError(f"cannot merge a {other.period!r} aggregate into a {self.period!r} one")
        for key, arts in other._cells.items():
            mine = self._cells[key]
            for aid, counts in arts.items():
                m = mine.setdefault(aid, [0, 0, 0])
                for i in range(3):
                    m[i] += counts[i]
        self.units += other.units
        self.undated += other.undated
        self.with_counterpart += other.with_counterpart
        self.tones.update(other.tones)
        self.paragraphs_by_counterpart.update(other.paragraphs_by_counterpart)
        self.mentions_by_counterpart.update(other.mentions_by_counterpart)
        if other.dates:
            self.dates = other.dates[:] if not self.dates else [min(self.dates[0], other.dates[0]),
                                                                 max(self.dates[1], other.dates[1])]
        return self

    @classmethod
    def merged(cls, parts: Iterable["ToneAggregator"], period: str | None = None) -> "ToneAggregator":
        """One aggregate from several (e.g. one per shard or Dask partition)."""
        parts = list(parts)
        out = cls(period or (parts[0].period if parts else "quarter"))
        for p in parts:
            out.merge(p)
        return out

    def add_rows(self, rows: Iterable[Mapping]) -> "ToneAggregator":
        """:meth:`add` for rows with keys ``article_id, date, themes, tone, counterparts``."""
        for r in rows:
            self.add(r["article_id"], r.get("date"), r["themes"], r["tone"], r.get("counterparts") or [])
        return self

    def table(self, n_boot: int = 500, seed: int = 0, level: float = 0.95, progress: bool | None = False):
        """The tidy table (one row per cell, :data:`COLUMNS`), sorted: ``all`` first, then by
        counterpart id, period, theme (schema order)."""
        import pandas as pd
        from tqdm.auto import tqdm

        keys = sorted(self._cells, key=lambda k: (k[0] != ALL, k[0], k[1] != ALL, k[1], _theme_sort_key(k[2])))
        rows = []
        for cp, per, th in tqdm(keys, desc="bootstrap", unit="cell", disable=None if progress is None else not progress):
            arts = self._cells[(cp, per, th)]
            counts = np.array([arts[a] for a in sorted(arts)], dtype=np.int64).reshape(-1, 3)
            coop, cont, neut = (int(x) for x in counts.sum(axis=0))
            n = coop + cont + neut
            low, high = bootstrap_band(counts[:, _COOP], counts[:, _CONT], n_boot=n_boot,
                                       rng=cell_rng(seed, cp, per, th), level=level)
            rows.append({
                "counterpart": cp, "period": per, "theme": th, "n_paragraphs": n, "n_articles": len(arts),
                "n_cooperative": coop, "n_contentious": cont, "n_neutral": neut,
                "share_cooperative": coop / n, "share_contentious": cont / n, "share_neutral": neut / n,
                "coop_index": cooperation_index(coop, cont), "coop_index_low": low, "coop_index_high": high,
            })
        return pd.DataFrame(rows, columns=COLUMNS)


def aggregate_tone(rows: Iterable[Mapping], period: str = "quarter", n_boot: int = 500, seed: int = 0,
                   level: float = 0.95):
    """One call: rows (``article_id, date, themes, tone, counterparts``) -> tidy table."""
    return ToneAggregator(period).add_rows(rows).table(n_boot=n_boot, seed=seed, level=level)
