"""``vistance annotate export|import|export-adjudication``: annotation batches out and back in.

Label Studio specifics (every annotator kept, real names, JSON and JSON_MIN, model
pre-annotations) are described in ``docs/annotation.md``.
"""
from __future__ import annotations

import os
from pathlib import Path

from vistance.cli._common import (OK, PARAMS, PARTIAL, err, label_schema, note, paragraphs_or_none,
                                  refuse_overwriting_inputs, same_file)
from vistance.errors import VistanceError


def _model_predictions(folder):
    """``(texts -> Scores, model_version)`` of a saved model folder (the CLI loads models, labels/ does not)."""
    from vistance.models import load_model
    from vistance.models.folder import read_manifest

    model = load_model(folder)
    kind = read_manifest(Path(folder)).get("kind", "model")
    return model.predict_proba, f"vistance-{kind}:{Path(folder).resolve().name}"


def cmd_annotate_export(a) -> int:
    from vistance.labels.annotation_io import export_batch
    from vistance.labels.sampling import select_for_annotation
    from vistance.labels.store import read_labels

    if a.predictions_from and a.format != "labelstudio":
        err("--predictions-from needs --format labelstudio")
        return 2
    if a.stratify_by and a.strategy != "random":
        err("--stratify-by needs --strategy random (a design-based sample)")
        return 2
    schema = label_schema(a.params)
    paras = paragraphs_or_none(a.paragraphs)
    if a.corpus:
        paras = [p for p in paras if p.corpus == a.corpus]
        if not paras:
            raise VistanceError(f"{a.paragraphs}: no paragraph of corpus {a.corpus!r}")
    design = None
    done = {lab.paragraph_id for f in (a.exclude or []) for lab in read_labels(f, schema=schema)}
    if a.ids:
        wanted = [line.strip() for line in Path(a.ids).read_text(encoding="utf-8").splitlines() if line.strip()]
        by_id = {p.paragraph_id: p for p in paras}
        for w in wanted:
            if w not in by_id:
                err(f"{a.ids}: unknown paragraph id {w!r}")
        chosen = [by_id[w] for w in wanted if w in by_id and w not in done]
    elif a.strategy == "random" and a.stratify_by:
        chosen, design = _stratified_batch(a, paras, done)
    elif a.strategy:
        chosen = _active_batch(a, paras, done, schema)
        if a.strategy == "random":
            design = _random_design(a, paras, done, chosen)
    else:
        from vistance.labels.sampling import rare_strata

        if a.stratum_quota and not rare_strata(schema):
            note("note: the sampling cues name no label of this codebook: no rare-label top-up (--stratum-quota)")
        chosen = select_for_annotation(paras, a.n, seed=a.seed, exclude=done, stratum_quota=a.stratum_quota,
                                       schema=schema)
    predictions = version = None
    if a.predictions_from:
        predictions, version = _model_predictions(a.predictions_from)
    n = export_batch(chosen, a.out, fmt=a.format, predictions=predictions, model_version=version, schema=schema)
    extra = f", with suggestions of {version}" if version else ""
    note(f"exported {n} paragraph(s) to {a.out} ({a.format}{extra})")
    if design is not None:
        from vistance.labels.design import design_path_for, write_design

        path = write_design(design_path_for(a.out), design)
        left = len(design.pool.get("excluded") or [])
        note(f"recorded the design ({design.scheme}, {len(design.sample)} of {design.pool_size} units, seed {a.seed}) in "
             f"{path}: keep it beside the labels; `vistance estimate --design {path}` weights the gold by it"
             + (f". Its pool leaves out {left} unit(s) (--exclude, --exclude-articles): an estimate of the whole "
                "corpus needs a draw with an empty --exclude (or use --pool-only)" if left else ""))
    return OK


