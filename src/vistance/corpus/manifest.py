"""The digest of a local corpus source: what ``vistance corpus fetch`` records for a corpus with no upstream.

A corpus whose ``source`` is a local folder or file (``params.yaml`` ``corpora``) is not fetched, but
its fetch stage still writes ``data/corpora/<name>/fetch.json``: the source's path and content hash
(or that it is absent). The ingest stage depends on ``data/corpora``, so ``dvc status`` names it,
and everything after it, exactly when a local source's content changes (or appears, or goes),
wherever the source lies. (Upstream corpora record theirs in :func:`vistance.corpus.fetch.fetch_corpus`.)
"""
from __future__ import annotations

import hashlib
from pathlib import Path


def corpus_manifest(path) -> dict:
    """``{path, present, bytes, sha256}`` of a corpus file or folder (folder: every file, sorted)."""
    p = Path(path)
    if not p.exists():
        return {"path": str(path), "present": False}
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    h = hashlib.sha256()
    size = 0
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                size += len(block)
    return {"path": str(path), "present": True, "bytes": size, "sha256": h.hexdigest()}


def write_manifest(path, out, **extra) -> dict:
    """Write :func:`corpus_manifest` of ``path`` (plus ``extra`` keys) to ``out`` (atomic; unchanged
    bytes when nothing changed)."""
    from vistance.io import write_json

    m = {**extra, **corpus_manifest(path)}
    write_json(out, m)
    return m


def record_local_source(name: str, source, out) -> dict:
    """``out/fetch.json`` of local corpus ``name``: its source's digest (see the module docstring)."""
    return write_manifest(source, Path(out) / "fetch.json", name=name)
