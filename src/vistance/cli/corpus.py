"""``vistance ingest``, ``vistance corpus ingest|manifest|status`` (and ``corpus fetch``, :mod:`.fetch`)."""
from __future__ import annotations

from pathlib import Path

from vistance.cli._common import OK, PARTIAL, USAGE, config, err, note, positive_int, refuse_overwriting_inputs


def cmd_ingest(a) -> int:
    from vistance.corpus import IngestReport, ingest_paths, write_paragraphs
    from vistance.corpus.ingest import write_ingest_report

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
    if a.report:
        write_ingest_report(a.report, report, paths, missing_optional, n)
    return _said(report)


def _said(report) -> int:
    """Print an ingest's warnings, rejections and summary; its exit status."""
    for w in report.warnings:
        note(f"warning: {w}")
    if report.warnings.dropped:
        note(f"warning: ... and {report.warnings.dropped} more")
    for e in report.errors:
        err(str(e))
    if report.errors.dropped:
        err(f"... and {report.errors.dropped} more rejected input(s) (only the first {len(report.errors)} are listed)")
    note(report.summary())
    return PARTIAL if report.errors.total else OK


def cmd_corpus_ingest(a) -> int:
    """Every output of params.yaml's ``corpora`` (or those named): its entries ingested together."""
    from vistance.corpus import registry
    from vistance.corpus.ingest import ingest_output

    groups = registry.outputs(config(a.params).corpora)
    unknown = [o for o in a.output or [] if o not in groups]
    if unknown:
        err(f"no corpus writes {', '.join(unknown)} (outputs: {', '.join(groups)})")
        return USAGE
    status = OK
    for output, entries in groups.items():
        if a.output and output not in a.output:
            continue
        refuse_overwriting_inputs({"output": output, "report": str(registry.report_path(entries[0]))},
                                  [str(registry.articles_path(e)) for e in entries])
        report, _n, missing = ingest_output(entries)
        for p in missing:
            note(f"note: optional corpus {p} is not on this machine; continuing without it")
        note(f"{output} ({', '.join(e.name for e in entries)}):")
        status = max(status, _said(report))
    return status


def cmd_manifest(a) -> int:
    from vistance.corpus.manifest import write_manifest

    m = write_manifest(a.path, a.out)
    note(f"corpus manifest {a.out}: {a.path} " + (f"{m['bytes']} bytes, sha256 {m['sha256'][:12]}…"
                                                   if m["present"] else "absent"))
    return OK


def cmd_status(a) -> int:
    from vistance.corpus.status import corpus_status

    from vistance.corpus.registry import is_upstream

    cfg = config(a.params)
    upstreams = [e.name for e in cfg.corpora if is_upstream(e)]
    if not upstreams:
        note("corpora: every corpus is local (nothing to fetch)")
        return OK
    status = corpus_status(names=upstreams, reference=cfg.corpus.reference, download=cfg.corpus.download)
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
    s = c.add_parser("ingest", help="ingest every corpus of params.yaml `corpora` into its output "
                                    "(entries sharing an output together)")
    s.add_argument("--params", default="params.yaml")
    s.add_argument("--output", nargs="*", help="only these outputs (default: all)")
    s.set_defaults(func=cmd_corpus_ingest)

    s = c.add_parser("manifest", help="the digest of a corpus file or folder (what fetch records for a local source)")
    s.add_argument("path")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_manifest)

    s = c.add_parser("status", help="one line: which corpora are here (or buildable offline), how to fetch the rest")
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_status)

    from vistance.cli import fetch

    fetch.add_parsers(c)
