"""Fine-tuned PhoBERT-style transformer: multi-label themes and single-label tone.

    model = TransformerModel(model_name_or_path="vinai/phobert-base", heads="shared_encoder")
    model.fit(texts, themes, tones, valid=(v_texts, v_themes, v_tones))
    scores = model.predict_proba(texts)            # Scores: themes [n, 9], tone [n, 3]
    model.save("models/transformer"); TransformerModel.load("models/transformer")

Segmentation contract
    Input is **raw** text. The model normalises it (NFC, new-style tone marks) and
    word-segments it with its segmenter (``pyvi`` by default, see
    :mod:`vistance.text.segment`), then applies the checkpoint's BPE tokenizer.
    The segmenter name is saved with the model; loading or predicting with a
    different one raises (:func:`~vistance.text.segment.check_segmenter`).

Long paragraphs (never truncated)
    A paragraph whose subword sequence is longer than ``max_length - 2`` (room for
    ``<s>`` and ``</s>``) is split into overlapping windows of at most
    ``max_length - 2`` subwords; consecutive windows overlap by at least ``stride``
    subwords and the last window ends at the paragraph's last subword, so every
    subword is in some window (:func:`window_spans`). In **training** each window
    is an example carrying its paragraph's labels. In **prediction** the windows'
    outputs are pooled per paragraph: theme probability = **max** over windows (a
    theme mentioned anywhere counts), tone probabilities = **mean** of the
    windows' softmax distributions (rows still sum to 1).

Heads
    ``heads="shared_encoder"``: one encoder, two linear heads on the ``<s>`` vector
    (themes: 9 sigmoid outputs, tone: 3-way softmax), trained on the sum of the two
    losses. ``heads="two_models"``: two ``AutoModelForSequenceClassification``
    models (themes with ``problem_type="multi_label_classification"``), trained
    side by side with the same schedule; twice the memory and compute.

Losses and class weights (``class_weights=True``)
    Themes: ``BCEWithLogits`` with ``pos_weight[j] = negatives_j / positives_j``
    counted on the training windows, clipped to [1/50, 50] (1 for a theme absent
    from training). Tone: cross-entropy with balanced weights ``n / (3 * n_c)``.

Early stopping and thresholds
    With ``valid=(texts, themes, tones)`` the model is evaluated after every epoch
    on the pooled paragraph scores; the score is the mean of the theme macro-F1
    (``Scores.theme_matrix`` at threshold 0.5, over themes present in the
    validation gold) and the tone macro-F1 (over tones present). Training stops
    after ``early_stopping_patience`` epochs without improvement and the best
    epoch's weights are restored (``load_best_model_at_end``). Then one threshold
    per theme is tuned on the validation scores (grid 0.05..0.95, maximising that
    theme's F1, ties to the value nearest 0.5); themes absent from the validation
    gold, or every theme when there is no validation set, keep 0.5. Thresholds
    are saved and returned in ``Scores.thresholds``.

Hardware
    CPU by default (``use_cpu`` whenever CUDA is missing); ``fp16`` / ``bf16`` go
    straight to ``TrainingArguments``, so the same parameters run on a GPU, and
    ``accelerate launch -m vistance.cli train ...`` runs it on several GPUs.

Model folders hold safetensors weights, configs, tokenizer files,
``thresholds.json``, ``transformer.json`` and a verified ``manifest.json``; no pickle.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import ModelError
from vistance.labels.schema import THEMES, TONES, check_themes, check_tone, themes_to_vector
from vistance.models.base import Scores
from vistance.models.folder import read_manifest, write_manifest
from vistance.models.thresholds import GRID as THRESHOLD_GRID
from vistance.models.thresholds import tune_thresholds
from vistance.text.segment import check_segmenter, get_segmenter

log = logging.getLogger(__name__)

HEADS = ("shared_encoder", "two_models")
THRESHOLD_MIN_POSITIVES = 1  # a theme needs this many validation positives to get a tuned threshold
POS_WEIGHT_CAP = 50.0
META_FILE = "transformer.json"
THRESHOLDS_FILE = "thresholds.json"
HEADS_FILE = "heads.safetensors"
# already word-segmented, as PhoBERT expects; used to catch tokenizers that silently produce nothing
PROBE_SENTENCE = "Việt_Nam và Trung_Quốc nhất_trí tăng_cường hợp_tác kinh_tế , thương_mại và đầu_tư ."

PROVIDE_WEIGHTS = (
    "To provide weights: on a machine with internet run "
    "`huggingface-cli download vinai/phobert-base --local-dir PATH` (or `hf download ...`), "
    "copy PATH to this machine, and set `model_name_or_path: PATH` in params.yaml."
)

_PARAM_NAMES = (
    "model_name_or_path", "segmenter", "max_length", "stride", "heads", "epochs", "batch_size",
    "learning_rate", "weight_decay", "warmup_ratio", "seed", "class_weights",
    "early_stopping_patience", "fp16", "bf16", "log_dir", "use_dvclive",
)


# ----------------------------------------------------------------------------- checkpoint loading

def hub_offline() -> bool:
    """True when the Hugging Face Hub must not be contacted (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return True
    try:
        import huggingface_hub.constants as c

        return bool(c.HF_HUB_OFFLINE)
    except Exception:  # noqa: BLE001 - a missing/changed constant only means "not forced offline"
        return False


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0][:300] if msg else ''}"


