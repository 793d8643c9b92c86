"""The ProLight Flow dashboard: every thread from the ``runs`` table, newest first, and one
thread's plan, step results, decisions and live event log. Runs never execute inside this
script: the process's run manager (held with ``st.cache_resource``) executes queued and
orphaned threads on background workers, and the page tails the ``events`` table."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run ui/app.py` from a clone

import streamlit as st  # noqa: E402

from graph.core.logs import configure_logging  # noqa: E402
from graph.core.schemas import Status  # noqa: E402
from graph.operations import Operations, RequestError  # noqa: E402
from graph.operations.models import ThreadQuery  # noqa: E402
from ui.render import event_detail  # noqa: E402


@st.cache_resource
def operations() -> Operations:
    """One per process, shared by every browser session: the API is thread-safe (one
    lock-guarded connection) and its run manager executes on background workers."""
    configure_logging("INFO")
    ops = Operations.open()
    ops.start_run_manager()
    return ops


def main() -> None:
    st.set_page_config(page_title="ProLight Flow", layout="wide")
    st.title("ProLight Flow")
    ops = operations()
    st.caption(f"Database: `{ops.settings.db}` · model: `{ops.settings.model}`")
    status = st.selectbox("Status", ["all"] + [s.value for s in Status])
    page = ops.threads(ThreadQuery(statuses=() if status == "all" else (Status(status),), limit=200))
    rows = page.items
    if not rows:
        st.info("No threads yet. Start one with `prolight run \"your goal\"`.")
        return
    st.dataframe(
        [{"thread": r.thread_id, "status": r.status.value, "goal": r.goal,
          "updated": r.updated_at.isoformat()[:19], "operator": r.operator} for r in rows],
        hide_index=True, width="stretch",
    )
    goals = {r.thread_id: r.goal for r in rows}
    chosen = st.selectbox("Thread", list(goals), format_func=lambda t: f"{t[:12]} · {goals[t][:60]}")
    live_thread(chosen)


@st.fragment(run_every=2)
def live_thread(thread_id: str) -> None:
    """Re-drawn every 2 s on its own, so a running thread's steps and events move live."""
    try:
        show_thread(operations().thread(thread_id).model_dump(mode="json"))
    except RequestError as exc:
        st.error(str(exc))
        return
    show_events(thread_id)


def show_thread(thread: dict) -> None:
    st.subheader(f"{thread['status']} · {thread['goal']}")
    if thread["awaiting_approval"]:
        estimate = thread.get("estimate") or {}
        eta = f" · estimated {estimate['critical_path_s']:.1f}s" if estimate.get("critical_path_s") else ""
        st.warning(f"Awaiting approval{eta}: `prolight approve {thread['thread_id']}`")
    if thread["error"]:
        st.error(thread["error"])
    steps = thread["steps"]
    plan = thread["plan"] or {"steps": []}
    st.dataframe(
        [{"step": s["id"], "tool": s["tool"], "after": ", ".join(s["depends_on"]),
          "status": steps.get(s["id"], {}).get("status", "PENDING"),
          "attempts": steps.get(s["id"], {}).get("attempts", 0),
          "error": steps.get(s["id"], {}).get("error") or ""} for s in plan["steps"]],
        hide_index=True, width="stretch",
    )
    if thread["decisions"]:
        st.write("Decisions")
        st.json(thread["decisions"], expanded=False)


def show_events(thread_id: str) -> None:
    events = operations().events(thread_id, limit=100_000).events
    st.write(f"Events ({len(events)})")
    st.dataframe(
        [{"seq": e.seq, "time": e.ts.isoformat()[11:23], "kind": e.kind, "node": e.node or "",
          "step": e.step_id or "", "attempt": e.attempt or "",
          "detail": event_detail(e)[:200]}
         for e in events[-200:]],
        hide_index=True, width="stretch",
    )


main()
