"""Adjudication: decisions on double-coding disagreements, and the gold file built from them.

``labels/adjudication.jsonl`` records, per disagreement, both codings, the decision,
which coding it follows and why. Gold = first-pass labels with every adjudicated
paragraph replaced by its decision (annotator = the adjudicator).
"""
from __future__ import annotations

import json
from pathlib import Path

from vistance.errors import LabelError
from vistance.labels.schema import Label, check_themes, check_tone


def read_adjudications(path) -> list[dict]:
    out, seen = [], set()
    p = Path(path)
    if not p.exists():
        return out
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise LabelError(f"{where}: invalid JSON ({e.msg})") from None
        for k in ("paragraph_id", "text_sha1", "decision", "adjudicator", "reason"):
            if k not in r:
                raise LabelError(f"{where}: adjudication lacks {k!r}")
        check_themes(r["decision"].get("themes"), where)
        check_tone(r["decision"].get("tone"), where)
        if r["paragraph_id"] in seen:
            raise LabelError(f"{where}: paragraph {r['paragraph_id']!r} adjudicated twice")
        seen.add(r["paragraph_id"])
        out.append(r)
    return out


def build_gold(first_pass: list[Label], adjudications: list[dict]) -> tuple[list[Label], int]:
    """Gold labels and the number of first-pass labels replaced by an adjudication."""
    gold = {l.paragraph_id: l for l in first_pass}
    replaced = 0
    for r in adjudications:
        old = gold.get(r["paragraph_id"])
        if old is None:
            raise LabelError(f"adjudication of {r['paragraph_id']!r} has no first-pass label")
        if old.text_sha1 != r["text_sha1"]:
            raise LabelError(f"adjudication of {r['paragraph_id']!r} judged another text (text_sha1 differs)")
        d = r["decision"]
        new = Label(paragraph_id=old.paragraph_id, text_sha1=old.text_sha1, themes=check_themes(d["themes"]),
                    tone=d["tone"], annotator=r["adjudicator"], annotated_at=r.get("adjudicated_at", old.annotated_at),
                    note=f"adjudicated ({r.get('chosen', 'decision')})")
        if new.themes != old.themes or new.tone != old.tone:
            replaced += 1
        gold[old.paragraph_id] = new
    return list(gold.values()), replaced
