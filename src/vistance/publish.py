"""Hub-ready folders of what the pipeline produced: the labels as a dataset, the models with their cards.

``vistance publish`` writes, under ``experiments/publish/`` (nothing is uploaded):

- ``dataset/``: ``data/<split>.parquet`` (ids, text hash, labels, split, annotator, pass, codebook
  version — **no corpus text**) and ``README.md`` whose YAML front matter is what the Hub reads
  (``configs`` with ``data_files``, ``license``, ``language``, ``task_categories``, ``size_categories``,
  ``annotations_creators``, ``source_datasets``, ``pretty_name``). ``datasets.load_dataset(folder)``
  loads it; :func:`attach_text` joins the text back from a paragraphs file (``vistance corpus fetch``
  + ``vistance ingest``), hash-checked.
- ``models/<name>/``: a copy of the model folder (everything :func:`vistance.models.load_model` needs,
  manifest-verified) with its model card as ``README.md`` (``model-index`` with the test and
  generalisation results, ``base_model`` for a fine-tuned Hub checkpoint, ``datasets``, licences).

Every folder is built in a temporary sibling and renamed into place: a failed publish leaves the
previous folder as it was. Nothing else is ever replaced: ``out`` must be a new or empty folder or
one this command wrote before (it holds :data:`MARKER`, which lists what publish wrote there);
otherwise publish refuses (:class:`~vistance.errors.UsageError`) before writing anything.
"""
from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from vistance.errors import UsageError, VistanceError
from vistance.io import read_json, read_jsonl
from vistance.labels.schema import LabelSchema

DATASET_ID = "vistance/vistance-gold"  # the Hub id the cards refer to; pass another with ``dataset_id``
COLUMNS = ["id", "article_id", "corpus", "source", "date", "text_sha1", "themes", "tone", "annotator",
           "annotated_at", "adjudicated", "double_coded", "codebook"]


def __getattr__(attr):
    if attr == "UPSTREAM_SOURCES":   # {name: repository URL} of the default upstream corpora (their manifests)
        from vistance.corpus.registry import upstream_sources

        return upstream_sources()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


@dataclass
class PublishReport:
    dataset: str | None = None
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket of ``n`` rows."""
    for bound, name in [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M")]:
        if n < bound:
            return name
    return "n>1M"


MARKER = ".vistance-publish.json"  # in a folder publish wrote: what it wrote there


def _read_marker(root: Path) -> dict | None:
    m = root / MARKER
    if not m.is_file():
        return None
    try:
        data = read_json(m, limit=1 << 20)
    except VistanceError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("entries"), list) else None


def _is_empty_dir(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink() and next(p.iterdir(), None) is None


def claim_root(root: Path) -> dict:
    """Make ``root`` a publish folder: it must be new, empty or one publish wrote (it has :data:`MARKER`).

    Returns the marker (what publish wrote there before); refuses anything else with a
    :class:`UsageError`, before a byte is written (``--out .`` in a project, a home folder, ...).
    """
    root = Path(root)
    marker = _read_marker(root) if root.is_dir() else None
    if marker is None and root.is_dir():
        marker = _legacy_marker(root)
    if marker is None:
        if root.exists() and not _is_empty_dir(root):
            raise UsageError(f"{root}: exists and is not empty, and was not written by vistance publish (no {MARKER}); "
                             "refusing to write into it: pass --out a new or empty folder")
        marker = {"written_by": "vistance publish", "entries": []}
    root.mkdir(parents=True, exist_ok=True)
    _write_marker(root, marker)
    return marker


def _legacy_marker(root: Path) -> dict | None:
    """A folder written by publish before it left a marker: only ``dataset/``, ``models/`` and the
    upload README that publish writes (recognised by its first line). ``None`` for anything else."""
    names = {p.name for p in root.iterdir()}
    readme = root / "README.md"
    if not names or not names <= {"dataset", "models", "README.md"} or not readme.is_file() or readme.is_symlink():
        return None
    with open(readme, encoding="utf-8", errors="replace") as fh:
        if fh.readline().rstrip("\n") != UPLOAD_README.splitlines()[0]:
            return None
    entries = ["README.md"] + (["dataset"] if "dataset" in names else [])
    if (root / "models").is_dir():
        entries += [f"models/{p.name}" for p in (root / "models").iterdir() if p.is_dir()]
    return {"written_by": "vistance publish", "entries": entries}


def _write_marker(root: Path, marker: dict) -> None:
    from vistance.io import write_json

    marker["entries"] = sorted(set(marker["entries"]))
    write_json(root / MARKER, marker)


def _owner(dst: Path) -> tuple[Path, dict] | tuple[None, None]:
    """The publish folder above ``dst`` (its parent or grandparent holding :data:`MARKER`), if any."""
    for root in (dst.parent, dst.parent.parent):
        marker = _read_marker(root)
        if marker is not None:
            return root, marker
    return None, None


def _check_replaceable(dst: Path) -> None:
    """``dst`` may be replaced: absent, an empty folder, or listed in its publish folder's marker."""
    if not (dst.exists() or dst.is_symlink()) or _is_empty_dir(dst):
        return
    root, marker = _owner(dst)
    if root is not None and dst.relative_to(root).as_posix() in marker["entries"]:
        return
    if dst.is_dir() and _read_marker(dst) is not None:  # published on its own before (no publish folder above)
        return
    raise UsageError(f"{dst}: exists and was not written by vistance publish; refusing to replace it "
                     "(publish into a new or empty folder)")


