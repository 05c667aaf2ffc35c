"""Fine-tuned PhoBERT-style transformer: multi-label themes and single-label tone.

    model = TransformerModel(model_name_or_path="vinai/phobert-base", heads="shared_encoder")
    model.fit(texts, themes, tones, valid=(v_texts, v_themes, v_tones))
    scores = model.predict_proba(texts)            # Scores: themes [n, n_themes], tone [n, n_tones]
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
    (themes: one sigmoid output per theme, tone: a softmax over the tones; both sized by the
    label schema given to ``fit``), trained on the sum of the two
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
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import ModelError
from vistance.labels.schema import LabelSchema
from vistance.models.base import ModelBase, Scores, fit_schema
from vistance.models.folder import listed_bytes, listed_json, manifest_schema, read_manifest, write_manifest
from vistance.models.thresholds import tune_thresholds
from vistance.models.transformer.checkpoint import (load_encoder, load_pretrained, load_tokenizer, max_tokens_allowed,
                                                    short_error, verify_checkpoint_folder)
from vistance.models.transformer.numeric import (pool_windows, probs_from_logits, theme_pos_weights,
                                                 tone_class_weights, valid_scores, window_spans)
from vistance.text.segment import check_segmenter, get_segmenter

HEADS = ("shared_encoder", "two_models")
THRESHOLD_MIN_POSITIVES = 1  # a theme needs this many validation positives to get a tuned threshold
META_FILE = "transformer.json"
THRESHOLDS_FILE = "thresholds.json"
HEADS_FILE = "heads.safetensors"

class TransformerModel(ModelBase):
    """PhoBERT-style encoder fine-tuned for themes (multi-label) and tone (one of the schema's tones).

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
    freeze_layers : int, default 0
        The 2-core recipe (:mod:`.frozen`) when > 0: the embeddings and the bottom ``k`` layers stay
        as pretrained, their outputs are computed once per window and cached; only the top layers
        and the heads train (``heads="shared_encoder"``, CPU). 0: the full fine-tune (``Trainer``).
    head_learning_rate : float or None
        The heads' learning rate in the recipe (default: ``learning_rate``).
    layer_decay : float, default 1.0
        Layer-wise decay in the recipe: trainable layer ``i`` of ``L`` learns at
        ``learning_rate * layer_decay ** (L - 1 - i)``.
    pooling : {"cls", "mean"}, default "cls"
        What the heads read: the ``<s>`` vector, or the mean over tokens (multilingual-e5's pooling).
    cache_dir : str or None
        Where the recipe keeps lower-layer states across fits (``None``: in memory, this fit only).
    max_grad_norm : float, default 1.0
        Gradient clipping in the recipe.
    inference : {None, "float32", "bf16", "int8", "onnx", "openvino"}, default None
        How prediction runs the network on CPU (:mod:`.inference`): ``None`` as before (the
        recipe's state cache, then the top layers); otherwise one full pass per window in float32,
        under bf16 autocast, with PyTorch dynamic int8 Linear layers, exported to ONNX Runtime
        float32, or converted to OpenVINO (bf16 where the CPU has it); the last three are made at
        predict time, nothing extra stored.

    Attributes after ``fit``/``load``: ``tokenizer_``, ``network_`` (torch module),
    ``segmenter_`` (name), ``thresholds_`` ``[n_themes]``, ``training_stats_`` (dict).
    """

    kind = "transformer"
    stochastic = True
    uses_validation = True
    needs_segmentation = True
    library_name = "transformers"
    card_text = ("a RoBERTa-architecture encoder fine-tuned with `transformers` on word-segmented text "
                 "(PhoBERT recipe: themes with sigmoid + tuned per-label thresholds, tone with softmax)")

    def __init__(self, model_name_or_path: str = "vinai/phobert-base", segmenter: str = "pyvi",
                 max_length: int = 256, stride: int = 64, heads: str = "shared_encoder", epochs: int = 3,
                 batch_size: int = 16, learning_rate: float = 3e-5, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, seed: int = 0, class_weights: bool = True,
                 early_stopping_patience: int | None = 2, fp16: bool = False, bf16: bool = False,
                 log_dir: str | None = None, use_dvclive: bool = False, freeze_embeddings: bool = False,
                 freeze_layers: int = 0, head_learning_rate: float | None = None, layer_decay: float = 1.0,
                 pooling: str = "cls", cache_dir: str | None = None, max_grad_norm: float = 1.0,
                 inference: str | None = None):
        self._keep_params(locals())

    @classmethod
    def checkpoint_of(cls, spec: dict) -> str | None:
        return spec.get("model_name_or_path") or None

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
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.freeze_layers and self.heads != "shared_encoder":
            raise ValueError("freeze_layers > 0 needs heads='shared_encoder'")
        if not 0 < self.layer_decay <= 1:
            raise ValueError(f"layer_decay must be in (0, 1], got {self.layer_decay}")
        from vistance.models.transformer.inference import check_inference

        check_inference(self.inference)

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
    def _new_network(self, schema: LabelSchema):
        """Fresh trainable network from ``model_name_or_path`` (heads seeded by ``seed``, sized by ``schema``)."""
        from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

        from vistance.models.transformer.networks import SharedEncoderNet, TwoModelsNet

        config = load_pretrained(AutoConfig, self.model_name_or_path)
        self._check_length(config, self.model_name_or_path)
        set_seed(self.seed)
        theme_names, tone_names = schema.theme_names, schema.tone_names
        if self.heads == "shared_encoder":
            return SharedEncoderNet(load_encoder(self.model_name_or_path), len(theme_names), len(tone_names),
                                    pooling=self.pooling)
        themes = load_pretrained(
            AutoModelForSequenceClassification, self.model_name_or_path, num_labels=len(theme_names),
            problem_type="multi_label_classification", id2label=dict(enumerate(theme_names)),
            label2id={t: i for i, t in enumerate(theme_names)})
        set_seed(self.seed + 1)
        tone = load_pretrained(
            AutoModelForSequenceClassification, self.model_name_or_path, num_labels=len(tone_names),
            problem_type="single_label_classification", id2label=dict(enumerate(tone_names)),
            label2id={t: i for i, t in enumerate(tone_names)})
        return TwoModelsNet(themes, tone)

    # ------------------------------------------------------------------ fit
    def fit(self, texts: Sequence[str], themes: Sequence[Sequence[str]], tones: Sequence[str],
            groups: Sequence[str] | None = None, valid: tuple | None = None, *,
            schema: LabelSchema | None = None) -> "TransformerModel":
        """Fine-tune on raw ``texts`` with theme lists and tone names of ``schema``'s label set
        (the heads are sized by it).

        ``groups`` is accepted for the protocol and not used (splitting happens
        outside). ``valid=(texts, themes, tones)`` turns on per-epoch evaluation,
        early stopping, best-epoch restore and threshold tuning.
        """
        import torch
        from transformers import EarlyStoppingCallback, PrinterCallback, TrainingArguments, set_seed

        from vistance.models.transformer.networks import Collator
        from vistance.models.transformer.training import (DVCLiveCallback, ListDataset, LossLogCallback,
                                                          MultiTaskTrainer, barrier, trainer_workdir)

        self._check_params()
        texts = list(texts)
        if not texts or not (len(texts) == len(themes) == len(tones)):
            raise ValueError("fit needs equally many texts, theme lists and tones "
                             f"(got {len(texts)}, {len(themes)}, {len(tones)})")
        schema = self.schema_ = fit_schema(schema)
        tone_index = {t: j for j, t in enumerate(schema.tone_names)}
        Y = np.array([schema.themes_to_vector(schema.check_themes(list(t), f"training row {i}"))
                      for i, t in enumerate(themes)])
        y = np.array([tone_index[schema.check_tone(t, f"training row {i}")] for i, t in enumerate(tones)])
        if valid is not None:
            v_texts, v_themes, v_tones = (list(v) for v in valid)
            if not v_texts or not (len(v_texts) == len(v_themes) == len(v_tones)):
                raise ValueError("valid must be (texts, themes, tones) of equal, non-zero length")
            Yv = np.array([schema.themes_to_vector(schema.check_themes(list(t), f"validation row {i}"))
                           for i, t in enumerate(v_themes)])
            yv = np.array([tone_index[schema.check_tone(t, f"validation row {i}")] for i, t in enumerate(v_tones)])

        t0 = time.perf_counter()
        get_segmenter(self.segmenter)  # fail early on an unknown segmenter
        self.segmenter_ = self.segmenter
        verify_checkpoint_folder(self.model_name_or_path, self.segmenter)
        self.tokenizer_ = load_tokenizer(self.model_name_or_path)
        net = self._new_network(schema)
        if self.freeze_embeddings:  # the (large, multilingual) input embedding matrix stays as pretrained
            for name, p in net.named_parameters():
                if "word_embeddings" in name:
                    p.requires_grad = False
        if self.freeze_layers:
            return self._fit_frozen(net, texts, Y, y, (v_texts, Yv, yv) if valid is not None else None, t0)

        windows, owners = self.encode_windows(texts)
        train_rows = [{"input_ids": w, "theme_labels": Y[o].astype(np.float32), "tone_labels": int(y[o])}
                      for w, o in zip(windows, owners)]
        pos_w = tone_w = None
        if self.class_weights:
            pos_w = torch.tensor(theme_pos_weights(Y[owners]), dtype=torch.float)
            tone_w = torch.tensor(tone_class_weights(y[owners], len(self.schema.tones)), dtype=torch.float)

        eval_ds = compute_metrics = None
        if valid is not None:
            v_windows, v_owners = self.encode_windows(v_texts)
            eval_ds = ListDataset([
                {"input_ids": w, "theme_labels": Yv[o].astype(np.float32), "tone_labels": int(yv[o])}
                for w, o in zip(v_windows, v_owners)])
            n_valid = len(v_texts)

            def compute_metrics(pred):
                logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
                logits = np.asarray(logits, dtype=float)[: len(v_owners)]
                tp, op = probs_from_logits(logits, len(schema.themes))
                T, O = pool_windows(tp, op, v_owners, n_valid)
                return valid_scores(T, O, Yv, yv, schema)

        workdir, owns_workdir = trainer_workdir()
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
        loss_cb = LossLogCallback()
        callbacks = [loss_cb]
        if valid is not None and self.early_stopping_patience:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=int(self.early_stopping_patience)))
        if self.use_dvclive:
            callbacks.append(DVCLiveCallback(self.log_dir))
        set_seed(self.seed)
        trainer = MultiTaskTrainer(
            model=net, args=args, train_dataset=ListDataset(train_rows), eval_dataset=eval_ds,
            data_collator=Collator(self.tokenizer_.pad_token_id), compute_metrics=compute_metrics,
            callbacks=callbacks, theme_pos_weight=pos_w, tone_weight=tone_w,
        )
        trainer.remove_callback(PrinterCallback)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*not a `PreTrainedModel`.*")
                warnings.filterwarnings("ignore", message="mtime may not be reliable")
                trainer.train()
        finally:
            barrier()  # every process has loaded the best checkpoint before the main one deletes it
            if owns_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        state = trainer.state
        self.network_ = trainer.model.eval()
        self.thresholds_ = np.full(len(self.schema.themes), 0.5)
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
            self._tune_on_validation(stats, T, O, Yv, yv)
        stats["seconds"] = round(time.perf_counter() - t0, 3)
        self.training_stats_ = stats
        return self

    def _tune_on_validation(self, stats: dict, T, O, Yv, yv) -> None:
        """Theme thresholds from the validation scores ``T`` (tone ``O``), and the validation
        figures at 0.5 and at those thresholds into ``stats`` (both training paths)."""
        self.thresholds_ = tune_thresholds(Yv, T, default=0.5, min_positives=THRESHOLD_MIN_POSITIVES)
        stats["n_valid_paragraphs"] = len(yv)
        stats["valid_at_0.5"] = valid_scores(T, O, Yv, yv, self.schema)
        stats["valid_at_tuned_thresholds"] = valid_scores(T, O, Yv, yv, self.schema, self.thresholds_)

    # ------------------------------------------------------------------ the 2-core recipe
    def _state_cache(self, net):
        """The lower-layer state cache of this network's frozen part (disk when ``cache_dir``)."""
        from vistance.models.transformer.frozen import CACHE_VERSION, HiddenStateCache, frozen_fingerprint

        fp = getattr(self, "_frozen_fp_", None)
        if fp is None:
            import hashlib

            base = frozen_fingerprint(net.encoder, self.freeze_layers)
            tag = f"v{CACHE_VERSION}:{base}:{self.max_length}:{self.stride}:{'bf16' if self.bf16 else 'fp32'}"
            fp = self._frozen_fp_ = hashlib.blake2b(tag.encode(), digest_size=12).hexdigest()
            self._state_cache_ = HiddenStateCache(self.cache_dir, fp)
        return self._state_cache_

    def window_states(self, net, texts: Sequence[str], write: bool = True) -> tuple[list, np.ndarray]:
        """``(states, owners)``: the output of the frozen part for every window of every text
        (``[len, H]`` float32), from the cache where the exact text was seen before; computed
        states are stored when ``write`` (on disk with ``cache_dir``, else in memory for this
        model's fit). ``fit`` writes; prediction only reads, so a corpus never fills the disk."""
        from vistance.models.transformer.frozen import HiddenStateCache, bottom_states

        cache = self._state_cache(net)
        tok = self._tokenizer()
        segs = self.segment(texts)
        keys = [HiddenStateCache.key(s) for s in segs]
        found = {k: cache.get(k) for k in dict.fromkeys(keys)}
        todo = [keys.index(k) for k, v in found.items() if v is None]
        if todo:
            wins, own = [], []
            for i in todo:
                ids = tok(segs[i], add_special_tokens=False, verbose=False)["input_ids"] if segs[i] else []
                for a, b in window_spans(len(ids), self.max_length, self.stride):
                    wins.append([tok.cls_token_id] + ids[a:b] + [tok.sep_token_id])
                    own.append(i)
            st = bottom_states(net.encoder, wins, self.freeze_layers, bf16=bool(self.bf16))
            new: dict[str, list] = {}
            for s_, i in zip(st, own):
                new.setdefault(keys[i], []).append(s_)
            if write:
                cache.put(new)
            found.update(new)
        states, owners = [], []
        for i, k in enumerate(keys):
            ws = found[k]
            states.extend(ws)
            owners.extend([i] * len(ws))
        return states, np.asarray(owners, dtype=int)

    def _top_arrays(self, net, states, owners, n: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Pooled paragraph probabilities from cached states through the top layers and heads."""
        import torch

        from vistance.models.transformer.frozen import length_batches, pad_states, top_logits

        logits = np.zeros((len(states), len(self.schema.themes) + len(self.schema.tones)))
        net.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(self.bf16)):
            for idx in length_batches([s.shape[0] for s in states], max(1, int(batch_size))):
                h, m = pad_states([states[i] for i in idx])
                logits[idx] = top_logits(net, h, m, self.freeze_layers).float().numpy()
        tp, op = probs_from_logits(logits, len(self.schema.themes))
        return pool_windows(tp, op, owners, n)

    def _fit_frozen(self, net, texts, Y, y, valid, t0) -> "TransformerModel":
        """The recipe: cache the frozen part's states, train the top layers and heads from them."""
        import torch

        from vistance.models.transformer.frozen import check_freeze_layers, freeze_bottom, train_top

        check_freeze_layers(net.encoder, self.freeze_layers)
        freeze_bottom(net.encoder, self.freeze_layers)
        fits, key = self._fit_cache(net, texts, Y, y, valid)
        if key is not None and (hit := fits.load(key, net)) is not None:
            self.network_ = net.eval()
            self.thresholds_ = hit["thresholds"]
            self.training_stats_ = {**hit["stats"], "fit_cache": "reused"}
            return self
        t_cache, c_cache = time.perf_counter(), time.process_time()
        states, owners = self.window_states(net, texts)
        v_states = v_owners = None
        if valid is not None:
            v_texts, Yv, yv = valid
            v_states, v_owners = self.window_states(net, v_texts)
        cache_seconds, cache_cpu = time.perf_counter() - t_cache, time.process_time() - c_cache
        pos_w = tone_w = None
        if self.class_weights:
            pos_w = torch.tensor(theme_pos_weights(Y[owners]), dtype=torch.float)
            tone_w = torch.tensor(tone_class_weights(y[owners], len(self.schema.tones)), dtype=torch.float)

        evaluate = None
        if valid is not None:
            def evaluate():
                T, O = self._top_arrays(net, v_states, v_owners, len(v_texts), max(self.batch_size, 64))
                return valid_scores(T, O, Yv, yv, self.schema)["macro_f1"]

        run = train_top(
            net, self.freeze_layers, states, Y[owners], y[owners], epochs=self.epochs, batch_size=self.batch_size,
            lr=self.learning_rate, head_lr=self.head_learning_rate or self.learning_rate,
            layer_decay=self.layer_decay, weight_decay=self.weight_decay, warmup_ratio=self.warmup_ratio,
            pos_weight=pos_w, tone_weight=tone_w, seed=self.seed, bf16=bool(self.bf16),
            max_grad_norm=self.max_grad_norm, evaluate=evaluate,
            patience=self.early_stopping_patience if valid is not None else None)
        self.network_ = net.eval()
        self.thresholds_ = np.full(len(self.schema.themes), 0.5)
        stats = {
            "seconds": None, "recipe": "frozen-bottom cache", "freeze_layers": self.freeze_layers,
            "trainable_layers": len(net.encoder.encoder.layer) - self.freeze_layers,
            "epochs_run": run["epochs_run"], "best_epoch": run["best_epoch"],
            "best_valid_score": run["best_valid_score"], "valid_curve": run["curve"],
            "cache_seconds": round(cache_seconds, 3), "cache_cpu_seconds": round(cache_cpu, 3),
            "train_seconds": run["train_seconds"], "train_windows_per_second": run["train_windows_per_second"],
            "train_cpu_seconds": run["train_cpu_seconds"],
            "train_windows_per_cpu_second": run["train_windows_per_cpu_second"],
            "n_train_paragraphs": len(texts), "n_train_windows": len(states), "device": "cpu",
            "precision": "bf16 autocast" if self.bf16 else "float32", "heads": self.heads,
            "segmenter": self.segmenter_, "base_checkpoint": str(self.model_name_or_path),
        }
        if valid is not None:
            T, O = self._top_arrays(net, v_states, v_owners, len(v_texts), max(self.batch_size, 64))
            self._tune_on_validation(stats, T, O, Yv, yv)
        stats["seconds"] = round(time.perf_counter() - t0, 3)
        self.training_stats_ = stats
        if key is not None:
            fits.store(key, net, self.thresholds_, stats)
        return self

    def _fit_cache(self, net, texts, Y, y, valid):
        """``(FitCache, key)`` of this fit (:mod:`.fit_cache`); the key is ``None`` without ``cache_dir``."""
        from vistance.models.transformer.fit_cache import FitCache, fit_key
        from vistance.models.transformer.frozen import HiddenStateCache

        fits = FitCache(self.cache_dir)
        if self.cache_dir is None:
            return fits, None
        settings = {k: getattr(self, k) for k in (
            "epochs", "batch_size", "learning_rate", "head_learning_rate", "layer_decay", "weight_decay",
            "warmup_ratio", "class_weights", "seed", "bf16", "max_grad_norm", "early_stopping_patience",
            "heads", "pooling", "freeze_layers", "freeze_embeddings")}
        unit_keys = lambda ts: [HiddenStateCache.key(s) for s in self.segment(ts)]  # noqa: E731
        v = {} if valid is None else {"valid_keys": unit_keys(valid[0]), "Yv": valid[1], "yv": valid[2]}
        key = fit_key(state_fingerprint=self._state_cache(net).fingerprint, net=net, settings=settings,
                      label_set=self.schema.label_set(), train_keys=unit_keys(texts), Y=Y, y=y, **v)
        return fits, key

    # ------------------------------------------------------------------ predict
    def _device(self):
        import torch

        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _predict_arrays(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from vistance.models.transformer.networks import Collator

        if not texts:
            return np.zeros((0, len(self.schema.themes))), np.zeros((0, len(self.schema.tones)))
        if self.inference is not None and self._device().type == "cpu":
            return self._predict_fast(texts, batch_size)
        if self.freeze_layers and self._device().type == "cpu":
            # the frozen part's states come from the cache where this exact text was fitted on;
            # prediction reads the cache but never adds to it
            net = self.network_.eval()
            states, owners = self.window_states(net, texts, write=False)
            return self._top_arrays(net, states, owners, len(texts), batch_size)
        windows, owners = self.encode_windows(texts)
        collate = Collator(self.tokenizer_.pad_token_id)
        order = np.argsort([len(w) for w in windows], kind="stable")
        device = self._device()
        net = self.network_.to(device).eval()
        amp = None
        if device.type == "cuda" and (self.bf16 or self.fp16):
            amp = torch.bfloat16 if self.bf16 else torch.float16
        logits = np.zeros((len(windows), len(self.schema.themes) + len(self.schema.tones)))
        with torch.inference_mode():
            for start in range(0, len(order), max(1, int(batch_size))):
                idx = order[start:start + batch_size]
                batch = collate([{"input_ids": windows[i]} for i in idx])
                batch = {k: v.to(device) for k, v in batch.items()}
                with torch.autocast(device_type=device.type, dtype=amp, enabled=amp is not None):
                    out = net(**batch)["logits"]
                logits[idx] = out.float().cpu().numpy()
        tp, op = probs_from_logits(logits, len(self.schema.themes))
        return pool_windows(tp, op, owners, len(texts))

    def _predict_fast(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Full passes at the ``inference`` precision (:mod:`.inference`); the int8 copy is made once."""
        from vistance.models.transformer.inference import prepare_network, window_logits

        key = (self.network_, self.inference)  # the network itself, not its id: a refit never reuses a stale copy
        if getattr(self, "_fast_key_", (None, None))[0] is not key[0] or self._fast_key_[1] != key[1]:
            self._fast_net_, self._fast_key_ = prepare_network(self.network_.cpu(), self.inference), key
        windows, owners = self.encode_windows(texts)
        logits = window_logits(self._fast_net_, windows, self.tokenizer_.pad_token_id, batch_size, self.inference)
        tp, op = probs_from_logits(logits, len(self.schema.themes))
        return pool_windows(tp, op, owners, len(texts))

    def inference_agreement(self, texts: Sequence[str], reference: str = "float32") -> dict | None:
        """How often this model's ``inference`` path decides as ``reference`` does on ``texts``
        (:func:`~vistance.models.scoring.decision_agreement`, plus ``path``/``reference``/``units``);
        ``None`` when it already is the reference (or the state-cache path)."""
        from vistance.models.base import decision_agreement
        from vistance.models.transformer.inference import check_inference, prepare_network, window_logits

        check_inference(reference)
        if self.inference in (None, reference) or not len(texts):
            return None
        texts = list(texts)
        mine = self.predict_proba(texts)
        windows, owners = self.encode_windows(texts)
        logits = window_logits(prepare_network(self.network_.cpu(), reference), windows,
                               self.tokenizer_.pad_token_id, int(self.batch_size), reference)
        tp, op = probs_from_logits(logits, len(self.schema.themes))
        ref = Scores(*pool_windows(tp, op, owners, len(texts)), self.thresholds_, self.schema)
        out = {"path": self.inference, "reference": reference, "units": len(texts),
               "agreement": decision_agreement(ref, mine)}
        precision = getattr(getattr(self, "_fast_net_", None), "precision", None)  # OpenVINO: what this CPU ran
        return {**out, "precision": precision} if precision else out

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None,
                      segmenter: str | None = None) -> Scores:
        """Scores for raw ``texts``: theme probabilities ``[n, n_themes]`` (max over a
        paragraph's windows), tone distributions ``[n, n_tones]`` (mean over windows),
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
        return Scores(T, O, self.thresholds_.copy(), self.schema)

    # ------------------------------------------------------------------ save / load
    def save(self, folder) -> None:
        """Write the model folder (safetensors, configs, tokenizer, thresholds, metadata, manifest).

        An existing folder is replaced only if it is empty or a model folder (has a manifest).
        """
        self._check_fitted()
        from safetensors.torch import save_file

        from vistance.models.transformer.training import is_main_process

        if not is_main_process():
            return

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
                {t: float(v) for t, v in zip(self.schema.theme_names, self.thresholds_)}, indent=2) + "\n", encoding="utf-8")
            meta = {"params": self.get_params(), "segmenter": self.segmenter_, "heads": self.heads,
                    "training_stats": getattr(self, "training_stats_", {})}
            (tmp / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n",
                                         encoding="utf-8")
            write_manifest(tmp, kind=self.kind, segmenter=self.segmenter_, params=self.get_params(),
                           schema=self.schema)
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
        # strict: transformers opens files by name, so no file the manifest does not list may be there
        manifest = read_manifest(folder, strict=True)
        if manifest.get("kind") != cls.kind:
            raise ModelError(f"{folder}: holds a {manifest.get('kind')!r} model, not a transformer")
        try:
            meta = listed_json(folder, manifest, META_FILE)
            thr = listed_json(folder, manifest, THRESHOLDS_FILE)
        except (OSError, json.JSONDecodeError) as e:
            raise ModelError(f"{folder}: unreadable {META_FILE} or {THRESHOLDS_FILE} ({short_error(e)})") from e
        if segmenter is not None:
            check_segmenter(meta["segmenter"], segmenter)
        params = {k: v for k, v in meta.get("params", {}).items() if k in cls.Params.model_fields}
        model = cls(**params)
        model.segmenter_ = meta["segmenter"]
        model.schema_ = manifest_schema(manifest, folder)
        try:
            model.thresholds_ = np.array([float(thr[t]) for t in model.schema_.theme_names])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{folder}: {THRESHOLDS_FILE} does not give a threshold for every theme "
                             f"({short_error(e)})") from None
        model.training_stats_ = meta.get("training_stats", {})
        model.tokenizer_ = load_tokenizer(folder)
        model.network_ = model._load_network(folder).eval()
        return model

    def _load_network(self, folder: Path):
        from safetensors import SafetensorError
        from safetensors.torch import load as load_safetensors
        from transformers import AutoModelForSequenceClassification

        from vistance.models.transformer.networks import SharedEncoderNet, TwoModelsNet

        try:
            if self.heads == "shared_encoder":
                net = SharedEncoderNet(load_encoder(folder, use_safetensors=True), len(self.schema.themes),
                                       len(self.schema.tones), pooling=self.pooling)
                state = load_safetensors(listed_bytes(folder, read_manifest(folder, verify=False), HEADS_FILE))
                missing = set(net.heads_state()) ^ set(state)
                if missing:
                    raise ModelError(f"{folder}: {HEADS_FILE} does not match the heads ({sorted(missing)})")
                net.load_state_dict(state, strict=False)
                return net
            themes = load_pretrained(AutoModelForSequenceClassification, folder / "themes", use_safetensors=True)
            tone = load_pretrained(AutoModelForSequenceClassification, folder / "tone", use_safetensors=True)
            return TwoModelsNet(themes, tone)
        except (OSError, SafetensorError, RuntimeError) as e:
            raise ModelError(f"{folder}: cannot load the transformer weights ({short_error(e)})") from e