def _design_pool(a, paras, done):
    """The units a design-based draw may pick (as ``--strategy random`` does) and the ids it leaves out."""
    from vistance.io import read_json

    excluded_articles = set(read_json(a.exclude_articles)["articles"]) if a.exclude_articles else set()
    pool, seen = [], set()
    for p in paras:
        if p.paragraph_id in seen or p.paragraph_id in done or p.article_id in excluded_articles:
            continue
        seen.add(p.paragraph_id)
        pool.append(p)
    left_out = sorted({p.paragraph_id for p in paras} - {p.paragraph_id for p in pool})
    corpora = sorted({p.corpus for p in paras})
    return pool, left_out, (corpora[0] if len(corpora) == 1 else None)


def _random_design(a, paras, done, chosen):
    """The design of a ``--strategy random`` batch: a uniform draw without replacement from the pool."""
    from vistance.labels.design import SamplingDesign, ids_sha1

    pool, left_out, corpus = _design_pool(a, paras, done)
    n, N = len(chosen), len(pool)
    if corpus is None:
        note("the pool mixes corpora: the design names none (draw per corpus with --corpus NAME to estimate from it)")
    return SamplingDesign(
        name=Path(a.out).stem, unit="paragraph", scheme="srswor", corpus=corpus, seed=a.seed,
        drawn_by=f"vistance annotate export --strategy random --n {a.n} --seed {a.seed}",
        pool={"file": str(a.paragraphs), "n_units": N, "n_clusters": N,
              "ids_sha1": ids_sha1(p.paragraph_id for p in pool), "excluded": left_out},
        strata={"all": {"N": N, "n": n}},
        sample=[{"id": p.paragraph_id, "pi": n / N, "stratum": "all"} for p in chosen]).check(str(a.out))


def _stratified_batch(a, paras, done):
    """``--strategy random --stratify-by tone|counterpart``: a stratified random draw (equal allocation)."""
    from vistance.labels.design import draw_sample

    pool, left_out, corpus = _design_pool(a, paras, done)
    if a.stratify_by == "tone":
        if not a.model:
            raise VistanceError("--stratify-by tone needs --model (its predicted tone defines the strata)")
        from vistance.models import load_model

        tones = load_model(a.model).predict_proba([p.text for p in pool]).tone_labels()
        strata = {p.paragraph_id: t for p, t in zip(pool, tones)}
    else:
        from vistance.analysis.counterparts import default_gazetteer

        gz = default_gazetteer()
        main = list(gz.main)

        def first_main(text):
            found = set(gz.detect(text))
            return next((c for c in main if c in found), "none")

        strata = {p.paragraph_id: first_main(p.text) for p in pool}
    design = draw_sample([p.paragraph_id for p in pool], a.n, seed=a.seed, strata=strata, allocation="equal",
                         unit="paragraph", name=Path(a.out).stem, corpus=corpus, excluded=left_out,
                         drawn_by=f"vistance annotate export --strategy random --stratify-by {a.stratify_by} "
                                  f"--n {a.n} --seed {a.seed}")
    design.pool["file"] = str(a.paragraphs)
    picked = set(design.probabilities())
    return [p for p in pool if p.paragraph_id in picked], design


def _active_batch(a, paras, done, schema):
    """``--strategy``: the sampler chooses; the model (unless random) only scores the pool."""
    from collections import Counter

    from vistance.io import read_json
    from vistance.labels.active import choose_batch
    from vistance.labels.store import read_labels

    excluded = read_json(a.exclude_articles)["articles"] if a.exclude_articles else []
    pool = [p for p in paras if p.paragraph_id not in done and p.article_id not in set(excluded)]
    scores = None
    if a.strategy != "random":
        if not a.model:
            raise VistanceError(f"--strategy {a.strategy} needs --model (a model folder that scores the pool)")
        from vistance.models import load_model

        scores = load_model(a.model).predict_proba([p.text for p in pool])
    counts = Counter()
    for f in a.exclude or []:
        for lab in read_labels(f, schema=schema):
            counts.update(lab.themes)
            counts[lab.tone] += 1
    return choose_batch(pool, a.n, strategy=a.strategy, seed=a.seed, labelled=done, excluded_articles=excluded,
                        scores=scores, label_counts=counts, schema=schema)


