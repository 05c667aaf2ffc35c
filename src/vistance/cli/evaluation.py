"""``vistance evaluate`` and ``compare`` (``labels issues`` lives with the label commands)."""
from __future__ import annotations

from vistance.cli._common import DATASET, EXPERIMENTS, OK, PARAMS, command, config, note


def cmd_evaluate(a) -> int:
    from vistance.evaluation.evaluate import evaluate_model
    from vistance.model_specs import checked_spec

    model = a.model or f"experiments/models/{a.name}"
    cfg = config(a.params)
    kind, spec = checked_spec(cfg, a.name)
    r = evaluate_model(a.name, kind, spec, a.dataset, model, a.out, settings=cfg.evaluate,
                       mode=cfg.models[a.name].evaluate, seed=cfg.seed, corpora=cfg.corpora)
    tone, themes = r["headline"]["tone_macro_f1"], r["headline"]["themes_sample_f1"]
    note(f"{a.name}: tone macro-F1 {tone['value']:.3f} [{tone['low']:.3f}, {tone['high']:.3f}], "
         f"themes sample-F1 {themes['value']:.3f} [{themes['low']:.3f}, {themes['high']:.3f}]")
    return OK


def cmd_compare(a) -> int:
    from vistance.evaluation.compare import compare_models, compared_schema
    from vistance.model_specs import check_specs

    cfg = config(a.params)
    names = cfg.compare.models or cfg.pipeline.models   # not every metrics file lying around (a clone has old ones)
    check_specs(cfg, names)
    out = compare_models(a.experiments, names=names, schema=compared_schema(a.experiments, names),
                         settings=cfg.compare, n_boot=cfg.evaluate.n_boot, seed=cfg.seed, corpora=cfg.corpora)
    note(f"wrote {out}")
    return OK


def add_parsers(sub) -> None:
    command(sub, "evaluate", cmd_evaluate, "metrics, CIs, CV and generalisation splits for one model",
            ("name", {}), DATASET, ("--model", {"help": "model folder (default experiments/models/NAME)"}),
            ("--out", {"default": "experiments"}), PARAMS)
    command(sub, "compare", cmd_compare, "comparison table, paired tests, plots, best model", EXPERIMENTS, PARAMS)
