"""Safe model folders: every file listed with its SHA-256 in ``manifest.json``.

Loading verifies the manifest first and refuses a folder whose files were
changed, truncated, added to the list or removed, with one clear message. A
version mismatch (vistance, scikit-learn, transformers) is only a warning.
No model is ever loaded through plain pickle.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from vistance import __version__
from vistance.errors import ModelError
from vistance.io import atomic_write
from vistance.labels.schema import THEMES, TONES

MANIFEST = "manifest.json"


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


def write_manifest(folder, kind: str, segmenter: str | None, params: dict | None = None, extra: dict | None = None) -> dict:
    """List every file in ``folder`` (recursively) with its SHA-256, plus versions and labels."""
    folder = Path(folder)
    files = {
        str(p.relative_to(folder)): sha256_file(p)
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    manifest = {
        "kind": kind, "segmenter": segmenter, "themes": list(THEMES), "tones": list(TONES),
        "versions": library_versions(), "params": params or {}, "files": files,
    }
    if extra:
        manifest.update(extra)
    with atomic_write(folder / MANIFEST) as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=True)
    return manifest


def read_manifest(folder, verify: bool = True) -> dict:
    """Read and (by default) verify a model folder's manifest; raise :class:`ModelError` if unsafe."""
    folder = Path(folder)
    mpath = folder / MANIFEST
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    if not mpath.is_file():
        raise ModelError(f"{folder}: not a vistance model folder (no {MANIFEST})")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{mpath}: unreadable manifest ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) or "kind" not in manifest:
        raise ModelError(f"{mpath}: manifest lacks 'kind' or 'files'")
    if verify:
        bad = []
        root = folder.resolve()
        for name, digest in sorted(manifest["files"].items()):
            try:
                p = (folder / name).resolve()
                if root not in p.parents:
                    raise ModelError(f"{mpath}: file entry {name!r} points outside the model folder; refusing to load it")
                if not p.is_file():
                    bad.append(f"{name} (missing)")
                elif not isinstance(digest, str) or sha256_file(p) != digest:
                    bad.append(f"{name} (checksum differs)")
            except (OSError, ValueError) as e:  # unreadable file, NUL in a name, ...
                bad.append(f"{name} (unreadable: {getattr(e, 'strerror', None) or e})")
        if bad:
            raise ModelError(
                f"{folder}: refusing to load a model whose files do not match its manifest: {', '.join(bad)}. "
                "The folder was modified, truncated or tampered with; re-train or re-download it."
            )
    themes, tones = manifest.get("themes", list(THEMES)), manifest.get("tones", list(TONES))
    if not isinstance(themes, list) or not isinstance(tones, list) or tuple(themes) != THEMES or tuple(tones) != TONES:
        raise ModelError(f"{folder}: the model's label set differs from this vistance's schema")
    have = library_versions()
    versions = manifest.get("versions") or {}
    if not isinstance(versions, dict):
        raise ModelError(f"{mpath}: 'versions' must be an object of library -> version")
    for lib, ver in sorted(versions.items()):
        if lib in have and have[lib] != ver:
            warnings.warn(f"{folder}: saved with {lib} {ver}, loading with {lib} {have[lib]}", stacklevel=2)
    return manifest
