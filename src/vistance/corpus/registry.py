"""The corpora as data: the questions every stage asks of ``params.yaml``'s ``corpora`` list.

    from vistance.config import load_config
    from vistance.corpus import registry
    cfg = load_config()
    registry.corpora_with_role(cfg.corpora, "training")      # -> [CorpusEntry, ...]
    registry.cross_corpus_split(cfg.corpora)                  # "test_<key>": the dataset split
    registry.cross_corpus_name(cfg.corpora)                   # "train_<training keys>_test_<key>"

Each helper takes the list (``Config.corpora``, :class:`~vistance.config.CorpusEntry` values);
``corpora=None`` means the packaged default list (``vistance/data/corpora.yaml``, stated once;
the committed ``params.yaml`` names the same entries). Split names derive from each entry's ``key``: the dataset split of a cross-corpus
test is ``test_<key>``; a generalisation split is ``train_<training keys>_test_<key>``, and
``train_both_test_<key>`` is that test scored on the model trained on every collection.

Adding a corpus is one entry in ``corpora`` (plus a reader in :mod:`vistance.corpus.readers` if its
format is new). ``corpora`` maps each name to its entry (:class:`~vistance.config.CorpusEntry`). A
local entry, e.g. a JSONL file of ``{id, title, date, source, paragraphs}`` objects::

    corpora:
      my-news:
        source: data/my-news/articles.jsonl     # or a folder of .txt / .jsonl files
        roles: [training]
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

UPSTREAM = "upstream"
#: where ``vistance corpus fetch`` writes corpus ``<name>`` (``articles.jsonl``, ``fetch.json``)
FETCH_ROOT = Path("data/corpora")


def default_corpora() -> list:
    """The packaged default list (``vistance/data/corpora.yaml``) as :class:`~vistance.config.CorpusEntry` values."""
    from vistance.config import _default_corpora

    return _default_corpora()


def _list(corpora) -> list:
    return default_corpora() if corpora is None else list(corpora)


# ---------------------------------------------------------------- one entry

def key(entry) -> str:
    """The entry's name in split names: ``key``, or its name without ``-``, ``.``, ``_``."""
    return entry.key or "".join(c for c in entry.name if c.isalnum())


def is_upstream(entry) -> bool:
    return entry.source == UPSTREAM


def articles_path(entry) -> Path:
    """What ingest reads: ``data/corpora/<name>/articles.jsonl`` (upstream) or the local source."""
    return FETCH_ROOT / entry.name / "articles.jsonl" if is_upstream(entry) else Path(entry.source)


def sentence_window(entry) -> int:
    """Sentences joined per unit (1 for a paragraph corpus)."""
    return entry.window if entry.unit == "sentence_window" else 1


def report_path(entry) -> Path:
    """The ingest report of the entry's output: ``report``, or ``ingest_report.json`` beside ``output``."""
    return Path(entry.report) if entry.report else Path(entry.output).parent / "ingest_report.json"


def title(entry) -> str:
    return entry.title or f"`{entry.name}`"


# ---------------------------------------------------------------- the list

def get(corpora, name: str):
    """The entry called ``name`` (a :class:`~vistance.errors.ConfigError` naming the others if none)."""
    from vistance.errors import ConfigError

    for e in _list(corpora):
        if e.name == name:
            return e
    raise ConfigError(f"no corpus {name!r} in corpora (have: {', '.join(e.name for e in _list(corpora))})")


def names(corpora=None) -> list[str]:
    return [e.name for e in _list(corpora)]


def corpora_with_role(corpora, role: str) -> list:
    """The entries that have ``role`` (``training``, ``cross_corpus_test``, ``cross_era_test``, ``analysis``)."""
    return [e for e in _list(corpora) if role in e.roles]


def primary_corpora(corpora=None) -> tuple[str, ...]:
    """Names of the corpora split into train/validation/test (training, not a cross-corpus test)."""
    return tuple(e.name for e in _list(corpora) if "training" in e.roles and "cross_corpus_test" not in e.roles)


def cross_corpus_tests(corpora=None) -> list:
    return corpora_with_role(corpora, "cross_corpus_test")


def cross_corpus_test(corpora=None):
    """The (first) cross-corpus test entry, or None."""
    tests = cross_corpus_tests(corpora)
    return tests[0] if tests else None


def test_split(entry) -> str:
    """The dataset split holding the entry's held-out test articles: ``test_<key>``."""
    return f"test_{key(entry)}"


def cross_corpus_split(corpora=None) -> Optional[str]:
    """The dataset split of the cross-corpus test (``test_<key>``), or None."""
    entry = cross_corpus_test(corpora)
    return test_split(entry) if entry is not None else None


