"""``vistance``: command-line face of the toolkit (argument parsing, progress and exit codes only).

Exit codes: 0 everything processed; 1 some inputs rejected (the rest processed,
a summary printed) or the command failed; 2 usage error (a bad flag, or a params
file with an unknown key or a wrong type). Errors print one line naming the file
(and line, or key); ``--debug`` shows the traceback.

One module per command group: :mod:`.corpus` (ingest, corpus manifest), :mod:`.labels`
(labels, annotate, agreement, silver), :mod:`.dataset`, :mod:`.models` (train, checkpoint,
pretrain, predict, predict-article), :mod:`.evaluation` (evaluate, compare), :mod:`.cards`
and :mod:`.analysis` (analyze). Each calls one library function with keyword arguments.
"""
from __future__ import annotations

import argparse
import os

from vistance.cli import analysis, cards, corpus, dataset, evaluation, labels, models, publish
from vistance.cli import active, encoder, estimate
from vistance.cli._common import OK, PARTIAL, USAGE, ArgumentParser, err
from vistance.errors import ConfigError, UsageError, VistanceError

GROUPS = (corpus, labels, dataset, models, evaluation, cards, analysis, encoder, active, publish, estimate)


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="vistance", description=__doc__.splitlines()[0])  # one-line errors, exit 2
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def main(argv=None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:
        return USAGE if e.code not in (0, None) else OK
    try:
        return a.func(a)
    except (ConfigError, UsageError) as e:
        if a.debug:
            raise
        err(str(e))
        return USAGE
    except (VistanceError, OSError) as e:
        if a.debug:
            raise
        err(str(e))
        return PARTIAL
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - a bug, not bad input: one line unless --debug
        if a.debug:
            raise
        err(f"internal error: {type(e).__name__}: {e} (run 'vistance --debug ...' for the traceback)")
        return PARTIAL


__all__ = ["main", "build_parser", "OK", "PARTIAL", "USAGE"]
