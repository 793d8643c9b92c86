"""Fixtures of the integration tests that start long-running processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import Background


@pytest.fixture
def workers() -> Iterator[list[Background]]:
    """`prolight worker` processes a test starts (``workers.append(cli.background("worker"))``),
    stopped at its end whatever happened."""
    started: list[Background] = []
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.terminate()
            w.proc.wait(timeout=15)
