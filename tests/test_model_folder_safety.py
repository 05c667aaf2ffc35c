"""Untrusted model folders: a manifest check before anything is read, skops with an explicit
trusted-types list, and no plain pickle anywhere in the code."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from vistance.errors import ModelError
from vistance.models import load_model
from vistance.models.folder import MANIFEST, read_manifest, sha256_file, write_manifest

SRC = Path(__file__).resolve().parents[1] / "src" / "vistance"

TEXTS = ["Hai nước nhất trí tăng cường hợp tác kinh tế và thương mại.",
         "Việt Nam phản đối hành vi vi phạm chủ quyền trên Biển Đông.",
         "Hội nghị sẽ diễn ra tại Hà Nội vào tháng tới."]
THEMES_ = [["economy_trade"], ["maritime"], ["other"]]
TONES_ = ["cooperative", "contentious", "neutral"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny TF-IDF and a lexicon model folder, saved once; tests work on copies."""
    from vistance.models.lexicon import LexiconModel
    from vistance.models.tfidf import TfidfModel

    root = tmp_path_factory.mktemp("saved")
    texts = [f"{t} Tin số {k}." for k in range(4) for t in TEXTS]
    TfidfModel(segmenter="syllable", tune_thresholds=False).fit(texts, THEMES_ * 4, TONES_ * 4).save(root / "tfidf")
    LexiconModel().save(root / "lexicon")
    return root


@pytest.fixture
def tfidf(saved, tmp_path):
    dst = tmp_path / "models" / "tfidf"
    shutil.copytree(saved / "tfidf", dst)
    return dst


@pytest.fixture
def lexicon(saved, tmp_path):
    dst = tmp_path / "models" / "lexicon"
    shutil.copytree(saved / "lexicon", dst)
    return dst


def refused(folder) -> str:
    with pytest.raises(ModelError) as info:
        load_model(folder)
    msg = str(info.value)
    assert "\n" not in msg  # one clear line ...
    assert str(folder) in msg or msg.startswith("unknown model kind")  # ... naming the folder
    return msg


def edit_manifest(folder, change):
    m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    change(m)
    (folder / MANIFEST).write_text(json.dumps(m), encoding="utf-8")


def test_intact_folders_load_and_predict(tfidf, lexicon):
    for folder in (tfidf, lexicon):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # same versions: no warning
            model = load_model(folder)
        assert len(model.predict_proba(TEXTS)) == 3


@pytest.mark.parametrize("name", ["model.skops", "vocabulary.json", "tfidf.json"])
def test_a_tampered_file_is_refused(tfidf, name):
    data = bytearray((tfidf / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    (tfidf / name).write_bytes(bytes(data))
    msg = refused(tfidf)
    assert f"{name} (checksum differs)" in msg and "tampered" in msg


def test_a_truncated_file_is_refused(tfidf):
    p = tfidf / "model.skops"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 3])
    assert "model.skops (checksum differs)" in refused(tfidf)


def test_an_emptied_lexicon_is_refused(lexicon):
    (lexicon / "lexicon.json").write_text("{}", encoding="utf-8")
    assert "lexicon.json (checksum differs)" in refused(lexicon)


def test_a_missing_file_is_refused(tfidf):
    (tfidf / "vocabulary.json").unlink()
    assert "vocabulary.json (missing)" in refused(tfidf)


@pytest.mark.parametrize("entry", ["../x", "../../etc/passwd", "sub/../../x", "/etc/hostname", ""])
def test_a_manifest_entry_outside_the_folder_is_refused(tfidf, entry):
    outside = tfidf.parent / "x"
    outside.write_text("secret", encoding="utf-8")  # exists, so "missing" would not catch it
    edit_manifest(tfidf, lambda m: m["files"].update({entry: sha256_file(outside)}))
    assert "points outside the model folder" in refused(tfidf)


def test_a_symlink_leading_out_of_the_folder_is_refused(tfidf):
    outside = tfidf.parent / "elsewhere.json"
    outside.write_text("{}", encoding="utf-8")
    (tfidf / "link.json").symlink_to(outside)
    edit_manifest(tfidf, lambda m: m["files"].update({"link.json": sha256_file(outside)}))
    assert "'link.json' points outside" in refused(tfidf)


