"""Does active learning help? A simulation on labels we already have.

The gold pool is split once, by article, into a *pool* the simulated annotator may
"label" (its gold is revealed only for what a strategy asks for) and a fixed
*held-out* part that every curve is scored on. For each seed and strategy the loop
starts from the same random ``start`` labels, then repeats: fit the model on what is
labelled, score the rest of the pool, let the sampler choose the next batch, until
each budget in ``budgets`` is reached (at most ``step`` labels a round); at each budget a model fitted on exactly those
labels is scored on the held-out part.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vistance.dataset import dataset_schema
from vistance.evaluation.metrics import headline_metrics, label_arrays
from vistance.labels.active import make_sampler
from vistance.labels.schema import LabelSchema
from vistance.models import build_model


@dataclass
class SimulationReport:
    """Curves (mean and std over seeds) per strategy, and the verdict of the 60 % goal."""

    budgets: list[int]
    seeds: list[int]
    pool: int
    heldout: int
    model: dict
    runs: list[dict] = field(default_factory=list)
    curves: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"budgets": self.budgets, "seeds": self.seeds, "pool": self.pool, "heldout": self.heldout,
                "model": self.model, "curves": self.curves, "verdict": self.verdict, "runs": self.runs}


def _score(model, rows) -> dict:
    sc = model.predict_proba([r["text"] for r in rows])
    Yt, yt = label_arrays(rows, model.schema)
    Yp, yp = sc.theme_matrix(), sc.tone.argmax(axis=1)
    fns = headline_metrics(model.schema)
    return {k: float(fns[k](Yt, Yp, yt, yp)) for k in ("tone_macro_f1", "themes_sample_f1")}


def _fit(kind: str, spec: dict, rows: list[dict], seed: int, schema: LabelSchema | None, memo: dict | None = None):
    model = build_model(kind, **({**spec, "seed": seed} if build_model_accepts_seed(kind) else spec))
    if memo is not None:
        share_segmentation(model, memo)
    model.fit([r["text"] for r in rows], [r["themes"] for r in rows], [r["tone"] for r in rows],
              groups=[r["article_id"] for r in rows], schema=schema)
    return model


def share_segmentation(model, memo: dict) -> None:
    """Let ``model`` (a kind that word-segments inside, ``needs_segmentation``) read each text's
    segmentation from ``memo``, computing it once with its own ``segment``: the simulation refits and
    rescores the same texts every round, and segmenting them is most of its cost. Other kinds: no-op."""
    own = getattr(model, "segment", None)
    if not getattr(model, "needs_segmentation", False) or not callable(own):
        return

    def segment(texts):
        texts = list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        if missing:
            memo.update(zip(missing, own(missing)))
        return [memo[t] for t in texts]

    model.segment = segment


class _Refits:
    """``fit(labelled)`` once per labelled list: the same list recurs (every strategy of a seed starts from
    the same labels; a budget's final fit is the next round's first), and a fit is deterministic. Keeps
    the fit on ``keep`` (the start labels) and the latest one."""

    def __init__(self, fit, keep):
        self.fit, self.keep, self.models = fit, tuple(keep), {}

    def __call__(self, labelled):
        key = tuple(labelled)
        if key not in self.models:
            self.models = {k: m for k, m in self.models.items() if k == self.keep}
            self.models[key] = self.fit(list(labelled))
        return self.models[key]


def build_model_accepts_seed(kind: str) -> bool:
    from vistance.models import model_class

    return bool(model_class(kind).seeded)


def simulate(rows: list[dict], heldout_rows: list[dict], *, kind: str, spec: dict, strategies, budgets, seeds,
             start: int, step: int, goal_fraction: float, progress=None,
             schema: LabelSchema | None = None) -> SimulationReport:
    """Run the simulation; ``rows`` is the pool, ``heldout_rows`` the fixed scoring set; ``schema`` the
    label set the models learn (``None``: the packaged default codebook). The settings are those of
    ``active_learning`` (:class:`vistance.config.ActiveLearningConfig`, where their defaults live).

    ``progress`` (optional) is called with a short string after every fitted budget.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    budgets = sorted(int(b) for b in budgets if int(b) <= len(rows))
    if not budgets:
        raise ValueError(f"the pool has {len(rows)} units: fewer than the smallest budget")
    ids = [r["id"] for r in rows]
    by_id = {r["id"]: r for r in rows}
    features = TfidfVectorizer(min_df=2, sublinear_tf=True).fit_transform([r["text"] for r in rows])
    report = SimulationReport(budgets=budgets, seeds=list(seeds), pool=len(rows), heldout=len(heldout_rows),
                              model={"kind": kind, **spec})
    memo: dict[str, str] = {}   # text -> its segmentation, shared by every fit (one spec, one segmenter)
    for seed in seeds:
        first = random.Random(seed).sample(ids, min(start, budgets[0]))
        refit = _Refits(lambda chosen, seed=seed: _fit(kind, spec, [by_id[i] for i in chosen], seed, schema, memo), first)
        for strategy in strategies:
            sampler = make_sampler(strategy, seed=seed)
            labelled = list(first)
            for budget in budgets:
                while len(labelled) < budget:
                    need = min(step, budget - len(labelled))
                    done = set(labelled)
                    if strategy == "random":
                        new = sampler.query(ids, need, labelled=done)
                    else:
                        model = refit(labelled)
                        sc = model.predict_proba([r["text"] for r in rows])
                        counts = Counter()
                        for i in labelled:
                            counts.update(by_id[i]["themes"])
                            counts[by_id[i]["tone"]] += 1
                        new = sampler.query(ids, need, labelled=done, scores=sc, features=features,
                                            label_counts=counts)
                    if not new:
                        break
                    labelled.extend(new)
                model = refit(labelled)
                report.runs.append({"seed": seed, "strategy": strategy, "labels": len(labelled),
                                    **_score(model, heldout_rows)})
                if progress:
                    progress(f"seed {seed} {strategy} {len(labelled)}")
    report.curves = _curves(report.runs, strategies, budgets)
    report.verdict = _verdict(report.curves, budgets, goal_fraction)
    return report


