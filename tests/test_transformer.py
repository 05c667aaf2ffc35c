"""TransformerModel: windows, both head layouts, thresholds, safe folders, clear errors.

Tiny models only (hidden 32, one layer, 64-subword windows), offline.
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json  # noqa: E402
import shutil  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vistance.errors import ModelError, VistanceError  # noqa: E402
from vistance.labels.schema import default_schema  # noqa: E402
from vistance.models.transformer import (  # noqa: E402
    THRESHOLD_GRID, TransformerModel, pool_windows, theme_pos_weights, tone_class_weights, window_spans,
)

try:  # tests/ is on sys.path (rootdir import) or a package; fixtures must be names in this module
    from transformer_fixtures import (  # noqa: F401
        MAX_LENGTH, long_paragraph, seed_texts, single_torch_thread, synthetic_labels, tiny_checkpoint)
except ImportError:  # pragma: no cover
    from tests.transformer_fixtures import (  # noqa: F401
        MAX_LENGTH, long_paragraph, seed_texts, single_torch_thread, synthetic_labels, tiny_checkpoint)

STRIDE = 16
THEMES, TONES = default_schema().theme_names, default_schema().tone_names


def tiny_model(checkpoint, **kw) -> TransformerModel:
    params = dict(model_name_or_path=str(checkpoint), max_length=MAX_LENGTH, stride=STRIDE, epochs=2,
                  batch_size=16, learning_rate=1e-3, seed=0)
    params.update(kw)
    return TransformerModel(**params)


# ----------------------------------------------------------------------------- windows

@pytest.mark.parametrize("n", [0, 1, 61, 62, 63, 100, 123, 500])
def test_windows_cover_every_subword_and_overlap_by_at_least_stride(n):
    spans = window_spans(n, max_length=64, stride=16)
    body = 64 - 2
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(0 < e - s <= body or n == 0 for s, e in spans)
    assert set().union(*(range(s, e) for s, e in spans)) == set(range(n))
    assert all(prev_e - s >= 16 for (_, prev_e), (s, _) in zip(spans, spans[1:]))
    assert (len(spans) > 1) == (n > body)


def test_window_parameters_are_validated():
    with pytest.raises(ValueError):
        window_spans(10, max_length=20, stride=18)  # stride must be below max_length - 2


def test_long_paragraph_becomes_several_windows_without_losing_text(tiny_checkpoint, long_paragraph, seed_texts):
    model = tiny_model(tiny_checkpoint)
    ids = model.token_ids([long_paragraph])[0]
    assert len(ids) > 3 * MAX_LENGTH
    windows, owners = model.encode_windows([long_paragraph, seed_texts[10]])
    mine = [w for w, o in zip(windows, owners) if o == 0]
    assert len(mine) > 1 and list(owners).count(1) == 1
    tok = model.tokenizer_
    for w, (s, e) in zip(mine, window_spans(len(ids), MAX_LENGTH, STRIDE)):
        assert len(w) <= MAX_LENGTH
        assert w[0] == tok.cls_token_id and w[-1] == tok.sep_token_id
        assert w[1:-1] == ids[s:e]  # nothing truncated, nothing reordered


# ----------------------------------------------------------------------------- pure helpers

def test_class_weights():
    Y = np.array([[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    assert theme_pos_weights(Y).tolist() == [1 / 3, 1.0, 1.0]  # 1 neg / 3 pos; 2/2; absent -> 1
    assert np.allclose(tone_class_weights(np.array([0, 0, 0, 1]), 3), [4 / 9, 4 / 3, 1.0])


def test_window_pooling_is_max_for_themes_and_mean_for_tone():
    T, O = pool_windows(np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]]),
                        np.array([[1.0, 0.0], [0.0, 1.0], [0.3, 0.7]]), np.array([0, 0, 1]), 2)
    assert T.tolist() == [[0.8, 0.9], [0.5, 0.5]]
    assert O.tolist() == [[0.5, 0.5], [0.3, 0.7]]


# ----------------------------------------------------------------------------- training both head layouts

@pytest.fixture(scope="module", params=["shared_encoder", "two_models"])
def trained(request, tiny_checkpoint, seed_texts, tmp_path_factory):
    themes, tones = synthetic_labels(seed_texts)
    log_dir = tmp_path_factory.mktemp(f"dvclive-{request.param}")
    model = tiny_model(tiny_checkpoint, heads=request.param, use_dvclive=True, log_dir=str(log_dir))
    model.fit(seed_texts[:40], themes[:40], tones[:40], valid=(seed_texts[40:], themes[40:], tones[40:]))
    return model


def test_predictions_have_the_scores_shape(trained, seed_texts, long_paragraph):
    texts = seed_texts[:7] + [long_paragraph]
    scores = trained.predict_proba(texts, batch_size=4)
    assert scores.themes.shape == (8, len(THEMES)) and scores.tone.shape == (8, len(TONES))
    assert ((scores.themes >= 0) & (scores.themes <= 1)).all()
    assert ((scores.tone >= 0) & (scores.tone <= 1)).all() and np.allclose(scores.tone.sum(axis=1), 1.0)
    assert np.array_equal(scores.thresholds, trained.thresholds_)
    assert len(scores.records([str(i) for i in range(8)])) == 8


def test_prediction_is_batched_and_deterministic(trained, seed_texts):
    """Bit-exact: the same model object, inputs and batch size in one process. To a tolerance:
    another batch size (padding changes the kernels' reduction order)."""
    a = trained.predict_proba(seed_texts, batch_size=3)
    b = trained.predict_proba(seed_texts, batch_size=3)
    assert np.array_equal(a.themes, b.themes) and np.array_equal(a.tone, b.tone)
    c = trained.predict_proba(seed_texts, batch_size=50)
    assert np.allclose(a.themes, c.themes, atol=1e-5) and np.allclose(a.tone, c.tone, atol=1e-5)
    assert len(trained.predict_proba([])) == 0
    empty = trained.predict_proba(["", "   "])  # nothing to read is still a (neutral-ish) prediction
    assert empty.themes.shape == (2, len(THEMES)) and np.allclose(empty.tone.sum(axis=1), 1.0)


@pytest.mark.parametrize("heads", ["shared_encoder", "two_models"])
def test_the_heads_are_sized_by_the_schema_given_to_fit(heads, tiny_checkpoint, seed_texts, tmp_path):
    """Another codebook (two themes, two tones, no catch-all): the heads, thresholds and saved
    folder follow it, and loading reads it back."""
    from vistance.labels.schema import LabelSchema

    schema = LabelSchema.from_dict({"themes": ["near", "far"], "tones": ["calm", "tense"]})
    texts = seed_texts[:12]
    themes = [["near"] if i % 2 else ["near", "far"] for i in range(len(texts))]
    tones = [schema.tone_names[i % 2] for i in range(len(texts))]
    model = tiny_model(tiny_checkpoint, heads=heads, epochs=1).fit(texts, themes, tones, schema=schema)
    sc = model.predict_proba(texts[:3])
    assert sc.themes.shape == (3, 2) and sc.tone.shape == (3, 2) and model.thresholds_.shape == (2,)
    assert set(sc.tone_labels()) <= {"calm", "tense"}
    model.save(tmp_path / "m")
    back = TransformerModel.load(tmp_path / "m")
    assert back.schema.digest() == schema.digest()
    assert np.allclose(back.predict_proba(texts[:3]).themes, sc.themes, atol=1e-5)


def test_validation_drives_thresholds_and_training_stats(trained):
    assert trained.thresholds_.shape == (len(THEMES),)
    assert set(np.round(trained.thresholds_, 2)) <= set(THRESHOLD_GRID) | {0.5}
    stats = trained.training_stats_
    assert stats["epochs_run"] == 2 and stats["steps"] > 0 and stats["seconds"] > 0
    assert stats["best_epoch"] in (1.0, 2.0)
    assert stats["best_valid_score"] == max(p["macro_f1"] for p in stats["valid_curve"])
    assert stats["n_train_windows"] > stats["n_train_paragraphs"] == 40  # long paragraphs were windowed


def test_dvclive_logs_per_epoch_curves(trained):
    log_dir = trained.log_dir
    loss = os.path.join(log_dir, "plots", "metrics", "train", "loss.tsv")
    f1 = os.path.join(log_dir, "plots", "metrics", "eval", "macro_f1.tsv")
    assert os.path.isfile(loss) and os.path.isfile(f1)
    with open(f1, encoding="utf-8") as fh:
        assert len(fh.read().strip().splitlines()) == 1 + 2  # header + one row per epoch


def test_save_then_load_keeps_weights_exactly_and_predictions_to_a_tolerance(trained, seed_texts, tmp_path):
    from vistance.models import load_model
    from vistance.models.folder import read_manifest

    folder = tmp_path / "model"
    trained.save(folder)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "thresholds.json", "transformer.json", "vocab.txt", "bpe.codes"} <= files
    assert any(f.endswith(".safetensors") for f in files)
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle"))]
    manifest = read_manifest(folder)
    assert manifest["kind"] == "transformer" and manifest["segmenter"] == "pyvi"
    assert manifest["params"]["heads"] == trained.heads
    meta = json.loads((folder / "transformer.json").read_text(encoding="utf-8"))
    assert meta["segmenter"] == "pyvi" and meta["training_stats"]["best_epoch"] is not None

    before = trained.predict_proba(seed_texts)
    saved = {k: v.detach().cpu() for k, v in trained.network_.state_dict().items()}
    for loaded in (TransformerModel.load(folder), load_model(folder)):
        # bit-exact: what is stored (weights, thresholds, parameters) round-trips unchanged
        state = loaded.network_.state_dict()
        assert set(state) == set(saved) and all(torch_equal(state[k], saved[k]) for k in saved)
        assert np.array_equal(loaded.thresholds_, trained.thresholds_)
        assert loaded.get_params() == trained.get_params()
        # to a tolerance: a rebuilt network may run other kernels, so probabilities agree to
        # 1e-5 (not bit for bit) and every decision not within that of a boundary is the same
        assert_same_predictions(before, loaded.predict_proba(seed_texts), atol=RELOAD_ATOL)