def checkpoint_error(name_or_path, cause: BaseException | None = None) -> ModelError:
    """The one message for a checkpoint that cannot be loaded."""
    p = Path(str(name_or_path)).expanduser()
    why = f" ({_short(cause)})" if cause is not None else ""
    if p.is_dir():
        return ModelError(
            f"transformer checkpoint folder {str(name_or_path)!r} exists but does not hold a loadable "
            f"model and tokenizer{why}. It needs config.json, safetensors weights and the tokenizer files "
            f"(vocab.txt and bpe.codes for PhoBERT). {PROVIDE_WEIGHTS}"
        )
    return ModelError(
        f"transformer checkpoint {str(name_or_path)!r} was not found locally (no such folder, and not in "
        f"the Hugging Face cache) and the Hugging Face Hub is unreachable or disabled (offline){why}. "
        f"{PROVIDE_WEIGHTS}"
    )


def _source(name_or_path) -> tuple[str, bool]:
    """``(what to pass to from_pretrained, local_files_only)``."""
    p = Path(str(name_or_path)).expanduser()
    if p.is_dir():
        return str(p), True
    return str(name_or_path), hub_offline()


def _verify_checkpoint_folder(name_or_path, segmenter: str | None = None) -> None:
    """Verify a vistance-made checkpoint (manifest) and warn on a segmenter different from its own."""
    from vistance.models.phobert_checkpoint import read_checkpoint_info

    p = Path(str(name_or_path)).expanduser()
    if not p.is_dir():
        return
    if (p / "manifest.json").is_file():
        read_manifest(p)
    info = read_checkpoint_info(p)
    if segmenter and info.get("segmenter") and info["segmenter"] != segmenter:
        warnings.warn(
            f"{p}: checkpoint was built on {info['segmenter']!r}-segmented text, fine-tuning with {segmenter!r}",
            stacklevel=3,
        )
    has_safe = any(p.glob("*.safetensors")) or any(p.glob("*/*.safetensors"))
    if not has_safe and (p / "pytorch_model.bin").is_file():
        warnings.warn(
            f"{p}: only pytorch_model.bin (pickle) is present; transformers loads it with weights_only=True. "
            "Prefer a folder with model.safetensors.", stacklevel=3,
        )


def check_tokenizer(tokenizer, where) -> None:
    """Refuse a tokenizer that turns a Vietnamese probe sentence into nothing (or mostly ``<unk>``)."""
    try:
        ids = tokenizer(PROBE_SENTENCE, add_special_tokens=False, verbose=False)["input_ids"]
    except Exception as e:  # noqa: BLE001 - any failure here is a broken tokenizer
        raise ModelError(f"{where}: the tokenizer fails on a Vietnamese probe sentence ({_short(e)})") from e
    unk = getattr(tokenizer, "unk_token_id", None)
    n_unk = sum(1 for i in ids if unk is not None and i == unk)
    if not ids or n_unk * 2 > len(ids):
        raise ModelError(
            f"{where}: the tokenizer produced {'an empty' if not ids else 'a mostly <unk>'} tokenisation of a "
            f"Vietnamese probe sentence ({len(ids)} tokens, {n_unk} unknown); the tokenizer files are missing, "
            f"empty or not PhoBERT's (check vocab.txt and bpe.codes). {PROVIDE_WEIGHTS}"
        )


