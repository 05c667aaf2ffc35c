"""Fast CPU inference for a fine-tuned encoder: one full pass per window at a chosen precision.

``TransformerModel(inference=...)`` picks how ``predict``/``analyze`` run the network on new texts:

* ``None`` (default, what older model folders load as): as before — with ``freeze_layers > 0`` on
  CPU the frozen bottom's states come from the state cache where a text was fitted on, computed
  otherwise (bf16 autocast when ``bf16``), then the top layers and heads.
* ``"float32"``: the whole network in float32 (the reference the other paths are measured against).
* ``"bf16"``: the whole network under CPU bf16 autocast (AVX-512 bf16 / AMX through oneDNN).
* ``"int8"``: the encoder's ``nn.Linear`` layers quantised with PyTorch dynamic int8
  (``torch.ao.quantization.quantize_dynamic``, int8 weights per output channel, activations
  quantised per batch) at load/predict time, so nothing new is stored in the model folder and the
  folder stays safetensors + manifest; the two heads stay float32 (their logits decide the themes
  at the tuned thresholds).
* ``"onnx"``: the network exported to ONNX (encoder + heads), BERT-fused and run by ONNX Runtime in
  float32 (:mod:`.onnx_export`); exported from the loaded weights at first use and kept in memory,
  so nothing new is stored in the model folder either.
* ``"openvino"``: the network converted to OpenVINO and compiled for the CPU in **bf16** where the
  CPU has it (AVX-512 bf16 / AMX), float32 otherwise (:mod:`.openvino_runtime`); converted from the
  loaded weights at first use (~4 s) and kept in memory. Of these options the fastest at >= 99 % of
  float32's decisions on the 2-core machine (``benchmarks/bench_encoder.py --model``).

All paths batch the windows by length (dynamic padding) and are deterministic for the same input
and thread count. Measured agreement with float32: ``benchmarks/bench_encoder.py --model``.

Importing this module imports torch.
"""
from __future__ import annotations

import copy
import warnings
from typing import Sequence

import numpy as np
import torch
from torch import nn

INFERENCE = ("float32", "bf16", "int8", "onnx", "openvino")


class LogitsNet(nn.Module):
    """``net`` with tensor arguments and a tensor result: what the ONNX exporter and the OpenVINO
    converter trace."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask):
        return self.net(input_ids=input_ids, attention_mask=attention_mask)["logits"]


def trace_example() -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)`` to trace with; the second row is padded, so the mask arithmetic
    is traced (no mask-free shortcut)."""
    return (torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=torch.long),
            torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long))


def check_inference(mode) -> None:
    if mode is not None and mode not in INFERENCE:
        raise ValueError(f"inference must be None or one of {INFERENCE}, got {mode!r}")


def prepare_network(net: nn.Module, mode: str):
    """What to run for ``mode``: ``net`` itself (float32, bf16), an int8 copy of it whose encoder
    Linear layers are dynamically quantised, an ONNX Runtime session of it
    (:class:`~.onnx_export.OnnxNetwork`) or an OpenVINO compiled model of it
    (:class:`~.openvino_runtime.OpenVinoNetwork`), each called like ``net``; ``net`` is left untouched."""
    check_inference(mode)
    net = net.eval()
    if mode == "openvino":
        from vistance.models.transformer.openvino_runtime import OpenVinoNetwork

        return OpenVinoNetwork(net)
    if mode == "onnx":
        from vistance.models.transformer.onnx_export import OnnxNetwork, export_onnx

        return OnnxNetwork(export_onnx(net))
    if mode != "int8":
        return net
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    q = copy.deepcopy(net).cpu().eval()
    encoder = getattr(q, "encoder", None)
    targets = [q.themes, q.tone] if encoder is None else [encoder]  # TwoModelsNet: both encoders
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*(torchao|quantize_per)")  # the eager-quantisation deprecation notices
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for mod in targets:
            names = {n for n, m in mod.named_modules() if isinstance(m, nn.Linear) and not _is_head(n)}
            quantize_dynamic(mod, {n: per_channel_dynamic_qconfig for n in names}, dtype=torch.qint8, inplace=True)
    return q


def _is_head(name: str) -> bool:
    # sequence-classification heads of TwoModelsNet's models; SharedEncoderNet's heads are outside the encoder
    return name.startswith("classifier") or name.startswith("pooler")


def window_logits(net, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int,
                  mode: str) -> np.ndarray:
    """Logits (themes ++ tone, ``[n_windows, 12]`` float64) of every window through ``net``
    (from :func:`prepare_network`), in length-sorted batches with dynamic padding.
    ``mode`` only chooses bf16 autocast; an ONNX session runs as it was built."""
    from vistance.models.transformer.networks import Collator

    check_inference(mode)
    collate = Collator(pad_id)
    order = np.argsort([len(w) for w in windows], kind="stable")
    out = None
    bs = max(1, int(batch_size))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            batch = collate([{"input_ids": windows[i]} for i in idx])
            logits = net(**batch)["logits"].float().numpy()
            if out is None:
                out = np.zeros((len(windows), logits.shape[1]))
            out[idx] = logits
    return out if out is not None else np.zeros((0, 0))
