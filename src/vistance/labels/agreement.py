"""Inter-annotator agreement: Krippendorff's alpha (nominal) and Cohen's kappa."""
from __future__ import annotations

from collections import Counter
from itertools import permutations

from vistance.labels.schema import THEMES, Label


def krippendorff_alpha_nominal(units: list[list]) -> float:
    """Krippendorff's alpha for nominal data.

    ``units``: for each unit, the values given by the coders who coded it
    (``None`` = missing). Units with fewer than two values are not pairable and
    are ignored. Returns ``nan`` when there is no pairable unit, and 1.0 when
    every pairable value is the same (no disagreement is possible or observed).
    """
    coincidence: Counter = Counter()
    for values in units:
        vals = [v for v in values if v is not None]
        m = len(vals)
        if m < 2:
            continue
        for a, b in permutations(range(m), 2):
            coincidence[(vals[a], vals[b])] += 1.0 / (m - 1)
    n = sum(coincidence.values())
    if n == 0:
        return float("nan")
    n_c: Counter = Counter()
    for (a, _b), w in coincidence.items():
        n_c[a] += w
    d_o = sum(w for (a, b), w in coincidence.items() if a != b) / n
    d_e = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b) / (n * (n - 1))
    if d_e == 0:
        return 1.0
    return 1.0 - d_o / d_e


def cohen_kappa(a: list, b: list) -> float:
    """Cohen's kappa of two coders over the same items."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty sequences")
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if p_e == 1:
        return 1.0
    return (p_o - p_e) / (1 - p_e)


def agreement_report(first: list[Label], second: list[Label]) -> dict:
    """Agreement between two codings on the paragraphs both coded.

    Tone: alpha (nominal), kappa, raw agreement. Themes: per label alpha and kappa
    with the label as a binary variable, their mean, and exact-set agreement.
    """
    a = {l.paragraph_id: l for l in first}
    b = {l.paragraph_id: l for l in second}
    common = sorted(set(a) & set(b))
    out = {"n": len(common)}
    if not common:
        return out
    ta, tb = [a[p].tone for p in common], [b[p].tone for p in common]
    out["tone"] = {
        "alpha": krippendorff_alpha_nominal([[x, y] for x, y in zip(ta, tb)]),
        "kappa": cohen_kappa(ta, tb),
        "agreement": sum(x == y for x, y in zip(ta, tb)) / len(common),
    }
    per = {}
    for t in THEMES:
        xa = [int(t in a[p].themes) for p in common]
        xb = [int(t in b[p].themes) for p in common]
        per[t] = {
            "alpha": krippendorff_alpha_nominal([[x, y] for x, y in zip(xa, xb)]),
            "kappa": cohen_kappa(xa, xb),
            "support_first": sum(xa), "support_second": sum(xb),
        }
    vals = [v["alpha"] for v in per.values() if v["support_first"] + v["support_second"] > 0]
    kap = [v["kappa"] for v in per.values() if v["support_first"] + v["support_second"] > 0]
    out["themes"] = {
        "per_label": per,
        "mean_alpha": sum(vals) / len(vals) if vals else float("nan"),
        "mean_kappa": sum(kap) / len(kap) if kap else float("nan"),
        "exact_set_agreement": sum(a[p].themes == b[p].themes for p in common) / len(common),
    }
    return out
