"""The two head layouts as torch modules, and the batch collator.

``SharedEncoderNet``: one encoder, two linear heads on the ``<s>`` vector.
``TwoModelsNet``: two sequence classifiers side by side. Both return
``{"logits": themes ++ tone}`` (``[batch, n_themes + n_tones]``), which
:func:`~vistance.models.transformer.numeric.probs_from_logits` turns into probabilities.
Importing this module imports torch.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


POOLINGS = ("cls", "mean")


class SharedEncoderNet(nn.Module):
    """One encoder, two linear heads on the pooled vector (``<s>`` or mean); ``logits`` = themes ++ tone."""

    def __init__(self, encoder, n_themes: int, n_tones: int, pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        cfg = encoder.config
        self.encoder = encoder
        self.pooling = pooling
        p = getattr(cfg, "classifier_dropout", None)
        self.dropout = nn.Dropout(p if p is not None else getattr(cfg, "hidden_dropout_prob", 0.1))
        self.theme_head = nn.Linear(cfg.hidden_size, n_themes)
        self.tone_head = nn.Linear(cfg.hidden_size, n_tones)
        std = getattr(cfg, "initializer_range", 0.02)
        for head in (self.theme_head, self.tone_head):
            nn.init.normal_(head.weight, std=std)
            nn.init.zeros_(head.bias)

    def forward(self, input_ids, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return {"logits": self.heads(h, attention_mask)}

    def heads(self, hidden, attention_mask):
        """Logits (themes ++ tone) from the last hidden states: the ``<s>`` vector (``cls``) or the
        mean over real tokens (``mean``, how multilingual-e5 was trained), dropout, two linear heads."""
        if self.pooling == "mean":
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            h = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
        else:
            h = hidden[:, 0]
        h = self.dropout(h)
        return torch.cat([self.theme_head(h), self.tone_head(h)], dim=-1)

    def head_parameters(self):
        """``(name, parameter)`` of the two heads."""
        return [(f"theme_head.{n}", p) for n, p in self.theme_head.named_parameters()] + [
            (f"tone_head.{n}", p) for n, p in self.tone_head.named_parameters()]

    def heads_state(self) -> dict:
        """The two heads' tensors, named as in :meth:`state_dict` (saved beside the encoder)."""
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
