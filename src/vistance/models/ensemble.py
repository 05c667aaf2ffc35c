"""Averaged probabilities of several models (``kind: ensemble``).

``members`` is a list of model specs as in ``params.yaml`` (each with its ``kind``), e.g.
a TF-IDF model and a frozen-encoder model. The ensemble's theme and tone probabilities
are the weighted mean of its members'. Theme thresholds are tuned on the *averaged*
out-of-fold scores of article-grouped folds inside the training data (each member
re-fitted per fold), so no item's threshold evidence comes from a model that saw it.

``weighting: validation`` (with ``fit(..., valid=...)``): the members are fitted once on the
training rows (a member that uses validation data early-stops on ``valid``), then a weight for
tone and another for themes are chosen on the validation rows from ``weight_grid`` (tone by
macro-F1; themes by sample-F1 with thresholds tuned on the same rows). Two members only; without
validation rows it falls back to the fixed weights.

A saved ensemble is a folder with one sub-folder per member (each a complete model
folder with its own manifest) and ``ensemble.json`` (weights, thresholds). Every member is fitted
on the ensemble's label set; loading refuses members whose label sets differ from the ensemble's.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import LabelError, ModelError
from vistance.labels.schema import LabelSchema
from vistance.models.base import ModelBase, Scores, fit_schema, label_arrays
from vistance.models.folder import check_model_labels, listed_json, manifest_schema, read_manifest, write_manifest
from vistance.models.thresholds import item_groups, tune_thresholds_out_of_fold


ENTRY_ONLY_KEYS = ("evaluate", "search")  # params.yaml keys of a model entry that are not constructor parameters


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


def mix_scores(a: Scores, b: Scores, themes_weight: float, tone_weight: float, thresholds) -> Scores:
    """``w * a + (1 - w) * b`` with one weight for the theme probabilities and one for tone."""
    return Scores(themes_weight * a.themes + (1 - themes_weight) * b.themes,
                  tone_weight * a.tone + (1 - tone_weight) * b.tone, np.asarray(thresholds, dtype=float), a.schema)


def choose_task_weights(Y: np.ndarray, y: np.ndarray, a: Scores, b: Scores,
                        weights=(0.0, 0.25, 0.5, 0.75, 1.0)) -> dict:
    """The weight of ``a`` for tone (best tone macro-F1 on gold ``y``; ties to the weight nearest 0.5)
    and for themes (best themes sample-F1 on gold ``Y`` after tuning the mix's thresholds on it)."""
    from vistance.models.scoring import theme_metrics, tone_metrics
    from vistance.models.thresholds import tune_thresholds

    theme_names, tone_names = a.schema.theme_names, a.schema.tone_names

    def tone_f1(w):
        return tone_metrics(y, (w * a.tone + (1 - w) * b.tone).argmax(axis=1), tone_names)["macro_f1"]

    tone_w = max(sorted(weights, key=lambda w: abs(w - 0.5)), key=tone_f1)
    best = None
    for w in sorted(weights, key=lambda w: abs(w - 0.5)):
        th = w * a.themes + (1 - w) * b.themes
        thr = tune_thresholds(Y, th, default=0.5, min_positives=1)
        f1 = theme_metrics(Y, Scores(th, a.tone, thr, a.schema).theme_matrix(), theme_names)["sample_f1"]
        if best is None or f1 > best[1] + 1e-12:
            best = (w, f1, thr)
    return {"tone_weight": float(tone_w), "themes_weight": float(best[0]), "thresholds": best[2].tolist()}


class EnsembleModel(ModelBase):
    """Weighted mean of member models' probabilities, thresholds tuned out of fold."""

    kind = "ensemble"
    card_text = "an ensemble that averages the probabilities of its member models"
    library_name = "sklearn"
    uses_validation = True

    def __init__(self, members: list[dict], weights: list[float] | None = None, cv_folds: int = 3, seed: int = 0,
                 weighting: str = "fixed", weight_grid: list[float] | None = None):
        if not members:
            raise ModelError("an ensemble needs at least one member")
        for i, m in enumerate(members):
            if not isinstance(m, dict) or "kind" not in m:
                raise ModelError(f"ensemble member {i} must be a mapping with a 'kind'")
            if m["kind"] == "ensemble":
                raise ModelError("an ensemble cannot contain an ensemble")
            _validate_member(i, {k: v for k, v in m.items() if k not in ENTRY_ONLY_KEYS})
        if weights is not None and len(weights) != len(members):
            raise ModelError(f"{len(weights)} weight(s) for {len(members)} member(s)")
        # a member may be a whole params.yaml entry (a YAML alias): only its constructor keys count
        self.members = [{k: v for k, v in m.items() if k not in ENTRY_ONLY_KEYS} for m in members]
        self.weights = [float(w) for w in weights] if weights is not None else [1.0] * len(members)
        self.cv_folds = int(cv_folds)
        self.seed = int(seed)
        if weighting not in ("fixed", "validation"):
            raise ModelError(f"weighting must be 'fixed' or 'validation', got {weighting!r}")
        if weighting == "validation" and len(members) != 2:
            raise ModelError("weighting 'validation' needs exactly two members")
        self.weighting = weighting
        self.weight_grid = [float(w) for w in (weight_grid or [0.0, 0.25, 0.5, 0.75, 1.0])]
        self.task_weights_: dict | None = None
        self.models_: list = []
        self.thresholds_: np.ndarray | None = None

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
            models.append(self._build(i).fit(texts, themes, tones, groups=groups, valid=valid, schema=self.schema_))
        return models

    def _average(self, models, texts) -> tuple[np.ndarray, np.ndarray]:
        if self.task_weights_ is not None:  # per-task weights of the first member (validation weighting)
            a, b = (m.predict_proba(texts) for m in models)
            wt, wo = self.task_weights_["themes"], self.task_weights_["tone"]
            return wt * a.themes + (1 - wt) * b.themes, wo * a.tone + (1 - wo) * b.tone
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        th, tone = None, None
        for wi, m in zip(w, models):
            sc = m.predict_proba(texts)
            th = wi * sc.themes if th is None else th + wi * sc.themes
            tone = wi * sc.tone if tone is None else tone + wi * sc.tone
        return th, tone

    def fit(self, texts: Sequence[str], themes, tones, groups=None, valid=None, *,
            schema: LabelSchema | None = None) -> "EnsembleModel":
        """Fit every member on ``schema``'s label set (see the module docstring for the weights)."""
        self.schema_ = fit_schema(schema)
        if self.weighting == "validation" and valid is not None:
            return self._fit_on_validation(texts, themes, tones, groups, valid)
        texts = list(texts)
        g = item_groups(groups, len(texts))
        Y, _ = label_arrays(self.schema_, themes, tones)

        def fit_score(tr, te):  # every member re-fitted on the fold's training rows
            sub = self._fit_members([texts[i] for i in tr], [themes[i] for i in tr], [tones[i] for i in tr],
                                    [g[i] for i in tr], None)
            return self._average(sub, [texts[i] for i in te])[0]

        self.thresholds_ = tune_thresholds_out_of_fold(fit_score, Y, g, k=self.cv_folds, seed=self.seed)
        self.models_ = self._fit_members(texts, themes, tones, groups, valid)
        return self

    def _fit_on_validation(self, texts, themes, tones, groups, valid) -> "EnsembleModel":
        v_texts, v_themes, v_tones = (list(v) for v in valid)
        self.models_ = self._fit_members(list(texts), themes, tones, groups, valid)
        Y, y = label_arrays(self.schema_, v_themes, v_tones)
        a, b = (m.predict_proba(v_texts) for m in self.models_)
        choice = choose_task_weights(Y, y, a, b, weights=tuple(self.weight_grid))
        self.task_weights_ = {"themes": choice["themes_weight"], "tone": choice["tone_weight"]}
        self.thresholds_ = np.asarray(choice["thresholds"], dtype=float)
        return self

    def uncached(self):
        """Every member's :meth:`uncached` at once."""
        stack = contextlib.ExitStack()
        for m in self.models_:
            stack.enter_context(m.uncached())
        return stack

    @property
    def training_stats_(self) -> dict:
        """What the fit chose, for ``<name>.train.json`` and the model card: the members' kinds, the weighting
        and the weights (per task, of the first member, under ``validation``; else the normalised fixed ones)."""
        if not self.models_:
            return {}
        w = np.asarray(self.weights, dtype=float)
        # a member whose fit was read back from a fit cache: what that fit cost when it ran
        reused = [{"member": i, "kind": self.members[i]["kind"], "seconds": st.get("seconds")}
                  for i, st in enumerate(getattr(m, "training_stats_", None) or {} for m in self.models_)
                  if st.get("fit_cache") == "reused"]
        return {"ensemble": {"members": [m["kind"] for m in self.members], "weighting": self.weighting,
                             "members_read_back": reused,
                             "weight_grid": self.weight_grid if self.task_weights_ is not None else None,
                             "task_weights": self.task_weights_,
                             "weights": None if self.task_weights_ is not None else [float(x) for x in w / w.sum()]}}

    def predict_proba(self, texts: Sequence[str]) -> Scores:
        if not self.models_:
            raise ModelError("the ensemble is not fitted")
        th, tone = self._average(self.models_, list(texts))
        return Scores(th, tone, self.thresholds_, self.schema)

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for i, m in enumerate(self.models_):
            name = f"member_{i}_{self.members[i]['kind']}"
            m.save(folder / name)
            names.append(name)
        meta = {**self.get_params(), "folders": names, "thresholds": [float(x) for x in self.thresholds_],
                "task_weights": self.task_weights_}
        (folder / "ensemble.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        write_manifest(folder, kind=self.kind, segmenter=None, params=self.get_params(), schema=self.schema)

    def get_params(self) -> dict:
        return {"members": self.members, "weights": self.weights, "cv_folds": self.cv_folds, "seed": self.seed,
                "weighting": self.weighting, "weight_grid": self.weight_grid}

    @classmethod
    def load(cls, folder) -> "EnsembleModel":
        from vistance.models import load_model

        folder = Path(folder)
        manifest = read_manifest(folder)
        meta = listed_json(folder, manifest, "ensemble.json")  # only a listed, checksum-verified file
        try:
            m = cls(meta["members"], meta["weights"], meta["cv_folds"], meta["seed"],
                    meta.get("weighting", "fixed"), meta.get("weight_grid"))
            tw = meta.get("task_weights")
            if tw is not None:
                m.task_weights_ = {"themes": float(tw["themes"]), "tone": float(tw["tone"])}
            names = meta["folders"]
            m.schema_ = manifest_schema(manifest, folder)
            thresholds = np.array(meta["thresholds"], dtype=float).reshape(len(m.schema_.themes))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ModelError(f"{folder / 'ensemble.json'}: not an ensemble description ({type(e).__name__}: {e})") from None
        if not isinstance(names, list) or len(names) != len(m.members):
            raise ModelError(f"{folder / 'ensemble.json'}: 'folders' must list one sub-folder per member")
        listed = manifest["files"]
        for name in names:
            # a member is a plain sub-folder whose files the ensemble's manifest lists (then its own manifest verifies it)
            if (not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\\" in name
                    or not any(f.startswith(name + "/") for f in listed)):
                raise ModelError(f"{folder / 'ensemble.json'}: member folder {name!r} is not a sub-folder listed "
                                 "in the manifest; refusing to load it")
        m.models_ = [load_model(folder / name) for name in names]
        for name, member in zip(names, m.models_):
            try:
                check_model_labels(member, m.schema_, f"ensemble member {name}")
            except LabelError as e:
                raise ModelError(f"{folder}: {e}") from None
        m.thresholds_ = thresholds
        return m
