"""Every command's ``--help`` prints its usage and exits 0 (a help text argparse cannot format is a crash)."""
from __future__ import annotations

import argparse

import pytest

from vistance.cli import build_parser, main


def _commands(parser, prefix=()):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, prefix + (name,))


COMMANDS = list(_commands(build_parser()))


def test_the_walk_finds_nested_commands():
    assert ("estimate",) in COMMANDS and ("corpus", "fetch") in COMMANDS and len(COMMANDS) > 20


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vistance")
def test_help_prints_usage_and_exits_0(command, capsys):
    assert main([*command, "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: vistance")
