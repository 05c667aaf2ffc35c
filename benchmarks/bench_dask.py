"""``--engine dask`` against the local engine, in the same run: byte-identical output and throughput.

    .venv/bin/vistance train tfidf_lr --out /tmp/tfidf_lr
    .venv/bin/python benchmarks/bench_dask.py --model /tmp/tfidf_lr --paragraphs data/unlabelled/vietnews.jsonl

* input: the paragraphs JSONL (``paragraph_id`` or ``id``, ``text``; e.g. the 30,681 vietnews-fa
  units; ``--limit N``: the first N), rewritten once as the predict contract's ``{"id", "text"}`` in a
  temporary folder, as JSONL or (``--format parquet``) Parquet;
* local: :func:`vistance.predict.predict_file` on ``--jobs`` forked processes (default 2);
* dask: the same call with a :class:`vistance.predict_dask.DaskEngine` (default a loopback
  ``LocalCluster`` of ``--workers`` processes, one thread each; or ``--scheduler tcp://HOST:8786``).
  Cluster start-up, which includes each worker's one load of the model folder, is timed apart (as the
  local engine's load of the model, in this process, is);
* identical: the two output files compared byte for byte; ratio: dask units/s over local units/s
  (the goal: >= 0.9); units per CPU second of the whole process tree as well (the cores may be shared).
  With ``--repeats N`` the engines alternate N times and the best run of each counts.

Prints one JSON object (no asserts; no test depends on it). Outputs go to a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from vistance.models.folder import sha256_file as sha256   # the project's file hash


def to_requests(paragraphs, out, limit: int | None = None) -> int:
    n = 0
    with open(paragraphs, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            if not line.strip():
                continue
            if limit is not None and n >= limit:
                break
            obj = json.loads(line)
            dst.write(json.dumps({"id": obj.get("paragraph_id", obj.get("id")), "text": obj.get("text")},
                                 ensure_ascii=False) + "\n")
            n += 1
    return n


def cpu_seconds() -> float:
    """CPU seconds of this process tree so far: this process, its reaped children (the local engine's
    forked workers) and its live descendants (the loopback cluster's processes)."""
    import resource

    import psutil

    total = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def to_parquet(requests, out) -> None:
    """The same requests as Parquet (pyarrow's default row groups), read back by the predict reader."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vistance.io import read_jsonl

    pq.write_table(pa.Table.from_pylist(read_jsonl(requests), schema=pa.schema([("id", pa.string()),
                                                                                ("text", pa.string())])), out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model folder (e.g. a tfidf_lr)")
    ap.add_argument("--paragraphs", required=True)
    ap.add_argument("--jobs", type=int, default=2, help="local engine processes")
    ap.add_argument("--workers", type=int, default=2, help="local Dask cluster worker processes")
    ap.add_argument("--scheduler", help="a running Dask scheduler instead of a local cluster")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--limit", type=int, help="only the first N units (a quick smoke run)")
    ap.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl",
                    help="the input both engines read (the output must be the same bytes either way)")
    a = ap.parse_args(argv)

    from vistance.models import load_model
    from vistance.predict import predict_file
    from vistance.predict_dask import DaskEngine

    tmp = Path(tempfile.mkdtemp(prefix="vistance-bench-dask-"))
    requests = tmp / "requests.jsonl"
    units = to_requests(a.paragraphs, requests, a.limit)
    if a.format == "parquet":
        to_parquet(requests, tmp / "requests.parquet")
        requests.unlink()
        requests = tmp / "requests.parquet"
    t0 = time.perf_counter()
    model = load_model(a.model)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    engine = DaskEngine(a.model, scheduler=a.scheduler, n_workers=a.workers).open()
    startup_s = time.perf_counter() - t0
    local_s, dask_s, local_cpu, dask_cpu, written = [], [], [], [], {}
    try:
        for _ in range(a.repeats):
            t0, c0 = time.perf_counter(), cpu_seconds()
            rep = predict_file(model, requests, tmp / "local.jsonl", batch_size=a.batch_size, jobs=a.jobs,
                               progress=False)
            local_s.append(time.perf_counter() - t0)
            local_cpu.append(cpu_seconds() - c0)
            written["local"], jobs = rep.written, rep.jobs
            t0, c0 = time.perf_counter(), cpu_seconds()
            rep = predict_file(model, requests, tmp / "dask.jsonl", batch_size=a.batch_size, progress=False,
                               engine=engine)
            dask_s.append(time.perf_counter() - t0)
            dask_cpu.append(cpu_seconds() - c0)
            written["dask"], workers = rep.written, rep.jobs
        loads = engine.model_loads()
    finally:
        engine.close()
    identical = sha256(tmp / "local.jsonl") == sha256(tmp / "dask.jsonl")
    best_local, best_dask = min(local_s), min(dask_s)
    result = {
        "model": str(a.model), "paragraphs": str(a.paragraphs), "format": a.format, "units": units,
        "written": written,
        "batch_size": a.batch_size, "local_jobs": jobs, "dask_workers": workers,
        "scheduler": a.scheduler or "LocalCluster on 127.0.0.1", "model_load_s": round(load_s, 2),
        "dask_cluster_startup_s": round(startup_s, 2), "model_loads_per_worker": sorted(loads.values()),
        "local_s": [round(x, 2) for x in local_s], "dask_s": [round(x, 2) for x in dask_s],
        "local_units_per_s": round(units / best_local, 1), "dask_units_per_s": round(units / best_dask, 1),
        "dask_units_per_s_with_startup": round(units / (best_dask + startup_s), 1),
        "local_cpu_s": [round(x, 2) for x in local_cpu], "dask_cpu_s": [round(x, 2) for x in dask_cpu],
        "local_units_per_cpu_s": round(units / min(local_cpu), 1),
        "dask_units_per_cpu_s": round(units / min(dask_cpu), 1),
        "ratio_dask_over_local": round(best_local / best_dask, 3),
        "byte_identical": identical, "output_sha256": sha256(tmp / "dask.jsonl"),
    }
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
