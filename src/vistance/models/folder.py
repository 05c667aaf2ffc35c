"""Safe model folders: every file listed with its SHA-256 in ``manifest.json``.

Loading verifies the manifest first and refuses a folder whose files were
changed, truncated, added to the list or removed, with one clear message. A
version mismatch (vistance, scikit-learn, transformers) is only a warning.
No model is ever loaded through plain pickle.

The manifest is the only truth: loaders read a file through :func:`listed_bytes` /
:func:`listed_json`, which refuse a name the manifest does not list, read at most the size it
records (``sizes``; :data:`MAX_FILE_BYTES` for folders saved before sizes were recorded) from a
regular file inside the folder, and check the SHA-256 of exactly the bytes they return. Loaders
whose library opens files by name (``transformers``) call ``read_manifest(folder, strict=True)``,
which also refuses files in the folder that the manifest does not list. The manifest itself is
bounded (:data:`MAX_MANIFEST_BYTES`, nesting, number sizes) and typed; anything else is one
:class:`ModelError`.

The manifest records the label set the model learned (``themes``, ``tones``) and its rules
(``label_rules``: catch-all, precedence, no-signal tone, poles); :func:`manifest_schema` reads them
back. Any label set loads; :func:`check_model_labels` refuses a model whose labels differ from a
given schema (the dataset's), naming both lists.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import warnings
from pathlib import Path

from vistance import __version__
from vistance.errors import ConfigError, ModelError
from vistance.io import atomic_write
from vistance.labels.schema import LabelSchema, default_schema

MANIFEST = "manifest.json"
#: bounds of a manifest: its size, its nesting, the digits of an integer in it
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_MANIFEST_DEPTH = 32
MAX_NUMBER_CHARS = 40
#: the most a loader reads of one listed file when the manifest records no size (older folders)
MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
#: files a model folder may hold without the manifest listing them: no loader opens them
#: (the published card, the ``best`` selection record); hidden files are ignored too
UNLISTED_OK = frozenset({"README.md", "BEST.json", MANIFEST})


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict:
    """Versions of vistance and the libraries a model folder depends on (those installed).

    Read from the installed distributions' metadata: importing torch and transformers
    just to ask their version would add seconds to every model load.
    """
    from importlib import metadata

    out = {"vistance": __version__}
    for dist in ("scikit-learn", "transformers", "torch", "skops"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # optional libraries
            pass
    return out


def label_fields(schema: LabelSchema) -> dict:
    """What a manifest records of a label set: ``themes``, ``tones`` and ``label_rules``."""
    rules = {k: v for k, v in schema.rules().items() if k not in ("themes", "tones")}
    return {**schema.label_set(), "label_rules": rules}


def write_manifest(folder, kind: str, segmenter: str | None, params: dict | None = None, extra: dict | None = None,
                   *, schema: LabelSchema | None = None) -> dict:
    """List every file in ``folder`` (recursively) with its SHA-256, plus versions and the model's
    label set ``schema`` (:func:`label_fields`; ``None``: a folder without labels, e.g. a checkpoint)."""
    folder = Path(folder)
    paths = [p for p in sorted(folder.rglob("*")) if p.is_file() and p != folder / MANIFEST]
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in paths}
    sizes = {p.relative_to(folder).as_posix(): p.stat().st_size for p in paths}
    manifest = {
        "kind": kind, "segmenter": segmenter, **(label_fields(schema) if schema is not None else {}),
        "versions": library_versions(), "params": params or {}, "files": files, "sizes": sizes,
    }
    if extra:
        manifest.update(extra)
    with atomic_write(folder / MANIFEST) as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=True)
    return manifest


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS * 3:
        raise ValueError(f"a number of {len(text)} characters")
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"a number out of range ({text[:20]}...)")
    return value


def _depth(obj) -> int:
    """Nesting depth of a JSON value (iterative: no recursion however deep)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > MAX_MANIFEST_DEPTH:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


