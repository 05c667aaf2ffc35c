"""The project's own error types: every bad input surfaces as one of these."""
from __future__ import annotations


class VistanceError(Exception):
    """Base class for errors a user can act on (bad input, bad model folder, ...)."""


class InputError(VistanceError):
    """A user-supplied file (or one line of it) cannot be used.

    The message always names the file, and the line number when there is one.
    """

    def __init__(self, path, message: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.reason = message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {message}")


class LabelError(VistanceError):
    """Labels that break the schema: unknown names, duplicates, stale hashes."""


class ModelError(VistanceError):
    """A model folder that is missing, tampered with, or incompatible."""


class ConfigError(VistanceError):
    """A params file with an unknown key, a wrong type or an impossible value (the CLI exits 2)."""


class UsageError(VistanceError):
    """The command was asked for something it refuses (an output that is also an input, a folder it
    did not write, a batch size of 0): one line, and the CLI exits 2."""


def detached(err: BaseException) -> BaseException:
    """``err`` without its traceback and chained exceptions, so keeping it keeps no frames,
    no decoder state and no copy of the input line (what a rejected-input report stores)."""
    err.__traceback__ = None
    err.__context__ = None
    err.__cause__ = None
    return err


class Rejections(list):
    """A report's list of rejected inputs, bounded: every rejection is counted (``total``), the
    first ``limit`` are kept (detached: no traceback, no chained exception), the rest dropped.

    Used wherever a reader goes on after a bad input (predict, ingest), so 10^6 bad lines cost
    a counter, not 10^6 exceptions with their frames.
    """

    limit = 100

    def __init__(self, items=(), limit: int | None = None):
        super().__init__()
        if limit is not None:
            self.limit = limit
        self.total = 0
        for item in items:
            self.append(item)

    def append(self, item) -> None:  # noqa: D102 - list.append, bounded
        self.total += 1
        if len(self) < self.limit:
            super().append(detached(item) if isinstance(item, BaseException) else item)

    def extend(self, items) -> None:  # noqa: D102
        for item in items:
            self.append(item)

    @property
    def dropped(self) -> int:
        """Rejections counted but not kept."""
        return self.total - len(self)
