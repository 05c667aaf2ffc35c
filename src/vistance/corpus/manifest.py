"""A corpus manifest: a small JSON naming a corpus file and its content hash (or that it is absent).

DVC cannot depend on a file that may not exist (an optional corpus on a fresh clone), so the
pipeline's ``corpora`` stage writes one manifest per optional corpus and the ingest stages depend
on the manifest: the manifest's bytes change exactly when the corpus file's content does (or when
it appears or goes), so ``dvc status`` names the ingest stage, and everything after it, then only.
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


def write_manifest(path, out) -> dict:
    """Write :func:`corpus_manifest` of ``path`` to ``out`` (atomic; unchanged bytes when nothing changed)."""
    from vistance.io import write_json

    m = corpus_manifest(path)
    write_json(out, m)
    return m
