"""The dataset card ``labels/README.md`` (datasheet form), regenerated from the data."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from vistance.corpus.registry import corpora_with_role, corpus_of, cross_corpus_split, report_path
from vistance.io import read_json, read_jsonl
from vistance.labels.schema import LabelSchema, default_schema


def _labels(params: dict):
    """The ``labels`` section of ``params``, typed (its defaults are :class:`vistance.config.LabelsConfig`'s)."""
    from vistance.config import LabelsConfig

    return LabelsConfig.model_validate(params.get("labels") or {})


def _guide(lab) -> str:
    """The codebook document the cards cite: its prose (``labels.guide``) if present, else the codebook file."""
    return lab.guide if Path(lab.guide).is_file() else (lab.codebook or "the packaged default codebook")


def _process_text(lab) -> str:
    """The "Annotation process" paragraph: the project's own account (``labels.process``), never a guess."""
    text = Path(lab.process).read_text(encoding="utf-8").strip() if Path(lab.process).is_file() else ""
    return text or (f"How the gold labels were made is not described here: `{lab.process}` (params.yaml "
                    "`labels.process`) should say who judged them, following which codebook, and how they were checked.")


def _load(path):
    return read_json(path, missing_ok=True) if path else None


def _count_jsonl(path) -> list[dict]:
    return read_jsonl(path, missing_ok=True)


def corpus_facts(path) -> str:
    """``PATH, N articles (first … last date, K outlets)`` of an ``articles.jsonl``, or that it was absent
    (a corpus whose articles carry no ``source`` says "no outlet field", not "0 outlets")."""
    if not path or not Path(path).is_file():
        return f"`{path}` (not present where this card was written)"
    rows = read_jsonl(path)
    dates = sorted(r["date"] for r in rows if r.get("date"))
    outlets = {r["source"] for r in rows if r.get("source")}
    span = f"{dates[0][:7]} … {dates[-1][:7]}, " if dates else ""
    return f"`{path}`, {len(rows)} articles ({span}{f'{len(outlets)} outlets' if outlets else 'no outlet field'})"


def _corpora(params: dict) -> list:
    """The ``corpora`` entries of ``params`` (the defaults when it has none)."""
    from vistance.config import CorpusEntry, _corpora_entries
    from vistance.corpus.registry import default_corpora

    given = params.get("corpora")
    return [CorpusEntry.model_validate(e) for e in _corpora_entries(given)] if given else default_corpora()


def collection_lines(corpora) -> list[str]:
    """One line per corpus: its ``card`` template (``{facts}``, ``{articles}``, ``{source}``, ``{window}``,
    ``{name}``) filled in, or its facts."""
    from vistance.corpus import registry

    L = []
    for e in corpora:
        path = registry.articles_path(e)
        facts = lambda p=path: corpus_facts(p)  # noqa: E731  (read only when the template asks)
        fields = {"name": e.name, "source": e.source, "window": registry.sentence_window(e)}
        template = e.card or "{facts}"
        if "{facts}" in template:
            fields["facts"] = facts()
        if "{articles}" in template:
            fields["articles"] = len(registry._article_ids(e.name, e.source))
        L.append(f"- `{e.name}`: " + template.format(**fields))
    return L


def codebook_agreement_lines(agreement: dict) -> list[str]:
    """Agreement of each double-coded set, by codebook version (``agreement["by_codebook"]``)."""
    sets = {k: v for k, v in (agreement.get("by_codebook") or {}).items() if v.get("n")}
    if len(sets) < 2:
        return []
    L = ["", "By codebook version (each set double-coded under that version):", "",
         "| codebook | paragraphs | tone α | tone κ | themes mean α | themes exact set |", "|---|---|---|---|---|---|"]
    for version, r in sorted(sets.items()):
        L.append(f"| v{version} | {r['n']} | {r['tone']['alpha']:.3f} | {r['tone']['kappa']:.3f} | "
                 f"{r['themes']['mean_alpha']:.3f} | {r['themes']['exact_set_agreement']:.3f} |")
    return L


def provenance_lines(params: dict, gold: list[dict]) -> list[str]:
    """Codebook versions, the v2 re-check, the cross-corpus test set and the active-learning rounds, from the files."""
    lab = _labels(params)
    L: list[str] = []
    versions = Counter(str(r.get("codebook") or "1") for r in gold)
    if versions:
        L.append("- Codebook versions of the gold labels: " + ", ".join(f"v{k} {v}" for k, v in sorted(versions.items()))
                 + f" (`codebook` field; `{_guide(lab)}`).")
    recheck = [r for r in _count_jsonl("labels/corrections.jsonl") if str(r.get("flag", "")).startswith("codebook-v2")]
    if recheck:
        corrected = sum(r.get("decision") == "correct" for r in recheck)
        L.append(f"- Codebook-v2 re-check: {len(recheck)} earlier labels re-read under v2, {corrected} corrected "
                 "(`labels/corrections.jsonl`, each with its reason).")
    held = _load((params.get("dataset") or {}).get("crosscorpus_test"))
    split = cross_corpus_split(_corpora(params))
    if held and held.get("articles") and split:
        L.append(f"- Cross-corpus test set (split `{split}`): {len(held['articles'])} whole `{held.get('corpus', '?')}` "
                 f"articles (at least {held.get('min_units', '?')} units), chosen by {held.get('chosen_by', 'seeded random draw')}.")
    rounds = _count_jsonl(Path(lab.gold).parent / "active_rounds.jsonl")
    if rounds:
        L.append(f"- Active-learning rounds: {len(rounds)} (" + "; ".join(
            f"round {r.get('round')}: {r.get('selected')} units by `{r.get('strategy')}` from a pool of {r.get('pool')}"
            for r in rounds) + "; `labels/active_rounds.jsonl`).")
    if Path("experiments/active_learning/simulation.md").is_file():
        L.append("- Does choosing what to annotate beat random choice here? `experiments/active_learning/simulation.md`.")
    return L


def corpus_split_lines(stats: dict | None) -> list[str]:
    """Paragraphs per corpus in each split (``dataset_stats``'s ``corpora``), when recorded."""
    splits = (stats or {}).get("splits") or {}
    corpora = sorted({c for v in splits.values() for c in (v.get("corpora") or {})})
    if not corpora:
        return []
    L = ["", "| split | " + " | ".join(corpora) + " |", "|---|" + "---|" * len(corpora)]
    for s, v in splits.items():
        L.append(f"| {s} | " + " | ".join(str((v.get("corpora") or {}).get(c, 0)) for c in corpora) + " |")
    return L


def render_dataset_card(params: dict, stats: dict | None, agreement: dict | None,
                        schema: LabelSchema | None = None) -> str:
    """``labels/README.md`` from the files that ran; ``schema``: the dataset's codebook (``None``: the
    packaged default)."""
    schema = schema or default_schema()
    themes, tones = schema.theme_names, schema.tone_names
    lab = _labels(params)
    gold = _count_jsonl(lab.gold)
    adjud = _count_jsonl(lab.adjudication)
    silver_stats = _load(Path(lab.silver_dir) / "stats.json")
    corpora_list = _corpora(params)
    training = corpora_with_role(corpora_list, "training") or corpora_list
    ingest = _load(report_path(training[0])) if training else None
    annotators = Counter(r["annotator"] for r in gold)
    theme_counts = Counter(t for r in gold for t in r["themes"])
    tone_counts = Counter(r["tone"] for r in gold)
    corpora = Counter(corpus_of(r["paragraph_id"].rsplit("/p", 1)[0], corpora_list) for r in gold)
    yaml = ["---", "language: [vi]", "license: other", "license_name: labels-mit-text-not-included",
            "task_categories: [text-classification]", "task_ids: [multi-label-classification, sentiment-classification]",
            "pretty_name: vistance gold labels (Vietnamese political-news themes and tone)",
            f"size_categories: [{'1K<n<10K' if len(gold) >= 1000 else 'n<1K'}]",
            "tags: [vietnamese, political-news, diplomacy, stance]", "---", ""]
    L = ["# vistance gold labels", "",
         "Paragraph-level labels of Vietnamese diplomatic and political news: policy **themes** (multi-label) and "
         f"**tone** toward the other party ({' / '.join(f'`{t}`' for t in tones)}"
         f"{', friction wins' if schema.precedence else ''}). This card is "
         "regenerated by `vistance cards` in `dvc repro`; edit the generator, not this file.", "",
         "## Motivation", "",
         "Computational social scientists ask how Vietnamese coverage of foreign relations shifts between cooperation "
         "and contention, by counterpart and policy field. Models for that need paragraph-level gold labels judged "
         f"against one codebook (`{_guide(lab)}`), with measured agreement.", "",
         "## Composition", "",
         f"- **{len(gold)} gold paragraphs** in `{lab.gold}` ({', '.join(f'{k}: {v}' for k, v in sorted(corpora.items()))}).",
         "- Each record: `paragraph_id, text_sha1, themes, tone, annotator, annotated_at` (+ optional `note`). "
         "The text is **not** included: it is re-created by `vistance ingest` from the source corpora, and `text_sha1` "
         "proves it is the text that was judged (a changed text makes the label *stale* and `vistance labels check` fails).", "",
         "| theme | gold paragraphs |", "|---|---|"]
    L += [f"| `{t}` | {theme_counts.get(t, 0)} |" for t in themes]
    L += ["", "| tone | gold paragraphs |", "|---|---|"]
    L += [f"| `{t}` | {tone_counts.get(t, 0)} |" for t in tones]
    if stats:
        L += ["", "### Splits (article-grouped, seeded; no article in two splits)", "",
              "| split | paragraphs | articles | " + " | ".join(tones) + " |", "|---|---|---|" + "---|" * len(tones)]
        for s, v in stats["splits"].items():
            L.append(f"| {s} | {v['paragraphs']} | {v['articles']} | " + " | ".join(str(v['tone'][t]) for t in tones) + " |")
        L += corpus_split_lines(stats)
        j = stats.get("join", {})
        if j.get("missing"):
            L.append(f"\n{j['missing']} gold label(s) were not joined in this run: their paragraphs are in a corpus "
                     "that was not present on the machine that built the dataset.")
    L += ["", "## Collection", ""] + collection_lines(corpora_list)
    L += provenance_lines(params, gold)
    if ingest:
        L.append(f"- Cleaning (`vistance ingest`) kept {ingest['paragraphs']} paragraphs and dropped: "
                 + ", ".join(f"{k} {v}" for k, v in ingest["dropped"].items()) + ".")
    L += ["", "## Annotation process", "",
          _process_text(lab), "",
          "| annotator | gold paragraphs (after adjudication) |", "|---|---|"]
    L += [f"| {a} | {n} |" for a, n in sorted(annotators.items())]
    if agreement and agreement.get("n"):
        t, th = agreement["tone"], agreement["themes"]
        L += ["", "### Agreement (double-coded subset, before adjudication)", "",
              f"{agreement['n']} paragraphs were coded twice, independently (second coder blind to the first).", "",
              "| measure | value |", "|---|---|",
              f"| tone: Krippendorff's α (nominal) | {t['alpha']:.3f} |", f"| tone: Cohen's κ | {t['kappa']:.3f} |",
              f"| tone: raw agreement | {t['agreement']:.3f} |",
              f"| themes: mean α over labels (each label binary) | {th['mean_alpha']:.3f} |",
              f"| themes: mean κ | {th['mean_kappa']:.3f} |", f"| themes: exact same set | {th['exact_set_agreement']:.3f} |",
              "", "| theme | α | κ | support (coder 1 / coder 2) |", "|---|---|---|---|"]
        for name, v in th["per_label"].items():
            L.append(f"| `{name}` | {v['alpha']:.3f} | {v['kappa']:.3f} | {v['support_first']} / {v['support_second']} |")
        from vistance.labels.annotation_io import suggestion_agreement_lines

        L += suggestion_agreement_lines(agreement)  # with / without model pre-annotations (labelstudio helper)
        L += codebook_agreement_lines(agreement)
    if adjud:
        chosen = Counter(r.get("chosen", "?") for r in adjud)
        L += ["", f"{len(adjud)} disagreements were adjudicated by a third reader who saw both codings and the codebook "
              f"(`labels/adjudication.jsonl`, each with its reason): " + ", ".join(f"{k} {v}" for k, v in sorted(chosen.items())) + "."]
    fallback = "/".join(f"`{t}`" for t in (schema.catch_all, schema.no_signal) if t)   # catch-all theme / no-signal tone
    L += ["", "## Known noise", "",
          "- Some non-paragraphs survive cleaning (sub-headings with final punctuation, merged teaser widgets); annotators "
          "marked them with `note: \"not a paragraph\"`" + (f" and they carry {fallback}." if fallback else "."),
          "- Hard boundaries: diplomatic appeals about the sea (rule 6) vs implied tension (rule 7); rivalry wording "
          "without a reported dispute; domestic politics with a foreign angle; passing mentions of a theme.",
          *(f"- The {e.name} sample over-represents foreign-affairs articles by design; label shares are not corpus "
            "shares." for e in training if e.source == "upstream")]
    if silver_stats:
        L += ["", "## Silver labels (kept apart)", "",
              f"`labels/silver/` holds labels from keyword labelling functions applied to {silver_stats.get('units', '?')} "
              f"units of `{silver_stats.get('corpus', '?')}`. They are never mixed into gold or evaluation. Measured against gold:", "",
              "| label | coverage on gold | precision on gold |", "|---|---|---|"]
        for k, v in silver_stats.get("lf_vs_gold", {}).items():
            L.append(f"| {k} | {v['coverage']:.3f} | {v['precision']:.3f} |")
    L += ["", "## Uses", "",
          "Training and evaluating vistance's models; studying framing of foreign relations. Not for judging individuals.", "",
          "## Licence status", "",
          "The labels (ids, hashes, judgements) are the project's own (MIT). The paragraph **text is not distributed**: "
          "the source corpora state no licence and are used for research only; obtain them yourself and re-create the "
          "text with `vistance ingest`.", ""]
    return "\n".join(yaml + L)


def write_dataset_card(params: dict, stats_path, agreement_path, out, schema: LabelSchema) -> Path:
    """Write the dataset card (``schema``: the dataset's codebook) to ``out``."""
    text = render_dataset_card(params, _load(stats_path), _load(agreement_path), schema)
    from vistance.io import atomic_write

    out = Path(out)
    with atomic_write(out) as fh:
        fh.write(text)
    return out
