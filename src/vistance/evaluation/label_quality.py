"""Label-quality review: flag gold labels that cross-validated predictions disagree with.

Confident learning (Northcutt et al.) through :func:`cleanlab.filter.find_label_issues`
(``filter_by="confident_learning"``), on out-of-fold probabilities of vistance's TF-IDF model.
It sits above ``models`` (it needs one), so ``labels`` stays free of model code.

1. **Out-of-fold probabilities.** Article-grouped ``k``-fold cross-validation
   (:func:`vistance.dataset.grouped_kfold`, so no article is in the training and the
   scored fold at once) with a fresh ``tfidf`` model per fold (``segmenter="pyvi"`` by
   default). Every gold row gets a tone distribution and one probability per theme from a
   model that never saw it.
2. **Per-class thresholds** ``t_j`` = the mean self-confidence of class ``j`` (the mean
   out-of-fold probability of ``j`` over rows *labelled* ``j``;
   :func:`cleanlab.count.get_confident_thresholds`). Tone has one class per tone of the codebook
   (``K = len(schema.tones)``); every theme is
   its own binary problem ("has theme" / "lacks theme", probabilities ``1 - p`` and ``p``).
3. **Flag** a row when it falls off the diagonal of cleanlab's confident joint: among the
   classes whose probability reaches their threshold, the likeliest is not the given one
   (and, as cleanlab does, the arg-max is not the given class either).
4. **Rank** by the normalised margin ``p(suggested) - p(given)`` (in ``[-1, 1]``; larger =
   the model is more sure the given label is wrong). The suggested class is the likeliest
   class above its threshold.

A flag is a reason to *re-read* a paragraph, never a correction by itself: decisions are
made by a person against the codebook and recorded in ``labels/corrections.jsonl`` (see
:func:`vistance.labels.adjudication.apply_corrections`).

Output rows (no text): ``paragraph_id, text_sha1, article_id, flag ("tone" or
"theme:<name>"), given, suggested, given_themes, given_tone, suggested_themes,
suggested_tone, p_given, p_suggested, score, rank``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from vistance.evaluation.metrics import label_arrays
from vistance.labels.schema import LabelSchema, default_schema


def out_of_fold_scores(rows: list[dict], k: int = 5, seed: int = 13, segmenter: str = "pyvi",
                       model_params: dict | None = None, *, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold theme probabilities ``[n, len(schema.themes)]`` and tone probabilities ``[n, len(schema.tones)]``.

    Folds are grouped by ``article_id``; a fresh ``tfidf`` model (``classifier="logreg"``,
    no threshold tuning, plus ``model_params``) learning ``schema`` is fitted on each training part.
    """
    from vistance.dataset.splits import grouped_kfold
    from vistance.models import build_model

    params = {"classifier": "logreg", "segmenter": segmenter, "tune_thresholds": False, "seed": seed}
    params.update(model_params or {})
    texts = [r["text"] for r in rows]
    seg = build_model("tfidf", **params).segment(texts)
    Y, _ = label_arrays(rows, schema)
    groups = [r.get("article_id") or r["id"] for r in rows]
    k = min(k, len(set(groups)))
    if k < 2:
        raise ValueError("label-issue search needs rows from at least two articles")
    th = np.zeros(Y.shape, dtype=float)
    to = np.zeros((len(rows), len(schema.tones)), dtype=float)
    for tr, te in grouped_kfold(groups, k=k, seed=seed):
        if not te:
            continue
        Ytr = Y[tr]
        model = build_model("tfidf", **params)
        with warnings.catch_warnings():  # a theme absent from a training fold is handled just below
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            model.fit([texts[i] for i in tr], [rows[i]["themes"] for i in tr], [rows[i]["tone"] for i in tr],
                      schema=schema)
        sc = model.predict_proba([texts[i] for i in te], segmented=[seg[i] for i in te])
        a, b = sc.themes.copy(), sc.tone
        # a theme absent (or always present) in the training folds: the fold's prior
        for j in range(Y.shape[1]):
            if Ytr[:, j].min() == Ytr[:, j].max():
                a[:, j] = float(Ytr[0, j]) if len(Ytr) else 0.0
        th[te] = a
        to[te] = b
    return th, to


