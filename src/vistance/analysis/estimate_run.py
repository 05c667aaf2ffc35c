"""``vistance estimate``: predict a corpus, join the design-based gold, write the corrected shares.

    vistance estimate --paragraphs data/unlabelled/vietnews.jsonl --gold labels/gold.jsonl \\
        --design labels/designs/test_vietnews.json --out experiments/estimates
    estimate_corpus("experiments/models/best", ["data/unlabelled/vietnews.jsonl"], "experiments/estimates",
                    gold="labels/gold.jsonl", designs=["labels/designs/test_vietnews.json"])

Writes ``estimates.csv`` (one row per corpus x cell x quantity, :data:`~vistance.analysis.estimate.COLUMNS`
plus ``counterpart_name``), ``estimates.json`` (what went in: designs, gold used and left out,
settings) and ``naive_vs_corrected_<counterpart>.png``. Each corpus (the ``corpus`` field of the
paragraph records) is estimated on its own; a corpus without a design gets the naive shares only.
The model must not have been trained on the gold sample (the cross-corpus test never is).
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from vistance.analysis.aggregate import ALL, ANY_POLICY
from vistance.analysis.estimate import COLUMNS, METHOD_FEW, METHOD_PPI, estimate_shares
from vistance.labels.design import DesignError, read_design
from vistance.labels.schema import LabelSchema, default_schema

if TYPE_CHECKING:
    from vistance.config import AnalysisConfig, EstimateConfig

TABLE_NAME = "estimates"


def predict_corpora(model, paragraphs: Sequence, batch_size: int = 512, n_jobs: int | None = None,
                    errors: list | None = None, progress: bool | None = None) -> dict[str, list[dict]]:
    """Prediction rows (``analyse_batch``'s, without scores) of every unit, grouped by corpus."""
    from tqdm.auto import tqdm

    from vistance.analysis.run import iter_paragraph_batches, predict_stream

    errors = errors if errors is not None else []
    corpora: deque = deque()

    def batches():
        for b in iter_paragraph_batches(paragraphs, batch_size, errors):
            corpora.extend(r["corpus"] for r in b)
            yield [{k: r[k] for k in ("id", "article_id", "date", "text")} for r in b]

    out: dict[str, list[dict]] = {}
    bar = tqdm(desc="predict", unit="unit", disable=None if progress is None else not progress)
    for rows in predict_stream(model, batches(), n_jobs=n_jobs):
        for r in rows:
            r.pop("scores", None)
            out.setdefault(corpora.popleft(), []).append(r)
        bar.update(len(rows))
    bar.close()
    return out


@dataclass
class EstimateReport:
    table: object
    info: dict
    out_dir: str
    seconds: float
    errors: list = field(default_factory=list)

    def line(self) -> str:
        t = self.table
        n_ppi = int((t["method"] == METHOD_PPI).sum())
        n_few = int((t["method"] == METHOD_FEW).sum())
        return (f"estimated {len(t)} quantity x cell row(s) for {len(self.info['corpora'])} corpus(es) in "
                f"{self.seconds:.0f} s: {n_ppi} corrected, {n_few} with too little gold, "
                f"{len(t) - n_ppi - n_few} naive only (no design) -> {self.out_dir}")


def estimate_corpus(model, paragraphs: Sequence, out_dir="experiments/estimates",
                    settings: "EstimateConfig | None" = None, analysis: "AnalysisConfig | None" = None, *,
                    gold=None, designs: Sequence | None = None, seed: int = 0, missing: str = "error",
                    pool_only: bool = False, schema: LabelSchema | None = None, plots: bool = True,
                    progress: bool | None = None, rows_by_corpus: dict | None = None,
                    strict_designs: bool = True) -> EstimateReport:
    """Predict ``paragraphs`` with ``model`` (a folder or a model object), estimate every corpus, write the outputs.

    ``settings``: ``params.yaml``'s ``estimate`` section (:class:`vistance.config.EstimateConfig`:
    bootstrap draws, level, population, the minimum gold, the counterpart plotted); ``analysis``: its
    ``analysis`` section (period, batch size, processes); both default to their defaults.
    ``gold``: a label file (or labels); ``designs``: design files, one per corpus (matched by the
    design's ``corpus``; default: ``settings.designs``). Gold with no design is refused; so is a
    design whose corpus is not among the paragraphs (unless ``strict_designs`` is false: designs of
    absent corpora are then set aside, as the CLI does with the defaults of ``params.yaml``).
    ``schema``: the labels (default: the model's, :func:`~vistance.predict.model_schema`).
    ``rows_by_corpus`` (``{corpus: prediction rows}``) skips the prediction.
    """
    import pandas as pd

    from vistance.io import atomic_write, write_json

    from vistance.config import AnalysisConfig, EstimateConfig

    est = settings or EstimateConfig()
    an = analysis or AnalysisConfig()
    designs = est.designs if designs is None else designs
    t0 = time.perf_counter()
    loaded = [(str(p), read_design(p)) for p in designs]
    by_corpus: dict[str, tuple] = {}
    for path, d in loaded:
        if not d.corpus:
            raise DesignError(f"{path}: the design names no corpus")
        if d.corpus in by_corpus:
            raise DesignError(f"{path}: a second design for corpus {d.corpus!r} ({by_corpus[d.corpus][0]}): combining "
                              "samples is not supported; estimate with one design per corpus")
        by_corpus[d.corpus] = (path, d)
    labels = None
    if gold is not None:
        if not by_corpus:
            raise DesignError("gold labels without a recorded sampling design are refused: only a probability sample "
                              "with known inclusion probabilities can correct an estimate (active-learning and "
                              "keyword-sampled gold never enter). Pass the design of the sample (--design FILE; "
                              "`vistance annotate export --strategy random` records one beside the batch)")
        if isinstance(gold, (str, os.PathLike)):
            from vistance.labels.store import read_labels

            labels = read_labels(gold, allow_missing=False)
        else:
            labels = list(gold)
    elif by_corpus:
        raise DesignError(f"design(s) {', '.join(p for p, _ in by_corpus.values())} given without gold labels (--gold)")
    errors: list = []
    name = None
    if rows_by_corpus is None:
        if isinstance(model, (str, os.PathLike)):
            from vistance.models import load_model

            name, model = str(model), load_model(model)
        rows_by_corpus = predict_corpora(model, paragraphs, batch_size=an.batch_size, n_jobs=an.n_jobs, errors=errors,
                                         progress=progress)
    if schema is None:
        from vistance.predict import model_schema

        schema = model_schema(model) if model is not None else default_schema()
    absent = sorted(set(by_corpus) - set(rows_by_corpus))
    if absent and strict_designs:
        raise DesignError(f"design for corpus {absent[0]!r} ({by_corpus[absent[0]][0]}) but no unit of that corpus in "
                          f"{', '.join(map(str, paragraphs))}")
    not_applicable = {c: by_corpus.pop(c)[0] for c in absent}
    tables, infos = [], {}
    for corpus in sorted(rows_by_corpus):
        path, design = by_corpus.get(corpus, (None, None))
        res = estimate_shares(rows_by_corpus[corpus], labels if design is not None else None, design, corpus=corpus,
                              period=an.period, schema=schema, n_boot=est.n_boot, level=est.level, seed=seed,
                              population=est.population, min_gold_units=est.min_gold_units,
                              min_gold_clusters=est.min_gold_clusters, min_gold_positive=est.min_gold_positive,
                              missing=missing, pool_only=pool_only)
        res.info["design_file"] = path
        if design is None and labels is not None:
            ids = {r["id"] for r in rows_by_corpus[corpus]}
            unused = sum(1 for lab in labels if lab.paragraph_id in ids)
            res.info["gold_not_used"] = (f"{unused} gold label(s) of this corpus not used: no design-based sample "
                                         "was drawn here (active-learning or keyword-sampled gold never enters)")
        tables.append(res.table)
        infos[corpus] = res.info
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
    from vistance.analysis.counterparts import default_gazetteer

    gz = default_gazetteer()
    table.insert(2, "counterpart_name", [ALL if c == ALL else gz.name(c) for c in table["counterpart"]])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / f"{TABLE_NAME}.csv") as fh:
        table.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
    population, counterpart = est.population, est.counterpart
    info = {"model": name, "paragraphs": [str(p) for p in paragraphs], "population": population,
            "method": {"ppi++": "prediction-powered estimate, lambda tuned per quantity (PPI++), design-weighted "
                                "(1/pi); bootstrap-t interval: the gold sample resampled by cluster within strata, "
                                "lambda re-tuned and the replicate studentized by its linearised standard error; "
                                "design-based standard error"
                                + (" (the corpus' articles resampled too)" if population == "superpopulation"
                                   else " with the finite-population correction"),
                       "too_little_gold": "no number: the note says how many more draws would halve the interval",
                       "no_design": "naive shares only: no design-based gold for this corpus"},
            "corpora": infos, "counterpart_plotted": counterpart,
            "designs_not_applicable": not_applicable}
    write_json(out / f"{TABLE_NAME}.json", _jsonable(info), sort_keys=False)
    if plots:
        p = plot_naive_vs_corrected(table, out / f"naive_vs_corrected_{counterpart}.png", counterpart=counterpart,
                                    name=gz.name(counterpart) if counterpart != ALL else ALL, schema=schema)
        info["plot"] = str(p)
    return EstimateReport(table=table, info=info, out_dir=str(out), seconds=time.perf_counter() - t0, errors=errors)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return None if x != x else x
    return obj


