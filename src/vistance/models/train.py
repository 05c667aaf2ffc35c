"""Train one model on a dataset's train split (the ``train`` stage; ``vistance train NAME``).

    info = train_model("tfidf_lr", "tfidf", {"C": 4.0}, "data/dataset", "experiments/models/tfidf_lr", seed=13)

The label set is the dataset's (:func:`vistance.dataset.dataset_schema`); the model learns it at
``fit`` and saves it. ``codebook``, when given (the project's ``labels.codebook``), must have the
dataset's labels, else one :class:`~vistance.errors.LabelError` naming both lists.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from vistance.dataset.build import check_dataset_schema, dataset_schema, load_dataset_dict, rows_from_dataset
from vistance.io import atomic_write
from vistance.labels.schema import LabelSchema
from vistance.models import build_model, model_class


def fit_rows(kind: str, spec: dict, train_rows: list[dict], valid_rows: list[dict] | None = None,
             seed: int | None = None, *, schema: LabelSchema | None = None):
    """Build a model of ``kind`` with constructor kwargs ``spec`` (and ``seed`` if given and the kind
    is seeded) and fit it on rows ``{text, themes, tone, article_id}`` with the label set ``schema``
    (``None``: the packaged default codebook)."""
    spec = dict(spec)
    if seed is not None and model_class(kind).seeded:
        spec["seed"] = seed
    model = build_model(kind, **spec)
    valid = None
    if valid_rows:
        valid = ([r["text"] for r in valid_rows], [r["themes"] for r in valid_rows], [r["tone"] for r in valid_rows])
    model.fit([r["text"] for r in train_rows], [r["themes"] for r in train_rows], [r["tone"] for r in train_rows],
              groups=[r["article_id"] for r in train_rows], valid=valid, schema=schema)
    return model


def train_model(name: str, kind: str, spec: dict, dataset_dir, out_dir, *, seed: int | None = None,
                codebook: LabelSchema | None = None) -> dict:
    """Fit model ``name`` (``kind`` with constructor kwargs ``spec``, ``seed``) on the dataset's
    ``train`` split (``validation`` for early stopping/thresholds) with the dataset's label set, save
    it to ``out_dir`` and write ``<out_dir>/../<name>.train.json``; returns that record."""
    schema = dataset_schema(dataset_dir) if codebook is None else check_dataset_schema(dataset_dir, codebook)
    dd = load_dataset_dict(dataset_dir)
    train_rows = rows_from_dataset(dd["train"])
    valid_rows = rows_from_dataset(dd["validation"]) if "validation" in dd else None
    t0 = time.perf_counter()
    model = fit_rows(kind, spec, train_rows, valid_rows, seed=seed, schema=schema)
    seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    model.save(out_dir)
    info = {"name": name, "kind": kind, "params": dict(spec), "train_paragraphs": len(train_rows),
            "validation_paragraphs": len(valid_rows or []), "train_seconds": round(seconds, 2)}
    stats = getattr(model, "training_stats_", None)
    if stats:
        info["training_stats"] = stats
    with atomic_write(out_dir.parent / f"{name}.train.json") as fh:
        json.dump(info, fh, indent=2, sort_keys=True, default=str)
    return info
