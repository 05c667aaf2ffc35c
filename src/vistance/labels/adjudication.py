"""Adjudication: decisions on double-coding disagreements, and the gold file built from them.

``labels/adjudication.jsonl`` records, per disagreement, both codings, the decision,
which coding it follows and why. Gold = first-pass labels with every adjudicated
paragraph replaced by its decision (annotator = the adjudicator).

``labels/corrections.jsonl`` records the label-quality review (``vistance.evaluation.label_quality``
flags likely errors; a reviewer reads each flagged paragraph against the codebook):
one line per reviewed flag, ``decision`` ``keep`` or ``correct``. :func:`apply_corrections`
applies the ``correct`` ones on top of the adjudicated gold (annotator = the reviewer).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from vistance.errors import InputError, LabelError
from vistance.io import iter_jsonl
from vistance.labels.schema import Label, LabelSchema, default_schema


def _jsonl_records(path):
    """Yield ``(where, object)`` for each non-empty line of a JSONL file (none if it is missing)."""
    p = Path(path)
    if not p.exists():
        return
    try:
        for lineno, obj in iter_jsonl(p, objects=False):
            yield f"{path}:{lineno}", obj
    except InputError as e:
        raise LabelError(str(e)) from None


def read_adjudications(path, schema: LabelSchema | None = None) -> list[dict]:
    """Read and validate ``labels/adjudication.jsonl`` against ``schema`` (default: the packaged
    codebook); a missing file is an empty list."""
    schema = schema or default_schema()
    out, seen = [], set()
    for where, r in _jsonl_records(path):
        if not isinstance(r, dict):
            raise LabelError(f"{where}: an adjudication must be a JSON object")
        for k in ("paragraph_id", "text_sha1", "decision", "adjudicator", "reason"):
            if k not in r:
                raise LabelError(f"{where}: adjudication lacks {k!r}")
        schema.check_themes(r["decision"].get("themes"), where)
        schema.check_tone(r["decision"].get("tone"), where)
        if r["paragraph_id"] in seen:
            raise LabelError(f"{where}: paragraph {r['paragraph_id']!r} adjudicated twice")
        seen.add(r["paragraph_id"])
        out.append(r)
    return out


def build_gold(first_pass: list[Label], adjudications: list[dict],
               schema: LabelSchema | None = None) -> tuple[list[Label], int]:
    """Gold labels and the number of first-pass labels replaced by an adjudication.

    Every gold label carries the codebook version it was judged under (``"1"`` where
    the judgement predates versioning). Decisions are checked against ``schema``."""
    schema = schema or default_schema()
    gold = {l.paragraph_id: l for l in first_pass}
    replaced = 0
    for r in adjudications:
        old = gold.get(r["paragraph_id"])
        if old is None:
            raise LabelError(f"adjudication of {r['paragraph_id']!r} has no first-pass label")
        if old.text_sha1 != r["text_sha1"]:
            raise LabelError(f"adjudication of {r['paragraph_id']!r} judged another text (text_sha1 differs)")
        d = r["decision"]
        new = Label(paragraph_id=old.paragraph_id, text_sha1=old.text_sha1, themes=schema.check_themes(d["themes"]),
                    tone=d["tone"], annotator=r["adjudicator"], annotated_at=r.get("adjudicated_at", old.annotated_at),
                    note=f"adjudicated ({r.get('chosen', 'decision')})",
                    codebook=r.get("codebook") or old.codebook)
        if new.themes != old.themes or new.tone != old.tone:
            replaced += 1
        gold[old.paragraph_id] = new
    return stamp_codebook(list(gold.values())), replaced


# -- label-quality review ----------------------------------------------------------------
CORRECTION_NOTE = "corrected after label-quality review"


def read_corrections(path, schema: LabelSchema | None = None) -> list[dict]:
    """Read ``labels/corrections.jsonl`` (one reviewed flag a line; see ``vistance.evaluation.label_quality``).

    Validates the fields, the decision (``keep`` / ``correct``) and, for corrections, the new
    themes and tone (against ``schema``, default: the packaged codebook). A missing file is an empty list.
    """
    out: list[dict] = []
    for where, r in _jsonl_records(path):
        _check_correction(r, where, schema or default_schema())
        out.append(r)
    return out


def _check_correction(r: dict, where: str, schema: LabelSchema) -> None:
    prefix = f"{where}: " if where else ""
    if not isinstance(r, dict):
        raise LabelError(f"{prefix}a correction must be a JSON object")
    for k in ("paragraph_id", "text_sha1", "decision", "reviewer"):
        if k not in r:
            raise LabelError(f"{prefix}correction lacks {k!r}")
    if r["decision"] not in ("keep", "correct"):
        raise LabelError(f"{prefix}decision must be 'keep' or 'correct', got {r['decision']!r}")
    if r["decision"] == "correct":
        c = r.get("corrected")
        if not isinstance(c, dict):
            raise LabelError(f"{prefix}a 'correct' decision needs 'corrected': {{themes, tone}}")
        schema.check_themes(c.get("themes"), where)
        schema.check_tone(c.get("tone"), where)


def apply_corrections(gold_labels: list[Label], corrections: list[dict],
                      schema: LabelSchema | None = None) -> tuple[list[Label], int]:
    """Gold labels with reviewed corrections applied, and the number of labels changed.

    Only ``decision == "correct"`` records change anything: the paragraph's themes and tone are
    replaced by ``corrected``, the annotator becomes the reviewer (``rev-1``) and the note says
    it was corrected after the label-quality review. ``keep`` records are the audit trail and
    change nothing. A correction of a paragraph that is not in gold, or of another text
    (``text_sha1`` differs), is an error; so are two different corrections of one paragraph
    (several flags of one paragraph may each carry the same correction). Applying the same
    corrections twice changes nothing the second time. Labels are checked against ``schema``
    (default: the packaged codebook).
    """
    schema = schema or default_schema()
    gold = {l.paragraph_id: l for l in gold_labels}
    chosen: dict[str, dict] = {}
    for i, r in enumerate(corrections, 1):
        _check_correction(r, f"correction {i}", schema)
        if r["decision"] != "correct":
            continue
        pid = r["paragraph_id"]
        old = gold.get(pid)
        if old is None:
            raise LabelError(f"correction of {pid!r} has no gold label")
        if old.text_sha1 != r["text_sha1"]:
            raise LabelError(f"correction of {pid!r} judged another text (text_sha1 differs)")
        new = {"themes": schema.check_themes(r["corrected"]["themes"]), "tone": r["corrected"]["tone"]}
        prev = chosen.get(pid)
        if prev is not None and (prev["new"] != new):
            raise LabelError(f"paragraph {pid!r} has conflicting corrections: {prev['new']} vs {new}")
        chosen[pid] = {"new": new, "record": r}
    for r in corrections:  # a re-read under a newer codebook that kept the label: the label now carries it
        if r["decision"] == "keep" and r.get("codebook") and r["paragraph_id"] in gold and r["paragraph_id"] not in chosen:
            old = gold[r["paragraph_id"]]
            if old.text_sha1 == r["text_sha1"]:
                gold[old.paragraph_id] = replace(old, codebook=str(r["codebook"]))
    changed = 0
    for pid, c in chosen.items():
        old, new, r = gold[pid], c["new"], c["record"]
        if new["themes"] == old.themes and new["tone"] == old.tone:
            continue  # already applied (or a no-op correction): leave the label as it is
        gold[pid] = Label(paragraph_id=pid, text_sha1=old.text_sha1, themes=new["themes"], tone=new["tone"],
                          annotator=r.get("reviewer", "rev-1"),
                          annotated_at=r.get("reviewed_at", old.annotated_at), note=CORRECTION_NOTE,
                          codebook=r.get("codebook") or old.codebook)
        changed += 1
    return list(gold.values()), changed


FIRST_CODEBOOK = "1"  # labels judged before the codebook carried a version


def stamp_codebook(labels: list[Label], default: str = FIRST_CODEBOOK) -> list[Label]:
    """Every label with the codebook version it was judged under (``default`` where none is recorded)."""
    return [lab if lab.codebook else replace(lab, codebook=default) for lab in labels]
