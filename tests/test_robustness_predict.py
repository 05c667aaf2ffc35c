"""Hostile input to ``vistance predict`` and bit-identical reruns.

Contract: JSONL ``{"id", "text"}`` in, one prediction per valid line out (input order), a bad
line rejected with ``FILE:LINE: reason`` on stderr, exit 0 (all processed) / 1 (some rejected
or the command failed) / 2 (usage). Outcomes are recorded in ``docs/robustness.md``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest

from vistance.labels.schema import default_schema
from vistance.predict import MAX_TEXT_CHARS, PredictReport, iter_requests

THEMES, TONES = default_schema().theme_names, default_schema().tone_names

ROOT = Path(__file__).resolve().parents[1]

COOP = ["Hai nước nhất trí tăng cường hợp tác kinh tế, thương mại và đầu tư.",
        "Lãnh đạo hai bên ký kết thỏa thuận hợp tác về giáo dục và văn hóa.",
        "Việt Nam và Nhật Bản thúc đẩy quan hệ đối tác chiến lược toàn diện."]
CONT = ["Việt Nam kiên quyết phản đối hành vi vi phạm chủ quyền trên Biển Đông.",
        "Tàu nước ngoài xâm phạm vùng đặc quyền kinh tế, gây căng thẳng trên biển.",
        "Bộ Ngoại giao lên án việc triển khai giàn khoan trái phép trong vùng biển."]
NEUT = ["Hội nghị thường niên sẽ diễn ra tại Hà Nội vào tháng tới.",
        "Đoàn đại biểu đã đến thủ đô vào chiều ngày hôm qua.",
        "Thông tin chi tiết sẽ được công bố trong tuần tới."]


def synthetic_training_set(copies: int = 6):
    texts, themes, tones = [], [], []
    for k in range(copies):
        for group, tone, theme in ((COOP, "cooperative", ["economy_trade"]), (CONT, "contentious", ["maritime"]),
                                   (NEUT, "neutral", ["other"])):
            for t in group:
                texts.append(f"{t} Bản tin số {k}.")
                themes.append(theme)
                tones.append(tone)
    return texts, themes, tones


@pytest.fixture(scope="module")
def tfidf_folder(tmp_path_factory):
    from vistance.models.tfidf import TfidfModel

    folder = tmp_path_factory.mktemp("models") / "tfidf"
    TfidfModel(segmenter="syllable", tune_thresholds=False).fit(*synthetic_training_set()).save(folder)
    return folder


@pytest.fixture(scope="module")
def lexicon_folder(tmp_path_factory):
    """The cheapest model to load in a subprocess (no scikit-learn import): for the exit-code tests."""
    from vistance.models.lexicon import LexiconModel

    folder = tmp_path_factory.mktemp("models") / "lexicon"
    LexiconModel().save(folder)
    return folder


def run_cli(*args, env=None, timeout=180):
    e = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vistance.cli", *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout)


def requests(path):
    report = PredictReport()
    return list(iter_requests(path, report)), report


def j(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


# (line as it appears in the file, None if it is predicted, else the message fragment)
CASES = [
    (j({"id": "ok1", "text": COOP[0]}), None),
    ("{not json", "invalid JSON (Expecting property name enclosed in double quotes)"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('"a string"', "expected a JSON object, got str"),
    ("42", "expected a JSON object, got int"),
    ("null", "expected a JSON object, got NoneType"),
    (j({"text": COOP[1]}), "missing or non-string 'id'"),
    (j({"id": 7, "text": COOP[1]}), "missing or non-string 'id'"),
    (j({"id": None, "text": COOP[1]}), "missing or non-string 'id'"),
    (j({"id": "", "text": COOP[1]}), "missing or non-string 'id'"),
    (j({"id": "   ", "text": COOP[1]}), "missing or non-string 'id'"),
    (j({"id": "no-text"}), "missing or non-string 'text' for id 'no-text'"),
    (j({"id": "null-text", "text": None}), "missing or non-string 'text'"),
    (j({"id": "list-text", "text": ["a", "b"]}), "missing or non-string 'text'"),
    (j({"id": "num-text", "text": 3.5}), "missing or non-string 'text'"),
    (j({"id": "empty", "text": ""}), "empty 'text' for id 'empty'"),
    (j({"id": "blank", "text": " \t\n "}), "empty 'text' for id 'blank'"),
    (j({"id": "invisible", "text": "\u200b\u200d\ufeff\u00ad"}), "empty 'text' for id 'invisible'"),
    (j({"id": "controls", "text": "\x01\x02\x7f"}), "empty 'text' for id 'controls'"),
    (j({"id": "ok1", "text": CONT[0]}), "duplicate id 'ok1' (kept the first)"),
    (j({"id": "too-long", "text": "a" * (MAX_TEXT_CHARS + 1)}), f"longer than {MAX_TEXT_CHARS} characters"),
    ('{"id": "sur1", "text": "lone \\udc00 surrogate"}', "lone UTF-16 surrogate"),
    ('{"id": "\\ud83d", "text": "lone high surrogate in the id"}', "lone UTF-16 surrogate"),
    ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ('{"id": "big", "text": "x", "n": ' + "1" * 5000 + "}", "invalid JSON (Exceeds the limit"),
    ('{"id": "nan", "text": NaN}', "missing or non-string 'text'"),
    (j({"id": "english", "text": "The two countries agreed to boost trade and investment."}), None),
    (j({"id": "chinese", "text": "两国同意加强经贸合作。"}), None),
    (j({"id": "arabic", "text": "اتفق البلدان على تعزيز التعاون"}), None),
    (j({"id": "emoji", "text": "🇻🇳🤝🇯🇵 hợp tác 💪🏽👍"}), None),
    (j({"id": "emoji-only", "text": "😀😀😀"}), None),
    (j({"id": "nfd", "text": unicodedata.normalize("NFD", CONT[0])}), None),
    (j({"id": "nfc", "text": CONT[0]}), None),
    (j({"id": "noise", "text": "Hai\u200b nước\x07 nhất\u00a0trí \u202ahợp tác\u202c."}), None),
    (j({"id": "long", "text": (COOP[0] + " ") * 1500}), None),  # ~100k characters
    (j({"id": "extra-fields", "text": NEUT[0], "lang": "vi", "meta": {"x": [1, 2]}}), None),
    (j({"id": "ids are any non-blank string / 🆔", "text": NEUT[1]}), None),
    ("", None),  # blank lines are skipped, not counted
    ("   ", None),
]


def write_cases(path: Path) -> list[tuple[int, str, str | None]]:
    """Write CASES plus a Latin-1 and a NUL line; return (line number, line, fragment) of the counted lines."""
    raw = b""
    out = []
    for n, (line, frag) in enumerate(CASES, start=1):
        raw += line.encode("utf-8") + b"\n"
        if line.strip():
            out.append((n, line, frag))
    n = len(CASES)
    raw += j({"id": "latin1", "text": "Café"}).encode("latin-1") + b"\n"
    raw += b'{"id": "nul", "text": "a\x00b"}\n'
    out += [(n + 1, "latin1", "not UTF-8 text (invalid byte 0xe9)"), (n + 2, "nul", "NUL bytes")]
    path.write_bytes(raw)
    return out


def test_every_hostile_line_is_predicted_or_rejected_with_its_number(tmp_path):
    inp = tmp_path / "in.jsonl"
    counted = write_cases(inp)
    got, report = requests(inp)
    errors = {e.line: e for e in report.errors}
    assert report.read == len(counted)
    for n, line, frag in counted:
        if frag is None:
            assert n not in errors, (n, line[:60], errors.get(n))
        else:
            assert n in errors and frag in errors[n].reason, (n, frag, errors.get(n))
            assert str(errors[n]).startswith(f"{inp}:{n}: ")
    ids = [pid for pid, _ in got]
    assert len(ids) == len(set(ids)) == sum(1 for _n, _l, f in counted if f is None)
    assert all(isinstance(t, str) and t.strip() for _, t in got)


def test_text_at_the_length_limit_is_accepted_and_one_more_character_rejected(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text(j({"id": "max", "text": "a" * MAX_TEXT_CHARS}) + "\n" + j({"id": "over", "text": "a" * (MAX_TEXT_CHARS + 1)}) + "\n",
                   encoding="utf-8")
    got, report = requests(inp)
    assert [g[0] for g in got] == ["max"] and [e.line for e in report.errors] == [2]


def test_cli_predict_contract_on_hostile_input(tmp_path, tfidf_folder):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out" / "pred.jsonl"
    counted = write_cases(inp)
    r = run_cli("predict", "--model", tfidf_folder, "--input", inp, "--output", out)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    rejected = [(n, frag) for n, _l, frag in counted if frag is not None]
    for n, frag in rejected:
        assert f"vistance: {inp}:{n}: " in r.stderr and frag in r.stderr, (n, frag)
    ok = [n for n, _l, frag in counted if frag is None]
    assert r.stderr.strip().splitlines()[-1] == (
        f"predicted {len(ok)} of {len(counted)} line(s) -> {out}; {len(rejected)} rejected")
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in rows] == [json.loads(l)["id"] for n, l, frag in counted if frag is None]
    for x in rows:
        assert set(x) == {"id", "themes", "tone", "scores"}
        assert x["themes"] and set(x["themes"]) <= set(THEMES) and x["tone"] in TONES
        assert abs(sum(x["scores"]["tone"].values()) - 1) < 1e-5
    by_id = {x["id"]: x for x in rows}
    assert by_id["nfd"]["scores"] == by_id["nfc"]["scores"]  # NFD input is normalised first


def _one(tmp_path, pid, text):
    f = tmp_path / f"{pid}.jsonl"
    f.write_text(j({"id": pid, "text": text}) + "\n", encoding="utf-8")
    return f


def test_line_ends_bom_and_utf16_are_repaired(tmp_path):
    lines = [j({"id": f"p{i}", "text": t}) for i, t in enumerate(COOP + CONT)]
    variants = {
        "lf": ("\n".join(lines) + "\n").encode("utf-8"),
        "crlf": ("\r\n".join(lines) + "\r\n").encode("utf-8"),
        "cr": ("\r".join(lines)).encode("utf-8"),
        "bom": b"\xef\xbb\xbf" + ("\n".join(lines)).encode("utf-8"),
        "utf16": ("\r\n".join(lines) + "\r\n").encode("utf-16"),
    }
    outputs = {}
    for name, data in variants.items():
        (tmp_path / f"{name}.jsonl").write_bytes(data)
        got, report = requests(tmp_path / f"{name}.jsonl")
        assert not report.errors and report.read == 6, (name, report.errors)
        outputs[name] = got
    assert all(v == outputs["lf"] for v in outputs.values())


def test_utf16_without_bom_is_one_error_and_an_empty_file_is_fine(tmp_path, lexicon_folder):
    u16 = tmp_path / "u16.jsonl"
    u16.write_bytes(("\n".join(j({"id": f"p{i}", "text": t}) for i, t in enumerate(COOP)) + "\n").encode("utf-16-le"))
    r = run_cli("predict", "--model", lexicon_folder, "--input", u16, "--output", tmp_path / "o1.jsonl")
    assert r.returncode == 1 and r.stderr.count("vistance: ") == 1
    assert f"vistance: {u16}: looks like UTF-16 without a byte-order mark" in r.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = run_cli("predict", "--model", lexicon_folder, "--input", empty, "--output", tmp_path / "o2.jsonl")
    assert r.returncode == 0 and "predicted 0 of 0 line(s)" in r.stderr
    assert (tmp_path / "o2.jsonl").read_bytes() == b""


def test_cli_predict_usage_and_failure_exit_codes(tmp_path, lexicon_folder):
    inp = _one(tmp_path, "x", COOP[0])
    r = run_cli("predict", "--input", inp, "--output", tmp_path / "o.jsonl")  # no --model
    assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("predict", "--model", lexicon_folder, "--input", inp, "--output", tmp_path / "o.jsonl", "--batch-size", "many")
    assert r.returncode == 2
    r = run_cli("predict", "--model", lexicon_folder, "--input", tmp_path / "missing.jsonl", "--output", tmp_path / "o.jsonl")
    assert r.returncode == 1 and f"vistance: {tmp_path / 'missing.jsonl'}: no such input file" in r.stderr
    # a failing run leaves an existing output untouched
    out = tmp_path / "keep.jsonl"
    out.write_text("previous results\n", encoding="utf-8")
    r = run_cli("predict", "--model", tmp_path / "no-model", "--input", inp, "--output", out)
    assert r.returncode == 1 and "no such model folder" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text(encoding="utf-8") == "previous results\n"
    # --debug shows the traceback
    r = run_cli("--debug", "predict", "--model", tmp_path / "no-model", "--input", inp, "--output", out)
    assert r.returncode != 0 and "Traceback" in r.stderr and "ModelError" in r.stderr
    # fully valid input: exit 0, nothing on stderr but the summary
    r = run_cli("predict", "--model", lexicon_folder, "--input", inp, "--output", tmp_path / "ok.jsonl")
    assert r.returncode == 0 and "vistance:" not in r.stderr and "predicted 1 of 1 line(s)" in r.stderr


# -- bit-identical reruns --------------------------------------------------------------------------
RERUN = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from vistance.cli import main
    from vistance.corpus import read_paragraphs
    from vistance.models.tfidf import TfidfModel

    out, raws = Path(sys.argv[1]), sys.argv[2:]
    assert main(["ingest", *raws, "-o", str(out / "p.jsonl")]) == 0
    paras = read_paragraphs(out / "p.jsonl")
    def label(t):
        if any(w in t for w in ("phản đối", "căng thẳng", "tranh chấp", "vi phạm")):
            return ["maritime"], "contentious"
        if "hợp tác" in t:
            return ["economy_trade", "political_relations"], "cooperative"
        return ["political_relations"], "neutral"
    labs = [label(p.text) for p in paras]
    m = TfidfModel(segmenter="syllable", tune_thresholds=True, cv_folds=3, seed=0)
    m.fit([p.text for p in paras], [l[0] for l in labs], [l[1] for l in labs], groups=[p.article_id for p in paras])
    m.save(out / "model")
    with open(out / "in.jsonl", "w", encoding="utf-8") as fh:
        for p in paras:
            fh.write(json.dumps({"id": p.paragraph_id, "text": p.text}, ensure_ascii=False) + "\\n")
    assert main(["predict", "--model", str(out / "model"), "--input", str(out / "in.jsonl"),
                 "--output", str(out / "pred.jsonl")]) == 0
    print(len(paras), [round(float(x), 6) for x in m.thresholds_])
''')


def test_ingest_fit_and_predict_are_byte_identical_under_different_hash_seeds(tmp_path):
    script = tmp_path / "rerun.py"
    script.write_text(RERUN, encoding="utf-8")
    outs = []
    for seed in ("0", "4242"):
        out = tmp_path / f"run{seed}"
        out.mkdir()
        e = {**os.environ, "PYTHONHASHSEED": seed, "HF_HUB_OFFLINE": "1"}
        r = subprocess.run([sys.executable, str(script), str(out), str(ROOT / "data" / "raw")],
                           capture_output=True, text=True, env=e, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append((out, r.stdout))
    (a, sa), (b, sb) = outs
    assert sa == sb and int(sa.split()[0]) > 20
    for name in ("p.jsonl", "pred.jsonl", "model/vocabulary.json", "model/tfidf.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma = json.loads((a / "model" / "manifest.json").read_text(encoding="utf-8"))["files"]
    mb = json.loads((b / "model" / "manifest.json").read_text(encoding="utf-8"))["files"]
    # model.skops is the one exception: skops names the zip members after id() (memory addresses)
    # and stamps them with the time, so its bytes (and SHA-256) differ on every save although the
    # model is the same -- the identical predictions above are the check. See docs/robustness.md.
    assert set(ma) == set(mb) and {k: v for k, v in ma.items() if k != "model.skops"} == \
        {k: v for k, v in mb.items() if k != "model.skops"}
