"""OpenVINO inference of the fine-tuned encoder (``TransformerModel(inference="openvino")``): float32
gives float32's numbers, bf16 (where the CPU has it) stays close and deterministic, both axes are
dynamic, and nothing is stored in the model folder."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_e5_checkpoint import tiny_e5_like  # noqa: F401 - fixture
from test_embedding import learnable_set

torch = pytest.importorskip("torch")
pytest.importorskip("openvino")

from transformer_fixtures import single_torch_thread  # noqa: E402,F401 - autouse: one torch thread


@pytest.fixture(scope="module")
def fitted(tiny_e5_like):
    from vistance.models.transformer import TransformerModel

    model = TransformerModel(model_name_or_path=str(tiny_e5_like), segmenter="syllable", max_length=64, stride=16,
                             freeze_layers=1, pooling="mean", epochs=6, batch_size=16, learning_rate=1e-3,
                             head_learning_rate=1e-2, early_stopping_patience=3)
    return model.fit(*learnable_set(120, seed=1), valid=learnable_set(40, seed=5))


@pytest.fixture(scope="module")
def texts():
    ts = learnable_set(60, seed=2)[0]
    return ts + [" ".join(ts[:12])]  # a long, windowed text


@pytest.mark.parametrize("precision", ["f32", "bf16"])
def test_the_converted_network_has_dynamic_batch_and_length_and_float32_matches_torch(fitted, precision):
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