def load_tokenizer(name_or_path):
    """``AutoTokenizer`` for a local folder or Hub name, guarded by :func:`check_tokenizer`."""
    from transformers import AutoTokenizer

    src, local_only = _source(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(src, local_files_only=local_only)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise checkpoint_error(name_or_path, e) from e
    check_tokenizer(tok, name_or_path)
    return tok


def _load_pretrained(loader, name_or_path, **kwargs):
    src, local_only = _source(name_or_path)
    try:
        return loader.from_pretrained(src, local_files_only=local_only, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        raise checkpoint_error(name_or_path, e) from e


def _load_encoder(name_or_path, **kwargs):
    """``AutoModel`` without the pooler (the heads read the ``<s>`` vector)."""
    from transformers import AutoModel

    try:
        return _load_pretrained(AutoModel, name_or_path, add_pooling_layer=False, **kwargs)
    except TypeError:  # an architecture without that switch
        model = _load_pretrained(AutoModel, name_or_path, **kwargs)
        if hasattr(model, "pooler"):
            model.pooler = None
        return model


def max_tokens_allowed(config) -> int:
    """Longest input (special tokens included) the checkpoint's position table allows."""
    n = int(getattr(config, "max_position_embeddings", 512))
    if "roberta" in str(getattr(config, "model_type", "")) or getattr(config, "model_type", "") == "camembert":
        n -= int(getattr(config, "pad_token_id", 1) or 0) + 1  # RoBERTa positions start after the pad id
    return n


# ----------------------------------------------------------------------------- pure helpers

def window_spans(n_tokens: int, max_length: int, stride: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``n_tokens`` subwords with windows of at most
    ``max_length - 2`` subwords (room for ``<s>``/``</s>``); consecutive windows
    overlap by at least ``stride``; the last one ends at ``n_tokens``. A short (or
    empty) sequence is one span."""
    body = max_length - 2
    if body < 1 or not 0 <= stride < body:
        raise ValueError(f"need max_length >= 3 and 0 <= stride < max_length - 2, got {max_length}, {stride}")
    if n_tokens <= body:
        return [(0, n_tokens)]
    step = body - stride
    starts = list(range(0, n_tokens - body, step)) + [n_tokens - body]
    return [(s, s + body) for s in starts]


def theme_pos_weights(Y: np.ndarray, cap: float = POS_WEIGHT_CAP) -> np.ndarray:
    """``negatives / positives`` per theme column of a multi-hot ``[n, 9]`` matrix,
    clipped to ``[1/cap, cap]``; 1 for a theme with no positive."""
    Y = np.asarray(Y, dtype=float)
    pos = Y.sum(axis=0)
    neg = Y.shape[0] - pos
    w = np.where(pos > 0, neg / np.maximum(pos, 1.0), 1.0)
    return np.clip(w, 1.0 / cap, cap)


def tone_class_weights(y: np.ndarray, n_classes: int = len(TONES)) -> np.ndarray:
    """Balanced weights ``n / (k * n_c)`` for tone indices ``y``; 1 for an absent class."""
    y = np.asarray(y, dtype=int)
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1.0)), 1.0)


def valid_scores(theme_probs, tone_probs, Y, y, thresholds=None) -> dict:
    """Theme macro-F1 (decisions of :meth:`Scores.theme_matrix`, over themes present in
    ``Y``), tone macro-F1 (over tones present in ``y``) and their mean ``macro_f1``."""
    from sklearn.metrics import f1_score

    Y, y = np.asarray(Y, dtype=int), np.asarray(y, dtype=int)
    thr = np.full(len(THEMES), 0.5) if thresholds is None else thresholds
    dec = Scores(theme_probs, tone_probs, thr).theme_matrix()
    present = np.flatnonzero(Y.sum(axis=0) > 0)
    theme_f1 = float(f1_score(Y[:, present], dec[:, present], average="macro", zero_division=0)) if len(present) else 0.0
    tone_f1 = float(f1_score(y, np.asarray(tone_probs).argmax(axis=1), labels=sorted(set(y.tolist())),
                             average="macro", zero_division=0))
    return {"theme_macro_f1": theme_f1, "tone_macro_f1": tone_f1, "macro_f1": (theme_f1 + tone_f1) / 2}


def pool_windows(theme_probs: np.ndarray, tone_probs: np.ndarray, owners: np.ndarray, n: int):
    """Pool window rows to paragraphs: theme max, tone mean (renormalised)."""
    T = np.zeros((n, theme_probs.shape[1]))
    O = np.zeros((n, tone_probs.shape[1]))
    counts = np.bincount(owners, minlength=n).astype(float)
    np.maximum.at(T, owners, theme_probs)
    np.add.at(O, owners, tone_probs)
    O /= np.maximum(counts, 1.0)[:, None]
    O /= np.maximum(O.sum(axis=1, keepdims=True), 1e-12)
    return T, O


# ----------------------------------------------------------------------------- torch pieces

def _torch_parts():
    """Classes needing torch/transformers, built on first use (the module imports without them)."""
    global _PARTS
    if _PARTS is not None:
        return _PARTS
    import torch
    import torch.nn.functional as F
    from torch import nn
    from transformers import Trainer, TrainerCallback

    class SharedEncoderNet(nn.Module):
        """One encoder, two linear heads on the ``<s>`` vector; ``logits`` = themes ++ tone."""

        def __init__(self, encoder, n_themes: int = len(THEMES), n_tones: int = len(TONES)):
            super().__init__()
            cfg = encoder.config
            self.encoder = encoder
            p = getattr(cfg, "classifier_dropout", None)
            self.dropout = nn.Dropout(p if p is not None else getattr(cfg, "hidden_dropout_prob", 0.1))
            self.theme_head = nn.Linear(cfg.hidden_size, n_themes)
            self.tone_head = nn.Linear(cfg.hidden_size, n_tones)
            std = getattr(cfg, "initializer_range", 0.02)
            for head in (self.theme_head, self.tone_head):
                nn.init.normal_(head.weight, std=std)
                nn.init.zeros_(head.bias)

        def forward(self, input_ids, attention_mask=None):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
            h = self.dropout(h)
            return {"logits": torch.cat([self.theme_head(h), self.tone_head(h)], dim=-1)}

        def heads_state(self) -> dict:
            return {f"theme_head.{k}": v for k, v in self.theme_head.state_dict().items()} | {
                f"tone_head.{k}": v for k, v in self.tone_head.state_dict().items()}

    class TwoModelsNet(nn.Module):
        """Two sequence classifiers side by side; ``logits`` = themes ++ tone."""

        def __init__(self, themes_model, tone_model):
            super().__init__()
            self.themes = themes_model
            self.tone = tone_model

        def forward(self, input_ids, attention_mask=None):
            a = self.themes(input_ids=input_ids, attention_mask=attention_mask).logits
            b = self.tone(input_ids=input_ids, attention_mask=attention_mask).logits
            return {"logits": torch.cat([a, b], dim=-1)}

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

    class Collator:
        """Pad windows of ids on the right; stack labels when present."""

        def __init__(self, pad_id: int):
            self.pad_id = pad_id

        def __call__(self, features):
            n = max(len(f["input_ids"]) for f in features)
            ids = torch.full((len(features), n), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(features), n), dtype=torch.long)
            for i, f in enumerate(features):
                ids[i, : len(f["input_ids"])] = torch.tensor(f["input_ids"], dtype=torch.long)
                mask[i, : len(f["input_ids"])] = 1
            batch = {"input_ids": ids, "attention_mask": mask}
            if "theme_labels" in features[0]:
                batch["theme_labels"] = torch.tensor(np.array([f["theme_labels"] for f in features]), dtype=torch.float)
                batch["tone_labels"] = torch.tensor([f["tone_labels"] for f in features], dtype=torch.long)
            return batch

    class ListDataset(torch.utils.data.Dataset):
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

    class TimeAndLossCallback(TrainerCallback):
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

    _PARTS = dict(
        SharedEncoderNet=SharedEncoderNet, TwoModelsNet=TwoModelsNet, MultiTaskTrainer=MultiTaskTrainer,
        Collator=Collator, ListDataset=ListDataset, DVCLiveCallback=DVCLiveCallback,
        TimeAndLossCallback=TimeAndLossCallback,
    )
    return _PARTS


_PARTS = None


def _trainer_workdir() -> tuple[str, bool]:
    """Scratch folder for epoch checkpoints; shared by all processes under ``accelerate launch``."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        tag = f"{os.environ.get('MASTER_ADDR', 'local')}-{os.environ.get('MASTER_PORT', '0')}"
        path = Path(tempfile.gettempdir()) / f"vistance-trainer-{tag}"
        path.mkdir(parents=True, exist_ok=True)
        return str(path), int(os.environ.get("RANK", "0")) == 0
    return tempfile.mkdtemp(prefix="vistance-trainer-"), True


def _barrier() -> None:
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()
    except Exception:  # noqa: BLE001 - a failed barrier must not hide the training error being raised
        pass


def _is_main_process() -> bool:
    try:
        import torch.distributed as dist

        return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
    except Exception:  # noqa: BLE001
        return True


# ----------------------------------------------------------------------------- the model

class TransformerModel:
    """PhoBERT-style encoder fine-tuned for themes (multi-label) and tone (3 classes).

    Parameters (hyper-parameters only; learned state lives in attributes ending in ``_``)
    ----------
    model_name_or_path : str, default "vinai/phobert-base"
        Local checkpoint folder or Hub name (the Hub is used only when online).
    segmenter : str, default "pyvi"
        Word segmenter applied to the raw text (recorded; prediction must use the same).
    max_length : int, default 256
        Subwords per window including ``<s>`` and ``</s>``; at most what the
        checkpoint's position table allows (256 for PhoBERT).
    stride : int, default 64
        Minimum overlap (subwords) of consecutive windows of a long paragraph.
    heads : {"shared_encoder", "two_models"}, default "shared_encoder"
    epochs, batch_size, learning_rate, weight_decay, warmup_ratio : training schedule (AdamW, linear decay).
    seed : int, default 0
        Seeds head initialisation, data order and dropout: same data + seed -> same model.
    class_weights : bool, default True
        Theme ``pos_weight`` and balanced tone weights (see module docstring).
    early_stopping_patience : int or None, default 2
        Epochs without validation improvement before stopping (needs ``valid``).
    fp16, bf16 : bool
        Mixed precision, passed to ``TrainingArguments`` (GPU).
    log_dir : str or None; use_dvclive : bool
        Write per-epoch ``train/loss`` and ``eval/*`` curves with DVCLive to ``log_dir``.

    Attributes after ``fit``/``load``: ``tokenizer_``, ``network_`` (torch module),
    ``segmenter_`` (name), ``thresholds_`` ``[9]``, ``training_stats_`` (dict).
    """

    kind = "transformer"

    def __init__(self, model_name_or_path: str = "vinai/phobert-base", segmenter: str = "pyvi",
                 max_length: int = 256, stride: int = 64, heads: str = "shared_encoder", epochs: int = 3,
                 batch_size: int = 16, learning_rate: float = 3e-5, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, seed: int = 0, class_weights: bool = True,
                 early_stopping_patience: int | None = 2, fp16: bool = False, bf16: bool = False,
                 log_dir: str | None = None, use_dvclive: bool = False):
        self.model_name_or_path = model_name_or_path
        self.segmenter = segmenter
        self.max_length = max_length
        self.stride = stride
        self.heads = heads
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.seed = seed
        self.class_weights = class_weights
        self.early_stopping_patience = early_stopping_patience
        self.fp16 = fp16
        self.bf16 = bf16
        self.log_dir = log_dir
        self.use_dvclive = use_dvclive

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in _PARAM_NAMES}

    def __repr__(self) -> str:
        return f"TransformerModel({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if self.heads not in HEADS:
            raise ValueError(f"heads must be one of {HEADS}, got {self.heads!r}")
        window_spans(0, self.max_length, self.stride)  # validates max_length/stride
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if self.use_dvclive and not self.log_dir:
            raise ValueError("use_dvclive=True needs log_dir")

    def _check_fitted(self) -> None:
        if getattr(self, "network_", None) is None:
            raise ModelError("this TransformerModel is not fitted; call fit() or load() first")

    def _check_length(self, config, where) -> None:
        limit = max_tokens_allowed(config)
        if self.max_length > limit:
            raise ValueError(f"max_length={self.max_length} exceeds what {where} allows ({limit} tokens with <s>, </s>)")

    # ------------------------------------------------------------------ encoding
    def _tokenizer(self):
        if getattr(self, "tokenizer_", None) is None:
            self.tokenizer_ = load_tokenizer(self.model_name_or_path)
        return self.tokenizer_

    def segment(self, texts: Sequence[str]) -> list[str]:
        """Normalise and word-segment raw texts with this model's segmenter."""
        name = getattr(self, "segmenter_", None) or self.segmenter
        return get_segmenter(name).segment_batch(list(texts))

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Subword ids of each raw text (segmented first), without special tokens."""
        tok = self._tokenizer()
        return [tok(s, add_special_tokens=False, verbose=False)["input_ids"] if s else [] for s in self.segment(texts)]

    def encode_windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """``(windows, owners)``: every window as ``<s> ids </s>`` and the index of its text.

        A text yields one window, or several overlapping ones when it has more than
        ``max_length - 2`` subwords (:func:`window_spans`); nothing is truncated.
        """
        window_spans(0, self.max_length, self.stride)
        tok = self._tokenizer()
        cls_id, sep_id = tok.cls_token_id, tok.sep_token_id
        windows, owners = [], []
        for i, ids in enumerate(self.token_ids(texts)):
            for s, e in window_spans(len(ids), self.max_length, self.stride):
                windows.append([cls_id] + ids[s:e] + [sep_id])
                owners.append(i)
        return windows, np.asarray(owners, dtype=int)

    # ------------------------------------------------------------------ networks
    def _new_network(self):
        """Fresh trainable network from ``model_name_or_path`` (heads seeded by ``seed``)."""
        from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

        parts = _torch_parts()
        config = _load_pretrained(AutoConfig, self.model_name_or_path)
        self._check_length(config, self.model_name_or_path)
        set_seed(self.seed)
        if self.heads == "shared_encoder":
            return parts["SharedEncoderNet"](_load_encoder(self.model_name_or_path))
        themes = _load_pretrained(
            AutoModelForSequenceClassification, self.model_name_or_path, num_labels=len(THEMES),
            problem_type="multi_label_classification", id2label=dict(enumerate(THEMES)),
            label2id={t: i for i, t in enumerate(THEMES)})
        set_seed(self.seed + 1)
        tone = _load_pretrained(
            AutoModelForSequenceClassification, self.model_name_or_path, num_labels=len(TONES),
            problem_type="single_label_classification", id2label=dict(enumerate(TONES)),
            label2id={t: i for i, t in enumerate(TONES)})
        return parts["TwoModelsNet"](themes, tone)

    # ------------------------------------------------------------------ fit
    def fit(self, texts: Sequence[str], themes: Sequence[Sequence[str]], tones: Sequence[str],
            groups: Sequence[str] | None = None, valid: tuple | None = None) -> "TransformerModel":
        """Fine-tune on raw ``texts`` with theme lists and tone names.

        ``groups`` is accepted for the protocol and not used (splitting happens
        outside). ``valid=(texts, themes, tones)`` turns on per-epoch evaluation,
        early stopping, best-epoch restore and threshold tuning.
        """
        import torch
        from transformers import EarlyStoppingCallback, PrinterCallback, TrainingArguments, set_seed

        self._check_params()
        texts = list(texts)
        if not texts or not (len(texts) == len(themes) == len(tones)):
            raise ValueError("fit needs equally many texts, theme lists and tones "
                             f"(got {len(texts)}, {len(themes)}, {len(tones)})")
        Y = np.array([themes_to_vector(check_themes(list(t), f"training row {i}")) for i, t in enumerate(themes)])
        y = np.array([TONES.index(check_tone(t, f"training row {i}")) for i, t in enumerate(tones)])
        if valid is not None:
            v_texts, v_themes, v_tones = (list(v) for v in valid)
            if not v_texts or not (len(v_texts) == len(v_themes) == len(v_tones)):
                raise ValueError("valid must be (texts, themes, tones) of equal, non-zero length")
            Yv = np.array([themes_to_vector(check_themes(list(t), f"validation row {i}")) for i, t in enumerate(v_themes)])
            yv = np.array([TONES.index(check_tone(t, f"validation row {i}")) for i, t in enumerate(v_tones)])

        parts = _torch_parts()
        t0 = time.perf_counter()
        get_segmenter(self.segmenter)  # fail early on an unknown segmenter
        self.segmenter_ = self.segmenter
        _verify_checkpoint_folder(self.model_name_or_path, self.segmenter)
        self.tokenizer_ = load_tokenizer(self.model_name_or_path)
        net = self._new_network()

        windows, owners = self.encode_windows(texts)
        train_rows = [{"input_ids": w, "theme_labels": Y[o].astype(np.float32), "tone_labels": int(y[o])}
                      for w, o in zip(windows, owners)]
        pos_w = tone_w = None
        if self.class_weights:
            pos_w = torch.tensor(theme_pos_weights(Y[owners]), dtype=torch.float)
            tone_w = torch.tensor(tone_class_weights(y[owners]), dtype=torch.float)

        eval_ds = compute_metrics = None
        if valid is not None:
            v_windows, v_owners = self.encode_windows(v_texts)
            eval_ds = parts["ListDataset"]([
                {"input_ids": w, "theme_labels": Yv[o].astype(np.float32), "tone_labels": int(yv[o])}
                for w, o in zip(v_windows, v_owners)])
            n_valid = len(v_texts)

            def compute_metrics(pred):
                logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
                logits = np.asarray(logits, dtype=float)[: len(v_owners)]
                tp, op = _probs_from_logits(logits)
                T, O = pool_windows(tp, op, v_owners, n_valid)
                return valid_scores(T, O, Yv, yv)

        workdir, owns_workdir = _trainer_workdir()
        has_cuda = torch.cuda.is_available()
        args = TrainingArguments(
            output_dir=workdir, overwrite_output_dir=True,
            num_train_epochs=self.epochs, per_device_train_batch_size=self.batch_size,
            per_device_eval_batch_size=self.batch_size, learning_rate=self.learning_rate,
            weight_decay=self.weight_decay, warmup_ratio=self.warmup_ratio, lr_scheduler_type="linear",
            seed=self.seed, data_seed=self.seed, fp16=self.fp16, bf16=self.bf16, use_cpu=not has_cuda,
            eval_strategy="epoch" if valid is not None else "no",
            save_strategy="epoch" if valid is not None else "no",
            save_only_model=True, save_total_limit=1 if valid is not None else None, save_safetensors=True,
            load_best_model_at_end=valid is not None, metric_for_best_model="macro_f1", greater_is_better=True,
            logging_strategy="epoch", report_to=[], remove_unused_columns=False,
            label_names=["theme_labels", "tone_labels"], dataloader_num_workers=0,
            disable_tqdm=True, ddp_find_unused_parameters=False,
        )
        loss_cb = parts["TimeAndLossCallback"]()
        callbacks = [loss_cb]
        if valid is not None and self.early_stopping_patience:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=int(self.early_stopping_patience)))
        if self.use_dvclive:
            callbacks.append(parts["DVCLiveCallback"](self.log_dir))
        set_seed(self.seed)
        trainer = parts["MultiTaskTrainer"](
            model=net, args=args, train_dataset=parts["ListDataset"](train_rows), eval_dataset=eval_ds,
            data_collator=parts["Collator"](self.tokenizer_.pad_token_id), compute_metrics=compute_metrics,
            callbacks=callbacks, theme_pos_weight=pos_w, tone_weight=tone_w,
        )
        trainer.remove_callback(PrinterCallback)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*not a `PreTrainedModel`.*")
                warnings.filterwarnings("ignore", message="mtime may not be reliable")
                trainer.train()
        finally:
            _barrier()  # every process has loaded the best checkpoint before the main one deletes it
            if owns_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        state = trainer.state
        self.network_ = trainer.model.eval()
        self.thresholds_ = np.full(len(THEMES), 0.5)
        stats = {
            "seconds": None, "epochs_run": float(state.epoch or 0), "steps": int(state.global_step),
            "best_epoch": None, "best_valid_score": None, "final_train_loss": loss_cb.last_loss,
            "n_train_paragraphs": len(texts), "n_train_windows": len(windows),
            "device": "cuda" if has_cuda else "cpu", "heads": self.heads, "segmenter": self.segmenter_,
            "base_checkpoint": str(self.model_name_or_path),
        }
        if valid is not None:
            stats["best_valid_score"] = None if state.best_metric is None else float(state.best_metric)
            evals = [h for h in state.log_history if "eval_macro_f1" in h]
            best = [h for h in evals if state.best_metric is not None and np.isclose(h["eval_macro_f1"], state.best_metric)]
            stats["best_epoch"] = float(best[0]["epoch"]) if best else None
            stats["valid_curve"] = [{"epoch": float(h["epoch"]), "macro_f1": float(h["eval_macro_f1"])} for h in evals]
            T, O = self._predict_arrays(v_texts, self.batch_size)
            self.thresholds_ = tune_thresholds(Yv, T, default=0.5, min_positives=THRESHOLD_MIN_POSITIVES)
            stats["n_valid_paragraphs"] = len(v_texts)
            stats["valid_at_0.5"] = valid_scores(T, O, Yv, yv)
            stats["valid_at_tuned_thresholds"] = valid_scores(T, O, Yv, yv, self.thresholds_)
        stats["seconds"] = round(time.perf_counter() - t0, 3)
        self.training_stats_ = stats
        return self

    # ------------------------------------------------------------------ predict
    def _device(self):
        import torch

        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _predict_arrays(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if not texts:
            return np.zeros((0, len(THEMES))), np.zeros((0, len(TONES)))
        windows, owners = self.encode_windows(texts)
        collate = _torch_parts()["Collator"](self.tokenizer_.pad_token_id)
        order = np.argsort([len(w) for w in windows], kind="stable")
        device = self._device()
        net = self.network_.to(device).eval()
        amp = None
        if device.type == "cuda" and (self.bf16 or self.fp16):
            amp = torch.bfloat16 if self.bf16 else torch.float16
        logits = np.zeros((len(windows), len(THEMES) + len(TONES)))
        with torch.inference_mode():
            for start in range(0, len(order), max(1, int(batch_size))):
                idx = order[start:start + batch_size]
                batch = collate([{"input_ids": windows[i]} for i in idx])
                batch = {k: v.to(device) for k, v in batch.items()}
                with torch.autocast(device_type=device.type, dtype=amp, enabled=amp is not None):
                    out = net(**batch)["logits"]
                logits[idx] = out.float().cpu().numpy()
        tp, op = _probs_from_logits(logits)
        return pool_windows(tp, op, owners, len(texts))

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None,
                      segmenter: str | None = None) -> Scores:
        """Scores for raw ``texts``: theme probabilities ``[n, 9]`` (max over a
        paragraph's windows), tone distributions ``[n, 3]`` (mean over windows),
        and the tuned thresholds. Batched (``batch_size`` windows, default the
        training batch size), no gradients, deterministic. ``segmenter``, when
        given, must equal the model's."""
        self._check_fitted()
        if segmenter is not None:
            check_segmenter(self.segmenter_, segmenter)
        batch_size = int(batch_size or self.batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        T, O = self._predict_arrays(list(texts), batch_size)
        return Scores(T, O, self.thresholds_.copy())

    # ------------------------------------------------------------------ save / load
    def save(self, folder) -> None:
        """Write the model folder (safetensors, configs, tokenizer, thresholds, metadata, manifest).

        An existing folder is replaced only if it is empty or a model folder (has a manifest).
        """
        self._check_fitted()
        if not _is_main_process():
            return
        from safetensors.torch import save_file

        folder = Path(folder)
        if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / "manifest.json").is_file())):
            raise ModelError(f"{folder}: exists and is not a model folder; refusing to overwrite it")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        try:
            net = self.network_.cpu()
            self.tokenizer_.save_pretrained(tmp)
            if self.heads == "shared_encoder":
                net.encoder.save_pretrained(tmp, safe_serialization=True)
                save_file({k: v.contiguous() for k, v in net.heads_state().items()}, str(tmp / HEADS_FILE),
                          metadata={"format": "pt"})
            else:
                net.themes.save_pretrained(tmp / "themes", safe_serialization=True)
                net.tone.save_pretrained(tmp / "tone", safe_serialization=True)
            (tmp / THRESHOLDS_FILE).write_text(json.dumps(
                {t: float(v) for t, v in zip(THEMES, self.thresholds_)}, indent=2) + "\n", encoding="utf-8")
            meta = {"params": self.get_params(), "segmenter": self.segmenter_, "heads": self.heads,
                    "training_stats": getattr(self, "training_stats_", {})}
            (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n",
                                         encoding="utf-8")
            write_manifest(tmp, kind=self.kind, segmenter=self.segmenter_, params=self.get_params())
            if folder.exists():
                old = folder.parent / f".{folder.name}.old-{os.getpid()}"
                os.replace(folder, old)
                os.replace(tmp, folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder, segmenter: str | None = None) -> "TransformerModel":
        """Verify ``folder`` against its manifest, then load it from local files only.

        ``segmenter``, when given, must be the one the model was trained with.
        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        if manifest.get("kind") != cls.kind:
            raise ModelError(f"{folder}: holds a {manifest.get('kind')!r} model, not a transformer")
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            thr = json.loads((folder / THRESHOLDS_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ModelError(f"{folder}: unreadable {META_FILE} or {THRESHOLDS_FILE} ({_short(e)})") from e
        if segmenter is not None:
            check_segmenter(meta["segmenter"], segmenter)
        params = {k: v for k, v in meta.get("params", {}).items() if k in _PARAM_NAMES}
        model = cls(**params)
        model.segmenter_ = meta["segmenter"]
        model.thresholds_ = np.array([float(thr[t]) for t in THEMES])
        model.training_stats_ = meta.get("training_stats", {})
        model.tokenizer_ = load_tokenizer(folder)
        model.network_ = model._load_network(folder).eval()
        return model

    def _load_network(self, folder: Path):
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from transformers import AutoModelForSequenceClassification

        parts = _torch_parts()
        try:
            if self.heads == "shared_encoder":
                net = parts["SharedEncoderNet"](_load_encoder(folder, use_safetensors=True))
                state = load_file(str(folder / HEADS_FILE))
                missing = set(net.heads_state()) ^ set(state)
                if missing:
                    raise ModelError(f"{folder}: {HEADS_FILE} does not match the heads ({sorted(missing)})")
                net.load_state_dict(state, strict=False)
                return net
            themes = _load_pretrained(AutoModelForSequenceClassification, folder / "themes", use_safetensors=True)
            tone = _load_pretrained(AutoModelForSequenceClassification, folder / "tone", use_safetensors=True)
            return parts["TwoModelsNet"](themes, tone)
        except (OSError, SafetensorError, RuntimeError) as e:
            raise ModelError(f"{folder}: cannot load the transformer weights ({_short(e)})") from e


def _probs_from_logits(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[n, 9 + 3]`` logits into theme sigmoids and tone softmaxes."""
    k = len(THEMES)
    theme = 1.0 / (1.0 + np.exp(-np.clip(logits[:, :k], -50, 50)))
    z = logits[:, k:] - logits[:, k:].max(axis=1, keepdims=True)
    e = np.exp(z)
    return theme, e / e.sum(axis=1, keepdims=True)


__all__ = [
    "TransformerModel", "THRESHOLD_GRID", "window_spans", "theme_pos_weights", "tone_class_weights",
    "valid_scores", "pool_windows", "load_tokenizer", "check_tokenizer", "checkpoint_error", "hub_offline",
]
