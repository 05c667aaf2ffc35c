"""Shared test setup: offline Hugging Face, the bundled seed corpus, small label sets."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "raw"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def seed_paragraphs():
    from vistance.corpus import ingest_paths

    return list(ingest_paths([SEEDS]))


def make_label(p, themes, tone, annotator="t"):
    from vistance.labels.schema import Label

    return Label(paragraph_id=p.paragraph_id, text_sha1=p.text_sha1, themes=list(themes), tone=tone,
                 annotator=annotator, annotated_at="2026-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def lexicon_folder(tmp_path_factory):
    """A saved lexicon model folder (no training data needed): the cheapest real model to predict with."""
    from vistance.models.lexicon import LexiconModel

    out = tmp_path_factory.mktemp("lexicon")
    LexiconModel().fit([], [], []).save(out)
    return out
