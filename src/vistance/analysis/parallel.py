"""Moved: the ordered multi-process map is part of the prediction engine, :mod:`vistance.predict`.

These names stay importable from here for old notebooks and scripts.
"""
from vistance.predict import (available_cpus, chunked, fork_available, parallel_map, resolve_jobs,  # noqa: F401
                              segment_parallel)

__all__ = ["available_cpus", "chunked", "fork_available", "parallel_map", "resolve_jobs", "segment_parallel"]
