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

:func:`load_params` / :func:`model_params` are the dict views older code uses (validated too).
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
    seeds: str = "data/raw"
    reference: Optional[str] = "../shared/corpus"   # <reference>/<name>/articles.jsonl: a verified copy fetch may use
    download: bool = True                            # fetch may download the pinned archive from GitHub
    news2024: Optional[str] = "data/corpora/news-2024/articles.jsonl"   # written by `vistance corpus fetch news-2024`
    vietnews: Optional[str] = "data/corpora/vietnews-fa/articles.jsonl"
    vietnews_sentence_window: int = Field(3, ge=1)   # the gold unit of vietnews-fa: windows of 3 sentences


class LabelsConfig(Section):
    codebook: Optional[str] = None          # the codebook file (label schema); None: the packaged default
    gold: str = "labels/gold.jsonl"
    first_pass: str = "labels/first_pass.jsonl"
    second_pass: str = "labels/second_pass.jsonl"
    adjudication: str = "labels/adjudication.jsonl"
    silver_dir: str = "labels/silver"


class DatasetConfig(Section):
    seed: int = 13
    crosscorpus_test: Optional[str] = None   # JSON with "articles": held out as the test_vietnews split
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

    def as_params(self) -> dict:
        """The plain-dict view (defaults filled in, unset optional keys left out)."""
        out = self.model_dump(exclude_none=True)
        out["models"] = {n: {"kind": s.kind, **s.params(),
                             **({"evaluate": s.evaluate.model_dump(exclude_none=True)} if s.evaluate else {}),
                             **({"search": s.search.model_dump()} if s.search else {})}
                         for n, s in self.models.items()}
        return out


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


#: bounds of a params file: its size, its nesting, and its values once aliases are expanded
MAX_YAML_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 40
MAX_YAML_VALUES = 100_000


class _Refused(Exception):
    """A params file refused while composing (too deep, too many values, a duplicate key)."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.mark = mark


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and nesting deeper than :data:`MAX_YAML_DEPTH`."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested deeper than {MAX_YAML_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # the base class names an unhashable key
                if key in first:
                    raise _Refused(f"duplicate key {key!r} (first on line {first[key] + 1}); "
                                   "YAML would silently keep the last one", key_node.start_mark)
                first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _count_values(root) -> None:
    """Refuse a node graph that holds more than :data:`MAX_YAML_VALUES` values once every alias is
    expanded (a "billion laughs" file is small as YAML and huge as data), or a recursive alias."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise _Refused("an alias refers to a node that contains it (a recursive structure)", node.start_mark)
        busy.add(key)
        n = 1
        if isinstance(node, yaml.SequenceNode):
            n += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            n += sum(size(k) + size(v) for k, v in node.value)
        busy.discard(key)
        if n > MAX_YAML_VALUES:
            raise _Refused(f"more than {MAX_YAML_VALUES} values once its aliases are expanded "
                           "(an alias bomb?)", node.start_mark)
        sizes[key] = n
        return n

    size(root)


def _decode(raw: bytes, path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: broken UTF-16 text ({e.reason})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        at = e.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw.count(b"\n", 0, at) + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (invalid byte 0x{raw[at]:02x} at offset {at}); "
                          "re-save the file as UTF-8") from None


def safe_load_yaml(raw: bytes, path="params.yaml"):
    """Parse a YAML document safely and within bounds; every problem is a one-line :class:`ConfigError`.

    Plain ``yaml.safe_load`` plus: UTF-8 (or BOM-marked UTF-16) only, at most :data:`MAX_YAML_BYTES`,
    no duplicate keys (YAML keeps the last one silently), nesting at most :data:`MAX_YAML_DEPTH`,
    at most :data:`MAX_YAML_VALUES` values with aliases expanded (anchors and aliases stay usable).
    """
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_YAML_BYTES} bytes; not a params file")
    text = _decode(raw, path)
    loader = None
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _count_values(node)
        return loader.construct_document(node)
    except _Refused as e:
        where = f"{path}:{e.mark.line + 1}" if e.mark is not None else str(path)
        raise ConfigError(f"{where}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        why = " ".join(str(getattr(e, "problem", None) or e).split())  # one line
        raise ConfigError(f"{where}: not valid YAML ({why})") from None
    except (ValueError, OverflowError, RecursionError) as e:  # e.g. a 5,000-digit integer, 2024-13-45
        raise ConfigError(f"{path}: not valid YAML ({str(e).split(':')[0][:200]})") from None
    finally:
        if loader is not None:
            loader.dispose()


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


def load_params(path="params.yaml") -> dict:
    """The validated params as a plain dict (defaults filled in); see :func:`load_config`."""
    return load_config(path).as_params()


def model_params(params: dict, name: str) -> tuple[str, dict]:
    """``(kind, constructor kwargs)`` of the model called ``name`` in ``params['models']``."""
    models = params.get("models") or {}
    if name not in models:
        raise VistanceError(f"no model {name!r} in params.yaml 'models' (have: {', '.join(sorted(models))})")
    spec = dict(models[name])
    kind = spec.pop("kind", None)
    if not kind:
        raise VistanceError(f"model {name!r} in params.yaml has no 'kind'")
    spec.pop("evaluate", None)
    spec.pop("search", None)
    return kind, spec
