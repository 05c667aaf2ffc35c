"""Shares a social scientist can publish: naive, gold-only and prediction-powered estimates with intervals.

A classifier's count of "paragraphs of one tone about one counterpart" inherits the classifier's errors,
which differ by era, outlet and topic. Here every share is estimated three ways, each with a 95 %
interval:

``naive``
    the share among the model's predictions (what ``vistance analyze`` reports); its band
    resamples articles, so it covers sampling noise only, never the classifier's errors;
``gold_only``
    the design-weighted (Hájek) share among the gold units of a probability sample;
``estimate`` (prediction-powered, PPI++)
    ``lambda * (share predicted over the corpus) + (gold - lambda * predicted on the gold sample)``,
    design-weighted, with ``lambda`` tuned to minimise the variance (Angelopoulos et al. 2023,
    PPI++). It is unbiased whatever the model's errors, as long as the gold is a probability
    sample of the same corpus; with a good model it is narrower than ``gold_only``.

Only gold drawn with known inclusion probabilities enters, through a recorded
:class:`~vistance.labels.design.SamplingDesign`; gold without a design (active-learning
rounds, keyword-sampled batches) is refused (:class:`~vistance.labels.design.DesignError`).

Quantities, per cell counterpart x period x theme (the cells of ``analyze``), for the labels of a
:class:`~vistance.labels.schema.LabelSchema` (the model's): ``share_<tone>`` for each tone;
``coop_index`` = (pos - neg) / (pos + neg) over the schema's two ``poles`` (none without poles);
``share_<theme>`` for each theme (cells of theme ``all`` only). A cell's counterpart and
period are observed (gazetteer, date); its theme is a label, so for gold units the gold themes
decide membership and for the corpus the predicted ones: every quantity is a ratio of two means,
each corrected. Period ``all`` holds every unit, dated or not.

Intervals (``interval="studentized"``, the default): a bootstrap-t interval. The gold sample is
resampled *by cluster* (whole articles when articles were drawn) within strata; each replicate
re-tunes lambda and is studentized by its own linearised standard error; the interval is
``estimate - t*_(0.975) se, estimate - t*_(0.025) se`` with ``se`` the design-based standard error
(stratified, with the finite-population correction when ``population="corpus"``: the target is the
share in this corpus, whose predictions are a census). Studentizing matters here: the classifier's
errors come in few articles, so the rectifier is skewed, and plain percentile intervals covered
0.91-0.93 with 18-35 gold articles (``estimate_check``; 0.90 on a synthetic corpus with clustered errors). ``interval="percentile"``: Rao-Wu rescaled
bootstrap percentiles scaled by t(df)/z. With ``population="superpopulation"`` the corpus'
articles are resampled too (the corpus as one draw of a news process; no correction). The naive
band always resamples the corpus' articles.

A cell with too little gold (fewer than ``min_gold_units`` units or ``min_gold_clusters`` clusters;
for a share, fewer than ``min_gold_positive`` label carriers, or gold carriers in fewer than 5 clusters)
gets no number: ``method`` says ``too_little_gold`` and the note how many more random draws would halve
the interval (the PPI variance formula: gold part ``S^2 (1/n - 1/N)`` plus the corpus part).
"""
from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from vistance.analysis.aggregate import ALL, ANY_POLICY, period_of
from vistance.errors import VistanceError
from vistance.labels.design import DesignError, SamplingDesign
from vistance.labels.schema import LabelSchema, default_schema

POPULATIONS = ("corpus", "superpopulation")
INTERVALS = ("studentized", "percentile")
COLUMNS = [
    "corpus", "counterpart", "period", "theme", "quantity", "naive", "naive_low", "naive_high",
    "estimate", "low", "high", "gold_only", "gold_low", "gold_high", "n_gold", "n_gold_clusters", "n_predicted",
    "lambda", "method", "more_gold_to_halve", "draws_to_halve", "note",
]
METHOD_PPI, METHOD_FEW, METHOD_NONE = "ppi++", "too_little_gold", "no_design"
MIN_POSITIVE_CLUSTERS = 5   # a share's gold carriers must come from at least this many clusters (else no interval holds)
_MAX_DRAWS = 20_000_000   # replicate x article cells drawn at once (bounded memory on big corpora)


# -- inputs ---------------------------------------------------------------------------------
@dataclass
class PredictedCorpus:
    """The model's predictions for every unit of one corpus, columnar."""

    name: str
    ids: list[str]
    article: np.ndarray            # [N] article code
    articles: list[str]            # code -> article id (sorted)
    periods: list[str | None]      # [N] period label or None (undated)
    counterparts: list[tuple]      # [N]
    tone: np.ndarray               # [N] tone index
    themes: np.ndarray             # [N, n_themes] bool
    index: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.index:
            self.index = {u: i for i, u in enumerate(self.ids)}

    @property
    def n(self) -> int:
        return len(self.ids)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping], name: str = "corpus", period: str = "quarter",
                  schema: LabelSchema | None = None) -> "PredictedCorpus":
        """From prediction rows ``{id, article_id, date, themes, tone, counterparts}`` (``analyze``'s
        ``predictions.jsonl`` rows, or :func:`~vistance.analysis.run.analyse_batch` output), with the
        labels of ``schema`` (default: the packaged codebook)."""
        schema = schema or default_schema()
        tones, themes = schema.tone_names, schema.theme_names
        t_ix = {t: i for i, t in enumerate(tones)}
        th_ix = {t: i for i, t in enumerate(themes)}
        ids, arts, pers, cps, tone, th = [], [], [], [], [], []
        for r in rows:
            uid = r.get("id", r.get("paragraph_id"))
            if r["tone"] not in t_ix:
                raise VistanceError(f"{uid}: predicted tone {r['tone']!r} is not one of {', '.join(tones)}")
            ids.append(uid)
            arts.append(str(r.get("article_id") or uid))
            pers.append(period_of(r.get("date"), period))
            cps.append(tuple(dict.fromkeys(r.get("counterparts") or ())))
            tone.append(t_ix[r["tone"]])
            row = np.zeros(len(themes), dtype=bool)
            for t in r.get("themes") or ():
                if t in th_ix:
                    row[th_ix[t]] = True
            th.append(row)
        dup = [u for u, c in Counter(ids).items() if c > 1]
        if dup:
            raise VistanceError(f"corpus {name}: unit ids predicted twice: {', '.join(map(str, dup[:5]))}")
        articles = sorted(set(arts))
        code = {a: i for i, a in enumerate(articles)}
        return cls(name=name, ids=ids, article=np.array([code[a] for a in arts], dtype=np.int64), articles=articles,
                   periods=pers, counterparts=cps, tone=np.array(tone, dtype=np.int64),
                   themes=np.array(th, dtype=bool).reshape(len(ids), len(themes)))