def _curves(runs, strategies, budgets) -> dict:
    out = {}
    for s in strategies:
        out[s] = []
        for b in budgets:
            pts = [r for r in runs if r["strategy"] == s and r["labels"] == b]
            if not pts:
                continue
            row = {"labels": b}
            for m in ("tone_macro_f1", "themes_sample_f1"):
                vals = np.array([p[m] for p in pts])
                row[m] = round(float(vals.mean()), 4)
                row[m + "_std"] = round(float(vals.std(ddof=1)) if len(vals) > 1 else 0.0, 4)
            out[s].append(row)
    return out


def _verdict(curves: dict, budgets: list[int], goal_fraction: float) -> dict:
    """For each active strategy: the fewest labels at which it reaches random's final F1 on *both* tasks."""
    final = curves.get("random", [])[-1] if curves.get("random") else None
    out = {"goal": f"reach random's F1 at {budgets[-1]} labels with <= {goal_fraction:.0%} of them",
           "random_final": final, "strategies": {}}
    if final is None:
        return out
    for s, pts in curves.items():
        if s == "random":
            continue
        reach = next((p["labels"] for p in pts if p["tone_macro_f1"] >= final["tone_macro_f1"]
                      and p["themes_sample_f1"] >= final["themes_sample_f1"]), None)
        out["strategies"][s] = {"labels_to_reach_random_final": reach,
                                "meets_goal": reach is not None and reach <= goal_fraction * budgets[-1]}
    winners = [s for s, v in out["strategies"].items() if v["meets_goal"]]
    out["recommended"] = min(winners, key=lambda s: out["strategies"][s]["labels_to_reach_random_final"]) if winners else "random"
    return out


