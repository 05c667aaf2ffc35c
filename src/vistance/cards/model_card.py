"""Hugging Face model cards written from what actually ran (``ModelCardData`` + ``EvalResult``)."""
from __future__ import annotations

import json
from pathlib import Path

from vistance.labels.schema import THEMES, TONES


def _checkpoint_note(params_spec: dict, model_dir: Path) -> str:
    src = str(params_spec.get("model_name_or_path", ""))
    notice = ""
    for cand in (Path(src) / "README.md", Path(src) / "NOTICE.md", Path(src) / "pretrain_stats.json"):
        if cand.exists() and cand.suffix == ".json":
            st = json.loads(cand.read_text())
            notice += f" It was pretrained here with masked-LM for {st.get('steps', '?')} steps ({st.get('seconds', '?')} s on CPU)."
    if "vinai/phobert" in src:
        return f"Fine-tuned from `{src}` (MIT licence; note that `vinai/phobert-base-v2` is AGPL-3.0)."
    if src:
        return (f"Fine-tuned from the local checkpoint `{src}`, a **small RoBERTa built and trained in this project**, "
                f"not the published PhoBERT weights (the Hub is unreachable where this ran).{notice} Numbers here say "
                "nothing about what real `vinai/phobert-base` would reach; set `model_name_or_path` to real weights to find out.")
    return ""


def training_data_sentence(dataset_stats: dict | None) -> str:
    """What the model was trained on, from ``data/dataset_stats.json`` (not a fixed sentence)."""
    splits = (dataset_stats or {}).get("splits") or {}
    if not splits:
        return "Trained on the gold paragraphs present where the pipeline ran (no dataset statistics were found)."
    n = sum(v.get("paragraphs", 0) for v in splits.values())
    arts = sum(v.get("articles", 0) for v in splits.values())
    sources: dict[str, int] = {}
    for v in splits.values():
        for src, k in (v.get("sources") or {}).items():
            sources[src] = sources.get(src, 0) + k
    top = sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    outlets = (f" from {len(sources)} outlet(s), most from {', '.join(f'{s} ({k})' for s, k in top)}"
               if sources else "")
    return f"Trained and evaluated on {n} gold paragraphs of Vietnamese news in {arts} articles{outlets}."


def rare_themes_sentence(per_theme: dict, min_support: int = 20) -> str:
    """The themes whose test support is too small for a precise F1, from the metrics that ran."""
    rare = [t for t in THEMES if t in per_theme and per_theme[t].get("support", 0) < min_support]
    if not rare:
        return f"Every theme has at least {min_support} test paragraphs; per-theme F1 still carries the CIs' uncertainty."
    return ("Themes with fewer than " f"{min_support} test paragraphs ("
            + ", ".join(f"`{t}` {per_theme[t].get('support', 0)}" for t in rare)
            + ") have imprecise F1.")


