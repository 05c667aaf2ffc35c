"""The PhoBERT-style transformer kind, split along its seams.

============================  =====================================================
:mod:`.checkpoint`            tokenizer/encoder from a local folder or Hub name, offline-safe
:mod:`.numeric`               windows, pooling, logits -> probabilities, class weights (no torch)
:mod:`.networks`              the two head layouts and the collator (torch)
:mod:`.training`              ``Trainer`` with the multi-task loss, callbacks, multi-process helpers
:mod:`.model`                 :class:`TransformerModel`: ``fit`` / ``predict_proba`` / ``save`` / ``load``
:mod:`.notices`               drops two false notices of transformers 4.57 (installed on import)
============================  =====================================================

Importing this package does not import torch; the torch modules load on first use.
"""
from vistance.models.thresholds import GRID as THRESHOLD_GRID
from vistance.models.transformer.checkpoint import (check_tokenizer, checkpoint_error, hub_offline, load_encoder,
                                                    load_pretrained, load_tokenizer, max_tokens_allowed,
                                                    verify_checkpoint_folder)
from vistance.models.transformer.model import HEADS, TransformerModel
from vistance.models.transformer.notices import silence_spurious_notices
from vistance.models.transformer.numeric import (pool_windows, probs_from_logits, theme_pos_weights,
                                                 tone_class_weights, valid_scores, window_spans)

silence_spurious_notices()

__all__ = [
    "TransformerModel", "HEADS", "THRESHOLD_GRID", "window_spans", "theme_pos_weights", "tone_class_weights",
    "valid_scores", "pool_windows", "probs_from_logits", "load_tokenizer", "load_pretrained", "load_encoder",
    "check_tokenizer", "checkpoint_error", "hub_offline", "max_tokens_allowed", "verify_checkpoint_folder",
]
