"""params.yaml is typed: validated once, defaults in one place, a bad key is a usage error naming it."""
from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT
from vistance.config import Config, load_config
from vistance.errors import ConfigError


def _copy(tmp_path, edit):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    edit(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def test_the_committed_params_file_is_valid_and_its_values_are_the_defaults():
    cfg = load_config(ROOT / "params.yaml")
    assert cfg.pipeline.models and set(cfg.pipeline.models) <= set(cfg.models)
    defaults = Config()
    for section in ("corpus", "checkpoint", "pretrain", "evaluate", "analysis"):
        assert getattr(cfg, section) == getattr(defaults, section), section
    # the committed file names the packaged codebook, which is what a file without `labels.codebook` loads
    assert cfg.labels.model_copy(update={"codebook": None}) == defaults.labels
    assert cfg.schema().model_dump() == defaults.schema().model_dump()
    # dvc.yaml interpolates `corpora`, so params.yaml states the packaged default list; the two must not drift
    assert cfg.corpora == defaults.corpora
    assert cfg.dataset.split == defaults.dataset.split and cfg.seed == defaults.seed


def test_a_misspelt_key_exits_2_naming_the_key_and_the_file(tmp_path, capsys):
    from vistance.cli import main

    path = _copy(tmp_path, lambda p: p["analysis"].update({"n_bot": 10}))
    rc = main(["compare", "--experiments", str(tmp_path), "--params", str(path)])
    line = capsys.readouterr().err.strip()
    assert rc == 2 and len(line.splitlines()) == 1
    assert "analysis.n_bot" in line and str(path) in line and "n_boot" in line   # what is allowed


def test_a_misspelt_model_parameter_is_caught_by_the_model_class_when_a_command_needs_the_model(tmp_path, capsys):
    from vistance.cli import main
    from vistance.model_specs import checked_spec

    path = _copy(tmp_path, lambda p: p["models"]["tfidf_lr"].update({"word_ngram_mx": 3}))
    cfg = load_config(path)                        # the shape is fine: loading imports no model class
    with pytest.raises(ConfigError, match=re.escape("models.tfidf_lr.word_ngram_mx")):
        checked_spec(cfg, "tfidf_lr")
    assert checked_spec(cfg, "lexicon")[0] == "lexicon"
    rc = main(["train", "tfidf_lr", "--params", str(path), "--dataset", str(tmp_path / "none")])
    line = capsys.readouterr().err.strip()
    assert rc == 2 and "models.tfidf_lr.word_ngram_mx" in line and str(path) in line and "word_ngram_max" in line


def test_loading_the_config_imports_no_model_code():
    import subprocess
    import sys

    code = ("import sys; from vistance.config import load_config; load_config(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith(('vistance.models', 'vistance.evaluation', "
            "'vistance.analysis', 'torch', 'sklearn'))))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "params.yaml")], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("edit, key", [
    (lambda p: p["evaluate"].update({"n_boot": "many"}), "evaluate.n_boot"),
    (lambda p: p["analysis"].update({"period": "week"}), "analysis.period"),
    (lambda p: p["pipeline"].update({"baselines": ["nope"]}), "pipeline.baselines"),
    (lambda p: p["models"]["phobert_random"]["evaluate"].update({"generalisation": True}),
     "models.phobert_random.evaluate.generalisation"),      # a dead key is gone, not silently ignored
    (lambda p: p["models"]["lexicon"].pop("kind"), "models.lexicon.kind"),
])
def test_wrong_types_and_unknown_names_are_one_line_errors(tmp_path, edit, key):
    with pytest.raises(ConfigError) as e:
        load_config(_copy(tmp_path, edit))
    assert key in str(e.value) and "\n" not in str(e.value)


def test_an_unknown_model_kind_is_named_when_the_model_is_asked_for(tmp_path):
    from vistance.model_specs import check_specs

    cfg = load_config(_copy(tmp_path, lambda p: p["models"]["lexicon"].update({"kind": "lexikon"})))
    with pytest.raises(ConfigError, match=r"models\.lexicon\.kind: unknown model kind 'lexikon' \(allowed: .*lexicon"):
        check_specs(cfg)


def test_a_minimal_file_gets_the_defaults(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 2\nanalysis:\n  n_boot: 30\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.seed == 2 and cfg.analysis.n_boot == 30
    assert cfg.analysis.model == "experiments/models/tfidf_lr" and cfg.pretrain.max_steps == 2400
    assert cfg.schema().model_dump() == Config().schema().model_dump()   # the packaged codebook
    assert [e.name for e in cfg.corpora] == [e.name for e in Config().corpora]


def test_analyze_takes_its_model_from_params(tmp_path, capsys):
    from vistance.cli import main

    path = tmp_path / "params.yaml"
    path.write_text(f"analysis:\n  model: {tmp_path / 'no-such-model'}\n", encoding="utf-8")
    paras = tmp_path / "p.jsonl"
    paras.write_text('{"paragraph_id": "a/p0", "text": "x"}\n', encoding="utf-8")
    rc = main(["analyze", "--paragraphs", str(paras), "--params", str(path), "--out", str(tmp_path / "o")])
    assert rc == 1 and "no-such-model" in capsys.readouterr().err
