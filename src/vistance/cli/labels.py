"""``vistance labels check|build-gold|issues``, ``annotate export|import``, ``agreement``, ``silver``."""
from __future__ import annotations

from pathlib import Path

from vistance.cli._common import (OK, PARAMS, PARTIAL, command, err, label_schema, note, paragraphs_or_none,
                                  refuse_overwriting_inputs)


def cmd_labels_check(a) -> int:
    from vistance.errors import LabelError
    from vistance.labels.store import read_labels
    from vistance.labels.validate import CheckReport, check_against_corpus

    schema = label_schema(a.params)
    report = CheckReport()
    present = [p for p in a.paragraphs if Path(p).exists()]
    paras = [para for p in present for para in paragraphs_or_none(p)] if present else None
    for p in sorted(set(a.paragraphs) - set(present)):
        note(f"note: {p} not found; " + ("its labels count as orphans" if present
                                        else "checking the labels against the schema only"))
    for f in a.labels:
        try:
            labs = read_labels(f, allow_missing=False, schema=schema)
        except LabelError as e:
            report.errors.append(str(e))
            continue
        if paras is not None:
            check_against_corpus(labs, paras, report)
        else:
            report.checked += len(labs)
    for m in report.messages():
        err(m)
    orphans = f" ({len(report.orphans)} label(s) for paragraphs not in this corpus)" if report.orphans else ""
    status = "ok" if report.ok else "FAILED"
    note(f"labels check {status}: {report.checked} label(s) in {len(a.labels)} file(s){orphans}")
    return OK if report.ok else PARTIAL


def cmd_labels_build_gold(a) -> int:
    from vistance.io import file_lock
    from vistance.labels.adjudication import apply_corrections, build_gold, read_adjudications, read_corrections
    from vistance.labels.store import read_labels, write_labels

    refuse_overwriting_inputs({"--out": a.out}, [a.first_pass, a.adjudication, a.corrections])
    schema = label_schema(a.params)
    first = read_labels(a.first_pass, allow_missing=False, schema=schema)
    gold, replaced = build_gold(first, read_adjudications(a.adjudication, schema), schema)
    gold, corrected = apply_corrections(gold, read_corrections(a.corrections, schema), schema)
    with file_lock(a.out):
        write_labels(a.out, gold)
    note(f"gold: {len(gold)} label(s) -> {a.out} ({replaced} changed by adjudication, "
         f"{corrected} by the label-quality review)")
    return OK


def cmd_labels_issues(a) -> int:
    from vistance.evaluation.label_quality import review_labels

    refuse_overwriting_inputs({"--out": a.out}, [a.paragraphs, a.labels])
    report = review_labels(a.paragraphs, a.labels, a.out, top=a.top, k=a.k, seed=a.seed, segmenter=a.segmenter)
    note(report.summary())
    return OK


from vistance.cli.annotate import cmd_annotate_export, cmd_annotate_import  # noqa: E402,F401 (moved; aliases)


def cmd_agreement(a) -> int:
    from functools import partial

    from vistance.io import write_json
    from vistance.labels.agreement import agreement_report
    from vistance.labels.store import read_labels

    refuse_overwriting_inputs({"--out": a.out}, [a.first, a.second])
    schema = label_schema(a.params)
    first = read_labels(a.first, allow_missing=False, schema=schema)
    second = read_labels(a.second, allow_missing=False, schema=schema)
    rep = agreement_report(first, second, schema)
    if any(l.suggested for l in first + second):  # model pre-annotations were shown: measure the anchoring
        from vistance.labels.annotation_io import agreement_by_suggestion

        rep["by_suggestion"] = agreement_by_suggestion(first, second, partial(agreement_report, schema=schema))
    if len({lab.codebook for lab in first}) > 1:  # one report per double-coded set (each under one codebook)
        from vistance.labels.agreement import agreement_by

        rep["by_codebook"] = agreement_by(first, second, key=lambda lab: lab.codebook or "1", schema=schema)
    if a.out:
        write_json(a.out, rep)
    if rep["n"] == 0:
        err("the two files share no paragraph")
        return PARTIAL
    tone, themes = rep["tone"], rep["themes"]
    print(f"double-coded paragraphs: {rep['n']}")
    print(f"tone:   Krippendorff alpha {tone['alpha']:.3f}  Cohen kappa {tone['kappa']:.3f}  "
          f"raw agreement {tone['agreement']:.3f}")
    print(f"themes: mean alpha {themes['mean_alpha']:.3f}  mean kappa {themes['mean_kappa']:.3f}  "
          f"exact-set agreement {themes['exact_set_agreement']:.3f}")
    for name, v in themes["per_label"].items():
        print(f"  {name:26s} alpha {v['alpha']:.3f}  kappa {v['kappa']:.3f}  support {v['support_first']}/{v['support_second']}")
    for key, r in rep.get("by_suggestion", {}).items():
        if r["n"]:
            print(f"{key.replace('_', ' ')}: {r['n']} paragraph(s), tone alpha {r['tone']['alpha']:.3f}, "
                  f"themes exact-set agreement {r['themes']['exact_set_agreement']:.3f}")
    return OK


