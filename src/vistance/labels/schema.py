"""The label schema: a codebook file (``labels.codebook`` in params.yaml) loaded into one value.

    from vistance.labels.schema import LabelSchema, default_schema
    schema = LabelSchema.from_file("src/vistance/data/codebook.yaml")
    schema.themes, schema.tones, schema.check_themes(names), schema.themes_to_vector([...])

No module names a theme or a tone: the names, their order (the column order of every model), the
catch-all theme, the "friction wins" precedence, the no-signal tone and the cooperation index's poles
are data. :func:`default_schema` is the packaged default codebook (``vistance/data/codebook.yaml``);
a pipeline passes the schema its params name down to every stage, and a fitted model saves its label
set (:mod:`vistance.models.folder`), so predictions and cards read the labels from the model.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vistance.errors import ConfigError, LabelError
from vistance.io import safe_load_yaml

#: the packaged default codebook
DEFAULT_CODEBOOK = "codebook.yaml"
MAX_CODEBOOK_BYTES = 256 * 1024


class Poles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    positive: str
    negative: str


class LabelSchema(BaseModel):
    """Themes (multi-label) and tones (one per unit) of a codebook, with the rules code needs.

    ``themes`` / ``tones`` map each name to a one-line description, in column order.
    ``catch_all``: the theme given only alone (optional). ``precedence``: tones in the order that
    decides when several apply ("friction wins"; default: the order of ``tones``). ``no_signal``: the
    tone of a unit without any cue (optional). ``poles``: the tones whose share difference is the
    cooperation index (optional: no index without them).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "codebook"
    version: Optional[str] = None
    themes: dict[str, str]
    tones: dict[str, str]
    catch_all: Optional[str] = None
    precedence: Optional[tuple[str, ...]] = None
    no_signal: Optional[str] = None
    poles: Optional[Poles] = None
    source: Optional[str] = Field(None, exclude=True)   # the file it was read from (error messages)

    @model_validator(mode="after")
    def _consistent(self):
        for kind, names in (("theme", self.themes), ("tone", self.tones)):
            if not names:
                raise ValueError(f"a codebook needs at least one {kind}")
            bad = [n for n in names if not isinstance(n, str) or not n.strip() or n != n.strip()]
            if bad:
                raise ValueError(f"{kind} names must be non-empty strings without surrounding spaces: {bad}")
        if len(self.tones) < 2:
            raise ValueError("a codebook needs at least two tones")
        if self.catch_all is not None and self.catch_all not in self.themes:
            raise ValueError(f"catch_all {self.catch_all!r} is not a theme ({', '.join(self.themes)})")
        tones = set(self.tones)
        if self.precedence is not None and (set(self.precedence) != tones or len(self.precedence) != len(tones)):
            raise ValueError(f"precedence must list every tone once: {', '.join(self.tones)}")
        if self.no_signal is not None and self.no_signal not in tones:
            raise ValueError(f"no_signal {self.no_signal!r} is not a tone ({', '.join(self.tones)})")
        if self.poles is not None:
            for p in (self.poles.positive, self.poles.negative):
                if p not in tones:
                    raise ValueError(f"pole {p!r} is not a tone ({', '.join(self.tones)})")
            if self.poles.positive == self.poles.negative:
                raise ValueError("the two poles must be different tones")
        return self

    # -- the label set -------------------------------------------------------------------------
    @property
    def theme_names(self) -> tuple[str, ...]:
        return tuple(self.themes)

    @property
    def tone_names(self) -> tuple[str, ...]:
        return tuple(self.tones)

    @property
    def tone_precedence(self) -> tuple[str, ...]:
        return tuple(self.precedence) if self.precedence else self.tone_names

    @property
    def signal_tones(self) -> tuple[str, ...]:
        """The tones other than ``no_signal`` (those a cue can point to)."""
        return tuple(t for t in self.tones if t != self.no_signal)

    @property
    def policy_themes(self) -> tuple[str, ...]:
        """The themes other than the catch-all."""
        return tuple(t for t in self.themes if t != self.catch_all)

    def label_set(self) -> dict[str, list[str]]:
        """``{"themes": [...], "tones": [...]}``: what a model learns and saves."""
        return {"themes": list(self.themes), "tones": list(self.tones)}

    def rules(self) -> dict:
        """The label set and the rules (what a model saves beside its weights)."""
        return self.model_dump(mode="json", exclude={"name", "version", "themes", "tones", "source"},
                               exclude_none=True) | self.label_set()

    def digest(self) -> str:
        """SHA-1 of the label set and rules (not the descriptions): equal digests, same columns."""
        return hashlib.sha1(json.dumps(self.rules(), sort_keys=True).encode()).hexdigest()

    def same_labels(self, themes, tones) -> bool:
        return list(themes) == list(self.themes) and list(tones) == list(self.tones)

    def require_labels(self, themes, tones, what: str) -> None:
        """Refuse ``what`` (a model, a dataset) whose label set differs, naming both lists."""
        if not self.same_labels(themes, tones):
            raise LabelError(
                f"{what} has labels themes [{', '.join(themes)}], tones [{', '.join(tones)}]; the codebook"
                f"{' ' + self.source if self.source else ''} has themes [{', '.join(self.themes)}], "
                f"tones [{', '.join(self.tones)}] (retrain it, or use its codebook)")

    # -- checks ------------------------------------------------------------------------------
    def check_themes(self, themes, where: str = "") -> list[str]:
        """Validate a theme list: non-empty, known names, no repeats, the catch-all only alone.

        Returns the themes in schema order.
        """
        prefix = f"{where}: " if where else ""
        if not isinstance(themes, (list, tuple)) or not themes:
            raise LabelError(f"{prefix}themes must be a non-empty list, got {themes!r}")
        unknown = [t for t in themes if t not in self.themes]
        if unknown:
            raise LabelError(f"{prefix}unknown theme(s) {unknown}; allowed: {', '.join(self.themes)}")
        if len(set(themes)) != len(themes):
            raise LabelError(f"{prefix}repeated theme in {list(themes)}")
        if self.catch_all is not None and self.catch_all in themes and len(themes) > 1:
            raise LabelError(f"{prefix}{self.catch_all!r} cannot be combined with another theme: {list(themes)}")
        return [t for t in self.themes if t in themes]

    def check_tone(self, tone, where: str = "") -> str:
        prefix = f"{where}: " if where else ""
        if not isinstance(tone, str) or tone not in self.tones:
            raise LabelError(f"{prefix}unknown tone {tone!r}; allowed: {', '.join(self.tones)}")
        return tone

    def themes_to_vector(self, themes) -> list[int]:
        """Multi-hot vector in schema order."""
        s = set(themes)
        return [int(t in s) for t in self.themes]

    def decide_tone(self, present) -> str | None:
        """The tone that wins among ``present`` (precedence order), ``None`` when none is."""
        present = set(present)
        return next((t for t in self.tone_precedence if t in present), None)

    # -- files -------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path) -> "LabelSchema":
        """Read a codebook YAML file; every problem is a one-line :class:`ConfigError`."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no codebook file (params.yaml labels.codebook)")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CODEBOOK_BYTES + 1)
        if len(raw) > MAX_CODEBOOK_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CODEBOOK_BYTES} bytes; not a codebook")
        return cls.from_dict(safe_load_yaml(raw, path) or {}, str(path))

    @classmethod
    def from_dict(cls, raw, source: str | None = None) -> "LabelSchema":
        where = source or "codebook"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping at the top level")
        raw = dict(raw)
        for key in ("themes", "tones"):   # a plain list of names is allowed too (no descriptions)
            if isinstance(raw.get(key), list):
                raw[key] = {str(n): "" for n in raw[key]}
            elif isinstance(raw.get(key), dict):
                raw[key] = {k: "" if v is None else v for k, v in raw[key].items()}
        try:
            return cls.model_validate({**raw, "source": source})
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            raise ConfigError(f"{where}: {loc}: {err['msg'].removeprefix('Value error, ')}") from None

    @classmethod
    def from_labels(cls, themes, tones, **rules) -> "LabelSchema":
        """A schema from a saved label set (a model's manifest, a dataset's features)."""
        return cls.from_dict({"themes": list(themes), "tones": list(tones), **rules})

    def __hash__(self):
        return hash(self.digest())


@functools.lru_cache(maxsize=1)
def default_schema() -> LabelSchema:
    """The packaged default codebook (``vistance/data/codebook.yaml``)."""
    ref = resources.files("vistance").joinpath("data", DEFAULT_CODEBOOK)
    with resources.as_file(ref) as path:
        return LabelSchema.from_file(path)


def load_schema(path=None) -> LabelSchema:
    """The codebook at ``path`` (``None``: the packaged default)."""
    return default_schema() if path is None else LabelSchema.from_file(path)


@dataclass
class Label:
    """One judgement of one paragraph (gold when a person made it, silver otherwise)."""

    paragraph_id: str
    text_sha1: str
    themes: list[str]
    tone: str
    annotator: str
    annotated_at: str
    note: str | None = None
    codebook: str | None = None  # the codebook version the judgement followed (labels/CODEBOOK.md)
    suggested: bool | None = None  # True: the annotator was shown a model's suggestion (pre-annotation)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("note", "codebook", "suggested"):
            if d[key] is None:
                d.pop(key)
        return d


def check_themes(themes, where: str = "", schema: LabelSchema | None = None) -> list[str]:
    """:meth:`LabelSchema.check_themes` of ``schema`` (default: :func:`default_schema`)."""
    return (schema or default_schema()).check_themes(themes, where)


def check_tone(tone, where: str = "", schema: LabelSchema | None = None) -> str:
    return (schema or default_schema()).check_tone(tone, where)


def label_from_dict(d: dict, where: str = "", schema: LabelSchema | None = None) -> Label:
    """Build a validated :class:`Label` from a JSON object."""
    prefix = f"{where}: " if where else ""
    if not isinstance(d, dict):
        raise LabelError(f"{prefix}expected a JSON object, got {type(d).__name__}")
    missing = [k for k in ("paragraph_id", "text_sha1", "themes", "tone", "annotator") if k not in d]
    if missing:
        raise LabelError(f"{prefix}missing field(s) {missing}")
    for k in ("paragraph_id", "text_sha1", "annotator"):
        if not isinstance(d[k], str) or not d[k]:
            raise LabelError(f"{prefix}{k} must be a non-empty string")
    if len(d["text_sha1"]) != 40 or any(c not in "0123456789abcdef" for c in d["text_sha1"]):
        raise LabelError(f"{prefix}text_sha1 must be 40 lowercase hex digits, got {d['text_sha1']!r}")
    at = d.get("annotated_at") or ""
    if at:
        try:
            _dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        except ValueError:
            raise LabelError(f"{prefix}annotated_at {at!r} is not an ISO-8601 time") from None
    return Label(
        paragraph_id=d["paragraph_id"], text_sha1=d["text_sha1"],
        themes=check_themes(d["themes"], where, schema), tone=check_tone(d["tone"], where, schema),
        annotator=d["annotator"], annotated_at=str(at), note=d.get("note"),
        codebook=str(d["codebook"]) if d.get("codebook") is not None else None,
        suggested=_suggested(d.get("suggested"), prefix),
    )


def _suggested(value, prefix: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise LabelError(f"{prefix}suggested must be true or false, got {value!r}")


def themes_to_vector(themes, schema: LabelSchema | None = None) -> list[int]:
    """Multi-hot vector in schema order."""
    return (schema or default_schema()).themes_to_vector(themes)
