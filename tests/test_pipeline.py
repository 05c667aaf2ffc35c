"""End to end: `dvc repro` on a copy of the project with tiny settings, as a new user would run it.

The copy has no extended corpus (as on a fresh clone without ../shared), so the
pipeline runs on the bundled seed articles; the full pipeline with the extended
corpora is the README's first command.
"""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from conftest import OUT_OF_DATE, run_ok, up_to_date

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tiny_project):
    """The tiny project after its first ``dvc repro`` (tests/conftest.py; tests/test_dvc_staleness.py shares it)."""
    return up_to_date(tiny_project)


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
    r = run_ok(["dvc", "status"], dst, env)
    # only the fetch stages are "always changed" (they re-check the optional corpora, cheap);
    # no stage that does work is out of date
    lines = [l.strip() for l in r.stdout.splitlines() if l.strip()]
    corpora = yaml.safe_load((dst / "params.yaml").read_text())["corpora"]
    assert lines == [x for name in corpora for x in (f"fetch@{name}:", "always changed")], r.stdout


def test_forced_repro_gives_identical_metrics_and_predictions(project):
    dst, env, _ = project
    keep = {p: p.read_bytes() for p in list((dst / "experiments" / "metrics").glob("*.json"))
            + list((dst / "experiments" / "predictions").glob("*.jsonl"))}
    # the stages whose results could drift between identical runs, run again from the same dataset: the reference
    # baseline's evaluation (its CV, seed, held-out and learning-curve metrics each fit tfidf_lr again, the curve's
    # point 1.0 on the whole training split) and the fine-tuned encoder trained (seeded sampling, bf16, from the
    # state cache) and evaluated again. Its fit cache goes first: a cached fit would be read back, not trained.
    OUT_OF_DATE.add(dst)   # the cards print the new training time: a later user of the project repros first
    shutil.rmtree(dst / "experiments" / "cache" / "hidden" / "fits")
    run_ok(["dvc", "repro", "--force", "--single-item", "evaluate_baseline@tfidf_lr",
            "train_transformer@e5_ft", "evaluate_transformer@e5_ft"], dst, env)
    trained = json.loads((dst / "experiments" / "models" / "e5_ft.train.json").read_text(encoding="utf-8"))
    assert "fit_cache" not in trained["training_stats"]
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
