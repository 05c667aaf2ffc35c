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


def command(sub, name: str, func, help: str, *arguments: tuple) -> None:
    """Declare one sub-command: ``arguments`` are ``(flag, {argparse keywords})`` pairs, in order.

    Many commands share flags such as ``--dataset`` and ``--params``; declaring them as data keeps
    each command's interface readable in one place.
    """
    parser = sub.add_parser(name, help=help)
    for flag, kwargs in arguments:
        parser.add_argument(flag, **kwargs)
    parser.set_defaults(func=func)


PARAMS = ("--params", {"default": "params.yaml"})
DATASET = ("--dataset", {"default": "data/dataset"})
EXPERIMENTS = ("--experiments", {"default": "experiments"})
