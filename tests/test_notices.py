"""The two false notices of transformers 4.57 are dropped; every other notice of those loggers passes."""
import logging

import pytest

import vistance.models.transformer  # noqa: F401  (installs the filters on import)

MISTRAL = ("The tokenizer you are loading from 'experiments/models/e5_ft' with an incorrect regex pattern: "
           "https://huggingface.co/… This will lead to incorrect tokenization. You should set the "
           "`fix_mistral_regex=True` flag when loading this tokenizer to fix this issue.")
LOSS = "`loss_type=None` was set in the config but it is unrecognized. Using the default loss: `ForCausalLMLoss`."


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("name, spurious", [("transformers.tokenization_utils_base", MISTRAL),
                                             ("transformers.modeling_utils", LOSS)])
def test_spurious_notice_is_dropped_and_others_pass(name, spurious):
    logger = logging.getLogger(name)
    keep = _Keep()
    logger.addHandler(keep)
    try:
        logger.warning(spurious)
        logger.warning("The tokenizer you are loading from 'x' has no vocabulary file.")
        logger.warning("`loss_type=Foo` was set in the config but it is unrecognized.")
    finally:
        logger.removeHandler(keep)
    assert spurious not in keep.messages
    assert len(keep.messages) == 2


def test_installing_twice_adds_one_filter():
    from vistance.models.transformer.notices import silence_spurious_notices

    silence_spurious_notices()
    assert len(logging.getLogger("transformers.modeling_utils").filters) == 1
