"""``vistance analyze``."""
from __future__ import annotations

from vistance.cli._common import OK, PARTIAL, config, engine_flags, err, note


def cmd_analyze(a) -> int:
    from vistance.analysis.run import analyse_corpus

    cfg = config(a.params)
    an = cfg.analysis
    report = analyse_corpus(a.model or an.model, a.paragraphs, a.out, an, seed=cfg.seed, engine=a.engine,
                            scheduler=a.scheduler)
    for e in report.errors:
        err(str(e))
    note(report.line())
    return PARTIAL if report.errors else OK


def add_parsers(sub) -> None:
    s = sub.add_parser("analyze", help="tone by counterpart x period x theme over a corpus")
    s.add_argument("--model", help="model folder (default: analysis.model in params.yaml)")
    s.add_argument("--paragraphs", required=True,
                   help="paragraphs JSONL (from `vistance ingest`), or Parquet with its columns (a file or a folder)")
    s.add_argument("--out", default="experiments/analysis")
    s.add_argument("--params", default="params.yaml")
    engine_flags(s)
    s.set_defaults(func=cmd_analyze)
