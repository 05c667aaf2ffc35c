"""dvc.yaml's source deps are the modules each stage's command imports (generated, then checked here)."""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT
from vistance.cli.deps import STAGES, stage_files
from vistance.corpus.manifest import corpus_manifest, write_manifest


def _stages():
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _params():
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_depends_on_exactly_the_modules_it_imports(stage):
    body = _stages()[stage]
    body = body.get("do", body)
    declared = sorted(d for d in body["deps"] if d.startswith("src/vistance/") and not d.startswith("src/vistance/data/"))
    assert declared == stage_files(stage, _params()), "regenerate: .venv/bin/python scripts/regen_dvc_deps.py"


def test_every_vistance_stage_is_checked():
    assert set(_stages()) == set(STAGES)


def test_stages_that_build_no_model_import_no_model_code():
    params = _params()
    for stage in ("fetch", "ingest", "gold", "agreement", "dataset"):
        deps = stage_files(stage, params)
        assert not [d for d in deps if d.startswith(("src/vistance/models", "src/vistance/evaluation",
                                                      "src/vistance/analysis"))], stage
    assert all(d.startswith(("src/vistance/labels/", "src/vistance/cli/")) or d in (
        "src/vistance/__init__.py", "src/vistance/config.py", "src/vistance/errors.py", "src/vistance/io.py")
        for d in stage_files("gold", params))   # config.py: the codebook it names (labels.codebook)


def test_a_model_stage_depends_on_the_kinds_of_its_list_only():
    params = _params()
    base = stage_files("train_baseline", params)
    assert "src/vistance/models/lexicon.py" in base and "src/vistance/models/tfidf.py" in base
    assert not any(d.startswith("src/vistance/models/transformer/") for d in base)
    assert "src/vistance/models/embedding.py" in stage_files("train_encoder", params)
    # an empty (opt-in) group depends on the kinds an opt-in run may add: every model no group lists
    params["pipeline"]["transformers"] = []
    assert "src/vistance/models/transformer/model.py" in stage_files("train_transformer", params)


def test_compare_and_cards_read_the_outputs_of_every_pipeline_model():
    st, params = _stages(), _params()
    for name in [*params["pipeline"]["baselines"], *params["pipeline"]["transformers"]]:
        assert f"experiments/metrics/{name}.json" in st["cards"]["deps"]
        assert f"experiments/models/{name}.train.json" in st["cards"]["deps"]
    assert "${labels.silver_dir}/stats.json" in st["cards"]["deps"]


def test_fetch_and_ingest_follow_the_corpora_list_and_depend_on_folders_that_always_exist():
    st = _stages()
    fetch = st["fetch"]
    assert fetch["foreach"] == "${corpora}"                      # one fetch@<name> per params entry
    (out, opts), = fetch["do"]["outs"][0].items()
    assert out == "data/corpora/${key}" and opts == {"cache": False, "persist": True}
    assert "--source ${item.source}" in fetch["do"]["cmd"]
    ingest = st["ingest"]
    assert "data/corpora" in ingest["deps"] and ingest["params"] == ["corpora"]
    assert ingest["cmd"].startswith("vistance corpus ingest")
    assert not any("${corpus." in d or "../" in d for s in st.values() for d in s.get("do", s).get("deps", []))


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
