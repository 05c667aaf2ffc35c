"""Vietnamese text handling: normalisation and word segmentation, kept in one place."""
from vistance.text.normalize import normalize, text_sha1
from vistance.text.segment import Segmenter, get_segmenter

__all__ = ["normalize", "text_sha1", "Segmenter", "get_segmenter"]
