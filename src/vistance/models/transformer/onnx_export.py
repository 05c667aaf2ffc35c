"""ONNX Runtime inference for a fine-tuned network: export, BERT graph fusion, a CPU session.

The network as prediction runs it (encoder + heads: ``input_ids``, ``attention_mask`` -> the
``[batch, n_themes + n_tones]`` logits) is exported with the TorchScript exporter
(``torch.onnx.export(dynamo=False)``, opset 17, batch and sequence axes dynamic), its attention,
GELU and LayerNorm subgraphs are fused by ``onnxruntime.transformers.optimizer`` (``model_type="bert"``;
the unfused graph is kept if fusion fails) and the result runs in an ``onnxruntime.InferenceSession``
(all graph optimisations, ``intra_op`` threads = torch's thread count).

Where the graph lives: **nowhere on disk**. It is exported from the verified weights when a model
first predicts with ``inference="onnx"`` and kept in memory (once per loaded model: ~17 s of CPU for
multilingual-e5-small, 9 s export + 8 s fusion), so model folders stay safetensors + manifest, old
and new folders load alike, prediction writes nothing, and there is no second 470 MB copy of the
weights that could drift from them or be tampered with.

:func:`quantize_int8` (ONNX Runtime dynamic int8) is here for ``benchmarks/bench_encoder.py``; it is
not an ``inference`` option because its decisions do not agree with float32 often enough (see
``benchmarks/results/encoder_inference.json``).

Importing this module imports torch; ``onnxruntime`` and ``onnx`` are imported when used.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from vistance.models.transformer.inference import LogitsNet, trace_example

OPSET = 17


def _config(net: nn.Module):
    encoder = getattr(net, "encoder", None)
    return (encoder if encoder is not None else net.themes).config


def export_onnx(net: nn.Module, fuse: bool = True) -> bytes:
    """The serialised ONNX graph of ``net`` (a ``SharedEncoderNet`` or ``TwoModelsNet``, float32, CPU);
    ``fuse`` applies ONNX Runtime's BERT fusions (attention, GELU, skip-LayerNorm)."""
    import onnx

    net = net.cpu().eval()
    ids, mask = trace_example()
    with tempfile.TemporaryDirectory(prefix="vistance-onnx-") as tmp:
        path = Path(tmp) / "model.onnx"
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and exporter-deprecation notices
            torch.onnx.export(LogitsNet(net).eval(), (ids, mask), str(path), dynamo=False, opset_version=OPSET,
                              input_names=["input_ids", "attention_mask"], output_names=["logits"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                            "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
                              do_constant_folding=True)
        net.eval()  # the exporter restores the wrapper's mode recursively; keep net as prediction needs it
        if fuse:
            try:
                from onnxruntime.transformers.optimizer import optimize_model

                cfg = _config(net)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fused = optimize_model(str(path), model_type="bert", num_heads=cfg.num_attention_heads,
                                           hidden_size=cfg.hidden_size, opt_level=0)
                proto = fused.model
                if not any(o.domain == "com.microsoft" for o in proto.opset_import):  # the fused ops' domain
                    proto.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
                return proto.SerializeToString()
            except Exception as e:  # noqa: BLE001 - an unfusable graph still runs, only slower
                warnings.warn(f"ONNX Runtime BERT fusion failed ({type(e).__name__}: {e}); using the unfused graph")
        return onnx.load(str(path)).SerializeToString()


def quantize_int8(model: bytes, per_channel: bool = True, exclude: Sequence[str] = ()) -> bytes:
    """``model`` with ONNX Runtime dynamic int8 weights (``MatMul``/``Attention``; activations quantised
    per batch at run time), leaving the nodes whose names match any regular expression of ``exclude``
    (``re.search``) in float32."""
    import re

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    proto = onnx.load_from_string(model)
    names = [n.name for n in proto.graph.node if any(re.search(x, n.name) for x in exclude)]
    with tempfile.TemporaryDirectory(prefix="vistance-onnx-") as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(src, dst, per_channel=per_channel, weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul", "Attention"], nodes_to_exclude=names,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        return dst.read_bytes()


class OnnxNetwork:
    """An ONNX Runtime CPU session called like the torch network: ``net(input_ids=, attention_mask=)``
    -> ``{"logits": tensor}``. ``threads``: intra-op threads (default torch's thread count)."""

    def __init__(self, model: bytes, threads: int | None = None):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = int(threads or torch.get_num_threads())
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids, attention_mask) -> dict:
        feed = {"input_ids": np.asarray(input_ids, dtype=np.int64),
                "attention_mask": np.asarray(attention_mask, dtype=np.int64)}
        return {"logits": torch.from_numpy(self.session.run(["logits"], feed)[0])}

    def eval(self) -> "OnnxNetwork":
        return self