def plotted_quantities(schema: LabelSchema) -> tuple[str, ...]:
    """The quantities of the naive-vs-corrected figure: the negative pole's share and the index; without
    poles, the share of each tone other than the no-signal one."""
    if schema.poles:
        return f"share_{schema.poles.negative}", "coop_index"
    return tuple(f"share_{t}" for t in schema.signal_tones)


def plot_naive_vs_corrected(table, path, counterpart: str = "china", quantities: Sequence[str] | None = None,
                            name: str | None = None, schema: LabelSchema | None = None,
                            theme: str = ANY_POLICY) -> Path:
    """Naive against corrected bands of one counterpart: one row of panels per corpus, one per quantity
    (default: :func:`plotted_quantities` of ``schema``, the packaged codebook by default).

    By period (theme ``theme``) when the corpus has dated periods for the counterpart, else by theme
    (period ``all``): the project's random gold sample lies in vietnews-fa, which has no dates. Cells
    with too little gold show the naive band alone, marked ``x``; a corpus without a design, naive only.
    """
    from vistance.analysis.plots import _plt, _save

    schema = schema or default_schema()
    themes = schema.theme_names
    quantities = tuple(quantities) if quantities is not None else plotted_quantities(schema)
    plt = _plt()
    corpora = [c for c in sorted(set(table["corpus"])) if (table["corpus"].eq(c) & table["counterpart"].eq(counterpart)).any()]
    if not corpora:   # nothing to draw (no unit names the counterpart, or no corpus at all): say so in the figure
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"no unit names {name or counterpart}: nothing to estimate", ha="center", va="center")
        return _save(fig, path)
    fig, axes = plt.subplots(len(corpora), len(quantities), figsize=(6.2 * len(quantities), 3.4 * len(corpora)),
                             squeeze=False)
    for i, corpus in enumerate(corpora):
        sel = table[(table["corpus"] == corpus) & (table["counterpart"] == counterpart)]
        periods = sorted(set(sel["period"]) - {ALL})
        if periods:
            cells = sel[sel["theme"] == theme].set_index("period")
            xs_names, axis = periods, "period"
        else:
            cells = sel[sel["period"] == ALL].set_index("theme")
            xs_names = [t for t in [ALL, ANY_POLICY, *themes] if t in set(cells.index)]
            axis = "theme"
        for j, q in enumerate(quantities):
            ax = axes[i][j]
            sub = cells[cells["quantity"] == q]
            x = np.arange(len(xs_names), dtype=float)

            def col(c):
                return np.array([sub.loc[n, c] if n in sub.index else np.nan for n in xs_names], dtype=float)

            nv, nlo, nhi = col("naive"), col("naive_low"), col("naive_high")
            ev, elo, ehi = col("estimate"), col("low"), col("high")
            gv, glo, ghi = col("gold_only"), col("gold_low"), col("gold_high")
            meth = [sub.loc[n, "method"] if n in sub.index else "" for n in xs_names]
            ax.errorbar(x - 0.18, nv, yerr=[nv - nlo, nhi - nv], fmt="o", color="#888888", ms=4, capsize=2,
                        label="naive (predictions)")
            ok = ~np.isnan(ev)
            if ok.any():
                ax.errorbar(x[ok] + 0.18, ev[ok], yerr=[(ev - elo)[ok], (ehi - ev)[ok]], fmt="s", color="#1f4e9c",
                            ms=4, capsize=2, label="corrected (PPI++)")
                ax.errorbar(x[ok], gv[ok], yerr=[(gv - glo)[ok], (ghi - gv)[ok]], fmt="none", ecolor="#e59a3b",
                            alpha=0.7, capsize=0, lw=3, label="gold only")
            few = np.array([m == METHOD_FEW for m in meth])
            if few.any():
                ax.plot(x[few] + 0.18, nv[few], "x", color="#C62828", ms=6, label="too little gold")
            ax.set_xticks(x, [n.replace("_", " ") for n in xs_names], rotation=60 if axis == "theme" else 45,
                          fontsize=7, ha="right")
            ax.set_ylim(*((-1.05, 1.05) if q == "coop_index" else (-0.02, 1.02)))
            ax.grid(axis="y", alpha=0.3)
            nodesign = set(meth) <= {"no_design", ""}
            ax.set_title(f"{corpus}: {q.replace('_', ' ')} by {axis}"
                         + (" (no design-based gold: naive only)" if nodesign else ""), fontsize=9)
            if j == 0 and (i == 0 or ok.any()):
                ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"{name or counterpart}: naive shares against prediction-powered estimates, 95 % intervals", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
