"""Hugging Face model cards written from what actually ran (``ModelCardData`` + ``EvalResult``)."""
from __future__ import annotations

import json
from pathlib import Path

from vistance.labels.schema import LabelSchema


def _checkpoint_note(checkpoint: str) -> str:
    """What the checkpoint a model fine-tunes or embeds from is, from its recorded provenance."""
    if "vinai/phobert" in checkpoint:
        return f"Fine-tuned from `{checkpoint}` (MIT licence; note that `vinai/phobert-base-v2` is AGPL-3.0)."
    folder = Path(checkpoint)
    if not folder.is_dir():
        return f"Built on `{checkpoint}`."
    from vistance.checkpoints.e5 import checkpoint_provenance

    prov = checkpoint_provenance(folder)
    if prov.get("source") == "vistance":
        stats = folder / "pretrain_stats.json"
        pretrained = ""
        if stats.is_file():
            st = json.loads(stats.read_text(encoding="utf-8"))
            pretrained = (f" It was pretrained here with masked-LM for {st.get('steps', '?')} steps "
                          f"({st.get('seconds', '?')} s on CPU).")
        return (f"Fine-tuned from the local checkpoint `{checkpoint}`, a **small RoBERTa built and trained in this "
                f"project**, not the published PhoBERT weights (the Hub is unreachable where this ran).{pretrained} "
                "Numbers here say nothing about what real `vinai/phobert-base` would reach; set `model_name_or_path` "
                "to real weights to find out.")
    licence = f" Licence of the checkpoint: {prov['license']}." if prov.get("license") else ""
    return f"Built on the local checkpoint `{checkpoint}`: {prov.get('description') or prov['name']}.{licence}"


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


def rare_themes_sentence(per_theme: dict, schema: LabelSchema, min_support: int = 20) -> str:
    """The themes whose test support is too small for a precise F1, from the metrics that ran."""
    rare = [t for t in schema.theme_names if t in per_theme and per_theme[t].get("support", 0) < min_support]
    if not rare:
        return f"Every theme has at least {min_support} test paragraphs; per-theme F1 still carries the CIs' uncertainty."
    return ("Themes with fewer than " f"{min_support} test paragraphs ("
            + ", ".join(f"`{t}` {per_theme[t].get('support', 0)}" for t in rare)
            + ") have imprecise F1.")


def _split_text(split: str, corpora=None) -> str:
    """What a generalisation split of metrics/<name>.json is, in words (from ``corpora``; None: the defaults)."""
    from vistance.corpus.registry import split_descriptions

    if split.startswith("heldout_source_"):
        return f"held-out outlet `{split[len('heldout_source_'):]}` (one re-fit that saw none of the held-out outlets)"
    return split_descriptions(corpora).get(split, split)


def generalisation_rows(metrics: dict, corpora=None) -> list[tuple[str, dict]]:
    """``(split, summary)`` of every split on news the model was not trained on, cross-corpus first."""
    from vistance.corpus.registry import cross_corpus_tests, key

    cross = tuple(f"test_{key(e)}" for e in cross_corpus_tests(corpora))
    rows = {**(metrics.get("generalisation") or {}), **(metrics.get("cross_corpus") or {})}
    return sorted(((k, v) for k, v in rows.items() if isinstance(v, dict) and "tone_macro_f1" in v),
                  key=lambda kv: (not (cross and kv[0].endswith(cross)), kv[0]))


def generalisation_lines(metrics: dict) -> list[str]:
    """The card's first results: the generalisation score and each split (with CIs when recorded)."""
    rows = generalisation_rows(metrics)
    score = metrics.get("generalisation_score") or {}
    if not rows:
        skipped = metrics.get("skipped")
        return (["## Generalisation", "", f"Not measured here ({skipped})." if skipped else
                 "Not measured here (no held-out outlet or cross-corpus test where this ran).", ""])

    def cell(v, m):
        ci = (v.get("ci") or {}).get(m)
        return f"{v[m]:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")

    L = ["## Generalisation (news the model was not trained on)", ""]
    seeded = metrics.get("generalisation_seeds")
    if seeded:
        sc = seeded["score"]
        L += [f"Generalisation score (mean of held-out outlets and the cross-corpus test; what `best` is chosen by), "
              f"mean ± sd over {len(seeded['seeds'])} re-fits that differ only in the seed ({', '.join(map(str, seeded['seeds']))}): "
              f"tone macro-F1 **{sc['tone_macro_f1']['mean']:.3f} ± {sc['tone_macro_f1']['std']:.3f}**, themes sample-F1 "
              f"**{sc['themes_sample_f1']['mean']:.3f} ± {sc['themes_sample_f1']['std']:.3f}**. The rows below are the "
              "re-fit with the pipeline's seed.", ""]
    elif score.get("tone_macro_f1") is not None:
        L += [f"Generalisation score (mean of held-out outlets and the cross-corpus test; what `best` is chosen by): "
              f"tone macro-F1 **{score['tone_macro_f1']:.3f}**, themes sample-F1 **{score['themes_sample_f1']:.3f}**.", ""]
    L += ["| split | train | test | tone macro-F1 | themes sample-F1 |", "|---|---|---|---|---|"]
    for split, v in rows:
        L.append(f"| {_split_text(split)} | {v.get('train', '?')} | {v.get('test', '?')} | {cell(v, 'tone_macro_f1')} "
                 f"| {cell(v, 'themes_sample_f1')} |")
    return L + [""]


