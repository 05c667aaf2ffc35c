"""PNG figures of the tone table (matplotlib, Agg): read the tidy table, draw, save.

Every function takes the table from :mod:`vistance.analysis.aggregate` and the
:class:`~vistance.labels.schema.LabelSchema` it was counted with, writes one PNG and returns
its path; nothing here computes a statistic. The cooperation-index figures need the schema's
``poles`` (:func:`has_index`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vistance.analysis.aggregate import ALL, ANY_POLICY
from vistance.errors import VistanceError
from vistance.labels.schema import LabelSchema

POSITIVE_COLOUR, NEGATIVE_COLOUR, NO_SIGNAL_COLOUR = "#2E7D32", "#C62828", "#757575"
PALETTE = ("#4C72B0", "#DD8452", "#8172B3", "#937860", "#DA8BC3", "#CCB974", "#64B5CD", "#8C8C8C")


def tone_colours(schema: LabelSchema) -> dict[str, str]:
    """A colour per tone: the positive pole green, the negative red, the no-signal tone grey, the
    others from :data:`PALETTE` in tone order."""
    fixed = {schema.no_signal: NO_SIGNAL_COLOUR} if schema.no_signal else {}
    if schema.poles:
        fixed |= {schema.poles.positive: POSITIVE_COLOUR, schema.poles.negative: NEGATIVE_COLOUR}
    rest = iter(PALETTE * (1 + len(schema.tones) // len(PALETTE)))
    return {t: fixed[t] if t in fixed else next(rest) for t in schema.tones}


def has_index(schema: LabelSchema) -> bool:
    """Whether the schema has the two poles of the cooperation index (else no index figure)."""
    return schema.poles is not None


def _poles(schema: LabelSchema) -> tuple[str, str]:
    if schema.poles is None:
        raise VistanceError(f"codebook {schema.name!r} names no poles: there is no cooperation index to plot")
    return schema.poles.positive, schema.poles.negative


def _short(tone: str) -> str:
    return tone[:4]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "vistance", "figure.dpi": 100})
    return plt


def _schema(schema: LabelSchema | None) -> LabelSchema:
    if schema is not None:
        return schema
    from vistance.labels.schema import default_schema

    return default_schema()


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def coop_index_timeseries(table, counterparts, path, theme: str = ANY_POLICY, min_tonal: int = 5,
                          names: dict | None = None, schema: LabelSchema | None = None) -> Path:
    """One panel per counterpart: cooperation index by period with its bootstrap band.

    Periods with fewer than ``min_tonal`` paragraphs of the two poles are not drawn (their
    index is too noisy to read); the panel title gives the paragraph count. ``schema``: the
    table's (default: the packaged codebook).
    """
    pos, neg = _poles(_schema(schema))
    plt = _plt()
    names = names or {}
    cps = list(counterparts) or ["all"]
    periods = sorted(set(table["period"]) - {ALL})
    ncol = min(3, len(cps))
    nrow = -(-len(cps) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.0 * nrow), squeeze=False, sharey=True)
    for ax in axes.ravel()[len(cps):]:
        ax.set_visible(False)
    for ax, cp in zip(axes.ravel(), cps):
        sel = table[(table["counterpart"] == cp) & (table["theme"] == theme) & (table["period"] != ALL)]
        sel = sel[(sel[f"n_{pos}"] + sel[f"n_{neg}"]) >= min_tonal].set_index("period")
        # one value per period, NaN where too few: lines and bands break at the gaps
        v, lo, hi = (np.array([sel.loc[p, c] if p in sel.index else np.nan for p in periods], dtype=float)
                     for c in ("coop_index", "coop_index_low", "coop_index_high"))
        xs = np.arange(len(periods), dtype=float)
        ax.axhline(0, color="#999999", lw=0.8)
        ax.fill_between(xs, lo, hi, color="#4C72B0", alpha=0.2, lw=0)
        ax.plot(xs, v, marker="o", color="#4C72B0", lw=1.5, ms=4)
        if np.isnan(v).all():
            ax.text(0.5, 0.5, f"no period with {min_tonal}+ tonal paragraphs", transform=ax.transAxes,
                    ha="center", va="center", fontsize=8, color="#777777")
        tot = table[(table["counterpart"] == cp) & (table["theme"] == theme) & (table["period"] == ALL)]
        n = int(tot["n_paragraphs"].iloc[0]) if len(tot) else 0
        ax.set_title(f"{names.get(cp, cp)} (n={n})", fontsize=10)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xticks(range(len(periods)), periods, rotation=60, fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("cooperation index")
    label = "paragraphs with a policy theme" if theme == ANY_POLICY else f"theme {theme}"
    p, n = _short(pos), _short(neg)
    fig.suptitle(f"({p} - {n}) / ({p} + {n}) by period, {label}; 95 % article-bootstrap band; "
                 f"periods with < {min_tonal} {pos} + {neg} paragraphs left out", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def theme_tone_heatmap(table, counterpart: str, path, period: str = ALL, names: dict | None = None,
                       schema: LabelSchema | None = None) -> Path:
    """Themes x tones for one counterpart: the share of each tone within each theme (n in the cell)."""
    schema = _schema(schema)
    tones = list(schema.tones)
    plt = _plt()
    names = names or {}
    rows = [ALL] + list(schema.themes)
    sel = table[(table["counterpart"] == counterpart) & (table["period"] == period)].set_index("theme")
    share = np.full((len(rows), len(tones)), np.nan)
    counts = np.zeros((len(rows), len(tones)), dtype=int)
    for i, th in enumerate(rows):
        if th in sel.index:
            r = sel.loc[th]
            for j, t in enumerate(tones):
                share[i, j] = r[f"share_{t}"]
                counts[i, j] = int(r[f"n_{t}"])
    fig, ax = plt.subplots(figsize=(5.6, 0.42 * len(rows) + 1.4))
    im = ax.imshow(np.nan_to_num(share, nan=0.0), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(tones)):
            if not np.isnan(share[i, j]):
                ax.text(j, i, f"{share[i, j]:.0%}\n({counts[i, j]})", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(tones)), tones)
    ax.set_yticks(range(len(rows)), [r.replace("_", " ") for r in rows])
    ax.set_title(f"{names.get(counterpart, counterpart)}: tone within each theme"
                 + ("" if period == ALL else f", {period}"), fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04, label="share of the theme's paragraphs")
    fig.tight_layout()
    return _save(fig, path)


def coop_index_by_theme(table, counterpart: str, path, period: str = ALL, min_tonal: int = 5,
                        names: dict | None = None, schema: LabelSchema | None = None) -> Path:
    """Cooperation index of one counterpart in each theme, with bands (themes with fewer
    than ``min_tonal`` paragraphs of the two poles are left empty)."""
    schema = _schema(schema)
    pos, neg = _poles(schema)
    colours = tone_colours(schema)
    plt = _plt()
    names = names or {}
    rows = [ANY_POLICY] + list(schema.themes)
    sel = table[(table["counterpart"] == counterpart) & (table["period"] == period)].set_index("theme")
    v = np.array([sel.loc[t, "coop_index"] if t in sel.index else np.nan for t in rows], dtype=float)
    lo = np.array([sel.loc[t, "coop_index_low"] if t in sel.index else np.nan for t in rows], dtype=float)
    hi = np.array([sel.loc[t, "coop_index_high"] if t in sel.index else np.nan for t in rows], dtype=float)
    n = [int(sel.loc[t, "n_paragraphs"]) if t in sel.index else 0 for t in rows]
    tonal = np.array([int(sel.loc[t, f"n_{pos}"] + sel.loc[t, f"n_{neg}"]) if t in sel.index else 0
                      for t in rows])
    v[tonal < min_tonal] = np.nan
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.0, 0.4 * len(rows) + 1.2))
    ok = ~np.isnan(v)
    err = np.vstack([np.where(np.isnan(lo), 0, v - lo), np.where(np.isnan(hi), 0, hi - v)])[:, ok]
    ax.barh(y[ok], v[ok], xerr=err, color=[colours[pos] if x >= 0 else colours[neg] for x in v[ok]], alpha=0.8,
            capsize=3)
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(y, [f"{r.replace('_', ' ')} (n={k}, {c} tonal)" for r, k, c in zip(rows, n, tonal)])
    ax.set_xlim(-1.05, 1.05)
    ax.invert_yaxis()
    p, n = _short(pos), _short(neg)
    ax.set_xlabel(f"cooperation index ({p} - {n}) / ({p} + {n})")
    ax.set_title(f"{names.get(counterpart, counterpart)} across themes"
                 + ("" if period == ALL else f", {period}") + "; 95 % article-bootstrap band\n"
                 f"(tonal = {pos} + {neg}; bars need at least {min_tonal})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