RELOAD_ATOL = 1e-5


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a.detach().cpu(), b.detach().cpu()))


def assert_same_predictions(before, after, atol: float) -> None:
    """Probabilities within ``atol``; identical theme and tone decisions for every paragraph
    whose scores are farther than ``atol`` from a decision boundary (most of them)."""
    assert np.allclose(before.themes, after.themes, rtol=0, atol=atol)
    assert np.allclose(before.tone, after.tone, rtol=0, atol=atol)
    near_threshold = (np.abs(before.themes - before.thresholds) <= atol).any(axis=1)
    top2 = np.sort(before.tone, axis=1)[:, -2:]
    near_tie = (top2[:, 1] - top2[:, 0]) <= 2 * atol
    clear = ~(near_threshold | near_tie)
    assert clear.sum() >= 0.9 * len(clear)  # the check is not vacuous
    for i in np.flatnonzero(clear):
        assert before.theme_labels()[i] == after.theme_labels()[i]
        assert before.tone_labels()[i] == after.tone_labels()[i]


def test_tampered_weights_are_refused(trained, tmp_path):
    folder = tmp_path / "model"
    trained.save(folder)
    weights = sorted(folder.rglob("*.safetensors"))[0]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum differs"):
        TransformerModel.load(folder)


def test_load_with_another_segmenter_is_refused(trained, seed_texts, tmp_path):
    folder = tmp_path / "model"
    trained.save(folder)
    assert TransformerModel.load(folder, segmenter="pyvi").segmenter_ == "pyvi"
    with pytest.raises(VistanceError, match="segmenter mismatch"):
        TransformerModel.load(folder, segmenter="underthesea")
    with pytest.raises(VistanceError, match="segmenter mismatch"):
        trained.predict_proba(seed_texts[:2], segmenter="underthesea")


