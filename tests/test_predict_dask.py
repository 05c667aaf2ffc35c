"""``--engine dask``: a 2-worker local cluster on loopback gives byte-identical output to the local
engine (``vistance predict`` and ``vistance analyze``), each worker loads the model folder once, and an
unreachable scheduler is one clear error."""
from __future__ import annotations

import json
import socket

import pytest

pytest.importorskip("distributed")

from vistance.cli import main  # noqa: E402
from vistance.models.lexicon import LexiconModel  # noqa: E402
from vistance.predict import predict_file  # noqa: E402
from vistance.predict_dask import DaskEngine  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("lexicon")
    LexiconModel().fit([], [], []).save(out)
    return out


@pytest.fixture(scope="module")
def engine(folder):
    with DaskEngine(folder, n_workers=2) as eng:
        yield eng


@pytest.fixture(scope="module")
def source(tmp_path_factory, seed_paragraphs):
    path = tmp_path_factory.mktemp("in") / "in.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i, p in enumerate(seed_paragraphs * 3):
            fh.write(json.dumps({"id": f"r{i:04d}", "text": p.text}, ensure_ascii=False) + "\n")
        fh.write('{"id": "r0000", "text": "dup"}\nnot json\n{"id": "x", "text": "   "}\n')
    return path


def test_dask_output_is_byte_identical_to_the_local_engine(tmp_path, folder, engine, source):
    from vistance.models import load_model

    model = load_model(folder)
    a, b = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    local = predict_file(model, source, a, batch_size=16, jobs=1, progress=False)
    dask = predict_file(model, source, b, batch_size=16, progress=False, engine=engine)
    assert a.read_bytes() == b.read_bytes() and local.written > 100
    assert [str(e) for e in local.errors] == [str(e) for e in dask.errors] and dask.rejected == 3
    assert dask.jobs == 2
    assert sorted(engine.model_loads().values()) == [1, 1]  # each worker loaded the folder once


def test_analyze_with_dask_matches_local(tmp_path, folder, engine, seed_paragraphs):
    from vistance.analysis.run import analyse_corpus
    from vistance.corpus import write_paragraphs

    paras = tmp_path / "paragraphs.jsonl"
    write_paragraphs(seed_paragraphs, paras)
    from vistance.config import AnalysisConfig

    settings = AnalysisConfig(n_boot=20, batch_size=8)
    kw = dict(progress=False, plots=False)
    analyse_corpus(folder, paras, tmp_path / "local", settings.model_copy(update={"n_jobs": 1}), **kw)
    rep = analyse_corpus(folder, paras, tmp_path / "dask", settings, engine=engine, **kw)
    for name in ("predictions.jsonl", "tone_by_counterpart_period_theme.csv", "summary.json"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    assert rep.jobs == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, folder, source, capsys, monkeypatch):
    monkeypatch.setattr("vistance.predict_dask.CONNECT_TIMEOUT_S", 2.0)
    out = tmp_path / "out.jsonl"
    rc = main(["predict", "--model", str(folder), "--input", str(source), "--output", str(out),
               "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["predict", "--model", str(folder), "--input", str(source), "--output", str(out),
                 "--scheduler", "tcp://127.0.0.1:1"]) == 2  # --scheduler without --engine dask


def test_a_scheduler_without_workers_is_one_clear_error(folder):
    from distributed import LocalCluster

    from vistance.errors import VistanceError

    with LocalCluster(n_workers=0, host="127.0.0.1", protocol="tcp", dashboard_address=None, processes=False) as cluster:
        with pytest.raises(VistanceError, match="has no worker"):
            DaskEngine(folder, scheduler=cluster.scheduler_address, timeout=1).open()
