"""``vistance simulate-active``: does choosing what to annotate beat random choice?"""
from __future__ import annotations

from vistance.cli._common import DATASET, OK, PARAMS, command, config, note


def cmd_simulate_active(a) -> int:
    from vistance.evaluation.active_simulation import run_simulation

    cfg = config(a.params)
    al = cfg.active_learning
    kind, spec = cfg.model_spec(al.model)
    rep = run_simulation(dataset_dir=a.dataset, model_kind=kind, model_spec=spec, out_dir=a.out,
                         strategies=al.strategies, budgets=al.budgets, seeds=al.seeds, start=al.start, step=al.step,
                         goal_fraction=al.goal_fraction, progress=note if a.verbose else None, corpora=cfg.corpora)
    note(f"active-learning simulation: recommended strategy {rep.verdict.get('recommended')} -> {a.out}")
    return OK


def add_parsers(sub) -> None:
    command(sub, "simulate-active", cmd_simulate_active, "learning curves of random vs active sampling on the gold held",
            DATASET, ("--out", {"default": "experiments/active_learning"}), PARAMS,
            ("--verbose", {"action": "store_true", "help": "a line per fitted budget"}))
