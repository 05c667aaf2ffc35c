"""Which vistance source files a command runs: the ``src/`` deps of its DVC stage, generated, not guessed.

    python -m vistance.cli.deps train            # the files `vistance train` may import
    python -m vistance.cli.deps --check dvc.yaml # every stage's src deps against the generated lists

Static and conservative: from the command's function, every ``vistance`` import (at module level
or inside a function, and ``"vistance.x:Class"`` registry strings) is followed through whole
modules, so a stage depends on each module it may import (a package dep like
``src/vistance/corpus`` covers its files).
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]          # .../src
_REGISTRY_STRING = re.compile(r"^(vistance(?:\.\w+)+):\w+$")


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _imports(tree: ast.AST, package: str) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("vistance"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("vistance"):
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)   # `from pkg import module`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _REGISTRY_STRING.match(node.value)
            if m:
                out.add(m.group(1))
    return out


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(start: set[str]) -> set[Path]:
    """The source files of ``start`` modules and of everything they import, transitively."""
    seen: set[str] = set()
    todo = list(start)
    files: set[Path] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        files.add(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        todo.extend(_imports(ast.parse(path.read_text(encoding="utf-8")), package) | set(_parents(name)))
    return files


def command_files(command: list[str]) -> list[str]:
    """Repository-relative source files ``vistance <command>`` may import (the cli package excluded).

    ``command``: the subcommand words and any required positional (``["train", "x"]``,
    ``["labels", "build-gold"]``). A command with ``--params`` also depends on ``config.py``.
    """
    from vistance.cli import build_parser

    args, _ = build_parser().parse_known_args([*command, "--out", "x", "--output", "x", "--paragraphs", "x",
                                               "--model", "x", "--input", "x"])
    func = args.func
    start = _imports(ast.parse(textwrap.dedent(inspect.getsource(func))), "vistance.cli")
    if hasattr(args, "params"):
        start.add("vistance.config")
    root = SRC.parent
    return sorted(str(f.relative_to(root)) for f in closure(start)
                  if "/cli/" not in f.as_posix() and not (f.name == "__init__.py" and f.stat().st_size == 0))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for f in command_files(argv):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
