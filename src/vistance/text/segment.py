"""Word segmentation behind one interface.

PhoBERT and the word n-gram TF-IDF models read *word-segmented* text, where the
syllables of a multi-syllable word are joined by ``_`` (``Việt_Nam hội_đàm``).
A :class:`Segmenter` turns raw text into that form; its :attr:`name` is stored
with every trained model so prediction uses the same segmenter as training.

Back-ends: ``pyvi`` (default; model in the wheel), ``underthesea`` (model in the
wheel), ``vncorenlp`` (optional, needs the ``py_vncorenlp`` package and a local
model directory) and ``syllable`` (no segmentation: each syllable is a token).
"""
from __future__ import annotations

import os
from functools import lru_cache

from vistance.errors import VistanceError
from vistance.text.normalize import normalize


class Segmenter:
    """Turns normalised text into space-separated words with ``_`` inside words."""

    name = "base"

    def segment(self, text: str) -> str:
        raise NotImplementedError

    def segment_batch(self, texts):
        return [self.segment(t) for t in texts]

    def __call__(self, text: str) -> str:
        return self.segment(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class SyllableSegmenter(Segmenter):
    """No segmentation: normalised text as it is (each syllable a token)."""

    name = "syllable"

    def segment(self, text: str) -> str:
        return " ".join(normalize(text).split())


class PyviSegmenter(Segmenter):
    """pyvi's CRF tokenizer (the default)."""

    name = "pyvi"

    def __init__(self):
        from pyvi import ViTokenizer

        self._tok = ViTokenizer

    def segment(self, text: str) -> str:
        text = normalize(text)
        if not text:
            return ""
        return " ".join(self._tok.tokenize(text).split())


class UnderthesesaSegmenter(Segmenter):
    """underthesea's ``word_tokenize``."""

    name = "underthesea"

    def __init__(self):
        from underthesea import word_tokenize

        self._tok = word_tokenize

    def segment(self, text: str) -> str:
        text = normalize(text)
        if not text:
            return ""
        return " ".join(self._tok(text, format="text").split())


class VnCoreNLPSegmenter(Segmenter):
    """VnCoreNLP's RDRSegmenter (PhoBERT's own); optional.

    Needs ``pip install py_vncorenlp`` and the model files in ``$VNCORENLP_DIR``.
    """

    name = "vncorenlp"

    def __init__(self, save_dir: str | None = None):
        save_dir = save_dir or os.environ.get("VNCORENLP_DIR")
        try:
            import py_vncorenlp  # type: ignore
        except ImportError as e:
            raise VistanceError(
                "segmenter 'vncorenlp' needs the optional package py_vncorenlp "
                "(pip install py_vncorenlp) and its model files; use 'pyvi' or 'underthesea' otherwise"
            ) from e
        if not save_dir or not os.path.isdir(save_dir):
            raise VistanceError(
                "segmenter 'vncorenlp' needs VNCORENLP_DIR pointing at a downloaded VnCoreNLP model folder"
            )
        self._model = py_vncorenlp.VnCoreNLP(annotators=["wseg"], save_dir=save_dir)

    def segment(self, text: str) -> str:
        text = normalize(text)
        if not text:
            return ""
        return " ".join(self._model.word_segment(text))


_BACKENDS = {
    "pyvi": PyviSegmenter,
    "underthesea": UnderthesesaSegmenter,
    "vncorenlp": VnCoreNLPSegmenter,
    "syllable": SyllableSegmenter,
}


@lru_cache(maxsize=None)
def get_segmenter(name: str = "pyvi") -> Segmenter:
    """Return the (cached) segmenter called ``name``: pyvi, underthesea, vncorenlp or syllable."""
    if name not in _BACKENDS:
        raise VistanceError(f"unknown segmenter {name!r}; choose one of {sorted(_BACKENDS)}")
    return _BACKENDS[name]()


def check_segmenter(expected: str, actual: str) -> None:
    """Refuse to predict with another segmenter than the model was trained with."""
    if expected != actual:
        raise VistanceError(
            f"segmenter mismatch: the model was trained on text segmented by {expected!r} "
            f"but {actual!r} was requested; predictions would silently lose accuracy"
        )


def unsegment(text: str) -> str:
    """Undo segmentation: ``Việt_Nam hội_đàm`` -> ``Việt Nam hội đàm``."""
    return text.replace("_", " ")
