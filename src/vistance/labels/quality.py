"""Label-quality check: flag gold labels that cross-validated predictions disagree with.

Confident learning (Northcutt et al., the method behind *cleanlab*), implemented
here on vistance's own TF-IDF model so no extra dependency is needed:

1. **Out-of-fold probabilities.** Article-grouped ``k``-fold cross-validation
   (:func:`vistance.dataset.grouped_kfold`, so no article is in the training and
   the scored fold at once) with :class:`~vistance.models.tfidf.TfidfModel`
   (``segmenter="pyvi"`` by default). Every gold row gets a tone distribution
   and one probability per theme from a model that never saw it.
2. **Per-class thresholds** ``t_j`` = the mean self-confidence of class ``j``:
   the mean out-of-fold probability of ``j`` over the rows *labelled* ``j``.
   Tone has three classes; every theme is treated as its own binary problem
   (classes "has theme" / "lacks theme", probabilities ``p`` and ``1 - p``).
3. **Flag** a row when the probability of its given class is *below* that
   class's threshold and some other class reaches *its* threshold (the row
   looks more like another class than typical members of its own class do).
4. **Rank** by the normalised margin ``p(suggested) - p(given)`` (in ``[-1, 1]``;
   larger = the model is more sure the given label is wrong). The suggested
   class is the other class above its threshold with the largest probability.

A flag is a reason to *re-read* a paragraph, never a correction by itself:
decisions are made by a person against the codebook and recorded in
``labels/corrections.jsonl`` (see :func:`vistance.labels.adjudication.apply_corrections`).

Output rows (no text): ``paragraph_id, text_sha1, article_id, flag ("tone" or
"theme:<name>"), given, suggested, given_themes, given_tone, suggested_themes,
suggested_tone, p_given, p_suggested, score, rank``.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

from vistance.labels.schema import OTHER, THEMES, TONES


def out_of_fold_scores(rows: list[dict], k: int = 5, seed: int = 13, segmenter: str = "pyvi",
                       model_params: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold theme probabilities ``[n, len(THEMES)]`` and tone probabilities ``[n, len(TONES)]``.

    Folds are grouped by ``article_id``; texts are segmented once and reused by every fold.
    """
    from vistance.dataset.splits import grouped_kfold
    from vistance.models.tfidf import TfidfModel

    params = {"classifier": "logreg", "segmenter": segmenter, "tune_thresholds": False, "seed": seed}
    params.update(model_params or {})
    model = TfidfModel(**params)
    seg = model.segment([r["text"] for r in rows])
    Y, y = model._targets([r["themes"] for r in rows], [r["tone"] for r in rows])
    groups = [r.get("article_id") or r["id"] for r in rows]
    k = min(k, len(set(groups)))
    if k < 2:
        raise ValueError("label-issue search needs rows from at least two articles")
    th = np.zeros(Y.shape, dtype=float)
    to = np.zeros((len(rows), len(TONES)), dtype=float)
    for tr, te in grouped_kfold(groups, k=k, seed=seed):
        if not te:
            continue
        Ytr = Y[tr]
        with warnings.catch_warnings():  # a theme absent from a training fold is handled just below
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            parts = model._fit_segmented([seg[i] for i in tr], Ytr, y[tr])
        a, b = model._scores(*parts, [seg[i] for i in te])
        # a theme absent (or always present) in the training folds: the fold's prior
        for j in range(Y.shape[1]):
            if Ytr[:, j].min() == Ytr[:, j].max():
                a[:, j] = float(Ytr[0, j]) if len(Ytr) else 0.0
        th[te] = a
        to[te] = b
    return th, to


def _suggested_themes(themes: list[str], name: str, add: bool) -> list[str]:
    s = set(themes)
    if add:
        s.add(name)
        if name != OTHER:
            s.discard(OTHER)
        else:
            s = {OTHER}
    else:
        s.discard(name)
        if not s:
            s = {OTHER}
    return [t for t in THEMES if t in s]


def confident_issues(given_tone: np.ndarray, tone_probs: np.ndarray, given_themes: np.ndarray,
                     theme_probs: np.ndarray) -> list[dict]:
    """The confident-learning rule on precomputed out-of-fold probabilities.

    ``given_tone``: ``[n]`` class indices into :data:`TONES`; ``given_themes``: ``[n, len(THEMES)]``
    0/1. Returns unsorted issue dicts with row index ``i``, ``flag``, ``given``, ``suggested``,
    ``p_given``, ``p_suggested`` and ``score``.
    """
    out: list[dict] = []
    n = len(given_tone)
    # tone: multi-class
    thr = np.array([tone_probs[given_tone == j, j].mean() if (given_tone == j).any() else 1.0
                    for j in range(tone_probs.shape[1])])
    for i in range(n):
        g = int(given_tone[i])
        pg = tone_probs[i, g]
        if pg >= thr[g]:
            continue
        cands = [j for j in range(tone_probs.shape[1]) if j != g and tone_probs[i, j] >= thr[j]]
        if not cands:
            continue
        s = max(cands, key=lambda j: tone_probs[i, j])
        out.append({"i": i, "flag": "tone", "given": TONES[g], "suggested": TONES[s],
                    "p_given": float(pg), "p_suggested": float(tone_probs[i, s]),
                    "score": float(tone_probs[i, s] - pg)})
    # themes: one binary problem per label
    for j, name in enumerate(THEMES):
        y = given_themes[:, j].astype(bool)
        p1 = theme_probs[:, j]
        if y.all() or not y.any():
            continue
        t1 = p1[y].mean()           # mean self-confidence of "has theme"
        t0 = (1 - p1[~y]).mean()    # mean self-confidence of "lacks theme"
        for i in np.flatnonzero(y & (p1 < t1) & ((1 - p1) >= t0)):
            out.append({"i": int(i), "flag": f"theme:{name}", "given": True, "suggested": False,
                        "p_given": float(p1[i]), "p_suggested": float(1 - p1[i]), "score": float(1 - 2 * p1[i])})
        for i in np.flatnonzero(~y & ((1 - p1) < t0) & (p1 >= t1)):
            out.append({"i": int(i), "flag": f"theme:{name}", "given": False, "suggested": True,
                        "p_given": float(1 - p1[i]), "p_suggested": float(p1[i]), "score": float(2 * p1[i] - 1)})
    return out


