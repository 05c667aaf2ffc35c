"""``vistance estimate`` and ``vistance estimate-check``: corrected shares from predictions plus a design-based gold sample."""
from __future__ import annotations

from vistance.cli._common import OK, PARTIAL, config, err, note
from vistance.errors import VistanceError


def cmd_estimate(a) -> int:
    from vistance.analysis.estimate_run import estimate_corpus

    cfg = config(a.params)
    est = cfg.estimate
    explicit = a.design is not None
    designs = a.design if explicit else est.designs
    # the gold file of params.yaml goes with the designs of params.yaml; an explicit --gold with no
    # design at all is refused by the library (gold without a recorded design never enters)
    gold = None if a.no_gold else (a.gold or (cfg.labels.gold if designs else None))
    if a.population:
        est = est.model_copy(update={"population": a.population})
    report = estimate_corpus(a.model or est.model or cfg.analysis.model, a.paragraphs, a.out, est, cfg.analysis,
                             gold=gold, designs=designs, seed=cfg.seed, missing=a.missing, pool_only=a.pool_only,
                             strict_designs=explicit)
    for e in report.errors:
        err(str(e))
    for corpus, info in report.info["corpora"].items():
        d = info.get("design")
        if d:
            left = d["gold_left_out"]
            note(f"{corpus}: design {d['name']} ({d['scheme']}, {d['clusters_used']} {d['unit']}s of {d['pool_clusters']}), "
                 f"{d['gold_units_used']} gold units used; {left['outside_design']} gold label(s) of this corpus left "
                 "out: not drawn by the design (active-learning or keyword-sampled gold never enters)")
        elif info.get("gold_not_used"):
            note(f"{corpus}: {info['gold_not_used']}")
    note(report.line())
    return PARTIAL if report.errors else OK


def cmd_estimate_check(a) -> int:
    from vistance.analysis.estimate_check import run_estimate_check

    cfg = config(a.params)
    chk = cfg.estimate.check
    kind, spec = cfg.model_spec(chk.model)
    designs = cfg.estimate.designs
    design = a.design or (designs[0] if designs else None)
    if not design:
        err("estimate-check needs the design of a random gold sample (--design or estimate.designs in params.yaml)")
        return 2
    if a.reps:
        chk = chk.model_copy(update={"reps": a.reps})
    paragraphs = a.paragraphs or _sampled_corpus(cfg)
    rep = run_estimate_check(a.dataset, paragraphs, a.gold or cfg.labels.gold, design, a.out, kind, spec, chk.model,
                             chk, seed=cfg.seed, progress=note if a.verbose else None)
    if rep.get("skipped"):
        note(f"estimate check skipped: {rep['skipped']} -> {a.out}/estimate_check.md")
        return OK
    g = rep["goals"]
    parts = [f"keep {float(k):.0%}: PPI coverage {v['ppi_coverage_tone']}, width {v['ppi_width_over_gold_width']} x gold"
             for k, v in g.items() if k != "coverage_range"]
    note("estimate check: " + "; ".join(parts) + f" -> {a.out}/estimate_check.md")
    return OK


def _sampled_corpus(cfg) -> str:
    from vistance.corpus import registry

    entry = registry.cross_corpus_test(cfg.corpora)
    if entry is None:
        raise VistanceError("no corpus in params.yaml `corpora` has the role cross_corpus_test: pass --paragraphs")
    return entry.output


def add_parsers(sub) -> None:
    s = sub.add_parser("estimate", help="naive, gold-only and prediction-powered shares with 95 %% intervals",
                       description="Predict every unit, join the gold of a recorded random sample (--design), and "
                                   "write estimates.csv: per corpus x counterpart x period x theme, each tone share, "
                                   "the cooperation index and each theme share, naive vs corrected. Gold without a "
                                   "recorded design is refused. See docs/estimation.md.")
    s.add_argument("--model", help="model folder (default: estimate.model, else analysis.model in params.yaml)")
    s.add_argument("--paragraphs", nargs="+", required=True, help="paragraphs JSONL file(s); each record's corpus "
                                                                  "field decides which design applies")
    s.add_argument("--gold", help="gold label file (default: labels.gold in params.yaml)")
    s.add_argument("--no-gold", action="store_true", help="naive shares only")
    s.add_argument("--design", action="append", metavar="FILE",
                   help="design of a gold sample (repeat, one per corpus; default: estimate.designs in params.yaml)")
    s.add_argument("--population", choices=["corpus", "superpopulation"],
                   help="the share in this corpus (default) or in the process that wrote it")
    s.add_argument("--missing", choices=["error", "drop"], default="error",
                   help="drawn units without gold: refuse (default) or drop their clusters (assumes missing at random)")
    s.add_argument("--pool-only", action="store_true",
                   help="estimate over the design's pool when it left part of the corpus out")
    s.add_argument("--out", default="experiments/estimates")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_estimate)

    s = sub.add_parser("estimate-check", help="cross-era bias and interval coverage of the corrected estimates")
    s.add_argument("--dataset", default="data/dataset")
    s.add_argument("--paragraphs", help="the corpus the random sample is from (default: the output of the "
                                        "cross-corpus test corpus of params.yaml `corpora`)")
    s.add_argument("--gold", help="gold label file (default: labels.gold)")
    s.add_argument("--design", help="the random sample's design (default: the first of estimate.designs)")
    s.add_argument("--reps", type=int, help="simulation repetitions (default: estimate.check.reps)")
    s.add_argument("--out", default="experiments/estimates")
    s.add_argument("--params", default="params.yaml")
    s.add_argument("--verbose", action="store_true", help="progress lines")
    s.set_defaults(func=cmd_estimate_check)
