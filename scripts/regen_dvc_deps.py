"""Regenerate the src/ deps of every stage in dvc.yaml from what its command imports (run from the repo root)."""
import sys, yaml
from pathlib import Path
sys.path.insert(0, "src"); sys.path.insert(0, "tests")
from vistance.cli.deps import command_files
from test_dvc_deps import STAGE_COMMAND
p = Path("dvc.yaml"); text = p.read_text()
head = "".join(l for l in text.splitlines(True) if l.startswith("#") and text.index(l) < 600)
d = yaml.safe_load(text)
for name, cmd in STAGE_COMMAND.items():
    body = d["stages"][name]; body = body.get("do", body)
    body["deps"] = [x for x in body["deps"] if not x.startswith("src/vistance/") or x.startswith("src/vistance/data/")] + command_files(cmd)
p.write_text(head + yaml.safe_dump(d, sort_keys=False, width=200, allow_unicode=True))
