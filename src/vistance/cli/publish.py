"""``vistance publish``: Hub-ready dataset and model folders under ``experiments/publish/`` (no upload)."""
from __future__ import annotations

from vistance.cli._common import OK, config, note


def cmd_publish(a) -> int:
    from vistance.model_specs import checked_spec
    from vistance.publish import publish

    cfg = config(a.params)
    specs = {n: checked_spec(cfg, n) for n in cfg.models}
    report = publish(specs=specs, experiments=a.experiments, out=a.out, models=a.models or ["best"],
                     dataset_dir=a.dataset, gold=a.gold or cfg.labels.gold, dataset_stats=a.dataset_stats,
                     adjudication=cfg.labels.adjudication, second_pass=cfg.labels.second_pass, dataset_id=a.dataset_id)
    note(f"wrote {report.dataset} (datasets.load_dataset reads it)")
    for m in report.models:
        note(f"wrote {m} (model folder + README.md card)")
    note("upload: see the README.md next to them (huggingface-cli upload ...); nothing was uploaded")
    return OK


def add_parsers(sub) -> None:
    s = sub.add_parser("publish", help="Hub-ready dataset (labels as Parquet, no text) and model folders with cards")
    s.add_argument("--models", nargs="*", help="model folders under EXPERIMENTS/models to publish (default: best)")
    s.add_argument("--experiments", default="experiments")
    s.add_argument("--out", help="default EXPERIMENTS/publish")
    s.add_argument("--dataset", default="data/dataset", help="the DatasetDict that ran (splits)")
    s.add_argument("--gold", help="gold labels (default: params labels.gold)")
    s.add_argument("--dataset-stats", default="data/dataset_stats.json")
    s.add_argument("--dataset-id", default="vistance/vistance-gold", help="Hub id the model cards cite")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_publish)
