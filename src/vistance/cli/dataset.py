"""``vistance dataset``."""
from __future__ import annotations

from vistance.cli._common import OK, config, note


def cmd_dataset(a) -> int:
    from vistance.dataset.build import build_dataset

    cfg = config(a.params)
    ds = cfg.dataset
    report = build_dataset(a.paragraphs, a.labels, a.out, a.stats, split=ds.split, seed=ds.seed,
                           crosscorpus_test=ds.crosscorpus_test, schema=cfg.schema())
    missing = report.stats["join"].get("missing")
    if missing:
        note(f"note: {missing} gold label(s) belong to paragraphs not ingested here (corpus absent here, or "
             f"dropped by cleaning): the dataset uses {report.rows} labelled paragraphs")
    note(report.summary())
    return OK


def add_parsers(sub) -> None:
    s = sub.add_parser("dataset", help="paragraphs + gold labels -> DatasetDict with article-grouped splits")
    s.add_argument("--paragraphs", nargs="+", default=["data/processed/paragraphs.jsonl"],
                   help="paragraph JSONL files (absent ones are skipped)")
    s.add_argument("--labels", default="labels/gold.jsonl")
    s.add_argument("--out", default="data/dataset")
    s.add_argument("--stats", default="data/dataset_stats.json")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_dataset)
