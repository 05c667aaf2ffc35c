"""Models behind one protocol: lexicon, TF-IDF + linear, frozen embeddings, transformer, ensemble.

A model learns its label set at ``fit(..., schema=...)`` and saves it; :func:`load_model` reads any
label set back (``model.schema``), and :func:`~vistance.models.folder.check_model_labels` refuses a
model whose labels differ from a dataset's or codebook's.
"""
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
    """Load any saved model folder (verified against its manifest first), with the label set it learned."""
    manifest = read_manifest(Path(folder))
    return model_class(manifest["kind"]).load(folder)


def build_model(kind: str, **params) -> Model:
    return model_class(kind)(**params)


__all__ = ["Model", "Scores", "REGISTRY", "model_class", "load_model", "build_model"]