def render_model_card(name: str, kind: str, spec: dict, metrics: dict, train_info: dict, dataset_stats: dict | None,
                      model_dir: Path) -> str:
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from vistance.models import model_class

    capabilities = model_class(kind)
    checkpoint = capabilities.checkpoint_of(spec)

    h = metrics["headline"]
    ds_name = "vistance gold paragraphs (article-grouped test split)"
    evals = []
    for key, mtype, label in [("tone_macro_f1", "f1", "tone macro-F1"), ("tone_accuracy", "accuracy", "tone accuracy"),
                              ("themes_sample_f1", "f1", "themes sample-F1"), ("themes_micro_f1", "f1", "themes micro-F1"),
                              ("themes_macro_f1", "f1", "themes macro-F1")]:
        evals.append(EvalResult(task_type="text-classification", task_name="Vietnamese political-news theme and tone",
                                dataset_type="vistance-gold", dataset_name=ds_name, dataset_split="test",
                                metric_type=mtype, metric_name=label, metric_value=round(h[key]["value"], 4),
                                metric_config=f"95% CI [{h[key]['low']:.3f}, {h[key]['high']:.3f}] (article bootstrap)"))
    data = ModelCardData(
        language="vi", license="mit", library_name=capabilities.library_name,
        tags=["text-classification", "vietnamese", "political-news", "stance", "vistance", kind],
        pipeline_tag="text-classification", model_name=f"vistance-{name}", eval_results=evals,
        metrics=["f1", "accuracy"],
        base_model=checkpoint if checkpoint and "vinai/" in checkpoint else None,
    )
    per_theme = metrics["themes"]["per_label"]
    per_tone = metrics["tone"]["per_class"]
    L = [f"# vistance-{name}", "",
         f"Classifies a paragraph of Vietnamese political/diplomatic news into policy **themes** (multi-label: "
         f"{', '.join(f'`{t}`' for t in THEMES)}) and a **tone** ({', '.join(f'`{t}`' for t in TONES)}; friction wins). "
         f"This model is {capabilities.card_text}.", ""]
    note = _checkpoint_note(spec, model_dir) if checkpoint else ""
    if note:
        L += ["## Checkpoint", "", note, ""]
    L += ["## Results (test split)", "",
          f"{metrics['test_paragraphs']} paragraphs from {metrics['test_articles']} articles, grouped by article. "
          "95 % confidence intervals from a bootstrap over articles.", "",
          "| metric | value | 95 % CI |", "|---|---|---|"]
    for key in ("tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1", "themes_macro_f1"):
        L.append(f"| {key} | {h[key]['value']:.3f} | [{h[key]['low']:.3f}, {h[key]['high']:.3f}] |")
    L += ["", "| theme | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t in THEMES:
        v = per_theme[t]
        L.append(f"| {t} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |")
    L += ["", "| tone | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t in TONES:
        v = per_tone[t]
        L.append(f"| {t} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |")
    gen = metrics.get("generalisation") or {}
    if gen or metrics.get("grouped_cv"):
        L += ["", "### Generalisation", "", "| split | tone macro-F1 | themes sample-F1 |", "|---|---|---|"]
        cv = metrics.get("grouped_cv")
        if cv:
            L.append(f"| grouped {cv['folds']}-fold CV (mean ± sd) | {cv['tone_macro_f1']['mean']:.3f} ± {cv['tone_macro_f1']['std']:.3f} | "
                     f"{cv['themes_sample_f1']['mean']:.3f} ± {cv['themes_sample_f1']['std']:.3f} |")
        for s, g in gen.items():
            L.append(f"| {s} (train {g['train']}, test {g['test']}) | {g['tone_macro_f1']:.3f} | {g['themes_sample_f1']:.3f} |")
    L += ["", "## Training data", ""]
    if dataset_stats:
        tr = dataset_stats["splits"].get("train", {})
        L.append(f"Gold paragraphs of `labels/gold.jsonl` (see the dataset card `labels/README.md`): train split "
                 f"{tr.get('paragraphs')} paragraphs from {tr.get('articles')} articles.")
    L.append(f"Training took {train_info.get('train_seconds', '?')} s on the machine that ran the pipeline. "
             f"Hyper-parameters: `{json.dumps(spec, ensure_ascii=False, sort_keys=True)}`.")
    L += ["", "## Intended use", "",
          "Research on the framing of foreign relations in Vietnamese-language news: aggregate theme and tone shares "
          "over many paragraphs (by counterpart, outlet, period). Read predictions as noisy measurements with the error "
          "rates above; validate on a sample of your own corpus before drawing conclusions.", "",
          "## Limitations", "",
          f"- {training_data_sentence(dataset_stats)} Other outlets, years and genres (opinion, social media) "
          "will score lower — see the held-out-source rows.",
          "- Tone is about relations between parties and follows the codebook's \"friction wins\" rule; it is not "
          "sentiment and not the writer's attitude.",
          f"- {rare_themes_sentence(per_theme)}",
          "- Not for decisions about individuals or for content moderation.", "",
          "## How to use", "", "```bash",
          f"vistance predict --model experiments/models/{name} --input paragraphs.jsonl --output predictions.jsonl",
          "```", "", "Each input line is `{\"id\": ..., \"text\": ...}` (raw, unsegmented Vietnamese).", ""]
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(L))
    return str(card)


def write_model_cards(params: dict, experiments="experiments") -> list[Path]:
    """One card per evaluated model under ``experiments/cards/<name>/README.md``."""
    from vistance.config import model_params

    exp = Path(experiments)
    stats_path = Path("data/dataset_stats.json")
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else None
    out = []
    for name in params.get("models", {}):
        mpath = exp / "metrics" / f"{name}.json"
        if not mpath.exists():
            continue
        kind, spec = model_params(params, name)
        metrics = json.loads(mpath.read_text(encoding="utf-8"))
        trp = exp / "models" / f"{name}.train.json"
        train_info = json.loads(trp.read_text()) if trp.exists() else {}
        text = render_model_card(name, kind, spec, metrics, train_info, stats, exp / "models" / name)
        p = exp / "cards" / name / "README.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out
