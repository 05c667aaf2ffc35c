"""Label Studio import on exports recorded from a real Label Studio 1.23.2 (tests/data/labelstudio/).

The recording (``make test-labelstudio`` with ``VISTANCE_LABELSTUDIO_RECORD``) holds ids and labels
only: seven synthetic paragraphs, annotators Alice Nguyen (user 2) and Bob Tran (user 3); two people
on p000, p001 (Bob first) and p004; Alice skips p002 (Bob labels it); Alice edits p003 later; p004
and p005 carry a model suggestion; Alice annotates p005 twice; nobody annotates p006.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vistance.errors import InputError, LabelError
from vistance.labels.agreement import agreement_report
from vistance.labels.annotation_io import (
    agreement_by_suggestion, disagreements, export_batch, import_judgements,
    judgements_to_import, label_studio_config, read_users_file, suggestion_agreement_lines, user_names)
from vistance.labels.schema import Label, label_from_dict
from vistance.labels.store import read_labels

DATA = Path(__file__).parent / "data" / "labelstudio"
USERS = DATA / "users.json"
ALICE, BOB = "Alice Nguyen", "Bob Tran"
FIRST = {
    "synth/p000": (["economy_trade", "political_relations"], "cooperative", ALICE, None),
    "synth/p001": (["maritime", "defense_security"], "contentious", BOB, None),
    "synth/p002": (["other"], "neutral", BOB, None),
    "synth/p003": (["science_technology", "people_culture_education"], "cooperative", ALICE, None),
    "synth/p004": (["science_technology"], "cooperative", ALICE, True),
    "synth/p005": (["economy_trade", "infrastructure"], "cooperative", ALICE, True),
}
SECOND = {
    "synth/p000": (["economy_trade"], "cooperative", BOB, None),
    "synth/p001": (["maritime"], "contentious", ALICE, None),
    "synth/p004": (["science_technology"], "neutral", BOB, True),
}


def view(labels):
    return {l.paragraph_id: (l.themes, l.tone, l.annotator, l.suggested) for l in labels}


def paragraphs():
    return [SimpleNamespace(**p) for p in json.loads((DATA / "paragraphs.json").read_text())]


def names():
    return read_users_file(USERS)


def edited(tmp_path, name, change):
    """A copy of a recorded export, changed by ``change(tasks)``."""
    tasks = json.loads((DATA / name).read_text())
    change(tasks)
    out = tmp_path / name
    out.write_text(json.dumps(tasks))
    return out


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "vistance.cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("name", ["export.json", "export_min.json"])
def test_every_annotation_arrives_under_its_annotators_name_in_its_pass(name):
    res = import_judgements(DATA / name, paragraphs(), names=names())
    assert res.rejected == []
    assert view(res.labels(1)) == FIRST
    assert view(res.labels(2)) == SECOND


def test_json_and_json_min_give_the_same_labels():
    a = import_judgements(DATA / "export.json", names=names())
    b = import_judgements(DATA / "export_min.json", names=names())
    assert a.label_studio.format == "JSON" and b.label_studio.format == "JSON_MIN"
    assert {n: [l.to_dict() for l in a.labels(n)] for n in (1, 2)} == {n: [l.to_dict() for l in b.labels(n)] for n in (1, 2)}


def test_skipped_superseded_and_unannotated_are_counted_not_dropped():
    s = import_judgements(DATA / "export.json", names=names()).label_studio
    assert (s.tasks, s.annotations, s.unannotated, dict(s.by_pass)) == (7, 11, 1, {1: 6, 2: 3})
    assert s.skipped == [f"{DATA / 'export.json'}: Label Studio task 3 (paragraph synth/p002), annotation 5 by {ALICE}"]
    assert s.superseded == [f"{DATA / 'export.json'}: Label Studio task 7 (paragraph synth/p005), annotation 10 by {ALICE}"]
    assert "1 skipped, 0 empty, 1 superseded, 1 task(s) not annotated" in s.summary()
    # JSON_MIN has no skipped annotations at all; the summary says so
    m = import_judgements(DATA / "export_min.json", names=names()).label_studio
    assert m.skipped == [] and "JSON_MIN leaves skipped annotations out" in m.summary()


def test_a_skip_is_not_a_label():
    res = import_judgements(DATA / "export.json", names=names())
    assert ("synth/p002", ALICE) not in {(l.paragraph_id, l.annotator) for n in (1, 2) for l in res.labels(n)}


def test_an_empty_annotation_is_counted(tmp_path):
    def empty_bobs_p002(tasks):
        task = next(t for t in tasks if t["data"]["paragraph_id"] == "synth/p002")
        next(a for a in task["annotations"] if not a["was_cancelled"])["result"] = []
    res = import_judgements(edited(tmp_path, "export.json", empty_bobs_p002), names=names())
    assert len(res.label_studio.empty) == 1 and "synth/p002" in res.label_studio.empty[0]
    assert "synth/p002" not in view(res.labels(1)) and res.rejected == []


def test_the_latest_edit_counts():
    (p003,) = [l for l in import_judgements(DATA / "export.json", names=names()).labels(1) if l.paragraph_id == "synth/p003"]
    task = next(t for t in json.loads((DATA / "export.json").read_text()) if t["data"]["paragraph_id"] == "synth/p003")
    (ann,) = task["annotations"]
    assert ann["updated_at"] > ann["created_at"] and p003.annotated_at == ann["updated_at"]
    assert p003.themes == ["science_technology", "people_culture_education"] and p003.tone == "cooperative"


def test_user_names_come_from_the_users_file():
    m = user_names(json.loads(USERS.read_text()))
    assert m["2"] == ALICE and m["bob@example.com"] == BOB and m["1"] == "admin@example.com"
    assert user_names({"results": json.loads(USERS.read_text())}) == m  # a paginated answer
    with pytest.raises(ValueError, match="/api/users"):
        user_names({"not": "users"})


def test_without_names_annotators_are_marked_ids_and_annotator_fills_only_missing_authors(tmp_path):
    res = import_judgements(DATA / "export.json", annotator="someone")
    assert {l.annotator for l in res.labels(1)} == {"label-studio-user-2", "label-studio-user-3"}
    assert res.label_studio.unnamed == {"2", "3"} and "--users FILE" in res.label_studio.summary()

    def anonymous(tasks):
        for t in tasks:
            for a in t["annotations"]:
                a.pop("completed_by")
    anon = import_judgements(edited(tmp_path, "export.json", anonymous), annotator="someone")
    # without authors the annotations of a task are one person's: the latest counts, the rest superseded
    assert {l.annotator for l in anon.labels(1)} == {"someone"} and anon.labels(2) == []


def test_an_explicit_pass_per_annotator(tmp_path):
    res = import_judgements(DATA / "export.json", names=names(), passes={BOB: 1, ALICE: 2})
    assert {l.annotator for l in res.labels(1)} == {BOB} and {l.annotator for l in res.labels(2)} == {ALICE}
    assert {l.paragraph_id for l in res.labels(2)} == {"synth/p000", "synth/p001", "synth/p003", "synth/p004", "synth/p005"}
    only_bob = import_judgements(DATA / "export.json", names=names(), passes={BOB: 1})
    assert any(f"annotator {ALICE!r} has no pass" in r for r in only_bob.rejected)


def test_a_third_annotator_is_rejected_by_name(tmp_path):
    def third(tasks):
        task = next(t for t in tasks if t["data"]["paragraph_id"] == "synth/p000")
        extra = copy.deepcopy(task["annotations"][0])
        extra.update(id=99, completed_by=1, created_at="2099-01-01T00:00:00Z", updated_at="2099-01-01T00:00:00Z")
        task["annotations"].append(extra)
    res = import_judgements(edited(tmp_path, "export.json", third), names=names())
    assert res.rejected == [f"{tmp_path / 'export.json'}: Label Studio task 1 (paragraph synth/p000), annotation 99 "
                            "by admin@example.com: a third annotator of this task; only two passes are routed by "
                            "order (map annotators to passes with --pass NAME=N)"]


@pytest.mark.parametrize("name", ["export.json", "export_min.json"])
def test_errors_name_the_label_studio_task_and_the_paragraph(tmp_path, name):
    def bad_tone(rows):
        for r in rows:
            if name == "export.json" and r["data"]["paragraph_id"] == "synth/p002":
                for a in r["annotations"]:
                    for x in a["result"]:
                        if x["from_name"] == "tone":
                            x["value"]["choices"] = ["angry"]
            elif name == "export_min.json" and r["paragraph_id"] == "synth/p002":
                r["tone"] = "angry"
    res = import_judgements(edited(tmp_path, name, bad_tone), names=names())
    assert len(res.rejected) == 1
    assert res.rejected[0].startswith(f"{tmp_path / name}: Label Studio task 3 (paragraph synth/p002), annotation 6 by {BOB}: "
                                      "unknown tone 'angry'")


def test_stale_and_unknown_paragraphs_are_rejected_by_task_id():
    paras = paragraphs()
    paras[0].text_sha1 = "f" * 40
    res = import_judgements(DATA / "export.json", paras[1:] + [paras[0]], names=names())
    assert len(res.rejected) == 2 and all("Label Studio task 1 (paragraph synth/p000)" in r and "stale" in r
                                          for r in res.rejected)


def test_something_that_is_not_a_label_studio_export_gets_advice(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps([{"id": 4, "foo": 1}]))
    res = import_judgements(f)
    assert res.rejected == [f"{f}: Label Studio task 4 has no 'data' object and no 'paragraph_id': not a task of "
                            "Label Studio's JSON or JSON_MIN export (export the project as JSON)"]
    f.write_text(json.dumps({"tasks": []}))
    with pytest.raises(InputError, match="export as JSON or JSON_MIN"):
        import_judgements(f)
    csv_export = tmp_path / "project.csv"
    csv_export.write_text('paragraph_id,text_sha1,themes,tone,annotator,annotation_id,id\nsynth/p000,x,"{""choices"": []}",neutral,2,1,1\n')
    with pytest.raises(InputError, match="Label Studio's CSV export.*export the project as JSON"):
        import_judgements(csv_export)


def test_the_old_single_pass_api_names_second_pass_labels_it_did_not_import():
    ok, rejected = judgements_to_import(DATA / "export.json")
    assert len(ok) == 6 and len(rejected) == 3 and all("pass-2 judgement" in r for r in rejected)


def test_cli_import_twice_changes_nothing_and_names_a_missing_second_target(tmp_path):
    one, two = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    args = ["annotate", "import", DATA / "export.json", "--into", one, "--second-into", two, "--users", USERS,
            "--annotator", "never-used"]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "6 added" in r.stderr and "3 added" in r.stderr and "1 skipped" in r.stderr
    assert view(read_labels(one)) == FIRST and view(read_labels(two)) == SECOND
    before = one.read_bytes(), two.read_bytes()
    r = run_cli(*args)
    assert r.returncode == 0 and "6 unchanged" in r.stderr and "3 unchanged" in r.stderr
    assert (one.read_bytes(), two.read_bytes()) == before

    r = run_cli("annotate", "import", DATA / "export_min.json", "--into", tmp_path / "only.jsonl", "--users", USERS)
    assert r.returncode == 1
    assert "3 pass-2 judgement(s) (a second annotator of the same tasks) not imported: give --second-into" in r.stderr
    assert len(read_labels(tmp_path / "only.jsonl")) == 6
    r = run_cli("annotate", "import", DATA / "export.json", "--into", tmp_path / "p.jsonl", "--pass", "bob")
    assert r.returncode == 2 and "--pass wants NAME=1 or NAME=2" in r.stderr


def test_agreement_and_adjudication_straight_from_the_import(tmp_path):
    one, two = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run_cli("annotate", "import", DATA / "export.json", "--into", one, "--second-into", two,
                   "--users", USERS).returncode == 0
    r = run_cli("agreement", "--first", one, "--second", two, "--out", tmp_path / "agreement.json")
    assert r.returncode == 0 and "double-coded paragraphs: 3" in r.stdout
    rep = json.loads((tmp_path / "agreement.json").read_text())
    assert rep["tone"]["agreement"] == pytest.approx(2 / 3) and rep["themes"]["exact_set_agreement"] == pytest.approx(1 / 3)
    split = rep["by_suggestion"]
    assert split["with_suggestion"]["n"] == 1 and split["without_suggestion"]["n"] == 2
    assert split["with_suggestion"]["tone"]["agreement"] == 0.0 and split["without_suggestion"]["tone"]["agreement"] == 1.0

    r = run_cli("annotate", "export-adjudication", "--first", one, "--second", two, "--out", tmp_path / "adj.jsonl")
    assert r.returncode == 0 and "3 disagreement(s)" in r.stderr
    batch = [json.loads(l) for l in (tmp_path / "adj.jsonl").read_text().splitlines()]
    assert [(b["paragraph_id"], b["disagree_on"]) for b in batch] == [
        ("synth/p000", ["themes"]), ("synth/p001", ["themes"]), ("synth/p004", ["tone"])]
    assert batch[2]["coding_1"] == {"themes": ["science_technology"], "tone": "cooperative", "annotator": ALICE,
                                    "suggested": True}
    assert batch[2]["coding_2"]["annotator"] == BOB and batch[2]["coding_2"]["tone"] == "neutral"


def test_dataset_card_lines_report_agreement_with_and_without_suggestions():
    res = import_judgements(DATA / "export.json", names=names())
    lines = suggestion_agreement_lines({"by_suggestion": agreement_by_suggestion(res.labels(1), res.labels(2),
                                                                                 agreement_report)})
    rows = [l for l in lines if l.startswith("| with") or l.startswith("| without")]
    assert rows[0].startswith("| with a model suggestion shown | 1 | ") and rows[1].startswith("| without a suggestion | 2 | ")
    assert suggestion_agreement_lines({"n": 3}) == []
    from vistance.cards.dataset_card import render_dataset_card

    agreement = {**agreement_report(res.labels(1), res.labels(2)),
                 "by_suggestion": agreement_by_suggestion(res.labels(1), res.labels(2))}
    assert "| with a model suggestion shown | 1 |" in render_dataset_card({}, None, agreement)


class FakeScores:
    """What export_batch needs of vistance.models.base.Scores: records(ids) in the predict contract."""

    def __init__(self, n):
        self.n = n

    def records(self, ids):
        return [{"id": i, "themes": ["maritime", "defense_security"], "tone": "contentious",
                 "scores": {"themes": {"maritime": 0.9, "defense_security": 0.6}, "tone": {"contentious": 0.7}}}
                for i in ids]


def test_predictions_in_label_studio_format_and_labels_record_the_suggestion(tmp_path):
    paras = [SimpleNamespace(paragraph_id=f"s/p{i}", text_sha1="a" * 40, title="t", source="s", date=None, text=f"x{i}")
             for i in range(2)]
    seen = []
    out = tmp_path / "batch.json"
    n = export_batch(paras, out, fmt="labelstudio", predictions=lambda texts: seen.extend(texts) or FakeScores(len(texts)),
                     model_version="vistance-tfidf:best")
    assert n == 2 and seen == ["x0", "x1"]
    tasks = json.loads(out.read_text())
    assert tasks[0]["data"]["suggestion"] == "vistance-tfidf:best"
    assert tasks[0]["predictions"] == [{"model_version": "vistance-tfidf:best", "score": 0.6, "result": [
        {"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": ["maritime", "defense_security"]},
         "score": 0.6},
        {"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": ["contentious"]}, "score": 0.7}]}]
    assert 'name="themes" toName="text"' in label_studio_config()  # from_name/to_name match the config
    with pytest.raises(ValueError, match="--format labelstudio"):
        export_batch(paras, tmp_path / "b.jsonl", fmt="jsonl", predictions=FakeScores(2))


def test_real_scores_objects_work_as_predictions(tmp_path):
    from vistance.models.base import Scores
    from vistance.labels.schema import default_schema

    THEMES, TONES = default_schema().theme_names, default_schema().tone_names

    paras = [SimpleNamespace(paragraph_id="s/p0", text_sha1="a" * 40, title="", source="", date=None, text="x")]
    themes = np.zeros((1, len(THEMES)))
    themes[0, THEMES.index("economy_trade")] = 0.8
    tone = np.array([[0.6, 0.1, 0.3]])
    export_batch(paras, tmp_path / "b.json", fmt="labelstudio", predictions=Scores(themes, tone), model_version="m")
    (task,) = json.loads((tmp_path / "b.json").read_text())
    res = task["predictions"][0]["result"]
    assert res[0]["value"]["choices"] == ["economy_trade"] and res[1]["value"]["choices"] == [TONES[0]]
    assert task["predictions"][0]["score"] == 0.6


def test_the_labels_package_does_not_import_models():
    code = "import sys, vistance.labels.annotation_io; print(any(m.startswith('vistance.models') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_suggested_field_is_optional_and_validated():
    d = {"paragraph_id": "a/p0", "text_sha1": "a" * 40, "themes": ["other"], "tone": "neutral", "annotator": "x",
         "annotated_at": "2026-01-01T00:00:00Z"}
    assert "suggested" not in label_from_dict(d).to_dict()
    assert label_from_dict({**d, "suggested": True}).to_dict()["suggested"] is True
    with pytest.raises(LabelError, match="suggested must be true or false"):
        label_from_dict({**d, "suggested": "yes"})
    assert Label(**{**d, "themes": ["other"]}).suggested is None


def test_cli_passes_may_name_annotators_by_email_or_user_id(tmp_path):
    one, two = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    r = run_cli("annotate", "import", DATA / "export.json", "--into", one, "--second-into", two, "--users", USERS,
                "--pass", "bob@example.com=1", "--pass", "2=2")
    assert r.returncode == 0, r.stderr
    assert {l.annotator for l in read_labels(one)} == {BOB} and {l.annotator for l in read_labels(two)} == {ALICE}


def test_fetching_names_without_the_sdk_says_what_to_install():
    try:
        import label_studio_sdk  # noqa: F401
    except ImportError:
        from vistance.labels.annotation_io import fetch_user_names

        with pytest.raises(InputError, match=r"pip install 'vistance\[labelstudio\]'"):
            fetch_user_names("http://127.0.0.1:9", "t")
    else:
        pytest.skip("label-studio-sdk is installed (make test-labelstudio checks the real fetch)")
