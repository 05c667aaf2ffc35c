"""dvc.yaml's source deps are the modules each stage's command imports (generated, then checked here)."""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT
from vistance.cli.deps import command_files
from vistance.corpus.manifest import corpus_manifest, write_manifest

STAGE_COMMAND = {
    "ingest": ["ingest"], "ingest_unlabelled": ["ingest"], "gold": ["labels", "build-gold"],
    "agreement": ["agreement"], "dataset": ["dataset"], "checkpoint": ["checkpoint"], "pretrain": ["pretrain"],
    "train_baseline": ["train", "x"], "train_transformer": ["train", "x"], "evaluate_baseline": ["evaluate", "x"],
    "evaluate_transformer": ["evaluate", "x"], "compare": ["compare"], "cards": ["cards"], "analyze": ["analyze"],
}


def _stages():
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", sorted(STAGE_COMMAND))
def test_each_stage_depends_on_exactly_the_modules_it_imports(stage):
    body = _stages()[stage]
    body = body.get("do", body)
    declared = sorted(d for d in body["deps"] if d.startswith("src/vistance/") and not d.startswith("src/vistance/data/"))
    assert declared == command_files(STAGE_COMMAND[stage]), "regenerate: .venv/bin/python scripts/regen_dvc_deps.py"


def test_every_vistance_stage_is_checked():
    assert set(_stages()) - {"corpora"} == set(STAGE_COMMAND)


def test_ingest_stages_depend_on_corpus_manifests_not_on_possibly_absent_files():
    st = _stages()
    assert "data/corpora/news2024.json" in st["ingest"]["deps"]
    assert "data/corpora/vietnews.json" in st["ingest_unlabelled"]["deps"]
    assert not any("${corpus.news2024}" in d or "${corpus.vietnews}" in d for s in st.values() for d in s.get("deps", []))


def test_a_manifest_changes_exactly_when_the_corpus_content_does(tmp_path):
    corpus, out = tmp_path / "articles.jsonl", tmp_path / "m.json"
    write_manifest(corpus, out)
    absent = out.read_bytes()
    assert json.loads(absent) == {"path": str(corpus), "present": False}
    corpus.write_text('{"id": "a"}\n', encoding="utf-8")
    write_manifest(corpus, out)
    first = out.read_bytes()
    assert first != absent and corpus_manifest(corpus)["bytes"] == 12
    corpus.touch()                                 # a new mtime, the same bytes: nothing to rerun
    write_manifest(corpus, out)
    assert out.read_bytes() == first
    corpus.write_text('{"id": "b"}\n', encoding="utf-8")
    write_manifest(corpus, out)
    assert out.read_bytes() != first
