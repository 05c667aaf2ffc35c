"""Join paragraphs with gold labels and build the ``DatasetDict``."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

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


def build_dataset_dict(rows: list[dict], split_of_article: dict[str, str]):
    """A ``datasets.DatasetDict`` with one split per distinct value of ``split_of_article``."""
    from datasets import Dataset, DatasetDict

    feats = _features()
    splits = sorted(set(split_of_article.values()), key=["train", "validation", "test"].index
                    if set(split_of_article.values()) <= {"train", "validation", "test"} else str)
    dd = {}
    for s in splits:
        part = [r for r in rows if split_of_article[r["article_id"]] == s]
        cols = {c: [r[c] for r in part] for c in COLUMNS}
        cols["themes"] = [[THEMES.index(t) for t in r["themes"]] for r in part]
        cols["tone"] = [TONES.index(r["tone"]) for r in part]
        dd[s] = Dataset.from_dict(cols, features=feats)
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
        }
    return out


def write_json(path, obj) -> None:
    from vistance.io import atomic_write

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
