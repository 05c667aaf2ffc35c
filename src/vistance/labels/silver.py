"""Silver labels: keyword labelling functions (LFs), a combiner, and their measurement against gold.

Silver labels are *rules*, not judgements: they live in ``labels/silver/``, never
enter ``labels/gold.jsonl`` and are never used for evaluation (``labels/CODEBOOK.md``,
"Gold vs silver"). They exist for weak supervision and analysis at corpus scale
(``vietnews-fa``, ~82k sentence units).

Labelling functions
-------------------
Every LF is a named rule over cue sets, declared with its task and label in the data file
``vistance/data/silver_cues.json`` (the cue lists and rules are data; this module is the
engine that compiles and applies them). Called on a text, an LF returns its label or
``ABSTAIN`` (``None``). Matching is on the normalised text
(:func:`vistance.text.normalize.normalize`), lower-cased, on whole syllable
sequences (``tiếp`` never matches inside ``tiếp tục`` because the cue is a
phrase like ``tiếp Đại sứ``); acronyms (``AI``, ``WHO``, ``EU``, ``COC``...) match
case-sensitively so the Vietnamese word *ai* ("who") is not the acronym *AI*.

Themes (each LF votes for one theme):

========================================  ===============================================================
``lf_maritime_sea_names``                  Biển Đông / Hoàng Sa / Trường Sa / named shoals, not in a weather or street context
``lf_maritime_law_of_sea``                 UNCLOS, Luật Biển, EEZ, continental shelf, COC, freedom of navigation (not in weather text)
``lf_maritime_enforcement``                coast guard, maritime militia, fishing boats and fishermen seized/attacked at sea
``lf_economy_trade``                       trade, import/export, tariffs, turnover, FTA/WTO, goods
``lf_economy_investment``                  investment, finance, banks, GDP, economy, business, markets, supply chains, loans
``lf_economy_energy_resources``            energy, oil and gas, electricity (as a commodity), minerals, rare earths
``lf_infrastructure_transport``            railways, standard gauge, seaports, border gates, logistics, canals; roads/airports/ports
                                           only with a build/connect/develop verb (a traffic diversion is not a project;
                                           "tàu sân bay" is an aircraft carrier)
``lf_science_technology``                  innovation, AI, digital economy, semiconductors, satellites, telecoms, cyber; bare
                                           "khoa học"/"công nghệ" only with cooperation/development/research context
``lf_defense_military``                    military, defence ministry, army/navy, weapons, missiles, troops, exercises
``lf_defense_security``                    terrorism, extremism, cross-border crime, espionage, "ensure security", security
                                           cooperation, public-security ministry (not food/energy security)
``lf_defense_war``                         war, armed conflict, air strikes, fighting (not trade war, not sport)
``lf_political_talks_visits``              talks, phone calls, official/state visits, receiving an ambassador/minister
``lf_political_partnership``               strategic/comprehensive partnership, bilateral relations, political trust, two parties
``lf_political_diplomacy``                 ministry of foreign affairs, foreign minister, embassy, consulate, diplomatic note,
                                           foreign policy
``lf_political_leaders_two_states``        a leader/minister/ambassador + two states or capitals named + a relation word
                                           ("hai bên", "phía", "quan hệ", "hội đàm"...)
``lf_people_education``                    education, training, students, scholarships, human resources
``lf_people_culture_tourism``              culture, tourism, arts, films, heritage, festivals, journalists, entertainment careers
``lf_people_sport``                        football, sport, Olympics, national teams, matches
``lf_people_health_citizens``              health, hospitals, vaccines, citizen protection, overseas Vietnamese, people-to-people
                                           exchange, visas
``lf_multilateral_bodies``                 UN, Security Council, ASEAN, APEC, G7/G20, BRICS, SCO, EU, NATO, WHO, IMF, WB, WEF
``lf_multilateral_order``                  international order/law, multilateral mechanisms, international community,
                                           Indo-Pacific, great-power competition, sub-regional cooperation, summits
``lf_other_weather``                       weather and storm forecasts (votes ``other``; vetoes ``maritime``)
``lf_other_entertainment_lottery``         lottery results, celebrities' private life (votes ``other``; careers are culture)
========================================  ===============================================================

Tone:

========================================  ===============================================================
``lf_tone_protest_condemn``                protest, condemn, reject, summon an ambassador -> contentious
``lf_tone_accuse_criticise``               accuse, criticise, denounce -> contentious
``lf_tone_threat_warning``                 threaten, warn, retaliate, escalate, provoke, coerce -> contentious
``lf_tone_dispute_tension``                dispute, disagreement, tension, violation, pressure, unilateral acts, arrest warrants,
                                           "manage differences" -> contentious
``lf_tone_sanction``                       sanctions, embargo, trade war, punitive tariffs -> contentious
``lf_tone_hostilities``                    attacks, strikes, counter-offensives, fighting, casualties (not sport) -> contentious
``lf_tone_diplomatic_demand``              demands phrased diplomatically: restraint, respect sovereignty, settle peacefully -> contentious
``lf_tone_agreement``                      agree, sign, agreement, memorandum, commit -> cooperative
``lf_tone_cooperation``                    cooperate, coordinate, promote/strengthen relations, strategic partnership (not inside
                                           names such as "Diễn đàn Hợp tác Kinh tế châu Á - Thái Bình Dương") -> cooperative
``lf_tone_support_praise``                 support, appreciate, thank, congratulate, friendship, aid, condolences -> cooperative
``lf_tone_neutral_domain``                 sport results, weather, lottery, disasters (codebook rules 11, 12, 14) -> neutral
========================================  ===============================================================

Combiner (priority rules, in this order)
----------------------------------------
*Themes.* Every theme with at least one LF vote is assigned (a paragraph is
multi-label, so votes for different themes do not compete). ``lf_other_weather``
vetoes ``maritime`` (the codebook's weather rule 11: "Bắc Biển Đông có gió mạnh" is
``other``). A theme vote always beats an ``other`` vote; ``other`` is assigned
when only ``other`` LFs voted. When no theme LF fires at all the unit gets **no
silver label** (it is counted as uncovered, never guessed).

*Tone.* (1) ``lf_tone_neutral_domain`` wins (sport "attacks" and storm reports are
not friction); (2) otherwise any contentious vote wins ("friction wins", as in the
codebook); (3) otherwise any cooperative vote gives ``cooperative``; (4) otherwise
``neutral`` (no evaluative cue: the codebook's definition of neutral).

Measurement
-----------
:func:`run_silver` applies the same LFs to the gold paragraphs (their text from
``gold_paragraphs`` joined with ``gold``) and reports, per LF, *coverage* (share
of gold paragraphs where it fires) and *precision* (share of those whose gold label
has the LF's label), and per label the coverage, precision and recall of the
combined silver label. The cue lists were written while looking only at the
``dev`` half of gold (articles whose SHA-1 of ``article_id`` is even); the
``heldout`` half is reported separately, so the held-out numbers are not tuned.

Outputs (``out``, default ``labels/silver``): ``vietnews-fa.jsonl`` (ids, text
hashes and labels only; annotator ``lf:<LF_VERSION>``) and ``stats.json``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from vistance.labels.schema import OTHER, THEMES, TONES, Label, check_themes
from vistance.text.normalize import normalize

ABSTAIN = None


# -- the cue data ---------------------------------------------------------------------------
def load_cues(path=None) -> dict:
    """The LF definitions: ``vistance/data/silver_cues.json`` (or ``path``)."""
    if path is None:
        return json.loads(resources.files("vistance.data").joinpath("silver_cues.json").read_text(encoding="utf-8"))
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _compile(phrases, case_sensitive: bool = False) -> re.Pattern:
    """Whole-syllable match of any phrase, longest first (lower-cased unless ``case_sensitive``)."""
    if case_sensitive:
        alts = {re.escape(p) for p in phrases}
    else:
        alts = {re.escape(normalize(p).lower()) for p in phrases}
    return re.compile(r"(?<![\w])(?:" + "|".join(sorted(alts, key=len, reverse=True)) + r")(?![\w])")


class _Text:
    """A text as the rules see it: normalised (``raw``) and lower-cased (``low``), with a memo of
    cue matches so a cue shared by several LFs is searched once."""

    __slots__ = ("raw", "low", "memo")

    def __init__(self, text: str):
        self.raw = normalize(text)
        self.low = self.raw.lower()
        self.memo: dict = {}


@lru_cache(maxsize=8192)
def _prep(text: str) -> _Text:
    return _Text(text)


class CueSet:
    """A named list of phrases (see the data file's ``about``)."""

    def __init__(self, name: str, phrases, case_sensitive: bool = False):
        self.name, self.phrases, self.case_sensitive = name, list(phrases), bool(case_sensitive)
        self.rx = _compile(self.phrases, self.case_sensitive)
        self._each: list[re.Pattern] | None = None

    def view(self, t: _Text) -> str:
        return t.raw if self.case_sensitive else t.low

    def found(self, t: _Text, without: "CueSet | None" = None) -> bool:
        key = (self.name, without.name if without else None)
        if key not in t.memo:
            text = self.view(t) if without is None else without.rx.sub(" ", without.view(t))
            t.memo[key] = self.rx.search(text) is not None
        return t.memo[key]

    def distinct(self, t: _Text) -> int:
        """How many different phrases of the set occur."""
        if self._each is None:
            self._each = [_compile([p], self.case_sensitive) for p in self.phrases]
        return sum(1 for rx in self._each if rx.search(self.view(t)))


def _rule(spec: dict, cues: dict[str, CueSet], where: str):
    """A predicate ``_Text -> bool`` from a rule of the data file."""
    from vistance.errors import VistanceError

    def cue(name):
        if name not in cues:
            raise VistanceError(f"silver cues: {where} uses an unknown cue set {name!r}")
        return cues[name]

    if "cue" in spec:
        c, w = cue(spec["cue"]), (cue(spec["after_removing"]) if spec.get("after_removing") else None)
        return lambda t: c.found(t, w)
    if "all" in spec:
        parts = [_rule(s, cues, where) for s in spec["all"]]
        return lambda t: all(p(t) for p in parts)
    if "any" in spec:
        parts = [_rule(s, cues, where) for s in spec["any"]]
        return lambda t: any(p(t) for p in parts)
    if "not" in spec:
        inner = _rule(spec["not"], cues, where)
        return lambda t: not inner(t)
    if "distinct" in spec:
        c, n = cue(spec["distinct"]), int(spec["at_least"])
        return lambda t: c.distinct(t) >= n
    raise VistanceError(f"silver cues: {where} has a rule with none of cue/all/any/not/distinct: {spec}")


@dataclass(frozen=True)
class LabellingFunction:
    """One LF: ``lf(text)`` is its declared ``label`` when its rule holds, else ``ABSTAIN``."""

    name: str
    task: str  # "theme" or "tone"
    label: str
    when: object = field(repr=False, compare=False)

    @property
    def __name__(self) -> str:  # LFs are reported by name, like functions
        return self.name

    def __call__(self, text: str):
        return self.label if self.when(_prep(text)) else ABSTAIN


def build_lfs(data: dict) -> list[LabellingFunction]:
    """Compile the data file's ``functions`` (in file order) over its ``cue_sets``; labels are checked
    against the schema."""
    from vistance.errors import VistanceError

    cues = {k: CueSet(k, v["phrases"], v.get("case_sensitive", False)) for k, v in data["cue_sets"].items()}
    lfs = []
    for f in data["functions"]:
        allowed = THEMES if f["task"] == "theme" else TONES
        if f["task"] not in ("theme", "tone") or f["label"] not in allowed:
            raise VistanceError(f"silver cues: {f['name']} has task {f['task']!r} and label {f['label']!r}; "
                                f"a theme LF votes one of {list(THEMES)}, a tone LF one of {list(TONES)}")
        lfs.append(LabellingFunction(f["name"], f["task"], f["label"], _rule(f["when"], cues, f["name"])))
    return lfs


CUES = load_cues()
LF_VERSION = str(CUES["version"])
ANNOTATOR = f"lf:{LF_VERSION}"
ALL_LFS: list[LabellingFunction] = build_lfs(CUES)
THEME_LFS = [f for f in ALL_LFS if f.task == "theme"]
TONE_LFS = [f for f in ALL_LFS if f.task == "tone"]
LF_LABEL: dict[str, str] = {f.name: f.label for f in ALL_LFS}  # the label each LF can vote for
_LF_BY_NAME = {f.name: f for f in ALL_LFS}
_THEME_NAMES = [f.name for f in THEME_LFS]
_TONE_NAMES = [f.name for f in TONE_LFS]


def __getattr__(name: str):
    """``silver.lf_<name>`` is the LF of that name."""
    if name in _LF_BY_NAME:
        return _LF_BY_NAME[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def apply_lfs(text: str) -> dict[str, str]:
    """The non-abstaining votes of every LF on ``text``: ``{lf_name: label}``."""
    out = {}
    for f in ALL_LFS:
        v = f(text)
        if v is not ABSTAIN:
            out[f.name] = v
    return out


def combine(votes: dict[str, str]) -> tuple[list[str] | None, str]:
    """Combine LF votes into ``(themes, tone)``; ``themes`` is ``None`` when no theme LF voted.

    See the module docstring for the priority rules (the data file's ``combiner``).
    """
    rules = CUES["combiner"]
    theme_votes = {votes[n] for n in _THEME_NAMES if n in votes}
    themes: list[str] | None
    if not theme_votes:
        themes = None
    else:
        real = {v for v in theme_votes if v != OTHER}
        for lf, vetoed in rules["vetoes"].items():
            if lf in votes:
                real.difference_update(vetoed)
        themes = check_themes(sorted(real)) if real else [OTHER]
    tone_votes = {votes[n] for n in _TONE_NAMES if n in votes}
    tone = next((t for t in rules["tone_priority"] if t in tone_votes), rules["tone_default"])
    return themes, tone


def silver_label(text: str) -> tuple[list[str] | None, str, dict[str, str]]:
    """``(themes or None, tone, votes)`` for one text."""
    votes = apply_lfs(text)
    themes, tone = combine(votes)
    return themes, tone, votes


def label_units(units, annotated_at: str = "") -> tuple[list[Label], dict]:
    """Silver :class:`Label` records for paragraph/sentence units (objects with ``paragraph_id``,
    ``text_sha1``, ``text``), and coverage counts. Units where no theme LF fires get no label."""
    labels: list[Label] = []
    n = covered_theme = covered_tone = 0
    theme_counts: Counter = Counter()
    tone_counts: Counter = Counter()
    lf_fires: Counter = Counter()
    for u in units:
        n += 1
        themes, tone, votes = silver_label(u.text)
        lf_fires.update(votes.keys())
        if any(k in votes for k in _TONE_NAMES):
            covered_tone += 1
        if themes is None:
            continue
        covered_theme += 1
        theme_counts.update(themes)
        tone_counts[tone] += 1
        labels.append(Label(paragraph_id=u.paragraph_id, text_sha1=u.text_sha1, themes=themes, tone=tone,
                            annotator=ANNOTATOR, annotated_at=annotated_at))
    info = {
        "units": n, "labelled": len(labels),
        "coverage": {"labelled": _r(len(labels) / n if n else 0.0), "any_theme_lf": _r(covered_theme / n if n else 0.0),
                     "any_tone_lf": _r(covered_tone / n if n else 0.0)},
        "themes": {t: theme_counts.get(t, 0) for t in THEMES},
        "tone": {t: tone_counts.get(t, 0) for t in TONES},
        "lf_coverage": {f.name: _r(lf_fires.get(f.name, 0) / n if n else 0.0) for f in ALL_LFS},
    }
    return labels, info


def _r(x: float) -> float:
    return round(float(x), 4)


# -- measurement against gold ----------------------------------------------------------------
def is_dev_article(article_id: str) -> bool:
    """The half of gold the cue lists were developed on (SHA-1 of the article id is even)."""
    return int(hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0


def evaluate_against_gold(rows: list[dict]) -> dict:
    """Per-LF and per-label coverage/precision (and recall) of the LFs on gold ``rows``
    (``text``, ``themes``, ``tone``; from :func:`vistance.dataset.join_labels`)."""
    n = len(rows)
    lf_fire: Counter = Counter()
    lf_hit: Counter = Counter()
    lab_pred: Counter = Counter()
    lab_hit: Counter = Counter()
    lab_gold: Counter = Counter()
    unlabelled = 0
    for r in rows:
        gold = set(r["themes"]) | {r["tone"]}
        lab_gold.update(gold)
        themes, tone, votes = silver_label(r["text"])
        for name, lab in votes.items():
            lf_fire[name] += 1
            lf_hit[name] += int(lab in gold)
        if themes is None:
            unlabelled += 1
            continue
        for lab in list(themes) + [tone]:
            lab_pred[lab] += 1
            lab_hit[lab] += int(lab in gold)
    per_lf = {}
    for f in ALL_LFS:
        k = f.name
        per_lf[k] = {"label": LF_LABEL[k], "coverage": _r(lf_fire[k] / n if n else 0.0),
                     "precision": _r(lf_hit[k] / lf_fire[k]) if lf_fire[k] else None, "fires": lf_fire[k]}
    per_label = {}
    for lab in list(THEMES) + list(TONES):
        per_label[lab] = {"coverage": _r(lab_pred[lab] / n if n else 0.0),
                          "precision": _r(lab_hit[lab] / lab_pred[lab]) if lab_pred[lab] else 0.0,
                          "recall": _r(lab_hit[lab] / lab_gold[lab]) if lab_gold[lab] else 0.0,
                          "gold_support": lab_gold[lab], "silver_assigned": lab_pred[lab]}
    return {"paragraphs": n, "labelled": n - unlabelled, "coverage": _r((n - unlabelled) / n if n else 0.0),
            "per_lf": per_lf, "per_label": per_label}


# -- the silver run --------------------------------------------------------------------------
@dataclass
class SilverReport:
    """What :func:`run_silver` wrote: the label file, ``stats.json`` (also in ``stats``), counts, notes."""

    labels_path: Path
    stats_path: Path
    units: int
    labelled: int
    stats: dict
    notes: list[str] = field(default_factory=list)
    exit_code: int = 0

    def summary(self) -> str:
        share = self.labelled / self.units if self.units else 0.0
        lines = list(self.notes) + [f"silver: {self.labelled} of {self.units} unit(s) labelled ({share:.1%}) -> "
                                    f"{self.labels_path}; stats -> {self.stats_path}"]
        return "\n".join(lines)


def run_silver(paragraphs, gold, gold_paragraphs, out="labels/silver", limit: int | None = None) -> SilverReport:
    """Label the units of ``paragraphs`` (e.g. the ingested vietnews-fa) with the LFs and measure the
    LFs on the gold labels.

    Writes ``<out>/<corpus>.jsonl`` (ids, text hashes and labels; annotator ``lf:<version>``;
    atomic and locked) and ``<out>/stats.json``. ``gold`` (labels JSONL) and
    ``gold_paragraphs`` (their paragraphs JSONL) are only read; when either is missing the
    stats have an empty ``lf_vs_gold`` and the report a note. ``limit`` labels only the
    first N units. Refuses (:class:`~vistance.errors.VistanceError`) to write into the
    gold folder or the gold file.
    """
    from vistance.corpus import read_paragraphs
    from vistance.dataset.build import join_labels
    from vistance.errors import VistanceError
    from vistance.io import atomic_write, file_lock, write_json
    from vistance.labels.store import read_labels

    out = Path(out)
    gold_path = Path(gold)
    if out.resolve() == gold_path.resolve().parent:
        raise VistanceError(f"silver labels are stored apart from gold: --out {out} is the gold folder; use e.g. labels/silver")
    out.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    units = read_paragraphs(paragraphs)
    if limit:
        units = itertools.islice(units, int(limit))
    units = list(units)
    labels, info = label_units(units, annotated_at=now)
    corpora = Counter(getattr(u, "corpus", None) or "unknown" for u in units)
    corpus = corpora.most_common(1)[0][0] if corpora else "vietnews-fa"
    target = out / f"{corpus if corpus != 'unknown' else 'vietnews-fa'}.jsonl"
    if target.resolve() == gold_path.resolve() or target.name == gold_path.name:
        raise VistanceError("silver labels are never written into the gold file")
    with file_lock(target), atomic_write(target) as fh:
        for lab in sorted(labels, key=lambda l: l.paragraph_id):
            d = lab.to_dict()
            d.pop("annotated_at", None)  # one time for the whole run, kept in stats.json
            fh.write(json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")

    stats = {
        "about": "Silver labels from keyword labelling functions (src/vistance/labels/silver.py). Never gold, never evaluation.",
        "lf_version": LF_VERSION, "annotator": ANNOTATOR, "generated_at": now,
        "corpus": corpus, "file": target.name, "limit": limit,
        "units": info["units"], "labelled": info["labelled"], "coverage": info["coverage"],
        "silver_label_counts": {"themes": info["themes"], "tone": info["tone"]},
        "lf_coverage_on_units": info["lf_coverage"],
    }
    notes = []
    gp = Path(gold_paragraphs)
    if gp.exists() and gold_path.exists():
        rows, join = join_labels(read_paragraphs(gp), read_labels(gold_path), strict=False)
        ev = evaluate_against_gold(rows)
        held = evaluate_against_gold([r for r in rows if not is_dev_article(r["article_id"])])
        dev_n = sum(1 for r in rows if is_dev_article(r["article_id"]))
        stats["gold"] = {"paragraphs": ev["paragraphs"], "join": join, "labelled_by_silver": ev["labelled"],
                         "coverage": ev["coverage"], "dev_paragraphs": dev_n, "heldout_paragraphs": held["paragraphs"]}
        stats["lf_vs_gold"] = {k: {"coverage": v["coverage"], "precision": v["precision"], "recall": v["recall"]}
                               for k, v in ev["per_label"].items()}
        stats["lf_vs_gold_heldout"] = {k: {"coverage": v["coverage"], "precision": v["precision"], "recall": v["recall"]}
                                       for k, v in held["per_label"].items()}
        stats["per_lf_vs_gold"] = ev["per_lf"]
        stats["per_lf_vs_gold_heldout"] = {k: {"coverage": v["coverage"], "precision": v["precision"]}
                                           for k, v in held["per_lf"].items()}
    else:
        notes.append(f"note: gold ({gold_path}) or its paragraphs ({gp}) not found; stats.json has no lf_vs_gold")
        stats["lf_vs_gold"] = {}
    write_json(out / "stats.json", stats)
    return SilverReport(labels_path=target, stats_path=out / "stats.json", units=info["units"],
                        labelled=info["labelled"], stats=stats, notes=notes)