def _suggested_themes(themes: list[str], name: str, add: bool, schema: LabelSchema) -> list[str]:
    """``themes`` with ``name`` added or dropped, keeping the catch-all rule (the catch-all only
    alone; it stands in for an emptied set). Empty when nothing is left and there is no catch-all."""
    other = schema.catch_all
    s = set(themes)
    if add:
        s = {name} if name == other else (s | {name}) - {other}
    else:
        s.discard(name)
        if not s and other is not None:
            s = {other}
    return [t for t in schema.themes if t in s]


def _confident_off_diagonal(labels: np.ndarray, probs: np.ndarray) -> list[tuple[int, int]]:
    """``(row, suggested class)`` of every row cleanlab's confident learning flags."""
    from cleanlab.count import get_confident_thresholds
    from cleanlab.filter import find_label_issues as cleanlab_issues

    present = np.unique(labels)
    if len(present) < 2:
        return []
    # cleanlab needs every class of ``probs`` in ``labels``: keep the classes that are given
    sub = probs[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    local = np.searchsorted(present, labels)
    mask = cleanlab_issues(labels=local, pred_probs=sub, filter_by="confident_learning")
    thr = get_confident_thresholds(local, sub)
    out = []
    for i in np.flatnonzero(mask):
        above = [j for j in range(len(present)) if j != local[i] and sub[i, j] >= thr[j]]
        cand = above or [j for j in range(len(present)) if j != local[i]]
        out.append((int(i), int(present[max(cand, key=lambda j: sub[i, j])])))
    return out


def confident_issues(given_tone: np.ndarray, tone_probs: np.ndarray, given_themes: np.ndarray,
                     theme_probs: np.ndarray, schema: LabelSchema) -> list[dict]:
    """Confident learning (cleanlab) on precomputed out-of-fold probabilities.

    ``given_tone``: ``[n]`` class indices into ``schema.tones``; ``given_themes``:
    ``[n, len(schema.themes)]`` 0/1. Returns unsorted issue dicts with row index ``i``, ``flag``, ``given``, ``suggested``,
    ``p_given``, ``p_suggested`` and ``score``.
    """
    out: list[dict] = []
    given_tone = np.asarray(given_tone, dtype=int)
    for i, s in _confident_off_diagonal(given_tone, np.asarray(tone_probs, dtype=float)):
        g = int(given_tone[i])
        pg, ps = float(tone_probs[i, g]), float(tone_probs[i, s])
        out.append({"i": i, "flag": "tone", "given": schema.tone_names[g], "suggested": schema.tone_names[s],
                    "p_given": pg, "p_suggested": ps, "score": ps - pg})
    # themes: one binary problem per label (class 1 = "has theme")
    for j, name in enumerate(schema.theme_names):
        y = np.asarray(given_themes[:, j], dtype=int)
        p1 = np.asarray(theme_probs[:, j], dtype=float)
        for i, _s in _confident_off_diagonal(y, np.column_stack([1 - p1, p1])):
            has = bool(y[i])
            pg = float(p1[i]) if has else float(1 - p1[i])
            out.append({"i": i, "flag": f"theme:{name}", "given": has, "suggested": not has,
                        "p_given": pg, "p_suggested": 1 - pg, "score": 1 - 2 * pg})
    return out


def find_label_issues(rows: list[dict], k: int = 5, seed: int = 13, segmenter: str = "pyvi",
                      model_params: dict | None = None, *, schema: LabelSchema) -> list[dict]:
    """Likely label errors among gold ``rows`` (from :func:`vistance.dataset.join_labels`), best first.

    Each result: ``paragraph_id``, ``text_sha1`` (when the row has it), ``article_id``,
    ``flag``, ``given``/``suggested`` (tone names, or booleans "has theme" for a theme flag),
    ``given_themes``/``given_tone`` and ``suggested_themes``/``suggested_tone`` (the whole label
    with only the flagged part changed), ``p_given``, ``p_suggested``, ``score`` and ``rank``
    (1 = most likely wrong). No paragraph text is included. ``schema``: the codebook the labels follow.
    """
    if not rows:
        return []
    th, to = out_of_fold_scores(rows, k=k, seed=seed, segmenter=segmenter, model_params=model_params, schema=schema)
    given_th, given_tone = label_arrays(rows, schema)
    issues = confident_issues(given_tone, to, given_th, th, schema)
    names = schema.theme_names
    out = []
    for it in issues:
        idx = it.pop("i")
        r = rows[idx]
        themes = [t for t in names if t in set(r["themes"])]
        sug_themes, sug_tone = themes, r["tone"]
        if it["flag"] == "tone":
            sug_tone = it["suggested"]
        else:
            name = it["flag"].split(":", 1)[1]
            sug_themes = _suggested_themes(themes, name, it["suggested"], schema)
            if not it["suggested"] and (name == schema.catch_all or not sug_themes):
                # dropping the catch-all (or the only theme) means another theme applies: the likely ones
                # (or the likeliest)
                ps = th[idx, :]
                real = [j for j, t in enumerate(names) if t not in (schema.catch_all, name)]
                if real:
                    likely = [names[j] for j in real if ps[j] >= 0.5] or [names[max(real, key=lambda j: ps[j])]]
                    sug_themes = [t for t in names if t in likely]
        out.append({
            "paragraph_id": r["id"], "text_sha1": r.get("text_sha1"), "article_id": r.get("article_id"),
            **{k2: it[k2] for k2 in ("flag", "given", "suggested")},
            "given_themes": themes, "given_tone": r["tone"],
            "suggested_themes": sug_themes, "suggested_tone": sug_tone,
            "p_given": round(it["p_given"], 4), "p_suggested": round(it["p_suggested"], 4),
            "score": round(it["score"], 4),
        })
    out.sort(key=lambda d: (-d["score"], d["paragraph_id"], d["flag"]))
    for rank, d in enumerate(out, 1):
        d["rank"] = rank
    return out


@dataclass
class LabelIssuesReport:
    """What :func:`review_labels` found and wrote."""

    issues: list[dict]                 # every flag, best first
    written: int                       # rows written (the ``top`` best)
    gold_rows: int                     # gold labels joined with the corpus
    out: str
    join: dict = field(default_factory=dict)   # join_labels info: missing / stale counts

    def by_flag(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.issues:
            counts[d["flag"]] = counts.get(d["flag"], 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        flags = ", ".join(f"{k} {v}" for k, v in self.by_flag().items())
        s = (f"label issues: {len(self.issues)} flag(s) on {len({d['paragraph_id'] for d in self.issues})} of "
             f"{self.gold_rows} gold paragraph(s) ({flags}); wrote {self.written} -> {self.out}")
        if self.join.get("missing"):
            s += f"; {self.join['missing']} label(s) not in this corpus"
        if self.join.get("stale"):
            s += f"; {self.join['stale']} stale label(s) skipped"
        return s


def review_labels(paragraphs, labels, out, top: int | None = 100, k: int = 5, seed: int = 13,
                  segmenter: str = "pyvi", model_params: dict | None = None,
                  schema: LabelSchema | None = None) -> LabelIssuesReport:
    """Gold labels (``labels`` JSONL) on ``paragraphs`` (JSONL) -> ranked JSONL of flags at ``out`` (no text).

    ``top``: keep the best N flags (all when ``None`` or 0); ``k`` folds, ``seed``, ``segmenter``,
    ``model_params`` and ``schema`` (the codebook; ``None``: the packaged default) go to
    :func:`find_label_issues`.
    """
    schema = schema or default_schema()
    from vistance.corpus import read_paragraphs
    from vistance.dataset.build import join_labels
    from vistance.io import write_jsonl
    from vistance.labels.store import read_labels

    paras = read_paragraphs(paragraphs)
    rows, info = join_labels(paras, read_labels(labels, allow_missing=False, schema=schema), strict=False)
    sha = {p.paragraph_id: p.text_sha1 for p in paras}
    for r in rows:
        r["text_sha1"] = sha[r["id"]]
    issues = find_label_issues(rows, k=k, seed=seed, segmenter=segmenter, model_params=model_params, schema=schema)
    kept = issues[:top] if top else issues
    n = write_jsonl(out, kept, sort_keys=True)
    return LabelIssuesReport(issues=issues, written=n, gold_rows=len(rows), out=str(out), join=info)
