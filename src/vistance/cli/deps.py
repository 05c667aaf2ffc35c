"""Which vistance source files a command runs: the ``src/`` deps of its DVC stage, generated, not guessed.

    python -m vistance.cli.deps train x                      # the files `vistance train` may import
    python -m vistance.cli.deps train x --kinds lexicon tfidf  # ... when it trains only those kinds

Static and conservative: from the command's function, every ``vistance`` import (at module level
or inside a function, ``from vistance import name`` of the lazy notebook API, and
``"vistance.x:Class"`` registry strings) is followed through whole modules, so a stage depends on
each module it may import, plus the command's own CLI module and ``cli/_common.py``. ``kinds``
restricts the model registry to the kinds a stage builds (dvc.yaml's per-kind foreach groups).

:data:`STAGES` maps each vistance stage of dvc.yaml to its command; :func:`stage_files` gives a
stage's src deps (``scripts/regen_dvc_deps.py`` writes them, ``tests/test_dvc_deps.py`` checks them).
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
_REGISTRY = "registry:"
_REGISTRY_STRING = re.compile(r"^(vistance(?:\.\w+)+):\w+$")

# dvc.yaml stage -> the command it runs (and, for model stages, the params.yaml list of its models)
STAGES = {
    "fetch": (["corpus", "fetch", "x"], None), "ingest": (["corpus", "ingest"], None),
    "gold": (["labels", "build-gold"], None),
    "agreement": (["agreement"], None), "dataset": (["dataset"], None),
    "checkpoint": (["checkpoint"], None), "pretrain": (["pretrain"], None),
    "encoder_checkpoint": (["encoder", "convert"], None),
    "train_baseline": (["train", "x"], "baselines"), "train_encoder": (["train", "x"], "encoders"),
    "train_transformer": (["train", "x"], "transformers"),
    "evaluate_baseline": (["evaluate", "x"], "baselines"), "evaluate_encoder": (["evaluate", "x"], "encoders"),
    "evaluate_transformer": (["evaluate", "x"], "transformers"),
    "compare": (["compare"], "all"), "cards": (["cards"], "all"), "analyze": (["analyze"], "all"),
    "simulate_active": (["simulate-active"], "active"),
    "estimate": (["estimate"], "all"), "estimate_check": (["estimate-check"], "estimate_check"),
}
MODEL_GROUPS = ("baselines", "encoders", "transformers")   # pipeline.<group>: one foreach list each


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _lazy_api() -> dict:
    import vistance

    return {name: module for name, (module, _attr) in vistance._API.items()}


def _imports(tree: ast.AST, package: str, registry: bool = True) -> set[str]:
    out: set[str] = set()
    api = _lazy_api()
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
                if base == "vistance":                                  # the lazy notebook API
                    out.update(api[a.name] for a in node.names if a.name in api)
        elif registry and isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _REGISTRY_STRING.match(node.value)
            if m:
                out.add(_REGISTRY + m.group(1))   # imported by name at run time (a model registry)
    return out


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(start: set[str], kinds=None) -> set[Path]:
    """The source files of ``start`` modules and of everything they import, transitively.

    ``kinds``: when given, registry strings of other model kinds are not followed.
    """
    skip: set[str] = set()
    if kinds is not None:
        from vistance.models import REGISTRY

        unknown = set(kinds) - set(REGISTRY)
        if unknown:
            raise ValueError(f"unknown model kind(s) {sorted(unknown)}")
        skip = {target.split(":")[0] for kind, target in REGISTRY.items() if kind not in kinds}
    seen: set[str] = set()
    parents_seen: set[str] = set()
    todo = [(name, False) for name in start]
    files: set[Path] = set()
    while todo:
        name, as_parent = todo.pop()
        if name.startswith(_REGISTRY):
            name = name[len(_REGISTRY):]
            if name in skip:
                continue
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            seen.add(name)
            continue
        if not as_parent:
            seen.add(name)
        elif name in parents_seen:
            continue
        parents_seen.add(name)
        files.add(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # a package reached only as the parent of a submodule runs its module-level code, nothing more
        found = _imports(ast.Module(body=_top_level(tree), type_ignores=[]), package, registry=False) if as_parent \
            else _imports(tree, package)
        todo.extend((m, False) for m in found)
        todo.extend((p, True) for p in _parents(name))
    return files


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """The import statements a module runs when imported (top level, also inside top-level if/try)."""
    out: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, (ast.If, ast.Try)):
            out.extend(_top_level(ast.Module(body=[*node.body, *getattr(node, "orelse", []),
                                                   *getattr(node, "finalbody", []),
                                                   *[s for h in getattr(node, "handlers", []) for s in h.body]],
                                             type_ignores=[])))
    return out


def command_files(command: list[str], kinds=None) -> list[str]:
    """Repository-relative source files ``vistance <command>`` may import.

    ``command``: the subcommand words and any required positional (``["train", "x"]``,
    ``["labels", "build-gold"]``). A command with ``--params`` also depends on ``config.py``.
    ``kinds``: the model kinds it may build (default: every registered kind).
    From the cli package: the command's own module and ``_common.py`` only.
    """
    from vistance.cli import build_parser

    args, _ = build_parser().parse_known_args([*command, "--out", "x", "--output", "x", "--paragraphs", "x",
                                               "--model", "x", "--input", "x"])
    func = args.func
    start = _imports(ast.parse(textwrap.dedent(inspect.getsource(func))), "vistance.cli")
    if hasattr(args, "params"):
        start.add("vistance.config")
    root = SRC.parent
    own = {Path(inspect.getsourcefile(func)).resolve(), SRC / "vistance" / "cli" / "_common.py"}
    files = {f for f in closure(start, kinds) if "/cli/" not in f.as_posix()} | own
    return sorted(str(f.relative_to(root)) for f in files if not (f.name == "__init__.py" and f.stat().st_size == 0))


def spec_kinds(spec) -> set[str]:
    """Every ``kind`` in a model spec, nested ones included (an ensemble's members)."""
    if isinstance(spec, dict):
        return ({spec["kind"]} if isinstance(spec.get("kind"), str) else set()).union(
            *(spec_kinds(v) for v in spec.values()))
    if isinstance(spec, list):
        return set().union(*(spec_kinds(v) for v in spec))
    return set()


def group_models(params, group: str) -> list[str]:
    """The model names whose kinds a stage of ``group`` may build.

    ``all``: every pipeline model; ``active``: ``active_learning.model``; a model group: its list, or,
    when the list is empty (an opt-in group, e.g. ``transformers``), every model no group lists, the
    models an opt-in run (``dvc exp run -S pipeline.transformers=[...]``) may add.
    """
    pipeline = params.get("pipeline") or {}
    if group == "all":
        return [n for g in MODEL_GROUPS for n in pipeline.get(g) or []]
    if group == "active":
        return [(params.get("active_learning") or {}).get("model", "tfidf_lr")]
    if group == "estimate_check":
        return [((params.get("estimate") or {}).get("check") or {}).get("model", "tfidf_lr")]
    listed = pipeline.get(group) or []
    if listed:
        return listed
    others = {n for g in MODEL_GROUPS for n in pipeline.get(g) or []}
    return [n for n in params.get("models") or {} if n not in others]


def stage_files(stage: str, params) -> list[str]:
    """The src deps of a dvc.yaml stage (``params``: the params.yaml mapping)."""
    command, group = STAGES[stage]
    kinds = None
    if group is not None:
        models = params.get("models") or {}
        names = group_models(params, group)
        kinds = set().union(*(spec_kinds(models[name]) for name in names))
    return command_files(command, kinds)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    kinds = None
    if "--kinds" in argv:
        at = argv.index("--kinds")
        argv, kinds = argv[:at], argv[at + 1:]
    for f in command_files(argv, kinds):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
