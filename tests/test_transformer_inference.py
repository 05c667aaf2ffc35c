"""Fast inference paths of the fine-tuned encoder (``TransformerModel(inference=...)``): decisions
agree with float32, are deterministic, and a saved folder with the option loads safely."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_e5_checkpoint import tiny_e5_like  # noqa: F401 - fixture
from test_embedding import learnable_set

torch = pytest.importorskip("torch")


from transformer_fixtures import single_torch_thread  # noqa: E402,F401 - autouse: one torch thread


@pytest.fixture(scope="module")
def fitted(tiny_e5_like):
    from vistance.models.transformer import TransformerModel

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    model = TransformerModel(model_name_or_path=str(tiny_e5_like), segmenter="syllable", max_length=64, stride=16,
                             freeze_layers=1, pooling="mean", epochs=8, batch_size=16, learning_rate=1e-3,
                             head_learning_rate=1e-2, early_stopping_patience=3)
    model.fit(*learnable_set(160, seed=1), valid=learnable_set(40, seed=5))
    torch.set_num_threads(before)
    return model


def decisions(sc):
    return sc.tone.argmax(1), sc.themes >= sc.thresholds


@pytest.mark.parametrize("mode", ["bf16", "int8"])
def test_fast_paths_match_float32_decisions_and_are_deterministic(fitted, mode):
    texts = learnable_set(60, seed=2)[0]
    texts.append(" ".join(texts[:12]))  # a long, windowed text
    fitted.inference = "float32"
    tone32, themes32 = decisions(ref := fitted.predict_proba(texts))
    fitted.inference = None  # the recipe path (state cache, top layers) is float32 here too
    np.testing.assert_allclose(fitted.predict_proba(texts).themes, ref.themes, atol=1e-5)
    fitted.inference = mode
    a, b = fitted.predict_proba(texts), fitted.predict_proba(texts, batch_size=5)
    np.testing.assert_array_equal(fitted.predict_proba(texts).themes, a.themes)  # deterministic
    tone, themes = decisions(a)
    assert np.mean(tone == tone32) >= 0.95
    assert (themes == themes32).mean(axis=0).min() >= 0.95  # every theme's decision
    np.testing.assert_allclose(a.tone.sum(1), 1.0, atol=1e-5)
    assert np.abs(a.themes - ref.themes).max() < 0.1
    assert np.array_equal(decisions(b)[0], tone) or np.mean(decisions(b)[0] == tone) >= 0.95
    assert fitted.network_.encoder.encoder.layer[0].attention.self.query.__class__ is torch.nn.Linear  # untouched


def test_a_saved_folder_with_the_option_loads_safely_and_stores_nothing_new(fitted, tmp_path):
    from vistance.errors import ModelError
    from vistance.models.transformer import TransformerModel

    texts = learnable_set(20, seed=7)[0]
    fitted.inference = None
    fitted.save(tmp_path / "plain")
    fitted.inference = "int8"
    expected = fitted.predict_proba(texts)
    fitted.save(tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "plain").iterdir())  # no quantised copy, no pickle
    assert json.loads((tmp_path / "m" / "transformer.json").read_text())["params"]["inference"] == "int8"
    loaded = TransformerModel.load(tmp_path / "m")
    assert loaded.inference == "int8"
    np.testing.assert_array_equal(loaded.predict_proba(texts).themes, expected.themes)
    (tmp_path / "m" / "model.onnx").write_bytes(b"not listed")  # an unlisted file is refused
    with pytest.raises(ModelError):
        TransformerModel.load(tmp_path / "m")
    with pytest.raises(ValueError, match="inference"):
        TransformerModel(model_name_or_path=str(tmp_path / "plain"), inference="fp8")._check_params()
