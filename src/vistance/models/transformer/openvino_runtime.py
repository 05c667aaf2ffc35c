"""OpenVINO inference for a fine-tuned network: converted from the loaded weights, run in bf16 where the CPU has it.

The network as prediction runs it (encoder + heads: ``input_ids``, ``attention_mask`` -> the
``[batch, n_themes + n_tones]`` logits) is converted with ``openvino.convert_model`` straight from
the torch module (traced once, batch and sequence axes dynamic; ~4 s for multilingual-e5-small) and
compiled for the CPU with ``INFERENCE_PRECISION_HINT`` **bf16** when the CPU reports BF16 (AVX-512
bf16 or AMX: OpenVINO's own default there), float32 otherwise; ``INFERENCE_NUM_THREADS`` = torch's
thread count, the latency hint (one stream), so the same input gives the same output on one machine.

Why bf16 here and not through PyTorch autocast: OpenVINO runs the whole graph in bf16 with fused
attention and keeps LayerNorm/softmax accumulations in float32 (about 2.2-2.3x PyTorch float32
against 1.8x for autocast at the model's batch of 16 windows, warm, on the 2-core AVX-512 bf16
machine; ``benchmarks/bench_encoder.py --model``). Its decisions are measured against float32 in
every ``vistance evaluate`` (``metrics[...]["inference"]``).

Nothing is stored: the compiled model lives in memory with the loaded ``TransformerModel``, so
model folders stay safetensors + manifest.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from vistance.models.transformer.inference import LogitsNet, trace_example


def convert(net: nn.Module):
    """The ``openvino.Model`` of ``net`` (encoder + heads -> logits; batch and sequence axes dynamic),
    traced from its weights as they are; ``net`` is left in eval mode."""
    import openvino as ov

    ids, mask = trace_example()
    net = net.cpu().eval()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notices about the mask arithmetic of transformers' BERT
        model = ov.convert_model(LogitsNet(net), example_input={"input_ids": ids, "attention_mask": mask},
                                 input=[("input_ids", [-1, -1], ov.Type.i64),
                                        ("attention_mask", [-1, -1], ov.Type.i64)])
    net.eval()
    return model


def cpu_precision() -> str:
    """``"bf16"`` where OpenVINO's CPU plugin reports BF16 support, else ``"f32"``."""
    import openvino as ov

    return "bf16" if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


class OpenVinoNetwork:
    """``net`` converted to OpenVINO and compiled for the CPU, called like the torch network:
    ``net(input_ids=, attention_mask=)`` -> ``{"logits": tensor}``.

    ``net``: the torch network (converted by :func:`convert`) or an ``openvino.Model`` of it;
    ``precision``: ``"bf16"``, ``"f32"`` or ``None`` (bf16 where the CPU has it, :func:`cpu_precision`);
    ``threads``: inference threads (default torch's thread count); ``config``: further CPU plugin
    properties. ``net`` is left in eval mode."""

    def __init__(self, net, precision: str | None = None, threads: int | None = None, config: dict | None = None):
        import openvino as ov

        self.precision = precision or cpu_precision()
        if self.precision not in ("bf16", "f32"):
            raise ValueError(f"precision must be 'bf16' or 'f32', got {self.precision!r}")
        model = convert(net) if isinstance(net, nn.Module) else net
        config = {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()), **(config or {})}
        self.compiled = ov.Core().compile_model(model, "CPU", config)
        self._request = self.compiled.create_infer_request()

    def __call__(self, input_ids, attention_mask) -> dict:
        out = self._request.infer({0: np.asarray(input_ids, dtype=np.int64),
                                   1: np.asarray(attention_mask, dtype=np.int64)})
        return {"logits": torch.from_numpy(np.array(out[0], dtype=np.float32))}

    def eval(self) -> "OpenVinoNetwork":
        return self
