"""Silver labels: keyword labelling functions (LFs), a combiner, and their measurement against gold.

Silver labels are *rules*, not judgements: they live in ``labels/silver/``, never
enter ``labels/gold.jsonl`` and are never used for evaluation (``labels/CODEBOOK.md``,
"Gold vs silver"). They exist for weak supervision and analysis at corpus scale
(``vietnews-fa``, ~82k sentence units).

Labelling functions
-------------------
Every LF is a named rule over cue sets, declared with its task and label in the data file
``vistance/data/silver_cues.json`` (the cue lists and rules are data; this module is the
engine that compiles and applies them). The cues serve a codebook (:class:`LabelSchema`):
every label a cue file names must be a label of the codebook it is used with, or the file is
refused naming the LF (:class:`SilverRules`). The packaged cues serve the packaged codebook;
another codebook brings its own cue file (``vistance silver --cues FILE``) or gets no silver
labels (:class:`NoSilverCues`, a one-line message). Called on a text, an LF returns its label or
``ABSTAIN`` (``None``). Matching is on the normalised text
(:func:`vistance.text.normalize.normalize`), lower-cased, on whole syllable
sequences (``tiếp`` never matches inside ``tiếp tục`` because the cue is a
phrase like ``tiếp Đại sứ``); acronyms (``AI``, ``WHO``, ``EU``, ``COC``...) match
case-sensitively so the Vietnamese word *ai* ("who") is not the acronym *AI*.

The packaged cue file's LFs (their labels, cues and guards) are described in
``labels/silver/README.md``, with their coverage and precision on gold.

Combiner (priority rules, in this order)
----------------------------------------
The roles come from the codebook (catch-all theme, tone precedence, no-signal tone), the LF
names from the cue file's ``combiner``.

*Themes.* Every theme with at least one LF vote is assigned (a paragraph is
multi-label, so votes for different themes do not compete). A ``vetoes`` LF removes
the themes it names (in the packaged cues, the weather LF vetoes the sea theme: the
codebook's weather rule 11). A theme vote always beats a vote for the catch-all theme,
which is assigned when only catch-all LFs voted (without a catch-all such a unit gets no
theme). When no theme LF fires at all the unit gets **no silver label** (it is counted as
uncovered, never guessed).

*Tone.* (1) a ``tone_overrides`` LF wins (in the packaged cues, the domain LF of sport,
weather, lottery and disasters: sport "attacks" and storm reports are not friction);
(2) otherwise the codebook's precedence decides among the tones voted ("friction wins");
(3) otherwise the codebook's no-signal tone (no evaluative cue); a codebook without one
gives such a unit no silver label.

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

from vistance.errors import VistanceError
from vistance.labels.schema import Label, LabelSchema, default_schema
from vistance.text.normalize import normalize

ABSTAIN = None


class NoSilverCues(VistanceError):
    """The codebook has no silver cue file: no silver labels (not a failure of the run)."""


# -- the cue data ---------------------------------------------------------------------------
def load_cues(path=None) -> dict:
    """The LF definitions: ``vistance/data/silver_cues.json`` (or ``path``)."""
    if path is None:
        return json.loads(resources.files("vistance.data").joinpath("silver_cues.json").read_text(encoding="utf-8"))
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise VistanceError(f"{path}: cannot read the silver cue file ({e.strerror or e})") from None
    except ValueError as e:
        raise VistanceError(f"{path}: not a JSON silver cue file ({e})") from None


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


def build_lfs(data: dict, schema: LabelSchema | None = None) -> list[LabellingFunction]:
    """Compile the data file's ``functions`` (in file order) over its ``cue_sets``; each label must
    be a theme (``task: theme``) or a tone (``task: tone``) of ``schema`` (default: the packaged
    codebook), else :class:`VistanceError` naming the LF."""
    schema = schema or default_schema()
    cues = {k: CueSet(k, v["phrases"], v.get("case_sensitive", False)) for k, v in data["cue_sets"].items()}
    lfs = []
    for f in data["functions"]:
        allowed = schema.theme_names if f["task"] == "theme" else schema.tone_names
        if f["task"] not in ("theme", "tone") or f["label"] not in allowed:
            raise VistanceError(f"silver cues: {f['name']} has task {f['task']!r} and label {f['label']!r}; "
                                f"a theme LF votes one of {list(schema.theme_names)}, a tone LF one of "
                                f"{list(schema.tone_names)} (the codebook{' ' + schema.source if schema.source else ''})")
        lfs.append(LabellingFunction(f["name"], f["task"], f["label"], _rule(f["when"], cues, f["name"])))
    return lfs


class SilverRules:
    """The LFs of a cue file (``data``, :func:`load_cues`) compiled for a codebook (``schema``), and
    the combiner: the codebook gives the catch-all theme, the tone precedence and the no-signal
    tone; the cue file's ``combiner`` names the LFs that veto themes or override the tone."""

    def __init__(self, data: dict, schema: LabelSchema | None = None):
        self.schema = schema = schema or default_schema()
        self.data = data
        self.version = str(data["version"])
        self.annotator = f"lf:{self.version}"
        self.lfs = build_lfs(data, schema)
        self.theme_lfs = [f for f in self.lfs if f.task == "theme"]
        self.tone_lfs = [f for f in self.lfs if f.task == "tone"]
        self.lf_label = {f.name: f.label for f in self.lfs}
        self.by_name = {f.name: f for f in self.lfs}
        rules = data.get("combiner") or {}
        self.vetoes = {lf: list(themes) for lf, themes in (rules.get("vetoes") or {}).items()}
        self.tone_overrides = list(rules.get("tone_overrides") or [])
        for lf, themes in self.vetoes.items():
            self._known(lf, "theme", "vetoes")
            unknown = [t for t in themes if t not in schema.themes]
            if unknown:
                raise VistanceError(f"silver cues: combiner.vetoes of {lf} names {unknown}, not themes of the "
                                    f"codebook ({', '.join(schema.themes)})")
        for lf in self.tone_overrides:
            self._known(lf, "tone", "tone_overrides")
        self._theme_names = [f.name for f in self.theme_lfs]
        self._tone_names = [f.name for f in self.tone_lfs]

    def _known(self, lf: str, task: str, where: str) -> None:
        f = self.by_name.get(lf)
        if f is None or f.task != task:
            raise VistanceError(f"silver cues: combiner.{where} names {lf!r}, not a {task} LF of the file")

    def apply(self, text: str) -> dict[str, str]:
        """The non-abstaining votes of every LF on ``text``: ``{lf_name: label}``."""
        out = {}
        for f in self.lfs:
            v = f(text)
            if v is not ABSTAIN:
                out[f.name] = v
        return out

    def combine(self, votes: dict[str, str]) -> tuple[list[str] | None, str | None]:
        """Combine LF votes into ``(themes, tone)``; ``themes`` is ``None`` when no theme LF voted (or
        only catch-all votes and the codebook has no catch-all); ``tone`` is ``None`` when no tone LF
        voted and the codebook has no no-signal tone. See the module docstring."""
        schema = self.schema
        theme_votes = {votes[n] for n in self._theme_names if n in votes}
        themes: list[str] | None = None
        if theme_votes:
            real = {v for v in theme_votes if v != schema.catch_all}
            for lf, vetoed in self.vetoes.items():
                if lf in votes:
                    real.difference_update(vetoed)
            if real:
                themes = schema.check_themes(sorted(real))
            elif schema.catch_all is not None:
                themes = [schema.catch_all]
        overriding = [votes[n] for n in self.tone_overrides if n in votes]
        tone = overriding[0] if overriding else schema.decide_tone(votes[n] for n in self._tone_names if n in votes)
        return themes, (tone if tone is not None else schema.no_signal)

    def label(self, text: str) -> tuple[list[str] | None, str | None, dict[str, str]]:
        """``(themes or None, tone or None, votes)`` for one text."""
        votes = self.apply(text)
        themes, tone = self.combine(votes)
        return themes, tone, votes

    def label_units(self, units, annotated_at: str = "") -> tuple[list[Label], dict]:
        """Silver :class:`Label` records for paragraph/sentence units (objects with ``paragraph_id``,
        ``text_sha1``, ``text``), and coverage counts. Units the combiner gives no themes or no tone
        get no label."""
        labels: list[Label] = []
        n = covered_theme = covered_tone = 0
        theme_counts: Counter = Counter()
        tone_counts: Counter = Counter()
        lf_fires: Counter = Counter()
        for u in units:
            n += 1
            themes, tone, votes = self.label(u.text)
            lf_fires.update(votes.keys())
            if any(k in votes for k in self._tone_names):
                covered_tone += 1
            if themes is None:
                continue
            covered_theme += 1
            if tone is None:
                continue
            theme_counts.update(themes)
            tone_counts[tone] += 1
            labels.append(Label(paragraph_id=u.paragraph_id, text_sha1=u.text_sha1, themes=themes, tone=tone,
                                annotator=self.annotator, annotated_at=annotated_at))
        info = {
            "units": n, "labelled": len(labels),
            "coverage": {"labelled": _r(len(labels) / n if n else 0.0),
                         "any_theme_lf": _r(covered_theme / n if n else 0.0),
                         "any_tone_lf": _r(covered_tone / n if n else 0.0)},
            "themes": {t: theme_counts.get(t, 0) for t in self.schema.theme_names},
            "tone": {t: tone_counts.get(t, 0) for t in self.schema.tone_names},
            "lf_coverage": {f.name: _r(lf_fires.get(f.name, 0) / n if n else 0.0) for f in self.lfs},
        }
        return labels, info

    def evaluate_against_gold(self, rows: list[dict]) -> dict:
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
            themes, tone, votes = self.label(r["text"])
            for name, lab in votes.items():
                lf_fire[name] += 1
                lf_hit[name] += int(lab in gold)
            if themes is None or tone is None:
                unlabelled += 1
                continue
            for lab in list(themes) + [tone]:
                lab_pred[lab] += 1
                lab_hit[lab] += int(lab in gold)
        per_lf = {}
        for f in self.lfs:
            k = f.name
            per_lf[k] = {"label": self.lf_label[k], "coverage": _r(lf_fire[k] / n if n else 0.0),
                         "precision": _r(lf_hit[k] / lf_fire[k]) if lf_fire[k] else None, "fires": lf_fire[k]}
        per_label = {}
        for lab in self.schema.theme_names + self.schema.tone_names:
            per_label[lab] = {"coverage": _r(lab_pred[lab] / n if n else 0.0),
                              "precision": _r(lab_hit[lab] / lab_pred[lab]) if lab_pred[lab] else 0.0,
                              "recall": _r(lab_hit[lab] / lab_gold[lab]) if lab_gold[lab] else 0.0,
                              "gold_support": lab_gold[lab], "silver_assigned": lab_pred[lab]}
        return {"paragraphs": n, "labelled": n - unlabelled, "coverage": _r((n - unlabelled) / n if n else 0.0),
                "per_lf": per_lf, "per_label": per_label}


