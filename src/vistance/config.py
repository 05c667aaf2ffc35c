"""``params.yaml``, typed: one section a stage, validated once, defaults in one place.

    from vistance.config import load_config
    cfg = load_config("params.yaml")          # -> Config; bad keys raise ConfigError
    cfg.analysis.period, cfg.models["tfidf_lr"].kind, cfg.model_spec("tfidf_lr")

Every section is a pydantic model with ``extra="forbid"``: an unknown or misspelt key, or a
value of the wrong type, is a :class:`~vistance.errors.ConfigError` whose one-line message
names the key path, the file and what is allowed (the CLI exits 2 on it). The defaults here
are the values of the committed ``params.yaml``; a section or key left out of a file gets them.

A model entry (``models.<name>``) has a ``kind`` (a key of :data:`vistance.models.REGISTRY`),
an optional ``evaluate`` block (:class:`ModelEvaluate`), and the constructor parameters of its
class. Loading checks the entry's shape only; its kind and parameters are validated by the class's
own ``Params`` model when a command needs that model (:mod:`vistance.model_specs`), so a stage
that builds no model (ingest, dataset, ...) imports no model code and does not depend on it.

Library functions take the typed sections (``cfg.evaluate``, ``cfg.corpora``, ...) or keyword
arguments, never a params dict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, PrivateAttr, field_validator, model_validator

from vistance.errors import ConfigError, VistanceError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class CorpusConfig(Section):
    """``corpus``: what ``vistance corpus fetch`` may use for every upstream corpus (the corpora: ``corpora``)."""

    reference: Optional[str] = "../shared/corpus"   # <reference>/<name>/articles.jsonl: a verified copy fetch may use
    download: bool = True                            # fetch may download the pinned archive from GitHub


CorpusRole = Literal["training", "cross_corpus_test", "cross_era_test", "analysis"]


class CorpusEntry(Section):
    """One entry of ``corpora`` (a mapping ``name: entry``, in order; the name names dvc.yaml's stages
    ``fetch@<name>``): a collection of articles, where it comes from, its unit and its roles.

    ``source``: ``upstream`` (the pinned archive named by ``src/vistance/data/corpus_manifests/<name>.json``,
    fetched and verified into ``data/corpora/<name>/articles.jsonl``) or a local folder / file (``.txt``
    seed-format articles, ``.jsonl`` articles; :mod:`vistance.corpus.readers`). ``unit``: ``paragraph``, or
    ``sentence_window`` (``window`` consecutive sentences; for articles given as ``sentences``). ``roles``:
    ``training`` (split into train/validation/test), ``cross_corpus_test`` (whole articles held out as the
    dataset split ``test_<key>``; the rest join train/validation; a collection the one-fit generalisation
    design never trains on), ``cross_era_test`` (held out whole by that design), ``analysis``. Entries
    with the same ``output`` are ingested together, in file-path order, de-duplicated across them.
    :mod:`vistance.corpus.registry` answers the questions asked of this list.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")   # the key of its ``corpora`` entry
    source: str                                   # "upstream", or a local folder / file
    unit: Literal["paragraph", "sentence_window"] = "paragraph"
    window: int = Field(1, ge=1)                  # sentences per unit (unit: sentence_window)
    roles: list[CorpusRole] = Field(default_factory=lambda: ["training"])
    output: str = "data/processed/paragraphs.jsonl"   # the paragraphs file ingest writes it into
    report: Optional[str] = None                  # its ingest report; None: ingest_report.json beside ``output``
    key: Optional[str] = None                     # its name in split names; None: ``name`` without - . _
    title: Optional[str] = None                   # a noun phrase naming it in cards; None: `name`
    card: Optional[str] = None                    # its dataset-card line: {facts} {articles} {source} {window}

    @model_validator(mode="after")
    def _unit(self):
        if self.unit == "paragraph" and self.window != 1:
            raise ValueError(f"corpus {self.name!r}: window applies to unit sentence_window only")
        return self


DEFAULT_CORPORA_FILE = "corpora.yaml"   # vistance/data/: the default ``corpora`` (the committed params.yaml's)


