"""Matplotlib figures (PNG) for the comparison report (DVC's HTML plots need a CDN)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "vistance", "figure.dpi": 100})
    return plt


def _save(fig, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})


def comparison_bars(results: dict, metrics: list[str], path) -> None:
    """One panel per metric: each model's point estimate with its 95 % bootstrap CI."""
    plt = _plt()
    names = list(results)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 0.5 * len(names) + 1.8), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        vals = [results[n]["headline"][m] for n in names]
        y = np.arange(len(names))
        v = np.array([x["value"] for x in vals])
        lo = v - np.array([x["low"] for x in vals])
        hi = np.array([x["high"] for x in vals]) - v
        ax.barh(y, v, xerr=[lo, hi], color="#4C72B0", alpha=0.85, capsize=3)
        ax.set_yticks(y, names)
        ax.set_xlim(0, 1)
        ax.set_title(m.replace("_", " "))
        ax.invert_yaxis()
    fig.suptitle("Test split, 95 % CI from an article bootstrap")
    _save(fig, path)
    plt.close(fig)


def confusion_matrix_png(cm, labels, title: str, path) -> None:
    plt = _plt()
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(title)
    _save(fig, path)
    plt.close(fig)


def learning_curves_png(curves: dict, metric: str, path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, pts in curves.items():
        if pts:
            ax.plot([p["train_paragraphs"] for p in pts], [p[metric] for p in pts], marker="o", label=name)
    ax.set_xlabel("training paragraphs")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Learning curve (test split)")
    _save(fig, path)
    plt.close(fig)
