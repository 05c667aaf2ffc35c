"""The dataset card ``labels/README.md`` (datasheet form), regenerated from the data."""
from __future__ import annotations

import functools

from collections import Counter
from pathlib import Path

from vistance.io import read_json, read_jsonl
from vistance.labels.schema import THEMES, TONES


def _load(path):
    return read_json(path, missing_ok=True)


def _count_jsonl(path) -> list[dict]:
    return read_jsonl(path, missing_ok=True)


def corpus_facts(path) -> str:
    """``PATH, N articles (first … last date, K outlets)`` of an ``articles.jsonl``, or that it was absent."""
    if not path or not Path(path).is_file():
        return f"`{path}` (not present where this card was written)"
    rows = read_jsonl(path)
    dates = sorted(r["date"] for r in rows if r.get("date"))
    outlets = {r["source"] for r in rows if r.get("source")}
    span = f"{dates[0][:7]} … {dates[-1][:7]}, " if dates else ""
    return f"`{path}`, {len(rows)} articles ({span}{len(outlets)} outlets)"


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
    lab = params.get("labels", {})
    L: list[str] = []
    versions = Counter(str(r.get("codebook") or "1") for r in gold)
    if versions:
        L.append("- Codebook versions of the gold labels: " + ", ".join(f"v{k} {v}" for k, v in sorted(versions.items()))
                 + " (`codebook` field; `labels/CODEBOOK.md`).")
    recheck = [r for r in _count_jsonl("labels/corrections.jsonl") if str(r.get("flag", "")).startswith("codebook-v2")]
    if recheck:
        corrected = sum(r.get("decision") == "correct" for r in recheck)
        L.append(f"- Codebook-v2 re-check: {len(recheck)} earlier labels re-read under v2, {corrected} corrected "
                 "(`labels/corrections.jsonl`, each with its reason).")
    held = _load((params.get("dataset") or {}).get("crosscorpus_test") or "labels/vietnews_test_articles.json")
    if held and held.get("articles"):
        L.append(f"- Cross-corpus test set (split `test_vietnews`): {len(held['articles'])} whole `{held.get('corpus', '?')}` "
                 f"articles (at least {held.get('min_units', '?')} units), chosen by {held.get('chosen_by', 'seeded random draw')}.")
    rounds = _count_jsonl(Path(lab.get("gold", "labels/gold.jsonl")).parent / "active_rounds.jsonl")
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