def _default_corpora() -> list[CorpusEntry]:
    """The packaged default ``corpora`` (read here: loading a config imports no corpus code)."""
    from importlib import resources

    from vistance.io import safe_load_yaml

    f = resources.files("vistance").joinpath("data", DEFAULT_CORPORA_FILE)
    raw = safe_load_yaml(f.read_bytes(), f"vistance/data/{DEFAULT_CORPORA_FILE}")
    return [CorpusEntry.model_validate(e) for e in _corpora_entries(raw)]


def _corpora_entries(v):
    """``corpora`` as written (``{name: entry}``, or a list of entries with ``name``) -> a list of entries."""
    if isinstance(v, dict):
        out = []
        for name, entry in v.items():
            if not isinstance(entry, dict):
                raise ValueError(f"corpus {name!r}: expected a mapping (source, unit, roles, ...)")
            if entry.get("name", name) != name:
                raise ValueError(f"corpus {name!r}: its entry says name {entry['name']!r}")
            out.append({**entry, "name": name})
        return out
    return v


def _distinct_corpora(v: list[CorpusEntry]) -> list[CorpusEntry]:
    names = [e.name for e in v]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"corpus name(s) {', '.join(dup)} appear more than once")
    keys = [e.key or "".join(c for c in e.name if c.isalnum()) for e in v]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"corpus key(s) {', '.join(dup)} appear more than once (set `key`)")
    return v


class LabelsConfig(Section):
    codebook: Optional[str] = None          # the codebook file (label schema); None: the packaged default
    guide: str = "labels/CODEBOOK.md"       # the codebook's prose (rules, examples, edge cases): cited by the cards
    process: str = "labels/PROCESS.md"      # how the gold labels were made (the dataset card's "Annotation process")
    gold: str = "labels/gold.jsonl"
    first_pass: str = "labels/first_pass.jsonl"
    second_pass: str = "labels/second_pass.jsonl"
    adjudication: str = "labels/adjudication.jsonl"
    silver_dir: str = "labels/silver"


