"""Which upstream corpora this machine has, or can build offline: said once, at the start of a run.

    from vistance.corpus.status import corpus_status
    status = corpus_status(reference="../shared/corpus")
    print(status.line())   # one line; names what is missing and how to fetch it

A corpus counts as available when its fetched ``data/corpora/<name>/articles.jsonl`` is there, or a
source ``vistance corpus fetch`` reads offline is (``<reference>/<name>/articles.jsonl``, or the
upstream archive in one of the archive folders); otherwise the pipeline runs without it (on the
local corpora only) and says how to get it. No hashing here: fetch verifies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vistance.corpus.fetch import DEFAULT_ARCHIVE_DIRS, DEFAULT_ROOT, manifest_names, offline_message, upstream


@dataclass
class CorpusStatus:
    """``available``: name -> where it is (or will be built from); ``missing``: the others."""

    available: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    download: bool = True

    def line(self) -> str:
        if not self.missing:
            return "corpora: " + ", ".join(f"{n} ({w})" for n, w in self.available.items())
        how = " && ".join(f"vistance corpus fetch {n}" for n in self.missing)
        if self.download:
            when = "the pipeline downloads them now if this machine is online; else "
        else:
            when = ""
        them = "them" if len(self.missing) > 1 else "it"
        return (f"note: no {' or '.join(self.missing)} corpus on this machine: without {them} the pipeline runs on the "
                f"bundled seed articles (~50 labelled paragraphs; model stages do the minimum, numbers mean "
                f"little); {when}run `{how}` (or see README 'Getting the corpora')")

    def details(self) -> list[str]:
        return [offline_message(n) for n in self.missing]


def corpus_status(*, names=None, root=DEFAULT_ROOT, reference=None, archive_dirs=DEFAULT_ARCHIVE_DIRS,
                  download: bool = True) -> CorpusStatus:
    """What :func:`vistance.corpus.fetch.fetch_corpus` would find for each of ``names`` (default: every
    corpus with a committed manifest; the CLI passes the upstream corpora of ``params.yaml``)."""
    status = CorpusStatus(download=download)
    for name in names or manifest_names():
        up = upstream(name)
        candidates = [(Path(root) / name / "articles.jsonl", "fetched")]
        if reference:
            candidates.append((Path(reference) / name / "articles.jsonl", "reference copy"))
        candidates += [(Path(d) / up.archive_name, "upstream archive") for d in archive_dirs]
        where = next((f"{what} {p}" for p, what in candidates if p.is_file()), None)
        if where:
            status.available[name] = where
        else:
            status.missing.append(name)
    return status
