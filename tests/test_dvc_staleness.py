"""DVC knows what each stage depends on: change a corpus file, a module or a parameter after `dvc repro`,
and `dvc status` names exactly the stages that depend on it.

The expected stages are computed from the project's own DAG (dvc's Python API: each stage's deps and
params), then checked against hand-written facts (a model module never makes `ingest` stale). `dvc
status` reports the stages whose own inputs changed; the ones further down follow when `dvc repro`
finds those outputs changed. The project is the tiny one tests/test_pipeline.py builds (one `dvc repro`
a session, tests/conftest.py); each test here restores what it changed.
"""
from __future__ import annotations

import json

import pytest
import yaml

from conftest import run_ok, up_to_date
from vistance.cli import main

pytestmark = pytest.mark.slow

ALWAYS = {"fetch@seeds", "fetch@news-2024", "fetch@vietnews-fa"}   # fetch: always_changed


@pytest.fixture(scope="module")
def built(tiny_project):
    dst, env, _first = up_to_date(tiny_project)
    return dst, env


def _status(dst, env) -> set[str]:
    r = run_ok(["dvc", "status", "--json"], dst, env)
    return set(json.loads(r.stdout or "{}")) - ALWAYS


def _stages(dst):
    from dvc.repo import Repo

    with Repo(str(dst)) as repo:
        return [(s.name, list(s.deps)) for s in repo.index.stages]


def _depending_on_path(dst, rel: str) -> set[str]:
    from dvc.dependency.param import ParamsDependency

    target = (dst / rel).resolve()
    out = set()
    for name, deps in _stages(dst):
        for d in deps:
            if isinstance(d, ParamsDependency):
                continue
            p = (dst / d.def_path).resolve()
            if target == p or p in target.parents:
                out.add(name)
    return out


def _depending_on_param(dst, key: str) -> set[str]:
    from dvc.dependency.param import ParamsDependency

    out = set()
    for name, deps in _stages(dst):
        for d in deps:
            if isinstance(d, ParamsDependency):
                keys = d.params or []
                if any(key == k or key.startswith(k + ".") for k in keys):
                    out.add(name)
    return out


def test_on_the_seeds_alone_evaluation_says_what_it_skipped(built, tmp_path, monkeypatch):
    # the stage's command with the default evaluate.min_paragraphs (300): the tiny project sets 0 to run every analysis
    dst, _env = built
    params = yaml.safe_load((dst / "params.yaml").read_text(encoding="utf-8"))
    params["evaluate"]["min_paragraphs"] = 300
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(dst)
    assert main(["evaluate", "tfidf_lr", "--model", "experiments/models/tfidf_lr", "--out", str(tmp_path),
                 "--params", str(tmp_path / "params.yaml")]) == 0
    metrics = json.loads((tmp_path / "metrics" / "tfidf_lr.json").read_text(encoding="utf-8"))
    assert metrics["skipped"].endswith("50 labelled paragraphs < evaluate.min_paragraphs 300")
    assert "grouped_cv" not in metrics and "learning_curve" not in metrics and metrics["headline"]


def _restore(path, before):
    path.write_bytes(before)


def test_after_repro_nothing_is_stale(built):
    assert _status(*built) == set()


def test_a_changed_corpus_file_makes_its_readers_stale(built):
    dst, env = built
    seed = sorted((dst / "data" / "raw").iterdir())[0]
    before = seed.read_bytes()
    seed.write_bytes(before + "\n\nMột đoạn mới thêm vào bài này để kiểm tra.\n".encode())
    try:
        stale = _status(dst, env)
        assert stale == _depending_on_path(dst, str(seed.relative_to(dst)))
        assert stale == {"ingest"}
    finally:
        _restore(seed, before)
    assert _status(dst, env) == set()


def test_a_changed_model_module_makes_exactly_its_importers_stale(built):
    dst, env = built
    module = dst / "src" / "vistance" / "models" / "lexicon.py"
    before = module.read_bytes()
    module.write_bytes(before + b"\n# a changed line\n")
    try:
        stale = _status(dst, env)
        assert stale == _depending_on_path(dst, "src/vistance/models/lexicon.py")
        assert {"train_baseline@lexicon", "evaluate_baseline@lexicon"} <= stale
        assert not stale & {"ingest", "gold", "agreement", "dataset"}
    finally:
        _restore(module, before)


def test_a_changed_parameter_makes_exactly_its_readers_stale(built):
    dst, env = built
    path = dst / "params.yaml"
    before = path.read_bytes()
    params = yaml.safe_load(before)
    params["models"]["tfidf_lr"]["C"] = 2.0
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    try:
        stale = _status(dst, env)
        assert stale == _depending_on_param(dst, "models.tfidf_lr.C")
        assert {"train_baseline@tfidf_lr", "evaluate_baseline@tfidf_lr"} <= stale
        assert not stale & {"train_baseline@lexicon", "ingest", "dataset"}
    finally:
        _restore(path, before)