def render_dataset_card(params: dict, stats: dict | None, agreement: dict | None) -> str:
    lab = params.get("labels", {})
    gold = _count_jsonl(lab.get("gold", "labels/gold.jsonl"))
    adjud = _count_jsonl(lab.get("adjudication", "labels/adjudication.jsonl"))
    silver_stats = _load(Path(lab.get("silver_dir", "labels/silver")) / "stats.json")
    ingest = _load("data/processed/ingest_report.json")
    annotators = Counter(r["annotator"] for r in gold)
    theme_counts = Counter(t for r in gold for t in r["themes"])
    tone_counts = Counter(r["tone"] for r in gold)
    seed_dir = Path(params.get("corpus", {}).get("seeds", "data/raw"))
    seed_ids = {f.stem for f in seed_dir.glob("*.txt")}
    corpora = Counter(_corpus_of(r["paragraph_id"].rsplit("/p", 1)[0], seed_ids) for r in gold)
    yaml = ["---", "language: [vi]", "license: other", "license_name: labels-mit-text-not-included",
            "task_categories: [text-classification]", "task_ids: [multi-label-classification, sentiment-classification]",
            "pretty_name: vistance gold labels (Vietnamese political-news themes and tone)",
            f"size_categories: [{'1K<n<10K' if len(gold) >= 1000 else 'n<1K'}]",
            "tags: [vietnamese, political-news, diplomacy, stance]", "---", ""]
    L = ["# vistance gold labels", "",
         "Paragraph-level labels of Vietnamese diplomatic and political news: policy **themes** (multi-label) and "
         "**tone** toward the other party (`cooperative` / `contentious` / `neutral`, friction wins). This card is "
         "regenerated by `vistance cards` in `dvc repro`; edit the generator, not this file.", "",
         "## Motivation", "",
         "Computational social scientists ask how Vietnamese coverage of foreign relations shifts between cooperation "
         "and contention, by counterpart and policy field. Models for that need paragraph-level gold labels judged "
         "against one codebook (`labels/CODEBOOK.md`), with measured agreement.", "",
         "## Composition", "",
         f"- **{len(gold)} gold paragraphs** in `labels/gold.jsonl` ({', '.join(f'{k}: {v}' for k, v in sorted(corpora.items()))}).",
         "- Each record: `paragraph_id, text_sha1, themes, tone, annotator, annotated_at` (+ optional `note`). "
         "The text is **not** included: it is re-created by `vistance ingest` from the source corpora, and `text_sha1` "
         "proves it is the text that was judged (a changed text makes the label *stale* and `vistance labels check` fails).", "",
         "| theme | gold paragraphs |", "|---|---|"]
    L += [f"| `{t}` | {theme_counts.get(t, 0)} |" for t in THEMES]
    L += ["", "| tone | gold paragraphs |", "|---|---|"]
    L += [f"| `{t}` | {tone_counts.get(t, 0)} |" for t in TONES]
    if stats:
        L += ["", "### Splits (article-grouped, seeded; no article in two splits)", "",
              "| split | paragraphs | articles | " + " | ".join(TONES) + " |", "|---|---|---|" + "---|" * len(TONES)]
        for s, v in stats["splits"].items():
            L.append(f"| {s} | {v['paragraphs']} | {v['articles']} | " + " | ".join(str(v['tone'][t]) for t in TONES) + " |")
        L += corpus_split_lines(stats)
        j = stats.get("join", {})
        if j.get("missing"):
            L.append(f"\n{j['missing']} gold label(s) were not joined in this run: their paragraphs are in a corpus "
                     "that was not present on the machine that built the dataset.")
    L += ["", "## Collection", "",
          f"- `seeds`: the {len(seed_ids)} seed article(s) bundled in `{seed_dir}/`.",
          f"- `news-2024`: {corpus_facts(params.get('corpus', {}).get('news2024'))}, "
          "collected from a public repository of Google-Trends-linked news (`vistance corpus fetch news-2024` "
          "rebuilds it from the pinned upstream archive, hash-verified). Paragraphs to annotate were **sampled** "
          "(not labelled) by `vistance annotate export`: whole articles ranked by foreign-affairs cue density, plus "
          "random top-ups for rare themes (`labels/sampling.py`). Keywords decided what was read, never the label.",
          f"- `vietnews-fa`: {corpus_facts(params.get('corpus', {}).get('vietnews'))}; its unit is a window of up to "
          f"{params.get('corpus', {}).get('vietnews_sentence_window', 3)} consecutive sentences (the corpus has no paragraphs).",
          ]
    L += provenance_lines(params, gold)
    if ingest:
        L.append(f"- Cleaning (`vistance ingest`) kept {ingest['paragraphs']} paragraphs and dropped: "
                 + ", ".join(f"{k} {v}" for k, v in ingest["dropped"].items()) + ".")
    L += ["", "## Annotation process", "",
          "Every gold paragraph was read and judged against `labels/CODEBOOK.md` by an annotator; no keyword rule or "
          "trained model produced a gold label. The annotators were independent AI annotation agents, each given the "
          "codebook and a batch of paragraphs (whole articles, for context), instructed to judge each paragraph "
          "themselves and forbidden to use programs that assign labels; a second agent coded a random subset blind, "
          "and a third adjudicated disagreements. Treat the labels accordingly: consistent with the codebook, "
          "not a substitute for expert human coders on contested cases.", "",
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
    L += ["", "## Known noise", "",
          "- Some non-paragraphs survive cleaning (sub-headings with final punctuation, merged teaser widgets); annotators "
          "marked them with `note: \"not a paragraph\"` and they carry `other`/`neutral`.",
          "- Hard boundaries: diplomatic appeals about the sea (rule 6) vs implied tension (rule 7); rivalry wording "
          "without a reported dispute; domestic politics with a foreign angle; passing mentions of a theme.",
          "- The news-2024 sample over-represents foreign-affairs articles by design; label shares are not corpus shares."]
    if silver_stats:
        L += ["", "## Silver labels (kept apart)", "",
              f"`labels/silver/` holds labels from keyword labelling functions applied to {silver_stats.get('units', '?')} "
              "units of `vietnews-fa`. They are never mixed into gold or evaluation. Measured against gold:", "",
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


def write_dataset_card(params: dict, stats_path, agreement_path, out) -> Path:
    text = render_dataset_card(params, _load(stats_path), _load(agreement_path))
    from vistance.io import atomic_write

    out = Path(out)
    with atomic_write(out) as fh:
        fh.write(text)
    return out


def _corpus_of(article_id: str, seed_ids: set[str]) -> str:
    """Which collection an article id belongs to: the seeds, vietnews-fa (its committed manifest) or news-2024."""
    if article_id in seed_ids:
        return "seeds"
    return "vietnews-fa" if article_id in _vietnews_ids() else "news-2024"


@functools.lru_cache(maxsize=1)
def _vietnews_ids() -> frozenset:
    from vistance.corpus.fetch import load_manifest

    return frozenset(a["id"] for a in load_manifest("vietnews-fa")["articles"])
