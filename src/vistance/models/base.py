"""The model protocol every model type implements, and the decision rule on scores.

A model takes **raw** (unsegmented) text; segmentation, if any, happens inside
the model with the segmenter recorded in its folder.

    model.fit(texts, themes, tones, schema=schema)  # themes: label lists; tones: str; schema: the label set
    scores = model.predict_proba(texts)       # -> Scores (theme probs [n, len(themes)], tone probs [n, len(tones)])
    model.schema                               # the label set (and rules) it learned, saved with it
    model.save(folder); Model.load(folder)    # safe formats + manifest.json, see models/folder.py
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ClassVar, Protocol, Sequence

import numpy as np

from vistance.errors import LabelError, ModelError
from vistance.labels.schema import LabelSchema, default_schema


def fit_schema(schema: LabelSchema | None) -> LabelSchema:
    """The label set a ``fit`` learns: ``schema``, or the packaged default codebook when ``None``
    (a convenience of the Python API; the pipeline always passes the dataset's schema)."""
    return default_schema() if schema is None else schema


def label_arrays(schema: LabelSchema, themes, tones) -> tuple[np.ndarray, np.ndarray]:
    """Theme lists and tone names as a multi-hot ``[n, len(schema.themes)]`` matrix and a vector of
    tone indices, in schema order; a name outside the schema is a :class:`LabelError`."""
    names = schema.theme_names
    known, tone_index = set(names), {t: j for j, t in enumerate(schema.tone_names)}
    for i, ts in enumerate(themes):
        unknown = [t for t in ts if t not in known]
        if unknown:
            raise LabelError(f"row {i}: unknown theme(s) {unknown}; the label set has {', '.join(names)}")
    for i, t in enumerate(tones):
        if t not in tone_index:
            raise LabelError(f"row {i}: unknown tone {t!r}; the label set has {', '.join(schema.tone_names)}")
    Y = np.array([[int(t in set(ts)) for t in names] for ts in themes], dtype=int).reshape(-1, len(names))
    y = np.array([tone_index[t] for t in tones], dtype=int)
    return Y, y


@dataclass
class Scores:
    """Per-paragraph scores: ``themes`` is ``[n, len(schema.themes)]`` independent probabilities,
    ``tone`` is ``[n, len(schema.tones)]`` rows summing to 1, both in schema order.

    ``thresholds``: one per theme (default 0.5). ``schema``: the label set the columns are
    (default: the packaged codebook; a model passes its own).
    """

    themes: np.ndarray
    tone: np.ndarray
    thresholds: np.ndarray | None = None
    schema: LabelSchema | None = None

    def __post_init__(self):
        self.schema = fit_schema(self.schema)
        n_themes, n_tones = len(self.schema.themes), len(self.schema.tones)
        self.themes = np.asarray(self.themes, dtype=float).reshape(-1, n_themes)
        self.tone = np.asarray(self.tone, dtype=float).reshape(-1, n_tones)
        self.thresholds = (np.full(n_themes, 0.5) if self.thresholds is None
                           else np.asarray(self.thresholds, dtype=float))

    def __len__(self) -> int:
        return self.themes.shape[0]

    def theme_matrix(self) -> np.ndarray:
        """Binary ``[n, len(themes)]`` decisions: ``score >= threshold``; at least one theme per row
        (the arg-max when none passes); the schema's catch-all theme (if it has one) is dropped
        when another theme passes."""
        dec = (self.themes >= self.thresholds).astype(int)
        catch_all = self.schema.catch_all
        other = None if catch_all is None else self.schema.theme_names.index(catch_all)
        for i in range(dec.shape[0]):
            if dec[i].sum() == 0:
                dec[i, int(np.argmax(self.themes[i] - self.thresholds))] = 1
            if other is not None and dec[i, other] and dec[i].sum() > 1:
                dec[i, other] = 0
        return dec

    def theme_labels(self) -> list[list[str]]:
        names = self.schema.theme_names
        return [[names[j] for j in np.flatnonzero(row)] for row in self.theme_matrix()]

    def tone_labels(self) -> list[str]:
        names = self.schema.tone_names
        return [names[j] for j in self.tone.argmax(axis=1)]

    def records(self, ids: Sequence[str]) -> list[dict]:
        """Rows in the predict contract: ``{id, themes, tone, scores}``."""
        out = []
        themes, tones = self.theme_labels(), self.tone_labels()
        theme_names, tone_names = self.schema.theme_names, self.schema.tone_names
        for i, pid in enumerate(ids):
            out.append({
                "id": pid, "themes": themes[i], "tone": tones[i],
                "scores": {
                    "themes": {t: round(float(self.themes[i, j]), 6) for j, t in enumerate(theme_names)},
                    "tone": {t: round(float(self.tone[i, j]), 6) for j, t in enumerate(tone_names)},
                },
            })
        return out

    @classmethod
    def concat(cls, parts: Sequence["Scores"], schema: LabelSchema | None = None) -> "Scores":
        """The rows of ``parts`` (one label set) stacked; ``schema`` names the columns when ``parts`` is empty."""
        if not parts:
            schema = fit_schema(schema)
            return cls(np.zeros((0, len(schema.themes))), np.zeros((0, len(schema.tones))), schema=schema)
        return cls(np.vstack([p.themes for p in parts]), np.vstack([p.tone for p in parts]), parts[0].thresholds,
                   parts[0].schema)


def decision_agreement(reference: Scores, other: Scores) -> dict:
    """Share of units on which two :class:`Scores` of the same texts decide alike: the tone arg-max,
    all themes at once, and each theme (:meth:`Scores.theme_matrix`, the model's decision rules)."""
    rt, ot = reference.theme_matrix().astype(bool), other.theme_matrix().astype(bool)
    out = {"tone": float(np.mean(reference.tone.argmax(1) == other.tone.argmax(1))),
           "themes_all": float(np.mean((rt == ot).all(1)))}
    out.update({f"theme:{t}": float(np.mean(rt[:, j] == ot[:, j])) for j, t in enumerate(reference.schema.theme_names)})
    return out


class Model(Protocol):
    """What every model type provides."""

    kind: str

    def fit(self, texts: Sequence[str], themes: Sequence[Sequence[str]], tones: Sequence[str],
            groups: Sequence[str] | None = None, valid: tuple | None = None, *,
            schema: LabelSchema | None = None) -> "Model": ...

    @property
    def schema(self) -> LabelSchema: ...

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

    ``schema`` is the label set a model learned at ``fit`` (``fit(..., schema=...)``) or read
    back at ``load`` (``schema_``); its columns, thresholds and saved manifest follow it.
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

    def uncached(self):
        """A context in which ``predict_proba`` reads and writes no cache of earlier results (so a timed
        prediction costs what it costs on new text); a kind with such a cache overrides it."""
        return contextlib.nullcontext()

    @classmethod
    def checkpoint_of(cls, spec: dict) -> str | None:
        """The base checkpoint a parameter ``spec`` starts from (for the card); ``None`` if none."""
        return None

    schema_: LabelSchema | None = None

    @property
    def schema(self) -> LabelSchema:
        """The label set (and rules) learned at ``fit`` or read at ``load``."""
        if self.schema_ is None:
            raise ModelError(f"this {self.kind} model is not fitted: it has no label set yet")
        return self.schema_

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
