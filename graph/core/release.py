"""Which release of ProLight Flow this is: each thread records the one that created it, so
that data written by an older release can be told apart (and migrated) after an upgrade."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version


@lru_cache(maxsize=1)
def release() -> str:
    """The installed package's version (read on first use: importlib.metadata costs a
    few milliseconds that a read-only CLI call should not pay)."""
    try:
        return version("prolight-flow")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