def _passes(pairs) -> dict[str, int]:
    out = {}
    for p in pairs or []:
        name, sep, n = p.rpartition("=")
        if not sep or not name or n not in ("1", "2"):
            raise SystemExit(f"vistance: --pass wants NAME=1 or NAME=2, got {p!r}")
        out[name] = int(n)
    return out


def cmd_annotate_import(a) -> int:
    from vistance.labels.annotation_io import fetch_user_names, import_judgements, read_users_file
    from vistance.labels.store import merge_labels

    try:
        passes = _passes(a.passes)
    except SystemExit as e:
        err(str(e).removeprefix("vistance: "))
        return 2
    refuse_overwriting_inputs({"--into": a.into, "--second-into": a.second_into},
                              [a.file, a.paragraphs, a.users])
    if a.second_into and same_file(a.into, a.second_into):
        err(f"--into and --second-into are the same file ({a.into}); the two passes need two files")
        return 2
    names: dict[str, str] = {}
    if a.users:
        names.update(read_users_file(a.users))
    if a.label_studio_url:
        token = a.label_studio_token or os.environ.get("LABEL_STUDIO_API_KEY")
        if not token:
            err("--label-studio-url needs --label-studio-token or LABEL_STUDIO_API_KEY")
            return 2
        names.update(fetch_user_names(a.label_studio_url, token))
    if passes:  # the mapping may name annotators by user id or email: key it by display name too
        passes = {**passes, **{names[k]: v for k, v in passes.items() if k in names}}
    schema = label_schema(a.params)
    res = import_judgements(a.file, paragraphs_or_none(a.paragraphs), annotator=a.annotator, names=names,
                            passes=passes or None, schema=schema)
    rejected = list(res.rejected)
    targets = {1: a.into, 2: a.second_into}
    for n, labs in sorted(res.by_pass.items()):
        if targets.get(n) is None:
            rejected.append(f"{a.file}: {len(labs)} pass-{n} judgement(s) (a second annotator of the same tasks) "
                            f"not imported: give --second-into FILE (e.g. labels/second_pass.jsonl)")
    for r in rejected:
        err(r)
    ls = res.label_studio
    if ls is not None:
        note(ls.summary())
        for w in ls.superseded:
            note(f"  superseded by a later annotation of the same annotator: {w}")
    conflicts = 0
    for n, target in targets.items():
        labs = res.by_pass.get(n, [])
        if target is None or (n == 2 and not labs):
            continue
        merged = merge_labels(target, labs, replace=a.replace, schema=schema)
        conflicts += len(merged.conflicts)
        for old, new in merged.conflicts:
            err(f"conflict: {old.paragraph_id} is labelled {old.themes}/{old.tone} by {old.annotator} in {target}; "
                f"{a.file} says {new.themes}/{new.tone} by {new.annotator} (kept the existing label; use --replace to override)")
        note(f"import {a.file} -> {target}: {merged.summary()}" + (f", {len(rejected)} rejected" if n == 1 else ""))
    return PARTIAL if (rejected or conflicts) else OK


def cmd_annotate_export_adjudication(a) -> int:
    from vistance.labels.annotation_io import export_adjudication
    from vistance.labels.store import read_labels

    refuse_overwriting_inputs({"--out": a.out}, [a.first, a.second])
    schema = label_schema(a.params)
    n = export_adjudication(read_labels(a.first, allow_missing=False, schema=schema),
                            read_labels(a.second, allow_missing=False, schema=schema), a.out)
    note(f"{n} disagreement(s) -> {a.out} (add decision, chosen, adjudicator and reason to each, "
         "then append them to labels/adjudication.jsonl)")
    return OK


