"""``vistance cards``."""
from __future__ import annotations

from vistance.cli._common import EXPERIMENTS, OK, PARAMS, command, config, note


def cmd_cards(a) -> int:
    from vistance.cards.dataset_card import write_dataset_card
    from vistance.cards.model_card import write_model_cards
    from vistance.model_specs import check_specs

    cfg = config(a.params)
    check_specs(cfg)
    params = cfg.as_params()
    paths = write_model_cards(params, a.experiments, names=cfg.compare.models or cfg.pipeline.models)
    paths.append(write_dataset_card(params, a.dataset_stats, a.agreement, a.out_dataset_card))
    for p in paths:
        note(f"wrote {p}")
    return OK


def add_parsers(sub) -> None:
    command(sub, "cards", cmd_cards, "model cards and the dataset card from what ran", EXPERIMENTS,
            ("--dataset-stats", {"default": "data/dataset_stats.json"}), ("--agreement", {"default": "labels/agreement.json"}),
            ("--out-dataset-card", {"default": "labels/README.md"}), PARAMS)
