"""The plan's versions on the thread page: every version the gate showed (the planner's,
each revision, the operator's, each edit, each brought back), a diff between any two, and
at the gate "Bring back version N", which makes that plan the one to decide on (a new
version, checked by the critic, recorded on the audit trail). A revision after feedback
used to replace the plan with nothing to read it against."""

from __future__ import annotations

import streamlit as st

from graph.operations.models import ThreadView
from graph.operations.plan_diff import plan_diff
from ui.dashboard.session import may, send
from ui.dashboard.tables import diff_frame, versions_frame


def plan_versions(view: ThreadView) -> None:
    versions = view.plan_versions
    if len(versions) < 2:
        return
    numbers = [v.version for v in versions]
    st.markdown(f"**Plan versions** ({len(versions)})")
    st.dataframe(versions_frame(versions), hide_index=True, width="stretch", column_config={
        "at": st.column_config.DatetimeColumn("at", format="YYYY-MM-DD HH:mm:ss z")})
    left, right = st.columns(2)
    before = left.selectbox("Compare version", numbers, index=len(numbers) - 2, key=f"diff_from_{view.thread_id}")
    after = right.selectbox("with version", numbers, index=len(numbers) - 1, key=f"diff_to_{view.thread_id}")
    changes = plan_diff(versions[before - 1].plan, versions[after - 1].plan)
    if changes:
        st.container(key="plan_diff").dataframe(diff_frame(changes), hide_index=True, width="stretch")
    else:
        st.caption(f"Versions {before} and {after} have the same steps.")
    current = view.plan_digest
    earlier = [v.version for v in versions if v.digest != current]
    if view.awaiting_approval and "restore" in view.actions and may("restore") and earlier:
        pick, go = st.columns([3, 1], vertical_alignment="bottom")
        chosen = pick.selectbox("Bring back an earlier version as the plan to decide on", earlier,
                                index=len(earlier) - 1, key=f"restore_{view.thread_id}")
        go.button(f"Bring back version {chosen}", key="restore", on_click=send, args=("restore", view.thread_id),
                  kwargs={"version": chosen})
