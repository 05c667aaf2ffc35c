"""Regenerate the generated deps of dvc.yaml (run from the repo root; tests/test_dvc_deps.py checks them).

- every vistance stage's ``src/vistance/*.py`` deps: what its command imports
  (:func:`vistance.cli.deps.stage_files`; model stages only the kinds of their foreach list);
- the model outputs ``compare`` and ``cards`` read: one set per model of ``pipeline`` in params.yaml;
- the codebook file (``${labels.codebook}``) of every stage that reads the label schema.

Hand-written deps (data files, ``src/vistance/data/*``, other stages' outputs) are kept.
"""
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from vistance.cli.deps import STAGES, group_models, stage_files  # noqa: E402

HEADER = """\
# fetch -> corpus -> labels -> dataset -> models -> evaluation -> cards. Every cmd is a `vistance` command.
# GENERATED deps (src/ modules per stage, model outputs of compare/cards): .venv/bin/python scripts/regen_dvc_deps.py
# (tests/test_dvc_deps.py checks them). The corpora: `fetch` (always run, ~1 s when up to date) writes
# data/corpora/<name>/ (fetch.json, plus articles.jsonl when a verified source was found: ../shared/corpus,
# an archive in data/corpora/downloads/ or ../shared/upstream/, or the pinned GitHub archive); ingest depends
# on those folders, so it reruns exactly when a corpus arrives or changes, and works without one.
"""


CODEBOOK = "${labels.codebook}"   # the label schema: a stage that reads it reruns when the label set changes


def model_output_deps(params: dict) -> dict[str, list[str]]:
    pipeline = group_models(params, "all")
    compared = [n for n in (params.get("compare", {}).get("models") or pipeline) if n in pipeline]
    return {
        "compare": [f"experiments/{kind}" for n in compared
                    for kind in (f"metrics/{n}.json", f"predictions/{n}.jsonl", f"models/{n}")],
        "cards": [f"experiments/{kind}" for n in pipeline for kind in (f"metrics/{n}.json", f"models/{n}.train.json")],
    }


def is_src(dep: str) -> bool:
    return dep.startswith("src/vistance/") and not dep.startswith("src/vistance/data/")


def is_model_output(dep: str) -> bool:
    return dep.startswith(("experiments/metrics/", "experiments/predictions/", "experiments/models/"))


def regenerate(dvc_yaml: Path, params_yaml: Path) -> str:
    d = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))
    params = yaml.safe_load(params_yaml.read_text(encoding="utf-8"))
    outputs = model_output_deps(params)
    for name, body in d["stages"].items():
        if name not in STAGES:
            continue
        body = body.get("do", body)
        kept = [x for x in body.get("deps", []) if not is_src(x) and x != CODEBOOK
                and not (name in outputs and is_model_output(x))]
        files = stage_files(name, params)
        codebook = [CODEBOOK] if "src/vistance/labels/schema.py" in files else []
        body["deps"] = outputs.get(name, []) + kept + codebook + files
    return HEADER + yaml.safe_dump(d, sort_keys=False, width=200, allow_unicode=True)


if __name__ == "__main__":
    path = ROOT / "dvc.yaml"
    path.write_text(regenerate(path, ROOT / "params.yaml"), encoding="utf-8")
    print(f"wrote {path}")
