"""Training pieces over ``transformers.Trainer``: the multi-task loss, callbacks (DVCLive
curves, loss logging), a scratch folder for epoch checkpoints and the helpers that keep
several processes (``accelerate launch``) in step. Importing this module imports torch."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import Trainer, TrainerCallback

log = logging.getLogger(__name__)


class MultiTaskTrainer(Trainer):
    """``Trainer`` whose loss is weighted BCE (themes) + weighted cross-entropy (tone)."""

    def __init__(self, *args, theme_pos_weight=None, tone_weight=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.theme_pos_weight = theme_pos_weight
        self.tone_weight = tone_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        logits = outputs["logits"].float()
        yt, yo = inputs["theme_labels"], inputs["tone_labels"]
        k = yt.shape[-1]
        pw = None if self.theme_pos_weight is None else self.theme_pos_weight.to(logits.device)
        tw = None if self.tone_weight is None else self.tone_weight.to(logits.device)
        loss = F.binary_cross_entropy_with_logits(logits[:, :k], yt.float(), pos_weight=pw)
        loss = loss + F.cross_entropy(logits[:, k:], yo.long(), weight=tw)
        return (loss, outputs) if return_outputs else loss


class ListDataset(torch.utils.data.Dataset):
    """A list of feature dicts as a torch dataset."""

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


class DVCLiveCallback(TrainerCallback):
    """Per-epoch training loss and validation metrics to DVCLive (main process only)."""

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self.live = None
        self.last_loss = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.live is None:
            from dvclive import Live

            self.live = Live(dir=self.log_dir, save_dvc_exp=False, dvcyaml=False)

    def _step(self, state, metrics=None):
        if self.live is None:
            return
        if self.last_loss is not None:
            self.live.log_metric("train/loss", float(self.last_loss))
        for k, v in (metrics or {}).items():
            if k.startswith("eval_") and isinstance(v, (int, float)) and not k.endswith(("runtime", "per_second")):
                self.live.log_metric(f"eval/{k[5:]}", float(v))
        self.live.log_metric("epoch", float(state.epoch or 0))
        self.live.next_step()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.last_loss = logs["loss"]
            if str(getattr(args.eval_strategy, "value", args.eval_strategy)) == "no":
                self._step(state)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self._step(state, metrics)

    def on_train_end(self, args, state, control, **kwargs):
        if self.live is not None:
            self.live.end()
            self.live = None


class LossLogCallback(TrainerCallback):
    """Remembers the last logged training loss (for stats) and logs each record
    through :mod:`logging` (instead of ``print``, which would mix with CLI output)."""

    def __init__(self):
        self.last_loss = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.last_loss = float(logs["loss"])
        if logs and state.is_world_process_zero:
            log.info("epoch %.2f step %d: %s", state.epoch or 0, state.global_step,
                     ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items()))


def trainer_workdir() -> tuple[str, bool]:
    """``(folder, this process owns it)``: scratch folder for epoch checkpoints, shared by all
    processes under ``accelerate launch`` (only rank 0 owns and deletes it)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        tag = f"{os.environ.get('MASTER_ADDR', 'local')}-{os.environ.get('MASTER_PORT', '0')}"
        path = Path(tempfile.gettempdir()) / f"vistance-trainer-{tag}"
        path.mkdir(parents=True, exist_ok=True)
        return str(path), int(os.environ.get("RANK", "0")) == 0
    return tempfile.mkdtemp(prefix="vistance-trainer-"), True


def barrier() -> None:
    """Wait for every process of a distributed run (no-op in a single process)."""
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
    except Exception:  # noqa: BLE001 - a failed barrier must not hide the training error being raised
        pass


def is_main_process() -> bool:
    """True in a single process, or on rank 0 of a distributed run."""
    try:
        import torch.distributed as dist

        return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
    except Exception:  # noqa: BLE001
        return True
