"""The dashboard under Streamlit's AppTest, for the page tests (tests/ui) and the security
suite: the app script, the operations API on the test's database, and what a page says."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from graph.core.schemas import Status
from graph.operations import Operations
from graph.core.settings import Settings

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")


@pytest.fixture(name="ops")
def dashboard_ops(settings: Settings) -> Iterator[Operations]:
    """``ops``: the test's own Operations on the pages' database. A module uses it by importing
    ``dashboard_ops``."""
    api = Operations.open(settings)
    yield api
    api.close()
    st.cache_resource.clear()  # closes the pages' Operations and stops its run manager


def app(page: str | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    if page:
        for key, value in query.items():
            at.query_params[key] = value
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """What the page says, as a person reads it: the code spans that keep quoted text plain
    inside markdown elements (ui/dashboard/plain.py) show their content only."""
    shown = "\n".join([*(e.value for e in at.text), *(e.value for e in at.markdown), *(e.value for e in at.info),
                       *(e.value for e in at.error), *(e.value for e in at.caption), *(e.value for e in at.success)])
    return re.sub(r"(`+) (.*?) \1", r"\2", shown)


def settle(ops: Operations, thread_id: str, status: Status, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while ops.thread(thread_id).status != status:
        assert time.monotonic() < deadline, ops.thread(thread_id).status
        time.sleep(0.05)