class DatasetConfig(Section):
    seed: int = 13
    crosscorpus_test: Optional[str] = None   # JSON with "articles": the cross-corpus test corpus's held-out articles (split test_<key>)
    split: dict[str, float] = Field(default_factory=lambda: {"train": 0.7, "validation": 0.15, "test": 0.15})

    @field_validator("split")
    @classmethod
    def _fractions(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(f < 0 for f in v.values()) or abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError("split fractions must be >= 0 and sum to 1")
        return v


class CheckpointConfig(Section):
    segmenter: str = "pyvi"
    num_merges: int = Field(4000, gt=0)
    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(2, gt=0)
    intermediate_size: int = Field(256, gt=0)
    max_length: int = Field(256, gt=0)
    max_texts: Optional[int] = Field(30000, gt=0)  # unlabelled units used for BPE and pretraining


class PretrainConfig(Section):
    max_steps: int = Field(2400, gt=0)
    max_seconds: Optional[float] = Field(2400, gt=0)
    batch_size: int = Field(32, gt=0)
    learning_rate: float = Field(0.0005, gt=0)
    max_length: int = Field(128, gt=0)


class ModelEvaluate(Section):
    """Per-model evaluation switches (``models.<name>.evaluate``)."""

    refit: bool = True            # False: no analysis that retrains the model (CV, generalisation, seeds, curve)
    cv: bool = True
    seed_variance: Optional[bool] = None   # None: the kind decides (stochastic kinds only)
    generalisation_seeds: bool = False     # the held-out re-fit once per evaluate.seeds: its score as mean ± sd
    learning_curve: bool = True
    learning_curve_fractions: Optional[list[float]] = None   # None: evaluate.learning_curve
    heldout_sources: Optional[int] = Field(None, ge=0)       # None: evaluate.heldout_sources


class ModelSearch(Section):
    """``models.<name>.search``: the validation-only hyper-parameter search and its budget
    (``scripts/heldout_comparison.py --search``; every grid point is one fit)."""

    grid: dict[str, list[Any]] = Field(default_factory=dict)   # parameter -> values tried (all combinations)
    seeds: list[int] = Field(default_factory=list)              # the chosen point refitted with these seeds


class ModelSpec(BaseModel):
    """``models.<name>``: ``kind``, optional ``evaluate``, and the class's constructor parameters.

    Validated here for its shape only (``kind`` a string, ``evaluate`` typed); the constructor
    parameters are checked by the kind's own ``Params`` model when a command asks for that model
    (:func:`vistance.model_specs.checked_spec`), so loading the config never imports a model class.
    """

    model_config = ConfigDict(extra="allow")
    kind: str
    evaluate: Optional[ModelEvaluate] = None
    search: Optional[ModelSearch] = None

    def params(self) -> dict[str, Any]:
        """The constructor keyword arguments (the entry without ``kind``, ``evaluate`` and ``search``)."""
        return dict(self.model_extra or {})


class PipelineConfig(Section):
    """What `dvc repro` builds: dvc.yaml's foreach lists (one group per kind family: their deps differ).

    Model groups (names in ``models``): ``baselines`` (lexicon, TF-IDF), ``encoders`` (frozen
    encoders + linear heads, ensembles), ``transformers`` (fine-tuned; opt in, e.g.
    ``dvc exp run -S 'pipeline.transformers=[e5_ft]'``). Checkpoint groups (opt in, empty by
    default): ``tiny_phobert`` (``[small]``: the tiny PhoBERT-shaped stand-in built and MLM-pretrained
    here, for ``phobert_random`` / ``phobert_pretrained``), ``encoder_checkpoints`` (``[e5-small]``:
    the converted multilingual-e5-small folder ``e5_ft`` fine-tunes).
    """

    baselines: list[str] = Field(default_factory=list)
    encoders: list[str] = Field(default_factory=list)
    transformers: list[str] = Field(default_factory=list)
    tiny_phobert: list[str] = Field(default_factory=list)
    encoder_checkpoints: list[str] = Field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return [*self.baselines, *self.encoders, *self.transformers]


class EvaluateConfig(Section):
    n_boot: int = Field(1000, ge=0)
    cv_folds: int = Field(5, ge=0)
    heldout_sources: int = Field(3, ge=0)
    seeds: list[int] = Field(default_factory=lambda: [13, 14, 15])
    learning_curve: list[float] = Field(default_factory=lambda: [0.1, 0.25, 0.5, 1.0])
    generalisation: bool = True
    min_paragraphs: int = Field(300, ge=0)   # fewer labelled paragraphs: no refitting analyses (metrics say "skipped")
    min_test_units: int = Field(20, ge=1)    # a held-out test (outlet, era) with fewer units is not scored (too noisy)


class CompareConfig(Section):
    models: Optional[list[str]] = None        # None: the pipeline's models (pipeline.baselines + encoders + transformers)
    select_metric: str = "generalisation"    # or a headline metric of the in-sample test split (tone_macro_f1, ...)
    reference: str = "tfidf_lr"              # the model every other is paired-tested against


class AnalysisConfig(Section):
    model: str = "experiments/models/tfidf_lr"  # what `analyze` / `estimate` predict with by default (cheap on 2 cores)
    period: Literal["month", "quarter", "year"] = "quarter"
    n_boot: int = Field(500, ge=0)
    batch_size: int = Field(512, gt=0)
    n_jobs: Optional[int] = None              # None: every core for large inputs
    gazetteer: Optional[str] = None           # a counterparts JSON file (vistance/data/counterparts.json's form); None: that one
    counterparts: Optional[list[str]] = None  # None: the gazetteer's `main`
    corpora: Optional[list[str]] = None       # None: every corpus


class ActiveLearningConfig(Section):
    """The active-learning simulation (``vistance simulate-active``) on the gold already held."""

    model: str = "tfidf_lr"                  # a name in `models`: the model that scores the pool
    strategies: list[str] = Field(default_factory=lambda: ["random", "margin", "diverse", "balanced"])
    budgets: list[int] = Field(default_factory=lambda: [100, 200, 400, 800])
    seeds: list[int] = Field(default_factory=lambda: [13, 14, 15])
    start: int = Field(50, gt=0)             # random labels every strategy starts from
    step: int = Field(100, gt=0)             # labels chosen per round
    goal_fraction: float = Field(0.6, gt=0, le=1)


class EstimateCheckConfig(Section):
    """``vistance estimate-check``: cross-era bias and coverage by simulation on the random gold sample."""

    model: str = "tfidf_lr"                  # a name in `models`, fitted on the rows outside the sampled corpus
    reps: int = Field(500, gt=0)             # simulation repetitions per gold fraction
    fractions: list[float] = Field(default_factory=lambda: [0.75, 0.5, 0.25])   # share of the sample's articles kept
    n_boot: int = Field(500, gt=0)


class EstimateConfig(Section):
    """``vistance estimate``: naive, gold-only and prediction-powered shares (docs/estimation.md)."""

    model: Optional[str] = None              # None: analysis.model
    designs: list[str] = Field(default_factory=list)   # recorded designs of the gold samples (one per corpus)
    n_boot: int = Field(1000, gt=0)
    level: float = Field(0.95, gt=0, lt=1)
    population: Literal["corpus", "superpopulation"] = "corpus"
    min_gold_units: int = Field(30, ge=0)    # fewer gold units in a cell: no number, a note instead
    min_gold_clusters: int = Field(20, ge=0)  # fewer gold articles: intervals under-cover (estimate_check, 18 kept)
    min_gold_positive: int = Field(5, ge=0)  # a share needs this many gold units carrying the label
    counterpart: str = "china"               # the counterpart of the naive-vs-corrected plot
    check: EstimateCheckConfig = Field(default_factory=EstimateCheckConfig)


class Config(Section):
    seed: int = 13
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    corpora: list[CorpusEntry] = Field(default_factory=_default_corpora)   # vistance.corpus.registry
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    active_learning: ActiveLearningConfig = Field(default_factory=ActiveLearningConfig)
    estimate: EstimateConfig = Field(default_factory=EstimateConfig)

    _source: str = PrivateAttr("params.yaml")   # the file it was read from (named in error messages)

    @property
    def source(self) -> str:
        return self._source

    @field_validator("corpora", mode="before")
    @classmethod
    def _corpora_mapping(cls, v):
        return _corpora_entries(v)

    @field_validator("corpora")
    @classmethod
    def _corpora(cls, v):
        return _distinct_corpora(v)

    @model_validator(mode="after")
    def _known_names(self):
        for where, names in (("pipeline.baselines", self.pipeline.baselines),
                             ("pipeline.encoders", self.pipeline.encoders),
                             ("pipeline.transformers", self.pipeline.transformers),
                             ("compare.models", self.compare.models or [])):
            unknown = [n for n in names if n not in self.models]
            if unknown:
                raise ValueError(f"{where} names {', '.join(unknown)}, not in models "
                                 f"(have: {', '.join(sorted(self.models)) or 'none'})")
        return self

    def schema(self):
        """The :class:`~vistance.labels.schema.LabelSchema` of ``labels.codebook``."""
        from vistance.labels.schema import load_schema

        return load_schema(self.labels.codebook)

    def model_spec(self, name: str) -> tuple[str, dict]:
        """``(kind, constructor kwargs)`` of the model called ``name``."""
        if name not in self.models:
            raise VistanceError(f"no model {name!r} in params.yaml 'models' (have: {', '.join(sorted(self.models))})")
        spec = self.models[name]
        return spec.kind, spec.params()



def _describe(err: dict, path) -> str:
    loc = ".".join(str(p) for p in err["loc"] if p not in ("function-after",)) or "(top level)"
    typ, msg = err["type"], err["msg"]
    if typ == "extra_forbidden":
        allowed = _allowed_keys(err["loc"])
        return f"{path}: unknown key {loc!r}" + (f" (allowed here: {', '.join(allowed)})" if allowed else "")
    if typ == "missing":
        return f"{path}: {loc!r} is required"
    given = err.get("input")
    shown = repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
    return f"{path}: {loc!r}: {msg} (got {shown})"


def _allowed_keys(loc) -> list[str]:
    model: type[BaseModel] | None = Config
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        if field is None:
            if model is Config or model is None:
                pass
            return []
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            model = inner[0]
        else:
            return []
    return sorted(model.model_fields) if model else []


def validate_params(raw: dict, path="params.yaml") -> Config:
    """Validate a params mapping; the first problem is a one-line :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_describe(e.errors()[0], path)) from None
    cfg._source = str(path)
    return cfg


# the bounded, strict YAML reader lives with the other readers (a codebook file uses it too)
from vistance.io import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_VALUES, safe_load_yaml  # noqa: E402,F401


def load_config(path="params.yaml") -> Config:
    """Read and validate a params file (see the module docstring and :func:`safe_load_yaml`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no params file (run from the project folder or pass --params)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    return validate_params(safe_load_yaml(raw, path) or {}, path)