def _base_model(checkpoint: str | None) -> str | None:
    """The Hub id a model was built on: the checkpoint itself, or what a local folder records."""
    if not checkpoint:
        return None
    folder = Path(checkpoint)
    if folder.is_dir():
        from vistance.checkpoints.e5 import checkpoint_provenance

        original = checkpoint_provenance(folder).get("original_model")
        return original if original and "/" in str(original) and not Path(str(original)).exists() else None
    return checkpoint if "/" in checkpoint else None


OPENVINO_TEXT = ("OpenVINO, bf16 where the CPU has it, float32 otherwise (converted from the saved weights when the "
                 "model loads; nothing extra stored)")


def _inference_text(inference, bf16, measured: dict | None = None) -> str:
    if measured:
        ag = measured["agreement"]
        worst = min((v, k.split(":", 1)[1]) for k, v in ag.items() if k.startswith("theme:"))
        path = {"onnx": "ONNX Runtime float32 (exported from the saved weights when the model loads; nothing extra stored)",
                "openvino": OPENVINO_TEXT}.get(inference, f"one {inference} pass of the full encoder per window")
        if measured.get("precision"):
            path += f" — {measured['precision']} on the machine that ran this evaluation"
        return (f"{path}. On the {measured['units']} units of `{measured['split']}` it took the same decision as PyTorch "
                f"{measured['reference']} for {ag['tone']:.1%} of tones and {ag['themes_all']:.1%} of theme sets (lowest "
                f"single theme: {worst[1]} {worst[0]:.1%}); benchmarks/bench_encoder.py measures its speed")
    if inference == "onnx":
        return "ONNX Runtime float32 (exported from the saved weights when the model loads; nothing extra stored)"
    if inference == "openvino":
        return OPENVINO_TEXT
    if inference in ("bf16", "int8"):
        return (f"one {inference} pass of the full encoder per window (benchmarks/bench_encoder.py measures its speed "
                "and decision agreement with float32)")
    if inference == "float32":
        return "PyTorch float32 on the full encoder"
    return ("the frozen lower layers, then the trained top layers" + (" under bf16 autocast" if bf16 else "")
            + " (texts seen in training read the cache)")


def training_recipe_lines(train_info: dict, metrics: dict) -> list[str]:
    """What a fine-tuned model's run was: frozen layers, budget, epochs, precision, seeds, inference path."""
    st = train_info.get("training_stats") or {}
    if not st.get("recipe"):
        return []
    p = train_info.get("params") or {}
    L = ["", "### Training recipe", "",
         f"- Embeddings and the bottom {st['freeze_layers']} encoder layers frozen as pretrained; their outputs are "
         f"computed once per unit and cached; the top {st['trainable_layers']} layers and both heads trained "
         f"(encoder lr {p.get('learning_rate')}, heads lr {p.get('head_learning_rate') or p.get('learning_rate')}, "
         f"layer decay {p.get('layer_decay', 1.0)}, batch {p.get('batch_size')}, length-sorted batches).",
         f"- Budget: at most {p.get('epochs')} epochs, early stopping after {p.get('early_stopping_patience')} "
         f"without improvement on the validation split; ran {st.get('epochs_run')}, kept epoch {st.get('best_epoch')}. "
         "Theme thresholds tuned on the validation split.",
         f"- {st.get('n_train_windows')} training windows; caching took {st.get('cache_seconds')} s, training "
         f"{st.get('train_seconds')} s ({st.get('train_windows_per_second')} windows/s) in {st.get('precision')} "
         f"on {st.get('device')}.",
         f"- Inference (`predict`, `analyze`): {_inference_text(p.get('inference'), p.get('bf16'), metrics.get('inference'))}."]
    gs = metrics.get("generalisation_seeds")
    if gs:
        sc = gs["score"]
        L.append(f"- Seeds {gs['seeds']} of the held-out re-fit (same data, only the model's seed differs): "
                 f"generalisation score tone {sc['tone_macro_f1']['mean']:.3f} ± {sc['tone_macro_f1']['std']:.3f}, "
                 f"themes {sc['themes_sample_f1']['mean']:.3f} ± {sc['themes_sample_f1']['std']:.3f} (mean ± sd).")
    sv = metrics.get("seed_variance")
    if sv:
        L.append(f"- Seeds {sv.get('seeds')}: in-sample test tone macro-F1 {sv['tone_macro_f1']['mean']:.3f} ± "
                 f"{sv['tone_macro_f1']['std']:.3f}, themes sample-F1 {sv['themes_sample_f1']['mean']:.3f} ± "
                 f"{sv['themes_sample_f1']['std']:.3f} (mean ± sd).")
    return L


