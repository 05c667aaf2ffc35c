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
    """pyvi's CRF tokenizer (the default).

    Output is exactly ``pyvi.ViTokenizer.tokenize``'s; the CRF features are built with
    each syllable's lower-casing and case tests computed once instead of up to five
    times (pyvi's ``word2features``), which segments about 1.3x faster. When pyvi's
    internals differ from what this expects, it falls back to ``ViTokenizer.tokenize``.
    """

    name = "pyvi"

    def __init__(self):
        from pyvi.ViTokenizer import ViTokenizer

        self._tok = ViTokenizer
        self._tagger = getattr(getattr(ViTokenizer, "model", None), "tagger_", None)
        self._bi, self._tri = getattr(ViTokenizer, "bi_grams", None), getattr(ViTokenizer, "tri_grams", None)
        if self._bi is None or self._tri is None or not hasattr(ViTokenizer, "sylabelize"):
            self._tagger = None

    def _features(self, syl: list[str]) -> list[dict]:
        low = [w.lower() for w in syl]
        title = [w.istitle() for w in syl]
        upper = [w.isupper() for w in syl]
        n = len(syl)
        out = []
        for i in range(n):
            f = {"bias": 1.0, "word.lower()": low[i], "word.isupper()": upper[i], "word.istitle()": title[i],
                 "word.isdigit()": syl[i].isdigit()}
            if i > 0:
                f["-1:word.lower()"] = low[i - 1]
                f["-1:word.istitle()"] = title[i - 1]
                f["-1:word.isupper()"] = upper[i - 1]
                f["-1:word.bi_gram()"] = f"{low[i - 1]} {low[i]}" in self._bi
                if i > 1:
                    f["-2:word.tri_gram()"] = f"{low[i - 2]} {low[i - 1]} {low[i]}" in self._tri
            if i < n - 1:
                f["+1:word.lower()"] = low[i + 1]
                f["+1:word.istitle()"] = title[i + 1]
                f["+1:word.isupper()"] = upper[i + 1]
                f["+1:word.bi_gram()"] = f"{low[i]} {low[i + 1]}" in self._bi
                if i < n - 2:
                    f["+2:word.tri_gram()"] = f"{low[i]} {low[i + 1]} {low[i + 2]}" in self._tri
            out.append(f)
        return out

    def tokenize(self, text: str) -> str:
        """``ViTokenizer.tokenize(text)``, computed faster."""
        import string

        if self._tagger is None:
            return self._tok.tokenize(text)
        _, syl = self._tok.sylabelize(text)
        if not syl:
            return text
        labels = self._tagger.tag(self._features(syl))
        parts = [syl[0]]
        punct = string.punctuation
        for i in range(1, len(labels)):
            a, b = syl[i - 1], syl[i]
            joined = (labels[i] == "I_W" and b not in punct and a not in punct and not b[0].isdigit()
                      and not a[0].isdigit() and not (b[0].istitle() and not a[0].istitle()))
            parts.append("_" if joined else " ")
            parts.append(b)
        return "".join(parts)

    def segment(self, text: str) -> str:
        text = normalize(text)
        if not text:
            return ""
        return " ".join(self.tokenize(text).split())


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


#: texts up to this many characters are remembered by :func:`segment_text` (a paragraph is ~100-1,000)
REMEMBER_CHARS = 5_000


@lru_cache(maxsize=1 << 14)
def _remembered(name: str, text: str) -> str:
    return get_segmenter(name).segment(text)


def segment_text(name: str, text: str) -> str:
    """``get_segmenter(name).segment(text)``; the last 16,384 distinct texts of at most
    :data:`REMEMBER_CHARS` characters are remembered, since the re-fits of one evaluation (folds,
    held-out designs, seeds) segment the same paragraphs again (memory stays under ~350 MB)."""
    if len(text) > REMEMBER_CHARS:
        return get_segmenter(name).segment(text)
    return _remembered(name, text)


def check_segmenter(expected: str, actual: str) -> None:
    """Refuse to predict with another segmenter than the model was trained with."""
    if expected != actual:
        raise VistanceError(
            f"segmenter mismatch: the model was trained on text segmented by {expected!r} "
            f"but {actual!r} was requested; predictions would silently lose accuracy"
        )