@dataclass
class GoldSample:
    """The gold units of one design, joined to the corpus."""

    design: SamplingDesign
    idx: np.ndarray                # [n] corpus index of each gold unit
    tone: np.ndarray               # [n] gold tone index
    themes: np.ndarray             # [n, n_themes] bool
    cluster: np.ndarray            # [n] cluster code
    clusters: list[str]            # code -> cluster id (every drawn cluster)
    weight: np.ndarray             # [C] 1 / pi
    stratum: np.ndarray            # [C] stratum code
    fraction: np.ndarray           # [n_strata] n_h / N_h (after dropping missing clusters)
    size: np.ndarray               # [C] units of the cluster in the corpus
    pool_size: int                 # clusters in the pool
    ignored: dict = field(default_factory=dict)   # why gold labels were left out, with counts
    dropped: list = field(default_factory=list)   # drawn clusters dropped (missing gold, missing="drop")

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)


def _label_fields(lab):
    if isinstance(lab, Mapping):
        return lab.get("paragraph_id", lab.get("id")), list(lab.get("themes") or ()), lab.get("tone")
    return lab.paragraph_id, list(lab.themes), lab.tone


def join_gold(corpus: PredictedCorpus, gold: Iterable, design: SamplingDesign, schema: LabelSchema | None = None,
              missing: str = "error", pool_only: bool = False) -> GoldSample:
    """Join gold labels to ``corpus`` through ``design``; refuse what does not fit (:class:`DesignError`).

    Refused: a pool that is not this corpus (unless ``pool_only`` and the corpus minus the pool's
    ``excluded`` ids is the pool), drawn ids missing from the corpus, and drawn units without gold
    (``missing="error"``; ``"drop"`` drops their clusters and re-weights within the stratum, which
    assumes they are missing at random). Gold labels outside the design are left out and counted.
    """
    where = f"design {design.name}"
    if design.corpus and design.corpus != corpus.name:
        raise DesignError(f"{where} was drawn from corpus {design.corpus!r}, not {corpus.name!r}")
    unit_clusters = corpus.articles if design.unit == "article" else corpus.ids
    relation = design.check_pool(unit_clusters, where)
    if relation == "subset" and not pool_only:
        raise DesignError(f"{where}: its pool left out {len(design.pool.get('excluded') or [])} {design.unit}(s) of the "
                          f"corpus (already labelled, or excluded), which had no chance of being drawn: an estimate "
                          f"for the whole corpus would be biased. Draw estimation samples with an empty --exclude, "
                          f"or estimate over the pool only (pool_only / --pool-only)")
    drawn = design.probabilities()
    schema = schema or default_schema()
    tones, themes = schema.tone_names, schema.theme_names
    known = set(corpus.articles) if design.unit == "article" else set(corpus.index)
    absent = sorted(set(drawn) - known)
    if absent:
        raise DesignError(f"{where}: {len(absent)} drawn {design.unit} id(s) are not in the corpus "
                          f"{corpus.name!r} (e.g. {', '.join(absent[:3])})")
    t_ix = {t: i for i, t in enumerate(tones)}
    th_ix = {t: i for i, t in enumerate(themes)}
    labels = {}
    for lab in gold:
        pid, lt, tone = _label_fields(lab)
        labels[pid] = (lt, tone)
    # the units of the drawn clusters
    if design.unit == "article":
        acode = {a: i for i, a in enumerate(corpus.articles)}
        wanted = {acode[a] for a in drawn}
        members = defaultdict(list)
        for i in np.flatnonzero(np.isin(corpus.article, list(wanted))):
            members[corpus.articles[corpus.article[i]]].append(int(i))
    else:
        members = {u: [corpus.index[u]] for u in drawn}
    sizes = {c: len(v) for c, v in members.items()}
    lacking = {c: [corpus.ids[i] for i in v if corpus.ids[i] not in labels] for c, v in members.items()}
    lacking = {c: v for c, v in lacking.items() if v}
    dropped: list[str] = []
    if lacking:
        units = sum(len(v) for v in lacking.values())
        if missing != "drop":
            eg = next(iter(lacking.values()))[0]
            raise DesignError(f"{where}: {units} drawn unit(s) in {len(lacking)} {design.unit}(s) have no gold label "
                              f"(e.g. {eg}): annotate them, or pass missing='drop' (--missing drop) to drop those "
                              f"{design.unit}s and assume they are missing at random")
        dropped = sorted(lacking)
    strata_of = design.stratum_of()
    keep = sorted(c for c in drawn if c not in set(dropped))
    if not keep:
        raise DesignError(f"{where}: no drawn {design.unit} has complete gold")
    strata_names = sorted(design.strata)
    n_h = Counter(strata_of[c] for c in keep)
    frac = np.array([n_h.get(h, 0) / int(design.strata[h]["N"]) for h in strata_names])
    # weights: 1 / pi, re-computed from the clusters kept (equal to the record when nothing was dropped)
    weight = np.array([int(design.strata[strata_of[c]]["N"]) / n_h[strata_of[c]] for c in keep])
    ccode = {c: i for i, c in enumerate(keep)}
    idx, tone, th, cl = [], [], [], []
    bad = []
    for c in keep:
        for i in members[c]:
            lt, lone = labels[corpus.ids[i]]
            if lone not in t_ix or any(t not in th_ix for t in lt):
                bad.append(corpus.ids[i])
                continue
            idx.append(i)
            tone.append(t_ix[lone])
            row = np.zeros(len(themes), dtype=bool)
            for t in lt:
                row[th_ix[t]] = True
            th.append(row)
            cl.append(ccode[c])
    if bad:
        raise DesignError(f"{where}: {len(bad)} gold label(s) use a tone or theme outside the label set (e.g. {bad[0]})")
    used = {corpus.ids[i] for i in idx}
    in_corpus = sum(1 for p in labels if p in corpus.index)
    ignored = {"outside_design": in_corpus - len(used), "not_in_corpus": len(labels) - in_corpus}
    return GoldSample(design=design, idx=np.array(idx, dtype=np.int64), tone=np.array(tone, dtype=np.int64),
                      themes=np.array(th, dtype=bool).reshape(len(idx), len(themes)),
                      cluster=np.array(cl, dtype=np.int64), clusters=keep, weight=weight,
                      stratum=np.array([strata_names.index(strata_of[c]) for c in keep], dtype=np.int64),
                      fraction=frac, size=np.array([sizes[c] for c in keep], dtype=float),
                      pool_size=design.pool_size, ignored=ignored, dropped=dropped)


