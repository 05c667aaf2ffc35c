"""Models behind one protocol: lexicon, TF-IDF + linear, transformer (PhoBERT-style)."""
from __future__ import annotations

from pathlib import Path

from vistance.models.base import Model, Scores
from vistance.models.folder import read_manifest

# kind -> "module:Class"; a new model type is one file plus one line here.
REGISTRY = {
    "lexicon": "vistance.models.lexicon:LexiconModel",
    "tfidf": "vistance.models.tfidf:TfidfModel",
    "transformer": "vistance.models.transformer:TransformerModel",
    "embedding": "vistance.models.embedding:EmbeddingModel",
    "ensemble": "vistance.models.ensemble:EnsembleModel",
}


def model_class(kind: str):
    import importlib

    if kind not in REGISTRY:
        from vistance.errors import ModelError

        raise ModelError(f"unknown model kind {kind!r}; known: {sorted(REGISTRY)}")
    mod, cls = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(mod), cls)


def load_model(folder) -> Model:
    """Load any saved model folder (verified against its manifest first)."""
    manifest = read_manifest(Path(folder))
    return model_class(manifest["kind"]).load(folder)


def build_model(kind: str, **params) -> Model:
    return model_class(kind)(**params)


__all__ = ["Model", "Scores", "REGISTRY", "model_class", "load_model", "build_model"]
