"""vistance: policy theme and tone classification for Vietnamese diplomatic news.

The notebook API (imported lazily, so ``import vistance`` stays cheap and has no side effects)::

    from vistance import load_config, read_paragraphs, read_labels, load_dataset, load_model, predict, analyse_corpus
"""

__version__ = "0.1.0"

_API = {
    "load_config": ("vistance.config", "load_config"),
    "read_paragraphs": ("vistance.corpus", "read_paragraphs"),
    "read_labels": ("vistance.labels.store", "read_labels"),
    "load_dataset": ("vistance.dataset", "load_dataset_dict"),
    "build_dataset": ("vistance.dataset.build", "build_dataset"),
    "load_model": ("vistance.models", "load_model"),
    "predict": ("vistance.analysis.run", "analyse_batch"),
    "analyse_corpus": ("vistance.analysis.run", "analyse_corpus"),
    "review_labels": ("vistance.evaluation.label_quality", "review_labels"),
    "read_jsonl": ("vistance.io", "read_jsonl"),
    "write_jsonl": ("vistance.io", "write_jsonl"),
}
__all__ = sorted(_API)


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'vistance' has no attribute {name!r}")
    import importlib

    module, attr = _API[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_API])
