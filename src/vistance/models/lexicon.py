"""Lexicon baseline: cue lists per theme and tone (``vistance/data/lexicon.json``).

Theme score ``1 - exp(-hits)`` (one cue -> 0.63, above the 0.5 threshold);
tone: contentious cues win over cooperative cues ("friction wins"), no cue ->
neutral. ``fit`` learns nothing but the fallback theme (the most frequent one),
so the baseline shows how far cue words alone go.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import numpy as np

from vistance.labels.schema import OTHER, THEMES, TONES
from vistance.models.base import ModelBase, Scores
from vistance.models.folder import listed_json, read_manifest, write_manifest
from vistance.text.normalize import normalize


def load_lexicon(path=None) -> dict:
    if path is None:
        return json.loads(resources.files("vistance.data").joinpath("lexicon.json").read_text(encoding="utf-8"))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _compile(cues: list[str]) -> re.Pattern:
    alts = sorted({re.escape(normalize(c).lower()) for c in cues}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])") if alts else re.compile(r"(?!x)x")


class LexiconModel(ModelBase):
    """Cue-word counts -> theme and tone scores."""

    kind = "lexicon"
    seeded = False
    baseline = True
    fork_safe = True
    library_name = "sklearn"
    card_text = ("a lexicon baseline: hand-written cue lists per theme and tone (`vistance/data/lexicon.json`), "
                 "no learning")

    def __init__(self, lexicon_path: str | None = None):
        self.lexicon_path = lexicon_path

    def _patterns(self, lex: dict | None = None):
        lex = load_lexicon(self.lexicon_path) if lex is None else lex
        self.lexicon_ = lex
        self.theme_patterns_ = {t: _compile(lex["themes"].get(t, [])) for t in THEMES if t != OTHER}
        self.tone_patterns_ = {t: _compile(lex["tone"].get(t, [])) for t in ("contentious", "cooperative")}

    def fit(self, texts, themes, tones, groups=None, valid=None):
        self._patterns()
        return self

    def hits(self, text: str) -> dict:
        if not hasattr(self, "theme_patterns_"):
            self._patterns()
        t = normalize(text).lower()
        return {
            "themes": {k: len(p.findall(t)) for k, p in self.theme_patterns_.items()},
            "tone": {k: len(p.findall(t)) for k, p in self.tone_patterns_.items()},
        }

    def predict_proba(self, texts, batch_size: int | None = None) -> Scores:
        th = np.zeros((len(texts), len(THEMES)))
        to = np.zeros((len(texts), len(TONES)))
        for i, text in enumerate(texts):
            h = self.hits(text)
            for k, n in h["themes"].items():
                th[i, THEMES.index(k)] = 1 - np.exp(-n)
            th[i, THEMES.index(OTHER)] = 0.6 if not any(h["themes"].values()) else 0.0
            c, k = h["tone"]["contentious"], h["tone"]["cooperative"]
            logits = np.array([0.8 * k, 2.0 * c, 0.5])  # cooperative, contentious, neutral
            e = np.exp(logits - logits.max())
            to[i] = e / e.sum()
        return Scores(th, to)

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lexicon.json").write_text(json.dumps(load_lexicon(self.lexicon_path), ensure_ascii=False, indent=1), encoding="utf-8")
        write_manifest(folder, self.kind, segmenter=None, params={})

    @classmethod
    def load(cls, folder) -> "LexiconModel":
        """The lexicon the manifest lists, read once and checked against its checksum (no other file)."""
        manifest = read_manifest(folder)
        lex = listed_json(folder, manifest, "lexicon.json")
        _check_lexicon(lex, Path(folder) / "lexicon.json")
        m = cls(lexicon_path=str(Path(folder) / "lexicon.json"))
        m._patterns(lex)
        return m


def _check_lexicon(lex, where) -> None:
    """A lexicon is ``{"themes": {theme: [cue, ...]}, "tone": {tone: [cue, ...]}}``; else one ModelError."""
    from vistance.errors import ModelError

    for part in ("themes", "tone"):
        block = lex.get(part) if isinstance(lex, dict) else None
        if not isinstance(block, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in block.values()):
            raise ModelError(f"{where}: '{part}' must be an object of label -> list of cue strings")
