"""The prediction engine: streaming, batched, order-preserving, the same output for any number of
processes, processes only for fork-safe kinds, atomic outputs."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from vistance.labels.schema import default_schema
from vistance.models.base import ModelBase, Scores
from vistance.models.lexicon import LexiconModel
from vistance.predict import (chunked, parallel_map, predict_articles, predict_batches, predict_file, resolve_jobs,
                              workers_for)

THEMES, TONES = default_schema().theme_names, default_schema().tone_names

TWO = pytest.mark.skipif(resolve_jobs(2) < 2, reason="needs fork and two cores")


@pytest.fixture(scope="module")
def lexicon():
    return LexiconModel().fit([], [], [])


@pytest.fixture(scope="module")
def requests(seed_paragraphs):
    return [(f"r{i:04d}", p.text) for i, p in enumerate(seed_paragraphs * 3)]


def write_requests(path, reqs):
    with open(path, "w", encoding="utf-8") as fh:
        for pid, text in reqs:
            fh.write(json.dumps({"id": pid, "text": text}, ensure_ascii=False) + "\n")


class EchoModel(ModelBase):
    """Scores that encode the text length (so order mistakes show); not fork-safe (the default)."""

    kind = "echo"

    def predict_proba(self, texts, batch_size=None):
        n = np.array([len(t) for t in texts], dtype=float)[:, None]
        th = np.tile(n, (1, len(THEMES))) % 97 / 97
        return Scores(th, np.tile([0.2, 0.3, 0.5], (len(texts), 1)))


class ExplodingModel(EchoModel):
    fork_safe = True

    def predict_proba(self, texts, batch_size=None):
        if any("BOOM" in t for t in texts):
            raise RuntimeError("model failed")
        return super().predict_proba(texts)


def test_capabilities_decide_the_processes(lexicon):
    assert workers_for(lexicon, 2) == resolve_jobs(2)      # lexicon and tfidf are fork_safe
    assert workers_for(EchoModel(), 8) == 1                  # a kind that does not say so runs in-process
    info = {}
    list(predict_batches(lexicon, [[("a", "Biển Đông")]], info=info))
    assert info["jobs"] == 1                                 # a short stream starts no workers


@TWO
def test_output_is_identical_and_in_order_for_any_number_of_processes(lexicon, requests):
    batches = list(chunked(requests, 7))
    one = [r for b in predict_batches(lexicon, batches, jobs=1) for r in b]
    info = {}
    two = [r for b in predict_batches(lexicon, batches, jobs=2, info=info) for r in b]
    assert info["jobs"] == 2 and one == two
    assert [r["id"] for r in one] == [pid for pid, _ in requests]


def test_the_stream_is_read_lazily(lexicon):
    read = []

    def source():
        for i in range(1000):
            read.append(i)
            yield [(f"p{i}", "Hai nước tăng cường hợp tác.")]

    stream = predict_batches(lexicon, source(), jobs=2)
    next(stream)
    assert len(read) <= 8  # the look-ahead (4 batches) plus what the workers hold, not the whole input
    stream.close()


@TWO
def test_predict_file_matches_one_process_and_reports(tmp_path, lexicon, requests):
    src = tmp_path / "in.jsonl"
    write_requests(src, requests + [("r0000", "dup")])
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rep1 = predict_file(lexicon, src, a, batch_size=16, jobs=1)
    rep2 = predict_file(lexicon, src, b, batch_size=16, jobs=2)
    assert a.read_bytes() == b.read_bytes() and rep2.jobs == 2
    assert rep1.written == len(requests) and len(rep1.errors) == 1  # the duplicate id is rejected
    assert [json.loads(l)["id"] for l in a.read_text(encoding="utf-8").splitlines()] == [p for p, _ in requests]


def test_a_failing_run_leaves_no_partial_output(tmp_path, requests):
    src = tmp_path / "in.jsonl"
    write_requests(src, requests[:50] + [("bad", "BOOM")] + requests[50:60])
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        predict_file(ExplodingModel(), src, out, batch_size=8, jobs=1)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_predict_articles_writes_atomically_in_paragraph_order(tmp_path, lexicon, seed_paragraphs):
    from conftest import SEEDS

    out = tmp_path / "articles.jsonl"
    rep = predict_articles(lexicon, [SEEDS], output_path=out, jobs=1)
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert rep.paragraphs == len(rows) == len(seed_paragraphs) and not rep.errors
    assert [r["id"] for r in rows] == [p.paragraph_id for p in seed_paragraphs]
    assert all(r["text"] and r["tone"] in TONES for r in rows)
    in_memory = predict_articles(lexicon, [SEEDS], jobs=1)
    assert in_memory.records == rows


def test_parallel_map_keeps_order():
    assert list(parallel_map(_square, range(50), context=3, jobs=2)) == [3 * i * i for i in range(50)]


def _square(k, i):
    return k * i * i


def test_explain_only_for_kinds_that_can(tmp_path, lexicon):
    src = tmp_path / "in.jsonl"
    write_requests(src, [("a", "Hai nước ký kết hiệp định thương mại tự do.")])
    predict_file(lexicon, src, tmp_path / "o.jsonl", explain=True, jobs=1)
    assert "explain" not in json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8"))
    assert os.path.getsize(tmp_path / "o.jsonl") > 0
