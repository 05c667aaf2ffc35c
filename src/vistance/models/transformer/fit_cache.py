"""Fitted tops on disk: a fit of the 2-core recipe that was already run is read back, not re-run.

The recipe (:mod:`.frozen`) trains only the top layers and the heads. Their trained values, the
tuned theme thresholds and the run's statistics are small (~30 MB for multilingual-e5-small with
4 trained layers), so each fit is kept under ``<cache_dir>/fits/<key>/`` (``top.safetensors`` +
``fit.json``, written to a temporary folder and renamed). The key hashes everything the result
depends on:

* the frozen part and the windowing (the state cache's fingerprint);
* the trainable parameters *before* training (the top layers as loaded and the seeded heads);
* every training setting (schedule, learning rates, seed, precision, patience, class weights);
* the label set and, in order, each training and validation unit's tokenised-text hash and labels;
* the source of the recipe's modules and of the model's fitting methods, and the torch version.

A changed unit, label, setting, checkpoint or recipe code never hits. So a refit of the same
design (the pipeline's generalisation re-fit, its seeds, an ensemble's member, a re-run after an
unrelated code change) costs a load instead of minutes, and gives exactly the first fit's model.
A folder that does not parse, or whose tensors do not match the network, is a miss and is dropped
(the refit keeps its result in its place).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

FIT_CACHE_VERSION = 1
_RECIPE_MODULES = ("frozen.py", "networks.py", "numeric.py", "checkpoint.py", "fit_cache.py", "../thresholds.py",
                   "../scoring.py")
#: the methods of TransformerModel a recipe fit runs (its prediction paths are not part of a fit)
_FIT_METHODS = ("fit", "_new_network", "_fit_frozen", "_fit_cache", "_tune_on_validation", "window_states",
                "_top_arrays", "_state_cache", "encode_windows", "token_ids", "segment")


def _code_digest() -> str:
    import inspect

    import torch

    from vistance.models.transformer.model import TransformerModel

    h = hashlib.sha256(f"v{FIT_CACHE_VERSION}:{torch.__version__}".encode())
    here = Path(__file__).parent
    for name in _RECIPE_MODULES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    for name in _FIT_METHODS:
        h.update(inspect.getsource(getattr(TransformerModel, name)).encode())
    return h.hexdigest()


def trainable_digest(net) -> str:
    """SHA-256 of the trainable parameters' names, shapes and values (before training)."""
    h = hashlib.sha256()
    for name, p in net.named_parameters():
        if p.requires_grad:
            t = p.detach().cpu().float().contiguous()
            h.update(f"{name}:{tuple(t.shape)}".encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


def fit_key(*, state_fingerprint: str, net, settings: dict, label_set: dict, train_keys: Sequence[str],
            Y: np.ndarray, y: np.ndarray, valid_keys: Sequence[str] | None = None, Yv: np.ndarray | None = None,
            yv: np.ndarray | None = None) -> str:
    """The cache key of one fit (see the module docstring)."""
    h = hashlib.sha256()
    head = {"code": _code_digest(), "frozen": state_fingerprint, "init": trainable_digest(net),
            "settings": settings, "labels": label_set, "valid": valid_keys is not None}
    h.update(json.dumps(head, sort_keys=True, default=str).encode())
    for keys, Ym, ym in ((train_keys, Y, y), (valid_keys or [], Yv, yv)):
        h.update(b"|units|")
        for k in keys:
            h.update(k.encode())
            h.update(b",")
        if Ym is not None:
            h.update(np.ascontiguousarray(Ym, dtype=np.int8).tobytes())
            h.update(np.ascontiguousarray(ym, dtype=np.int64).tobytes())
    return h.hexdigest()[:40]


class FitCache:
    """``<root>/fits/<key>/``: the trained top of a fit (``root=None``: no cache, every call misses)."""

    def __init__(self, root):
        self.root = None if root is None else Path(root) / "fits"

    def load(self, key: str, net) -> dict | None:
        """Copy the stored top into ``net`` and return ``{"thresholds", "stats"}``; ``None`` on a miss."""
        if self.root is None:
            return None
        folder = self.root / key
        if not (folder / "fit.json").is_file():
            return None
        try:
            import torch
            from safetensors.torch import load_file

            meta = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
            if meta.get("key") != key:
                raise ValueError("key mismatch")
            tensors = load_file(folder / "top.safetensors")
            params = {n: p for n, p in net.named_parameters() if p.requires_grad}
            if set(tensors) != set(params) or any(tensors[n].shape != params[n].shape for n in params):
                raise ValueError("tensors do not match the network")
            with torch.no_grad():
                for n, p in params.items():
                    p.copy_(tensors[n])
            return {"thresholds": np.asarray(meta["thresholds"], dtype=float), "stats": meta["stats"]}
        except Exception as e:  # noqa: BLE001 - a broken entry is a miss (and dropped), never an error
            log.warning("dropping fit cache entry %s (%s)", folder, e)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def store(self, key: str, net, thresholds: np.ndarray, stats: dict) -> None:
        """Keep the trained top of ``net`` (its trainable parameters), the thresholds and the stats."""
        if self.root is None:
            return
        from safetensors.torch import save_file

        final = self.root / key
        if final.exists():
            return
        tmp = self.root / f".{key}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir(parents=True)
        try:
            save_file({n: p.detach().cpu().contiguous() for n, p in net.named_parameters() if p.requires_grad},
                      str(tmp / "top.safetensors"))
            (tmp / "fit.json").write_text(json.dumps({"key": key, "thresholds": [float(t) for t in thresholds],
                                                      "stats": stats}, ensure_ascii=False, sort_keys=True),
                                          encoding="utf-8")
            os.replace(tmp, final)
        except OSError as e:
            if not final.exists():
                log.warning("could not keep the fit in %s (%s)", final, e)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
