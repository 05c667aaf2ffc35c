"""Which states and organisations a paragraph talks about: a gazetteer kept as data.

The names live in ``vistance/data/counterparts.json`` (id -> aliases, context
patterns, exclusions); this module only compiles and applies them::

    >>> detect_counterparts("Thủ tướng Anh Keir Starmer hội đàm với Tổng thống Mỹ.")
    ['uk', 'us']
    >>> detect_counterparts("Triển lãm mỹ thuật tại sân vận động Mỹ Đình.")
    []

Rules (see ``docs/analysis.md``):

* text is normalised (NFC, new-style tone marks, ``_`` of segmented text read as a space);
* matching is case-sensitive and on whole syllables: a hit needs a non-letter/digit
  on both sides, so ``Mỹ`` never matches inside ``Mỹthuật`` and ``Nga`` never inside ``Ngai``;
* ``aliases`` are literal names; ``patterns`` are regular expressions for names that
  are ambiguous alone (``Anh`` counts only as ``nước Anh``, ``Thủ tướng Anh`` …);
* ``exclude`` patterns remove false friends of one counterpart (``Mỹ Tho``, ``Nga Sơn``,
  ``Ấn Độ Dương``): a hit lying inside an exclusion match does not count;
* ``exclude_before`` words remove hits for every counterpart (``U23 Trung Quốc`` is a
  football team, ``tiếng Nga`` a language);
* short forms count inside dash compounds (``Việt - Trung``, ``Mỹ - Nhật - Hàn``).
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from vistance.errors import VistanceError
from vistance.text.normalize import normalize, normalize_tone_marks

_LEFT = r"(?<!\w)"
_RIGHT = r"(?!\w)"
_SYLLABLE = re.compile(r"\w+")
_DASHES = re.compile("[-–—]")
# what normalize() would change in NFC text: old-style tone marks on open oa/oe/uy syllables,
# invisible and control characters, unusual or repeated horizontal space, carriage returns
_NEEDS_NORMALIZE = re.compile(
    "[oO][àáảãạÀÁẢÃẠèéẻẽẹÈÉẺẼẸ](?![^\\W\\d_])|(?<![qQ])[uU][ỳýỷỹỵỲÝỶỸỴ](?![^\\W\\d_])"
    "|[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
    "|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]|  |\r| \n|\n |^\\s|\\s$"
)


def _upper_class() -> str:
    """A character class of the upper-case letters Vietnamese and the aliases use."""
    chars = sorted({c for c in map(chr, range(0x41, 0x1F00)) if c.isalpha() and c.isupper()})
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _norm_pattern(pattern: str) -> str:
    """NFC and new-style tone marks for a pattern (white space and escapes untouched)."""
    return unicodedata.normalize("NFC", normalize_tone_marks(pattern))


def _compile(pattern: str, what: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise VistanceError(f"counterpart gazetteer: bad pattern in {what}: {pattern!r} ({e})") from None


@dataclass
class Counterpart:
    """One state or organisation: its id, display names and compiled matchers."""

    id: str
    name: str
    name_en: str
    groups: tuple[str, ...]
    matcher: re.Pattern | None          # aliases and context patterns, with syllable boundaries
    exclude: re.Pattern | None          # false friends of this counterpart
    keys: frozenset[str] = frozenset()  # syllables one of which any hit contains (a fast pre-filter)


@dataclass
class Gazetteer:
    """Compiled gazetteer; :meth:`detect` gives the sorted counterpart ids of a text."""

    counterparts: dict[str, Counterpart]
    main: tuple[str, ...] = ()
    exclude_before: re.Pattern | None = None
    compound: re.Pattern | None = None
    compound_element: re.Pattern | None = None
    short_forms: dict[str, str | None] = field(default_factory=dict)
    _by_key: dict[str, list[Counterpart]] = field(default_factory=dict, repr=False)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> "Gazetteer":
        if not isinstance(data, dict) or not isinstance(data.get("counterparts"), dict):
            raise VistanceError("counterpart gazetteer: expected an object with a 'counterparts' mapping")
        cps: dict[str, Counterpart] = {}
        for cid, spec in data["counterparts"].items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", cid):
                raise VistanceError(f"counterpart gazetteer: bad id {cid!r} (lower-case letters, digits, _)")
            aliases = [normalize(a) for a in spec.get("aliases", [])]
            if any(not a for a in aliases):
                raise VistanceError(f"counterpart gazetteer: empty alias for {cid!r}")
            # longest first, so "Trung Hoa Dân Quốc" wins over "Trung Hoa" at the same place
            alts = [re.escape(a) for a in sorted(set(aliases), key=lambda a: (-len(a), a))]
            alts += [f"(?:{_norm_pattern(p)})" for p in spec.get("patterns", [])]
            if not alts:
                raise VistanceError(f"counterpart gazetteer: {cid!r} has neither aliases nor patterns")
            matcher = _compile(_LEFT + "(?:" + "|".join(alts) + ")" + _RIGHT, f"{cid}.aliases/patterns")
            ex = spec.get("exclude", [])
            exclude = (_compile(_LEFT + "(?:" + "|".join(f"(?:{_norm_pattern(p)})" for p in ex) + ")" + _RIGHT,
                                f"{cid}.exclude") if ex else None)
            keys = {_SYLLABLE.findall(a)[0] for a in aliases}
            if spec.get("patterns"):
                if not spec.get("keys"):
                    raise VistanceError(f"counterpart gazetteer: {cid!r} has patterns but no 'keys' "
                                        "(the syllables its patterns cannot match without)")
                keys |= {normalize(k) for k in spec["keys"]}
            cps[cid] = Counterpart(cid, spec.get("name", cid), spec.get("name_en", cid),
                                   tuple(spec.get("groups", [])), matcher, exclude, frozenset(keys))
        main = tuple(data.get("main", []))
        unknown = [m for m in main if m not in cps]
        if unknown:
            raise VistanceError(f"counterpart gazetteer: 'main' names unknown id(s) {unknown}")
        before = data.get("exclude_before") or []
        exclude_before = (_compile(_LEFT + "(?:" + "|".join(_norm_pattern(b) for b in before) + r")\s+$", "exclude_before")
                          if before else None)
        gz = cls(cps, main, exclude_before)
        comp = data.get("compound") or {}
        forms = {normalize(k): v for k, v in (comp.get("short_forms") or {}).items()}
        if forms:
            bad = [v for v in forms.values() if v is not None and v not in cps]
            if bad:
                raise VistanceError(f"counterpart gazetteer: compound short form(s) point to unknown id(s) {bad}")
            sep = comp.get("separator", r"\s?[-–—]\s?")
            nfb = _norm_pattern(comp.get("not_followed_by", r"\s+[UPPER]")).replace("[UPPER]", _upper_class())
            sf = "(?:" + "|".join(re.escape(k) for k in sorted(forms, key=lambda k: (-len(k), k))) + ")"
            element = f"{sf}{_RIGHT}(?!{nfb})"
            gz.compound = _compile(f"{_LEFT}{element}(?:{sep}{element})+", "compound")
            gz.compound_element = _compile(f"{_LEFT}{sf}{_RIGHT}", "compound short forms")
            gz.short_forms = forms
        for cp in cps.values():
            for k in cp.keys:
                gz._by_key.setdefault(k, []).append(cp)
        return gz

    @classmethod
    def load(cls, path=None) -> "Gazetteer":
        """Read a gazetteer JSON file (default: the one shipped with vistance)."""
        if path is None:
            from importlib.resources import files

            text = files("vistance").joinpath("data/counterparts.json").read_text(encoding="utf-8")
            where = "vistance/data/counterparts.json"
        else:
            text, where = Path(path).read_text(encoding="utf-8"), str(path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise VistanceError(f"{where}: invalid JSON ({e.msg}, line {e.lineno})") from None
        return cls.from_dict(data)

    # -- matching -----------------------------------------------------------------------
    @staticmethod
    def prepare(text: str) -> str:
        """The form of ``text`` the patterns are written for (:func:`~vistance.text.normalize.normalize`
        with ``_`` read as a space; text that is already normal, as ingest writes it, is only checked)."""
        text = text.replace("_", " ")
        if unicodedata.is_normalized("NFC", text) and not _NEEDS_NORMALIZE.search(text):
            return text
        return normalize(text)

    def _keep(self, cp: Counterpart, text: str, start: int, end: int, excluded: list | None) -> bool:
        if excluded and any(s <= start and end <= e for s, e in excluded):
            return False
        if self.exclude_before is not None and self.exclude_before.search(text, max(0, start - 24), start):
            return False
        return True

    def _excluded(self, cp: Counterpart, text: str, cache: dict) -> list:
        if cp.id not in cache:
            cache[cp.id] = [m.span() for m in cp.exclude.finditer(text)] if cp.exclude is not None else []
        return cache[cp.id]

    def detect(self, text: str, prepared: bool = False) -> list[str]:
        """Sorted ids of the counterparts named in ``text`` (each at most once)."""
        if not text:
            return []
        if not prepared:
            text = self.prepare(text)
        found: set[str] = set()
        excl: dict = {}
        candidates: dict[str, Counterpart] = {}
        for syl in set(_SYLLABLE.findall(text)):
            for cp in self._by_key.get(syl, ()):
                candidates[cp.id] = cp
        for cp in candidates.values():
            for m in cp.matcher.finditer(text):
                if self._keep(cp, text, m.start(), m.end(), self._excluded(cp, text, excl)):
                    found.add(cp.id)
                    break
        if self.compound is not None and _DASHES.search(text):
            for chain in self.compound.finditer(text):
                for el in self.compound_element.finditer(text, chain.start(), chain.end()):
                    cid = self.short_forms.get(el.group(0))
                    if cid is None or cid in found:
                        continue
                    cp = self.counterparts[cid]
                    if self._keep(cp, text, el.start(), el.end(), self._excluded(cp, text, excl)):
                        found.add(cid)
        return sorted(found)

    def __contains__(self, cid: str) -> bool:
        return cid in self.counterparts

    def ids(self) -> list[str]:
        return list(self.counterparts)

    def in_group(self, group: str) -> list[str]:
        """Ids of the counterparts in ``group`` (e.g. ``asean_members``, ``central_asia``)."""
        return [c.id for c in self.counterparts.values() if group in c.groups]

    def name(self, cid: str, lang: str = "en") -> str:
        """Display name of ``cid`` (``lang`` "en" or "vi"); the id itself when unknown."""
        cp = self.counterparts.get(cid)
        if cp is None:
            return cid
        return cp.name_en if lang == "en" else cp.name


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer shipped with vistance (compiled once per process)."""
    return Gazetteer.load()


def detect_counterparts(text: str, gazetteer: Gazetteer | None = None) -> list[str]:
    """Sorted ids of the counterparts (states, organisations) named in ``text``."""
    return (gazetteer or default_gazetteer()).detect(text)
