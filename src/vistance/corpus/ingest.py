"""Ingest: files and folders of raw articles -> clean :class:`Paragraph` records."""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from vistance.corpus.cleaning import drop_reason, is_related_news_marker, is_teaser_of, strip_dateline
from vistance.corpus.readers import JSONL_SUFFIXES, TEXT_SUFFIXES, read_articles
from vistance.corpus.records import Article, Paragraph, make_paragraph_id
from vistance.errors import InputError, Rejections
from vistance.text.normalize import text_sha1


@dataclass
class IngestReport:
    """What ingest kept, dropped (by reason) and rejected (by file and line)."""

    files: int = 0
    articles: int = 0
    paragraphs: int = 0
    dropped: Counter = field(default_factory=Counter)
    skipped_files: list[str] = field(default_factory=list)
    # bounded: the first Rejections.limit kept (detached from their tracebacks), all counted (.total)
    errors: Rejections = field(default_factory=Rejections)
    warnings: Rejections = field(default_factory=Rejections)  # kept going, but worth a look (e.g. too_long)

    def summary(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        s = (f"{self.files} file(s), {self.articles} article(s) -> {self.paragraphs} paragraph(s); "
             f"dropped: {drops}")
        if self.skipped_files:
            s += f"; skipped {len(self.skipped_files)} unrelated file(s)"
        if self.errors.total:
            s += f"; {self.errors.total} input(s) rejected"
        return s


def clean_article(article: Article, report: IngestReport | None = None, max_chars: int = 20_000) -> list[Paragraph]:
    """The paragraphs of one article, with captions, bylines and boilerplate removed."""
    return list(iter_clean_article(article, report, max_chars))


def iter_clean_article(article: Article, report: IngestReport | None = None,
                       max_chars: int = 20_000) -> Iterator[Paragraph]:
    """:func:`clean_article`, one paragraph at a time (an article of 10^5 paragraphs is never a list of them)."""
    blocks = article.blocks
    for i, block in enumerate(blocks):
        if is_related_news_marker(block):
            if report is not None:
                report.dropped["related_news"] += len(blocks) - i
            break
        text = strip_dateline(block).strip()
        reason = drop_reason(text)
        # a lazy view of the later blocks: slicing ``blocks[i + 1:]`` per block is quadratic
        if reason is None and is_teaser_of(text, (blocks[j] for j in range(i + 1, len(blocks)))):
            reason = "teaser"
        if reason is None and len(text) > max_chars:
            reason = "too_long"
            if report is not None:
                report.warnings.append(f"{article.path}: article {article.article_id!r}, block {i}: "
                                       f"{len(text)} characters (> {max_chars}); dropped as too_long")
        if reason is not None:
            if report is not None:
                report.dropped[reason] += 1
            continue
        yield Paragraph(
            paragraph_id=make_paragraph_id(article.article_id, i), article_id=article.article_id,
            index=i, text=text, text_sha1=text_sha1(text), title=article.title, date=article.date,
            source=article.source, unit=article.unit, corpus=article.corpus,
        )


def paragraphs_from_articles(articles: Iterable[Article], report: IngestReport | None = None,
                             dedupe: bool = True, max_chars: int = 20_000) -> Iterator[Paragraph]:
    """Clean every article; with ``dedupe``, a text seen before (anywhere) is dropped."""
    seen: set[str] = set()
    seen_ids: set[str] = set()
    for art in articles:
        if art.article_id in seen_ids:
            if report is not None:
                report.errors.append(InputError(art.path, f"duplicate article id {art.article_id!r}; kept the first"))
            continue
        seen_ids.add(art.article_id)
        if report is not None:
            report.articles += 1
        for p in iter_clean_article(art, report, max_chars=max_chars):
            if dedupe:
                if p.text_sha1 in seen:
                    if report is not None:
                        report.dropped["duplicate"] += 1
                    continue
                seen.add(p.text_sha1)  # only when de-duplicating: predict-article keeps no set of every text
            if report is not None:
                report.paragraphs += 1
            yield p


def list_input_files(paths: Iterable, report: IngestReport | None = None) -> list[Path]:
    """Expand files and folders into a sorted list of readable article files.

    Sorting makes ids and order independent of how the OS lists a folder.
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git, .ipynb_checkpoints, ...
                for n in names:
                    f = Path(root) / n
                    # regular files only: a FIFO or device named *.txt would block or never end
                    if f.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES and not n.startswith(".") and f.is_file():
                        files.append(f)
                    elif report is not None:
                        report.skipped_files.append(str(f))
        elif p.is_file():
            files.append(p)
        else:
            err = InputError(p, "not a regular file or folder" if p.exists() else "no such file or folder")
            if report is None:
                raise err
            report.errors.append(err)
    return sorted(set(files), key=lambda f: str(f))


def ingest_paths(paths: Iterable, corpus: str | None = None, sentence_window: int = 1,
                 report: IngestReport | None = None, dedupe: bool = True,
                 max_chars: int = 20_000) -> Iterator[Paragraph]:
    """Stream clean paragraphs from files/folders; bad inputs land in ``report.errors``."""
    report = report if report is not None else IngestReport()
    files = list_input_files(paths, report)

    def articles():
        for f in files:
            report.files += 1
            yield from read_articles(f, corpus=corpus, sentence_window=sentence_window,
                                     on_error=report.errors.append)

    yield from paragraphs_from_articles(articles(), report, dedupe=dedupe, max_chars=max_chars)


@dataclass
class CorpusInput:
    """One corpus to ingest: where its articles are, the name recorded with each paragraph, its unit,
    and whether it may be absent (an upstream corpus not fetched on this machine)."""

    path: Path
    corpus: str
    sentence_window: int = 1
    optional: bool = False


def corpus_inputs(entries) -> list[CorpusInput]:
    """The :class:`CorpusInput` of ``params.yaml`` ``corpora`` entries (:class:`~vistance.config.CorpusEntry`)."""
    from vistance.corpus import registry

    return [CorpusInput(registry.articles_path(e), e.name, registry.sentence_window(e), registry.is_upstream(e))
            for e in entries]


def ingest_corpora(inputs: Iterable[CorpusInput], report: IngestReport | None = None, dedupe: bool = True,
                   max_chars: int = 20_000) -> Iterator[Paragraph]:
    """Stream clean paragraphs of several corpora ingested together: every file of every present
    input in one path-sorted order (as :func:`ingest_paths` would), each read with its corpus's name
    and sentence window, de-duplicated across them. An absent optional input is skipped (the caller
    lists it); any other bad input lands in ``report.errors``."""
    report = report if report is not None else IngestReport()
    of: dict[Path, CorpusInput] = {}
    for inp in inputs:
        if inp.optional and not Path(inp.path).exists():
            continue
        for f in list_input_files([inp.path], report):
            of.setdefault(f, inp)
    files = sorted(of, key=lambda f: str(f))

    def articles():
        for f in files:
            report.files += 1
            yield from read_articles(f, corpus=of[f].corpus, sentence_window=of[f].sentence_window,
                                     on_error=report.errors.append)

    yield from paragraphs_from_articles(articles(), report, dedupe=dedupe, max_chars=max_chars)


def write_ingest_report(path, report: IngestReport, inputs: list[str], missing_optional: list[str],
                        paragraphs: int) -> None:
    """The ingest report JSON (inputs, what was kept, dropped by reason and rejected)."""
    from vistance.io import write_json

    write_json(path, {
        "inputs": [str(p) for p in inputs], "missing_optional": [str(p) for p in missing_optional],
        "files": report.files, "articles": report.articles, "paragraphs": paragraphs,
        "dropped": dict(sorted(report.dropped.items())), "rejected": [str(e) for e in report.errors],
        "rejected_total": report.errors.total,
    })


def ingest_output(entries, output=None, report_path=None) -> tuple[IngestReport, int, list[str]]:
    """Ingest ``corpora`` entries that share one ``output`` into it (default: the entries' ``output``)
    and write their report (default: :func:`vistance.corpus.registry.report_path`).

    Returns ``(report, paragraphs written, missing optional inputs)``.
    """
    from vistance.corpus import registry

    entries = list(entries)
    inputs = corpus_inputs(entries)
    missing = [str(i.path) for i in inputs if i.optional and not Path(i.path).exists()]
    report = IngestReport()
    n = write_paragraphs(ingest_corpora(inputs, report), output or entries[0].output)
    write_ingest_report(report_path or registry.report_path(entries[0]), report,
                        [str(i.path) for i in inputs if str(i.path) not in missing], missing, n)
    return report, n, missing


def write_paragraphs(paragraphs: Iterable[Paragraph], path) -> int:
    """Write paragraphs as JSONL atomically; returns the count."""
    from vistance.io import write_jsonl

    return write_jsonl(path, paragraphs, transform=Paragraph.to_dict)


def read_paragraphs(path) -> list[Paragraph]:
    """Read a paragraphs JSONL written by :func:`write_paragraphs`; a bad line is an :class:`InputError`."""
    from vistance.io import iter_jsonl

    out = []
    for lineno, obj in iter_jsonl(path, objects=False):
        try:
            if not isinstance(obj, dict):
                raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
            out.append(Paragraph.from_dict(obj))
        except TypeError as e:
            raise InputError(path, f"not a paragraph record ({e})", lineno) from None
    return out


def sample_texts(paths: Iterable, max_texts: int | None, seed: int) -> list[str]:
    """Distinct ``text`` of paragraph JSONL files, a seeded subsample of at most ``max_texts``.

    Missing or empty files are skipped (an optional corpus); the result does not depend on
    the order of the files or lines (unlabelled text for the tokenizer and pretraining).
    """
    from vistance.io import iter_jsonl

    texts: set[str] = set()
    for p in paths:
        p = Path(p)
        if not p.exists() or p.stat().st_size == 0:
            continue
        for lineno, obj in iter_jsonl(p):
            if not isinstance(obj.get("text"), str):
                raise InputError(p, "needs a string 'text'", lineno)
            texts.add(obj["text"])
    ordered = sorted(texts)
    if max_texts and len(ordered) > max_texts:
        ordered = sorted(ordered, key=lambda t: hashlib.sha1(f"{seed}:{t}".encode()).hexdigest())[:max_texts]
    return ordered
