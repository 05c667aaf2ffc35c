"""Labels are never lost: atomic, locked writes; idempotent imports; a SIGKILL mid-write leaves
the old or the new file; two imports at once keep both; the CLI contract of ``annotate import``
and ``labels check`` (exit 0 / 1 / 2, one message per problem naming the file and line)."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vistance.corpus import Paragraph, write_paragraphs
from vistance.labels.schema import Label
from vistance.labels.store import merge_labels, read_labels, write_labels


def sha(s: str) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def label(pid: str, themes=("political_relations",), tone="neutral", annotator="ann") -> Label:
    return Label(paragraph_id=pid, text_sha1=sha(pid), themes=list(themes), tone=tone, annotator=annotator,
                 annotated_at="2026-01-02T03:04:05+00:00")


def labels(prefix: str, n: int) -> list[Label]:
    tones = ("cooperative", "contentious", "neutral")
    return [label(f"{prefix}{i:05d}/p000", tone=tones[i % 3]) for i in range(n)]


def write_import(path: Path, labs) -> Path:
    path.write_text("".join(json.dumps(l.to_dict(), ensure_ascii=False) + "\n" for l in labs), encoding="utf-8")
    return path


def run_cli(*args, timeout=120, env=None):
    return subprocess.run([sys.executable, "-m", "vistance.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def state(path: Path):
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


# -- annotate import: contract and idempotence --------------------------------------------------------
def test_import_is_idempotent_and_a_second_import_changes_nothing(tmp_path):
    gold = tmp_path / "labels" / "gold.jsonl"
    write_labels(gold, labels("old", 5))
    batch = write_import(tmp_path / "batch.jsonl", labels("new", 7))
    r = run_cli("annotate", "import", batch, "--into", gold)
    assert r.returncode == 0, r.stderr
    assert f"import {batch} -> {gold}: 7 added, 0 unchanged, 0 conflict(s), 0 rejected" in r.stderr
    before = state(gold)
    r = run_cli("annotate", "import", batch, "--into", gold)
    assert r.returncode == 0 and "0 added, 7 unchanged, 0 conflict(s), 0 rejected" in r.stderr
    assert state(gold) == before  # not even rewritten (same bytes, inode and mtime)
    assert [l.paragraph_id for l in read_labels(gold)] == sorted(l.paragraph_id for l in labels("old", 5) + labels("new", 7))


def test_import_without_annotated_at_is_still_idempotent(tmp_path):
    gold = tmp_path / "gold.jsonl"
    recs = [{k: v for k, v in l.to_dict().items() if k != "annotated_at"} for l in labels("x", 3)]
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    assert run_cli("annotate", "import", batch, "--into", gold).returncode == 0
    before = state(gold)
    time.sleep(1.1)  # a new import time stamp would differ
    r = run_cli("annotate", "import", batch, "--into", gold)
    assert r.returncode == 0 and "3 unchanged" in r.stderr and state(gold) == before


def test_bad_judgements_are_rejected_by_line_and_the_rest_imported(tmp_path):
    gold = tmp_path / "gold.jsonl"
    good = labels("g", 3)
    ok_note = {**label("note/p000").to_dict(), "note": "line\u2028separator and \u0085 inside a string"}
    lines = [
        json.dumps(good[0].to_dict()),                                                 # 1 ok
        "{broken",                                                                     # 2
        json.dumps({**good[1].to_dict(), "themes": ["sea"]}),                          # 3 unknown theme
        json.dumps({**good[1].to_dict(), "tone": "hostile"}),                          # 4 unknown tone
        json.dumps({k: v for k, v in good[1].to_dict().items() if k != "tone"}),       # 5 missing field
        json.dumps(["not", "an", "object"]),                                           # 6
        '{"paragraph_id": "s\\udc00/p000", "text_sha1": "%s", "themes": ["other"], "tone": "neutral", "annotator": "a"}' % ("0" * 40),  # 7
        json.dumps({**good[1].to_dict(), "text_sha1": "abc"}),                         # 8 bad hash
        json.dumps({**good[1].to_dict(), "themes": ["other", "maritime"]}),            # 9 other + real theme
        json.dumps(good[2].to_dict()),                                                 # 10 ok
        json.dumps({**good[2].to_dict(), "tone": "contentious"}),                      # 11 duplicate in the same file
        json.dumps(ok_note, ensure_ascii=False),                                       # 12 ok (U+2028 is not a line end)
        "[" * 30_000 + "]" * 30_000,                                                   # 13 nested too deeply
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")  # BOM and CRLF: fine
    r = run_cli("annotate", "import", batch, "--into", gold)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for n, frag in [(2, "invalid JSON"), (3, "unknown theme"), (4, "unknown tone"), (5, "missing field"),
                    (6, "expected a JSON object"), (7, "lone UTF-16 surrogate"), (8, "40 lowercase hex"),
                    (9, "'other' cannot be combined"), (11, "duplicate judgement"), (13, "nested too deeply")]:
        assert f"vistance: {batch}:{n}: " in r.stderr and frag in r.stderr, (n, frag, r.stderr)
    assert "3 added" in r.stderr and "10 rejected" in r.stderr
    got = {l.paragraph_id: l for l in read_labels(gold)}
    assert sorted(got) == sorted([good[0].paragraph_id, good[2].paragraph_id, "note/p000"])
    assert got["note/p000"].note == ok_note["note"]


def test_a_conflict_keeps_the_stored_label_unless_replace(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_labels(gold, [label("a/p000", tone="neutral")])
    before = state(gold)
    batch = write_import(tmp_path / "b.jsonl", [label("a/p000", tone="contentious", annotator="other")])
    r = run_cli("annotate", "import", batch, "--into", gold)
    assert r.returncode == 1 and f"conflict: a/p000 is labelled ['political_relations']/neutral by ann in {gold}" in r.stderr
    assert f"{batch} says ['political_relations']/contentious by other" in r.stderr
    assert state(gold) == before
    r = run_cli("annotate", "import", batch, "--into", gold, "--replace")
    assert r.returncode == 0 and "1 replaced" in r.stderr
    assert read_labels(gold)[0].tone == "contentious"


def test_unreadable_import_files_change_nothing(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_labels(gold, labels("keep", 2))
    before = state(gold)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(label("x/p000").to_dict()).replace("ann", "Café").encode("utf-8").replace("Café".encode(), "Café".encode("latin-1")))
    # a JSONL file is read line by line (vistance.io): the bad line is named; a missing file is one error
    for f, frag in [(latin, ":1: not UTF-8"), (tmp_path / "missing.jsonl", ": cannot read")]:
        r = run_cli("annotate", "import", f, "--into", gold)
        assert r.returncode == 1 and f"vistance: {f}{frag}" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert state(gold) == before
    # the target itself is corrupt: refuse to touch it
    bad_gold = tmp_path / "bad_gold.jsonl"
    bad_gold.write_text(json.dumps(label("a/p000").to_dict()) + "\n{half a line", encoding="utf-8")
    before = state(bad_gold)
    r = run_cli("annotate", "import", write_import(tmp_path / "b.jsonl", labels("n", 2)), "--into", bad_gold)
    assert r.returncode == 1 and f"vistance: {bad_gold}:2: invalid JSON" in r.stderr
    assert state(bad_gold) == before


def test_csv_and_label_studio_imports_reject_the_broken_parts(tmp_path):
    gold = tmp_path / "gold.jsonl"
    good = labels("c", 2)
    f = tmp_path / "batch.csv"
    with open(f, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["paragraph_id", "text_sha1", "themes", "tone", "annotator"])
        w.writerow([good[0].paragraph_id, good[0].text_sha1, "political_relations|economy_trade", "neutral", "a"])
        w.writerow(["short-row"])
        w.writerow(["x", "y\x00z", "other", "neutral", "a"])       # csv reads NUL; the schema rejects the hash
        w.writerow(["huge", "z" * 200_000, "other", "neutral", "a"])  # beyond the csv module's field limit
        w.writerow([good[1].paragraph_id, good[1].text_sha1, "other", "neutral", "a"])
    r = run_cli("annotate", "import", f, "--into", gold)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"vistance: {f}:3: text_sha1 must be a non-empty string" in r.stderr
    assert f"vistance: {f}:4: text_sha1 must be 40 lowercase hex digits" in r.stderr
    assert f"vistance: {f}:5: broken CSV (field larger than field limit (131072)); the rest of the file is skipped" in r.stderr
    assert [l.paragraph_id for l in read_labels(gold)] == [good[0].paragraph_id]

    ls = tmp_path / "export.json"
    task = lambda l, tone: {"data": {"paragraph_id": l.paragraph_id, "text_sha1": l.text_sha1, "text": "x"},
                            "annotations": [{"completed_by": 3, "result": [
                                {"from_name": "themes", "value": {"choices": ["maritime"]}},
                                {"from_name": "tone", "value": {"choices": [tone]}}]}]}
    tasks = [task(good[1], "cooperative"), {"data": {"paragraph_id": "z/p000"}, "annotations": {"oops": 1}},
             {"data": {"paragraph_id": "z/p001"}, "annotations": [{"result": [{"value": "not a dict"}]}]},
             {"no": "data"}, {"data": {"paragraph_id": "z/p002"}, "annotations": []}]
    ls.write_text(json.dumps(tasks), encoding="utf-8")
    r = run_cli("annotate", "import", ls, "--into", gold)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    # tasks without a Label Studio id are named by their position (and paragraph id when there is one)
    assert (f"{ls}: task at position 1 (no Label Studio id) (paragraph z/p000): annotations are not in "
            "Label Studio's JSON or JSON_MIN export format") in r.stderr
    assert f"{ls}: task at position 2 (no Label Studio id) (paragraph z/p001): annotations are not" in r.stderr
    assert f"{ls}: task at position 3 (no Label Studio id) has no 'data' object and no 'paragraph_id'" in r.stderr
    assert "1 added" in r.stderr  # task 4 is not annotated yet: nothing to import, no error


def test_import_checks_ids_and_hashes_against_the_paragraphs(tmp_path):
    paras = tmp_path / "p.jsonl"
    write_paragraphs([Paragraph(paragraph_id=f"a/p00{i}", article_id="a", index=i, text="x", text_sha1=sha(f"a/p00{i}"))
                      for i in range(2)], paras)
    stale = Label(**{**label("a/p001").__dict__, "text_sha1": "f" * 40})
    batch = write_import(tmp_path / "b.jsonl", [label("a/p000"), label("gone/p000"), stale])
    gold = tmp_path / "gold.jsonl"
    r = run_cli("annotate", "import", batch, "--into", gold, "--paragraphs", paras)
    assert r.returncode == 1 and "1 added" in r.stderr and "2 rejected" in r.stderr
    assert f"vistance: {batch}:2: unknown paragraph_id 'gone/p000'" in r.stderr
    assert f"vistance: {batch}:3: stale judgement of 'a/p001': text_sha1 does not match the current text" in r.stderr
    assert [l.paragraph_id for l in read_labels(gold)] == ["a/p000"]


def test_annotate_and_labels_usage_errors_exit_2(tmp_path):
    for args in (["annotate", "import"], ["annotate", "import", "x.jsonl", "--bogus"], ["labels", "check", "--nope"],
                 ["labels"], []):
        r = run_cli(*args)
        assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr, args


# -- labels check ----------------------------------------------------------------------------------
def test_labels_check_contract(tmp_path):
    paras = tmp_path / "p.jsonl"
    write_paragraphs([Paragraph(paragraph_id=f"a/p00{i}", article_id="a", index=i, text="x", text_sha1=sha(f"a/p00{i}"))
                      for i in range(3)], paras)
    good = tmp_path / "good.jsonl"
    write_labels(good, [label("a/p000"), label("a/p001"), label("elsewhere/p000")])
    r = run_cli("labels", "check", good, "--paragraphs", paras)
    assert r.returncode == 0 and "labels check ok: 3 label(s) in 1 file(s) (1 label(s) for paragraphs not in this corpus)" in r.stderr

    stale = tmp_path / "stale.jsonl"
    write_labels(stale, [Label(**{**label("a/p002").__dict__, "text_sha1": "e" * 40})])
    r = run_cli("labels", "check", good, stale, "--paragraphs", paras)
    assert r.returncode == 1 and "stale label: a/p002" in r.stderr and "labels check FAILED" in r.stderr

    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(good.read_bytes() + b'{"paragraph_id": "caf\xe9"}\n')
    empty_line_bad = tmp_path / "dup.jsonl"
    empty_line_bad.write_text(good.read_text(encoding="utf-8") * 2, encoding="utf-8")
    r = run_cli("labels", "check", latin, empty_line_bad, tmp_path / "missing.jsonl", good, "--paragraphs", paras)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"vistance: {latin}:4: not UTF-8 text" in r.stderr
    assert f"vistance: {empty_line_bad}:4: duplicate paragraph_id 'a/p000'" in r.stderr
    assert f"vistance: {tmp_path / 'missing.jsonl'}: no such label file" in r.stderr
    assert "labels check FAILED: 3 label(s) in 4 file(s)" in r.stderr  # good.jsonl still checked

    r = run_cli("labels", "check", good, "--paragraphs", tmp_path / "nowhere.jsonl")
    assert r.returncode == 0 and "not found; checking the labels against the schema only" in r.stderr
    bad_paras = tmp_path / "bad_p.jsonl"
    bad_paras.write_bytes(paras.read_bytes() + b"\xff\xfe\n")
    r = run_cli("labels", "check", good, "--paragraphs", bad_paras)
    assert r.returncode == 1 and f"vistance: {bad_paras}:4: not UTF-8" in r.stderr and "Traceback" not in r.stderr


# -- atomic writes under SIGKILL, and two writers at once ----------------------------------------------
# The child runs the real CLI with one fault injected from outside (no hook in the product code):
# store.write_labels' file object sleeps after each line, so there is a window to kill it in, and
# optionally waits at a barrier so two writers overlap as much as possible.
SLOW_CHILD = textwrap.dedent('''
    import contextlib, os, sys, time
    import vistance.labels.store as store

    real_atomic_write = store.atomic_write
    delay = float(os.environ.get("T_DELAY", "0"))
    marker, other, wait = os.environ.get("T_MARKER"), os.environ.get("T_OTHER"), float(os.environ.get("T_WAIT", "0"))

    class Slow:
        def __init__(self, fh):
            self.fh, self.n = fh, 0
        def write(self, s):
            if self.n == 0 and marker:
                open(marker, "w").close()          # "I have read the store and started writing"
                deadline = time.monotonic() + wait
                while other and not os.path.exists(other) and time.monotonic() < deadline:
                    time.sleep(0.01)
            self.n += 1
            out = self.fh.write(s)
            self.fh.flush()
            time.sleep(delay)
            return out
        def __getattr__(self, name):
            return getattr(self.fh, name)

    @contextlib.contextmanager
    def slow_atomic_write(path, *a, **k):
        with real_atomic_write(path, *a, **k) as fh:
            yield Slow(fh)

    store.atomic_write = slow_atomic_write
    if os.environ.get("T_NO_LOCK"):
        store.file_lock = lambda path, timeout=None: contextlib.nullcontext()
    from vistance.cli import main
    sys.exit(main(sys.argv[1:]))
''')


def start_child(script: Path, args, **env):
    e = {**os.environ, **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "child never started writing"
        time.sleep(0.005)


@pytest.fixture
def child(tmp_path):
    script = tmp_path / "slow_child.py"
    script.write_text(SLOW_CHILD, encoding="utf-8")
    return script


def expected_after_import(tmp_path, old, new) -> bytes:
    ref = tmp_path / "reference" / "gold.jsonl"
    write_labels(ref, old)
    merge_labels(ref, new)
    return ref.read_bytes()


def test_sigkill_in_the_middle_of_writing_leaves_the_old_file(tmp_path, child):
    gold = tmp_path / "labels" / "gold.jsonl"
    old, new = labels("old", 300), labels("new", 1500)
    write_labels(gold, old)
    old_bytes = gold.read_bytes()
    new_bytes = expected_after_import(tmp_path, old, new)
    batch = write_import(tmp_path / "batch.jsonl", new)
    marker = tmp_path / "writing"
    proc = start_child(child, ["annotate", "import", batch, "--into", gold], T_DELAY=0.002, T_MARKER=marker)
    wait_for(marker, proc)
    time.sleep(0.3)  # well inside the ~3.6 s write
    temps = list(gold.parent.glob(".gold.jsonl.*.tmp"))
    assert len(temps) == 1 and 0 < temps[0].stat().st_size < len(new_bytes)  # half written ...
    assert gold.read_bytes() == old_bytes                                    # ... but not visible
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert gold.read_bytes() == old_bytes
    assert [l.paragraph_id for l in read_labels(gold)] == [l.paragraph_id for l in old]
    # the dead writer's lock is gone with it (flock), and its temp file is never read: a rerun completes
    r = run_cli("annotate", "import", batch, "--into", gold, timeout=60)
    assert r.returncode == 0, r.stderr
    assert gold.read_bytes() == new_bytes


@pytest.mark.parametrize("kill_after", [0.05, 0.4, 0.9, 2.0])
def test_sigkill_at_any_moment_leaves_exactly_the_old_or_the_new_file(tmp_path, child, kill_after):
    gold = tmp_path / "gold.jsonl"
    old, new = labels("old", 200), labels("new", 800)
    write_labels(gold, old)
    old_bytes, new_bytes = gold.read_bytes(), expected_after_import(tmp_path, old, new)
    batch = write_import(tmp_path / "batch.jsonl", new)
    marker = tmp_path / "writing"
    proc = start_child(child, ["annotate", "import", batch, "--into", gold], T_DELAY=0.0005, T_MARKER=marker)
    wait_for(marker, proc)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert gold.read_bytes() in (old_bytes, new_bytes)
    read_labels(gold)  # and it parses


def test_two_imports_at_once_keep_both_label_sets(tmp_path, child):
    gold = tmp_path / "gold.jsonl"
    old, set_a, set_b = labels("old", 50), labels("a", 400), labels("b", 400)
    write_labels(gold, old)
    batches = [write_import(tmp_path / "a.jsonl", set_a), write_import(tmp_path / "b.jsonl", set_b)]
    marks = [tmp_path / "a.writing", tmp_path / "b.writing"]
    procs = [start_child(child, ["annotate", "import", batches[i], "--into", gold], T_DELAY=0.0005,
                         T_MARKER=marks[i], T_OTHER=marks[1 - i], T_WAIT=1.5) for i in (0, 1)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    got = {l.paragraph_id: l for l in read_labels(gold)}
    want = {l.paragraph_id: l for l in old + set_a + set_b}
    assert got == want
    assert sorted(int(e.split(" added")[0].split(": ")[-1]) for _o, e in results) == [400, 400]


def test_the_concurrency_test_would_catch_a_missing_lock(tmp_path, child):
    """Control: the same two imports with file_lock disabled lose one set (last writer wins)."""
    gold = tmp_path / "gold.jsonl"
    old, set_a, set_b = labels("old", 50), labels("a", 200), labels("b", 200)
    write_labels(gold, old)
    batches = [write_import(tmp_path / "a.jsonl", set_a), write_import(tmp_path / "b.jsonl", set_b)]
    marks = [tmp_path / "a.writing", tmp_path / "b.writing"]
    procs = [start_child(child, ["annotate", "import", batches[i], "--into", gold], T_MARKER=marks[i],
                         T_OTHER=marks[1 - i], T_WAIT=30, T_NO_LOCK=1) for i in (0, 1)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    got = {l.paragraph_id for l in read_labels(gold)}
    assert len(got) == 250  # old + one of the two sets: 200 labels lost without the lock


def test_every_label_write_is_atomic_and_locked():
    """The code paths that write label files go through atomic_write, and merges hold file_lock."""
    import inspect

    from vistance.labels import store

    assert "atomic_write(" in inspect.getsource(store.write_labels)
    src = inspect.getsource(store.merge_labels)
    assert src.index("with file_lock(path)") < src.index("read_labels(path") < src.index("write_labels(path")