def training_key(corpora=None) -> str:
    """The training side of a generalisation split name: the keys of the training corpora held out
    by no role, joined by ``_``."""
    return "_".join(key(e) for e in _list(corpora) if "training" in e.roles
                    and not {"cross_corpus_test", "cross_era_test"} & set(e.roles))


def generalisation_split(corpora, entry) -> str:
    """``train_<training key>_test_<key>``: a re-fit that never saw ``entry``, tested on it."""
    return f"train_{training_key(corpora)}_test_{key(entry)}"


def both_split(entry) -> str:
    """``train_both_test_<key>``: the test of ``entry`` scored on the model trained on every collection."""
    return f"train_both_test_{key(entry)}"


def cross_corpus_name(corpora=None) -> Optional[str]:
    """The generalisation split of the cross-corpus test (``train_<training key>_test_<key>``), or None."""
    entry = cross_corpus_test(corpora)
    return generalisation_split(corpora, entry) if entry is not None else None


def cross_corpus_both_name(corpora=None) -> Optional[str]:
    """``train_both_test_<key>`` of the cross-corpus test, or None."""
    entry = cross_corpus_test(corpora)
    return both_split(entry) if entry is not None else None


def cross_era_names(corpora=None) -> dict[str, str]:
    """``{corpus name: generalisation split}`` of every cross-era test (``train_<training key>_test_<key>``)."""
    return {e.name: generalisation_split(corpora, e) for e in corpora_with_role(corpora, "cross_era_test")}


def split_descriptions(corpora=None) -> dict[str, str]:
    """``{generalisation split: what it is}`` in words, for the model card."""
    trained = " and ".join(title(e) for e in _list(corpora) if "training" in e.roles
                           and not {"cross_corpus_test", "cross_era_test"} & set(e.roles)) or "the training corpora"
    out = {}
    for e in cross_corpus_tests(corpora):
        out[generalisation_split(corpora, e)] = (f"cross-corpus: re-fitted on {trained} of the other outlets, "
                                                 f"tested on {title(e)}")
        out[both_split(e)] = f"cross-corpus, trained on both collections, tested on the {e.name} test articles"
    for e in corpora_with_role(corpora, "cross_era_test"):
        out[generalisation_split(corpora, e)] = (f"cross-time: re-fitted on {trained} of the other outlets, "
                                                 f"tested on {title(e)}")
    return out


def outputs(corpora=None) -> dict[str, list]:
    """``{output file: entries}``: what one ingest run writes, in list order."""
    out: dict[str, list] = {}
    for e in _list(corpora):
        out.setdefault(e.output, []).append(e)
    return out


@functools.lru_cache(maxsize=8)
def _manifest(name: str) -> dict:
    """The committed manifest of upstream corpus ``name`` (read here: the registry imports no fetch code)."""
    import json
    from importlib import resources

    from vistance.errors import ConfigError

    f = resources.files("vistance").joinpath("data", "corpus_manifests", f"{name}.json")
    if not f.is_file():
        raise ConfigError(f"corpus {name!r} has source upstream but no manifest vistance/data/corpus_manifests/"
                          f"{name}.json; give it a local source")
    return json.loads(f.read_text("utf-8"))


def upstream_sources(corpora=None) -> dict[str, str]:
    """``{name: repository URL}`` of every upstream corpus (from its committed manifest)."""
    return {e.name: _manifest(e.name)["repository"] for e in _list(corpora) if is_upstream(e)}


def corpus_of(article_id: str, corpora=None) -> str:
    """The name of the corpus whose articles include ``article_id`` (``unknown`` if none does).

    Upstream corpora answer from their committed manifests; local ones from their source
    (file stems of a folder's ``.txt`` articles, ids of its JSONL articles).
    """
    for e in _list(corpora):
        if article_id in _article_ids(e.name, e.source):
            return e.name
    return "unknown"


@functools.lru_cache(maxsize=16)
def _article_ids(name: str, source: str) -> frozenset:
    if source == UPSTREAM:
        return frozenset(a["id"] for a in _manifest(name)["articles"])
    from vistance.corpus.readers import JSONL_SUFFIXES, TEXT_SUFFIXES, read_articles

    p = Path(source)
    files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES
                   and not f.name.startswith(".")) if p.is_dir() else [p] if p.is_file() else []
    return frozenset(a.article_id for f in files for a in read_articles(f, corpus=name, on_error=lambda e: None))


__all__ = [ "UPSTREAM", "FETCH_ROOT", "default_corpora", "key", "is_upstream", "articles_path",
           "sentence_window", "report_path", "title", "get", "names", "corpora_with_role", "primary_corpora",
           "cross_corpus_tests", "cross_corpus_test", "test_split", "cross_corpus_split", "training_key",
           "generalisation_split", "both_split", "cross_corpus_name", "cross_corpus_both_name", "cross_era_names",
           "split_descriptions", "outputs", "upstream_sources", "corpus_of"]
