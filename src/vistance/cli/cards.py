"""``vistance cards``."""
from __future__ import annotations

from vistance.cli._common import DATASET, EXPERIMENTS, OK, PARAMS, command, config, note


def cmd_cards(a) -> int:
    from vistance.cards.dataset_card import write_dataset_card
    from vistance.cards.model_card import write_model_cards
    from vistance.dataset import dataset_schema
    from vistance.io import read_json
    from vistance.model_specs import checked_spec

    cfg = config(a.params)
    specs = {n: checked_spec(cfg, n) for n in cfg.models}
    names = cfg.compare.models or cfg.pipeline.models
    schema = dataset_schema(a.dataset)
    paths = write_model_cards(a.experiments, {n: specs[n] for n in names}, schema,
                              read_json(a.dataset_stats, missing_ok=True), gold=cfg.labels.gold,
                              dataset_card=a.out_dataset_card)
    paths.append(write_dataset_card(cfg.model_dump(exclude_none=True), a.dataset_stats, a.agreement, a.out_dataset_card, schema))
    for p in paths:
        note(f"wrote {p}")
    return OK


def add_parsers(sub) -> None:
    command(sub, "cards", cmd_cards, "model cards and the dataset card from what ran", EXPERIMENTS, DATASET,
            ("--dataset-stats", {"default": "data/dataset_stats.json"}), ("--agreement", {"default": "labels/agreement.json"}),
            ("--out-dataset-card", {"default": "labels/README.md"}), PARAMS)
