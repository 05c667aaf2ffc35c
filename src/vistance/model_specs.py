"""A ``models.<name>`` entry of params.yaml, checked against its kind's class when a command needs it.

    from vistance.config import load_config
    from vistance.model_specs import checked_spec
    kind, params = checked_spec(load_config("params.yaml"), "tfidf_lr")

:mod:`vistance.config` checks a model entry's shape only, so that loading the config imports no
model code (a stage that builds no model then depends on none). The commands that build or describe
models (train, evaluate, compare, cards, publish) call :func:`checked_spec` / :func:`check_specs`:
an unknown kind or a misspelt constructor parameter is a one-line
:class:`~vistance.errors.ConfigError` naming ``models.<name>.<key>``, the file and what is allowed.
"""
from __future__ import annotations

from pydantic import ValidationError

from vistance.errors import ConfigError


def checked_spec(cfg, name: str) -> tuple[str, dict]:
    """``(kind, constructor kwargs)`` of ``models.<name>`` in ``cfg``, validated by the kind's ``Params``."""
    from vistance.models import REGISTRY, model_class

    kind, params = cfg.model_spec(name)
    where = f"{cfg.source}: models.{name}"
    if kind not in REGISTRY:
        raise ConfigError(f"{where}.kind: unknown model kind {kind!r} (allowed: {', '.join(sorted(REGISTRY))})")
    params_model = getattr(model_class(kind), "Params", None)
    if params_model is None:
        return kind, params
    try:
        params_model.model_validate(params)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            allowed = sorted({"kind", "evaluate", "search", *params_model.model_fields})
            raise ConfigError(f"{where}.{loc}: unknown key (allowed here: {', '.join(allowed)})") from None
        raise ConfigError(f"{where}.{loc}: {first['msg']} (got {first.get('input')!r})") from None
    return kind, params


def check_specs(cfg, names=None) -> None:
    """Validate the entries called ``names`` (default: every entry of ``cfg.models``)."""
    for name in (cfg.models if names is None else names):
        checked_spec(cfg, name)
