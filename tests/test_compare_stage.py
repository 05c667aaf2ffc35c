"""The `compare` and `cards` stages follow the pipeline lists: a model added or removed with
`dvc exp run -S pipeline.transformers=[...]` makes them stale, and runs before them."""
from __future__ import annotations

import yaml

from conftest import ROOT

LISTS = {"pipeline.baselines", "pipeline.encoders", "pipeline.transformers"}


def _stage(name: str) -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][name]


def test_compare_and_cards_declare_the_pipeline_lists_as_params():
    for name in ("compare", "cards"):
        assert LISTS <= set(_stage(name)["params"]), name


def test_compare_and_cards_read_every_evaluated_models_metrics_whatever_the_lists():
    # a folder dep makes DVC order them after every stage writing a metrics file, listed or not
    assert {"experiments/metrics", "experiments/predictions"} <= set(_stage("compare")["deps"])
    assert {"experiments/metrics", "data/dataset"} <= set(_stage("cards")["deps"])   # the dataset's codebook
    assert "--dataset data/dataset" in _stage("cards")["cmd"]


def test_compare_depends_on_the_seed_its_bootstrap_uses():
    assert {"seed", "evaluate.n_boot", "compare"} <= set(_stage("compare")["params"])