def cmd_silver(a) -> int:
    from vistance.labels.silver import NoSilverCues, run_silver

    try:
        report = run_silver(paragraphs=a.paragraphs, gold_paragraphs=a.gold_paragraphs, gold=a.gold, out=a.out,
                            limit=a.limit, schema=label_schema(a.params), cues=a.cues)
    except NoSilverCues as e:   # another codebook without cues: nothing to do, said in one line
        note(f"vistance: {e}")
        return OK
    note(report.summary())
    return report.exit_code


def add_parsers(sub) -> None:
    lab = sub.add_parser("labels", help="label files").add_subparsers(dest="labels_cmd", required=True)
    command(lab, "check", cmd_labels_check, "fail on unknown labels, duplicates and stale hashes",
            ("labels", {"nargs": "*", "default": ["labels/gold.jsonl"]}),
            ("--paragraphs", {"nargs": "+", "default": ["data/processed/paragraphs.jsonl"],
                              "help": "paragraph JSONL files the labels must match (absent ones skipped)"}),
            PARAMS)
    command(lab, "build-gold", cmd_labels_build_gold, "first-pass labels + adjudications -> gold file",
            ("--first-pass", {"default": "labels/first_pass.jsonl"}), ("--adjudication", {"default": "labels/adjudication.jsonl"}),
            ("--corrections", {"default": "labels/corrections.jsonl"}), ("--out", {"default": "labels/gold.jsonl"}),
            PARAMS)

    s = lab.add_parser("issues", help="flag likely label errors from cross-validated predictions (confident learning)")
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--labels", default="labels/gold.jsonl")
    s.add_argument("--out", default="labels/issues.jsonl")
    s.add_argument("--top", type=int, default=100, help="keep the best N flags (0: all)")
    s.add_argument("--k", type=int, default=5, help="cross-validation folds")
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--segmenter", default="pyvi", help="word segmenter of the TF-IDF model")
    s.set_defaults(func=cmd_labels_issues)

    from vistance.cli import annotate

    annotate.add_parsers(sub)

    s = sub.add_parser("agreement", help="Krippendorff's alpha and Cohen's kappa of two codings")
    s.add_argument("--first", default="labels/first_pass.jsonl")
    s.add_argument("--second", default="labels/second_pass.jsonl")
    s.add_argument("--out", help="write the report as JSON")
    s.add_argument(PARAMS[0], **PARAMS[1])
    s.set_defaults(func=cmd_agreement)

    s = sub.add_parser("silver", help="labelling functions -> silver labels, measured against gold")
    s.add_argument("--paragraphs", required=True)
    s.add_argument("--gold-paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--gold", default="labels/gold.jsonl")
    s.add_argument("--out", default="labels/silver")
    s.add_argument("--limit", type=int)
    s.add_argument("--cues", help="silver cue file of the codebook (default: the packaged cues, which serve the "
                                  "packaged codebook)")
    s.add_argument(PARAMS[0], **PARAMS[1])
    s.set_defaults(func=cmd_silver)
