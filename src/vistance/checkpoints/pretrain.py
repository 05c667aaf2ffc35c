"""Masked-LM pretraining: a tiny model from scratch, or domain-adaptive pretraining of PhoBERT.

    stats = pretrain_mlm(texts, "models/mlm", init=None, max_steps=300)            # tiny, from scratch
    stats = pretrain_mlm(texts, "models/dapt", init="/models/phobert-base",          # continue PhoBERT
                         learning_rate=5e-5, max_steps=2000, max_seconds=3600)
    TransformerModel(model_name_or_path="models/mlm").fit(...)

``texts`` are raw paragraphs; they are segmented with ``segmenter`` (the same one
the fine-tuned model must use), tokenised, and cut into consecutive chunks of at
most ``max_length - 2`` subwords (nothing is dropped). Training uses
``transformers.Trainer`` with ``DataCollatorForLanguageModeling`` (15% of subwords
masked, 80/10/10). The budget is ``max_steps`` optimisation steps (the
learning-rate schedule is planned over them) and, optionally, ``max_seconds`` of
wall time, a safety cap that stops training early (the schedule then has not
fully decayed, and the result depends on machine speed). With the step budget
only, a run is deterministic for a given ``seed``.

The output folder is a normal Hugging Face checkpoint (``config.json``,
``model.safetensors``, PhoBERT tokenizer files) plus ``pretrain_stats.json``,
``vistance_checkpoint.json`` (segmenter), a ``README.md`` notice and a
``manifest.json`` that :class:`~vistance.models.transformer.TransformerModel`
verifies before fine-tuning from it.
"""
from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

from vistance.checkpoints.phobert import CHECKPOINT_INFO, NOTICE, build_tiny_checkpoint, read_checkpoint_info
from vistance.models.folder import write_manifest
from vistance.text.segment import get_segmenter

log = logging.getLogger(__name__)
STATS_FILE = "pretrain_stats.json"
_PROBE_WINDOWS = 256  # windows used to measure the masked-LM loss before and after training


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)] if ids else []


def _mlm_loss(model, collator, windows, batch_size: int, seed: int) -> float | None:
    """Mean masked-LM loss on ``windows`` with masks drawn from ``seed`` (same masks every call)."""
    import torch

    if not windows:
        return None
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    batches = [collator([{"input_ids": w} for w in windows[i:i + batch_size]])
               for i in range(0, len(windows), batch_size)]
    torch.random.set_rng_state(state)
    device = next(model.parameters()).device
    model.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for b in batches:
            k = int((b["labels"] != -100).sum())
            if k == 0:
                continue
            out = model(**{key: v.to(device) for key, v in b.items()})
            total += float(out.loss) * k
            n += k
    return total / n if n else None