def ensemble_lines(train_info: dict) -> list[str]:
    """An ensemble's members and the weights its fit chose (empty for any other kind)."""
    e = (train_info.get("training_stats") or {}).get("ensemble")
    if not e:
        return []
    kinds = e["members"]
    L = ["", "### Ensemble", "", f"- Members: {', '.join(f'{i}: `{k}`' for i, k in enumerate(kinds))} "
         "(each fitted on the same training split; hyper-parameters below)."]
    tw = e.get("task_weights")
    if tw:
        grid = ", ".join(f"{g:g}" for g in e.get("weight_grid") or [])
        L.append(f"- Probabilities mixed per task as w × member 0 + (1 − w) × member 1, w chosen on the validation "
                 f"split from {{{grid}}} (tone by macro-F1, themes by sample-F1): **tone w = {tw['tone']:g}, "
                 f"themes w = {tw['themes']:g}**. Theme thresholds tuned on the same validation rows.")
    else:
        ws = ", ".join(f"{w:.2f}" for w in e.get("weights") or [])
        L.append(f"- Fixed weights (normalised) {ws}; theme thresholds tuned on article-grouped out-of-fold "
                 "scores of the training split.")
    return L


def _tone_rule(schema: LabelSchema) -> str:
    """``"; friction wins"`` when the codebook orders its tones (the first tone present decides)."""
    return "; friction wins" if schema.precedence else ""


def training_time_text(train_info: dict) -> str:
    """How long training took; a fit read back from the fit cache states the time of the run that made it."""
    st = train_info.get("training_stats") or {}
    if st.get("fit_cache") == "reused":
        return (f"Training took {st.get('seconds', '?')} s when this fit ran; the pipeline run that wrote this card "
                f"read it back from the fit cache in {train_info.get('train_seconds', '?')} s.")
    text = f"Training took {train_info.get('train_seconds', '?')} s on the machine that ran the pipeline"
    back = (st.get("ensemble") or {}).get("members_read_back") or []
    if back:
        text += ", with " + "; ".join(f"member {b['member']}'s (`{b['kind']}`) fit read back from the fit cache "
                                      f"(it took {b['seconds']} s when it ran)" for b in back)
    return text + "."


