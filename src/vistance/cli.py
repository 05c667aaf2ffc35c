"""``vistance``: command-line face of the toolkit (argument parsing and exit codes only).

Exit codes: 0 everything processed; 1 some inputs rejected (the rest processed,
a summary printed) or the command failed; 2 usage error. Errors print one line
naming the file (and line); ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from vistance.errors import VistanceError

OK, PARTIAL, USAGE = 0, 1, 2


def _err(msg: str) -> None:
    print(f"vistance: {msg}", file=sys.stderr)


# -- corpus ---------------------------------------------------------------------------
def cmd_ingest(a) -> int:
    from vistance.corpus import IngestReport, ingest_paths, write_paragraphs
    from vistance.dataset.build import write_json

    paths = list(a.paths)
    missing_optional = []
    for p in a.optional or []:
        if Path(p).exists():
            paths.append(p)
        else:
            missing_optional.append(p)
    for p in missing_optional:
        print(f"note: optional corpus {p} is not on this machine; continuing without it", file=sys.stderr)
    if not a.paths and not a.optional:
        _err("ingest needs at least one PATH (or --optional PATH)")
        return USAGE
    report = IngestReport()
    n = write_paragraphs(ingest_paths(paths, corpus=a.corpus, sentence_window=a.sentence_window, report=report), a.output)
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in report.errors:
        _err(str(e))
    print(report.summary(), file=sys.stderr)
    if a.report:
        write_json(a.report, {
            "inputs": [str(p) for p in paths], "missing_optional": missing_optional, "files": report.files,
            "articles": report.articles, "paragraphs": n, "dropped": dict(sorted(report.dropped.items())),
            "rejected": [str(e) for e in report.errors],
        })
    return PARTIAL if report.errors else OK


# -- labels ---------------------------------------------------------------------------
def _paragraphs(path):
    from vistance.corpus import read_paragraphs

    return read_paragraphs(path) if path else None


def cmd_labels_check(a) -> int:
    from vistance.errors import LabelError
    from vistance.labels.store import read_labels
    from vistance.labels.validate import CheckReport, check_against_corpus

    report = CheckReport()
    paras = _paragraphs(a.paragraphs) if a.paragraphs and Path(a.paragraphs).exists() else None
    if paras is None:
        print(f"note: {a.paragraphs} not found; checking the labels against the schema only", file=sys.stderr)
    gold_ids: dict[str, str] = {}
    for f in a.labels:
        try:
            labs = read_labels(f, allow_missing=False)
        except LabelError as e:
            report.errors.append(str(e))
            continue
        if paras is not None:
            check_against_corpus(labs, paras, report)
        else:
            report.checked += len(labs)
        for lab in labs:
            gold_ids.setdefault(lab.paragraph_id, f)
    for m in report.messages():
        _err(m)
    note = f" ({len(report.orphans)} label(s) for paragraphs not in this corpus)" if report.orphans else ""
    status = "ok" if report.ok else "FAILED"
    print(f"labels check {status}: {report.checked} label(s) in {len(a.labels)} file(s){note}", file=sys.stderr)
    return OK if report.ok else PARTIAL


def cmd_labels_build_gold(a) -> int:
    from vistance.io import file_lock
    from vistance.labels.adjudication import build_gold, read_adjudications
    from vistance.labels.store import read_labels, write_labels

    from vistance.labels.adjudication import apply_corrections, read_corrections

    first = read_labels(a.first_pass, allow_missing=False)
    gold, replaced = build_gold(first, read_adjudications(a.adjudication))
    gold, corrected = apply_corrections(gold, read_corrections(a.corrections))
    with file_lock(a.out):
        write_labels(a.out, gold)
    print(f"gold: {len(gold)} label(s) -> {a.out} ({replaced} changed by adjudication, "
          f"{corrected} by the label-quality review)", file=sys.stderr)
    return OK


def cmd_labels_issues(a) -> int:
    from vistance.labels.quality import run_label_issues_cli

    return run_label_issues_cli(a)


def cmd_annotate_export(a) -> int:
    from vistance.labels.annotation_io import export_batch
    from vistance.labels.sampling import select_for_annotation
    from vistance.labels.store import read_labels

    paras = _paragraphs(a.paragraphs)
    done = {l.paragraph_id for f in (a.exclude or []) for l in read_labels(f)}
    if a.ids:
        wanted = [l.strip() for l in Path(a.ids).read_text(encoding="utf-8").splitlines() if l.strip()]
        by_id = {p.paragraph_id: p for p in paras}
        unknown = [w for w in wanted if w not in by_id]
        for w in unknown:
            _err(f"{a.ids}: unknown paragraph id {w!r}")
        chosen = [by_id[w] for w in wanted if w in by_id and w not in done]
    else:
        chosen = select_for_annotation(paras, a.n, seed=a.seed, exclude=done, stratum_quota=a.stratum_quota)
    n = export_batch(chosen, a.out, fmt=a.format)
    print(f"exported {n} paragraph(s) to {a.out} ({a.format})", file=sys.stderr)
    return OK


def cmd_annotate_import(a) -> int:
    from vistance.labels.annotation_io import judgements_to_import
    from vistance.labels.store import merge_labels

    paras = _paragraphs(a.paragraphs) if a.paragraphs else None
    ok, rejected = judgements_to_import(a.file, paras, annotator=a.annotator)
    for r in rejected:
        _err(r)
    res = merge_labels(a.into, ok, replace=a.replace)
    for old, new in res.conflicts:
        _err(f"conflict: {old.paragraph_id} is labelled {old.themes}/{old.tone} by {old.annotator} in {a.into}; "
             f"{a.file} says {new.themes}/{new.tone} by {new.annotator} (kept the existing label; use --replace to override)")
    print(f"import {a.file} -> {a.into}: {res.summary()}, {len(rejected)} rejected", file=sys.stderr)
    return PARTIAL if (rejected or res.conflicts) else OK


def cmd_agreement(a) -> int:
    from vistance.dataset.build import write_json
    from vistance.labels.agreement import agreement_report
    from vistance.labels.store import read_labels

    rep = agreement_report(read_labels(a.first, allow_missing=False), read_labels(a.second, allow_missing=False))
    if a.out:
        write_json(a.out, rep)
    if rep["n"] == 0:
        _err("the two files share no paragraph")
        return PARTIAL
    t = rep["tone"]
    print(f"double-coded paragraphs: {rep['n']}")
    print(f"tone:   Krippendorff alpha {t['alpha']:.3f}  Cohen kappa {t['kappa']:.3f}  raw agreement {t['agreement']:.3f}")
    th = rep["themes"]
    print(f"themes: mean alpha {th['mean_alpha']:.3f}  mean kappa {th['mean_kappa']:.3f}  exact-set agreement {th['exact_set_agreement']:.3f}")
    for name, v in th["per_label"].items():
        print(f"  {name:26s} alpha {v['alpha']:.3f}  kappa {v['kappa']:.3f}  support {v['support_first']}/{v['support_second']}")
    return OK


# -- dataset, models, evaluation -------------------------------------------------------
def cmd_dataset(a) -> int:
    from vistance.config import load_params
    from vistance.corpus import read_paragraphs
    from vistance.dataset import assign_groups, build_dataset_dict, dataset_stats, join_labels
    from vistance.dataset.build import write_json
    from vistance.labels.store import read_labels

    params = load_params(a.params)
    dp = params.get("dataset", {})
    paras = read_paragraphs(a.paragraphs)
    rows, info = join_labels(paras, read_labels(a.labels, allow_missing=False))
    if not rows:
        raise VistanceError(f"no labelled paragraph of {a.labels} is in {a.paragraphs}")
    split = assign_groups([r["article_id"] for r in rows], dp.get("split", {"train": 0.7, "validation": 0.15, "test": 0.15}),
                          seed=int(dp.get("seed", params.get("seed", 0))))
    dd = build_dataset_dict(rows, split)
    dd.save_to_disk(a.out)
    stats = {"join": info, "splits": dataset_stats(dd)}
    write_json(a.stats, stats)
    if info.get("missing"):
        print(f"note: {info['missing']} gold label(s) belong to paragraphs not ingested here "
              "(corpus absent here, or dropped by cleaning): the dataset uses {0} labelled paragraphs".format(len(rows)), file=sys.stderr)
    print("dataset: " + ", ".join(f"{s} {v['paragraphs']} paragraphs/{v['articles']} articles" for s, v in stats["splits"].items()),
          file=sys.stderr)
    return OK


def cmd_train(a) -> int:
    from vistance.config import load_params
    from vistance.models.train import train_model

    info = train_model(a.name, load_params(a.params), a.dataset, a.out)
    print(f"trained {a.name} ({info['kind']}) on {info['train_paragraphs']} paragraphs in {info['train_seconds']} s -> {a.out}",
          file=sys.stderr)
    return OK


def cmd_evaluate(a) -> int:
    from vistance.config import load_params
    from vistance.evaluation.evaluate import evaluate_model

    r = evaluate_model(a.name, load_params(a.params), a.dataset, a.model, a.out)
    h = r["headline"]
    print(f"{a.name}: tone macro-F1 {h['tone_macro_f1']['value']:.3f} [{h['tone_macro_f1']['low']:.3f}, {h['tone_macro_f1']['high']:.3f}], "
          f"themes sample-F1 {h['themes_sample_f1']['value']:.3f} [{h['themes_sample_f1']['low']:.3f}, {h['themes_sample_f1']['high']:.3f}]",
          file=sys.stderr)
    return OK


def cmd_compare(a) -> int:
    from vistance.config import load_params
    from vistance.evaluation.compare import compare_models

    out = compare_models(load_params(a.params), a.experiments)
    print(f"wrote {out}", file=sys.stderr)
    return OK


def cmd_cards(a) -> int:
    from vistance.cards.dataset_card import write_dataset_card
    from vistance.cards.model_card import write_model_cards
    from vistance.config import load_params

    params = load_params(a.params)
    paths = write_model_cards(params, a.experiments)
    paths.append(write_dataset_card(params, a.dataset_stats, a.agreement, a.out_dataset_card))
    for p in paths:
        print(f"wrote {p}", file=sys.stderr)
    return OK


def cmd_predict(a) -> int:
    from vistance.models import load_model
    from vistance.predict import predict_file

    if not Path(a.input).is_file():
        raise VistanceError(f"{a.input}: no such input file")
    model = load_model(a.model)
    rep = predict_file(model, a.input, a.output, batch_size=a.batch_size, explain=a.explain)
    for e in rep.errors:
        _err(str(e))
    print(f"predicted {rep.written} of {rep.read} line(s) -> {a.output}; {len(rep.errors)} rejected", file=sys.stderr)
    return PARTIAL if rep.errors else OK


def cmd_predict_article(a) -> int:
    """Label every paragraph of raw article files (seed text format or JSONL)."""
    from vistance.corpus import IngestReport, ingest_paths
    from vistance.models import load_model

    report = IngestReport()
    paras = list(ingest_paths(a.paths, report=report, dedupe=False))
    for e in report.errors:
        _err(str(e))
    model = load_model(a.model)
    recs = model.predict_proba([p.text for p in paras]).records([p.paragraph_id for p in paras]) if paras else []
    out = open(a.output, "w", encoding="utf-8") if a.output else sys.stdout
    try:
        for p, rec in zip(paras, recs):
            rec["text"] = p.text
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if a.output:
            out.close()
    return PARTIAL if report.errors else OK


def cmd_checkpoint(a) -> int:
    from vistance.cli_transformer import checkpoint

    return checkpoint(a)


def cmd_pretrain(a) -> int:
    from vistance.cli_transformer import pretrain

    return pretrain(a)


def cmd_analyze(a) -> int:
    from vistance.analysis.run import run_analysis_cli

    return run_analysis_cli(a)


def cmd_silver(a) -> int:
    from vistance.labels.silver import run_silver_cli

    return run_silver_cli(a)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vistance", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("ingest", help="raw article files/folders -> paragraphs JSONL")
    s.add_argument("paths", nargs="*")
    s.add_argument("--output", "-o", required=True)
    s.add_argument("--optional", nargs="*", help="corpus paths used only when present")
    s.add_argument("--report", help="write an ingest report (JSON)")
    s.add_argument("--corpus", help="corpus name recorded with each paragraph")
    s.add_argument("--sentence-window", type=int, default=1, help="join N sentences per unit (sentence corpora)")
    s.set_defaults(func=cmd_ingest)

    lab = sub.add_parser("labels", help="label files").add_subparsers(dest="labels_cmd", required=True)
    s = lab.add_parser("check", help="fail on unknown labels, duplicates and stale hashes")
    s.add_argument("labels", nargs="*", default=["labels/gold.jsonl"])
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.set_defaults(func=cmd_labels_check)

    s = lab.add_parser("build-gold", help="first-pass labels + adjudications -> gold file")
    s.add_argument("--first-pass", default="labels/first_pass.jsonl")
    s.add_argument("--adjudication", default="labels/adjudication.jsonl")
    s.add_argument("--corrections", default="labels/corrections.jsonl")
    s.add_argument("--out", default="labels/gold.jsonl")
    s.set_defaults(func=cmd_labels_build_gold)
    s = lab.add_parser("issues", help="flag likely label errors from cross-validated predictions (confident learning)")
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--labels", default="labels/gold.jsonl")
    s.add_argument("--out", default="labels/issues.jsonl")
    s.add_argument("--top", type=int, default=100)
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--seed", type=int, default=13)
    s.set_defaults(func=cmd_labels_issues)

    ann = sub.add_parser("annotate", help="annotation batches").add_subparsers(dest="annotate_cmd", required=True)
    s = ann.add_parser("export", help="write a batch to annotate (Label Studio JSON, JSONL or CSV)")
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--out", required=True)
    s.add_argument("--format", choices=["labelstudio", "jsonl", "csv"], default="jsonl")
    s.add_argument("--n", type=int, default=200, help="paragraph budget for whole foreign-affairs articles")
    s.add_argument("--stratum-quota", type=int, default=0, help="extra paragraphs per rare-theme stratum")
    s.add_argument("--ids", help="file with one paragraph id a line (instead of sampling)")
    s.add_argument("--exclude", nargs="*", default=["labels/gold.jsonl"], help="label files whose paragraphs are skipped")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_annotate_export)
    s = ann.add_parser("import", help="validate and merge judgements into a label file (atomic, locked)")
    s.add_argument("file")
    s.add_argument("--into", default="labels/gold.jsonl")
    s.add_argument("--paragraphs", help="paragraphs JSONL to check ids and text hashes against")
    s.add_argument("--annotator", help="annotator name for records that lack one")
    s.add_argument("--replace", action="store_true", help="replace conflicting existing labels (deliberate re-judgement)")
    s.set_defaults(func=cmd_annotate_import)

    s = sub.add_parser("agreement", help="Krippendorff's alpha and Cohen's kappa of two codings")
    s.add_argument("--first", default="labels/first_pass.jsonl")
    s.add_argument("--second", default="labels/second_pass.jsonl")
    s.add_argument("--out", help="write the report as JSON")
    s.set_defaults(func=cmd_agreement)

    s = sub.add_parser("dataset", help="paragraphs + gold labels -> DatasetDict with article-grouped splits")
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--labels", default="labels/gold.jsonl")
    s.add_argument("--out", default="data/dataset")
    s.add_argument("--stats", default="data/dataset_stats.json")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_dataset)

    s = sub.add_parser("train", help="train one model named in params.yaml")
    s.add_argument("name")
    s.add_argument("--dataset", default="data/dataset")
    s.add_argument("--out")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("evaluate", help="metrics, CIs, CV and generalisation splits for one model")
    s.add_argument("name")
    s.add_argument("--dataset", default="data/dataset")
    s.add_argument("--model")
    s.add_argument("--out", default="experiments")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("compare", help="comparison table, paired tests, plots, best model")
    s.add_argument("--experiments", default="experiments")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("cards", help="model cards and the dataset card from what ran")
    s.add_argument("--experiments", default="experiments")
    s.add_argument("--dataset-stats", default="data/dataset_stats.json")
    s.add_argument("--agreement", default="labels/agreement.json")
    s.add_argument("--out-dataset-card", default="labels/README.md")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_cards)

    s = sub.add_parser("predict", help="JSONL {id,text} -> JSONL predictions (streaming)")
    s.add_argument("--model", required=True)
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--explain", action="store_true", help="add top contributing n-grams (linear models)")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("predict-article", help="label every paragraph of raw article files")
    s.add_argument("paths", nargs="+")
    s.add_argument("--model", required=True)
    s.add_argument("--output")
    s.set_defaults(func=cmd_predict_article)

    s = sub.add_parser("checkpoint", help="build a tiny PhoBERT-shaped random checkpoint from corpus text")
    s.add_argument("--paragraphs", nargs="+", default=["data/processed/paragraphs.jsonl"])
    s.add_argument("--out", required=True)
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_checkpoint)

    s = sub.add_parser("pretrain", help="masked-LM pretraining of a small RoBERTa (or continue a PhoBERT)")
    s.add_argument("--paragraphs", nargs="+", default=["data/processed/paragraphs.jsonl"])
    s.add_argument("--init", help="checkpoint folder to start from")
    s.add_argument("--out", required=True)
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_pretrain)

    s = sub.add_parser("analyze", help="tone by counterpart x period x theme over a corpus")
    s.add_argument("--model", required=True)
    s.add_argument("--paragraphs", required=True)
    s.add_argument("--out", default="experiments/analysis")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_analyze)

    s = sub.add_parser("silver", help="labelling functions -> silver labels, measured against gold")
    s.add_argument("--paragraphs", required=True)
    s.add_argument("--gold-paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--gold", default="labels/gold.jsonl")
    s.add_argument("--out", default="labels/silver")
    s.add_argument("--limit", type=int)
    s.set_defaults(func=cmd_silver)
    return p


def main(argv=None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:
        return USAGE if e.code not in (0, None) else OK
    # model folders default to experiments/models/<name>
    if a.command == "train" and a.out is None:
        a.out = f"experiments/models/{a.name}"
    if a.command == "evaluate" and a.model is None:
        a.model = f"experiments/models/{a.name}"
    try:
        return a.func(a)
    except (VistanceError, OSError) as e:
        if a.debug:
            raise
        _err(str(e))
        return PARTIAL
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - a bug, not bad input: one line unless --debug
        if a.debug:
            raise
        _err(f"internal error: {type(e).__name__}: {e} (run 'vistance --debug ...' for the traceback)")
        return PARTIAL


if __name__ == "__main__":
    sys.exit(main())