@pytest.mark.parametrize("breakage,fragment", [
    (lambda f: (f / MANIFEST).unlink(), "no manifest.json"),
    (lambda f: (f / MANIFEST).write_text("{not json", encoding="utf-8"), "unreadable manifest"),
    (lambda f: (f / MANIFEST).write_bytes(b"\xff\xfe\x00garbage"), "unreadable manifest"),
    (lambda f: (f / MANIFEST).write_text("[]", encoding="utf-8"), "lacks 'kind' or 'files'"),
    (lambda f: edit_manifest(f, lambda m: m.pop("files")), "lacks 'kind' or 'files'"),
    (lambda f: edit_manifest(f, lambda m: m.update(files=["model.skops"])), "lacks 'kind' or 'files'"),
    (lambda f: edit_manifest(f, lambda m: m.update(kind="pickle")), "unknown model kind 'pickle'"),
    (lambda f: edit_manifest(f, lambda m: m["files"].update({"model.skops": 12345})), "model.skops (checksum differs)"),
    (lambda f: edit_manifest(f, lambda m: m["files"].update({"a\u0000b": "0" * 64})), "unreadable"),
    (lambda f: edit_manifest(f, lambda m: m.update(themes=["maritime", "other"])), "unreadable TF-IDF model"),
    (lambda f: edit_manifest(f, lambda m: m.update(themes="maritime")), "'themes' must be a list of label names"),
    (lambda f: edit_manifest(f, lambda m: m.update(label_rules=["other"])), "'label_rules' must be an object"),
    (lambda f: edit_manifest(f, lambda m: m["label_rules"].update(catch_all="weather")), "label set is not valid"),
    (lambda f: edit_manifest(f, lambda m: m.update(versions=["1.0"])), "'versions' must be an object"),
    (lambda f: shutil.rmtree(f), "no such model folder"),
])
def test_a_broken_manifest_is_one_clear_model_error(tfidf, breakage, fragment):
    breakage(tfidf)
    assert fragment in refused(tfidf)


def test_a_version_mismatch_is_a_warning_naming_both_versions(tfidf):
    import sklearn

    edit_manifest(tfidf, lambda m: m["versions"].update({"scikit-learn": "0.0.1", "vistance": "0.0.0-old"}))
    with pytest.warns(UserWarning) as record:
        load_model(tfidf)
    text = " | ".join(str(w.message) for w in record)
    assert f"saved with scikit-learn 0.0.1, loading with scikit-learn {sklearn.__version__}" in text
    assert "saved with vistance 0.0.0-old, loading with vistance" in text


def test_a_model_skops_holding_an_untrusted_type_is_refused_even_with_a_matching_manifest(tfidf):
    """An attacker who can write the folder can also rewrite the manifest: the trusted-types
    list is the barrier that remains. ``os.system`` inside model.skops must not be loaded."""
    import skops.io as sio

    from vistance.models.tfidf import TRUSTED_TYPES, TfidfModel

    parts = sio.load(tfidf / "model.skops", trusted=sorted(TRUSTED_TYPES | set(sio.get_untrusted_types(file=tfidf / "model.skops"))))
    parts["hook"] = os.system
    sio.dump(parts, tfidf / "model.skops")
    manifest = json.loads((tfidf / MANIFEST).read_text(encoding="utf-8"))
    (tfidf / MANIFEST).unlink()
    write_manifest(tfidf, manifest["kind"], manifest["segmenter"], manifest["params"])  # consistent again
    read_manifest(tfidf)  # the manifest check passes ...
    with pytest.raises(ModelError, match=r"outside vistance's trusted list: \['posix.system'\]"):
        TfidfModel.load(tfidf)  # ... the trusted-types check refuses


def test_cli_predict_refuses_a_tampered_model_without_a_traceback(tfidf, tmp_path):
    (tfidf / "tfidf.json").write_text('{"params": {}}', encoding="utf-8")
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "a", "text": TEXTS[0]}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = subprocess.run([sys.executable, "-m", "vistance.cli", "predict", "--model", str(tfidf), "--input", str(inp),
                        "--output", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "tfidf.json (checksum differs)" in r.stderr and not out.exists()


PICKLE_LIKE = [
    r"^\s*(?:import|from)\s+(?:pickle|cPickle|_pickle|dill|cloudpickle|joblib|shelve|marshal)\b",
    r"\bpickle\.loads?\(",
    r"\bjoblib\.load\(",
    r"allow_pickle\s*=\s*True",
    r"\bread_pickle\(",
    r"\btorch\.load\(",
    r"weights_only\s*=\s*False",
    r"\bsio\.load\([^)]*trusted\s*=\s*True",
]


def test_no_plain_pickle_anywhere_in_the_code():
    hits = []
    for f in sorted(SRC.rglob("*.py")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if any(re.search(p, line) for p in PICKLE_LIKE):
                hits.append(f"{f.relative_to(SRC)}:{n}: {line.strip()}")
    assert hits == []


def test_skops_loading_goes_through_the_trusted_list():
    text = (SRC / "models" / "tfidf.py").read_text(encoding="utf-8")
    loads = re.findall(r"sio\.loads?\([^)]*\)", text)  # sio.loads: the verified bytes
    assert loads and all("trusted=" in call and "True" not in call for call in loads)
    assert "get_untrusted_types" in text and "TRUSTED_TYPES" in text