# -- replicates -------------------------------------------------------------------------------
def rao_wu_weights(weight: np.ndarray, stratum: np.ndarray, fraction: np.ndarray, n_boot: int,
                   rng: np.random.Generator, fpc: bool = True) -> np.ndarray:
    """``[n_boot, C]`` bootstrap weights of the gold clusters (Rao, Wu & Yue 1992).

    In each stratum ``n_h - 1`` clusters are drawn with replacement and the weights rescaled,
    ``w* = w (1 - l + l n_h/(n_h-1) r)`` with ``l = sqrt(1 - f_h)`` (``f_h`` = 0 without ``fpc``),
    so the replicates' variance is the stratified without-replacement variance. A stratum with one
    cluster keeps its weight (it adds no variance it could estimate).
    """
    C = len(weight)
    out = np.tile(weight.astype(float), (n_boot, 1))
    for h in np.unique(stratum):
        members = np.flatnonzero(stratum == h)
        n_h = len(members)
        if n_h < 2:
            continue
        f = float(fraction[h]) if fpc else 0.0
        lam = math.sqrt(max(0.0, 1.0 - f))
        draws = rng.integers(0, n_h, size=(n_boot, n_h - 1))
        r = np.zeros((n_boot, n_h))
        np.add.at(r, (np.repeat(np.arange(n_boot), n_h - 1), draws.ravel()), 1.0)
        out[:, members] = weight[members] * (1.0 - lam + lam * (n_h / (n_h - 1)) * r)
    assert out.shape == (n_boot, C)
    return out