def _record(dst: Path) -> None:
    """Note ``dst`` in its publish folder's marker; a folder published on its own gets its own marker."""
    root, marker = _owner(dst)
    if root is not None:
        marker["entries"].append(dst.relative_to(root).as_posix())
        _write_marker(root, marker)
    elif dst.is_dir():
        _write_marker(dst, {"written_by": "vistance publish", "entries": ["."]})


def _replace_dir(tmp: Path, dst: Path) -> None:
    if dst.exists() or dst.is_symlink():
        old = _fresh_name(dst, "old")
        dst.rename(old)
        tmp.rename(dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(dst)


def _fresh_name(dst: Path, tag: str) -> Path:
    import secrets

    while True:
        p = dst.with_name(f".{dst.name}.{tag}-{secrets.token_hex(4)}")
        if not p.exists():
            return p


def _staging(dst: Path) -> Path:
    """A new empty sibling folder of ``dst`` with the umask's default mode (``mkdtemp`` would make it 0700)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _fresh_name(dst, "tmp")
        try:
            tmp.mkdir(0o777)
            return tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def _staged(out: Path):
    """Build ``out`` in a fresh sibling folder (yielded); on success it replaces ``out`` at once and
    is recorded in the publish marker, on any error it is removed and ``out`` is left as it was."""
    tmp = _staging(out)
    try:
        yield tmp
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _record(out)


# ---------------------------------------------------------------- dataset

def dataset_rows(dataset_dir, gold, adjudication=None, second_pass=None) -> dict[str, list[dict]]:
    """Per split, one text-free row per gold paragraph of the dataset that ran (``data/dataset``)."""
    from vistance.dataset.build import load_dataset_dict, rows_from_dataset
    from vistance.labels.store import read_labels

    labels = {l.paragraph_id: l for l in read_labels(gold, allow_missing=False)}
    adjudicated = {r["paragraph_id"] for r in read_jsonl(adjudication, missing_ok=True)} if adjudication else set()
    double = {r["paragraph_id"] for r in read_jsonl(second_pass, missing_ok=True)} if second_pass else set()
    dd = load_dataset_dict(dataset_dir)
    out: dict[str, list[dict]] = {}
    for split in dd:
        rows = []
        for r in rows_from_dataset(dd[split]):
            lab = labels.get(r["id"])
            if lab is None:
                raise VistanceError(f"{dataset_dir}: paragraph {r['id']} has no label in {gold}; rebuild the dataset")
            rows.append({"id": r["id"], "article_id": r["article_id"], "corpus": r["corpus"], "source": r["source"],
                         "date": r["date"], "text_sha1": lab.text_sha1, "themes": list(lab.themes), "tone": lab.tone,
                         "annotator": lab.annotator, "annotated_at": lab.annotated_at,
                         "adjudicated": r["id"] in adjudicated, "double_coded": r["id"] in double,
                         "codebook": lab.codebook})
        out[split] = rows
    return out


def ingest_commands(corpora=None) -> list[str]:
    """The ``vistance ingest`` command of each output of ``corpora`` (None: the defaults), as a user runs it."""
    from vistance.corpus import registry

    out = []
    for output, entries in registry.outputs(corpora).items():
        local = [str(registry.articles_path(e)) for e in entries if not registry.is_upstream(e)]
        fetched = [str(registry.articles_path(e)) for e in entries if registry.is_upstream(e)]
        cmd = " ".join(["vistance ingest", *local, *(["--optional", *fetched] if fetched else [])])
        if len(entries) == 1:
            window = registry.sentence_window(entries[0])
            cmd += f" --corpus {entries[0].name}" + (f" --sentence-window {window}" if window > 1 else "")
        out.append(f"{cmd} -o {Path(output).name}")
    return out


def render_dataset_readme(splits: dict[str, list[dict]], *, schema: LabelSchema, gold_total: int, pretty_name: str,
                          annotations_creators: str = "machine-generated") -> str:
    """The dataset card: Hub YAML metadata from the data, then how to attach the text (``schema``: the
    dataset's codebook)."""
    themes, tones = schema.theme_names, schema.tone_names
    import yaml

    from vistance.corpus.registry import cross_corpus_tests, names, outputs, test_split, upstream_sources

    n = sum(len(v) for v in splits.values())
    corpora = Counter(r["corpus"] for rows in splits.values() for r in rows)
    meta = {
        "license": "mit", "language": ["vi"], "task_categories": ["text-classification"],
        "task_ids": ["multi-label-classification"], "size_categories": [size_category(n)],
        "annotations_creators": [annotations_creators], "language_creators": ["found"],
        "multilinguality": ["monolingual"], "source_datasets": ["original"], "pretty_name": pretty_name,
        "tags": ["vietnamese", "political-news", "diplomacy", "stance", "vistance"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": s, "path": f"data/{s}.parquet"} for s in splits]}],
    }
    theme_counts = Counter(t for rows in splits.values() for r in rows for t in r["themes"])
    tone_counts = Counter(r["tone"] for rows in splits.values() for r in rows)
    L = [f"# {pretty_name}", "",
         f"{n} paragraphs of Vietnamese political and diplomatic news with gold labels: policy **themes** "
         f"(multi-label: {', '.join(f'`{t}`' for t in themes)}) and **tone** toward the other party "
         f"({', '.join(f'`{t}`' for t in tones)}{'; friction wins' if schema.precedence else ''}), judged against "
         "the vistance codebook.", "",
         "**The paragraph text is not included**: the source corpora state no licence. Each row carries the "
         "paragraph id and `text_sha1`, the SHA-1 of the normalised text that was judged; attach the text "
         "yourself (below) and the hash proves it is the same text.", "",
         "## Splits", "", "| split | paragraphs | articles |", "|---|---|---|"]
    for s, rows in splits.items():
        L.append(f"| {s} | {len(rows)} | {len({r['article_id'] for r in rows})} |")
    L += ["", "Article-grouped (no article in two splits), seeded" + "".join(
        f"; `{test_split(e)}`, when present, holds whole {e.name} articles out as a cross-corpus test"
        for e in cross_corpus_tests()) + "."]
    if gold_total > n:
        L += ["", f"{gold_total - n} further gold label(s) are not in this release: their paragraphs were not "
              "present on the machine that built the dataset."]
    L += ["", "## Columns", "",
          "`id` paragraph id · `article_id` · `corpus` (" + ", ".join(f"`{c}`" for c in names())
          + ") · `source` outlet · `date` · `text_sha1` · `themes` (list) · `tone` · `annotator` · `annotated_at` · "
          "`adjudicated` (a third reader decided a disagreement) · `double_coded` (in the blind second pass) · "
          "`codebook` (codebook version, null when not recorded).", "",
          "| theme | paragraphs |", "|---|---|", *[f"| `{t}` | {theme_counts.get(t, 0)} |" for t in themes], "",
          "| tone | paragraphs |", "|---|---|", *[f"| `{t}` | {tone_counts.get(t, 0)} |" for t in tones], "",
          "By corpus: " + ", ".join(f"{c} {k}" for c, k in sorted(corpora.items())) + ".", "",
          "## Source text", ""]
    for c, url in upstream_sources().items():
        L.append(f"- `{c}`: {url} (pinned commit; `vistance corpus fetch {c}` downloads and hash-verifies it).")
    L += ["- `seeds`: the five seed articles bundled with vistance (`data/raw/`).", "",
          "## Attaching the text", "", "```bash",
          "pip install vistance   # or a clone of the repository",
          " && ".join(f"vistance corpus fetch {c}" for c in upstream_sources()),
          *ingest_commands(),
          "```", "", "```python", "from vistance.publish import attach_text",
          f"ds = attach_text('path/to/this/folder', {[Path(o).name for o in outputs()]})  # DatasetDict with 'text'",
          "```", "",
          "A paragraph whose text hash differs, or that is missing, is reported (``missing='drop'`` skips them).", "",
          "## Annotation", "",
          "Labels were made by independent AI annotation agents following the codebook, a blind second coding of a "
          "random subset, and third-reader adjudication (see the project's `labels/README.md` for agreement). "
          f"`annotations_creators: {annotations_creators}` says so; treat them as consistent with the codebook, not as "
          "expert human coding of contested cases.", "",
          "## Licence", "", "Labels, ids and hashes: MIT (the vistance project). Text: not distributed.", ""]
    return f"---\n{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---\n\n" + "\n".join(L)


def publish_dataset(*, dataset_dir, gold, out, adjudication, second_pass,
                    pretty_name="vistance gold labels: themes and tone of Vietnamese political news") -> Path:
    """Write the text-free dataset folder (Parquet per split + Hub card) at ``out``; returns ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vistance.dataset import dataset_schema
    from vistance.labels.store import read_labels

    splits = dataset_rows(dataset_dir, gold, adjudication, second_pass)
    schema = pa.schema([("id", pa.string()), ("article_id", pa.string()), ("corpus", pa.string()),
                        ("source", pa.string()), ("date", pa.string()), ("text_sha1", pa.string()),
                        ("themes", pa.list_(pa.string())), ("tone", pa.string()), ("annotator", pa.string()),
                        ("annotated_at", pa.string()), ("adjudicated", pa.bool_()), ("double_coded", pa.bool_()),
                        ("codebook", pa.string())])
    out = Path(out)
    _check_replaceable(out)
    with _staged(out) as tmp:
        (tmp / "data").mkdir()
        for s, rows in splits.items():
            table = pa.Table.from_pylist(rows, schema=schema)
            pq.write_table(table, tmp / "data" / f"{s}.parquet")
        schema = dataset_schema(dataset_dir)
        readme = render_dataset_readme(splits, schema=schema,
                                       gold_total=len(read_labels(gold, allow_missing=False, schema=schema)),
                                       pretty_name=pretty_name)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
    return out


def attach_text(dataset_folder, paragraphs_files, missing: str = "error"):
    """The published dataset with a ``text`` column joined from paragraph JSONL file(s) by id.

    Each text must hash to the row's ``text_sha1``. ``missing="error"`` (default) raises when a
    row's paragraph is absent or its hash differs; ``"drop"`` leaves those rows out.
    """
    from datasets import DatasetDict, load_dataset

    from vistance.corpus import read_paragraphs
    from vistance.text.normalize import text_sha1

    if missing not in ("error", "drop"):
        raise VistanceError(f"missing must be 'error' or 'drop', not {missing!r}")
    files = [paragraphs_files] if isinstance(paragraphs_files, (str, Path)) else list(paragraphs_files)
    text = {}
    for f in files:
        if Path(f).exists():
            text.update({p.paragraph_id: (p.text, text_sha1(p.text)) for p in read_paragraphs(f)})  # recomputed
    dd = load_dataset(str(dataset_folder))
    out = {}
    for split, ds in dd.items():
        bad = [r["id"] for r in ds if text.get(r["id"], (None, None))[1] != r["text_sha1"]]
        if bad and missing == "error":
            raise VistanceError(f"{split}: {len(bad)} paragraph(s) have no text with a matching hash in "
                                f"{', '.join(map(str, files))} (first: {bad[0]}); fetch and ingest the corpora, "
                                "or pass missing='drop'")
        keep = set(bad)
        ds = ds.filter(lambda r: r["id"] not in keep) if keep else ds
        out[split] = ds.add_column("text", [text[i][0] for i in ds["id"]])
    return DatasetDict(out)


# ---------------------------------------------------------------- models

def _eval_results(metrics: dict, dataset_id: str):
    from huggingface_hub import EvalResult

    task = dict(task_type="text-classification", task_name="Vietnamese political-news theme and tone")
    out = []
    for split, g in (metrics.get("generalisation") or {}).items():
        for key, label in (("tone_macro_f1", "tone macro-F1"), ("themes_sample_f1", "themes sample-F1")):
            if key in g:
                out.append(EvalResult(**task, dataset_type=dataset_id, dataset_name=f"vistance gold: {split}",
                                      dataset_split=split, metric_type="f1", metric_name=label,
                                      metric_value=round(float(g[key]), 4),
                                      metric_config=f"refit: train {g.get('train')}, test {g.get('test')} paragraphs"))
    cv = metrics.get("grouped_cv")
    if cv:
        for key, label in (("tone_macro_f1", "tone macro-F1"), ("themes_sample_f1", "themes sample-F1")):
            out.append(EvalResult(**task, dataset_type=dataset_id, dataset_name="vistance gold: grouped CV",
                                  dataset_split=f"grouped_{cv['folds']}fold_cv", metric_type="f1", metric_name=label,
                                  metric_value=round(float(cv[key]["mean"]), 4),
                                  metric_config=f"mean of {cv.get('folds_used', cv['folds'])} folds, sd {cv[key]['std']:.3f}"))
    return out


def _hub_checkpoint(checkpoint: str | None) -> str | None:
    """A Hub id (``owner/name``) to declare as ``base_model``; ``None`` for a local folder."""
    if not checkpoint or Path(checkpoint).exists() or checkpoint.startswith((".", "/")) or checkpoint.count("/") != 1:
        return None
    return checkpoint


def checkpoint_licence(checkpoint: str | None) -> str:
    """The licence of the released weights: MIT, or the base checkpoint's when it is stricter (PhoBERT-v2)."""
    return "agpl-3.0" if checkpoint and "phobert-base-v2" in checkpoint else "mit"


def render_published_card(name: str, *, specs: Mapping[str, tuple[str, dict]], experiments,
                          dataset_stats="data/dataset_stats.json", dataset_id: str = DATASET_ID) -> tuple[str, str]:
    """``(model kind, card text)`` for model ``name`` (``best`` resolves through ``BEST.json``);
    ``specs``: ``{name: (kind, constructor kwargs)}`` of the configured models."""
    from huggingface_hub import ModelCard

    from vistance.cards.model_card import render_model_card
    from vistance.models import model_class
    from vistance.models.folder import manifest_schema, read_manifest

    exp = Path(experiments)
    folder = exp / "models" / name
    trained = name
    best = read_json(folder / "BEST.json", missing_ok=True)
    if best:
        trained = best["model"]
    if trained not in specs:
        raise VistanceError(f"no model {trained!r} in params.yaml 'models' (have: {', '.join(sorted(specs))})")
    kind, spec = specs[trained]
    schema = manifest_schema(read_manifest(folder, verify=False), folder)
    metrics = read_json(exp / "metrics" / f"{trained}.json", missing_ok=True)
    if not metrics:
        raise VistanceError(f"{exp / 'metrics' / (trained + '.json')}: no evaluation of {trained}; run `vistance evaluate`")
    train_info = read_json(exp / "models" / f"{trained}.train.json", missing_ok=True) or {}
    stats = read_json(dataset_stats, missing_ok=True) if dataset_stats else None
    text = render_model_card(trained, kind, spec, metrics, train_info, stats, schema)
    card = ModelCard(text)
    checkpoint = model_class(kind).checkpoint_of(spec)
    hub_base = _hub_checkpoint(checkpoint)
    licence = checkpoint_licence(checkpoint)
    card.data.datasets = [dataset_id]
    card.data.license = licence
    card.data.base_model = hub_base
    for er in card.data.eval_results or []:
        er.dataset_type = dataset_id  # the card's test rows cite the published dataset too
    card.data.eval_results = list(card.data.eval_results or []) + _eval_results(metrics, dataset_id)
    card.data.model_name = f"vistance-{name}"
    body = card.text.replace(f"--model experiments/models/{trained}", "--model .")
    body += ("\n## Licences\n\n"
             f"- Code (vistance): MIT.\n- These weights: {licence.upper()} — trained by vistance on its MIT gold labels"
             + (f", fine-tuned from `{checkpoint}`" if checkpoint else "") + ".\n"
             + (f"- Base checkpoint `{hub_base}`: see its own card.\n" if hub_base else "")
             + f"- Training data: [{dataset_id}](https://huggingface.co/datasets/{dataset_id}) (labels; text not "
               "redistributed).\n")
    if best:
        body = body.replace(f"# vistance-{trained}", f"# vistance-{name} (= `{trained}`, selected by "
                                                     f"{best.get('selected_by')} {best.get('value', 0):.3f})", 1)
    card.text = body
    return kind, str(ModelCard(f"---\n{card.data.to_yaml()}\n---\n{body}"))


def publish_model(name: str, *, specs: Mapping[str, tuple[str, dict]], experiments="experiments", out=None,
                  dataset_stats="data/dataset_stats.json", dataset_id: str = DATASET_ID) -> Path:
    """Copy ``experiments/models/<name>`` to ``out`` (default ``experiments/publish/models/<name>``) with its
    card as ``README.md``; the copy is manifest-verified, so ``vistance predict --model out`` works."""
    from vistance.models.folder import read_manifest

    src = Path(experiments) / "models" / name
    read_manifest(src)  # refuse to publish a tampered or incomplete folder
    _, card = render_published_card(name, specs=specs, experiments=experiments, dataset_stats=dataset_stats,
                                    dataset_id=dataset_id)
    out = Path(out) if out is not None else Path(experiments) / "publish" / "models" / name
    _check_replaceable(out)
    with _staged(out) as tmp:
        shutil.rmtree(tmp)
        shutil.copytree(src, tmp)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        read_manifest(tmp)
    return out


def publish(*, specs: Mapping[str, tuple[str, dict]], experiments, out=None, models=("best",), dataset_dir, gold,
            dataset_stats, adjudication, second_pass, dataset_id: str = DATASET_ID, **dataset_kwargs) -> PublishReport:
    """The dataset folder and one folder per model in ``models`` under ``out`` (default ``experiments/publish``);
    ``specs``: ``{name: (kind, constructor kwargs)}`` of the configured models (their cards)."""
    from vistance.io import atomic_write

    out = Path(out) if out is not None else Path(experiments) / "publish"
    marker = claim_root(out)  # refuses a folder publish did not write, before any work
    targets = [out / "dataset", *(out / "models" / name for name in models), out / "README.md"]
    for dst in targets:
        rel = dst.relative_to(out).as_posix()
        if rel not in marker["entries"] and (dst.exists() or dst.is_symlink()) and not _is_empty_dir(dst):
            raise UsageError(f"{dst}: exists and was not written by vistance publish; refusing to replace it")
    report = PublishReport()
    report.dataset = str(publish_dataset(dataset_dir=dataset_dir, gold=gold, out=out / "dataset",
                                         adjudication=adjudication, second_pass=second_pass, **dataset_kwargs))
    for name in models:
        report.models.append(str(publish_model(name, specs=specs, experiments=experiments,
                                               out=out / "models" / name, dataset_stats=dataset_stats,
                                               dataset_id=dataset_id)))
    readme = out / "README.md"
    if readme.is_symlink():  # never write through a link out of the folder: replace the link itself
        readme.unlink()
    with atomic_write(readme) as fh:
        fh.write(UPLOAD_README.format(dataset_id=dataset_id))
    _record(readme)
    return report


UPLOAD_README = """# Hub-ready folders (written by `vistance publish`; nothing is uploaded from here)

- `dataset/`: the gold labels (no text) — `datasets.load_dataset("dataset")` loads it.
- `models/<name>/`: model folder + card (`README.md`) — `vistance predict --model models/<name> ...`.

Upload where you have network and a token (`huggingface-cli login`):

```bash
huggingface-cli upload {dataset_id} dataset . --repo-type dataset
huggingface-cli upload vistance/vistance-best models/best .
```
"""