def parse_model_json(data: bytes, where) -> object:
    """A JSON document of a model folder: UTF-8, nesting at most :data:`MAX_MANIFEST_DEPTH` levels, no
    integer longer than :data:`MAX_NUMBER_CHARS` digits, no float out of range; else :class:`ModelError`."""
    try:
        text = data.decode("utf-8-sig")
        obj = json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except UnicodeDecodeError:
        raise ModelError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{where}: invalid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise ModelError(f"{where}: invalid JSON (nested too deeply)") from None
    except ValueError as e:  # from the number hooks (or Python's own int-digits limit)
        raise ModelError(f"{where}: invalid JSON ({str(e).split(':')[0]})") from None
    if _depth(obj) > MAX_MANIFEST_DEPTH:
        raise ModelError(f"{where}: nested deeper than {MAX_MANIFEST_DEPTH} levels")
    return obj


def _read_capped(path: Path, limit: int, where) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (a FIFO, device or huge file: ModelError)."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ModelError(f"{where}: not a regular file; refusing to read it")
            if st.st_size > limit:
                raise ModelError(f"{where}: {st.st_size} bytes, over its limit of {limit}; refusing to read it")
            data = fh.read(limit + 1)
    except OSError as e:
        raise ModelError(f"{where}: cannot read ({e.strerror or e})") from None
    if len(data) > limit:
        raise ModelError(f"{where}: over its limit of {limit} bytes; refusing to read it")
    return data


def _check_types(manifest, mpath) -> None:
    """One :class:`ModelError` naming the first field of the wrong type."""
    def bad(field: str, want: str):
        got = manifest.get(field)
        raise ModelError(f"{mpath}: manifest field {field!r} must be {want}, got {type(got).__name__}")

    if not isinstance(manifest, dict):
        raise ModelError(f"{mpath}: manifest lacks 'kind' or 'files' (it must be a JSON object, "
                         f"got {type(manifest).__name__})")
    if "kind" not in manifest or "files" not in manifest:
        raise ModelError(f"{mpath}: manifest lacks 'kind' or 'files'")
    if not isinstance(manifest["kind"], str) or not manifest["kind"]:
        bad("kind", "a non-empty string")
    files = manifest["files"]
    if not isinstance(files, dict):
        raise ModelError(f"{mpath}: manifest lacks 'kind' or 'files' (an object of file -> sha256)")
    sizes = manifest.get("sizes", {})
    if not isinstance(sizes, dict) or not all(type(v) is int and v >= 0 for v in sizes.values()):
        bad("sizes", "an object of file -> byte count")
    if manifest.get("segmenter") is not None and not isinstance(manifest["segmenter"], str):
        bad("segmenter", "a string or null")
    if "params" in manifest and not isinstance(manifest["params"], dict):
        bad("params", "an object")
    for field in ("themes", "tones"):
        names = manifest.get(field)
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            bad(field, "a list of label names")
    if manifest.get("label_rules") is not None and not isinstance(manifest["label_rules"], dict):
        bad("label_rules", "an object")
    versions = manifest.get("versions")
    if versions is not None and (not isinstance(versions, dict)
                                 or not all(isinstance(v, str) for v in versions.values())):
        raise ModelError(f"{mpath}: 'versions' must be an object of library -> version")


def _inside(folder: Path, name: str, mpath) -> Path:
    """``folder/name`` resolved, refusing a name that leads outside the folder (``..``, absolute, a link out)."""
    root = folder.resolve()
    p = (folder / name).resolve()
    if root not in p.parents:
        raise ModelError(f"{mpath}: file entry {name!r} points outside the model folder; refusing to load it")
    return p


def unlisted_files(folder, manifest: dict) -> list[str]:
    """Files in ``folder`` (recursively; hidden ones and :data:`UNLISTED_OK` at the top aside) that the
    manifest does not list, nested model folders (with their own manifest) included in the check."""
    folder = Path(folder)
    listed = set(manifest.get("files", {}))
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for n in sorted(names):
            if n.startswith("."):
                continue
            rel = (Path(root) / n).relative_to(folder).as_posix()
            if rel in listed or (rel in UNLISTED_OK) or n == MANIFEST:
                continue
            out.append(rel)
    return out