def add_parsers(sub) -> None:
    ann = sub.add_parser("annotate", help="annotation batches").add_subparsers(dest="annotate_cmd", required=True)
    s = ann.add_parser("export", help="write a batch to annotate (Label Studio JSON, JSONL or CSV)")
    s.add_argument("--paragraphs", default="data/processed/paragraphs.jsonl")
    s.add_argument("--out", required=True)
    s.add_argument("--format", choices=["labelstudio", "jsonl", "csv"], default="jsonl")
    s.add_argument("--n", type=int, default=200, help="paragraph budget for whole foreign-affairs articles")
    s.add_argument("--stratum-quota", type=int, default=0, help="extra paragraphs per rare-theme stratum")
    s.add_argument("--ids", help="file with one paragraph id a line (instead of sampling)")
    s.add_argument("--exclude", nargs="*", default=["labels/gold.jsonl"], help="label files whose paragraphs are skipped")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--strategy", choices=["random", "uncertainty", "margin", "diverse", "balanced"],
                   help="active learning: the sampler chooses the batch (see vistance.labels.active); "
                        "without it, whole foreign-affairs articles by keyword density")
    s.add_argument("--model", help="model folder that scores the pool (every --strategy but random)")
    s.add_argument("--stratify-by", choices=["tone", "counterpart"],
                   help="with --strategy random: a stratified random draw (equal allocation) by the model's predicted "
                        "tone (needs --model) or by the main counterpart named; the design records each stratum")
    s.add_argument("--corpus", help="draw from the paragraphs of this corpus only (a design belongs to one corpus)")
    s.add_argument("--exclude-articles", metavar="JSON",
                   help="a JSON file with 'articles' never to sample from (e.g. labels/vietnews_test_articles.json)")
    s.add_argument("--predictions-from", metavar="MODEL",
                   help="model folder whose themes/tone (with scores) pre-annotate each Label Studio task")
    s.add_argument(PARAMS[0], **PARAMS[1], help="params file naming the codebook (labels.codebook)")
    s.set_defaults(func=cmd_annotate_export)

    s = ann.add_parser("import", help="validate and merge judgements into label files (atomic, locked)",
                       description="A Label Studio export (JSON or JSON_MIN) brings every annotation: per task, "
                                   "the first annotator goes to --into, a second to --second-into "
                                   "(or map annotators with --pass NAME=N).")
    s.add_argument("file")
    s.add_argument("--into", default="labels/gold.jsonl", help="label file of the first pass")
    s.add_argument("--second-into", help="label file of the second pass (a second annotator of the same task)")
    s.add_argument("--paragraphs", help="paragraphs JSONL to check ids and text hashes against")
    s.add_argument("--annotator", help="annotator name for records that lack one")
    s.add_argument("--users", help="Label Studio's /api/users JSON: user ids -> annotator names")
    s.add_argument("--label-studio-url", help="fetch annotator names from this Label Studio (needs label-studio-sdk)")
    s.add_argument("--label-studio-token", help="its API token (default: $LABEL_STUDIO_API_KEY)")
    s.add_argument("--pass", dest="passes", action="append", metavar="NAME=N",
                   help="route an annotator (name, email or user id) to pass 1 or 2; repeat per annotator")
    s.add_argument("--replace", action="store_true", help="replace conflicting existing labels (deliberate re-judgement)")
    s.add_argument(PARAMS[0], **PARAMS[1], help="params file naming the codebook (labels.codebook)")
    s.set_defaults(func=cmd_annotate_import)

    s = ann.add_parser("export-adjudication", help="disagreements of two passes -> an adjudication batch (JSONL)")
    s.add_argument("--first", default="labels/first_pass.jsonl")
    s.add_argument("--second", default="labels/second_pass.jsonl")
    s.add_argument("--out", default="labels/adjudication_batch.jsonl")
    s.add_argument(PARAMS[0], **PARAMS[1], help="params file naming the codebook (labels.codebook)")
    s.set_defaults(func=cmd_annotate_export_adjudication)
