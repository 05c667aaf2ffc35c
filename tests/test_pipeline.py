"""End to end: `dvc repro` on a copy of the project with tiny settings, as a new user would run it.

The copy has no extended corpus (as on a fresh clone without ../shared), so the
pipeline runs on the bundled seed articles; the full pipeline with the extended
corpora is the README's first command.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.slow

TINY = {
    "corpus": {"reference": "absent"},   # no ../shared: the fetch stages find nothing (offline), seeds only
    "checkpoint": {"num_merges": 300, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                   "max_texts": 2000},
    "pretrain": {"max_steps": 8, "max_seconds": 600, "batch_size": 8, "max_length": 64},
    "evaluate": {"n_boot": 100, "cv_folds": 3, "heldout_sources": 1, "seeds": [13, 14], "learning_curve": [0.5, 1.0],
                 "min_paragraphs": 0},   # run every analysis even on the seeds (the default skips refits there)
}
TINY_TRANSFORMER = {"epochs": 1, "batch_size": 8, "max_length": 64, "stride": 16,
                    "inference": "bf16"}   # each ONNX export of the 12-layer encoder costs ~20 s; tests/test_inference_onnx.py covers it


def _merge(d, u):
    for k, v in u.items():
        d[k] = _merge(d.get(k, {}), v) if isinstance(v, dict) else v
    return d


def _run(cmd, cwd, env, timeout=1500):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def make_tiny_project(dst: Path, overrides: dict | None = None):
    """A copy of the project in ``dst`` (seeds only, tiny settings + ``overrides``), ``dvc init``-ed.

    Returns the environment to run ``dvc`` / ``vistance`` in.
    """
    for item in ("dvc.yaml", "params.yaml", "data/raw", "labels", "src", "notebooks", ".dvcignore"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst / item)
    for junk in (dst / "labels").glob("*.lock"):
        junk.unlink()
    params = yaml.safe_load((dst / "params.yaml").read_text())
    _merge(params, TINY)
    _merge(params, overrides or {})
    for name in params["pipeline"]["transformers"]:
        spec = params["models"][name]
        for m in [spec, *spec.get("members", [])]:       # an ensemble's transformer members too
            if m.get("kind") == "transformer":
                m.update(TINY_TRANSFORMER)
        if "evaluate" in spec:   # each refit is a fine-tune: the test-split path only, here
            spec["evaluate"] = {**spec["evaluate"], "refit": False}
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if overrides and "pipeline" in overrides:   # other model lists: dvc.yaml's generated deps follow them
        sys.path.insert(0, str(ROOT / "scripts"))
        from regen_dvc_deps import regenerate

        (dst / "dvc.yaml").write_text(regenerate(dst / "dvc.yaml", dst / "params.yaml"), encoding="utf-8")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    _run(["dvc", "init", "--no-scm", "-q"], dst, env)
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    dst = tmp_path_factory.mktemp("proj")
    env = make_tiny_project(dst)
    first = _run(["dvc", "repro"], dst, env)
    return dst, env, first


def test_repro_builds_every_artefact(project):
    dst, _env, first = project
    out = first.stderr + first.stdout
    assert "news-2024: not fetched" in out and "vistance corpus fetch" in out      # how to get the corpus
    assert "optional corpus data/corpora/news-2024/articles.jsonl is not on this machine" in out
    for path in ["data/processed/paragraphs.jsonl", "data/dataset/dataset_dict.json", "experiments/comparison.md",
                 "experiments/metrics.json", "experiments/plots/comparison.png", "experiments/models/best/manifest.json",
                 "labels/README.md", "labels/agreement.json"]:
        assert (dst / path).exists(), path
    pipeline = yaml.safe_load((dst / "params.yaml").read_text())["pipeline"]
    for n in [*pipeline["baselines"], *pipeline["encoders"], *pipeline["transformers"]]:
        assert (dst / "experiments" / "models" / n / "manifest.json").exists()
        assert (dst / "experiments" / "cards" / n / "README.md").exists()


def test_comparison_reports_confidence_intervals_and_paired_tests(project):
    dst = project[0]
    md = (dst / "experiments" / "comparison.md").read_text(encoding="utf-8")
    summary = json.loads((dst / "experiments" / "metrics.json").read_text())
    for name, vals in summary["models"].items():
        assert f"| {name} |" in md
        assert f"{vals['tone_macro_f1']:.3f} [" in md
    assert "### Paired tests on" in md and "against tfidf_lr" in md     # compare.reference


def test_model_cards_carry_the_real_metrics(project):
    dst = project[0]
    for card in (dst / "experiments" / "cards").glob("*/README.md"):
        name = card.parent.name
        m = json.loads((dst / "experiments" / "metrics" / f"{name}.json").read_text())
        text = card.read_text(encoding="utf-8")
        assert text.startswith("---\n") and "model-index:" in text
        assert f"value: {round(m['headline']['tone_macro_f1']['value'], 4)}" in text
        if m["kind"] == "transformer":   # the card says what was fine-tuned, and how
            assert "multilingual-e5-small" in text or "not the published PhoBERT weights" in text
            assert "### Training recipe" in text and "frozen" in text


def test_dataset_card_shows_counts_and_agreement(project):
    text = (project[0] / "labels" / "README.md").read_text(encoding="utf-8")
    assert "Krippendorff" in text and "gold paragraphs" in text and "| `maritime` |" in text
    assert "| v1 |" in text and "| v2 |" in text          # agreement of each double-coded set, by codebook


def test_second_repro_does_nothing(project):
    dst, env, _ = project
    r = _run(["dvc", "status"], dst, env)
    # only the fetch stages are "always changed" (they re-check the optional corpora, cheap);
    # no stage that does work is out of date
    lines = [l.strip() for l in r.stdout.splitlines() if l.strip()]
    corpora = yaml.safe_load((dst / "params.yaml").read_text())["corpora"]
    assert lines == [x for name in corpora for x in (f"fetch@{name}:", "always changed")], r.stdout


def test_forced_repro_gives_identical_metrics_and_predictions(project):
    dst, env, _ = project
    keep = {p: p.read_bytes() for p in list((dst / "experiments" / "metrics").glob("*.json"))
            + list((dst / "experiments" / "predictions").glob("*.jsonl"))}
    # the reference baseline and the fine-tuned encoder (seeded sampling, bf16, the state cache) trained and
    # evaluated again from the same dataset: the stages whose results could drift between identical runs
    _run(["dvc", "repro", "--force", "--single-item", "train_baseline@tfidf_lr", "evaluate_baseline@tfidf_lr",
          "train_transformer@e5_ft", "evaluate_transformer@e5_ft"], dst, env)
    for p, before in keep.items():
        assert p.read_bytes() == before, f"{p.name} changed between identical runs"


@pytest.mark.parametrize("name", ["01_explore.ipynb", "02_compare_models.ipynb"])
def test_notebooks_execute(project, name):
    import nbformat
    from nbclient import NotebookClient

    dst = project[0]
    nb = nbformat.read(dst / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(dst / "notebooks")}}).execute()
    assert all(c.get("outputs") is not None for c in nb.cells if c.cell_type == "code")
