"""Throughput and memory of the corpus-scale path: ingest -> segment -> predict (+ counterparts).

    .venv/bin/python benchmarks/bench_throughput.py --sizes 1000 10000 all \\
        [--model experiments/models/tfidf_lr] [--transformer FOLDER] [--jobs 2]

For each size (units of /work/shared/corpus/vietnews-fa, one sentence each) every
step runs in a fresh child process, so the peak memory (``ru_maxrss``) of one size
or step never contaminates another:

* ingest      ``vistance.corpus.ingest_paths`` -> paragraphs JSONL (read, clean, dedupe, write);
* segment     pyvi, in one process and with :func:`vistance.predict.segment_parallel`;
* end-to-end  :func:`vistance.analysis.run.run_analysis`: paragraphs JSONL -> segmentation ->
              TF-IDF prediction -> counterparts -> predictions JSONL + table (streaming), 1 and N processes;
* transformer ``predict_proba`` on a sample (``--transformer``; skipped when absent).

Model: ``--model`` (default ``experiments/models/tfidf_lr``, made by ``dvc repro``). When it
does not exist a quick TF-IDF model is trained once from ``labels/gold.jsonl`` and the
ingested news-2024 paragraphs into ``benchmarks/results/tfidf_quick`` (ignored by git).

Prints figures only (no pass/fail): the targets are in ``benchmarks/README.md``.
Results are also written to ``benchmarks/results/throughput.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "vietnews-fa" / "articles.jsonl"
RESULTS = ROOT / "benchmarks" / "results"


# -- measurements in a child process ---------------------------------------------------
def _usage() -> dict:
    """CPU seconds and peak RSS (MB) of this process and of its finished children (workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "rss_mb": me.ru_maxrss / 1024, "workers_rss_mb": kids.ru_maxrss / 1024}


def _texts(path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def child_ingest(a) -> dict:
    import itertools

    from vistance.corpus import ingest_paths, write_paragraphs

    t0 = time.perf_counter()
    n = write_paragraphs(itertools.islice(ingest_paths([a.corpus]), a.n if a.n > 0 else None), a.paragraphs)
    return {"units": n, "seconds": time.perf_counter() - t0}


def child_segment(a) -> dict:
    from vistance.predict import segment_parallel
    from vistance.text.segment import get_segmenter

    texts = _texts(a.paragraphs)
    seg = get_segmenter("pyvi")
    seg.segment("Khởi động.")
    if a.jobs == 1:
        t0 = time.perf_counter()
        [seg.segment(t) for t in texts]
    else:
        t0 = time.perf_counter()
        segment_parallel(texts, "pyvi", n_jobs=a.jobs)
    return {"units": len(texts), "seconds": time.perf_counter() - t0}


def child_e2e(a) -> dict:
    import tempfile

    from vistance.analysis.run import run_analysis
    from vistance.models import load_model

    t0 = time.perf_counter()
    model = load_model(a.model)
    load_s = time.perf_counter() - t0
    cpu0 = _usage()["cpu_s"]
    with tempfile.TemporaryDirectory(dir=a.workdir) as out:
        t1 = time.perf_counter()
        s = run_analysis(model, a.paragraphs, out, period="quarter", n_boot=100, seed=0, n_jobs=a.jobs,
                         batch_size=512, progress=False)
        total = time.perf_counter() - t1
    return {"units": s["units_read"], "seconds": s["_seconds"], "total_seconds": total, "load_seconds": load_s,
            "jobs": s["_jobs"], "stream_cpu_s": _usage()["cpu_s"] - cpu0}


def child_transformer(a) -> dict:
    from vistance.models import load_model

    texts = _texts(a.paragraphs)[: a.n]
    model = load_model(a.transformer)
    model.predict_proba(texts[:4])
    t0 = time.perf_counter()
    model.predict_proba(texts)
    return {"units": len(texts), "seconds": time.perf_counter() - t0}


CHILDREN = {"ingest": child_ingest, "segment": child_segment, "e2e": child_e2e, "transformer": child_transformer}


def child_main(argv) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=sorted(CHILDREN))
    p.add_argument("--corpus")
    p.add_argument("--paragraphs")
    p.add_argument("--model")
    p.add_argument("--transformer")
    p.add_argument("--workdir")
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args(argv)
    cpu0 = _usage()["cpu_s"]
    out = CHILDREN[a.step](a)
    u = _usage()
    out.update(rss_mb=round(u["rss_mb"], 1), workers_rss_mb=round(u["workers_rss_mb"], 1),
               cpu_s=round(u["cpu_s"] - cpu0, 2))
    print("RESULT " + json.dumps(out))


def run_child(step: str, **kw) -> dict:
    cmd = [sys.executable, __file__, "_child", step]
    for k, v in kw.items():
        if v is not None:
            cmd += [f"--{k}", str(v)]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", TQDM_DISABLE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"benchmark step {step} failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT "):])


