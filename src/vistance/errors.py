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
