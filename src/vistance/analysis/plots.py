"""PNG figures of the tone table (matplotlib, Agg): read the tidy table, draw, save.

Every function takes the table from :mod:`vistance.analysis.aggregate`, writes one
PNG and returns its path; nothing here computes a statistic.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vistance.analysis.aggregate import ALL, ANY_POLICY
from vistance.labels.schema import THEMES, TONES

_TONE_COLOURS = {"cooperative": "#2E7D32", "contentious": "#C62828", "neutral": "#757575"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "vistance", "figure.dpi": 100})
    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def coop_index_timeseries(table, counterparts, path, theme: str = ANY_POLICY, min_tonal: int = 5,
                          names: dict | None = None) -> Path:
    """One panel per counterpart: cooperation index by period with its bootstrap band.

    Periods with fewer than ``min_tonal`` cooperative + contentious paragraphs are not
    drawn (their index is too noisy to read); the panel title gives the paragraph count.
    """
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
        sel = sel[(sel["n_cooperative"] + sel["n_contentious"]) >= min_tonal].set_index("period")
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
    fig.suptitle(f"(coop - cont) / (coop + cont) by period, {label}; 95 % article-bootstrap band; "
                 f"periods with < {min_tonal} cooperative + contentious paragraphs left out", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def theme_tone_heatmap(table, counterpart: str, path, period: str = ALL, names: dict | None = None) -> Path:
    """Themes x tones for one counterpart: the share of each tone within each theme (n in the cell)."""
    plt = _plt()
    names = names or {}
    rows = [ALL] + list(THEMES)
    sel = table[(table["counterpart"] == counterpart) & (table["period"] == period)].set_index("theme")
    share = np.full((len(rows), len(TONES)), np.nan)
    counts = np.zeros((len(rows), len(TONES)), dtype=int)
    for i, th in enumerate(rows):
        if th in sel.index:
            r = sel.loc[th]
            for j, t in enumerate(TONES):
                share[i, j] = r[f"share_{t}"]
                counts[i, j] = int(r[f"n_{t}"])
    fig, ax = plt.subplots(figsize=(5.6, 0.42 * len(rows) + 1.4))
    im = ax.imshow(np.nan_to_num(share, nan=0.0), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(TONES)):
            if not np.isnan(share[i, j]):
                ax.text(j, i, f"{share[i, j]:.0%}\n({counts[i, j]})", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(TONES)), TONES)
    ax.set_yticks(range(len(rows)), [r.replace("_", " ") for r in rows])
    ax.set_title(f"{names.get(counterpart, counterpart)}: tone within each theme"
                 + ("" if period == ALL else f", {period}"), fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04, label="share of the theme's paragraphs")
    fig.tight_layout()
    return _save(fig, path)


def coop_index_by_theme(table, counterpart: str, path, period: str = ALL, min_tonal: int = 5,
                        names: dict | None = None) -> Path:
    """Cooperation index of one counterpart in each theme, with bands (themes with fewer
    than ``min_tonal`` cooperative + contentious paragraphs are left empty)."""
    plt = _plt()
    names = names or {}
    rows = [ANY_POLICY] + [t for t in THEMES]
    sel = table[(table["counterpart"] == counterpart) & (table["period"] == period)].set_index("theme")
    v = np.array([sel.loc[t, "coop_index"] if t in sel.index else np.nan for t in rows], dtype=float)
    lo = np.array([sel.loc[t, "coop_index_low"] if t in sel.index else np.nan for t in rows], dtype=float)
    hi = np.array([sel.loc[t, "coop_index_high"] if t in sel.index else np.nan for t in rows], dtype=float)
    n = [int(sel.loc[t, "n_paragraphs"]) if t in sel.index else 0 for t in rows]
    tonal = np.array([int(sel.loc[t, "n_cooperative"] + sel.loc[t, "n_contentious"]) if t in sel.index else 0
                      for t in rows])
    v[tonal < min_tonal] = np.nan
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.0, 0.4 * len(rows) + 1.2))
    ok = ~np.isnan(v)
    err = np.vstack([np.where(np.isnan(lo), 0, v - lo), np.where(np.isnan(hi), 0, hi - v)])[:, ok]
    ax.barh(y[ok], v[ok], xerr=err, color=["#2E7D32" if x >= 0 else "#C62828" for x in v[ok]], alpha=0.8, capsize=3)
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(y, [f"{r.replace('_', ' ')} (n={k}, {c} tonal)" for r, k, c in zip(rows, n, tonal)])
    ax.set_xlim(-1.05, 1.05)
    ax.invert_yaxis()
    ax.set_xlabel("cooperation index (coop - cont) / (coop + cont)")
    ax.set_title(f"{names.get(counterpart, counterpart)} across themes"
                 + ("" if period == ALL else f", {period}") + "; 95 % article-bootstrap band\n"
                 f"(tonal = cooperative + contentious; bars need at least {min_tonal})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
