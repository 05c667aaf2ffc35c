"""Lexicon baseline: cue lists per theme and tone (``vistance/data/lexicon.json``).

The lexicon keys each cue list by the label it serves (``{"themes": {theme: [cue, ...]},
"tone": {tone: [cue, ...]}}``); every rule comes from the label schema, never from a name:

- theme score ``1 - exp(-hits)`` (one cue -> 0.63, above the 0.5 threshold) for every theme but
  the catch-all; the catch-all (if the schema has one) scores 0.6 when no theme cue is found;
- tone logits: :data:`FRICTION_WEIGHT` per cue of the signal tone first in the schema's
  precedence ("friction wins"), :data:`CUE_WEIGHT` per cue of any other signal tone, plus
  :data:`FALLBACK_LOGIT` for the fallback tone (``no_signal``, else the first tone), then a softmax.

Cues for labels the schema lacks are ignored; a label without cues never fires, so another codebook
needs no lexicon (every paragraph then gets the fallback tone and the arg-max theme rule).
``fit`` learns nothing but the label set, so the baseline shows how far cue words alone go.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import numpy as np

from vistance.labels.schema import LabelSchema, default_schema
from vistance.models.base import ModelBase, Scores
from vistance.models.folder import listed_json, manifest_schema, read_manifest, write_manifest
from vistance.text.normalize import normalize

#: tone logit per cue of the first signal tone in precedence, of any other signal tone;
#: the fallback tone's constant logit; the catch-all theme's score when no theme cue is found
FRICTION_WEIGHT, CUE_WEIGHT, FALLBACK_LOGIT, CATCH_ALL_SCORE = 2.0, 0.8, 0.5, 0.6


def load_lexicon(path=None) -> dict:
    if path is None:
        return json.loads(resources.files("vistance.data").joinpath("lexicon.json").read_text(encoding="utf-8"))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _compile(cues: list[str]) -> re.Pattern:
    alts = sorted({re.escape(normalize(c).lower()) for c in cues}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alts) + r")(?![\w])") if alts else re.compile(r"(?!x)x")


def tone_rule(schema: LabelSchema) -> tuple[np.ndarray, np.ndarray]:
    """``(weights, bias)`` of the tone logits in schema order: logit = weight * cue hits + bias."""
    names = schema.tone_names
    signal = [t for t in schema.tone_precedence if t != schema.no_signal]
    weights = np.array([0.0 if t not in signal else FRICTION_WEIGHT if t == signal[0] else CUE_WEIGHT
                        for t in names])
    bias = np.zeros(len(names))
    bias[names.index(schema.no_signal or names[0])] = FALLBACK_LOGIT
    return weights, bias


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

    @property
    def schema(self) -> LabelSchema:
        """The label set of ``fit``/``load``; the packaged codebook's before (the lexicon needs no fit)."""
        return default_schema() if self.schema_ is None else self.schema_

    def _patterns(self, lex: dict | None = None):
        lex = load_lexicon(self.lexicon_path) if lex is None else lex
        schema = self.schema
        self.lexicon_ = lex
        themes, tones = lex.get("themes") or {}, lex.get("tone") or {}
        self.theme_patterns_ = {t: _compile(themes.get(t, [])) for t in schema.policy_themes}
        self.tone_patterns_ = {t: _compile(tones.get(t, [])) for t in schema.signal_tones}

    def fit(self, texts, themes, tones, groups=None, valid=None, *, schema: LabelSchema | None = None):
        self.schema_ = schema
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
        schema = self.schema
        theme_names, tone_names = schema.theme_names, schema.tone_names
        weights, bias = tone_rule(schema)
        th = np.zeros((len(texts), len(theme_names)))
        to = np.zeros((len(texts), len(tone_names)))
        for i, text in enumerate(texts):
            h = self.hits(text)
            for k, n in h["themes"].items():
                th[i, theme_names.index(k)] = 1 - np.exp(-n)
            if schema.catch_all is not None:
                th[i, theme_names.index(schema.catch_all)] = CATCH_ALL_SCORE if not any(h["themes"].values()) else 0.0
            counts = np.array([h["tone"].get(t, 0) for t in tone_names], dtype=float)
            logits = weights * counts + bias
            e = np.exp(logits - logits.max())
            to[i] = e / e.sum()
        return Scores(th, to, schema=schema)

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "lexicon.json").write_text(json.dumps(load_lexicon(self.lexicon_path), ensure_ascii=False, indent=1), encoding="utf-8")
        write_manifest(folder, self.kind, segmenter=None, params={}, schema=self.schema)

    @classmethod
    def load(cls, folder) -> "LexiconModel":
        """The lexicon the manifest lists, read once and checked against its checksum (no other file)."""
        manifest = read_manifest(folder)
        lex = listed_json(folder, manifest, "lexicon.json")
        _check_lexicon(lex, Path(folder) / "lexicon.json")
        m = cls(lexicon_path=str(Path(folder) / "lexicon.json"))
        m.schema_ = manifest_schema(manifest, folder)
        m._patterns(lex)
        return m


def _check_lexicon(lex, where) -> None:
    """A lexicon is ``{"themes": {theme: [cue, ...]}, "tone": {tone: [cue, ...]}}`` (either part may be
    absent); else one ModelError."""
    from vistance.errors import ModelError

    for part in ("themes", "tone"):
        block = lex.get(part, {}) if isinstance(lex, dict) else None
        if not isinstance(block, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in block.values()):
            raise ModelError(f"{where}: '{part}' must be an object of label -> list of cue strings")
