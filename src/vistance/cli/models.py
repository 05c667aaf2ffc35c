"""``vistance train``, ``checkpoint``, ``pretrain``, ``predict`` and ``predict-article``."""
from __future__ import annotations

import sys
from pathlib import Path

from vistance.cli._common import (DATASET, OK, PARAMS, PARTIAL, command, config, engine_flags, err, note,
                                  positive_int, refuse_overwriting_inputs)
from vistance.errors import VistanceError


def cmd_train(a) -> int:
    from vistance.model_specs import checked_spec
    from vistance.models.train import train_model

    out = a.out or f"experiments/models/{a.name}"
    cfg = config(a.params)
    kind, spec = checked_spec(cfg, a.name)
    info = train_model(a.name, kind, spec, a.dataset, out, seed=cfg.seed, codebook=cfg.schema())
    note(f"trained {a.name} ({info['kind']}) on {info['train_paragraphs']} paragraphs in {info['train_seconds']} s -> {out}")
    return OK


def cmd_checkpoint(a) -> int:
    from vistance.corpus.ingest import sample_texts
    from vistance.checkpoints.phobert import build_tiny_checkpoint

    cfg = config(a.params)
    c = cfg.checkpoint
    texts = sample_texts(a.paragraphs, c.max_texts, cfg.seed)
    out = build_tiny_checkpoint(
        texts, a.out, segmenter=c.segmenter, num_merges=c.num_merges, hidden_size=c.hidden_size,
        num_layers=c.num_layers, num_heads=c.num_heads, intermediate_size=c.intermediate_size,
        max_length=c.max_length, seed=cfg.seed,
    )
    note(f"built a randomly initialised PhoBERT-shaped checkpoint from {len(texts)} texts -> {out}")
    return OK


def cmd_pretrain(a) -> int:
    from vistance.corpus.ingest import sample_texts
    from vistance.checkpoints.pretrain import pretrain_mlm

    cfg = config(a.params)
    p = cfg.pretrain
    texts = sample_texts(a.paragraphs, cfg.checkpoint.max_texts, cfg.seed)
    stats = pretrain_mlm(
        texts, a.out, init=a.init, segmenter=cfg.checkpoint.segmenter, max_steps=p.max_steps,
        max_seconds=p.max_seconds, batch_size=p.batch_size, learning_rate=p.learning_rate, seed=cfg.seed,
        max_length=p.max_length,
    )
    note(f"pretrained {stats.get('steps')} steps in {stats.get('seconds')} s (MLM loss {stats.get('mlm_loss_before')} -> "
         f"{stats.get('mlm_loss_after')}) -> {a.out}")
    return OK


def _report_rejections(errors, what: str = "rejected") -> None:
    """Print the kept rejections (one line each) and how many more were counted but not kept."""
    for e in errors:
        err(str(e))
    if getattr(errors, "dropped", 0):
        err(f"... and {errors.dropped} more {what} (only the first {len(errors)} are listed)")


def cmd_predict(a) -> int:
    from vistance.models import load_model
    from vistance.predict import predict_file

    refuse_overwriting_inputs({"--output": a.output}, [a.input, a.model])
    if not Path(a.input).exists():  # a file, or a folder of Parquet files
        raise VistanceError(f"{a.input}: no such input file")
    from vistance.predict_dask import open_engine

    model = load_model(a.model)
    engine = open_engine(a.engine, a.model, a.scheduler)
    try:
        if engine is not None:
            engine.open()
        rep = predict_file(model, a.input, a.output, batch_size=a.batch_size, explain=a.explain, engine=engine)
    finally:
        if engine is not None:
            engine.close()
    _report_rejections(rep.errors, "rejected line(s)")
    note(f"predicted {rep.written} of {rep.read} line(s) -> {a.output}; {rep.rejected} rejected")
    return PARTIAL if rep.rejected else OK


def cmd_predict_article(a) -> int:
    """Label every paragraph of raw article files (seed text format or JSONL), streaming through
    the engine of ``predict``; a paragraph over the length cap is dropped with a warning."""
    from vistance.models import load_model
    from vistance.predict import predict_articles

    refuse_overwriting_inputs({"--output": a.output}, [*a.paths, a.model])
    model = load_model(a.model)
    rep = predict_articles(model, a.paths, output_path=a.output, batch_size=a.batch_size,
                           stream=None if a.output else sys.stdout)
    for w in rep.warnings:
        note(f"warning: {w}")
    if rep.warnings.dropped:
        note(f"warning: ... and {rep.warnings.dropped} more")
    _report_rejections(rep.errors, "rejected input(s)")
    if a.output:
        note(f"predicted {rep.paragraphs} paragraph(s) -> {a.output}; {rep.errors.total} input(s) rejected")
    return PARTIAL if rep.errors.total else OK


def add_parsers(sub) -> None:
    command(sub, "train", cmd_train, "train one model named in params.yaml", ("name", {}), DATASET,
            ("--out", {"help": "model folder (default experiments/models/NAME)"}), PARAMS)

    s = sub.add_parser("checkpoint", help="build a tiny PhoBERT-shaped random checkpoint from corpus text")
    s.add_argument("--paragraphs", nargs="+", default=["data/processed/paragraphs.jsonl"])
    s.add_argument("--out", required=True)
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_checkpoint)

    s = sub.add_parser("pretrain", help="masked-LM pretraining of a small RoBERTa (or continue a PhoBERT)")
    s.add_argument("--paragraphs", nargs="+", default=["data/processed/paragraphs.jsonl"])
    s.add_argument("--init", help="checkpoint folder to start from")
    s.add_argument("--out", required=True)
    s.add_argument("--params", default="params.yaml")
    s.set_defaults(func=cmd_pretrain)

    s = sub.add_parser("predict", help="JSONL or Parquet {id,text} -> JSONL predictions (streaming)")
    s.add_argument("--model", required=True)
    s.add_argument("--input", required=True,
                   help="JSONL {id,text} lines, or Parquet with id and text columns (a file or a folder of them)")
    s.add_argument("--output", required=True)
    s.add_argument("--batch-size", type=positive_int, default=256)
    s.add_argument("--explain", action="store_true", help="add top contributing n-grams (linear models)")
    engine_flags(s)
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("predict-article", help="label every paragraph of raw article files")
    s.add_argument("paths", nargs="+")
    s.add_argument("--model", required=True)
    s.add_argument("--output", help="JSONL file (written atomically); default: standard output")
    s.add_argument("--batch-size", type=positive_int, default=256)
    s.set_defaults(func=cmd_predict_article)
