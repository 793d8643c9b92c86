"""A thread's branches on its page: a fork never hides the outcome of the branch it left.
Each branch is a line ("branch 2 (current), forked from checkpoint X by NAME at T: is
AWAITING_APPROVAL"; "branch 1: ended COMPLETED"), and any one can be viewed: its status,
report, error and audit mark at its head."""

from __future__ import annotations

import streamlit as st

from graph.operations.models import BranchView, ThreadView
from ui.dashboard.session import operations
from ui.render import branch_line


def branches(view: ThreadView) -> None:
    found = operations().branches(view.thread_id)
    if len(found) < 2:
        return
    with st.container(border=True, key="branches"):
        st.markdown(f"**Branches** ({len(found)})")
        st.text("\n".join(branch_line(b.model_dump(mode="json")) for b in found))
        others = [b for b in found if not b.current]
        picked = st.selectbox("View another branch", [None, *others], key=f"branch_view_{view.thread_id}",
                              format_func=lambda b: "none" if b is None else f"branch {b.branch}")
        if picked is not None:
            branch_detail(picked)


def branch_detail(branch: BranchView) -> None:
    st.text(f"branch {branch.branch} at its head, checkpoint {branch.head_checkpoint_id}: {branch.status}")
    if branch.decisions:
        trail = "verified" if branch.audit_verified else "BROKEN"
        st.text(f"audit trail {trail}: {branch.decisions} decision(s)")
    if branch.report:
        st.code(branch.report, language=None, wrap_lines=True)
    if branch.error:
        st.text(f"error: {branch.error}")
