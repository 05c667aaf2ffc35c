"""Annotation batches out (Label Studio JSON, JSONL, CSV) and judgements back in."""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from pathlib import Path

from vistance.errors import InputError, LabelError
from vistance.io import atomic_write, parse_json_line
from vistance.labels.schema import THEMES, TONES, Label, label_from_dict

LABEL_STUDIO_CONFIG = """<View>
  <Header value="$title"/>
  <Text name="text" value="$text"/>
  <Header value="Themes (all that apply; 'other' alone)"/>
  <Choices name="themes" toName="text" choice="multiple" required="true">
{themes}
  </Choices>
  <Header value="Tone (friction wins)"/>
  <Choices name="tone" toName="text" choice="single" required="true">
{tones}
  </Choices>
</View>
""".format(
    themes="\n".join(f'    <Choice value="{t}"/>' for t in THEMES),
    tones="\n".join(f'    <Choice value="{t}"/>' for t in TONES),
)


def export_batch(paragraphs, out, fmt: str = "jsonl") -> int:
    """Write paragraphs for annotation as ``labelstudio`` (tasks JSON), ``jsonl`` or ``csv``.

    Label Studio also gets ``<out>.config.xml``, the labelling interface.
    """
    out = Path(out)
    rows = [{"paragraph_id": p.paragraph_id, "text_sha1": p.text_sha1, "title": p.title,
             "source": p.source, "date": p.date, "text": p.text} for p in paragraphs]
    if fmt == "labelstudio":
        tasks = [{"data": r} for r in rows]
        with atomic_write(out) as fh:
            json.dump(tasks, fh, ensure_ascii=False, indent=1)
        with atomic_write(out.with_suffix(".config.xml")) as fh:
            fh.write(LABEL_STUDIO_CONFIG)
    elif fmt == "jsonl":
        with atomic_write(out) as fh:
            for r in rows:
                fh.write(json.dumps({**r, "themes": [], "tone": ""}, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        with atomic_write(out) as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]) + ["themes", "tone"] if rows else ["paragraph_id"])
            w.writeheader()
            for r in rows:
                w.writerow({**r, "themes": "", "tone": ""})
    else:
        raise ValueError(f"unknown export format {fmt!r}; use labelstudio, jsonl or csv")
    return len(rows)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _from_label_studio(tasks, path, annotator: str | None):
    """Yield (where, dict) from a Label Studio JSON export (the latest annotation of each task)."""
    if not isinstance(tasks, list):
        raise InputError(path, "a Label Studio export must be a JSON list of tasks")
    for i, task in enumerate(tasks):
        where = f"{path}: task {i}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            yield where, InputError(path, f"task {i} has no 'data' object")
            continue
        try:
            rec = _label_studio_record(task, annotator)
        except (AttributeError, TypeError, IndexError, KeyError):
            # an "annotations"/"result"/"value" of the wrong JSON type: not Label Studio's shape
            yield where, InputError(path, f"task {i}: annotations are not in Label Studio's export format")
            continue
        if rec is not None:  # None: not annotated yet, nothing to import
            yield where, rec


def _label_studio_record(task: dict, annotator: str | None) -> dict | None:
    anns = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not anns:
        return None
    ann = anns[-1]
    rec = {"paragraph_id": task["data"].get("paragraph_id"), "text_sha1": task["data"].get("text_sha1"),
           "themes": [], "tone": None,
           "annotator": annotator or str(ann.get("completed_by") or "label-studio"),
           "annotated_at": ann.get("updated_at") or ann.get("created_at") or _now()}
    for r in ann.get("result") or []:
        choices = (r.get("value") or {}).get("choices") or []
        if r.get("from_name") == "themes":
            rec["themes"] = choices
        elif r.get("from_name") == "tone":
            rec["tone"] = choices[0] if isinstance(choices, list) and choices else None
    return rec


def read_judgements(path, annotator: str | None = None):
    """Yield ``(where, Label | Exception)`` for every judgement in an annotation file.

    Accepts a Label Studio JSON export, JSONL (``themes`` a list) or CSV
    (``themes`` separated by ``;`` or ``|``). ``annotator`` fills a missing annotator.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as e:
        raise InputError(path, f"cannot read ({e.strerror})") from None
    suffix = path.suffix.lower()

    def finish(where, rec):
        if isinstance(rec, Exception):
            return where, rec
        if isinstance(rec, dict):
            try:
                json.dumps(rec, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return where, LabelError(f"{where}: a string holds a lone UTF-16 surrogate; not valid text")
            rec = dict(rec)
            if annotator and not rec.get("annotator"):
                rec["annotator"] = annotator
            rec.setdefault("annotated_at", _now())
            if not rec.get("annotated_at"):
                rec["annotated_at"] = _now()
        try:
            return where, label_from_dict(rec, where)
        except LabelError as e:
            return where, e

    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(path, f"invalid JSON ({e.msg})", e.lineno) from None
        except (RecursionError, ValueError) as e:
            raise InputError(path, f"invalid JSON ({type(e).__name__})") from None
        for where, rec in _from_label_studio(data, path, annotator):
            yield finish(where, rec)
    elif suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        while True:
            try:
                row = next(reader, None)
            except csv.Error as e:  # e.g. a field over the csv module's size limit
                n = reader.line_num + 1
                yield f"{path}:{n}", InputError(path, f"broken CSV ({e}); the rest of the file is skipped", n)
                break
            if row is None:
                break
            row = dict(row)
            raw = row.get("themes") if isinstance(row.get("themes"), str) else ""
            row["themes"] = [t.strip() for t in raw.replace("|", ";").split(";") if t.strip()]
            yield finish(f"{path}:{reader.line_num}", row)
    else:
        # split on line ends only: str.splitlines() would also cut at U+2028, U+0085, ... inside strings
        for i, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
            if not line.strip():
                continue
            try:
                rec = parse_json_line(line, path, i)
            except InputError as e:
                yield f"{path}:{i}", e
                continue
            yield finish(f"{path}:{i}", rec)


def judgements_to_import(path, paragraphs=None, annotator: str | None = None):
    """Valid labels and rejection messages of one annotation file.

    With ``paragraphs``, a judgement whose paragraph is unknown or whose
    ``text_sha1`` does not match the current text is rejected (stale).
    """
    by_id = {p.paragraph_id: p.text_sha1 for p in paragraphs} if paragraphs is not None else None
    ok: list[Label] = []
    rejected: list[str] = []
    seen: set[str] = set()
    for where, item in read_judgements(path, annotator):
        if isinstance(item, Exception):
            rejected.append(str(item))
            continue
        if item.paragraph_id in seen:
            rejected.append(f"{where}: duplicate judgement of {item.paragraph_id!r} in the same file")
            continue
        if by_id is not None:
            digest = by_id.get(item.paragraph_id)
            if digest is None:
                rejected.append(f"{where}: unknown paragraph_id {item.paragraph_id!r}")
                continue
            if digest != item.text_sha1:
                rejected.append(f"{where}: stale judgement of {item.paragraph_id!r}: text_sha1 does not match the current text")
                continue
        seen.add(item.paragraph_id)
        ok.append(item)
    return ok, rejected
