"""The model protocol every model type implements, and the decision rule on scores.

A model takes **raw** (unsegmented) text; segmentation, if any, happens inside
the model with the segmenter recorded in its folder.

    model.fit(texts, themes, tones)           # themes: list of label lists; tones: list of str
    scores = model.predict_proba(texts)       # -> Scores (theme probs [n, 9], tone probs [n, 3])
    model.save(folder); Model.load(folder)    # safe formats + manifest.json, see models/folder.py
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Sequence

import numpy as np

from vistance.labels.schema import OTHER, THEMES, TONES


@dataclass
class Scores:
    """Per-paragraph scores: ``themes`` is ``[n, len(THEMES)]`` independent probabilities,
    ``tone`` is ``[n, len(TONES)]`` rows summing to 1, both in schema order."""

    themes: np.ndarray
    tone: np.ndarray
    thresholds: np.ndarray = field(default_factory=lambda: np.full(len(THEMES), 0.5))

    def __post_init__(self):
        self.themes = np.asarray(self.themes, dtype=float).reshape(-1, len(THEMES))
        self.tone = np.asarray(self.tone, dtype=float).reshape(-1, len(TONES))
        self.thresholds = np.asarray(self.thresholds, dtype=float)

    def __len__(self) -> int:
        return self.themes.shape[0]

    def theme_matrix(self) -> np.ndarray:
        """Binary ``[n, 9]`` decisions: ``score >= threshold``; at least one theme per row
        (the arg-max when none passes); ``other`` is dropped when a real theme passes."""
        dec = (self.themes >= self.thresholds).astype(int)
        other = THEMES.index(OTHER)
        for i in range(dec.shape[0]):
            if dec[i].sum() == 0:
                dec[i, int(np.argmax(self.themes[i] - self.thresholds))] = 1
            if dec[i, other] and dec[i].sum() > 1:
                dec[i, other] = 0
        return dec

    def theme_labels(self) -> list[list[str]]:
        return [[THEMES[j] for j in np.flatnonzero(row)] for row in self.theme_matrix()]

    def tone_labels(self) -> list[str]:
        return [TONES[j] for j in self.tone.argmax(axis=1)]

    def records(self, ids: Sequence[str]) -> list[dict]:
        """Rows in the predict contract: ``{id, themes, tone, scores}``."""
        out = []
        themes, tones = self.theme_labels(), self.tone_labels()
        for i, pid in enumerate(ids):
            out.append({
                "id": pid, "themes": themes[i], "tone": tones[i],
                "scores": {
                    "themes": {t: round(float(self.themes[i, j]), 6) for j, t in enumerate(THEMES)},
                    "tone": {t: round(float(self.tone[i, j]), 6) for j, t in enumerate(TONES)},
                },
            })
        return out

    @classmethod
    def concat(cls, parts: Sequence["Scores"]) -> "Scores":
        if not parts:
            return cls(np.zeros((0, len(THEMES))), np.zeros((0, len(TONES))))
        return cls(np.vstack([p.themes for p in parts]), np.vstack([p.tone for p in parts]), parts[0].thresholds)


class Model(Protocol):
    """What every model type provides."""

    kind: str

    def fit(self, texts: Sequence[str], themes: Sequence[Sequence[str]], tones: Sequence[str],
            groups: Sequence[str] | None = None, valid: tuple | None = None) -> "Model": ...

    def predict_proba(self, texts: Sequence[str]) -> Scores: ...

    def save(self, folder) -> None: ...

    @classmethod
    def load(cls, folder) -> "Model": ...


class ModelBase:
    """What a model kind declares about itself (class attributes), with safe defaults.

    Code outside ``vistance.models`` asks these instead of testing ``kind`` names, so a
    new kind is one file plus one :data:`~vistance.models.REGISTRY` line:

    ``kind``                registry key, written to the folder manifest (required)
    ``stochastic``          results move with the seed (evaluation runs seed variance by default)
    ``seeded``              the constructor takes ``seed`` (training passes the pipeline seed)
    ``baseline``            a baseline that the other models are tested against in ``compare``
    ``needs_segmentation``  word-segments raw text inside, with its ``segmenter`` parameter
    ``can_explain``         has ``explain(text, k=5) -> dict`` (``predict --explain``)
    ``fork_safe``           ``predict_proba`` may run in forked worker processes (CPU only,
                            no threads or GPU state of its own)
    ``uses_validation``     ``fit`` uses ``valid`` (early stopping, thresholds); a kind without it
                            is fitted on the validation rows too where a design offers both
    ``card_text``           completes "This model is …" on its model card
    ``library_name``        the Hugging Face card's ``library_name``

    ``Params`` is a pydantic model (``extra="forbid"``) of the constructor's keyword
    arguments, built from ``__init__``'s signature (defaults live there only) unless the
    class defines its own ``Params``.
    """

    kind: ClassVar[str] = ""
    stochastic: ClassVar[bool] = False
    seeded: ClassVar[bool] = True
    baseline: ClassVar[bool] = False
    needs_segmentation: ClassVar[bool] = False
    can_explain: ClassVar[bool] = False
    fork_safe: ClassVar[bool] = False
    uses_validation: ClassVar[bool] = False
    card_text: ClassVar[str] = "a vistance model"
    library_name: ClassVar[str | None] = None
    Params: ClassVar[type]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "Params" not in cls.__dict__:
            cls.Params = params_model(cls)

    @classmethod
    def checkpoint_of(cls, spec: dict) -> str | None:
        """The base checkpoint a parameter ``spec`` starts from (for the card); ``None`` if none."""
        return None

    def _keep_params(self, arguments: dict) -> None:
        """Store each constructor argument as the attribute of the same name (scikit-learn's
        convention); ``__init__`` calls ``self._keep_params(locals())``."""
        for name in type(self).Params.model_fields:
            setattr(self, name, arguments[name])

    def get_params(self, deep: bool = False) -> dict:
        """The constructor's keyword arguments as set, in signature order (what a saved folder records)."""
        return {name: getattr(self, name) for name in type(self).Params.model_fields}


def params_model(cls) -> type:
    """A pydantic model (``extra="forbid"``) of ``cls.__init__``'s keyword parameters."""
    import inspect
    import typing

    from pydantic import ConfigDict, create_model

    init = cls.__init__
    if init is object.__init__:
        return create_model(f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid", protected_namespaces=()))
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001 - an unresolvable annotation only loses type checking
        hints = {}
    fields = {}
    for name, p in inspect.signature(init).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = ... if p.default is p.empty else p.default
        fields[name] = (hints.get(name, typing.Any), default)
    return create_model(f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid", protected_namespaces=()), **fields)