# -- a model when none is given --------------------------------------------------------
def quick_tfidf_model(folder: Path) -> Path:
    """Train the ``tfidf_lr`` of params.yaml on every gold label whose paragraph is ingested here."""
    from vistance.config import load_config
    from vistance.corpus import ingest_paths, registry
    from vistance.dataset.build import join_labels
    from vistance.labels.store import read_labels
    from vistance.models.train import fit_rows

    if (folder / "manifest.json").is_file():
        return folder
    cfg = load_config(ROOT / "params.yaml")
    paths = [p for p in (ROOT / registry.articles_path(e) for e in registry.corpora_with_role(cfg.corpora, "training"))
             if p.exists()]
    rows, _ = join_labels(list(ingest_paths(paths)), read_labels(ROOT / cfg.labels.gold, schema=cfg.schema()),
                          strict=False)
    kind, spec = cfg.model_spec("tfidf_lr")
    print(f"note: no model given; training a quick {kind} model on {len(rows)} gold paragraphs -> {folder}",
          file=sys.stderr)
    fit_rows(kind, spec, rows, seed=cfg.seed, schema=cfg.schema()).save(folder)
    return folder


# -- the table -------------------------------------------------------------------------
def _rate(r: dict) -> float:
    return r["units"] / r["seconds"] if r["seconds"] > 0 else float("nan")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="sentence-level JSONL corpus (vietnews-fa)")
    p.add_argument("--sizes", nargs="+", default=["1000", "10000", "all"], help="units per run; 'all' = whole corpus")
    p.add_argument("--model", default=str(ROOT / "experiments" / "models" / "tfidf_lr"), help="TF-IDF model folder")
    p.add_argument("--jobs", type=int, default=2, help="processes for the parallel runs")
    p.add_argument("--transformer", help="a (tiny) transformer model folder; skipped when absent")
    p.add_argument("--transformer-sample", type=int, default=200)
    p.add_argument("--workdir", default=str(RESULTS / "work"))
    p.add_argument("--skip-serial", action="store_true", help="skip the 1-process segmentation and end-to-end runs")
    a = p.parse_args(argv)
    if not Path(a.corpus).is_file():
        raise SystemExit(f"{a.corpus}: corpus not found (pass --corpus)")
    model = Path(a.model)
    if not (model / "manifest.json").is_file():
        model = quick_tfidf_model(RESULTS / "tfidf_quick")
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"corpus {a.corpus}\nmodel {model}\ncores {os.cpu_count()}, load average {load:.2f} at start "
          f"(other processes on the machine slow the wall-clock figures; units per CPU-second do not depend on them)\n",
          file=sys.stderr)
    results = []
    for size in a.sizes:
        n = 0 if size == "all" else int(size)
        para = work / f"paragraphs_{size}.jsonl"
        r = {"size": size}
        r["ingest"] = run_child("ingest", corpus=a.corpus, paragraphs=para, n=n)
        r["units"] = r["ingest"]["units"]
        if not a.skip_serial:
            r["segment_1"] = run_child("segment", paragraphs=para, jobs=1)
        r[f"segment_{a.jobs}"] = run_child("segment", paragraphs=para, jobs=a.jobs)
        if not a.skip_serial:
            r["e2e_1"] = run_child("e2e", paragraphs=para, model=model, workdir=work, jobs=1)
        r[f"e2e_{a.jobs}"] = run_child("e2e", paragraphs=para, model=model, workdir=work, jobs=a.jobs)
        if a.transformer and Path(a.transformer).is_dir() and size == a.sizes[0]:
            r["transformer"] = run_child("transformer", paragraphs=para, transformer=a.transformer,
                                         n=a.transformer_sample)
        results.append(r)
        print(f"done {size}: {r['units']} units", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.json").write_text(json.dumps({"model": str(model), "jobs": a.jobs, "load_at_start": load,
                                                         "results": results}, indent=2), encoding="utf-8")
    print_table(results, a.jobs)


def print_table(results: list[dict], jobs: int) -> None:
    j = jobs
    head = ["units", "ingest u/s", "pyvi 1p u/s", f"pyvi {j}p u/s", "e2e 1p u/s", f"e2e {j}p u/s",
            f"e2e {j}p u/CPU-s", "e2e 1p RSS MB", f"e2e {j}p RSS MB (main/worker)", "ingest RSS MB"]
    rows = []
    for r in results:
        def rate(key):
            return f"{_rate(r[key]):,.0f}" if key in r else "-"

        e2 = r[f"e2e_{j}"]
        rows.append([
            f"{r['units']:,}", rate("ingest"), rate("segment_1"), rate(f"segment_{j}"), rate("e2e_1"), rate(f"e2e_{j}"),
            f"{e2['units'] / e2['stream_cpu_s']:,.0f}" if e2.get("stream_cpu_s") else "-",
            f"{r['e2e_1']['rss_mb']:,.0f}" if "e2e_1" in r else "-",
            f"{e2['rss_mb']:,.0f}/{e2['workers_rss_mb']:,.0f}", f"{r['ingest']['rss_mb']:,.0f}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")
    load = [r["e2e_" + str(j)].get("load_seconds") for r in results]
    print(f"\nmodel load (not in the rates): {', '.join(f'{x:.1f} s' for x in load if x is not None)}")
    for r in results:
        if "transformer" in r:
            t = r["transformer"]
            print(f"transformer predict_proba: {_rate(t):,.1f} units/s on {t['units']} units "
                  f"(peak RSS {t['rss_mb']:,.0f} MB)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
    else:
        main()