def test_saving_over_a_folder_that_is_not_a_model_is_refused(trained, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ModelError, match="refusing to overwrite"):
        trained.save(tmp_path)


# ----------------------------------------------------------------------------- fitting behaviour

def test_same_seed_same_model(tiny_checkpoint, seed_texts):
    themes, tones = synthetic_labels(seed_texts[:16])
    runs = [tiny_model(tiny_checkpoint, epochs=1).fit(seed_texts[:16], themes, tones).predict_proba(seed_texts[16:20])
            for _ in range(2)]
    assert np.array_equal(runs[0].themes, runs[1].themes) and np.array_equal(runs[0].tone, runs[1].tone)


def test_without_validation_thresholds_stay_at_half(tiny_checkpoint, seed_texts):
    themes, tones = synthetic_labels(seed_texts[:12])
    model = tiny_model(tiny_checkpoint, epochs=1, class_weights=False).fit(seed_texts[:12], themes, tones)
    assert np.array_equal(model.thresholds_, np.full(len(THEMES), 0.5))
    assert model.training_stats_["best_epoch"] is None and model.training_stats_["epochs_run"] == 1


def test_bad_hyper_parameters_and_labels_are_refused(tiny_checkpoint, seed_texts):
    from vistance.errors import LabelError

    themes, tones = synthetic_labels(seed_texts[:4])
    with pytest.raises(ValueError, match="heads"):
        tiny_model(tiny_checkpoint, heads="three_heads").fit(seed_texts[:4], themes, tones)
    with pytest.raises(ValueError, match="exceeds"):  # the tiny checkpoint has positions for 64 subwords
        tiny_model(tiny_checkpoint, max_length=128).fit(seed_texts[:4], themes, tones)
    with pytest.raises(LabelError):
        tiny_model(tiny_checkpoint).fit(seed_texts[:4], [["piracy"]] * 4, tones)
    with pytest.raises(ModelError, match="not fitted"):
        tiny_model(tiny_checkpoint).predict_proba(seed_texts[:1])


