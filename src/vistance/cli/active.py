"""``vistance simulate-active``: does choosing what to annotate beat random choice?"""
from __future__ import annotations

from vistance.cli._common import OK, config, note


def cmd_simulate_active(a) -> int:
    from vistance.evaluation.active_simulation import run_simulation

    cfg = config(a.params)
    al = cfg.active_learning
    params = cfg.as_params()
    spec = dict(params["models"][al.model])
    kind = spec.pop("kind")
    spec.pop("evaluate", None)
    rep = run_simulation(dataset_dir=a.dataset, model_kind=kind, model_spec=spec, out_dir=a.out,
                         strategies=al.strategies, budgets=al.budgets, seeds=al.seeds, start=al.start, step=al.step,
                         goal_fraction=al.goal_fraction, progress=note if a.verbose else None)
    note(f"active-learning simulation: recommended strategy {rep.verdict.get('recommended')} -> {a.out}")
    return OK


def add_parsers(sub) -> None:
    s = sub.add_parser("simulate-active", help="learning curves of random vs active sampling on the gold held")
    s.add_argument("--dataset", default="data/dataset")
    s.add_argument("--out", default="experiments/active_learning")
    s.add_argument("--params", default="params.yaml")
    s.add_argument("--verbose", action="store_true", help="a line per fitted budget")
    s.set_defaults(func=cmd_simulate_active)
