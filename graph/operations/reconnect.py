"""The remote client's reconnect back-off: the one retry config's waits (tenacity), named
here so the front end takes it from the operations package. Its own module because tenacity
is an import no local CLI call needs."""

from graph.core.resilience import backoff

__all__ = ["backoff"]
