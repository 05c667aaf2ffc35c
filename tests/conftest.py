"""Shared test setup: offline Hugging Face, the bundled seed corpus, small label sets, the tiny DVC project."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "data" / "raw"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def seed_paragraphs():
    from vistance.corpus import ingest_paths

    return list(ingest_paths([SEEDS]))


def make_label(p, themes, tone, annotator="t"):
    from vistance.labels.schema import Label

    return Label(paragraph_id=p.paragraph_id, text_sha1=p.text_sha1, themes=list(themes), tone=tone,
                 annotator=annotator, annotated_at="2026-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def lexicon_folder(tmp_path_factory):
    """A saved lexicon model folder (no training data needed): the cheapest real model to predict with."""
    from vistance.models.lexicon import LexiconModel

    out = tmp_path_factory.mktemp("lexicon")
    LexiconModel().fit([], [], []).save(out)
    return out


# The tiny DVC project: a copy of this project with tiny settings, as a new user would run it (seeds only).
TINY = {
    "corpus": {"reference": "absent"},   # no ../shared: the fetch stages find nothing (offline), seeds only
    "checkpoint": {"num_merges": 300, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                   "max_texts": 2000},
    "pretrain": {"max_steps": 8, "max_seconds": 600, "batch_size": 8, "max_length": 64},
    "evaluate": {"n_boot": 100, "cv_folds": 3, "heldout_sources": 1, "seeds": [13, 14], "learning_curve": [0.5, 1.0],
                 "min_paragraphs": 0},   # run every analysis even on the seeds (the default skips refits there)
}
TINY_TRANSFORMER = {"epochs": 1, "batch_size": 8, "max_length": 64, "stride": 16,
                    "inference": "bf16"}   # each ONNX export of the 12-layer encoder costs ~20 s; tests/test_inference_onnx.py covers it


class _NoAliases(yaml.SafeDumper):
    """Each model spec written out in full (an ensemble's members too): no YAML anchors, so a changed key
    (``models.tfidf_lr.C``) changes exactly the stages that read that key."""

    def ignore_aliases(self, data):
        return True


def _merge(d, u):
    for k, v in u.items():
        d[k] = _merge(d.get(k, {}), v) if isinstance(v, dict) else v
    return d


_LIVE: set[subprocess.Popen] = set()   # subprocesses of the builds below, stopped when the session ends
_LOCK = threading.Lock()
_STOPPING = threading.Event()


def run_ok(cmd, cwd, env, timeout=1500):
    """``cmd`` run in ``cwd``; a failure shows the tail of its output. From a background build (not the main
    thread) it runs at a lower priority, so the in-process tests keep their cores (torch's threads spin-wait
    badly when a core is taken) and the build uses what they leave."""
    if threading.current_thread() is not threading.main_thread() and shutil.which("nice"):
        cmd = ["nice", "-n", "10", *cmd]
    with _LOCK:
        if _STOPPING.is_set():
            raise RuntimeError("the test session has ended")
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)   # its own process group: stopped with its children
        _LIVE.add(proc)
    with proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            out, err = proc.communicate()
        finally:
            _LIVE.discard(proc)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def make_tiny_project(dst: Path):
    """A copy of the project in ``dst`` (seeds only, tiny settings), ``dvc init``-ed.

    Returns the environment to run ``dvc`` / ``vistance`` in.
    """
    for item in ("dvc.yaml", "params.yaml", "data/raw", "labels", "src", "notebooks", ".dvcignore"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst / item)
    for junk in (dst / "labels").glob("*.lock"):
        junk.unlink()
    params = yaml.safe_load((dst / "params.yaml").read_text())
    _merge(params, TINY)
    for name in params["pipeline"]["transformers"]:
        spec = params["models"][name]
        for m in [spec, *spec.get("members", [])]:       # an ensemble's transformer members too
            if m.get("kind") == "transformer":
                m.update(TINY_TRANSFORMER)
        if "evaluate" in spec:   # each refit is a fine-tune: the test-split path only, here
            spec["evaluate"] = {**spec["evaluate"], "refit": False}
    (dst / "params.yaml").write_text(yaml.dump(params, Dumper=_NoAliases, sort_keys=False))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    run_ok(["dvc", "init", "--no-scm", "-q"], dst, env)
    return env


def build_tiny_project(dst: Path):
    """``(dst, env, CompletedProcess)``: the tiny project in ``dst`` after its first ``dvc repro``."""
    env = make_tiny_project(dst)
    return dst, env, run_ok(["dvc", "repro"], dst, env)


def build_own_codebook_example(dst: Path) -> Path:
    """examples/own-codebook copied to ``dst`` without its generated outputs and its committed gold (the
    Label Studio import must write it again), then its ``run.sh``; returns the copy."""
    example = ROOT / "examples" / "own-codebook"
    work = dst / "own-codebook"
    shutil.copytree(example, work, ignore=shutil.ignore_patterns(
        "processed", "dataset", "dataset_stats.json", "experiments", "tasks.json", "tasks.config.xml",
        "DATASET_CARD.md", "__pycache__"))
    (work / "labels" / "gold.jsonl").unlink()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run_ok(["bash", "run.sh"], work, env, timeout=300)
    return work


# Fixtures whose work is subprocesses (a `dvc repro`, a shell script): a session that will use one starts its
# build before the first test, in a background thread, and runs the tests that use it last. The builds then run
# on the second core while the in-process tests run on the first; the fixture waits for what is left.
BUILDS = {"tiny_project": build_tiny_project, "own_codebook_example": build_own_codebook_example}
_STARTED: dict[str, Future] = {}
_POOL: ThreadPoolExecutor | None = None
_TMP: list[Path] = []


def _uses(item, name) -> bool:
    return name in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)   # after -m / -k deselection
def pytest_collection_modifyitems(config, items):
    config._vistance_builds = [n for n in BUILDS if any(_uses(i, n) for i in items)]
    waiting = {i.path for i in items if any(_uses(i, n) for n in BUILDS)}
    items.sort(key=lambda i: i.path in waiting)   # stable: the modules that wait for a build run last


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    global _POOL
    names = getattr(session.config, "_vistance_builds", [])
    if session.config.option.collectonly or not names:
        return
    _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vistance-build")   # one build at a time
    for name in names:
        _TMP.append(Path(tempfile.mkdtemp(prefix=f"vistance-{name}-")))
        _STARTED[name] = _POOL.submit(BUILDS[name], _TMP[-1])


def pytest_sessionfinish(session):
    if _POOL is not None:
        with _LOCK:
            _STOPPING.set()
            running = list(_LIVE)
        for proc in running:        # a build still running (-x, Ctrl-C): stop it
            _stop(proc)
        _POOL.shutdown(wait=True, cancel_futures=True)
    for tmp in _TMP:
        shutil.rmtree(tmp, ignore_errors=True)


def _built(name, tmp_path_factory):
    if name in _STARTED:
        return _STARTED[name].result()
    return BUILDS[name](tmp_path_factory.mktemp(name))


OUT_OF_DATE: set[Path] = set()   # tiny projects a test left with stages out of date (see up_to_date)


def up_to_date(project):
    """``project`` (a :func:`tiny_project`) after ``dvc repro``, where a test left stages out of date (the
    forced re-run of tests/test_pipeline.py: the cards print its new training time). The module fixtures of
    the tests that share the project take it from here."""
    dst, env, _first = project
    if dst in OUT_OF_DATE:
        run_ok(["dvc", "repro"], dst, env)
        OUT_OF_DATE.discard(dst)
    return project


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory):
    """``(folder, env, the first repro's CompletedProcess)``: the tiny project after ``dvc repro``, once a session.

    tests/test_pipeline.py checks what it builds, tests/test_dvc_staleness.py what ``dvc status`` says after
    a change (each of those restores what it changed).
    """
    return _built("tiny_project", tmp_path_factory)


@pytest.fixture(scope="session")
def own_codebook_example(tmp_path_factory):
    """examples/own-codebook, run once by its ``run.sh`` (tests/test_example_own_codebook.py)."""
    return _built("own_codebook_example", tmp_path_factory)
