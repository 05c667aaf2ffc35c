"""Peak memory of the CLI on hostile inputs (issue 21): every reader must stay bounded.

Each case runs the real ``vistance`` command in a fresh child process and reports its peak
resident set size (``ru_maxrss`` from ``os.wait4``: the largest of the child and the workers it
waited for), its wall time and exit code:

* ``archive-bomb``: ``vistance corpus fetch news-2024 --archive BOMB`` where BOMB is a GitHub-layout
  ``.tar.gz`` whose one listed member (a news-2024 post) inflates to ``--bomb-mb`` MB of newlines;
* ``predict-invalid``: ``vistance predict`` on ``--invalid-lines`` lines of invalid JSON;
* ``predict-article-N``: ``vistance predict-article`` on one seed-format article of N paragraphs
  (``--paragraphs``, default 10^4 and 10^5), written to ``--output``; ``predict-article-jsonl-N``:
  the same number of paragraphs in JSONL articles of 100 paragraphs each.

The model is a lexicon folder (the cheapest to load), built by the code under test. Run it on
another checkout with ``--src PATH/src`` (e.g. the code before a change: ``git worktree add
/tmp/old HEAD`` then ``--src /tmp/old/src``). No asserts; figures go to stdout and, with
``--json``, to a file.

    nice .venv/bin/python benchmarks/bench_hostile_memory.py
    nice .venv/bin/python benchmarks/bench_hostile_memory.py --src /tmp/old21/src --json benchmarks/results/old.json
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _Newlines:
    """A file object of ``n`` newline bytes (never held in memory)."""

    def __init__(self, n: int):
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        return b"\n" * size


def build_bomb(path: Path, megabytes: int) -> Path:
    """A GitHub source archive of news-2024 whose first listed post is ``megabytes`` MB of newlines."""
    from importlib import resources

    manifest = json.loads(resources.files("vistance").joinpath("data", "corpus_manifests", "news-2024.json")
                          .read_text("utf-8"))
    commit = manifest["commit"]
    post = manifest["articles"][0]["id"].rsplit("#", 1)[0]
    size = megabytes * 1_000_000
    with gzip.open(path, "wb", compresslevel=9) as gz, tarfile.open(fileobj=gz, mode="w|") as tar:
        info = tarfile.TarInfo(f"trends-{commit}/_posts/{post}")
        info.size = size
        tar.addfile(info, _Newlines(size))
    return path


def write_invalid_predict_input(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(f'{{"id": "k{i}", "text": "Hai nước nhất trí tăng cường hợp tác kinh tế số {i}\n')
    return path


def write_article(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(" date 2025-01-02 • Báo thử\nBài thử nhiều đoạn\n\n")
        for i in range(n):
            fh.write(f"Đoạn {i}: Việt Nam và Nhật Bản nhất trí tăng cường hợp tác kinh tế, thương mại.\n\n")
    return path


def write_jsonl_articles(path: Path, n: int, per_article: int = 100) -> Path:
    """``n`` paragraphs in JSONL articles of ``per_article`` paragraphs each."""
    with open(path, "w", encoding="utf-8") as fh:
        for a in range(0, n, per_article):
            paras = [f"Đoạn {a + i}: Việt Nam và Nhật Bản nhất trí tăng cường hợp tác kinh tế, thương mại."
                     for i in range(min(per_article, n - a))]
            fh.write(json.dumps({"id": f"a{a}", "title": "Bài thử", "date": "2025-01-02", "paragraphs": paras},
                                ensure_ascii=False) + "\n")
    return path


def run(cmd: list[str], env: dict, cwd: Path, timeout: float) -> dict:
    """Run ``cmd``; ``{"rss_mb", "seconds", "exit", "stderr_tail"}`` (RSS from ``os.wait4``)."""
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    err.seek(0)
    tail = err.read().decode("utf-8", "replace").strip().splitlines()[-2:]
    return {"rss_mb": round(usage.ru_maxrss / 1024, 1), "seconds": round(seconds, 1), "exit": p.returncode,
            "stderr_tail": tail}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", help="the src/ folder of the vistance under test (default: this checkout's)")
    ap.add_argument("--bomb-mb", type=int, default=100)
    ap.add_argument("--invalid-lines", type=int, default=300_000)
    ap.add_argument("--paragraphs", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--cases", nargs="*", default=["archive-bomb", "predict-invalid", "predict-article"])
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)

    src = Path(a.src).resolve() if a.src else ROOT / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    py = sys.executable
    results: dict = {"src": str(src)}
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as td:
        work = Path(td)
        model = work / "lexicon"
        subprocess.run([py, "-c", f"from vistance.models.lexicon import LexiconModel; LexiconModel().save({str(model)!r})"],
                       env=env, check=True)
        cases = []
        if "archive-bomb" in a.cases:
            bomb = build_bomb(work / "bomb.tar.gz", a.bomb_mb)
            results["bomb_archive_mb"] = round(bomb.stat().st_size / 1e6, 3)
            cases.append(("archive-bomb", [py, "-m", "vistance.cli", "corpus", "fetch", "news-2024", "--archive",
                                           str(bomb), "--out", str(work / "fetched"), "--no-download"]))
        if "predict-invalid" in a.cases:
            inp = write_invalid_predict_input(work / "invalid.jsonl", a.invalid_lines)
            cases.append(("predict-invalid", [py, "-m", "vistance.cli", "predict", "--model", str(model),
                                              "--input", str(inp), "--output", str(work / "invalid.out.jsonl")]))
        if "predict-article" in a.cases:
            for n in a.paragraphs:
                art = write_article(work / f"article{n}.txt", n)
                cases.append((f"predict-article-{n}", [py, "-m", "vistance.cli", "predict-article", str(art),
                                                       "--model", str(model), "--output", str(work / f"art{n}.jsonl")]))
            for n in a.paragraphs:  # the same paragraphs in JSONL articles of 100 paragraphs each
                art = write_jsonl_articles(work / f"articles{n}.jsonl", n)
                cases.append((f"predict-article-jsonl-{n}", [py, "-m", "vistance.cli", "predict-article", str(art),
                                                             "--model", str(model), "--output",
                                                             str(work / f"artj{n}.jsonl")]))
        for name, cmd in cases:
            results[name] = run(cmd, env, work, a.timeout)
            r = results[name]
            print(f"{name:24s} peak RSS {r['rss_mb']:8.1f} MB  {r['seconds']:7.1f} s  exit {r['exit']}  "
                  f"{(r['stderr_tail'] or [''])[-1][:110]}", flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
