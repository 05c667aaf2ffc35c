"""Averaged probabilities of several models (``kind: ensemble``).

``members`` is a list of model specs as in ``params.yaml`` (each with its ``kind``), e.g.
a TF-IDF model and a frozen-encoder model. The ensemble's theme and tone probabilities
are the weighted mean of its members'. Theme thresholds are tuned on the *averaged*
out-of-fold scores of article-grouped folds inside the training data (each member
re-fitted per fold), so no item's threshold evidence comes from a model that saw it.

A saved ensemble is a folder with one sub-folder per member (each a complete model
folder with its own manifest) and ``ensemble.json`` (weights, thresholds).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import ModelError
from vistance.labels.schema import THEMES
from vistance.models.base import ModelBase, Scores
from vistance.models.folder import read_manifest, write_manifest
from vistance.models.thresholds import item_groups, tune_thresholds_out_of_fold


def _member_class(kind: str):
    from vistance.models import model_class

    return model_class(kind)


def _validate_member(i: int, spec: dict) -> None:
    """A member spec checked by its own kind's parameter model: one clear error naming the member."""
    from pydantic import ValidationError

    try:
        _member_class(spec["kind"]).Params.model_validate({k: v for k, v in spec.items() if k != "kind"})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise ModelError(f"ensemble member {i} ({spec['kind']}): {where}: {first.get('msg')}") from None


class EnsembleModel(ModelBase):
    """Weighted mean of member models' probabilities, thresholds tuned out of fold."""

    kind = "ensemble"
    card_text = "an ensemble that averages the probabilities of its member models"
    library_name = "sklearn"

    def __init__(self, members: list[dict], weights: list[float] | None = None, cv_folds: int = 3, seed: int = 0):
        if not members:
            raise ModelError("an ensemble needs at least one member")
        for i, m in enumerate(members):
            if not isinstance(m, dict) or "kind" not in m:
                raise ModelError(f"ensemble member {i} must be a mapping with a 'kind'")
            if m["kind"] == "ensemble":
                raise ModelError("an ensemble cannot contain an ensemble")
            _validate_member(i, m)
        if weights is not None and len(weights) != len(members):
            raise ModelError(f"{len(weights)} weight(s) for {len(members)} member(s)")
        self.members = [dict(m) for m in members]
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(members)
        self.cv_folds = int(cv_folds)
        self.seed = int(seed)
        self.models_: list = []
        self.thresholds_ = np.full(len(THEMES), 0.5)

    @classmethod
    def checkpoint_of(cls, spec: dict) -> str | None:
        for m in spec.get("members") or []:
            base = _member_class(m["kind"]).checkpoint_of({k: v for k, v in m.items() if k != "kind"})
            if base:
                return base
        return None

    @property
    def stochastic_members(self) -> bool:
        return any(_member_class(m["kind"]).stochastic for m in self.members)

    def _build(self, i: int):
        spec = {k: v for k, v in self.members[i].items() if k != "kind"}
        cls = _member_class(self.members[i]["kind"])
        if cls.seeded:
            spec.setdefault("seed", self.seed)
        return cls(**spec)

    def _fit_members(self, texts, themes, tones, groups, valid):
        models = []
        for i in range(len(self.members)):
            models.append(self._build(i).fit(texts, themes, tones, groups=groups, valid=valid))
        return models

    def _average(self, models, texts) -> tuple[np.ndarray, np.ndarray]:
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        th, tone = None, None
        for wi, m in zip(w, models):
            sc = m.predict_proba(texts)
            th = wi * sc.themes if th is None else th + wi * sc.themes
            tone = wi * sc.tone if tone is None else tone + wi * sc.tone
        return th, tone

    def fit(self, texts: Sequence[str], themes, tones, groups=None, valid=None) -> "EnsembleModel":
        texts = list(texts)
        g = item_groups(groups, len(texts))
        Y = np.array([[int(t in row) for t in THEMES] for row in themes], dtype=int).reshape(-1, len(THEMES))

        def fit_score(tr, te):  # every member re-fitted on the fold's training rows
            sub = self._fit_members([texts[i] for i in tr], [themes[i] for i in tr], [tones[i] for i in tr],
                                    [g[i] for i in tr], None)
            return self._average(sub, [texts[i] for i in te])[0]

        self.thresholds_ = tune_thresholds_out_of_fold(fit_score, Y, g, k=self.cv_folds, seed=self.seed)
        self.models_ = self._fit_members(texts, themes, tones, groups, valid)
        return self

    def predict_proba(self, texts: Sequence[str]) -> Scores:
        if not self.models_:
            raise ModelError("the ensemble is not fitted")
        th, tone = self._average(self.models_, list(texts))
        return Scores(th, tone, self.thresholds_)

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for i, m in enumerate(self.models_):
            name = f"member_{i}_{self.members[i]['kind']}"
            m.save(folder / name)
            names.append(name)
        meta = {"members": self.members, "weights": self.weights, "cv_folds": self.cv_folds, "seed": self.seed,
                "folders": names, "thresholds": [float(x) for x in self.thresholds_]}
        (folder / "ensemble.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        write_manifest(folder, kind=self.kind, segmenter=None, params=self.get_params())

    def get_params(self) -> dict:
        return {"members": self.members, "weights": self.weights, "cv_folds": self.cv_folds, "seed": self.seed}

    @classmethod
    def load(cls, folder) -> "EnsembleModel":
        from vistance.models import load_model

        folder = Path(folder)
        read_manifest(folder)
        try:
            meta = json.loads((folder / "ensemble.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"{folder / 'ensemble.json'}: cannot read the ensemble description ({e})") from None
        m = cls(meta["members"], meta["weights"], meta["cv_folds"], meta["seed"])
        m.models_ = [load_model(folder / name) for name in meta["folders"]]
        m.thresholds_ = np.array(meta["thresholds"], dtype=float)
        return m
