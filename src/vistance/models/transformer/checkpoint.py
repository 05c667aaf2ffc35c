"""Loading a tokenizer and an encoder from a local checkpoint folder or a Hub name, offline-safe.

A folder is always read with ``local_files_only``; a Hub name only reaches the network when
the Hub is not disabled (:func:`hub_offline`). Every failure becomes one :class:`ModelError`
that says how to provide weights (:func:`checkpoint_error`). Used by fine-tuning
(:mod:`.model`) and by masked-LM pretraining (:mod:`vistance.checkpoints.pretrain`).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from vistance.errors import ModelError
from vistance.models.folder import read_manifest

# already word-segmented, as PhoBERT expects; used to catch tokenizers that silently produce nothing
PROBE_SENTENCE = "Việt_Nam và Trung_Quốc nhất_trí tăng_cường hợp_tác kinh_tế , thương_mại và đầu_tư ."

PROVIDE_WEIGHTS = (
    "To provide weights: on a machine with internet run "
    "`huggingface-cli download vinai/phobert-base --local-dir PATH` (or `hf download ...`), "
    "copy PATH to this machine, and set `model_name_or_path: PATH` in params.yaml."
)


def hub_offline() -> bool:
    """True when the Hugging Face Hub must not be contacted (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return True
    try:
        import huggingface_hub.constants as c

        return bool(c.HF_HUB_OFFLINE)
    except Exception:  # noqa: BLE001 - a missing/changed constant only means "not forced offline"
        return False


def short_error(error: BaseException) -> str:
    """``Type: first line of the message`` (at most 300 characters), for one-line errors."""
    msg = str(error).strip().splitlines()
    return f"{type(error).__name__}: {msg[0][:300] if msg else ''}"


def checkpoint_error(name_or_path, cause: BaseException | None = None) -> ModelError:
    """The one message for a checkpoint that cannot be loaded."""
    p = Path(str(name_or_path)).expanduser()
    why = f" ({short_error(cause)})" if cause is not None else ""
    if p.is_dir():
        return ModelError(
            f"transformer checkpoint folder {str(name_or_path)!r} exists but does not hold a loadable "
            f"model and tokenizer{why}. It needs config.json, safetensors weights and the tokenizer files "
            f"(vocab.txt and bpe.codes for PhoBERT). {PROVIDE_WEIGHTS}"
        )
    return ModelError(
        f"transformer checkpoint {str(name_or_path)!r} was not found locally (no such folder, and not in "
        f"the Hugging Face cache) and the Hugging Face Hub is unreachable or disabled (offline){why}. "
        f"{PROVIDE_WEIGHTS}"
    )


def checkpoint_source(name_or_path) -> tuple[str, bool]:
    """``(what to pass to from_pretrained, local_files_only)``."""
    p = Path(str(name_or_path)).expanduser()
    if p.is_dir():
        return str(p), True
    return str(name_or_path), hub_offline()


def verify_checkpoint_folder(name_or_path, segmenter: str | None = None) -> None:
    """Verify a vistance-made checkpoint (manifest) and warn on a segmenter different from its own.

    A Hub name (not a folder) is left alone.
    """
    from vistance.checkpoints.phobert import read_checkpoint_info

    p = Path(str(name_or_path)).expanduser()
    if not p.is_dir():
        return
    if (p / "manifest.json").is_file():
        read_manifest(p)
    info = read_checkpoint_info(p)
    if segmenter and info.get("segmenter") and info["segmenter"] != segmenter:
        warnings.warn(
            f"{p}: checkpoint was built on {info['segmenter']!r}-segmented text, fine-tuning with {segmenter!r}",
            stacklevel=3,
        )
    has_safe = any(p.glob("*.safetensors")) or any(p.glob("*/*.safetensors"))
    if not has_safe and (p / "pytorch_model.bin").is_file():
        warnings.warn(
            f"{p}: only pytorch_model.bin (pickle) is present; transformers loads it with weights_only=True. "
            "Prefer a folder with model.safetensors.", stacklevel=3,
        )


def check_tokenizer(tokenizer, where) -> None:
    """Refuse a tokenizer that turns a Vietnamese probe sentence into nothing (or mostly ``<unk>``)."""
    try:
        ids = tokenizer(PROBE_SENTENCE, add_special_tokens=False, verbose=False)["input_ids"]
    except Exception as e:  # noqa: BLE001 - any failure here is a broken tokenizer
        raise ModelError(f"{where}: the tokenizer fails on a Vietnamese probe sentence ({short_error(e)})") from e
    unk = getattr(tokenizer, "unk_token_id", None)
    n_unk = sum(1 for i in ids if unk is not None and i == unk)
    if not ids or n_unk * 2 > len(ids):
        raise ModelError(
            f"{where}: the tokenizer produced {'an empty' if not ids else 'a mostly <unk>'} tokenisation of a "
            f"Vietnamese probe sentence ({len(ids)} tokens, {n_unk} unknown); the tokenizer files are missing, "
            f"empty or not PhoBERT's (check vocab.txt and bpe.codes). {PROVIDE_WEIGHTS}"
        )


def load_tokenizer(name_or_path):
    """``AutoTokenizer`` for a local folder or Hub name, guarded by :func:`check_tokenizer`."""
    from transformers import AutoTokenizer

    src, local_only = checkpoint_source(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(src, local_files_only=local_only)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise checkpoint_error(name_or_path, e) from e
    check_tokenizer(tok, name_or_path)
    return tok


def load_pretrained(loader, name_or_path, **kwargs):
    """``loader.from_pretrained`` (an ``Auto*`` class) for a folder or Hub name; errors as :func:`checkpoint_error`."""
    src, local_only = checkpoint_source(name_or_path)
    try:
        return loader.from_pretrained(src, local_files_only=local_only, **kwargs)
    except (OSError, ValueError, KeyError) as e:
        raise checkpoint_error(name_or_path, e) from e


def load_encoder(name_or_path, **kwargs):
    """``AutoModel`` without the pooler (the heads read the ``<s>`` vector)."""
    from transformers import AutoModel

    try:
        return load_pretrained(AutoModel, name_or_path, add_pooling_layer=False, **kwargs)
    except TypeError:  # an architecture without that switch
        model = load_pretrained(AutoModel, name_or_path, **kwargs)
        if hasattr(model, "pooler"):
            model.pooler = None
        return model


def max_tokens_allowed(config) -> int:
    """Longest input (special tokens included) the checkpoint's position table allows."""
    n = int(getattr(config, "max_position_embeddings", 512))
    if "roberta" in str(getattr(config, "model_type", "")) or getattr(config, "model_type", "") == "camembert":
        n -= int(getattr(config, "pad_token_id", 1) or 0) + 1  # RoBERTa positions start after the pad id
    return n
