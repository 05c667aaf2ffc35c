"""Corpus-scale stance analysis: paragraphs -> predictions + counterparts -> tone table and plots.

    vistance analyze --paragraphs data/processed/paragraphs.jsonl --out experiments/analysis
    analyse_corpus("experiments/models/best", "data/processed/paragraphs.jsonl", "experiments/analysis")

Steps, all streaming (memory does not grow with the number of paragraphs):

1. :func:`iter_paragraph_batches` reads the paragraphs JSONL (from ``vistance ingest``) in batches;
2. :func:`analyse_batch` predicts themes and tone (:meth:`predict_proba`) and detects
   counterparts (:func:`~vistance.analysis.counterparts.detect_counterparts`) for one batch;
   :func:`predict_stream` runs it on every core for large inputs (see :mod:`vistance.predict`);
3. :class:`~vistance.analysis.aggregate.ToneAggregator` counts tone by counterpart x period x theme;
4. :func:`write_outputs` writes ``tone_by_counterpart_period_theme.csv``/``.parquet``,
   ``summary.json``, ``predictions.jsonl`` (no text) and PNG plots.

The labels (themes, tones, the catch-all and the poles of the cooperation index) are the
model's (:func:`vistance.predict.model_schema`): a codebook without poles gives a table and a
summary without the index, and no index figures.

Knobs come from ``params.yaml``'s ``analysis`` section (:class:`vistance.config.AnalysisConfig`,
passed whole to :func:`analyse_corpus`): ``period`` (month | quarter | year), ``n_boot``,
``batch_size``, ``n_jobs`` (default: every core for inputs larger than a few batches),
``counterparts`` (the counterparts plotted; default: the gazetteer's ``main``) and ``corpora``
(keep only paragraphs of these corpora, e.g. ``[news-2024]``); and the top-level ``seed``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from vistance.analysis.aggregate import ANY_POLICY, ToneAggregator
from vistance.analysis.counterparts import Gazetteer, default_gazetteer
from vistance.errors import InputError, Rejections, VistanceError
from vistance.input_records import iter_objects
from vistance.io import atomic_write, dumps_line, write_json
from vistance.labels.schema import LabelSchema
from vistance.predict import model_schema, predict_batches

if TYPE_CHECKING:
    from vistance.config import AnalysisConfig

TABLE_NAME = "tone_by_counterpart_period_theme"
PREDICTIONS_NAME = "predictions.jsonl"
#: the columns a Parquet paragraphs input is read for, and those it must have
PARAGRAPH_COLUMNS = ("paragraph_id", "id", "article_id", "date", "text", "corpus")
PARAGRAPH_REQUIRED = (("paragraph_id", "id"), ("text",))


# -- reading ---------------------------------------------------------------------------
def iter_paragraph_batches(paths, batch_size: int = 512, errors: list | None = None,
                           corpora: Iterable[str] | None = None) -> Iterator[list[dict]]:
    """Stream paragraphs JSONL file(s) (``paragraph_id``, ``article_id``, ``date``, ``text``,
    ``corpus``; the predict contract's ``id`` is accepted for ``paragraph_id``) in lists of
    ``batch_size`` dicts ``{id, article_id, date, text, corpus}``. Parquet (a file or a folder of
    them, with those columns) is read as well, in bounded batches (:mod:`vistance.input_records`).

    ``paths``: one path or several. A record without a ``corpus`` field belongs to the corpus
    named by its file's stem. With ``corpora``, only records of these corpora are kept (the
    pipeline's paragraphs mix the seed articles with news-2024). A bad line raises
    :class:`~vistance.errors.InputError`, or is appended to ``errors`` (and skipped) when a
    list is given. The one reader of paragraphs for prediction (``analyze``, ``estimate``).
    """
    keep = set(corpora) if corpora else None
    batch: list[dict] = []
    for path in ([paths] if isinstance(paths, (str, os.PathLike)) else paths):
        for lineno, obj in iter_objects(path, PARAGRAPH_COLUMNS, PARAGRAPH_REQUIRED, errors=errors):
            pid = obj.get("paragraph_id", obj.get("id"))
            text = obj.get("text")
            if not isinstance(pid, str) or not pid or not isinstance(text, str):
                err = InputError(path, "needs a string 'paragraph_id' (or 'id') and 'text'", lineno)
                if errors is None:
                    raise err
                errors.append(err)
                continue
            corpus = str(obj.get("corpus") or Path(path).stem)
            if keep is not None and corpus not in keep:
                continue
            date = obj.get("date")
            batch.append({"id": pid, "article_id": str(obj.get("article_id") or pid),
                          "date": date if isinstance(date, str) and date else None, "text": text, "corpus": corpus})
            if len(batch) >= batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


# -- prediction ------------------------------------------------------------------------
def analyse_batch(model, batch: list[dict], gazetteer: Gazetteer | None = None) -> list[dict]:
    """Predict and detect counterparts for one batch of ``{id, article_id, date, text}`` dicts.

    Returns rows without the text: ``{id, article_id, date, themes, tone, counterparts,
    scores: {themes: {label: p}, tone: {label: p}}}`` (the predict contract,
    :meth:`Scores.records <vistance.models.base.Scores.records>`, plus metadata).
    This is the one function every face calls: the CLI, the notebook, :func:`predict_stream`'s
    workers and the Dask example in ``docs/analysis.md``.
    """
    if not batch:
        return []
    gz = gazetteer or default_gazetteer()
    texts = [r["text"] for r in batch]
    records = model.predict_proba(texts).records([r["id"] for r in batch])
    return [{"id": rec["id"], "article_id": r["article_id"], "date": r["date"], "themes": rec["themes"],
             "tone": rec["tone"], "counterparts": gz.detect(r["text"]), "scores": rec["scores"]}
            for r, rec in zip(batch, records)]


def _analyse_in_worker(context, batch):
    model, gazetteer = context
    return analyse_batch(model, batch, gazetteer)


def predict_stream(model, batches: Iterable[list[dict]], n_jobs: int | None = None, gazetteer: Gazetteer | None = None,
                   parallel_min_batches: int = 4, info: dict | None = None, engine=None) -> Iterator[list[dict]]:
    """:func:`analyse_batch` over a stream of batches, in order, through the prediction engine
    (:func:`vistance.predict.predict_batches`: every core for ``fork_safe`` model kinds once the
    input is longer than ``parallel_min_batches`` batches). The output does not depend on
    ``n_jobs``; ``info["jobs"]`` (when a dict is given) tells how many processes ran. ``engine``: a
    :class:`vistance.predict_dask.DaskEngine` runs it on a Dask cluster (the same output).
    """
    gz = gazetteer or default_gazetteer()
    yield from predict_batches(model, batches, work=_analyse_in_worker, context=(model, gz), jobs=n_jobs,
                               min_batches=parallel_min_batches, info=info, engine=engine)


# -- the whole analysis ----------------------------------------------------------------
def run_analysis(model, paragraphs, out_dir, period: str = "quarter", n_boot: int = 500, seed: int = 0,
                 n_jobs: int | None = None, batch_size: int = 512, counterparts: list[str] | None = None,
                 gazetteer: Gazetteer | None = None, write_predictions: bool = True, progress: bool | None = None,
                 model_name: str | None = None, errors: list | None = None, plots: bool = True,
                 corpora: Iterable[str] | None = None, engine=None) -> dict:
    """Predict every paragraph of ``paragraphs`` (a JSONL or Parquet path), aggregate, and write the outputs
    to ``out_dir``.

    The labels are the model's (:func:`~vistance.predict.model_schema`). Returns the summary (also
    written as ``summary.json``) with the table under the key ``"table"`` (a ``pandas.DataFrame``,
    not written into the JSON).
    """
    from tqdm.auto import tqdm

    gz = gazetteer or default_gazetteer()
    schema = model_schema(model)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    agg = ToneAggregator(period, schema)
    bar = tqdm(desc="analyse", unit="para", disable=None if progress is None else not progress)
    t0 = time.perf_counter()
    info: dict = {}
    pred_path = out_dir / PREDICTIONS_NAME
    with atomic_write(pred_path) if write_predictions else open(os.devnull, "w", encoding="utf-8") as fh:
        batches = iter_paragraph_batches(paragraphs, batch_size=batch_size, errors=errors, corpora=corpora)
        for rows in predict_stream(model, batches, n_jobs=n_jobs, gazetteer=gz, info=info, engine=engine):
            for r in rows:
                agg.add(r["article_id"], r["date"], r["themes"], r["tone"], r["counterparts"])
                fh.write(dumps_line(r))
            bar.update(len(rows))
    bar.close()
    seconds = time.perf_counter() - t0
    table = agg.table(n_boot=n_boot, seed=seed, progress=progress)
    table.insert(1, "counterpart_name", [("all" if c == "all" else gz.name(c)) for c in table["counterpart"]])
    summary = build_summary(agg, table, gz, period=period, n_boot=n_boot, seed=seed, paragraphs=str(paragraphs),
                            model_name=model_name, model_kind=getattr(model, "kind", type(model).__name__),
                            counterparts=counterparts)
    write_outputs(table, summary, out_dir, gz, counterparts=summary["main_counterparts"], plots=plots, schema=schema)
    summary["files"] = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
    summary["table"] = table
    summary["_seconds"] = seconds
    summary["_jobs"] = info.get("jobs", 1)
    return summary


def _cell(table, cp, schema: LabelSchema, period="all", theme=ANY_POLICY) -> dict | None:
    sel = table[(table["counterpart"] == cp) & (table["period"] == period) & (table["theme"] == theme)]
    if sel.empty:
        return None
    r = sel.iloc[0]

    def num(x):
        return None if x != x else round(float(x), 4)  # NaN -> null

    out = {"paragraphs": int(r["n_paragraphs"]), "articles": int(r["n_articles"]),
           **{t: int(r[f"n_{t}"]) for t in schema.tones}}
    if schema.poles:
        out.update(coop_index=num(r["coop_index"]), low=num(r["coop_index_low"]), high=num(r["coop_index_high"]))
    return out


def build_summary(agg: ToneAggregator, table, gz: Gazetteer, period: str, n_boot: int, seed: int,
                  paragraphs: str, model_name: str | None, model_kind: str,
                  counterparts: list[str] | None = None, min_paragraphs: int = 1) -> dict:
    """What ran and the headline numbers (deterministic: no timings, no host details)."""
    schema = agg.schema
    periods = sorted(set(table["period"]) - {"all"})
    present = [c for c, n in sorted(agg.paragraphs_by_counterpart.items(), key=lambda kv: (-kv[1], kv[0]))
               if n >= min_paragraphs]
    main = [c for c in (counterparts or list(gz.main)) if c in agg.paragraphs_by_counterpart]
    if not main:
        main = present[:6]
    return {
        "model": model_name, "model_kind": model_kind, "paragraphs": paragraphs,
        "period": period, "n_boot": int(n_boot), "seed": int(seed), "level": 0.95,
        "attribution": "co-occurrence: a paragraph's tone counts for every counterpart it names",
        "units_read": agg.units, "units_dated": agg.units - agg.undated, "units_undated_skipped": agg.undated,
        "units_dated_with_counterpart": agg.with_counterpart,
        "date_range": agg.dates or None, "periods": periods,
        "tone_counts_dated": {t: int(agg.tones.get(t, 0)) for t in schema.tones},
        "mentions_all_units": dict(sorted(agg.mentions_by_counterpart.items(), key=lambda kv: (-kv[1], kv[0]))),
        "overall": {"policy_paragraphs": _cell(table, "all", schema),
                    "all_paragraphs": _cell(table, "all", schema, theme="all")},
        "main_counterparts": main,
        "counterparts": {c: {"name": gz.name(c), "name_vi": gz.name(c, "vi"),
                             "policy_paragraphs": _cell(table, c, schema),
                             "all_paragraphs": _cell(table, c, schema, theme="all")}
                         for c in present},
    }


def write_outputs(table, summary: dict, out_dir, gz: Gazetteer, counterparts: list[str],
                  plots: bool = True, schema: LabelSchema | None = None) -> list[Path]:
    """The table as CSV and Parquet, ``summary.json`` and (with ``plots``) the PNG figures (the
    cooperation-index ones only when ``schema``, default the packaged codebook, has poles)."""

    out_dir = Path(out_dir)
    paths = [out_dir / f"{TABLE_NAME}.csv", out_dir / f"{TABLE_NAME}.parquet", out_dir / "summary.json"]
    with atomic_write(paths[0]) as fh:
        table.to_csv(fh, index=False, float_format="%.6g", lineterminator="\n")
    tmp = out_dir / f".{TABLE_NAME}.parquet.tmp"
    table.to_parquet(tmp, index=False)
    tmp.replace(paths[1])
    write_json(paths[2], {k: v for k, v in summary.items() if not k.startswith("_") and k not in ("table", "files")},
               sort_keys=False)
    if table.empty or not plots:  # nothing dated: no periods to plot
        return paths
    from vistance.analysis import plots as figures

    schema = figures._schema(schema)
    index = figures.has_index(schema)
    names = {c: gz.name(c) for c in set(table["counterpart"])}
    if index:
        paths.append(figures.coop_index_timeseries(table, counterparts, out_dir / "coop_index_by_period.png",
                                                   names=names, schema=schema))
    focus = counterparts[0] if counterparts else None   # the first counterpart plotted (gazetteer `main` order)
    if focus:
        paths.append(figures.theme_tone_heatmap(table, focus, out_dir / f"theme_tone_heatmap_{focus}.png", names=names,
                                                schema=schema))
        if index:
            paths.append(figures.coop_index_by_theme(table, focus, out_dir / f"coop_index_by_theme_{focus}.png",
                                                     names=names, schema=schema))
    return paths


# -- one call from a model folder -------------------------------------------------------
@dataclass
class AnalysisReport:
    """What :func:`analyse_corpus` read, how fast, and where it wrote."""

    summary: dict                      # as written to summary.json, plus "table" (a DataFrame)
    out_dir: str
    seconds: float
    jobs: int
    errors: list = field(default_factory=list)   # rejected input lines (InputError)

    @property
    def units_read(self) -> int:
        return self.summary["units_read"]

    def line(self) -> str:
        s = self.summary
        rate = s["units_read"] / self.seconds if self.seconds > 0 else float("nan")
        return (f"analysed {s['units_read']} unit(s) in {self.seconds:.1f} s ({rate:.0f}/s, {self.jobs} process(es)); "
                f"{s['units_undated_skipped']} undated skipped; {s['units_dated_with_counterpart']} dated unit(s) "
                f"name a counterpart -> {self.out_dir}")


def analyse_corpus(model, paragraphs, out_dir="experiments/analysis", settings: "AnalysisConfig | None" = None, *,
                   seed: int = 0, progress: bool | None = None, plots: bool = True, engine=None,
                   scheduler: str | None = None) -> AnalysisReport:
    """:func:`run_analysis` from a model folder (or a loaded model); bad input lines are collected, not fatal.

    ``model``: a model folder (loaded with :func:`vistance.models.load_model`) or a model object.
    ``settings``: ``params.yaml``'s ``analysis`` section (:class:`vistance.config.AnalysisConfig`;
    default: its defaults; its ``model`` is not read here). ``seed``: the pipeline's seed.
    ``engine``: ``"local"`` (default) or ``"dask"`` (a model folder is needed: each worker loads it;
    ``scheduler``: a ``tcp://HOST:PORT`` address, default a local cluster; see :mod:`vistance.predict_dask`),
    or an open :class:`~vistance.predict_dask.DaskEngine`.
    """
    if settings is None:
        from vistance.config import AnalysisConfig

        settings = AnalysisConfig()
    if not Path(paragraphs).exists():  # a file, or a folder of Parquet files
        raise VistanceError(f"{paragraphs}: no such paragraphs file (run `vistance ingest` first)")
    name = None
    if isinstance(model, (str, os.PathLike)):
        from vistance.models import load_model

        name, model = str(model), load_model(model)
    errors = Rejections()  # bounded: every bad line counted (errors.total), the first 100 kept
    if isinstance(engine, str) or engine is None:
        from vistance.predict_dask import open_engine

        engine = open_engine(engine, name, scheduler)
        own = engine
    else:
        own = None
    try:
        if own is not None:
            own.open()
        s = run_analysis(model, paragraphs, out_dir, period=settings.period, n_boot=settings.n_boot, seed=seed,
                         n_jobs=settings.n_jobs, batch_size=settings.batch_size, counterparts=settings.counterparts,
                         gazetteer=Gazetteer.load(settings.gazetteer) if settings.gazetteer else None,
                         corpora=settings.corpora, model_name=name, errors=errors, progress=progress, plots=plots,
                         engine=engine)
    finally:
        if own is not None:
            own.close()
    return AnalysisReport(summary=s, out_dir=str(out_dir), seconds=s.pop("_seconds"), jobs=s.pop("_jobs"),
                          errors=errors)
