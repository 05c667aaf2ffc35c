"""Drop two notices of ``transformers`` 4.57 that are false for the checkpoints this package loads.

* "The tokenizer you are loading from '…' with an incorrect regex pattern … set ``fix_mistral_regex=True``":
  transformers 4.57.3-4.57.x print it for every *local* tokenizer folder with a vocabulary over 100,000 whose
  ``config.json`` was written by those versions (huggingface/transformers#42591, fixed upstream by #45444).
  The XLM-R SentencePiece tokenizer of multilingual-e5 is not Mistral's, and nothing is patched either way:
  with the flag unset the tokenizer is loaded unchanged (the notice only advises).
* "``loss_type=None`` was set in the config but it is unrecognized. Using the default loss:
  ``ForCausalLMLoss``": printed when anything reads ``PreTrainedModel.loss_function`` of an encoder (the
  tracer of the OpenVINO/ONNX export does); this package computes its own multi-task loss and never uses it.

Only records whose message starts with those exact words are dropped; every other notice passes.
"""
from __future__ import annotations

import logging

_SPURIOUS = {
    "transformers.tokenization_utils_base": "The tokenizer you are loading from ",
    "transformers.modeling_utils": "`loss_type=None` was set in the config but it is unrecognized.",
}


class _DropSpurious(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith(self.prefix) and ("fix_mistral_regex" in message or "ForCausalLMLoss" in message))


def silence_spurious_notices() -> None:
    """Install the filters (idempotent)."""
    for name, prefix in _SPURIOUS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropSpurious) for f in logger.filters):
            logger.addFilter(_DropSpurious(prefix))
