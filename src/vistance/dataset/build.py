"""Join paragraphs with gold labels and build the ``DatasetDict``."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vistance.errors import VistanceError
from vistance.io import write_json  # noqa: F401  (kept importable from here; it lives in vistance.io)
from vistance.labels.schema import LabelSchema, default_schema

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


#: the label schema saved beside the splits (:func:`dataset_schema` reads it back)
CODEBOOK_FILE = "codebook.json"


def _features(schema: LabelSchema):
    from datasets import ClassLabel, Features, Sequence, Value

    return Features({
        "id": Value("string"), "article_id": Value("string"), "text": Value("string"),
        "themes": Sequence(ClassLabel(names=list(schema.theme_names))),
        "tone": ClassLabel(names=list(schema.tone_names)),
        "title": Value("string"), "date": Value("string"), "source": Value("string"),
        "corpus": Value("string"), "unit": Value("string"),
    })


SPLIT_ORDER = ("train", "validation", "test")


def build_dataset_dict(rows: list[dict], split_of_article: dict[str, str], schema: LabelSchema | None = None):
    """A ``datasets.DatasetDict`` with one split per value of ``split_of_article`` that has rows; the
    ClassLabel names are the labels of ``schema`` (default: the packaged codebook).

    A split no row falls in (``test_vietnews`` when the vietnews-fa paragraphs are absent) is left
    out rather than saved empty: an empty split cannot be loaded back (``datasets`` fails on it), and
    evaluation skips the splits that are absent. Order: train, validation, test, then by name.
    """
    from datasets import Dataset, DatasetDict

    schema = schema or default_schema()
    feats = _features(schema)
    theme_ix = {t: i for i, t in enumerate(schema.theme_names)}
    tone_ix = {t: i for i, t in enumerate(schema.tone_names)}
    present = {split_of_article[r["article_id"]] for r in rows}
    splits = sorted(present, key=lambda name: (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name))
    dd = {}
    for name in splits:
        part = [r for r in rows if split_of_article[r["article_id"]] == name]
        cols = {c: [r[c] for r in part] for c in COLUMNS}
        cols["themes"] = [[theme_ix[t] for t in r["themes"]] for r in part]
        cols["tone"] = [tone_ix[r["tone"]] for r in part]
        dd[name] = Dataset.from_dict(cols, features=feats)
    return DatasetDict(dd)


def label_names(features) -> tuple[list[str], list[str]]:
    """``(themes, tones)``: the ClassLabel names of a split's ``features``."""
    themes = features["themes"]
    themes = getattr(themes, "feature", themes)   # Sequence(ClassLabel) or List(ClassLabel)
    return list(themes.names), list(features["tone"].names)


def rows_from_dataset(ds) -> list[dict]:
    """Plain rows (label names, not ids, from the split's ClassLabel names) from a ``Dataset`` split."""
    themes, tones = label_names(ds.features)
    rows = []
    for r in ds:
        r = dict(r)
        r["themes"] = [themes[i] for i in r["themes"]]
        r["tone"] = tones[r["tone"]]
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
        themes, tones = label_names(ds.features)
        rows = rows_from_dataset(ds)
        lengths = np.array([len(r["text"].split()) for r in rows]) if rows else np.array([0])
        out[name] = {
            "paragraphs": len(rows),
            "articles": len({r["article_id"] for r in rows}),
            "themes": {t: sum(t in r["themes"] for r in rows) for t in themes},
            "tone": {t: sum(r["tone"] == t for r in rows) for t in tones},
            "words": {"mean": round(float(lengths.mean()), 1), "p50": int(np.percentile(lengths, 50)),
                      "p95": int(np.percentile(lengths, 95)), "max": int(lengths.max())},
            "sources": dict(Counter(r["source"] or "unknown" for r in rows).most_common()),
            "corpora": dict(sorted(Counter(r["corpus"] for r in rows).items())),
        }
    return out


