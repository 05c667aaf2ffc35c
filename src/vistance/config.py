"""``params.yaml``: every knob of the pipeline in one file, grouped by stage."""
from __future__ import annotations

from pathlib import Path

import yaml

from vistance.errors import VistanceError


def load_params(path="params.yaml") -> dict:
    path = Path(path)
    if not path.is_file():
        raise VistanceError(f"{path}: no params file (run from the project folder or pass --params)")
    with open(path, encoding="utf-8") as fh:
        params = yaml.safe_load(fh) or {}
    if not isinstance(params, dict):
        raise VistanceError(f"{path}: expected a mapping at the top level")
    return params


def model_params(params: dict, name: str) -> tuple[str, dict]:
    """``(kind, constructor kwargs)`` of the model called ``name`` in ``params['models']``."""
    models = params.get("models") or {}
    if name not in models:
        raise VistanceError(f"no model {name!r} in params.yaml 'models' (have: {', '.join(sorted(models))})")
    spec = dict(models[name])
    kind = spec.pop("kind", None)
    if not kind:
        raise VistanceError(f"model {name!r} in params.yaml has no 'kind'")
    spec.pop("evaluate", None)
    return kind, spec