def find_label_issues(rows: list[dict], k: int = 5, seed: int = 13, segmenter: str = "pyvi",
                      model_params: dict | None = None) -> list[dict]:
    """Likely label errors among gold ``rows`` (from :func:`vistance.dataset.join_labels`), best first.

    Each result: ``paragraph_id``, ``text_sha1`` (when the row has it), ``article_id``,
    ``flag``, ``given``/``suggested`` (tone names, or booleans "has theme" for a theme flag),
    ``given_themes``/``given_tone`` and ``suggested_themes``/``suggested_tone`` (the whole label
    with only the flagged part changed), ``p_given``, ``p_suggested``, ``score`` and ``rank``
    (1 = most likely wrong). No paragraph text is included.
    """
    if not rows:
        return []
    th, to = out_of_fold_scores(rows, k=k, seed=seed, segmenter=segmenter, model_params=model_params)
    given_tone = np.array([TONES.index(r["tone"]) for r in rows])
    given_th = np.array([[int(t in set(r["themes"])) for t in THEMES] for r in rows])
    issues = confident_issues(given_tone, to, given_th, th)
    out = []
    for it in issues:
        idx = it.pop("i")
        r = rows[idx]
        themes = [t for t in THEMES if t in set(r["themes"])]
        sug_themes, sug_tone = themes, r["tone"]
        if it["flag"] == "tone":
            sug_tone = it["suggested"]
        else:
            name = it["flag"].split(":", 1)[1]
            sug_themes = _suggested_themes(themes, name, add=it["suggested"])
            if name == OTHER and not it["suggested"]:
                # dropping `other` means some real theme applies: the likely ones (or the likeliest)
                ps = th[idx, :]
                real = [j for j, t in enumerate(THEMES) if t != OTHER]
                likely = [THEMES[j] for j in real if ps[j] >= 0.5] or [THEMES[max(real, key=lambda j: ps[j])]]
                sug_themes = [t for t in THEMES if t in likely]
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


def run_label_issues_cli(args) -> int:
    """``vistance labels issues``: gold rows -> ranked JSONL of flagged items (no text).

    ``args``: ``paragraphs`` (paragraphs JSONL), ``labels`` (gold JSONL), ``out`` (JSONL to
    write), ``top`` (keep the best N flags; all when unset or 0); optional ``k``, ``seed``, ``segmenter``.
    """
    from vistance.corpus import read_paragraphs
    from vistance.dataset.build import join_labels
    from vistance.io import atomic_write
    from vistance.labels.store import read_labels

    paras = read_paragraphs(args.paragraphs)
    rows, info = join_labels(paras, read_labels(args.labels, allow_missing=False), strict=False)
    sha = {p.paragraph_id: p.text_sha1 for p in paras}
    for r in rows:
        r["text_sha1"] = sha[r["id"]]
    k = int(getattr(args, "k", None) or 5)
    seed = int(getattr(args, "seed", None) if getattr(args, "seed", None) is not None else 13)
    issues = find_label_issues(rows, k=k, seed=seed, segmenter=getattr(args, "segmenter", None) or "pyvi")
    top = getattr(args, "top", None)
    kept = issues[:top] if top else issues
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as fh:
        for d in kept:
            fh.write(json.dumps(d, ensure_ascii=False, sort_keys=True) + "\n")
    by_flag: dict[str, int] = {}
    for d in issues:
        by_flag[d["flag"]] = by_flag.get(d["flag"], 0) + 1
    print(f"label issues: {len(issues)} flag(s) on {len({d['paragraph_id'] for d in issues})} of {len(rows)} gold "
          f"paragraph(s) ({', '.join(f'{k2} {v}' for k2, v in sorted(by_flag.items()))}); wrote {len(kept)} -> {args.out}"
          + (f"; {info.get('missing', 0)} label(s) not in this corpus" if info.get("missing") else "")
          + (f"; {info.get('stale', 0)} stale label(s) skipped" if info.get("stale") else ""),
          file=sys.stderr)
    return 0