def pretrain_mlm(
    texts: Sequence[str],
    out_dir,
    init: str | Path | None = None,
    segmenter: str = "pyvi",
    max_steps: int = 200,
    max_seconds: float | None = None,
    batch_size: int = 16,
    learning_rate: float | None = None,
    seed: int = 0,
    max_length: int = 128,
    mlm_probability: float = 0.15,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.06,
    fp16: bool = False,
    bf16: bool = False,
    **tiny,
) -> dict:
    """Masked-LM training on raw ``texts``; write a fine-tunable checkpoint to ``out_dir``.

    ``init=None`` builds a tiny PhoBERT-shaped tokenizer and model from the texts
    (:func:`~vistance.checkpoints.phobert.build_tiny_checkpoint` with ``segmenter``,
    ``max_length``, ``seed`` and the keyword arguments ``tiny``: ``num_merges``,
    ``hidden_size``, ``num_layers``, ``num_heads``, ``intermediate_size``, … with its
    defaults) and trains it from scratch; ``init=PATH`` (or a Hub name when online)
    continues MLM training of that checkpoint, e.g. a local copy of
    ``vinai/phobert-base`` (domain-adaptive pretraining; ``tiny`` must then be
    empty). ``learning_rate`` defaults to 5e-4 from scratch and 5e-5 when continuing.

    Returns the statistics also written to ``out_dir/pretrain_stats.json``:
    ``steps``, ``seconds``, ``steps_per_second``, ``final_loss`` (last logged
    training loss), ``train_loss`` (mean), ``mlm_loss_before``/``mlm_loss_after``
    (fixed masks on up to 256 training windows), ``tokens`` (subwords in the
    corpus), ``tokens_seen``, ``windows``, ``texts``, ``stopped_by``.
    """
    import torch
    from transformers import (AutoModelForMaskedLM, DataCollatorForLanguageModeling, PrinterCallback, Trainer,
                              TrainerCallback, TrainingArguments, set_seed)

    from vistance.models.transformer.checkpoint import (load_pretrained, load_tokenizer, max_tokens_allowed,
                                                        verify_checkpoint_folder)

    if max_steps is None or int(max_steps) < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if max_length < 3:
        raise ValueError(f"max_length must be >= 3, got {max_length}")
    if init is not None and tiny:
        raise ValueError(f"{', '.join(sorted(tiny))}: only for a model built from scratch (init=None)")
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("pretrain_mlm needs at least one non-empty text")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("manifest.json", STATS_FILE):
        (out / stale).unlink(missing_ok=True)
    t_start = time.perf_counter()
    seg = get_segmenter(segmenter)

    if init is None:
        build_tiny_checkpoint(texts, out, segmenter=seg.name, max_length=max_length, seed=seed, **tiny)
        source = out
        lr = 5e-4 if learning_rate is None else learning_rate
    else:
        verify_checkpoint_folder(init, seg.name)
        source = init
        lr = 5e-5 if learning_rate is None else learning_rate
    tok = load_tokenizer(source)
    set_seed(seed)
    model = load_pretrained(AutoModelForMaskedLM, source)
    limit = max_tokens_allowed(model.config)
    if max_length > limit:
        raise ValueError(f"max_length={max_length} exceeds what {source} allows ({limit})")

    windows: list[list[int]] = []
    n_tokens = 0
    for s in seg.segment_batch(texts):
        ids = tok(s, add_special_tokens=False, verbose=False)["input_ids"] if s else []
        n_tokens += len(ids)
        windows.extend([tok.cls_token_id] + c + [tok.sep_token_id] for c in _chunks(ids, max_length - 2))
    rows = [{"input_ids": w} for w in windows]

    collator = DataCollatorForLanguageModeling(tokenizer=tok, mlm=True, mlm_probability=mlm_probability)
    probe = windows[:_PROBE_WINDOWS]
    has_cuda = torch.cuda.is_available()
    if has_cuda:
        model.to("cuda")
    loss_before = _mlm_loss(model, collator, probe, batch_size, seed + 12345)

    class _Budget(TrainerCallback):
        def __init__(self):
            self.t0 = None
            self.last_loss = None
            self.hit_time = False

        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if max_seconds is not None and time.perf_counter() - self.t0 >= max_seconds:
                self.hit_time = True
                control.should_training_stop = True

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.last_loss = float(logs["loss"])
            if logs:
                log.info("mlm step %d: %s", state.global_step, logs)

    class _Rows(torch.utils.data.Dataset):
        def __len__(self):
            return len(rows)

        def __getitem__(self, i):
            return rows[i]

    budget = _Budget()
    workdir = tempfile.mkdtemp(prefix="vistance-mlm-")
    args = TrainingArguments(
        output_dir=workdir, max_steps=int(max_steps), per_device_train_batch_size=batch_size,
        learning_rate=lr, weight_decay=weight_decay, warmup_ratio=warmup_ratio, lr_scheduler_type="linear",
        seed=seed, data_seed=seed, fp16=fp16, bf16=bf16, use_cpu=not has_cuda,
        logging_strategy="steps", logging_steps=max(1, min(50, int(max_steps) // 10)),
        save_strategy="no", eval_strategy="no", report_to=[], remove_unused_columns=False,
        dataloader_num_workers=0, disable_tqdm=True, include_num_input_tokens_seen="non_padding",
    )
    trainer = Trainer(model=model, args=args, train_dataset=_Rows(), data_collator=collator, callbacks=[budget])
    trainer.remove_callback(PrinterCallback)
    try:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="To copy construct from a tensor")  # transformers' token counter
            result = trainer.train()
        train_seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    model = trainer.model
    loss_after = _mlm_loss(model, collator, probe, batch_size, seed + 12345)

    model.cpu().save_pretrained(out, safe_serialization=True)
    if init is not None:
        tok.save_pretrained(out)
    steps = int(trainer.state.global_step)
    stats = {
        "init": None if init is None else str(init), "from_scratch": init is None, "segmenter": seg.name,
        "steps": steps, "max_steps": int(max_steps), "max_seconds": max_seconds,
        "stopped_by": "max_seconds" if budget.hit_time else "max_steps",
        "seconds": round(train_seconds, 3), "total_seconds": round(time.perf_counter() - t_start, 3),
        "steps_per_second": round(steps / train_seconds, 3) if train_seconds > 0 else None,
        "final_loss": budget.last_loss, "train_loss": float(result.training_loss),
        "mlm_loss_before": loss_before, "mlm_loss_after": loss_after,
        "texts": len(texts), "windows": len(windows), "tokens": n_tokens,
        "tokens_seen": int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0),
        "epochs": round(steps * batch_size / max(1, len(windows)), 3),
        "batch_size": batch_size, "learning_rate": lr, "max_length": max_length, "mlm_probability": mlm_probability,
        "seed": seed, "vocab_size": len(tok), "parameters": int(sum(p.numel() for p in model.parameters())),
        "device": "cuda" if has_cuda else "cpu",
    }
    for k in ("final_loss", "train_loss", "mlm_loss_before", "mlm_loss_after"):
        if stats[k] is not None and not math.isfinite(stats[k]):
            warnings.warn(f"pretrain_mlm: {k} is not finite ({stats[k]})", stacklevel=2)

    info = read_checkpoint_info(out) if init is None else {}
    info.update({"built_by": "vistance.checkpoints.pretrain.pretrain_mlm", "stand_in": init is None,
                 "segmenter": seg.name, "init": stats["init"], "pretrain_steps": steps})
    (out / CHECKPOINT_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    (out / STATS_FILE).write_text(json.dumps(stats, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    what = ("a **tiny model trained from scratch** by vistance (NOT PhoBERT; its scores say nothing about "
            "PhoBERT's)" if init is None else f"`{init}` with **continued masked-LM pretraining** by vistance")
    (out / NOTICE).write_text(
        f"# Masked-LM checkpoint\n\nThis folder holds {what} on {len(texts)} {seg.name}-segmented paragraphs "
        f"({n_tokens} subwords) for {steps} steps of batch {batch_size}; masked-LM loss on training windows "
        f"{loss_before} -> {loss_after}. Feed it text segmented with `{seg.name}`. Statistics: `{STATS_FILE}`.\n",
        encoding="utf-8")
    write_manifest(out, kind="mlm_checkpoint", segmenter=seg.name,
                   params={k: stats[k] for k in ("init", "max_steps", "max_seconds", "batch_size", "learning_rate",
                                                 "seed", "max_length", "mlm_probability")})
    return stats


__all__ = ["pretrain_mlm", "STATS_FILE"]
