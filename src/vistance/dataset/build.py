"""Join paragraphs with gold labels and build the ``DatasetDict``."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vistance.io import write_json  # noqa: F401  (kept importable from here; it lives in vistance.io)
from vistance.labels.schema import THEMES, TONES

COLUMNS = ["id", "article_id", "text", "themes", "tone", "title", "date", "source", "corpus", "unit"]


def join_labels(paragraphs, labels, strict: bool = True) -> tuple[list[dict], dict]:
    """Rows for every labelled paragraph present in the corpus.

    Stale labels (hash mismatch) raise with ``strict`` (the default) and are
    skipped otherwise; labels of paragraphs not in the corpus are counted as
    ``missing`` (e.g. the extended corpus is not on this machine).
    """
    from vistance.errors import LabelError

    by_id = {p.paragraph_id: p for p in paragraphs}
    rows, info = [], Counter()
    for lab in sorted(labels, key=lambda l: l.paragraph_id):
        p = by_id.get(lab.paragraph_id)
        if p is None:
            info["missing"] += 1
            continue
        if p.text_sha1 != lab.text_sha1:
            if strict:
                raise LabelError(f"stale label for {lab.paragraph_id}: the paragraph text changed since it was judged")
            info["stale"] += 1
            continue
        rows.append({
            "id": p.paragraph_id, "article_id": p.article_id, "text": p.text, "themes": list(lab.themes),
            "tone": lab.tone, "title": p.title, "date": p.date or "", "source": p.source or "",
            "corpus": p.corpus, "unit": p.unit,
        })
        info["joined"] += 1
    return rows, dict(info)


def _features():
    from datasets import ClassLabel, Features, Sequence, Value

    return Features({
        "id": Value("string"), "article_id": Value("string"), "text": Value("string"),
        "themes": Sequence(ClassLabel(names=list(THEMES))), "tone": ClassLabel(names=list(TONES)),
        "title": Value("string"), "date": Value("string"), "source": Value("string"),
        "corpus": Value("string"), "unit": Value("string"),
    })


SPLIT_ORDER = ("train", "validation", "test")


def build_dataset_dict(rows: list[dict], split_of_article: dict[str, str]):
    """A ``datasets.DatasetDict`` with one split per value of ``split_of_article`` that has rows.

    A split no row falls in (``test_vietnews`` when the vietnews-fa paragraphs are absent) is left
    out rather than saved empty: an empty split cannot be loaded back (``datasets`` fails on it), and
    evaluation skips the splits that are absent. Order: train, validation, test, then by name.
    """
    from datasets import Dataset, DatasetDict

    feats = _features()
    present = {split_of_article[r["article_id"]] for r in rows}
    splits = sorted(present, key=lambda name: (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name))
    dd = {}
    for name in splits:
        part = [r for r in rows if split_of_article[r["article_id"]] == name]
        cols = {c: [r[c] for r in part] for c in COLUMNS}
        cols["themes"] = [[THEMES.index(t) for t in r["themes"]] for r in part]
        cols["tone"] = [TONES.index(r["tone"]) for r in part]
        dd[name] = Dataset.from_dict(cols, features=feats)
    return DatasetDict(dd)


def rows_from_dataset(ds) -> list[dict]:
    """Plain rows (label names, not ids) from a ``Dataset`` split."""
    rows = []
    for r in ds:
        r = dict(r)
        r["themes"] = [THEMES[i] for i in r["themes"]]
        r["tone"] = TONES[r["tone"]]
        rows.append(r)
    return rows


def load_dataset_dict(path):
    from datasets import load_from_disk

    return load_from_disk(str(path))


def dataset_stats(dd) -> dict:
    """Per split: paragraphs, articles, per-theme and per-tone counts, length quantiles (words)."""
    import numpy as np

    out = {}
    for name, ds in dd.items():
        rows = rows_from_dataset(ds)
        lengths = np.array([len(r["text"].split()) for r in rows]) if rows else np.array([0])
        out[name] = {
            "paragraphs": len(rows),
            "articles": len({r["article_id"] for r in rows}),
            "themes": {t: sum(t in r["themes"] for r in rows) for t in THEMES},
            "tone": {t: sum(r["tone"] == t for r in rows) for t in TONES},
            "words": {"mean": round(float(lengths.mean()), 1), "p50": int(np.percentile(lengths, 50)),
                      "p95": int(np.percentile(lengths, 95)), "max": int(lengths.max())},
            "sources": dict(Counter(r["source"] or "unknown" for r in rows).most_common()),
            "corpora": dict(sorted(Counter(r["corpus"] for r in rows).items())),
        }
    return out



CROSSCORPUS_SPLIT = "test_vietnews"


@dataclass
class DatasetReport:
    """What :func:`build_dataset` joined and wrote."""

    stats: dict                    # {"join": ..., "splits": dataset_stats(...)}, also written to ``stats``
    rows: int
    out: str

    def summary(self) -> str:
        return "dataset: " + ", ".join(f"{s} {v['paragraphs']} paragraphs/{v['articles']} articles"
                                       for s, v in self.stats["splits"].items())


def build_dataset(paragraphs, labels, out, stats, split: dict[str, float], seed: int = 13,
                  crosscorpus_test=None) -> DatasetReport:
    """Paragraph JSONL files (missing ones skipped) + gold ``labels`` -> ``DatasetDict`` at ``out``
    and its statistics at ``stats``.

    Splits: :func:`vistance.dataset.splits.assign_splits` with ``split`` fractions and ``seed``;
    ``crosscorpus_test``, a JSON file with ``articles`` (ids), holds those articles out as the
    ``test_vietnews`` split. A label whose paragraph is in none of the files is counted as
    ``missing`` in ``stats["join"]``.
    """
    from vistance.corpus import read_paragraphs
    from vistance.dataset.splits import assign_splits
    from vistance.errors import VistanceError
    from vistance.io import read_json
    from vistance.labels.store import read_labels

    files = [paragraphs] if isinstance(paragraphs, (str, Path)) else list(paragraphs)
    paras = [p for f in files if Path(f).exists() for p in read_paragraphs(f)]
    if not paras:
        raise VistanceError(f"no paragraphs in {', '.join(map(str, files))} (run `vistance ingest` first)")
    rows, info = join_labels(paras, read_labels(labels, allow_missing=False))
    if not rows:
        raise VistanceError(f"no labelled paragraph of {labels} is in {', '.join(map(str, files))}")
    heldout = {}
    if crosscorpus_test:
        heldout[CROSSCORPUS_SPLIT] = set(read_json(crosscorpus_test)["articles"])
    split_of = assign_splits(rows, split, seed=seed, heldout_articles=heldout)
    dd = build_dataset_dict(rows, split_of)
    dd.save_to_disk(str(out))
    result = {"join": info, "splits": dataset_stats(dd)}
    empty = sorted((set(split_of.values()) | set(heldout)) - set(dd))
    if empty:
        result["empty_splits"] = empty   # no labelled paragraph here (e.g. its corpus is absent): not saved
    write_json(stats, result)
    return DatasetReport(stats=result, rows=len(rows), out=str(out))
