"""``vistance corpus fetch NAME``: an upstream corpus from its public archive (a local source: its digest)."""
from __future__ import annotations

from vistance.cli._common import OK, USAGE, err, note


def cmd_fetch(a) -> int:
    from tqdm.auto import tqdm

    from vistance.corpus.fetch import DEFAULT_ARCHIVE_DIRS, DEFAULT_ROOT, fetch_corpus, manifest_names

    out = a.out or DEFAULT_ROOT / a.name
    if a.source != "upstream":   # a local folder or file: nothing to fetch; record what it holds
        from vistance.corpus.manifest import record_local_source

        m = record_local_source(a.name, a.source, out)
        if not m["present"] and not a.optional:
            err(f"{a.name}: its source {a.source} does not exist")
            return USAGE
        note(f"{a.name}: local source {a.source} " + (f"({m['bytes']} bytes, sha256 {m['sha256'][:12]}…)"
                                                      if m["present"] else "is absent; continuing without it"))
        return OK
    if a.name not in manifest_names():
        err(f"unknown upstream corpus {a.name!r} (have: {', '.join(manifest_names())}); "
            "a local corpus: pass --source PATH")
        return USAGE
    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"download {a.name}", disable=None)
        bar.update(done - bar.n)

    try:
        report = fetch_corpus(a.name, archive=a.archive, out=out, reference=a.reference,
                              archive_dirs=tuple(a.archive_dir or DEFAULT_ARCHIVE_DIRS),
                              download_ok=not a.no_download and a.download == "true", timeout=a.timeout, progress=progress,
                              optional=a.optional)
    finally:
        if bar is not None:
            bar.close()
    for n in report.notes:
        note(f"note: {n}")
    if not report.fetched:
        note(report.message)
        return OK  # --optional: the pipeline goes on with what it has
    note(report.summary())
    return OK


def add_parsers(corpus_sub) -> None:
    """Add ``fetch`` under the ``vistance corpus`` group (``corpus_sub``: its sub-parsers)."""
    s = corpus_sub.add_parser("fetch", help="download (or read --archive) a corpus's upstream archive, "
                                            "convert and verify it against the committed manifest")
    s.add_argument("name", help="the corpus (params.yaml corpora); an upstream one has a committed manifest")
    s.add_argument("--source", default="upstream",
                   help="upstream (default), or the corpus's local folder/file: then only its digest is "
                        "written to OUT/fetch.json (dvc.yaml passes the entry's source)")
    s.add_argument("--archive", help="a local REPO-COMMIT.tar.gz (GitHub source archive) instead of downloading")
    s.add_argument("--out", help="output folder (default data/corpora/NAME); writes NAME/articles.jsonl")
    s.add_argument("--reference", help="an existing articles.jsonl to use when it matches the manifest "
                                       "(e.g. ../shared/corpus/NAME/articles.jsonl)")
    s.add_argument("--archive-dir", action="append",
                   help="folder to look for the archive in (repeatable; default data/corpora/downloads "
                        "and ../shared/upstream); a download goes to the first")
    s.add_argument("--no-download", action="store_true", help="never use the network")
    s.add_argument("--download", choices=["true", "false"], default="true",
                   help="false = --no-download (dvc.yaml passes params corpus.download)")
    s.add_argument("--timeout", type=float, default=30.0, help="seconds without data before a download fails")
    s.add_argument("--optional", action="store_true",
                   help="nothing available (offline, no archive): print what to download and exit 0")
    s.set_defaults(func=cmd_fetch)

