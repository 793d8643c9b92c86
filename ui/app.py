"""The ProLight Flow dashboard: ``streamlit run ui/app.py``. This entry script only sets up
the navigation and the sidebar; each page is a script under ``ui/screens/`` that reads and
commands through the operations API (``ui/dashboard/session.py``). Runs never execute in
a script run: commands are queued and the process's run manager executes them.

No script run here or in a page ends with ``st.stop()``: Streamlit forgets the fragments of
the run before only when a run finishes, so after a stopped run a live fragment of the page
shown before (the thread page's, say) can still re-run and write into a layout that is gone,
which blanks the browser's page. Pages return instead."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run ui/app.py` from a clone

import streamlit as st  # noqa: E402

from graph.operations.config import Settings, SettingsError  # noqa: E402
from ui.dashboard.session import operations, read_settings, sidebar  # noqa: E402
from ui.dashboard.sign_in import gate  # noqa: E402

st.set_page_config(page_title="ProLight Flow", page_icon="🔆", layout="wide")
navigation = st.navigation([
    st.Page("screens/runs.py", title="Runs", icon=":material/list:", default=True),
    st.Page("screens/approvals.py", title="Approvals", icon=":material/approval:"),
    st.Page("screens/new_run.py", title="New run", icon=":material/add_circle:"),
    st.Page("screens/thread.py", title="Thread", icon=":material/account_tree:"),
    st.Page("screens/metrics.py", title="Metrics", icon=":material/monitoring:"),
])
try:
    settings: Settings | None = read_settings()
    operations()  # the run manager starts with the first page anyone opens
except SettingsError as exc:  # the model setting's errors too
    st.error(f"The settings are not usable: {exc}")
    settings = None
if settings is not None:
    if gate(settings):
        sidebar()
        navigation.run()
