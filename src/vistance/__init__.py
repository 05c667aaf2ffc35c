"""vistance: policy theme and tone classification for Vietnamese diplomatic news.

The notebook API (imported lazily, so ``import vistance`` stays cheap and has no side effects)::

    from vistance import load_config, read_paragraphs, read_labels, load_dataset, load_model, run_analysis

Config: ``load_config`` (typed). Data: ``ingest_paths``, ``read_paragraphs``,
``write_paragraphs``, ``read_labels``, ``join_labels``, ``build_dataset``, ``load_dataset``,
``rows_from_dataset``, ``read_jsonl``, ``write_jsonl``. Labels: ``LabelSchema``, ``load_schema`` (a
codebook file), ``default_schema`` (the packaged codebook). Models: ``load_model``,
``build_model``, ``fit_model``, ``predict``. Analysis: ``run_analysis``, ``analyse_corpus``,
``gazetteer``, ``plot_coop_index``, ``plot_comparison``; label review: ``review_labels``. Corrected shares
(prediction-powered, from a design-based gold sample): ``estimate_shares``, ``estimate_corpus``, ``read_design``.
"""

__version__ = "0.1.0"

_API = {   # name -> (module, attribute)
    "LabelSchema": ("vistance.labels.schema", "LabelSchema"),
    "load_schema": ("vistance.labels.schema", "load_schema"),
    "default_schema": ("vistance.labels.schema", "default_schema"),
    "ingest_paths": ("vistance.corpus", "ingest_paths"),
    "write_paragraphs": ("vistance.corpus", "write_paragraphs"),
    "join_labels": ("vistance.dataset.build", "join_labels"),
    "rows_from_dataset": ("vistance.dataset.build", "rows_from_dataset"),
    "build_model": ("vistance.models", "build_model"),
    "fit_model": ("vistance.models.train", "fit_rows"),
    "run_analysis": ("vistance.analysis.run", "run_analysis"),
    "gazetteer": ("vistance.analysis.counterparts", "default_gazetteer"),
    "plot_coop_index": ("vistance.analysis.plots", "coop_index_timeseries"),
    "plot_comparison": ("vistance.evaluation.plots", "comparison_bars"),
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
    "estimate_shares": ("vistance.analysis.estimate", "estimate_shares"),
    "estimate_corpus": ("vistance.analysis.estimate_run", "estimate_corpus"),
    "read_design": ("vistance.labels.design", "read_design"),
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
