"""The label schema: the one place that lists the theme and tone names."""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass

from vistance.errors import LabelError

THEMES: tuple[str, ...] = (
    "maritime",
    "economy_trade",
    "infrastructure",
    "science_technology",
    "defense_security",
    "political_relations",
    "people_culture_education",
    "multilateral_global",
    "other",
)
TONES: tuple[str, ...] = ("cooperative", "contentious", "neutral")
OTHER = "other"


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


def check_themes(themes, where: str = "") -> list[str]:
    """Validate a theme list: non-empty, known names, no repeats, ``other`` only alone.

    Returns the themes in schema order.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(themes, (list, tuple)) or not themes:
        raise LabelError(f"{prefix}themes must be a non-empty list, got {themes!r}")
    unknown = [t for t in themes if t not in THEMES]
    if unknown:
        raise LabelError(f"{prefix}unknown theme(s) {unknown}; allowed: {', '.join(THEMES)}")
    if len(set(themes)) != len(themes):
        raise LabelError(f"{prefix}repeated theme in {list(themes)}")
    if OTHER in themes and len(themes) > 1:
        raise LabelError(f"{prefix}'other' cannot be combined with another theme: {list(themes)}")
    return [t for t in THEMES if t in themes]


def check_tone(tone, where: str = "") -> str:
    prefix = f"{where}: " if where else ""
    if tone not in TONES:
        raise LabelError(f"{prefix}unknown tone {tone!r}; allowed: {', '.join(TONES)}")
    return tone


def label_from_dict(d: dict, where: str = "") -> Label:
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
        themes=check_themes(d["themes"], where), tone=check_tone(d["tone"], where),
        annotator=d["annotator"], annotated_at=str(at), note=d.get("note"),
        codebook=str(d["codebook"]) if d.get("codebook") is not None else None,
        suggested=_suggested(d.get("suggested"), prefix),
    )


def _suggested(value, prefix: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise LabelError(f"{prefix}suggested must be true or false, got {value!r}")


def themes_to_vector(themes) -> list[int]:
    """Multi-hot vector in schema order."""
    s = set(themes)
    return [int(t in s) for t in THEMES]
