"""What every command module shares: exit codes, the one-line error printer, the params loader."""
from __future__ import annotations

import argparse
import os
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


def label_schema(path):
    """The label schema (``labels.codebook``) of ``--params``; the packaged default codebook when
    the default ``params.yaml`` is absent (commands that only read and write label files)."""
    from vistance.labels.schema import default_schema

    if path == PARAMS[1]["default"] and not Path(path).is_file():
        return default_schema()
    return config(path).schema()


def paragraphs_or_none(path):
    from vistance.corpus import read_paragraphs

    return read_paragraphs(path) if path else None


def exists(path) -> bool:
    return bool(path) and Path(path).exists()


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported in one line (exit 2) instead of the whole usage block."""

    def error(self, message: str):
        self.exit(USAGE, f"{self.prog}: error: {message} (usage: {self.prog} -h)\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--batch-size 0`` is a usage error, exit 2)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def same_file(a, b) -> bool:
    """``a`` and ``b`` name one file: the same path after resolving links, or the same inode (a hard link)."""
    pa, pb = Path(a), Path(b)
    try:
        if os.path.realpath(pa) == os.path.realpath(pb):
            return True
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


def refuse_overwriting_inputs(outputs: dict, inputs) -> None:
    """A :class:`~vistance.errors.UsageError` (exit 2) when an output (``{flag: path}``) is one of
    the ``inputs`` (files, or folders whose files are read): the command would replace what it reads."""
    from vistance.errors import UsageError

    inputs = [Path(p) for p in inputs if p]
    for flag, out in outputs.items():
        if not out:
            continue
        out = Path(out)
        for inp in inputs:
            if same_file(out, inp):
                raise UsageError(f"{flag} {out} is also an input ({inp}); refusing to overwrite it: "
                                 "write the output elsewhere")
            if inp.is_dir():
                try:
                    inside = Path(os.path.realpath(out)).is_relative_to(os.path.realpath(inp))
                except OSError:
                    inside = False
                if inside and out.exists():
                    raise UsageError(f"{flag} {out} is a file of the input folder {inp}; refusing to overwrite it: "
                                     "write the output elsewhere")


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


def engine_flags(parser) -> None:
    """``--engine local|dask`` and ``--scheduler ADDRESS`` (``predict``, ``analyze``)."""
    parser.add_argument("--engine", choices=("local", "dask"), default="local",
                        help="where batches are predicted: local processes (default) or a Dask cluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler, e.g. tcp://HOST:8786 (default: a 2-worker local cluster on loopback)")
