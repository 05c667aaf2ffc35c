"""Fixtures shared by the transformer, pretraining and segmenter tests (imported explicitly).

Everything runs offline on tiny models: a PhoBERT-shaped checkpoint with hidden
size 32, one layer, 64-subword windows, built from the ~50 seed paragraphs.
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from vistance.labels.schema import default_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "data" / "raw"
MAX_LENGTH = 64  # subwords per window in tests (with <s> and </s>)
TINY = dict(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_length=MAX_LENGTH)

# keyword -> theme, for synthetic but not arbitrary training labels
_KEYWORDS = [
    ("biển", "maritime"), ("kinh tế", "economy_trade"), ("thương mại", "economy_trade"),
    ("đầu tư", "economy_trade"), ("hạ tầng", "infrastructure"), ("đường sắt", "infrastructure"),
    ("công nghệ", "science_technology"), ("quốc phòng", "defense_security"), ("an ninh", "defense_security"),
    ("giáo dục", "people_culture_education"), ("văn hóa", "people_culture_education"),
    ("ASEAN", "multilateral_global"), ("Liên hợp quốc", "multilateral_global"),
]


def synthetic_labels(texts):
    """Deterministic theme lists (keyword rules, ``political_relations`` otherwise) and tones (round-robin)."""
    themes = []
    for t in texts:
        found = sorted({theme for kw, theme in _KEYWORDS if kw.lower() in t.lower()})
        themes.append(found or ["political_relations"])
    names = default_schema().tone_names
    tones = [names[i % len(names)] for i in range(len(texts))]
    return themes, tones


@pytest.fixture(scope="module", autouse=True)
def single_torch_thread():
    """One torch thread: tiny models are faster that way and do not fight other processes for 2 cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def seed_texts() -> list[str]:
    from vistance.corpus import ingest_paths

    if not SEED_DIR.is_dir():
        pytest.skip(f"seed paragraphs not found at {SEED_DIR}")
    texts = [p.text for p in ingest_paths([str(SEED_DIR)])]
    assert len(texts) >= 20, "the seed corpus should give a few dozen paragraphs"
    return texts


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, seed_texts) -> Path:
    """A tiny randomly initialised PhoBERT-shaped checkpoint folder (pyvi segmentation)."""
    from vistance.checkpoints.phobert import build_tiny_checkpoint

    return build_tiny_checkpoint(seed_texts, tmp_path_factory.mktemp("tiny-phobert"), segmenter="pyvi", seed=0, **TINY)


@pytest.fixture(scope="session")
def long_paragraph(seed_texts) -> str:
    """Several seed paragraphs glued together: far longer than one 64-subword window."""
    return " ".join(seed_texts[:6])
