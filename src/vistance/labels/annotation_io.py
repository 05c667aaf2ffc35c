"""Annotation batches out (Label Studio JSON, JSONL, CSV) and judgements back in.

Label Studio (``docs/annotation.md``): tasks go out with the labelling config
(:func:`label_studio_config`, from the label schema) and, optionally, a model's suggestion in each task's
``predictions``; its JSON or JSON_MIN export comes back with every annotation of every task,
each under its annotator's name, routed to the first or second pass (:func:`parse_label_studio`).
Skipped, empty and superseded annotations are counted in a :class:`LabelStudioSummary`.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from vistance.errors import InputError, LabelError
from vistance.io import atomic_write, dumps_line, iter_json_values, read_json, write_jsonl
from vistance.labels.schema import Label, LabelSchema, default_schema, label_from_dict

def label_studio_config(schema: LabelSchema | None = None) -> str:
    """The Label Studio labelling config (XML) of ``schema`` (default: the packaged codebook).

    One ``Choice`` per theme and tone, in column order, each with its description as the hover
    ``hint``; the themes header names the catch-all theme (given alone) when the codebook has one.
    """
    schema = schema or default_schema()
    alone = f"; {_attr(repr(schema.catch_all))} alone" if schema.catch_all else ""
    tone_rule = " (friction wins)" if schema.precedence else ""

    def choices(labels: dict) -> str:
        return "\n".join(f'    <Choice value="{_attr(n)}"' + (f' hint="{_attr(d)}"' if d else "") + "/>"
                         for n, d in labels.items())

    return f"""<View>
  <Header value="$title"/>
  <Text name="text" value="$text"/>
  <Header value="Themes (all that apply{alone})"/>
  <Choices name="themes" toName="text" choice="multiple" required="true">
{choices(schema.themes)}
  </Choices>
  <Header value="Tone{tone_rule}"/>
  <Choices name="tone" toName="text" choice="single" required="true">
{choices(schema.tones)}
  </Choices>
