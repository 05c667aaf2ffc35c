"""Inter-annotator agreement: Krippendorff's alpha (nominal) and Cohen's kappa."""
from __future__ import annotations

from vistance.labels.schema import Label, LabelSchema, default_schema


def krippendorff_alpha_nominal(units: list[list]) -> float:
    """Krippendorff's alpha for nominal data (the ``krippendorff`` package).

    ``units``: for each unit, the values given by the coders who coded it
    (``None`` = missing). Units with fewer than two values are not pairable and
    are ignored. Returns ``nan`` when there is no pairable unit, and 1.0 when
    every pairable value is the same (no disagreement is possible or observed).
    """
    import krippendorff
    import numpy as np

    pairable = [[v for v in values if v is not None] for values in units]
    pairable = [vals for vals in pairable if len(vals) >= 2]
    if not pairable:
        return float("nan")
    codes = {v: i for i, v in enumerate(sorted({v for vals in pairable for v in vals}, key=repr))}
    if len(codes) < 2:
        return 1.0
    width = max(len(vals) for vals in pairable)
    data = np.full((width, len(pairable)), np.nan)  # coders x units, NaN = not coded
    for u, vals in enumerate(pairable):
        data[: len(vals), u] = [codes[v] for v in vals]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def cohen_kappa(a: list, b: list) -> float:
    """Cohen's kappa of two coders over the same items (``sklearn.metrics.cohen_kappa_score``);
    1.0 when both coders give one and the same value throughout (chance agreement is 1)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty sequences")
    if len(set(a) | set(b)) == 1:
        return 1.0
    return float(cohen_kappa_score(list(a), list(b)))


def agreement_report(first: list[Label], second: list[Label], schema: LabelSchema | None = None) -> dict:
    """Agreement between two codings on the paragraphs both coded.

    Tone: alpha (nominal), kappa, raw agreement. Themes: per label of ``schema`` (default: the
    packaged codebook) alpha and kappa with the label as a binary variable, their mean, and
    exact-set agreement.
    """
    schema = schema or default_schema()
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
    for t in schema.theme_names:
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


def agreement_by(first: list[Label], second: list[Label], key, schema: LabelSchema | None = None) -> dict:
    """:func:`agreement_report` per group of the double-coded paragraphs; ``key(first_label) -> group``.

    E.g. ``key=lambda l: l.codebook`` gives one report per codebook version (each double-coded
    set was coded under one version).
    """
    groups: dict = {}
    for lab in first:
        groups.setdefault(str(key(lab)), []).append(lab)
    ids = {l.paragraph_id for l in second}
    return {g: agreement_report(labs, [l for l in second if l.paragraph_id in {x.paragraph_id for x in labs}], schema)
            for g, labs in sorted(groups.items()) if any(x.paragraph_id in ids for x in labs)}