# ----------------------------------------------------------------------------- missing or broken checkpoints

def _is_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # noqa: BLE001
        return False


def test_hub_checkpoint_offline_gives_one_clear_message(monkeypatch, seed_texts):
    if _is_cached("vinai/phobert-base"):
        pytest.skip("vinai/phobert-base is in the local Hugging Face cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    themes, tones = synthetic_labels(seed_texts[:2])
    with pytest.raises(ModelError) as err:
        TransformerModel(model_name_or_path="vinai/phobert-base").fit(seed_texts[:2], themes, tones)
    msg = str(err.value)
    assert "not found locally" in msg and "Hub is unreachable" in msg
    assert "huggingface-cli download vinai/phobert-base --local-dir PATH" in msg
    assert "model_name_or_path: PATH" in msg and "params.yaml" in msg


def test_nonexistent_checkpoint_path_gives_the_same_advice(tmp_path, seed_texts):
    themes, tones = synthetic_labels(seed_texts[:2])
    with pytest.raises(ModelError, match="huggingface-cli download vinai/phobert-base"):
        TransformerModel(model_name_or_path=str(tmp_path / "no" / "such" / "folder")).fit(seed_texts[:2], themes, tones)


def test_a_tokenizer_that_cannot_read_vietnamese_is_refused(tiny_checkpoint, tmp_path, seed_texts):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "manifest.json").unlink()  # a third-party folder: nothing to verify against
    (broken / "vocab.txt").write_text("xyz 1\n", encoding="utf-8")  # silently maps everything to <unk>
    themes, tones = synthetic_labels(seed_texts[:2])
    with pytest.raises(ModelError, match="probe sentence"):
        tiny_model(broken).fit(seed_texts[:2], themes, tones)
