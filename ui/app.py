"""The ProLight Flow dashboard (first page): every thread from the ``runs`` table, newest
first, and one thread's plan, step results and decisions. It only reads; runs execute in
the CLI (and, next, in the run manager), never inside this script."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run ui/app.py` from a clone

import streamlit as st  # noqa: E402

from graph.persistence import Database, open_database  # noqa: E402
from graph.schemas import Status  # noqa: E402
from graph.settings import Settings  # noqa: E402
from graph.workflow import Workflow, WorkflowError  # noqa: E402


@st.cache_resource
def workflow() -> Workflow:
    settings = Settings.from_env()
    db: Database = open_database(settings.db)
    return Workflow(db, settings=settings)


def main() -> None:
    st.set_page_config(page_title="ProLight Flow", layout="wide")
    st.title("ProLight Flow")
    flow = workflow()
    st.caption(f"Database: `{flow.settings.db}` · model: `{flow.settings.model}`")
    status = st.selectbox("Status", ["all"] + [s.value for s in Status])
    rows = flow.threads(None if status == "all" else status, limit=200)
    if not rows:
        st.info("No threads yet. Start one with `prolight run \"your goal\"`.")
        return
    st.dataframe(
        [{"thread": r["thread_id"], "status": r["status"], "goal": r["goal"],
          "updated": r["updated_at"][:19], "operator": r["operator"]} for r in rows],
        hide_index=True, width="stretch",
    )
    chosen = st.selectbox("Thread", [r["thread_id"] for r in rows],
                          format_func=lambda t: f"{t[:12]} · {next(r['goal'] for r in rows if r['thread_id'] == t)[:60]}")
    try:
        show_thread(flow.status(chosen))
    except WorkflowError as exc:
        st.error(str(exc))


def show_thread(thread: dict) -> None:
    st.subheader(f"{thread['status']} · {thread['goal']}")
    if thread["awaiting_approval"]:
        st.warning(f"Awaiting approval: `prolight approve {thread['thread_id']}`")
    if thread["error"]:
        st.error(thread["error"])
    steps = thread["steps"]
    plan = thread["plan"] or {"steps": []}
    st.dataframe(
        [{"step": s["id"], "tool": s["tool"], "after": ", ".join(s["depends_on"]),
          "status": steps.get(s["id"], {}).get("status", "PENDING"),
          "error": steps.get(s["id"], {}).get("error") or ""} for s in plan["steps"]],
        hide_index=True, width="stretch",
    )
    if thread["decisions"]:
        st.write("Decisions")
        st.json(thread["decisions"], expanded=False)


main()
