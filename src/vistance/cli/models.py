"""``vistance train``, ``checkpoint``, ``pretrain``, ``predict`` and ``predict-article``."""
from __future__ import annotations

import sys
from pathlib import Path

from vistance.cli._common import DATASET, OK, PARAMS, PARTIAL, command, config, err, note
from vistance.errors import VistanceError


def cmd_train(a) -> int:
    from vistance.model_specs import checked_spec
    from vistance.models.train import train_model

    out = a.out or f"experiments/models/{a.name}"
    cfg = config(a.params)
    checked_spec(cfg, a.name)
    info = train_model(a.name, cfg.as_params(), a.dataset, out)
    note(f"trained {a.name} ({info['kind']}) on {info['train_paragraphs']} paragraphs in {info['train_seconds']} s -> {out}")
    return OK


def cmd_checkpoint(a) -> int:
    from vistance.corpus.ingest import sample_texts
    from vistance.models.phobert_checkpoint import build_tiny_checkpoint

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
    from vistance.models.pretrain import pretrain_mlm

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


def cmd_predict(a) -> int:
    from vistance.models import load_model
    from vistance.predict import predict_file

    if not Path(a.input).is_file():
        raise VistanceError(f"{a.input}: no such input file")
    model = load_model(a.model)
    rep = predict_file(model, a.input, a.output, batch_size=a.batch_size, explain=a.explain)
    for e in rep.errors:
        err(str(e))
    note(f"predicted {rep.written} of {rep.read} line(s) -> {a.output}; {len(rep.errors)} rejected")
    return PARTIAL if rep.errors else OK


def cmd_predict_article(a) -> int:
    """Label every paragraph of raw article files (seed text format or JSONL)."""
    from vistance.corpus import IngestReport, ingest_paths
    from vistance.io import dumps_line, write_jsonl
    from vistance.models import load_model

    report = IngestReport()
    paras = list(ingest_paths(a.paths, report=report, dedupe=False))
    for e in report.errors:
        err(str(e))
    model = load_model(a.model)
    recs = model.predict_proba([p.text for p in paras]).records([p.paragraph_id for p in paras]) if paras else []
    for p, rec in zip(paras, recs):
        rec["text"] = p.text
    if a.output:
        write_jsonl(a.output, recs)
    else:
        for rec in recs:
            sys.stdout.write(dumps_line(rec))
    return PARTIAL if report.errors else OK


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

    s = sub.add_parser("predict", help="JSONL {id,text} -> JSONL predictions (streaming)")
    s.add_argument("--model", required=True)
    s.add_argument("--input", required=True)
    s.add_argument("--output", required=True)
    s.add_argument("--batch-size", type=int, default=256)
    s.add_argument("--explain", action="store_true", help="add top contributing n-grams (linear models)")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("predict-article", help="label every paragraph of raw article files")
    s.add_argument("paths", nargs="+")
    s.add_argument("--model", required=True)
    s.add_argument("--output")
    s.set_defaults(func=cmd_predict_article)
