"""Stance at corpus scale: which counterparts a paragraph names, and tone by counterpart x period x theme.

* :mod:`.counterparts` — the gazetteer (``vistance/data/counterparts.json``) and :func:`detect_counterparts`;
* :mod:`.aggregate` — :class:`ToneAggregator`, the cooperation index and article-bootstrap bands,
  for the labels of a :class:`~vistance.labels.schema.LabelSchema` (the model's);
* :mod:`.run` — the streaming pipeline behind ``vistance analyze`` (:func:`run_analysis`);
* :mod:`.plots` — the PNG figures.
"""
from vistance.analysis.aggregate import ToneAggregator, aggregate_tone, bootstrap_band, cooperation_index, period_of
from vistance.analysis.counterparts import Gazetteer, default_gazetteer, detect_counterparts

__all__ = [
    "Gazetteer", "default_gazetteer", "detect_counterparts",
    "ToneAggregator", "aggregate_tone", "bootstrap_band", "cooperation_index", "period_of",
]