def read_manifest(folder, verify: bool = True, strict: bool = False) -> dict:
    """Read and (by default) verify a model folder's manifest; raise :class:`ModelError` if unsafe.

    The manifest must be a bounded, well-typed JSON object (see the module docstring). With
    ``verify`` every listed file must be a regular file inside the folder, of the recorded size,
    with the recorded SHA-256. With ``strict`` a file the manifest does not list is refused too
    (for loaders whose library opens files by name).
    """
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    if not mpath.is_file():
        raise ModelError(f"{folder}: not a vistance model folder (no {MANIFEST})")
    try:
        manifest = parse_model_json(_read_capped(mpath, MAX_MANIFEST_BYTES, mpath), mpath)
    except ModelError as e:
        raise ModelError(f"unreadable manifest: {e}") from None
    _check_types(manifest, mpath)
    sizes = manifest.get("sizes", {})
    if verify:
        bad = []
        for name, digest in sorted(manifest["files"].items()):
            try:
                p = _inside(folder, name, mpath)
                if not p.is_file():
                    bad.append(f"{name} (missing)")
                elif name in sizes and p.stat().st_size != sizes[name]:  # not even hashed
                    bad.append(f"{name} (checksum differs)")
                elif not isinstance(digest, str) or sha256_file(p) != digest:
                    bad.append(f"{name} (checksum differs)")
            except (OSError, ValueError) as e:  # unreadable file, NUL in a name, ...
                bad.append(f"{name} (unreadable: {getattr(e, 'strerror', None) or e})")
        if bad:
            raise ModelError(
                f"{folder}: refusing to load a model whose files do not match its manifest: {', '.join(bad)}. "
                "The folder was modified, truncated or tampered with; re-train or re-download it."
            )
    if strict:
        extra = unlisted_files(folder, manifest)
        if extra:
            raise ModelError(f"{folder}: holds file(s) its manifest does not list: {', '.join(extra[:5])}"
                             f"{' ...' if len(extra) > 5 else ''}; a loader could read them unverified. "
                             "Remove them or re-save the model.")
    have = library_versions()
    versions = manifest.get("versions") or {}
    for lib, ver in sorted(versions.items()):
        if lib in have and have[lib] != ver:
            warnings.warn(f"{folder}: saved with {lib} {ver}, loading with {lib} {have[lib]}", stacklevel=2)
    return manifest


def manifest_schema(manifest: dict, where) -> LabelSchema:
    """The label set (and rules) a model folder's manifest records.

    A folder saved before the rules were recorded (no ``label_rules``) gets the packaged default
    codebook's rules when its labels are the default ones, no rules otherwise; one saved before
    labels were recorded at all is the default codebook's. A manifest whose labels do not make a
    label schema is one :class:`ModelError`.
    """
    themes, tones, rules = manifest.get("themes"), manifest.get("tones"), manifest.get("label_rules")
    default = default_schema()
    if rules is None and (themes is None and tones is None or default.same_labels(themes or (), tones or ())):
        return default
    try:
        return LabelSchema.from_labels(themes or [], tones or [], **(rules or {}))
    except (ConfigError, TypeError) as e:
        raise ModelError(f"{where}: the manifest's label set is not valid ({e})") from None


def check_model_labels(model, schema: LabelSchema, what: str | None = None) -> None:
    """Refuse (:class:`~vistance.errors.LabelError`) a model whose label set differs from ``schema``'s
    (the dataset's, the codebook's), naming both lists; ``what`` names the model in the message."""
    learned = model.schema
    schema.require_labels(learned.theme_names, learned.tone_names, what or f"the {model.kind} model")


def listed_bytes(folder, manifest: dict, name: str) -> bytes:
    """The bytes of ``name`` in a model folder, as its manifest vouches for them.

    Refuses a name the manifest does not list; reads a regular file inside the folder, at most
    the size the manifest records (:data:`MAX_FILE_BYTES` when it records none); checks the
    SHA-256 of exactly the bytes returned (so a file swapped after :func:`read_manifest` is
    caught too). Every failure is one :class:`ModelError`.
    """
    folder = Path(folder)
    mpath = folder / MANIFEST
    files = manifest.get("files") or {}
    if name not in files:
        raise ModelError(f"{folder}: {name} is not listed in its {MANIFEST}; refusing to read an unverified file "
                         "(re-save the model)")
    path = _inside(folder, name, mpath)
    limit = manifest.get("sizes", {}).get(name, MAX_FILE_BYTES)
    data = _read_capped(path, limit, folder / name)
    if hashlib.sha256(data).hexdigest() != files[name]:
        raise ModelError(f"{folder}: {name} does not match its manifest checksum; refusing to load it")
    return data


def listed_json(folder, manifest: dict, name: str):
    """:func:`listed_bytes` parsed as bounded JSON (:func:`parse_model_json`)."""
    return parse_model_json(listed_bytes(folder, manifest, name), Path(folder) / name)