def markdown_table(report: SimulationReport) -> str:
    """The curves as a Markdown table (mean ± std over seeds)."""
    lines = ["| strategy | " + " | ".join(f"{b} labels" for b in report.budgets) + " |",
             "|---|" + "---|" * len(report.budgets)]
    for s, pts in report.curves.items():
        cells = [f"tone {p['tone_macro_f1']:.3f}±{p['tone_macro_f1_std']:.3f} / themes "
                 f"{p['themes_sample_f1']:.3f}±{p['themes_sample_f1_std']:.3f}" for p in pts]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(report: SimulationReport, path) -> None:
    """Two panels (tone macro-F1, themes sample-F1) of label budget vs F1, one line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, m, title in zip(axes, ("tone_macro_f1", "themes_sample_f1"), ("tone macro-F1", "themes sample-F1")):
        for s, pts in report.curves.items():
            x = [p["labels"] for p in pts]
            y = np.array([p[m] for p in pts])
            e = np.array([p[m + "_std"] for p in pts])
            ax.plot(x, y, marker="o", label=s)
            ax.fill_between(x, y - e, y + e, alpha=0.15)
        ax.set_xscale("log", base=2)
        ax.set_xticks(report.budgets, [str(b) for b in report.budgets])
        ax.set_xlabel("gold labels")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"active learning simulation ({len(report.seeds)} seeds; held-out {report.heldout} units)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_simulation(*, dataset_dir, model_kind: str, model_spec: dict, out_dir, strategies, budgets, seeds,
                   start: int, step: int, goal_fraction: float, progress=None, corpora=None) -> SimulationReport:
    """The simulation on a built dataset: pool = train + validation of the primary corpora (of
    ``corpora``, ``Config.corpora``; None: the defaults), held-out = its in-sample ``test`` split; writes ``simulation.json``, ``simulation.md`` and
    ``simulation.png`` under ``out_dir``."""
    from pathlib import Path

    from vistance.dataset.build import load_dataset_dict, rows_from_dataset
    from vistance.io import atomic_write, write_json

    dd = load_dataset_dict(dataset_dir)
    from vistance.corpus.registry import primary_corpora

    primary = primary_corpora(corpora)
    pool = [r for s in ("train", "validation") if s in dd for r in rows_from_dataset(dd[s]) if r["corpus"] in primary]
    held = [r for r in rows_from_dataset(dd["test"]) if r["corpus"] in primary] if "test" in dd else []
    if not held or len(pool) < min(budgets):   # e.g. a fresh clone without the corpora: say so, do nothing
        reason = (f"skipped: the simulation needs a test split and a pool of at least {min(budgets)} labelled units "
                  f"(have {len(pool)} in the pool, {len(held)} held out)")
        report = SimulationReport(budgets=list(budgets), seeds=list(seeds), pool=len(pool), heldout=len(held),
                                  model={"kind": model_kind, **model_spec}, verdict={"skipped": reason})
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "simulation.json", {**report.to_dict(), "skipped": reason})
        with atomic_write(out / "simulation.md") as fh:
            fh.write(f"# Active learning simulation\n\n{reason[0].upper()}{reason[1:]}.\n")
        plot(report, out / "simulation.png")
        return report
    report = simulate(pool, held, kind=model_kind, spec=model_spec, strategies=tuple(strategies), budgets=tuple(budgets),
                      seeds=tuple(seeds), start=start, step=step, goal_fraction=goal_fraction, progress=progress,
                      schema=dataset_schema(dataset_dir))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "simulation.json", report.to_dict())
    with atomic_write(out / "simulation.md") as fh:
        fh.write(f"# Active learning simulation\n\nPool {report.pool} gold units (train + validation), held-out "
                 f"{report.heldout} (the test split); model `{model_kind}`; seeds {report.seeds}; every strategy "
                 f"starts from the same {start} random labels and adds {step} a round. Mean ± std over seeds.\n\n")
        fh.write(markdown_table(report))
        v = report.verdict
        fh.write(f"\nGoal: {v['goal']}. Recommended strategy: **{v.get('recommended', 'random')}**.\n\n")
        for s, r in v.get("strategies", {}).items():
            reach = r["labels_to_reach_random_final"]
            fh.write(f"- {s}: {'reaches' if reach else 'does not reach'} random's final F1 on both tasks"
                     f"{f' at {reach} labels' if reach else ''}{' (meets the goal)' if r['meets_goal'] else ''}\n")
    plot(report, out / "simulation.png")
    return report
