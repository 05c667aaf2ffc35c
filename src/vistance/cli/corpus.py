"""``vistance ingest``, ``vistance corpus manifest|status`` (and ``corpus fetch``, :mod:`.fetch`)."""
from __future__ import annotations

from pathlib import Path

from vistance.cli._common import OK, PARTIAL, USAGE, config, err, note, positive_int, refuse_overwriting_inputs


def cmd_ingest(a) -> int:
    from vistance.corpus import IngestReport, ingest_paths, write_paragraphs
    from vistance.io import write_json

    paths = list(a.paths)
    missing_optional = []
    for p in a.optional or []:
        if Path(p).exists():
            paths.append(p)
        else:
            missing_optional.append(p)
    for p in missing_optional:
        note(f"note: optional corpus {p} is not on this machine; continuing without it")
    if not a.paths and not a.optional:
        err("ingest needs at least one PATH (or --optional PATH)")
        return USAGE
    refuse_overwriting_inputs({"--output": a.output, "--report": a.report}, paths)
    report = IngestReport()
    n = write_paragraphs(ingest_paths(paths, corpus=a.corpus, sentence_window=a.sentence_window, report=report), a.output)
    for w in report.warnings:
        note(f"warning: {w}")
    if report.warnings.dropped:
        note(f"warning: ... and {report.warnings.dropped} more")
    for e in report.errors:
        err(str(e))
    if report.errors.dropped:
        err(f"... and {report.errors.dropped} more rejected input(s) (only the first {len(report.errors)} are listed)")
    note(report.summary())
    if a.report:
        write_json(a.report, {
            "inputs": [str(p) for p in paths], "missing_optional": missing_optional, "files": report.files,
            "articles": report.articles, "paragraphs": n, "dropped": dict(sorted(report.dropped.items())),
            "rejected": [str(e) for e in report.errors], "rejected_total": report.errors.total,
        })
    return PARTIAL if report.errors.total else OK


def cmd_manifest(a) -> int:
    from vistance.corpus.manifest import write_manifest

    m = write_manifest(a.path, a.out)
    note(f"corpus manifest {a.out}: {a.path} " + (f"{m['bytes']} bytes, sha256 {m['sha256'][:12]}…"
                                                   if m["present"] else "absent"))
    return OK


def cmd_status(a) -> int:
    from vistance.corpus.status import corpus_status

    c = config(a.params).corpus
    status = corpus_status(reference=c.reference, download=c.download)
    note(status.line())
    return OK


def add_parsers(sub) -> None:
    s = sub.add_parser("ingest", help="raw article files/folders -> paragraphs JSONL")
    s.add_argument("paths", nargs="*")
    s.add_argument("--output", "-o", required=True)
    s.add_argument("--optional", nargs="*", help="corpus paths used only when present")
    s.add_argument("--report", help="write an ingest report (JSON)")
    s.add_argument("--corpus", help="corpus name recorded with each paragraph")
    s.add_argument("--sentence-window", type=positive_int, default=1, help="join N sentences per unit (sentence corpora)")
    s.set_defaults(func=cmd_ingest)

    c = sub.add_parser("corpus", help="corpus files").add_subparsers(dest="corpus_cmd", required=True)
    s = c.add_parser("manifest", help="hash of an (optional) corpus file, for DVC to depend on")
    s.add_argument("path")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_manifest)

    s = c.add_parser("status", help="one line: which corpora are here (or buildable offline), how to fetch the rest")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_status)

    from vistance.cli import fetch

    fetch.add_parsers(c)
