"""Fast inference of the fine-tuned encoder, on one fitted tiny model. ONNX Runtime
(``TransformerModel(inference="onnx")``): the same decisions as float32, deterministic, dynamic batch and
sequence axes, nothing stored in the model folder (old folders predict with it; a planted ``.onnx`` is
refused). OpenVINO (``inference="openvino"``): float32 gives float32's numbers, bf16 (where the CPU has it)
stays close and deterministic, both axes dynamic, nothing stored."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_e5_checkpoint import tiny_e5_like  # noqa: F401 - fixture
from test_embedding import learnable_set

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from transformer_fixtures import single_torch_thread  # noqa: E402,F401 - autouse: one torch thread


@pytest.fixture(scope="module")
def fitted(tiny_e5_like):
    from vistance.models.transformer import TransformerModel

    model = TransformerModel(model_name_or_path=str(tiny_e5_like), segmenter="syllable", max_length=64, stride=16,
                             freeze_layers=1, pooling="mean", epochs=6, batch_size=16, learning_rate=1e-3,
                             head_learning_rate=1e-2, early_stopping_patience=3)
    return model.fit(*learnable_set(120, seed=1), valid=learnable_set(40, seed=5))


def decisions(sc):
    return sc.tone.argmax(1), sc.themes >= sc.thresholds


@pytest.fixture(scope="module")
def texts():
    ts = learnable_set(60, seed=2)[0]
    return ts + [" ".join(ts[:12])]  # a long, windowed text


def test_onnx_gives_the_float32_decisions_deterministically(fitted, texts):
    fitted.inference = "float32"
    ref = fitted.predict_proba(texts)
    fitted.inference = "onnx"
    a, b = fitted.predict_proba(texts), fitted.predict_proba(texts, batch_size=5)
    np.testing.assert_array_equal(fitted.predict_proba(texts).themes, a.themes)  # deterministic
    for sc in (a, b):  # other batches, other padding: the same numbers
        np.testing.assert_allclose(sc.themes, ref.themes, atol=1e-4)
        np.testing.assert_allclose(sc.tone, ref.tone, atol=1e-4)
        assert np.array_equal(decisions(sc)[0], decisions(ref)[0])
        assert np.array_equal(decisions(sc)[1], decisions(ref)[1])
    assert fitted.network_.encoder.encoder.layer[0].attention.self.query.__class__ is torch.nn.Linear  # untouched
    assert not fitted.network_.training  # the export leaves the torch network in eval mode
    fitted.inference = "float32"
    np.testing.assert_array_equal(fitted.predict_proba(texts).themes, ref.themes)


def test_the_exported_graph_is_the_whole_network_with_dynamic_batch_and_length(fitted):
    import onnx

    from vistance.models.transformer.onnx_export import OnnxNetwork, export_onnx

    graph = onnx.load_from_string(export_onnx(fitted.network_)).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim] == ["batch", "sequence"]
    assert "Attention" in {n.op_type for n in graph.node}  # BERT fusion applied
    net = OnnxNetwork(export_onnx(fitted.network_, fuse=False), threads=1)
    for shape in [(1, 3), (4, 17)]:
        ids = torch.randint(5, 200, shape)
        mask = torch.ones_like(ids)
        mask[-1, 2:] = 0  # a padded row
        with torch.inference_mode():
            want = fitted.network_.eval()(input_ids=ids, attention_mask=mask)["logits"]
        got = net(input_ids=ids, attention_mask=mask)["logits"]
        assert got.shape == (shape[0], 12)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


def test_a_folder_saved_without_onnx_predicts_with_it_and_stays_as_it_was(fitted, tmp_path):
    from vistance.errors import ModelError
    from vistance.models.transformer import TransformerModel

    some = learnable_set(20, seed=7)[0]
    fitted.inference = None  # a folder as every earlier version wrote it
    fitted.save(tmp_path / "old")
    names = sorted(p.name for p in (tmp_path / "old").iterdir())
    fitted.inference = "float32"
    expected = fitted.predict_proba(some)
    loaded = TransformerModel.load(tmp_path / "old")
    loaded.inference = "onnx"
    np.testing.assert_allclose(loaded.predict_proba(some).themes, expected.themes, atol=1e-4)
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == names  # nothing written beside the weights

    fitted.inference = "onnx"
    fitted.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == names  # no .onnx stored, no pickle
    assert json.loads((tmp_path / "m" / "transformer.json").read_text())["params"]["inference"] == "onnx"
    assert TransformerModel.load(tmp_path / "m").inference == "onnx"
    (tmp_path / "m" / "model.onnx").write_bytes(b"\x08\x07 planted graph")  # never read: refused as unlisted
    with pytest.raises(ModelError):
        TransformerModel.load(tmp_path / "m")
    with pytest.raises(ValueError, match="onnx"):
        TransformerModel(model_name_or_path=str(tmp_path / "old"), inference="onnx-fp8")._check_params()


def test_the_evaluation_measures_how_often_a_fast_path_decides_as_float32(fitted, texts):
    """``inference_agreement``: the share of units with the same tone, theme set and each theme as the
    float32 reference; nothing to measure for float32 itself (evaluate records it in metrics)."""
    from vistance.models.base import decision_agreement

    fitted.inference = "onnx"
    measured = fitted.inference_agreement(texts)
    assert measured["path"] == "onnx" and measured["reference"] == "float32" and measured["units"] == len(texts)
    assert measured["agreement"]["tone"] == 1.0 and measured["agreement"]["themes_all"] == 1.0
    assert {k for k in measured["agreement"] if k.startswith("theme:")} == {f"theme:{t}" for t in fitted.schema.theme_names}
    fitted.inference = "float32"
    assert fitted.inference_agreement(texts) is None
    ref = fitted.predict_proba(texts)
    flipped = type(ref)(ref.themes, np.roll(ref.tone, 1, axis=1), ref.thresholds, ref.schema)   # every tone moves
    assert decision_agreement(ref, flipped)["tone"] == 0.0 and decision_agreement(ref, flipped)["themes_all"] == 1.0


@pytest.mark.parametrize("precision", ["f32", "bf16"])
def test_the_openvino_network_has_dynamic_batch_and_length_and_float32_matches_torch(fitted, precision):
    pytest.importorskip("openvino")
    from vistance.models.transformer.openvino_runtime import OpenVinoNetwork, cpu_precision

    if precision == "bf16" and cpu_precision() != "bf16":
        pytest.skip("this CPU has no bf16")
    net = OpenVinoNetwork(fitted.network_, precision=precision, threads=1)
    assert not fitted.network_.training  # the conversion leaves the torch network in eval mode
    for shape in [(1, 3), (4, 17), (2, 64)]:
        ids = torch.randint(5, 200, shape)
        mask = torch.ones_like(ids)
        mask[-1, 2:] = 0  # a padded row
        with torch.inference_mode():
            want = fitted.network_(input_ids=ids, attention_mask=mask)["logits"].numpy()
        got = net(input_ids=ids, attention_mask=mask)["logits"].numpy()
        assert got.shape == (shape[0], 12)
        np.testing.assert_allclose(got, want, atol=1e-4 if precision == "f32" else 0.1)
        np.testing.assert_array_equal(net(input_ids=ids, attention_mask=mask)["logits"].numpy(), got)  # deterministic


def test_a_model_predicts_with_openvino_deterministically_and_stores_nothing_new(fitted, texts, tmp_path):
    pytest.importorskip("openvino")
    from vistance.models.transformer import TransformerModel

    fitted.inference = "float32"
    ref = fitted.predict_proba(texts)
    fitted.inference = "openvino"
    got = fitted.predict_proba(texts)
    np.testing.assert_array_equal(fitted.predict_proba(texts).themes, got.themes)  # the compiled model is reused
    np.testing.assert_allclose(got.themes, ref.themes, atol=0.02)
    np.testing.assert_allclose(got.tone, ref.tone, atol=0.02)
    measured = fitted.inference_agreement(texts)
    assert measured["path"] == "openvino" and measured["units"] == len(texts)
    assert measured["precision"] in ("bf16", "f32")
    assert measured["agreement"]["tone"] >= 0.95  # 61 texts: bf16 may move a unit sitting on a boundary
    fitted.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted(
        ["manifest.json", *json.loads((tmp_path / "m" / "manifest.json").read_text())["files"]])
    assert TransformerModel.load(tmp_path / "m").inference == "openvino"
    fitted.inference = "float32"