def silver_rules(schema: LabelSchema | None = None, cues=None) -> SilverRules:
    """The :class:`SilverRules` of ``schema`` (default: the packaged codebook).

    ``cues``: a cue file path (or its loaded dict); a label of it the codebook lacks is an error
    naming the LF. Without ``cues`` the packaged cues are used when every label they name is in
    the codebook; otherwise the codebook has no cues: :class:`NoSilverCues`.
    """
    schema = schema or default_schema()
    if cues is not None:
        return SilverRules(cues if isinstance(cues, dict) else load_cues(cues), schema)
    if schema.digest() == default_schema().digest():
        return _default_rules()
    data = load_cues()
    needs = {f["label"] for f in data["functions"]} | {t for v in data["combiner"].get("vetoes", {}).values() for t in v}
    missing = sorted(needs - set(schema.themes) - set(schema.tones))
    if missing:
        raise NoSilverCues(f"no silver labels: the codebook{' ' + schema.source if schema.source else ''} has no "
                           f"silver cue file (the packaged cues vote for {', '.join(missing)}, which it lacks); "
                           "write one in the format of vistance/data/silver_cues.json and pass --cues FILE")
    return SilverRules(data, schema)


@lru_cache(maxsize=1)
def _default_rules() -> SilverRules:
    return SilverRules(load_cues(), default_schema())


