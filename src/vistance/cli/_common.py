"""What every command module shares: exit codes, the one-line error printer, the params loader."""
from __future__ import annotations

import sys
from pathlib import Path

OK, PARTIAL, USAGE = 0, 1, 2


def err(msg: str) -> None:
    print(f"vistance: {msg}", file=sys.stderr)


def note(msg: str) -> None:
    print(msg, file=sys.stderr)


def config(path):
    """The validated :class:`~vistance.config.Config` of ``--params`` (a bad key: ConfigError, exit 2)."""
    from vistance.config import load_config

    return load_config(path)


def paragraphs_or_none(path):
    from vistance.corpus import read_paragraphs

    return read_paragraphs(path) if path else None


def exists(path) -> bool:
    return bool(path) and Path(path).exists()