def article_count_draws(n_articles: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_boot, n_articles]``: how often each article is drawn in each with-replacement replicate."""
    draws = rng.integers(0, n_articles, size=(n_boot, n_articles))
    draws += (np.arange(n_boot) * n_articles)[:, None]
    return np.bincount(draws.ravel(), minlength=n_boot * n_articles).reshape(n_boot, n_articles).astype(np.float32)


def _stream(seed: int, *key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32("|".join(key).encode("utf-8"))])


# -- quantities -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    """A function of the cell's variable means: ``share`` = mu[a] / mu[den]; ``index`` = (mu[a]-mu[b])/(mu[a]+mu[b])."""

    name: str
    kind: str
    a: int
    b: int = 0

    def value(self, mu: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.kind == "share":
                den = mu[..., 0]
                return np.where(den > 0, mu[..., self.a] / np.where(den > 0, den, 1.0), np.nan)
            s = mu[..., self.a] + mu[..., self.b]
            return np.where(s > 0, (mu[..., self.a] - mu[..., self.b]) / np.where(s > 0, s, 1.0), np.nan)

    @property
    def bounds(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.kind == "share" else (-1.0, 1.0)

    def gradient(self, mu: np.ndarray, k: int) -> np.ndarray:
        """d value / d mu at ``mu`` (the linearisation that tunes lambda and gives the power formula)."""
        g = np.zeros(k)
        if self.kind == "share":
            den = mu[0]
            if den > 0:
                g[self.a] = 1.0 / den
                g[0] = -mu[self.a] / den ** 2
        else:
            s = mu[self.a] + mu[self.b]
            if s > 0:
                g[self.a] = 2.0 * mu[self.b] / s ** 2
                g[self.b] = -2.0 * mu[self.a] / s ** 2
        return g


def pole_names(schema: LabelSchema) -> tuple[str, str] | None:
    """``(positive, negative)``: the tones of the cooperation index, or ``None`` without poles."""
    return (schema.poles.positive, schema.poles.negative) if schema.poles else None


def quantities(tones: Sequence[str], themes: Sequence[str], poles: Sequence[str] | None, with_themes: bool):
    """Variables of a cell: ``[den, tone_1..tone_T, theme_1..theme_K]``; the quantities read from them
    (``poles``: the positive and negative tone of the index, or ``None``)."""
    out = [Quantity(f"share_{t}", "share", 1 + i) for i, t in enumerate(tones)]
    if poles and len(poles) == 2 and all(p in tones for p in poles):
        out.append(Quantity("coop_index", "index", 1 + list(tones).index(poles[0]), 1 + list(tones).index(poles[1])))
    if with_themes:
        out += [Quantity(f"share_{t}", "share", 1 + len(tones) + i) for i, t in enumerate(themes)]
    return out


# -- the estimator of one cell ----------------------------------------------------------------
def _strat_cov(x: np.ndarray, y: np.ndarray, stratum: np.ndarray, fraction: np.ndarray, fpc: bool) -> float:
    """Stratified without-replacement covariance of the totals ``sum x`` and ``sum y`` (cluster values)."""
    tot = 0.0
    for h in np.unique(stratum):
        m = stratum == h
        n_h = int(m.sum())
        if n_h < 2:
            continue
        xs, ys = x[m] - x[m].mean(), y[m] - y[m].mean()
        tot += (1.0 - (float(fraction[h]) if fpc else 0.0)) * n_h / (n_h - 1) * float(xs @ ys)
    return tot


@dataclass
class CellData:
    key: tuple
    P_rows: np.ndarray        # [A_c] article codes of the corpus rows below
    P: np.ndarray             # [A_c, k] predicted variable totals per article
    Y: np.ndarray | None      # [C, k] gold variable totals per gold cluster (gold membership)
    F: np.ndarray | None      # [C, k] predicted totals on the gold clusters
    n_gold: dict              # quantity name -> gold units that count for it
    n_gold_clusters: dict     # quantity name -> clusters among them
    n_gold_positive: dict     # share name -> (gold units, clusters) carrying the label (by gold or prediction)
    n_predicted: int
    quantities: list


def _cell_vars(member: np.ndarray, tone: np.ndarray, themes: np.ndarray, n_tones: int, with_themes: bool) -> np.ndarray:
    m = member.astype(float)
    cols = [m[:, None], m[:, None] * np.eye(n_tones)[tone]]
    if with_themes:
        cols.append(m[:, None] * themes.astype(float))
    return np.concatenate(cols, axis=1) if len(m) else np.zeros((0, 1 + n_tones + (themes.shape[1] if with_themes else 0)))


def _totals(codes: np.ndarray, V: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, V.shape[1]))
    for j in range(V.shape[1]):
        out[:, j] = np.bincount(codes, weights=V[:, j], minlength=n)
    return out


@dataclass
class _Context:
    corpus: PredictedCorpus
    gold: GoldSample | None
    tones: Sequence[str]
    themes: Sequence[str]
    poles: Sequence[str] | None
    other_ix: list
    n_boot: int
    level: float
    population: str
    min_gold_units: int
    min_gold_clusters: int
    min_gold_positive: int = 5
    interval: str = "studentized"
    article_units: np.ndarray = None   # [A] units of each article


def _membership(theme: str, themes_arr: np.ndarray, th_names: Sequence[str], policy_cols: list) -> np.ndarray:
    if theme == ALL:
        return np.ones(len(themes_arr), dtype=bool)
    if theme == ANY_POLICY:
        return themes_arr[:, policy_cols].any(axis=1) if policy_cols else np.zeros(len(themes_arr), dtype=bool)
    return themes_arr[:, list(th_names).index(theme)]


def _cells(ctx: _Context, overall_only: bool = False) -> list[CellData]:
    corpus, gold = ctx.corpus, ctx.gold
    obs: dict[tuple, list[int]] = defaultdict(list)
    if overall_only:
        obs[(ALL, ALL)] = list(range(corpus.n))
    else:
        for i in range(corpus.n):
            per = corpus.periods[i]
            for cp in (*corpus.counterparts[i], ALL):
                obs[(cp, ALL)].append(i)
                if per is not None:
                    obs[(cp, per)].append(i)
    gold_pos = {}
    if gold is not None:
        gold_pos = {int(i): j for j, i in enumerate(gold.idx)}
    T = len(ctx.tones)
    out = []
    for (cp, per), units in obs.items():
        units = np.asarray(units, dtype=np.int64)
        pred_th = corpus.themes[units]
        gsel = np.array([gold_pos[i] for i in units if i in gold_pos], dtype=np.int64) if gold is not None else None
        if overall_only:
            theme_keys = [ALL]
        else:
            present = pred_th.any(axis=0)
            if gsel is not None and len(gsel):
                present = present | gold.themes[gsel].any(axis=0)
            theme_keys = [ALL] + ([ANY_POLICY] if present[ctx.other_ix].any() else []) + \
                [t for t, p in zip(ctx.themes, present) if p]
        for th in theme_keys:
            with_themes = th == ALL
            qs = quantities(ctx.tones, ctx.themes, ctx.poles, with_themes)
            m_f = _membership(th, pred_th, ctx.themes, ctx.other_ix)
            V = _cell_vars(m_f, corpus.tone[units], pred_th, T, with_themes)
            rows, inv = np.unique(corpus.article[units][m_f], return_inverse=True)
            P = _totals(inv, V[m_f], len(rows))
            Y = F = None
            n_gold: dict = {}
            n_cl: dict = {}
            n_pos: dict = {}
            if gsel is not None:
                gu = gold.idx[gsel]
                m_y = _membership(th, gold.themes[gsel], ctx.themes, ctx.other_ix)
                m_gf = _membership(th, corpus.themes[gu], ctx.themes, ctx.other_ix)
                Vy = _cell_vars(m_y, gold.tone[gsel], gold.themes[gsel], T, with_themes)
                Vf = _cell_vars(m_gf, corpus.tone[gu], corpus.themes[gu], T, with_themes)
                C = gold.n_clusters
                Y = _totals(gold.cluster[gsel], Vy, C)
                F = _totals(gold.cluster[gsel], Vf, C)
                inside = m_y | m_gf
                tonal = np.zeros(len(gsel), dtype=bool)
                for q in qs:
                    if q.kind == "index":
                        tonal = inside & (np.isin(gold.tone[gsel], [q.a - 1, q.b - 1]) |
                                          np.isin(corpus.tone[gu], [q.a - 1, q.b - 1]))
                for q in qs:
                    sel = tonal if q.kind == "index" else inside
                    n_gold[q.name] = int(sel.sum())
                    n_cl[q.name] = int(len(np.unique(gold.cluster[gsel][sel])))
                    if q.kind == "share":
                        pos = (Vy[:, q.a] > 0) | (Vf[:, q.a] > 0)
                        n_pos[q.name] = (int(pos.sum()), int(len(np.unique(gold.cluster[gsel][Vy[:, q.a] > 0]))))
            out.append(CellData(key=(cp, per, th), P_rows=rows, P=P, Y=Y, F=F, n_gold=n_gold, n_gold_clusters=n_cl,
                                n_gold_positive=n_pos, n_predicted=int(m_f.sum()), quantities=qs))
    return out


def _lambda_and_power(cell: CellData, q: Quantity, mu_pred: np.ndarray, mu_ppi1: np.ndarray, ctx: _Context,
                      N: int) -> tuple[float, float, float]:
    """PPI++ lambda of one quantity and the variance parts of its estimate: ``(lambda, V_gold, V_corpus)``.

    Linearised at the lambda = 1 estimate (as ``ppi_py`` tunes it): the gold part's variance is the
    stratified cluster variance of ``w (Zy - lambda Zf)`` (Hajek-centred), the corpus part (only for
    ``superpopulation``) that of the articles' predicted totals; lambda minimises their sum, clipped to [0, 1].
    """
    gold = ctx.gold
    k = cell.P.shape[1]
    g = q.gradient(mu_ppi1, k)
    w, u = gold.weight, gold.size
    zy, zf = cell.Y @ g, cell.F @ g
    swu = float(w @ u)
    dy = zy - u * float(w @ zy) / swu
    dfv = zf - u * float(w @ zf) / swu
    fpc = ctx.population == "corpus"
    cyf = _strat_cov(w * dy, w * dfv, gold.stratum, gold.fraction, fpc)
    vyy = _strat_cov(w * dy, w * dy, gold.stratum, gold.fraction, fpc)
    vff = _strat_cov(w * dfv, w * dfv, gold.stratum, gold.fraction, fpc)
    v_corpus = 0.0
    if ctx.population == "superpopulation":
        zp = np.zeros(len(ctx.article_units))
        zp[cell.P_rows] = cell.P @ g
        zbar = zp.sum() / N
        A = len(zp)
        v_corpus = A / max(A - 1, 1) * float(((zp - zbar * ctx.article_units) ** 2).sum()) / N ** 2
    denom = vff / swu ** 2 + v_corpus
    lam = float(np.clip(cyf / swu ** 2 / denom, 0.0, 1.0)) if denom > 0 else 0.0
    v_gold = (vyy - 2 * lam * cyf + lam ** 2 * vff) / swu ** 2
    # for re-tuning lambda in each replicate: the stratum-centred cluster values and the corpus term
    ey, ef = _centred(w * dy, gold.stratum), _centred(w * dfv, gold.stratum)
    sff = float(ef @ ef)
    extra = v_corpus * swu ** 2 / (vff / sff) if sff > 0 and vff > 0 else 0.0
    return lam, max(v_gold, 0.0), lam ** 2 * v_corpus, (ey * ef, ef * ef, extra)


def _centred(x: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    out = x.astype(float).copy()
    for h in np.unique(stratum):
        m = stratum == h
        out[m] -= out[m].mean()
    return out


def _halving(v_gold: float, v_corpus: float, n: int, N: int, fpc: bool) -> float:
    """Clusters to draw in all (at the same design) for the interval to halve; inf when gold alone cannot."""
    if v_gold <= 0 or n < 2:
        return float("nan")
    if fpc:   # v_gold = S^2 (1/n - 1/N)
        s2 = v_gold / (1.0 / n - 1.0 / N) if n < N else float("nan")
        target = (v_gold + v_corpus) / 4.0 - v_corpus
        if not (target > 0) or s2 != s2:
            return float("inf")
        return 1.0 / (target / s2 + 1.0 / N)
    s2 = v_gold * n
    target = (v_gold + v_corpus) / 4.0 - v_corpus
    return s2 / target if target > 0 else float("inf")


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    ok = reps[~np.isnan(reps)]
    if ok.size < 0.5 * max(len(reps), 1) or ok.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(ok, [a, 1.0 - a])
    return float(lo), float(hi)


def _pivot(theta_b: np.ndarray, theta: np.ndarray, se_b: np.ndarray) -> np.ndarray:
    """Studentized replicates ``(theta* - theta) / se*``; a replicate with no spread is 0 when it did not
    move and +-inf when it did (the interval then reaches the bound: conservative)."""
    d = theta_b - theta[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se_b > 1e-12, d / np.where(se_b > 1e-12, se_b, 1.0),
                     np.where(np.abs(d) <= 1e-12, 0.0, np.sign(d) * np.inf))
    return np.where(np.isnan(theta_b), np.nan, t)


def _t_interval(point: float, se: float, t_reps: np.ndarray, level: float) -> tuple[float, float]:
    """Bootstrap-t interval ``point - t*_(1-a/2) se, point - t*_(a/2) se``."""
    ok = t_reps[~np.isnan(t_reps)]
    if point != point or se != se or ok.size < 0.5 * max(len(t_reps), 1) or ok.size == 0:
        return float("nan"), float("nan")
    a = (1.0 - level) / 2.0
    lo_q, hi_q = np.quantile(ok, [a, 1.0 - a], method="inverted_cdf")
    return point - hi_q * se, point - lo_q * se


def _widen(point: float, lo: float, hi: float, scale: float) -> tuple[float, float]:
    """A percentile interval's two half-widths around ``point``, each times ``scale``."""
    if scale == 1.0 or point != point:
        return lo, hi
    return point - (point - lo) * scale, point + (hi - point) * scale


def cluster_count_draws(stratum: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_boot, C]``: how often each gold cluster is drawn when each stratum's ``n_h`` clusters are
    resampled with replacement (the plain bootstrap the studentized interval pivots on)."""
    out = np.zeros((n_boot, len(stratum)))
    for h in np.unique(stratum):
        members = np.flatnonzero(stratum == h)
        draws = rng.integers(0, len(members), size=(n_boot, len(members)))
        counts = np.zeros((n_boot, len(members)))
        np.add.at(counts, (np.repeat(np.arange(n_boot), len(members)), draws.ravel()), 1.0)
        out[:, members] = counts
    return out


def _student_se(Rc: np.ndarray, stratum: np.ndarray, wzy: np.ndarray, wzf: np.ndarray, wu: np.ndarray,
                lam: np.ndarray) -> np.ndarray:
    """Linearised standard error of the Hajek mean of ``z_y - lam z_f`` in every replicate ``[B, Q]``
    (no finite-population correction: it is the scale of the plain bootstrap's pivot)."""
    B, Q = Rc.shape[0], wzy.shape[1]
    Sa = Rc @ wzy - lam * (Rc @ wzf)
    Sb = Rc @ wu
    rbar = Sa / Sb[:, None]
    var = np.zeros((B, Q))
    for h in np.unique(stratum):
        m = stratum == h
        n_h = int(m.sum())
        if n_h < 2:
            continue
        R = Rc[:, m]
        y, f, u = wzy[m], wzf[m], wu[m]
        s_a = R @ y - lam * (R @ f)
        s_b = (R @ u)[:, None]
        s_aa = R @ (y * y) - 2 * lam * (R @ (y * f)) + lam ** 2 * (R @ (f * f))
        s_ab = R @ (y * u[:, None]) - lam * (R @ (f * u[:, None]))
        s_bb = (R @ (u * u))[:, None]
        se = s_a - rbar * s_b                                  # sum of r e over the stratum
        see = s_aa - 2 * rbar * s_ab + rbar ** 2 * s_bb        # sum of r e^2
        var += n_h / (n_h - 1) * np.maximum(see - se ** 2 / n_h, 0.0)
    return np.sqrt(var) / Sb[:, None]


def _estimate(ctx: _Context, cells: list[CellData], seed: int) -> list[dict]:
    corpus, gold = ctx.corpus, ctx.gold
    N = corpus.n
    A = len(corpus.articles)
    B = ctx.n_boot
    superpop = ctx.population == "superpopulation"
    studentized = ctx.interval == "studentized"
    fpc = not superpop
    # shared replicates: article draws of the corpus (naive band; PPI under superpopulation) and gold draws
    block = max(1, min(B, _MAX_DRAWS // max(A, 1)))
    n_q = {id(c): len(c.quantities) for c in cells}
    reps = {id(c): np.full((3, B, n_q[id(c)]), np.nan) for c in cells}   # naive, gold, ppi (t* when studentized)
    # point estimates, lambdas, linearised variables and standard errors first
    points = {}
    for c in cells:
        Ptot = c.P.sum(axis=0)
        mu_naive = Ptot / N
        entry = {"mu_naive": mu_naive}
        if gold is not None and c.Y is not None:
            w, u = gold.weight, gold.size
            swu = float(w @ u)
            ry, rf = (w @ c.Y) / swu, (w @ c.F) / swu
            mu_gold = ry
            mu_ppi1 = mu_naive + ry - rf
            k = c.P.shape[1]
            lams, parts, tune, gz, gz0, se, se0 = [], [], [], [], [], [], []
            for q in c.quantities:
                lam, vg, vc, t = _lambda_and_power(c, q, mu_naive, mu_ppi1, ctx, N)
                lams.append(lam)
                parts.append((vg, vc))
                tune.append(t)
                gz.append(q.gradient(mu_ppi1, k))
                se.append(math.sqrt(vg + vc))
                g0 = q.gradient(mu_gold, k)
                gz0.append(g0)
                z0 = c.Y @ g0
                d0 = w * (z0 - u * float(w @ z0) / swu)
                se0.append(math.sqrt(max(_strat_cov(d0, d0, gold.stratum, gold.fraction, fpc), 0.0)) / swu)
            G, G0 = np.stack(gz, axis=1), np.stack(gz0, axis=1)
            entry.update(mu_gold=mu_gold, ry=ry, rf=rf, lams=np.array(lams), parts=parts,
                         tune_xy=np.stack([t[0] for t in tune], axis=1), tune_xx=np.stack([t[1] for t in tune], axis=1),
                         tune_extra=np.array([t[2] for t in tune]), se=np.array(se), se0=np.array(se0),
                         wzy=w[:, None] * (c.Y @ G), wzf=w[:, None] * (c.F @ G), wzy0=w[:, None] * (c.Y @ G0),
                         v_corpus=np.array([p[1] for p in parts]))
            entry["est"] = np.array([float(q.value(lam * mu_naive + ry - lam * rf))
                                     for q, lam in zip(c.quantities, lams)])
            entry["gest"] = np.array([float(q.value(mu_gold)) for q in c.quantities])
        points[id(c)] = entry
    rng_art = _stream(seed, "articles")
    rng_gold = _stream(seed, "gold")
    for start in range(0, B, block):
        b = min(block, B - start)
        M = article_count_draws(A, b, rng_art)
        Nstar = M @ ctx.article_units
        Wg = mult = Rc = None
        if gold is not None:
            if studentized:
                Rc = cluster_count_draws(gold.stratum, b, rng_gold)
                Wg = Rc * gold.weight
            else:
                Wg = rao_wu_weights(gold.weight, gold.stratum, gold.fraction, b, rng_gold, fpc=fpc)
            mult = Wg / gold.weight   # how often each gold cluster counts in a replicate
            Su = Wg @ gold.size
        for c in cells:
            r = reps[id(c)]
            Pstar = M[:, c.P_rows] @ c.P if len(c.P_rows) else np.zeros((b, c.P.shape[1]))
            mu_n = Pstar / Nstar[:, None]
            for j, q in enumerate(c.quantities):
                r[0, start:start + b, j] = q.value(mu_n)
            if Wg is None or c.Y is None:
                continue
            e = points[id(c)]
            with np.errstate(invalid="ignore", divide="ignore"):
                Ry, Rf = (Wg @ c.Y) / Su[:, None], (Wg @ c.F) / Su[:, None]
            base = mu_n if superpop else np.broadcast_to(e["mu_naive"], Ry.shape)
            # lambda re-tuned in every replicate (its estimation error belongs in the interval)
            num, den = mult @ e["tune_xy"], mult @ e["tune_xx"] + e["tune_extra"]
            with np.errstate(invalid="ignore", divide="ignore"):
                lam_b = np.clip(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0), 0.0, 1.0)
            gold_rep = np.stack([q.value(Ry) for q in c.quantities], axis=1)
            ppi_rep = np.stack([q.value(lam_b[:, j:j + 1] * base + Ry - lam_b[:, j:j + 1] * Rf)
                                for j, q in enumerate(c.quantities)], axis=1)
            if studentized:
                wu = gold.weight * gold.size
                with np.errstate(invalid="ignore", divide="ignore"):
                    se_p = _student_se(Rc, gold.stratum, e["wzy"], e["wzf"], wu, lam_b)
                    if superpop:
                        se_p = np.sqrt(se_p ** 2 + lam_b ** 2 * (e["v_corpus"] / np.maximum(e["lams"] ** 2, 1e-300)))
                    se_g = _student_se(Rc, gold.stratum, e["wzy0"], np.zeros_like(e["wzy0"]), wu,
                                       np.zeros_like(lam_b))
                    gold_rep = _pivot(gold_rep, e["gest"], se_g)
                    ppi_rep = _pivot(ppi_rep, e["est"], se_p)
            r[1, start:start + b] = gold_rep
            r[2, start:start + b] = ppi_rep
    rows = []
    design = gold.design if gold is not None else None
    # percentile intervals (interval="percentile"): the half-widths scaled by t(df) / z with the design's
    # degrees of freedom (clusters - strata), as survey software does for design-based intervals
    t_scale = 1.0
    if gold is not None and not studentized:
        from scipy.stats import norm, t as student_t

        df = gold.n_clusters - len(np.unique(gold.stratum))
        a = 1.0 - (1.0 - ctx.level) / 2.0
        t_scale = float(student_t.ppf(a, df) / norm.ppf(a)) if df >= 1 else float("nan")
    for c in cells:
        e = points[id(c)]
        r = reps[id(c)]
        cp, per, th = c.key
        for j, q in enumerate(c.quantities):
            naive = float(q.value(e["mu_naive"]))
            nlo, nhi = _interval(r[0, :, j], ctx.level)
            row = {"corpus": corpus.name, "counterpart": cp, "period": per, "theme": th, "quantity": q.name,
                   "naive": naive, "naive_low": nlo, "naive_high": nhi, "estimate": np.nan, "low": np.nan,
                   "high": np.nan, "gold_only": np.nan, "gold_low": np.nan, "gold_high": np.nan,
                   "n_gold": 0, "n_gold_clusters": 0, "n_predicted": c.n_predicted, "lambda": np.nan,
                   "method": METHOD_NONE, "more_gold_to_halve": np.nan, "draws_to_halve": np.nan, "note": ""}
            if gold is None:
                row["note"] = "no design-based gold for this corpus: the naive share only (classifier errors uncorrected)"
                rows.append(row)
                continue
            ng, ncl = c.n_gold.get(q.name, 0), c.n_gold_clusters.get(q.name, 0)
            lam = float(e["lams"][j])
            vg, vc = e["parts"][j]
            n_total = gold.n_clusters
            n_prime = _halving(vg, vc, n_total, gold.pool_size, fpc=not superpop) if ncl >= 2 else float("nan")
            draws = n_prime - n_total if np.isfinite(n_prime) else n_prime
            more = draws * ng / n_total if np.isfinite(draws) else draws
            row.update(n_gold=ng, n_gold_clusters=ncl)
            row["more_gold_to_halve"] = float(math.ceil(more)) if np.isfinite(more) else more
            row["draws_to_halve"] = float(math.ceil(draws)) if np.isfinite(draws) else draws
            unit = design.unit
            npos, npos_cl = c.n_gold_positive.get(q.name, (None, None))
            if npos is not None and (npos < ctx.min_gold_positive or npos_cl < MIN_POSITIVE_CLUSTERS) \
                    and ng >= ctx.min_gold_units and ncl >= ctx.min_gold_clusters:
                row["method"] = METHOD_FEW
                row["note"] = (f"too little gold: {npos} gold unit(s) of this cell carry the label by gold or "
                               f"prediction (needs >= {ctx.min_gold_positive}), by gold in {npos_cl} {design.unit}(s) "
                               f"(needs >= {MIN_POSITIVE_CLUSTERS}): a share this rare needs a larger or stratified "
                               "sample")
                rows.append(row)
                continue
            if ng < ctx.min_gold_units or ncl < ctx.min_gold_clusters:
                row["method"] = METHOD_FEW
                if ng == 0:
                    row["note"] = (f"no gold unit in this cell: no corrected estimate (needs >= {ctx.min_gold_units} gold "
                                   f"units in >= {ctx.min_gold_clusters} {unit}s; draw a sample stratified by this cell)")
                elif not np.isfinite(draws):
                    row["note"] = (f"too little gold: {ng} unit(s) in {ncl} {unit}(s) (needs >= {ctx.min_gold_units} in "
                                   f">= {ctx.min_gold_clusters}); too few to size the interval")
                else:
                    row["note"] = (f"too little gold: {ng} unit(s) in {ncl} {unit}(s) (needs >= {ctx.min_gold_units} in "
                                   f">= {ctx.min_gold_clusters}); about {row['more_gold_to_halve']:.0f} more gold units in "
                                   f"this cell ({row['draws_to_halve']:.0f} more random {unit}s) would halve its interval")
                rows.append(row)
                continue
            # a share lies in [0, 1] and the index in [-1, 1]: the rectified estimate and its
            # replicates can step outside, so estimates and bounds are clipped to the range
            clip = lambda x, q=q: float(np.clip(x, *q.bounds)) if x == x else x  # noqa: E731
            est, gest = float(e["est"][j]), float(e["gest"][j])
            if studentized:
                lo, hi = _t_interval(est, float(e["se"][j]), r[2, :, j], ctx.level)
                glo, ghi = _t_interval(gest, float(e["se0"][j]), r[1, :, j], ctx.level)
            else:
                lo, hi = _widen(est, *_interval(r[2, :, j], ctx.level), t_scale)
                glo, ghi = _widen(gest, *_interval(r[1, :, j], ctx.level), t_scale)
            row.update(estimate=clip(est), low=clip(lo), high=clip(hi), gold_only=clip(gest), gold_low=clip(glo),
                       gold_high=clip(ghi), method=METHOD_PPI)
            row["lambda"] = lam
            if np.isinf(draws):
                row["note"] = "more gold alone cannot halve this interval: the corpus' own variation dominates"
            rows.append(row)
    return rows


def _theme_order(themes):
    order = {ALL: 0, ANY_POLICY: 1, **{t: 2 + i for i, t in enumerate(themes)}}
    return lambda t: (order.get(t, len(order) + 2), t)


@dataclass
class EstimateResult:
    """The tidy table (:data:`COLUMNS`) and what went in (``info``: design, gold used and left out, settings)."""

    table: object
    info: dict


def estimate_shares(rows: Iterable[Mapping] | PredictedCorpus, gold: Iterable | None = None,
                    design: SamplingDesign | None = None, *, corpus: str | None = None, period: str = "quarter",
                    schema: LabelSchema | None = None, n_boot: int = 1000,
                    level: float = 0.95, seed: int = 0, population: str = "corpus", min_gold_units: int = 30,
                    min_gold_clusters: int = 20, min_gold_positive: int = 5, missing: str = "error", pool_only: bool = False,
                    overall_only: bool = False, interval: str = "studentized") -> EstimateResult:
    """Naive, gold-only and prediction-powered shares of one corpus, per cell, with 95 % intervals.

    ``rows``: prediction rows of every unit of the corpus (``id, article_id, date, themes, tone,
    counterparts``) or a :class:`PredictedCorpus`. ``gold``: gold labels (``Label`` objects or dicts
    with ``paragraph_id``/``id``, ``themes``, ``tone``) and ``design`` the
    :class:`~vistance.labels.design.SamplingDesign` they were drawn by; gold without a design is
    refused (:class:`DesignError`): active-learning and keyword-sampled gold never enter. Without
    either, the table holds the naive shares only (``method = no_design``).
    ``schema``: the labels (the model's; default: the packaged codebook): its tones and themes give
    the shares, its ``poles`` the cooperation index (none without poles), its ``catch_all`` the theme
    left out of ``any_policy``. ``overall_only``: the cell (all, all, all) alone (fast; the
    simulations use it).
    """
    import pandas as pd

    if population not in POPULATIONS:
        raise VistanceError(f"population {population!r}: use one of {', '.join(POPULATIONS)}")
    if interval not in INTERVALS:
        raise VistanceError(f"interval {interval!r}: use one of {', '.join(INTERVALS)}")
    if gold is not None and design is None:
        raise DesignError("gold labels without a recorded sampling design are refused: only a probability sample "
                          "with known inclusion probabilities can correct an estimate (active-learning and "
                          "keyword-sampled gold never enter). Record the draw (`vistance annotate export --strategy "
                          "random` writes BATCH.design.json) and pass it with the gold")
    if design is not None and gold is None:
        raise DesignError(f"design {design.name}: no gold labels given for it")
    schema = schema or default_schema()
    tones, themes, poles = schema.tone_names, schema.theme_names, pole_names(schema)
    pc = rows if isinstance(rows, PredictedCorpus) else \
        PredictedCorpus.from_rows(rows, name=corpus or "corpus", period=period, schema=schema)
    if pc.n == 0:
        raise VistanceError(f"corpus {pc.name}: no predicted units")
    gs = join_gold(pc, gold, design, schema, missing=missing, pool_only=pool_only) if design is not None else None
    if gs is not None and design.pool.get("excluded") and pool_only:
        keep = _pool_units(pc, design)
        pc = _subset(pc, keep)
        gs = join_gold(pc, gold, _without_excluded(design), schema, missing=missing)
    other_ix = [i for i, t in enumerate(themes) if t != schema.catch_all]
    ctx = _Context(corpus=pc, gold=gs, tones=tones, themes=themes, poles=poles, other_ix=other_ix, n_boot=n_boot,
                   level=level, population=population, min_gold_units=min_gold_units,
                   min_gold_clusters=min_gold_clusters, min_gold_positive=min_gold_positive,
                   interval=interval, article_units=np.bincount(pc.article, minlength=len(pc.articles)).astype(float))
    cells = _cells(ctx, overall_only=overall_only)
    out = _estimate(ctx, cells, seed)
    table = pd.DataFrame(out, columns=COLUMNS)
    if len(table):
        torder = _theme_order(themes)
        qorder = {q.name: i for i, q in enumerate(quantities(tones, themes, poles, True))}
        table = table.assign(_a=(table["counterpart"] != ALL), _p=(table["period"] != ALL),
                             _t=[torder(t) for t in table["theme"]], _q=table["quantity"].map(qorder))
        table = table.sort_values(["_a", "counterpart", "_p", "period", "_t", "_q"], kind="mergesort") \
            .drop(columns=["_a", "_p", "_t", "_q"]).reset_index(drop=True)
    info = {"corpus": pc.name, "units": pc.n, "articles": len(pc.articles),
            "dated_units": sum(p is not None for p in pc.periods), "period": period, "population": population,
            "n_boot": n_boot, "level": level, "seed": seed, "min_gold_units": min_gold_units,
            "min_gold_clusters": min_gold_clusters, "min_gold_positive": min_gold_positive,
            "interval": interval, "tones": list(tones), "poles": list(poles or []),
            "design": None}
    if gs is not None:
        info["design"] = {"name": design.name, "scheme": design.scheme, "unit": design.unit,
                          "clusters_drawn": len(design.sample), "clusters_used": gs.n_clusters,
                          "clusters_dropped_missing_gold": gs.dropped, "gold_units_used": int(len(gs.idx)),
                          "gold_left_out": gs.ignored, "pool_clusters": gs.pool_size,
                          "strata": design.strata}
    return EstimateResult(table=table, info=info)


def _pool_units(pc: PredictedCorpus, design: SamplingDesign) -> np.ndarray:
    excl = set(design.pool.get("excluded") or [])
    if design.unit == "article":
        return np.array([pc.articles[a] not in excl for a in pc.article])
    return np.array([u not in excl for u in pc.ids])


def _subset(pc: PredictedCorpus, keep: np.ndarray) -> PredictedCorpus:
    ix = np.flatnonzero(keep)
    arts = sorted({pc.articles[pc.article[i]] for i in ix})
    code = {a: j for j, a in enumerate(arts)}
    return PredictedCorpus(name=pc.name, ids=[pc.ids[i] for i in ix],
                           article=np.array([code[pc.articles[pc.article[i]]] for i in ix], dtype=np.int64),
                           articles=arts, periods=[pc.periods[i] for i in ix],
                           counterparts=[pc.counterparts[i] for i in ix], tone=pc.tone[ix], themes=pc.themes[ix])


def _without_excluded(design: SamplingDesign) -> SamplingDesign:
    from dataclasses import replace

    return replace(design, pool={**design.pool, "excluded": []})