</View>
"""


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _row(p) -> dict:
    return {"paragraph_id": p.paragraph_id, "text_sha1": p.text_sha1, "title": p.title,
            "source": p.source, "date": p.date, "text": p.text}


def export_batch(paragraphs, out, fmt: str = "jsonl", predictions=None, model_version: str | None = None,
                 schema: LabelSchema | None = None) -> int:
    """Write paragraphs for annotation as ``labelstudio`` (tasks JSON), ``jsonl`` or ``csv``.

    Label Studio also gets ``<out>.config.xml``, the labelling interface of ``schema``
    (:func:`label_studio_config`; default: the packaged codebook); with ``predictions``
    (see :func:`label_studio_tasks`) every task carries the model's themes and tone as a
    pre-annotation.
    """
    out = Path(out)
    paragraphs = list(paragraphs)
    rows = [_row(p) for p in paragraphs]
    if predictions is not None and fmt != "labelstudio":
        raise ValueError("model pre-annotations need --format labelstudio")
    if fmt == "labelstudio":
        tasks = label_studio_tasks(paragraphs, predictions, model_version, schema)
        with atomic_write(out) as fh:
            json.dump(tasks, fh, ensure_ascii=False, indent=1)
        with atomic_write(out.with_suffix(".config.xml")) as fh:
            fh.write(label_studio_config(schema))
    elif fmt == "jsonl":
        with atomic_write(out) as fh:
            for r in rows:
                fh.write(dumps_line({**r, "themes": [], "tone": ""}))
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


# ---------------------------------------------------------------------------------------------
# Label Studio: tasks out (with optional model pre-annotations), every annotation back in.
# ---------------------------------------------------------------------------------------------

def _prediction(themes: list[str], tone: str, theme_p: dict, tone_p: dict, model_version: str) -> dict:
    """One Label Studio prediction: the model's themes and tone, each with its probability.

    ``score`` (the prediction's) is the lowest probability among the chosen labels: how sure
    the model is of its least sure decision (Label Studio sorts and filters tasks by it).
    """
    chosen = [theme_p[t] for t in themes] + [tone_p[tone]]
    return {
        "model_version": model_version,
        "score": round(min(chosen), 6),
        "result": [
            {"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": list(themes)},
             "score": round(min(theme_p[t] for t in themes), 6)},
            {"from_name": "tone", "to_name": "text", "type": "choices", "value": {"choices": [tone]},
             "score": round(tone_p[tone], 6)},
        ],
    }


def label_studio_tasks(paragraphs, predictions=None, model_version: str | None = None,
                       schema: LabelSchema | None = None) -> list[dict]:
    """Label Studio tasks of ``paragraphs``; with ``predictions`` each carries the model's suggestion.

    ``predictions``: a callable ``texts -> Scores`` (``vistance.models.base.Scores`` or anything
    with ``records(ids)`` in the predict contract), or such a Scores object aligned with
    ``paragraphs``. A task with a suggestion also carries ``data.suggestion`` (the model
    version), so labels imported from either export format record that a suggestion was shown.
    Scores that carry a label schema must have the labels of ``schema`` (the config's choices).
    """
    rows = [_row(p) for p in paragraphs]
    tasks = [{"data": r} for r in rows]
    if predictions is None or not rows:
        return tasks
    scores = predictions([p.text for p in paragraphs]) if callable(predictions) else predictions
    theirs = getattr(scores, "schema", None)
    if theirs is not None:
        (schema or default_schema()).require_labels(theirs.theme_names, theirs.tone_names,
                                                    "the model that pre-annotates")
    recs = scores.records([r["paragraph_id"] for r in rows])
    if len(recs) != len(rows):
        raise ValueError(f"predictions cover {len(recs)} paragraph(s), the batch has {len(rows)}")
    version = model_version or "model"
    for task, rec in zip(tasks, recs):
        task["predictions"] = [_prediction(rec["themes"], rec["tone"], rec["scores"]["themes"],
                                           rec["scores"]["tone"], version)]
        task["data"]["suggestion"] = version
    return tasks


def user_names(users) -> dict[str, str]:
    """``{user id or email: display name}`` from Label Studio's ``/api/users`` JSON (a list of users).

    The name is ``first_name last_name`` when set, else ``username``, else ``email``.
    """
    if isinstance(users, dict) and isinstance(users.get("results"), list):  # a paginated answer
        users = users["results"]
    if not isinstance(users, list):
        raise ValueError("a Label Studio users file must be the JSON list of /api/users")
    out: dict[str, str] = {}
    for i, u in enumerate(users):
        if not isinstance(u, dict) or u.get("id") is None:
            continue
        who = f"user at position {i}"
        _check_field(u, "id", (int, str), "a number or a string", who)
        who = f"user {u['id']!r}"
        for key in ("first_name", "last_name", "username", "email"):
            _check_field(u, key, str, "a string", who)
        full = " ".join(x for x in (u.get("first_name") or "", u.get("last_name") or "") if x).strip()
        name = full or u.get("username") or u.get("email") or f"label-studio-user-{u['id']}"
        out[str(u["id"])] = name
        if u.get("email"):
            out[str(u["email"])] = name
    return out


class FieldTypeError(ValueError):
    """A field of a Label Studio export or users file holding a value of the wrong JSON type."""


def _check_field(obj: dict, key: str, types, want: str, where: str):
    """``obj[key]`` when it is absent, ``null`` or of ``types`` (never a bool unless ``types`` has it);
    else :class:`FieldTypeError` naming ``where`` and the field."""
    value = obj.get(key)
    if value is None:
        return None
    types = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise FieldTypeError(f"{where}: field {key!r} must be {want}, got {_json_type(value)}")
    return value


def _json_type(value) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def read_users_file(path) -> dict[str, str]:
    """:func:`user_names` of a saved ``/api/users`` answer."""
    try:
        return user_names(read_json(path))
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(path, str(e)) from None


def fetch_user_names(url: str, token: str) -> dict[str, str]:
    """:func:`user_names` fetched from a running Label Studio with ``label-studio-sdk``
    (``pip install 'vistance[labelstudio]'``)."""
    try:
        from label_studio_sdk.client import LabelStudio
    except ImportError:
        raise InputError(url, "fetching annotator names needs label-studio-sdk: "
                              "pip install 'vistance[labelstudio]' (or pass --users FILE)") from None
    client = LabelStudio(base_url=url, api_key=token)
    users = [u.dict() if hasattr(u, "dict") else dict(u) for u in client.users.list()]
    return user_names(users)


@dataclass
class LabelStudioSummary:
    """What happened to every annotation of a Label Studio export (nothing is dropped silently)."""

    format: str = ""  # "JSON", "JSON_MIN" or "JSON+JSON_MIN"
    tasks: int = 0
    annotations: int = 0
    unannotated: int = 0  # tasks nobody annotated yet
    skipped: list[str] = field(default_factory=list)  # was_cancelled
    empty: list[str] = field(default_factory=list)  # submitted with no theme and no tone
    superseded: list[str] = field(default_factory=list)  # an older annotation by the same annotator
    by_pass: Counter = field(default_factory=Counter)
    unnamed: set = field(default_factory=set)  # user ids with no name in the users map

    def summary(self) -> str:
        passes = ", ".join(f"pass {k}: {v}" for k, v in sorted(self.by_pass.items())) or "no label"
        s = (f"Label Studio {self.format or '?'} export: {self.tasks} task(s), {self.annotations} annotation(s) -> "
             f"{passes}; {len(self.skipped)} skipped, {len(self.empty)} empty, {len(self.superseded)} superseded, "
             f"{self.unannotated} task(s) not annotated")
        if self.format == "JSON_MIN":
            s += " (JSON_MIN leaves skipped annotations out; the JSON export counts them)"
        if self.unnamed:
            s += (f"; user id(s) {', '.join(sorted(self.unnamed))} have no name "
                  "(give --users FILE or --label-studio-url with --label-studio-token)")
        return s


def _where(path, tid, pid, ann_id=None, who=None, pos=None) -> str:
    task = f"Label Studio task {tid}" if tid is not None else f"task at position {pos} (no Label Studio id)"
    s = f"{path}: {task}"
    if pid:
        s += f" (paragraph {pid})"
    if ann_id is not None:
        s += f", annotation {ann_id}"
    if who:
        s += f" by {who}"
    return s


def _choices(value, many: bool):
    """Choices of one control in JSON (``{"choices": [...]}``) or JSON_MIN (a string, a list or that object)."""
    if isinstance(value, dict):
        value = value.get("choices")
    if value is None:
        return [] if many else None
    if isinstance(value, str):
        return [value] if many else value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if many:
            return list(value)
        return value[0] if len(value) == 1 else (None if not value else value)
    raise FieldTypeError(f"choices must be a label or a list of labels, got {_json_type(value)}")


def _person(raw, names: dict[str, str], summary: LabelStudioSummary) -> str | None:
    """Display name of ``completed_by`` / JSON_MIN ``annotator`` (an id, an email or a user object)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        for key in ("first_name", "last_name", "username", "email"):
            _check_field(raw, key, str, "a string", "completed_by")
        _check_field(raw, "id", (int, str), "a number or a string", "completed_by")
        for key in ("id", "email"):
            if raw.get(key) is not None and str(raw[key]) in names:
                return names[str(raw[key])]
        full = " ".join(x for x in (raw.get("first_name") or "", raw.get("last_name") or "") if x).strip()
        name = full or raw.get("username") or raw.get("email")
        if name:
            return str(name)
        raw = raw.get("id")
        if raw is None:
            return None
    key = str(raw)
    if key in names:
        return names[key]
    if isinstance(raw, int) or key.isdigit():
        summary.unnamed.add(key)
        return f"label-studio-user-{key}"
    return key  # an email or a name already


@dataclass
class _Ann:
    """One annotation of one task, in either export format."""

    tid: object
    pid: str | None
    sha: str | None
    ann_id: object
    who: str | None
    created: str
    updated: str
    cancelled: bool
    themes: list
    tone: object
    suggested: bool
    where: str = ""


_ID = ((int, str), "a number or a string")
_TEXT = (str, "a string")
_TIME = (str, "a string (an ISO time)")
_FLAG = (bool, "true or false")
_PERSON = ((int, str, dict), "a user id, an email or a user object")


def _checked(obj: dict, where: str, **fields) -> None:
    """Check the JSON type of each named field (``name=(types, description)``) of ``obj``."""
    for key, (types, want) in fields.items():
        _check_field(obj, key, types, want, where)


def _json_annotations(task: dict, pos: int, path, names, summary) -> list[_Ann]:
    data = task["data"]
    _checked(task, "task", id=_ID, annotations=(list, "a list"), predictions=(list, "a list"))
    _checked(data, "data", paragraph_id=_TEXT, text_sha1=_TEXT, suggestion=((str, bool), "a string"))
    tid, pid = task.get("id"), data.get("paragraph_id")
    anns = task.get("annotations") or []
    shown = bool(task.get("predictions")) or bool(data.get("suggestion"))
    out = []
    for k, a in enumerate(anns):
        if not isinstance(a, dict):
            raise FieldTypeError(f"annotation at position {k}: must be an object, got {_json_type(a)}")
        who = f"annotation {a['id']}" if isinstance(a.get("id"), (int, str)) else f"annotation at position {k}"
        _checked(a, who, id=_ID, completed_by=_PERSON, created_at=_TIME, updated_at=_TIME, was_cancelled=_FLAG,
                 result=(list, "a list"), prediction=(dict, "an object"))
        themes, tone = [], None
        for j, r in enumerate(a.get("result") or []):
            field = f"result[{j}]"
            if not isinstance(r, dict):
                raise FieldTypeError(f"{who}: field {field!r} must be an object, got {_json_type(r)}")
            _checked(r, f"{who}, {field}", from_name=_TEXT)
            value = r.get("value")
            if not isinstance(value, dict):
                raise FieldTypeError(f"{who}: field '{field}.value' must be an object, got {_json_type(value)}")
            try:
                if r.get("from_name") == "themes":
                    themes = _choices(value, True)
                elif r.get("from_name") == "tone":
                    tone = _choices(value, False)
            except FieldTypeError as e:
                raise FieldTypeError(f"{who}: field '{field}.value.choices': {e}") from None
        try:
            person = _person(a.get("completed_by"), names, summary)
        except FieldTypeError as e:
            raise FieldTypeError(f"{who}: {e}") from None
        out.append(_Ann(tid, pid, data.get("text_sha1"), a.get("id"), person,
                        a.get("created_at") or "", a.get("updated_at") or a.get("created_at") or "",
                        bool(a.get("was_cancelled")), themes, tone, shown or bool(a.get("prediction"))))
    return out


def _json_min_annotation(row: dict, names, summary) -> _Ann:
    who = f"annotation {row['annotation_id']}" if isinstance(row.get("annotation_id"), (int, str)) else "annotation"
    _checked(row, who, id=_ID, paragraph_id=_TEXT, text_sha1=_TEXT, annotation_id=_ID, annotator=_PERSON,
             created_at=_TIME, updated_at=_TIME, was_cancelled=_FLAG, suggestion=((str, bool), "a string"))
    try:
        themes = _choices(row.get("themes"), True)
    except FieldTypeError as e:
        raise FieldTypeError(f"{who}: field 'themes': {e}") from None
    try:
        tone = _choices(row.get("tone"), False)
    except FieldTypeError as e:
        raise FieldTypeError(f"{who}: field 'tone': {e}") from None
    try:
        person = _person(row.get("annotator"), names, summary)
    except FieldTypeError as e:
        raise FieldTypeError(f"{who}: {e}") from None
    return _Ann(row.get("id"), row.get("paragraph_id"), row.get("text_sha1"), row.get("annotation_id"),
                person, row.get("created_at") or "", row.get("updated_at") or row.get("created_at") or "",
                bool(row.get("was_cancelled")), themes, tone, bool(row.get("suggestion")))


def _order(a: _Ann, at: str) -> tuple:
    """Sort key: a time, then Label Studio's annotation id (numerically where it is a number)."""
    i = a.ann_id
    return (at, (0, int(i), "") if isinstance(i, int) or str(i).isdigit() else (1, 0, str(i)))


def parse_label_studio(data, path, names: dict[str, str] | None = None, passes: dict[str, int] | None = None,
                       annotator: str | None = None):
    """``(items, summary)`` of a Label Studio export (JSON or JSON_MIN, told apart per row).

    ``items``: ``(where, pass, dict | Exception)`` for every annotation that gives a label.
    Routing rule: with ``passes`` (``{annotator name, email or user id: pass}``) each annotator
    goes to their pass and an unlisted one is rejected; without it, the annotators of each task
    in the order of their first annotation (``created_at``) are pass 1 and pass 2, and a third
    is rejected (name the passes with ``passes``). Per task: a skipped (``was_cancelled``) or
    empty annotation gives no label and is counted; of several annotations by one annotator
    the latest ``updated_at`` counts and the older ones are counted as superseded.
    ``annotator`` names an annotation with no ``completed_by``.

    Annotations are keyed by (task id, paragraph id, text hash): one task id on two paragraphs
    (or two texts) is an error naming both, and none of its annotations is imported. Every
    field's JSON type is checked; a wrong one is an error naming the task, the annotation and
    the field, and the task's other annotations are not routed either.
    """
    names = names or {}
    summary = LabelStudioSummary()
    items: list = []
    if not isinstance(data, list):
        raise InputError(path, "a Label Studio export must be a JSON list of tasks (export as JSON or JSON_MIN)")
    by_task: dict = {}  # (task id, paragraph id, text hash) -> its annotations
    paragraphs_of: dict = {}  # task id -> {(paragraph id, text hash): None}, in order of appearance
    broken: dict = {}  # task id -> where a malformed row of it was (its other rows are not routed either)
    formats = set()
    for pos, row in enumerate(data):
        if not isinstance(row, dict):
            items.append((_where(path, None, None, pos=pos), 0,
                          InputError(path, f"task at position {pos} is not a JSON object")))
            continue
        tid = row.get("id")
        tid = tid if isinstance(tid, (int, str)) and not isinstance(tid, bool) else None
        pid = row["data"].get("paragraph_id") if isinstance(row.get("data"), dict) else row.get("paragraph_id")
        pid = pid if isinstance(pid, str) else None
        where = _where(path, tid, pid, pos=pos)
        try:
            if isinstance(row.get("data"), dict):
                formats.add("JSON")
                anns = _json_annotations(row, pos, path, names, summary)
                sha = row["data"].get("text_sha1")
                key = ("id", tid, pid, sha) if tid is not None else ("pos", pos)
                by_task.setdefault(key, []).extend(anns)
            elif "paragraph_id" in row:
                formats.add("JSON_MIN")
                ann = _json_min_annotation(row, names, summary)
                sha = row.get("text_sha1")
                key = ("id", tid, pid, sha) if tid is not None else ("pid", pid, sha)
                unannotated = row.get("annotation_id") is None and not ann.themes and ann.tone is None
                by_task.setdefault(key, []).extend([] if unannotated else [ann])  # a task nobody annotated
            else:
                items.append((where, 0, InputError(path, (
                    f"{where[len(str(path)) + 2:]} has no 'data' object and no 'paragraph_id': not a task of "
                    "Label Studio's JSON or JSON_MIN export (export the project as JSON)"))))
                continue
            if tid is not None:
                paragraphs_of.setdefault(tid, {}).setdefault((pid, sha), None)
        except FieldTypeError as e:  # a field of the wrong JSON type: named with its task and annotation
            items.append((where, 0, InputError(path, (
                f"{where[len(str(path)) + 2:]}: annotations are not in Label Studio's JSON or JSON_MIN export "
                f"format: {e}"))))
            if tid is not None:
                broken.setdefault(tid, where)
        except (AttributeError, TypeError, IndexError, KeyError):
            items.append((where, 0, InputError(path, (
                f"{where[len(str(path)) + 2:]}: annotations are not in Label Studio's JSON or JSON_MIN export format"))))
            if tid is not None:
                broken.setdefault(tid, where)
    # a task id must name one paragraph: two paragraphs (or two texts) under one id would mix their codings
    two_paragraphs = {tid: list(paras) for tid, paras in paragraphs_of.items() if len(paras) > 1}
    for tid, paras in two_paragraphs.items():
        (p1, s1), (p2, s2) = paras[:2]
        same = p1 == p2

        def name(p, h):
            return f"paragraph {p}" + (f" with text_sha1 {str(h)[:12]}" if same else "")

        items.append((f"{path}: Label Studio task {tid}", 0, LabelError(
            f"{path}: Label Studio task {tid} is on two paragraphs, {name(p1, s1)} and {name(p2, s2)}"
            f"{' and more' if len(paras) > 2 else ''}: one task id must name one paragraph; none of its "
            "annotations is imported (were two exports or projects merged?)")))
    summary.format = "+".join(sorted(formats))
    summary.tasks = len(by_task)
    for key, anns in by_task.items():
        summary.annotations += len(anns)
        tid = key[1] if key[0] == "id" else None
        if tid is not None and tid in two_paragraphs:
            continue  # reported above
        if not anns:
            summary.unannotated += 1
            continue
        if tid is not None and tid in broken:
            for a in anns:
                a.who = a.who or annotator
                a.where = _where(path, a.tid, a.pid, a.ann_id, a.who)
                items.append((a.where, 0, LabelError(
                    f"{a.where}: not imported: another annotation of this task is malformed ({broken[tid]}); "
                    "the passes of a task are routed together")))
            continue
        kept: dict = {}
        for a in anns:
            a.who = a.who or annotator
            a.where = _where(path, a.tid, a.pid, a.ann_id, a.who)
            if a.cancelled:
                summary.skipped.append(a.where)
            elif not a.themes and a.tone in (None, ""):
                summary.empty.append(a.where)
            else:
                old = kept.get(a.who)
                if old is None or _order(a, a.updated) > _order(old, old.updated):
                    if old is not None:
                        summary.superseded.append(old.where)
                    kept[a.who] = a
                else:
                    summary.superseded.append(a.where)
        order = sorted(kept.values(), key=lambda a: _order(a, a.created))
        for rank, a in enumerate(order, 1):
            if passes:
                p = passes.get(a.who or "")
                if p is None:
                    items.append((a.where, 0, LabelError(f"{a.where}: annotator {a.who!r} has no pass "
                                                         f"(known: {', '.join(sorted(passes))})")))
                    continue
            elif rank > 2:
                items.append((a.where, 0, LabelError(
                    f"{a.where}: a third annotator of this task; only two passes are routed by order "
                    "(map annotators to passes with --pass NAME=N)")))
                continue
            else:
                p = rank
            rec = {"paragraph_id": a.pid, "text_sha1": a.sha, "themes": a.themes, "tone": a.tone,
                   "annotator": a.who or "", "annotated_at": a.updated or _now()}
            if a.suggested:
                rec["suggested"] = True
            items.append((a.where, p, rec))
    return items, summary


def _finisher(annotator, schema: LabelSchema | None = None):
    """``finish(where, record) -> (where, Label | Exception)`` filling a missing annotator and time;
    the labels are validated against ``schema``."""
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
            return where, label_from_dict(rec, where, schema)
        except LabelError as e:
            return where, e

    return finish


MAX_EXPORT_BYTES = 512 * 1024 * 1024  # an annotation file is read whole: the most it may hold


def _read_text(path) -> str:
    from vistance.io import read_bytes_capped

    try:
        return read_bytes_capped(path, MAX_EXPORT_BYTES, "annotation file").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as e:
        raise InputError(path, f"cannot read ({e.strerror})") from None


def _read_json_doc(path):
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"invalid JSON ({e.msg})", e.lineno) from None
    except (RecursionError, ValueError) as e:
        raise InputError(path, f"invalid JSON ({type(e).__name__})") from None


def read_routed_judgements(path, annotator: str | None = None, names: dict[str, str] | None = None,
                           passes: dict[str, int] | None = None, schema: LabelSchema | None = None):
    """``(items, summary)``: ``(where, pass, Label | Exception)`` for every judgement of a file.

    A ``.json`` file is a Label Studio export (:func:`parse_label_studio`; ``summary`` its
    :class:`LabelStudioSummary`); JSONL and CSV judgements are all pass 1 (``summary`` None).
    Labels are validated against ``schema`` (default: the packaged codebook).
    """
    path = Path(path)
    finish = _finisher(annotator, schema)
    if path.suffix.lower() == ".json":
        items, summary = parse_label_studio(_read_json_doc(path), path, names, passes, annotator)
        return [(where, p, finish(where, rec)[1]) for where, p, rec in items], summary
    return [(where, 1, item) for where, item in read_judgements(path, annotator, schema)], None


def read_judgements(path, annotator: str | None = None, schema: LabelSchema | None = None):
    """Yield ``(where, Label | Exception)`` for every judgement in an annotation file.

    Accepts a Label Studio JSON or JSON_MIN export (every annotation; see
    :func:`parse_label_studio`), JSONL (``themes`` a list) or CSV (``themes`` separated by
    ``;`` or ``|``). ``annotator`` fills a missing annotator; labels are validated against ``schema``.
    """
    path = Path(path)
    if path.suffix.lower() not in (".json", ".csv"):
        yield from _jsonl_judgements(path, annotator, schema)
        return
    if path.suffix.lower() == ".json":
        for where, _p, item in read_routed_judgements(path, annotator, schema=schema)[0]:
            yield where, item
        return
    text = _read_text(path)
    finish = _finisher(annotator, schema)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames and {"annotation_id", "annotator"} <= set(reader.fieldnames):
        raise InputError(path, "this is Label Studio's CSV export, which vistance does not read; "
                               "export the project as JSON (or JSON_MIN) instead")
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


def _jsonl_judgements(path, annotator, schema=None):
    """JSONL judgements through :func:`vistance.io.iter_json_values` (line ends only, BOM, UTF-16)."""
    finish = _finisher(annotator, schema)
    try:
        for i, rec in iter_json_values(path):
            yield finish(f"{path}:{i}", rec)  # an InputError passes through as the line's result
    except OSError as e:
        raise InputError(path, f"cannot read ({e.strerror})") from None


@dataclass
class ImportResult:
    """Valid labels by pass (1: first coding, 2: blind second coding), rejections, and for a
    Label Studio export the :class:`LabelStudioSummary`."""

    by_pass: dict[int, list[Label]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    label_studio: LabelStudioSummary | None = None

    def labels(self, n: int = 1) -> list[Label]:
        return self.by_pass.get(n, [])


def import_judgements(path, paragraphs=None, annotator: str | None = None, names: dict[str, str] | None = None,
                      passes: dict[str, int] | None = None, schema: LabelSchema | None = None) -> ImportResult:
    """Every judgement of one annotation file, validated and routed to its pass.

    With ``paragraphs``, a judgement whose paragraph is unknown or whose ``text_sha1`` does
    not match the current text is rejected (stale). ``names``: Label Studio user id/email ->
    name (:func:`read_users_file`, :func:`fetch_user_names`); ``passes``: annotator -> pass
    (see :func:`parse_label_studio` for the rule without it). Labels are validated against
    ``schema`` (default: the packaged codebook): a choice the codebook lacks is rejected.
    """
    by_id = {p.paragraph_id: p.text_sha1 for p in paragraphs} if paragraphs is not None else None
    items, summary = read_routed_judgements(path, annotator, names, passes, schema)
    res = ImportResult(label_studio=summary)
    seen: set[tuple[int, str]] = set()
    for where, n, item in items:
        if isinstance(item, Exception):
            res.rejected.append(str(item))
            continue
        if (n, item.paragraph_id) in seen:
            what = "in the same file" if summary is None else f"for pass {n} in the same export"
            res.rejected.append(f"{where}: duplicate judgement of {item.paragraph_id!r} {what}")
            continue
        if by_id is not None:
            digest = by_id.get(item.paragraph_id)
            if digest is None:
                res.rejected.append(f"{where}: unknown paragraph_id {item.paragraph_id!r}")
                continue
            if digest != item.text_sha1:
                res.rejected.append(f"{where}: stale judgement of {item.paragraph_id!r}: "
                                    "text_sha1 does not match the current text")
                continue
        seen.add((n, item.paragraph_id))
        res.by_pass.setdefault(n, []).append(item)
        if summary is not None:
            summary.by_pass[n] += 1
    return res


def judgements_to_import(path, paragraphs=None, annotator: str | None = None, schema: LabelSchema | None = None):
    """``(labels, rejections)`` of one annotation file: the first-pass labels of
    :func:`import_judgements` (a second annotator's labels are named among the rejections,
    with the advice to import them with a second-pass target)."""
    res = import_judgements(path, paragraphs, annotator, schema=schema)
    rejected = list(res.rejected)
    for n, labs in sorted(res.by_pass.items()):
        if n != 1:
            rejected += [f"{path}: {l.paragraph_id}: pass-{n} judgement by {l.annotator} not imported here "
                         "(use import_judgements / --second-into)" for l in labs]
    return res.labels(1), rejected


def disagreements(first: list[Label], second: list[Label]) -> list[dict]:
    """An adjudication batch: one record per paragraph both passes coded differently.

    Records hold ``paragraph_id``, ``text_sha1``, ``coding_1`` and ``coding_2`` (themes, tone,
    annotator, and ``suggested`` when a suggestion was shown) and ``disagree_on`` (``themes``
    and/or ``tone``) -- the shape of ``labels/adjudication.jsonl`` without the decision, which
    the adjudicator adds (``decision``, ``chosen``, ``adjudicator``, ``reason``).
    """
    b = {l.paragraph_id: l for l in second}
    out = []
    for x in sorted(first, key=lambda l: l.paragraph_id):
        y = b.get(x.paragraph_id)
        if y is None or x.text_sha1 != y.text_sha1:
            continue
        on = [k for k in ("themes", "tone") if getattr(x, k) != getattr(y, k)]
        if not on:
            continue
        coding = lambda l: {k: v for k, v in (("themes", l.themes), ("tone", l.tone), ("annotator", l.annotator),
                                               ("suggested", l.suggested)) if v is not None}
        out.append({"paragraph_id": x.paragraph_id, "text_sha1": x.text_sha1,
                    "coding_1": coding(x), "coding_2": coding(y), "disagree_on": on})
    return out


def export_adjudication(first: list[Label], second: list[Label], out) -> int:
    """Write :func:`disagreements` as JSONL (atomically); returns how many."""
    return write_jsonl(out, disagreements(first, second))


def agreement_by_suggestion(first: list[Label], second: list[Label], report=None) -> dict:
    """Agreement on the double-coded paragraphs split by whether a model suggestion was shown.

    ``{"with_suggestion": report, "without_suggestion": report}`` where ``report`` is the
    agreement function (``vistance.labels.agreement.agreement_report``); a paragraph counts as
    suggested when either coding was made with a suggestion shown. Anchoring on suggestions
    inflates agreement: the two figures side by side measure it.
    """
    if report is None:
        from vistance.labels.agreement import agreement_report as report
    b = {l.paragraph_id: l for l in second}
    shown = {l.paragraph_id for l in first if l.suggested} | {l.paragraph_id for l in second if l.suggested}
    common = [l for l in first if l.paragraph_id in b]
    w = [l for l in common if l.paragraph_id in shown]
    wo = [l for l in common if l.paragraph_id not in shown]
    return {"with_suggestion": report(w, [b[l.paragraph_id] for l in w]),
            "without_suggestion": report(wo, [b[l.paragraph_id] for l in wo])}


def suggestion_agreement_lines(agreement: dict | None) -> list[str]:
    """Markdown lines for the dataset card: agreement with and without model suggestions shown
    (``agreement["by_suggestion"]``, written by ``vistance agreement``); none when no label
    recorded a suggestion."""
    by = (agreement or {}).get("by_suggestion") or {}
    rows = [(k, r) for k, r in (("with a model suggestion shown", by.get("with_suggestion")),
                                ("without a suggestion", by.get("without_suggestion"))) if r]
    if not any(r.get("n") for _, r in rows):
        return []
    L = ["", "Pre-annotation anchors annotators on the model's answer, so agreement is reported apart "
             "for paragraphs coded with and without a model suggestion shown:", "",
         "| double-coded paragraphs | n | tone α | tone raw agreement | themes mean α | themes exact same set |",
         "|---|---|---|---|---|---|"]
    for name, r in rows:
        if not r.get("n"):
            L.append(f"| {name} | 0 | – | – | – | – |")
            continue
        t, th = r["tone"], r["themes"]
        L.append(f"| {name} | {r['n']} | {t['alpha']:.3f} | {t['agreement']:.3f} | {th['mean_alpha']:.3f} | "
                 f"{th['exact_set_agreement']:.3f} |")
    return L
