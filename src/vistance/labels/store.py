"""The label store: JSONL files of :class:`Label` records, written atomically under a lock.

Gold labels live in ``labels/gold.jsonl``, the blind second coding in
``labels/double_coded.jsonl``, adjudications in ``labels/adjudication.jsonl`` and
rule/model labels in ``labels/silver/`` (never mixed into gold or evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from vistance.errors import InputError, LabelError
from vistance.io import atomic_write, dumps_line, file_lock, iter_jsonl
from vistance.labels.schema import Label, LabelSchema, label_from_dict


def read_labels(path, allow_missing: bool = True, schema: LabelSchema | None = None) -> list[Label]:
    """Read a label JSONL file, validating every record against ``schema`` (default: the packaged
    codebook); duplicates are an error."""
    path = Path(path)
    if not path.exists():
        if allow_missing:
            return []
        raise LabelError(f"{path}: no such label file")
    labels: list[Label] = []
    seen: dict[str, int] = {}
    try:
        for lineno, obj in iter_jsonl(path, objects=False):
            where = f"{path}:{lineno}"
            lab = label_from_dict(obj, where, schema)
            if lab.paragraph_id in seen:
                raise LabelError(f"{where}: duplicate paragraph_id {lab.paragraph_id!r} (first on line {seen[lab.paragraph_id]})")
            seen[lab.paragraph_id] = lineno
            labels.append(lab)
    except InputError as e:
        raise LabelError(str(e)) from None
    except OSError as e:
        raise LabelError(f"{path}: cannot read the label file ({e.strerror or e})") from None
    return labels


def write_labels(path, labels: Iterable[Label]) -> None:
    """Write labels sorted by paragraph id, atomically (temp file, fsync, replace)."""
    labels = sorted(labels, key=lambda l: l.paragraph_id)
    with atomic_write(path) as fh:
        for lab in labels:
            fh.write(dumps_line(lab.to_dict(), sort_keys=True))


@dataclass
class MergeResult:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[tuple[Label, Label]] = field(default_factory=list)  # (existing, incoming)
    replaced: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = f"{len(self.added)} added, {len(self.unchanged)} unchanged, {len(self.conflicts)} conflict(s)"
        if self.replaced:
            s += f", {len(self.replaced)} replaced"
        return s


def _same_judgement(a: Label, b: Label) -> bool:
    return a.text_sha1 == b.text_sha1 and a.themes == b.themes and a.tone == b.tone


def merge_labels(path, incoming: Iterable[Label], replace: bool = False,
                 schema: LabelSchema | None = None) -> MergeResult:
    """Merge ``incoming`` into the store at ``path`` under a lock, atomically.

    A label equal to the stored one is *unchanged* (imports are idempotent). A
    different judgement of an already-labelled paragraph is a *conflict*: it is
    reported and the stored label kept, unless ``replace`` is true (a deliberate
    re-judgement, e.g. after the text changed). Nothing is ever silently lost. The stored labels
    are read against ``schema`` (see :func:`read_labels`).
    """
    result = MergeResult()
    with file_lock(path):
        current = {l.paragraph_id: l for l in read_labels(path, schema=schema)}
        for lab in incoming:
            old = current.get(lab.paragraph_id)
            if old is None:
                current[lab.paragraph_id] = lab
                result.added.append(lab.paragraph_id)
            elif _same_judgement(old, lab):
                result.unchanged.append(lab.paragraph_id)
            elif replace:
                current[lab.paragraph_id] = lab
                result.replaced.append(lab.paragraph_id)
            else:
                result.conflicts.append((old, lab))
        if result.added or result.replaced:
            write_labels(path, current.values())
    return result