def write_dataset_schema(dataset_dir, schema: LabelSchema) -> Path:
    """Write ``schema`` beside the splits as ``<dataset_dir>/codebook.json`` (top-level keys sorted;
    ``themes`` and ``tones`` keep their column order, which sorting would change)."""
    path = Path(dataset_dir) / CODEBOOK_FILE
    d = schema.model_dump(mode="json", exclude={"source"})
    path.write_text(json.dumps({k: d[k] for k in sorted(d)}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def dataset_schema(dataset_dir) -> LabelSchema:
    """The :class:`LabelSchema` a dataset was built with (``<dataset_dir>/codebook.json``), checked
    against the ClassLabel names of its splits."""
    from datasets import Features

    from vistance.io import read_json

    d = Path(dataset_dir)
    path = d / CODEBOOK_FILE
    if not path.is_file():
        raise VistanceError(f"{d}: no {CODEBOOK_FILE} beside the splits (built before the codebook was data?); "
                            "rebuild the dataset (vistance dataset)")
    schema = LabelSchema.from_dict(read_json(path), str(path))
    for info in sorted(d.glob("*/dataset_info.json")):
        themes, tones = label_names(Features.from_dict(read_json(info)["features"]))
        schema.require_labels(themes, tones, f"the split {info.parent.name} of {d}")
    return schema


def check_dataset_schema(dataset_dir, schema: LabelSchema) -> LabelSchema:
    """The dataset's schema (:func:`dataset_schema`); a :class:`~vistance.errors.LabelError` naming
    both label lists when ``schema`` (e.g. the codebook params.yaml names) has other labels."""
    theirs = dataset_schema(dataset_dir)
    schema.require_labels(theirs.theme_names, theirs.tone_names, f"the dataset {dataset_dir}")
    return theirs



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
                  crosscorpus_test=None, schema: LabelSchema | None = None) -> DatasetReport:
    """Paragraph JSONL files (missing ones skipped) + gold ``labels`` -> ``DatasetDict`` at ``out``
    and its statistics at ``stats``.

    ``schema`` (default: the packaged codebook) validates the labels, names the ClassLabels and
    is written beside the splits (``<out>/codebook.json``, read back by :func:`dataset_schema`).

    Splits: :func:`vistance.dataset.splits.assign_splits` with ``split`` fractions and ``seed``;
    ``crosscorpus_test``, a JSON file with ``articles`` (ids), holds those articles out as the
    ``test_vietnews`` split. A label whose paragraph is in none of the files is counted as
    ``missing`` in ``stats["join"]``.
    """
    from vistance.corpus import read_paragraphs
    from vistance.dataset.splits import CROSS_CORPUS_SPLIT, assign_splits
    from vistance.io import read_json
    from vistance.labels.store import read_labels

    schema = schema or default_schema()
    files = [paragraphs] if isinstance(paragraphs, (str, Path)) else list(paragraphs)
    paras = [p for f in files if Path(f).exists() for p in read_paragraphs(f)]
    if not paras:
        raise VistanceError(f"no paragraphs in {', '.join(map(str, files))} (run `vistance ingest` first)")
    rows, info = join_labels(paras, read_labels(labels, allow_missing=False, schema=schema))
    if not rows:
        raise VistanceError(f"no labelled paragraph of {labels} is in {', '.join(map(str, files))}")
    heldout = {}
    if crosscorpus_test:
        heldout[CROSS_CORPUS_SPLIT] = set(read_json(crosscorpus_test)["articles"])
    split_of = assign_splits(rows, split, seed=seed, heldout_articles=heldout)
    dd = build_dataset_dict(rows, split_of, schema)
    dd.save_to_disk(str(out))
    write_dataset_schema(out, schema)
    result = {"join": info, "splits": dataset_stats(dd)}
    empty = sorted((set(split_of.values()) | set(heldout)) - set(dd))
    if empty:
        result["empty_splits"] = empty   # no labelled paragraph here (e.g. its corpus is absent): not saved
    write_json(stats, result)
    return DatasetReport(stats=result, rows=len(rows), out=str(out))
