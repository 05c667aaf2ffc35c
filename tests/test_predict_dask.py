"""``--engine dask``: a 2-worker local cluster on loopback gives byte-identical output to the local
engine (``vistance predict`` and ``vistance analyze``, from JSONL or Parquet), each worker loads the model
folder once, and an unreachable scheduler is one clear error."""
from __future__ import annotations

import json
import socket

import pytest

pytest.importorskip("distributed")

from vistance.cli import main  # noqa: E402
from vistance.predict import predict_file  # noqa: E402
from vistance.predict_dask import DaskEngine  # noqa: E402


@pytest.fixture(scope="module")
def engine(lexicon_folder):
    with DaskEngine(lexicon_folder, n_workers=2) as eng:
        yield eng


@pytest.fixture(scope="module")
def source(tmp_path_factory, seed_paragraphs):
    path = tmp_path_factory.mktemp("in") / "in.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i, p in enumerate(seed_paragraphs * 3):
            fh.write(json.dumps({"id": f"r{i:04d}", "text": p.text}, ensure_ascii=False) + "\n")
        fh.write('{"id": "r0000", "text": "dup"}\nnot json\n{"id": "x", "text": "   "}\n')
    return path


def test_dask_output_is_byte_identical_to_the_local_engine(tmp_path, lexicon_folder, engine, source):
    from vistance.models import load_model

    model = load_model(lexicon_folder)
    a, b = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    local = predict_file(model, source, a, batch_size=16, jobs=1, progress=False)
    dask = predict_file(model, source, b, batch_size=16, progress=False, engine=engine)
    assert a.read_bytes() == b.read_bytes() and local.written > 100
    assert [str(e) for e in local.errors] == [str(e) for e in dask.errors] and dask.rejected == 3
    assert dask.jobs == 2
    assert sorted(engine.model_loads().values()) == [1, 1]  # each worker loaded the folder once


def test_parquet_input_on_dask_gives_the_bytes_of_jsonl_on_the_local_engine(tmp_path, lexicon_folder, engine, source):
    """The same records as Parquet (a file of several row groups, and a folder of parts) on the cluster."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    from vistance.models import load_model

    model = load_model(lexicon_folder)
    recs = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    table = pa.Table.from_pylist(recs, schema=pa.schema([("id", pa.string()), ("text", pa.string())]))
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=40)
    (tmp_path / "parts").mkdir()
    for k, lo in enumerate(range(0, len(recs), 60)):
        pq.write_table(table.slice(lo, 60), tmp_path / "parts" / f"part.{k}.parquet")
    local = predict_file(model, source, tmp_path / "local.jsonl", batch_size=16, jobs=1, progress=False)
    for src in ("in.parquet", "parts"):
        rep = predict_file(model, tmp_path / src, tmp_path / f"{src}.out", batch_size=16, progress=False, engine=engine)
        assert (tmp_path / f"{src}.out").read_bytes() == (tmp_path / "local.jsonl").read_bytes(), src
        assert rep.written == local.written and [e.reason for e in rep.errors] == [
            e.reason for e in local.errors if "JSON" not in e.reason]  # the JSONL's "not json" line has no row


def test_analyze_with_dask_matches_local(tmp_path, lexicon_folder, engine, seed_paragraphs):
    from vistance.analysis.run import analyse_corpus
    from vistance.corpus import write_paragraphs

    paras = tmp_path / "paragraphs.jsonl"
    write_paragraphs(seed_paragraphs, paras)
    from vistance.config import AnalysisConfig

    settings = AnalysisConfig(n_boot=20, batch_size=8)
    kw = dict(progress=False, plots=False)
    analyse_corpus(lexicon_folder, paras, tmp_path / "local", settings.model_copy(update={"n_jobs": 1}), **kw)
    rep = analyse_corpus(lexicon_folder, paras, tmp_path / "dask", settings, engine=engine, **kw)
    for name in ("predictions.jsonl", "tone_by_counterpart_period_theme.csv", "summary.json"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    assert rep.jobs == 2
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    from vistance.io import read_jsonl

    (tmp_path / "pq").mkdir()  # the same paragraphs as Parquet, under the same stem (the default corpus)
    pq.write_table(pa.Table.from_pylist(read_jsonl(paras)), tmp_path / "pq" / "paragraphs.parquet", row_group_size=25)
    analyse_corpus(lexicon_folder, tmp_path / "pq" / "paragraphs.parquet", tmp_path / "dask_pq", settings, engine=engine, **kw)
    for name in ("predictions.jsonl", "tone_by_counterpart_period_theme.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask_pq" / name).read_bytes(), name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, lexicon_folder, source, capsys, monkeypatch):
    monkeypatch.setattr("vistance.predict_dask.CONNECT_TIMEOUT_S", 2.0)
    out = tmp_path / "out.jsonl"
    rc = main(["predict", "--model", str(lexicon_folder), "--input", str(source), "--output", str(out),
               "--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["predict", "--model", str(lexicon_folder), "--input", str(source), "--output", str(out),
                 "--scheduler", "tcp://127.0.0.1:1"]) == 2  # --scheduler without --engine dask


def test_a_scheduler_without_workers_is_one_clear_error(lexicon_folder):
    from distributed import LocalCluster

    from vistance.errors import VistanceError

    with LocalCluster(n_workers=0, host="127.0.0.1", protocol="tcp", dashboard_address=None, processes=False) as cluster:
        with pytest.raises(VistanceError, match="has no worker"):
            DaskEngine(lexicon_folder, scheduler=cluster.scheduler_address, timeout=1).open()