_DEFAULT_NAMES = {"CUES": lambda r: r.data, "LF_VERSION": lambda r: r.version, "ANNOTATOR": lambda r: r.annotator,
                  "ALL_LFS": lambda r: r.lfs, "THEME_LFS": lambda r: r.theme_lfs, "TONE_LFS": lambda r: r.tone_lfs,
                  "LF_LABEL": lambda r: r.lf_label}


def __getattr__(name: str):
    """The packaged cues under the packaged codebook: ``silver.lf_<name>`` is the LF of that name;
    ``ALL_LFS``, ``LF_LABEL``, ``ANNOTATOR``... their lists."""
    if name in _DEFAULT_NAMES:
        return _DEFAULT_NAMES[name](_default_rules())
    if name.startswith("lf_") and name in _default_rules().by_name:
        return _default_rules().by_name[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def apply_lfs(text: str) -> dict[str, str]:
    """:meth:`SilverRules.apply` of the packaged cues and codebook."""
    return _default_rules().apply(text)


def combine(votes: dict[str, str]) -> tuple[list[str] | None, str | None]:
    """:meth:`SilverRules.combine` of the packaged cues and codebook."""
    return _default_rules().combine(votes)


def silver_label(text: str) -> tuple[list[str] | None, str | None, dict[str, str]]:
    """:meth:`SilverRules.label` of the packaged cues and codebook."""
    return _default_rules().label(text)


def label_units(units, annotated_at: str = "") -> tuple[list[Label], dict]:
    """:meth:`SilverRules.label_units` of the packaged cues and codebook."""
    return _default_rules().label_units(units, annotated_at)


def evaluate_against_gold(rows: list[dict]) -> dict:
    """:meth:`SilverRules.evaluate_against_gold` of the packaged cues and codebook."""
    return _default_rules().evaluate_against_gold(rows)


def _r(x: float) -> float:
    return round(float(x), 4)


# -- measurement against gold ----------------------------------------------------------------
def is_dev_article(article_id: str) -> bool:
    """The half of gold the cue lists were developed on (SHA-1 of the article id is even)."""
    return int(hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0


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


def run_silver(paragraphs, gold, gold_paragraphs, out="labels/silver", limit: int | None = None, *,
               schema: LabelSchema | None = None, cues=None) -> SilverReport:
    """Label the units of ``paragraphs`` (e.g. the ingested vietnews-fa) with the LFs and measure the
    LFs on the gold labels.

    ``schema``: the codebook (default: the packaged one); ``cues``: its cue file (see
    :func:`silver_rules`; a codebook without one raises :class:`NoSilverCues` before anything is
    written).

    Writes ``<out>/<corpus>.jsonl`` (ids, text hashes and labels; annotator ``lf:<version>``;
    atomic and locked) and ``<out>/stats.json``. ``gold`` (labels JSONL) and
    ``gold_paragraphs`` (their paragraphs JSONL) are only read; when either is missing the
    stats have an empty ``lf_vs_gold`` and the report a note. ``limit`` labels only the
    first N units. Refuses (:class:`~vistance.errors.VistanceError`) to write into the
    gold folder or the gold file.
    """
    from vistance.corpus import read_paragraphs
    from vistance.dataset.build import join_labels
    from vistance.io import atomic_write, file_lock, write_json
    from vistance.labels.store import read_labels

    rules = silver_rules(schema, cues)
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
    labels, info = rules.label_units(units, annotated_at=now)
    corpora = Counter(getattr(u, "corpus", None) or "unknown" for u in units)
    corpus = corpora.most_common(1)[0][0] if corpora else "unknown"
    target = out / f"{corpus if corpus != 'unknown' else 'silver'}.jsonl"   # one file per corpus labelled
    if target.resolve() == gold_path.resolve() or target.name == gold_path.name:
        raise VistanceError("silver labels are never written into the gold file")
    with file_lock(target), atomic_write(target) as fh:
        for lab in sorted(labels, key=lambda l: l.paragraph_id):
            d = lab.to_dict()
            d.pop("annotated_at", None)  # one time for the whole run, kept in stats.json
            fh.write(json.dumps(d, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")

    stats = {
        "about": "Silver labels from keyword labelling functions (src/vistance/labels/silver.py). Never gold, never evaluation.",
        "lf_version": rules.version, "annotator": rules.annotator, "generated_at": now,
        "corpus": corpus, "file": target.name, "limit": limit,
        "units": info["units"], "labelled": info["labelled"], "coverage": info["coverage"],
        "silver_label_counts": {"themes": info["themes"], "tone": info["tone"]},
        "lf_coverage_on_units": info["lf_coverage"],
    }
    notes = []
    gp = Path(gold_paragraphs)
    if gp.exists() and gold_path.exists():
        rows, join = join_labels(read_paragraphs(gp), read_labels(gold_path, schema=rules.schema), strict=False)
        ev = rules.evaluate_against_gold(rows)
        held = rules.evaluate_against_gold([r for r in rows if not is_dev_article(r["article_id"])])
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
