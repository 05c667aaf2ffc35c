"""Tone by counterpart x period x theme, with the cooperation index and article-bootstrap bands.

Each predicted paragraph adds one count to every cell it belongs to::

    counterpart in  its detected counterparts + "all"   (every dated paragraph)
    period      in  its month/quarter/year     + "all"
    theme       in  its predicted themes       + "all" + "any_policy" (when a theme other than
                                                   the catch-all is predicted; without one, always)

The labels come from a :class:`~vistance.labels.schema.LabelSchema` (the model's): one count and
one share per tone, in the schema's order. The cooperation index of a cell is
``(pos - neg) / (pos + neg)`` over its paragraphs of the schema's two ``poles`` (other tones do
not enter); it is NaN when the cell has neither, and a schema without poles has no index
columns. Bands are percentile intervals from a bootstrap that resamples *articles*
(paragraphs of one article are not independent), with a random stream per cell derived from ``seed`` and the cell's key, so a cell's band
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
from vistance.labels.schema import LabelSchema, default_schema

ALL = "all"
ANY_POLICY = "any_policy"
PERIODS = ("month", "quarter", "year")
INDEX_COLUMNS = ["coop_index", "coop_index_low", "coop_index_high"]
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
    paragraphs of the positive and the negative pole in the cell. Replicates with no
    paragraph of either pole are undefined and left out. Returns
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


def table_columns(schema: LabelSchema) -> list[str]:
    """The columns of the tone table of ``schema``: keys, counts, ``n_<tone>`` and ``share_<tone>``
    per tone, and the index with its band when the schema has poles."""
    tones = list(schema.tones)
    return (["counterpart", "period", "theme", "n_paragraphs", "n_articles"] + [f"n_{t}" for t in tones]
            + [f"share_{t}" for t in tones] + (INDEX_COLUMNS if schema.poles else []))


def theme_sort_key(themes):
    """Sort key of theme cells: ``all``, ``any_policy``, then ``themes`` in order, then the rest by name."""
    order = {ALL: 0, ANY_POLICY: 1, **{t: 2 + i for i, t in enumerate(themes)}}
    return lambda theme: (order.get(theme, len(order) + 2), theme)


class ToneAggregator:
    """Streaming counts of predicted tone by counterpart x period x theme, for the labels of ``schema``
    (default: :func:`~vistance.labels.schema.default_schema`).

    >>> poles = {"positive": "warm", "negative": "cold"}
    >>> schema = LabelSchema.from_labels(["sea", "trade"], ["warm", "cold"], poles=poles)
    >>> agg = ToneAggregator(period="month", schema=schema)
    >>> agg.add(article_id="a1", date="2024-07-02", themes=["sea"], tone="cold", counterparts=["china"])
    True
    >>> agg.table(n_boot=0).query("counterpart == 'china' and theme == 'sea'")["coop_index"].tolist()
    [-1.0, -1.0]
    """

    def __init__(self, period: str = "quarter", schema: LabelSchema | None = None):
        period_of(None, period)  # validates the name
        self.period = period
        self.schema = schema or default_schema()
        self._tone_col = {t: i for i, t in enumerate(self.schema.tones)}
        # (counterpart, period, theme) -> article_id -> count per tone (schema order)
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
        if tone not in self._tone_col:
            raise VistanceError(f"unknown tone {tone!r}; allowed: {', '.join(self.schema.tones)}")
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
        catch_all = self.schema.catch_all
        theme_keys = themes + [ALL] + ([ANY_POLICY] if any(t != catch_all for t in themes) else [])
        col = self._tone_col[tone]
        n_tones = len(self._tone_col)
        aid = str(article_id)
        for cp in cps + [ALL]:
            for p in (per, ALL):
                for th in theme_keys:
                    counts = self._cells[(cp, p, th)].setdefault(aid, [0] * n_tones)
                    counts[col] += 1
        return True

    def merge(self, other: "ToneAggregator") -> "ToneAggregator":
        """Add the counts of ``other`` (same period) into this one and return it: partial
        aggregates of shards combine into the aggregate of the whole corpus (map-reduce).
        An article split across shards is still one resampling unit."""
        if other.period != self.period:
            raise VistanceError(f"cannot merge a {other.period!r} aggregate into a {self.period!r} one")
        if other.schema.tone_names != self.schema.tone_names:
            raise VistanceError(f"cannot merge an aggregate of tones [{', '.join(other.schema.tones)}] into one of "
                                f"[{', '.join(self.schema.tones)}]")
        n_tones = len(self._tone_col)
        for key, arts in other._cells.items():
            mine = self._cells[key]
            for aid, counts in arts.items():
                m = mine.setdefault(aid, [0] * n_tones)
                for i in range(n_tones):
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
    def merged(cls, parts: Iterable["ToneAggregator"], period: str | None = None,
               schema: LabelSchema | None = None) -> "ToneAggregator":
        """One aggregate from several (e.g. one per shard or Dask partition)."""
        parts = list(parts)
        out = cls(period or (parts[0].period if parts else "quarter"),
                  schema or (parts[0].schema if parts else None))
        for p in parts:
            out.merge(p)
        return out

    def add_rows(self, rows: Iterable[Mapping]) -> "ToneAggregator":
        """:meth:`add` for rows with keys ``article_id, date, themes, tone, counterparts``."""
        for r in rows:
            self.add(r["article_id"], r.get("date"), r["themes"], r["tone"], r.get("counterparts") or [])
        return self

    @property
    def columns(self) -> list[str]:
        """The table's columns (:func:`table_columns` of the schema)."""
        return table_columns(self.schema)

    def table(self, n_boot: int = 500, seed: int = 0, level: float = 0.95, progress: bool | None = False):
        """The tidy table (one row per cell, :attr:`columns`), sorted: ``all`` first, then by
        counterpart id, period, theme (schema order)."""
        import pandas as pd
        from tqdm.auto import tqdm

        tones = list(self.schema.tones)
        poles = self.schema.poles
        pos, neg = (self._tone_col[poles.positive], self._tone_col[poles.negative]) if poles else (None, None)
        by_theme = theme_sort_key(self.schema.themes)
        keys = sorted(self._cells, key=lambda k: (k[0] != ALL, k[0], k[1] != ALL, k[1], by_theme(k[2])))
        rows = []
        for cp, per, th in tqdm(keys, desc="bootstrap", unit="cell", disable=None if progress is None else not progress):
            arts = self._cells[(cp, per, th)]
            counts = np.array([arts[a] for a in sorted(arts)], dtype=np.int64).reshape(-1, len(tones))
            totals = [int(x) for x in counts.sum(axis=0)]
            n = sum(totals)
            row = {"counterpart": cp, "period": per, "theme": th, "n_paragraphs": n, "n_articles": len(arts),
                   **{f"n_{t}": k for t, k in zip(tones, totals)},
                   **{f"share_{t}": k / n for t, k in zip(tones, totals)}}
            if poles:
                low, high = bootstrap_band(counts[:, pos], counts[:, neg], n_boot=n_boot,
                                           rng=cell_rng(seed, cp, per, th), level=level)
                row.update(coop_index=cooperation_index(totals[pos], totals[neg]), coop_index_low=low,
                           coop_index_high=high)
            rows.append(row)
        return pd.DataFrame(rows, columns=self.columns)


def aggregate_tone(rows: Iterable[Mapping], period: str = "quarter", n_boot: int = 500, seed: int = 0,
                   level: float = 0.95, schema: LabelSchema | None = None):
    """One call: rows (``article_id, date, themes, tone, counterparts``) -> tidy table."""
    return ToneAggregator(period, schema).add_rows(rows).table(n_boot=n_boot, seed=seed, level=level)
