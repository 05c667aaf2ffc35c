"""A model kind declares its capabilities on its class; nothing outside models/ asks for a kind by name."""
from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from conftest import ROOT
from vistance.errors import ModelError
from vistance.models import REGISTRY, model_class
from vistance.models.base import ModelBase

CAPABILITIES = {"stochastic": bool, "seeded": bool, "baseline": bool, "needs_segmentation": bool,
                "can_explain": bool, "fork_safe": bool, "card_text": str}


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_registered_kind_declares_its_capabilities(kind):
    cls = model_class(kind)
    assert issubclass(cls, ModelBase) and cls.kind == kind
    for name, typ in CAPABILITIES.items():
        assert isinstance(getattr(cls, name), typ), (kind, name)
    if cls.can_explain:
        assert callable(getattr(cls, "explain", None))
    assert ("seed" in cls.Params.model_fields) == cls.seeded


def test_params_are_the_constructor_parameters_validated_strictly():
    params = model_class("tfidf").Params
    assert params(C=2, min_df=2).C == 2.0
    with pytest.raises(ValidationError, match="Cc"):
        params(Cc=2)                                  # a misspelt key
    with pytest.raises(ValidationError, match="word_ngram_max"):
        params(word_ngram_max="two")                  # a wrong type
    assert params().model_dump()["classifier"] == "logreg"  # defaults come from __init__


def test_a_new_kind_that_declares_nothing_gets_safe_defaults():
    class Plain(ModelBase):
        kind = "plain"

        def __init__(self, width: int = 3):
            self.width = width

    assert (Plain.stochastic, Plain.fork_safe, Plain.can_explain, Plain.baseline) == (False, False, False, False)
    assert Plain.Params().width == 3 and Plain.checkpoint_of({}) is None


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown model kind 'nope'"):
        model_class("nope")


def test_no_kind_names_outside_the_model_files():
    """Adding a kind is one file plus one REGISTRY line: no `kind == "..."` branches or kind lists elsewhere."""
    pattern = re.compile(r"""kind\s*(==|!=|\bin\b|\bnot in\b)\s*[\("'{\[]|[A-Z_]*KINDS?\s*=|KIND_TEXT""")
    names = "|".join(REGISTRY)
    literal = re.compile(rf"""["']({names})["']""")
    offenders = []
    for path in (ROOT / "src" / "vistance").rglob("*.py"):
        rel = path.relative_to(ROOT / "src" / "vistance").as_posix()
        if rel.startswith("models/"):
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and (literal.search(line) or "KIND" in line):
                offenders.append(f"{rel}:{no}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
