"""The prediction engine on Dask (``dask.distributed``): ``--engine dask [--scheduler ADDRESS]``.

The same contract as :func:`vistance.predict.predict_batches`: ``work(context, batch)`` for every
batch of a stream, results in input order, the same bytes as the local engine. What changes is
where ``work`` runs: on the workers of a Dask cluster instead of forked local processes.

* The input is read here, in the client, by the same readers as the local engine (so rejected
  lines are reported identically); batches go to the workers as tasks, at most ``max_pending``
  (default ``2 x`` the workers' threads) in flight, so memory stays flat however long the input.
* Each worker loads the model folder once (when the engine opens), with the normal :func:`vistance.models.load_model`
  (verified against its manifest), and checks that its ``manifest.json`` is byte-identical to
  the client's: a worker that sees another folder under the same path refuses to predict. On a
  real cluster the folder must therefore be at the same path on every worker (a shared file
  system), and the workers need ``vistance`` installed.
* Without a scheduler address a :class:`distributed.LocalCluster` on loopback is started
  (2 worker processes, one thread each) and closed afterwards.

    with DaskEngine("experiments/models/tfidf_lr", scheduler="tcp://10.0.0.5:8786") as engine:
        predict_file(model, "in.jsonl", "out.jsonl", engine=engine)
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from vistance.errors import UsageError, VistanceError

ENGINES = ("local", "dask")
CONNECT_TIMEOUT_S = 10.0


class ModelRef:
    """Stands for the model in a context sent to the workers; each worker swaps in its loaded copy."""

    __slots__ = ("folder", "digest")

    def __init__(self, folder: str, digest: str):
        self.folder, self.digest = folder, digest

    def __reduce__(self):
        return (ModelRef, (self.folder, self.digest))


def manifest_digest(folder) -> str:
    path = Path(folder) / "manifest.json"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise VistanceError(f"{folder}: not a model folder ({e.strerror or e})") from None


# -- on the workers ---------------------------------------------------------------------------
_MODELS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()
LOADS = 0  # how many times this process loaded a model (the tests read it on the workers)


def _worker_model(ref: ModelRef):
    global LOADS
    key = (ref.folder, ref.digest)
    with _LOCK:
        if key not in _MODELS:
            from vistance.models import load_model

            if manifest_digest(ref.folder) != ref.digest:
                raise VistanceError(f"{ref.folder}: the model folder on this worker differs from the client's")
            _MODELS[key] = load_model(ref.folder)
            LOADS += 1
        return _MODELS[key]


def _resolve(context):
    if isinstance(context, ModelRef):
        return _worker_model(context)
    if isinstance(context, tuple):
        return tuple(_worker_model(c) if isinstance(c, ModelRef) else c for c in context)
    return context


def _run(work: Callable, context, batch):
    return work(_resolve(context), batch)


def _loads() -> int:
    return LOADS


def _preload(ref: ModelRef) -> int:
    _worker_model(ref)
    return LOADS


# -- in the client ----------------------------------------------------------------------------
class DaskEngine:
    """A connection to a Dask scheduler (or a local loopback cluster) that predicts with ``folder``.

    ``scheduler``: ``tcp://HOST:PORT`` of a running scheduler; ``None`` starts
    ``LocalCluster(n_workers, threads_per_worker=1, processes=True)`` on 127.0.0.1 (no dashboard).
    An address that cannot be reached within ``timeout`` seconds is a :class:`VistanceError`.
    Use it as a context manager (it closes the client and any cluster it started).
    """

    def __init__(self, folder, scheduler: str | None = None, n_workers: int = 2, timeout: float | None = None,
                 max_pending: int | None = None):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise VistanceError("--engine dask needs dask.distributed: pip install 'dask[distributed]'") from None
        self.folder = str(Path(folder).resolve())
        self.ref = ModelRef(self.folder, manifest_digest(self.folder))
        self.scheduler, self.n_workers = scheduler, n_workers
        self.timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
        self.max_pending = max_pending
        self.client = None
        self.cluster = None

    # connection
    def open(self) -> "DaskEngine":
        from distributed import Client, LocalCluster

        if self.client is not None:
            return self
        if self.scheduler:
            from distributed.comm import parse_address
            from distributed.comm.registry import get_backend

            try:
                get_backend(parse_address(self.scheduler)[0])
            except (ValueError, TypeError) as e:
                raise VistanceError(f"--scheduler {self.scheduler!r} is not a Dask address such as tcp://HOST:8786 "
                                    f"({e})") from None
            try:
                self.client = Client(self.scheduler, timeout=self.timeout, set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise VistanceError(f"cannot reach the Dask scheduler at {self.scheduler} within {self.timeout:g} s "
                                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no answer'})") from None
            try:
                self.client.wait_for_workers(1, timeout=self.timeout)
            except (OSError, TimeoutError):
                self.close()
                raise VistanceError(f"the Dask scheduler at {self.scheduler} has no worker (waited {self.timeout:g} s): "
                                    f"start some with `dask worker {self.scheduler}`") from None
        else:
            self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)
        # every worker there now loads (and verifies) the folder before the first batch; one that
        # joins later loads it with its first batch
        try:
            self.client.run(_preload, self.ref)
        except Exception:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def __enter__(self) -> "DaskEngine":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def workers(self) -> int:
        self.open()
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def model_loads(self) -> dict:
        """``{worker address: models loaded by that worker process}`` (each loads a folder once)."""
        return self.open().client.run(_loads)

    # the engine
    def map(self, work: Callable, batches: Iterable, context: Any = None, model: Any = None,
            info: dict | None = None) -> Iterator:
        """``work(context, batch)`` for each batch on the cluster, in input order. ``model`` (the
        client's loaded copy) is replaced in ``context`` by the worker's own load of the folder."""
        self.open()
        context = model if context is None else context
        if context is model or context is None:
            sent = self.ref
        elif isinstance(context, tuple):
            sent = tuple(self.ref if (c is model and model is not None) else c for c in context)
        else:
            sent = context
        n = self.workers
        if info is not None:
            info["jobs"] = n
            info["engine"] = "dask"
        max_pending = self.max_pending or 2 * n
        client = self.client
        shared = client.scatter([sent], broadcast=True, hash=False)[0] if sent is not self.ref else sent
        pending: deque = deque()
        try:
            for batch in batches:
                pending.append(client.submit(_run, work, shared, batch, pure=False))
                while len(pending) >= max_pending:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
            if shared is not sent:
                shared.cancel()


def open_engine(engine: str | None, folder=None, scheduler: str | None = None, **kw) -> DaskEngine | None:
    """``None`` for the local engine, an (unopened) :class:`DaskEngine` for ``"dask"``."""
    if engine in (None, "local"):
        if scheduler:
            raise UsageError("--scheduler needs --engine dask")
        return None
    if engine != "dask":
        raise VistanceError(f"unknown engine {engine!r} (expected one of {', '.join(ENGINES)})")
    if folder is None or not isinstance(folder, (str, Path)):
        raise VistanceError("the dask engine needs a model folder (each worker loads it)")
    return DaskEngine(folder, scheduler=scheduler, **kw)
