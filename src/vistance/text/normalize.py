"""Unicode NFC, consistent tone-mark placement, and clean-up of invisible characters.

Vietnamese text mixes two tone-mark conventions for the syllable-final clusters
``oa``, ``oe`` and ``uy``: "old style" puts the mark on the last vowel (``hoà``,
``thuỷ``) and "new style" on the first (``hòa``, ``thủy``). Both render alike but
hash, tokenise and count differently, so :func:`normalize` rewrites every
open syllable to the new style, which is the one most Vietnamese news uses.
Closed syllables (``hoàn``, ``khuyến``) and ``qu`` + ``y`` (``quý``) are left alone.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
# NFD: o + (a|e) + tone, at the end of a syllable -> o + tone + (a|e)
_OLD_OA = re.compile(rf"([oO])([aAeE])([{_TONES}])(?![^\W\d_])")
# NFD: u + y + tone at syllable end, but not after q (quý is correct either way)
_OLD_UY = re.compile(rf"(?<![qQ])([uU])([yY])([{_TONES}])(?![^\W\d_])")
# zero-width characters, every bidi control (LRM/RLM U+200E/F, embeddings and overrides U+202A-E,
# isolates U+2066-9, the Arabic letter mark U+061C), word joiner and invisible operators, soft hyphen, BOM
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalize_tone_marks(text: str) -> str:
    """Move tone marks of open ``oa``/``oe``/``uy`` syllables to the new-style position."""
    nfd = unicodedata.normalize("NFD", text)
    nfd = _OLD_OA.sub(r"\1\3\2", nfd)
    nfd = _OLD_UY.sub(r"\1\3\2", nfd)
    return unicodedata.normalize("NFC", nfd)


def normalize(text: str) -> str:
    """Return ``text`` in NFC with new-style tone marks, no invisible/control characters,
    and runs of horizontal white space folded to one space (newlines are kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    text = normalize_tone_marks(text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def text_sha1(text: str) -> str:
    """SHA-1 of the normalised text: the key that ties a label to the exact text it judged."""
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()
