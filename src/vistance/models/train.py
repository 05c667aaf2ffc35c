"""Train one model named in ``params.yaml`` on the dataset's train split."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from vistance.config import model_params
from vistance.dataset.build import load_dataset_dict, rows_from_dataset
from vistance.io import atomic_write
from vistance.models import build_model, model_class


def fit_rows(kind: str, spec: dict, train_rows: list[dict], valid_rows: list[dict] | None = None, seed: int | None = None):
    """Build a model of ``kind`` with ``spec`` (and ``seed`` if given) and fit it on rows."""
    spec = dict(spec)
    if seed is not None and model_class(kind).seeded:
        spec["seed"] = seed
    model = build_model(kind, **spec)
    valid = None
    if valid_rows:
        valid = ([r["text"] for r in valid_rows], [r["themes"] for r in valid_rows], [r["tone"] for r in valid_rows])
    model.fit([r["text"] for r in train_rows], [r["themes"] for r in train_rows], [r["tone"] for r in train_rows],
              groups=[r["article_id"] for r in train_rows], valid=valid)
    return model


def train_model(name: str, params: dict, dataset_dir, out_dir) -> dict:
    """Fit model ``name`` on ``train`` (``validation`` for early stopping/thresholds), save to ``out_dir``."""
    kind, spec = model_params(params, name)
    dd = load_dataset_dict(dataset_dir)
    train_rows = rows_from_dataset(dd["train"])
    valid_rows = rows_from_dataset(dd["validation"]) if "validation" in dd else None
    t0 = time.perf_counter()
    model = fit_rows(kind, spec, train_rows, valid_rows, seed=params.get("seed"))
    seconds = time.perf_counter() - t0
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    model.save(out_dir)
    info = {"name": name, "kind": kind, "params": spec, "train_paragraphs": len(train_rows),
            "validation_paragraphs": len(valid_rows or []), "train_seconds": round(seconds, 2)}
    stats = getattr(model, "training_stats_", None)
    if stats:
        info["training_stats"] = stats
    with atomic_write(out_dir.parent / f"{name}.train.json") as fh:
        json.dump(info, fh, indent=2, sort_keys=True, default=str)
    return info