def render_model_card(name: str, kind: str, spec: dict, metrics: dict, train_info: dict,
                      dataset_stats: dict | None, schema: LabelSchema, *, gold: str = "labels/gold.jsonl",
                      dataset_card: str = "labels/README.md") -> str:
    """The card of model ``name`` (``schema``: the label set it learned, in column order; ``gold`` and
    ``dataset_card``: the files the card points to)."""
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
    for split, v in generalisation_rows(metrics):
        for key, label in [("tone_macro_f1", "tone macro-F1"), ("themes_sample_f1", "themes sample-F1")]:
            evals.append(EvalResult(task_type="text-classification", task_name="Vietnamese political-news theme and tone",
                                    dataset_type="vistance-gold", dataset_name=f"vistance gold: {_split_text(split)}",
                                    dataset_split=split, metric_type="f1", metric_name=label,
                                    metric_value=round(float(v[key]), 4)))
    data = ModelCardData(
        language="vi", license="mit", library_name=capabilities.library_name,
        tags=["text-classification", "vietnamese", "political-news", "stance", "vistance", kind],
        pipeline_tag="text-classification", model_name=f"vistance-{name}", eval_results=evals,
        metrics=["f1", "accuracy"],
        base_model=_base_model(checkpoint),
    )
    per_theme = metrics["themes"]["per_label"]
    per_tone = metrics["tone"]["per_class"]
    L = [f"# vistance-{name}", "",
         f"Classifies a paragraph of Vietnamese political/diplomatic news into policy **themes** (multi-label: "
         f"{', '.join(f'`{t}`' for t in schema.theme_names)}) and a **tone** "
         f"({', '.join(f'`{t}`' for t in schema.tone_names)}{_tone_rule(schema)}). "
         f"This model is {capabilities.card_text}.", ""]
    note = _checkpoint_note(checkpoint) if checkpoint else ""
    if note:
        L += ["## Checkpoint", "", note, ""]
    L += generalisation_lines(metrics)
    L += ["## Results (test split)", "",
          f"{metrics['test_paragraphs']} paragraphs from {metrics['test_articles']} articles, grouped by article. "
          "95 % confidence intervals from a bootstrap over articles.", "",
          "| metric | value | 95 % CI |", "|---|---|---|"]
    for key in ("tone_macro_f1", "tone_accuracy", "themes_sample_f1", "themes_micro_f1", "themes_macro_f1"):
        L.append(f"| {key} | {h[key]['value']:.3f} | [{h[key]['low']:.3f}, {h[key]['high']:.3f}] |")
    L += ["", "| theme | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t in schema.theme_names:
        v = per_theme[t]
        L.append(f"| {t} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} | {v['support']} |")
    L += ["", "| tone | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for t in schema.tone_names:
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
    L += training_recipe_lines(train_info, metrics)
    L += ensemble_lines(train_info)
    L += ["", "## Training data", ""]
    if dataset_stats:
        tr = dataset_stats["splits"].get("train", {})
        L.append(f"Gold paragraphs of `{gold}` (see the dataset card `{dataset_card}`): train split "
                 f"{tr.get('paragraphs')} paragraphs from {tr.get('articles')} articles.")
    L.append(f"{training_time_text(train_info)} Hyper-parameters: `{json.dumps(spec, ensure_ascii=False, sort_keys=True)}`.")
    L += ["", "## Intended use", "",
          "Research on the framing of foreign relations in Vietnamese-language news: aggregate theme and tone shares "
          "over many paragraphs (by counterpart, outlet, period). Read predictions as noisy measurements with the error "
          "rates above; validate on a sample of your own corpus before drawing conclusions.", "",
          "## Limitations", "",
          f"- {training_data_sentence(dataset_stats)} Other outlets, years and genres (opinion, social media) "
          "will score lower — see the held-out-source rows.",
          "- Tone is about relations between parties" + (" and follows the codebook's \"friction wins\" rule"
                                                          if schema.precedence else "")
          + "; it is not sentiment and not the writer's attitude.",
          f"- {rare_themes_sentence(per_theme, schema)}",
          "- Not for decisions about individuals or for content moderation.", "",
          "## How to use", "", "```bash",
          f"vistance predict --model experiments/models/{name} --input paragraphs.jsonl --output predictions.jsonl",
          "```", "", "Each input line is `{\"id\": ..., \"text\": ...}` (raw, unsegmented Vietnamese).", ""]
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(L))
    return str(card)


def write_model_cards(experiments, models: dict[str, tuple[str, dict]], schema: LabelSchema,
                      dataset_stats: dict | None, **paths) -> list[Path]:
    """One card per evaluated model under ``<experiments>/cards/<name>/README.md``.

    ``models``: ``{name: (kind, constructor kwargs)}`` of the models to describe (those without
    ``metrics/<name>.json`` are skipped); ``schema``: their label set (the dataset's);
    ``dataset_stats``: ``data/dataset_stats.json``'s content, if any; ``paths``: ``gold`` and
    ``dataset_card`` of :func:`render_model_card`.
    """
    exp = Path(experiments)
    out = []
    for name, (kind, spec) in models.items():
        mpath = exp / "metrics" / f"{name}.json"
        if not mpath.exists():
            continue
        metrics = json.loads(mpath.read_text(encoding="utf-8"))
        trp = exp / "models" / f"{name}.train.json"
        train_info = json.loads(trp.read_text()) if trp.exists() else {}
        text = render_model_card(name, kind, spec, metrics, train_info, dataset_stats, schema, **paths)
        p = exp / "cards" / name / "README.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out
