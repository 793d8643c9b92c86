"""One thread, deep-linkable as ``?thread_id=ID``: status, goal, plan, DAG, critique and
estimate, live steps with their attempts, a Gantt timeline, the report, the decisions and
the event log; the buttons that apply to it; and at the approval gate the panel to
approve, edit or reject. The live parts re-draw in a fragment every ``LIVE_REFRESH_S``; the
decision forms and the event filters sit outside it, so a refresh never drops what the
operator is typing. Model, tool and goal text is shown as text, never as markdown."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import get_args

import streamlit as st

from graph.operations.models import EventKind
from graph.operations import RequestError
from graph.operations.models import StepView, ThreadView
from ui.dashboard import charts
from ui.dashboard.approval import approval_panel
from ui.dashboard.decision_card import decision_card
from ui.dashboard.review import review_panel
from ui.dashboard.branches import branches
from ui.dashboard.versions import plan_versions
from ui.dashboard.session import (LIVE_REFRESH_S, THREAD_PARAM, find_thread, may, open_thread, operations,
                                  operator, send, shown_thread_id)
from ui.dashboard.history import history
from ui.dashboard.tables import (attempts_frame, checks_summary, decisions_frame, events_frame, next_try,
                                 steps_frame, timeline_frame, tokens_line)
from ui.dashboard.plain import plain

TEXT_CHARS = 2_000
SHOWN_STEP = "shown_step"  # the step shown in full, picked by a click on its row or its node
STEPS_TABLE, DAG_CHART, STEP_ORDER = "steps_table", "dag_chart", "steps_table_order"


def long_text(text: str | None, limit: int = TEXT_CHARS) -> None:
    """Plain text, cut at ``limit`` with the whole of it one click away."""
    if not text:
        return
    st.text(text if len(text) <= limit else text[:limit] + "…")
    if len(text) > limit:
        with st.expander(f"Show all {len(text):,} characters"):
            st.code(text, language=None, wrap_lines=True)


# What each command on a thread does, said where the operator asks for it.
INTENT = {
    "cancel": ("Cancel", "Stop this thread: no new step starts; a running step gets a short grace period and is "
                         "then CANCELLED; steps not started are skipped. Resume continues it later.",
               "Cancel this thread"),
    "resume": ("Resume", "Continue from where the thread stopped: after a crash from its last checkpoint; after a "
                         "failure or a cancel, run every step that did not succeed (failed, not attempted, "
                         "cancelled, skipped). Each step keeps its earlier attempts.",
               "Resume this thread"),
    "retry": ("Retry failed steps", "For a FAILED thread: run again the steps that failed or that an open breaker "
                                    "refused, and the ones they held back; steps that succeeded keep their results, "
                                    "and each step keeps its earlier attempts.", "Retry the failed steps"),
}


def actions(view: ThreadView) -> None:
    """Each command in a popover that says what it does, takes an optional reason (sealed
    with the decision on the audit trail) and asks to confirm: a cancel was one stray click."""
    offered = [a for a in INTENT if a in view.actions and may(a)]
    for column, action in zip(st.columns(max(len(offered), 1) + 2), offered):
        label, intent, confirm = INTENT[action]
        with column.popover(label, width="stretch", help=intent):  # explained before it is opened
            st.caption(intent)
            reason_key = f"reason_{action}_{view.thread_id}"
            st.text_input("Reason (optional)", key=reason_key, placeholder="recorded with the decision")
            st.caption(f"as {operator()}")
            st.button(confirm, key=f"thread_{action}", type="primary" if action == "cancel" else "secondary",
                      on_click=_act, args=(action, view.thread_id, reason_key))


def _act(action: str, thread_id: str, reason_key: str) -> None:
    """The reason as typed when the button is pressed (a callback's bound arguments are
    those of the run that drew it)."""
    send(action, thread_id, reason=(st.session_state.get(reason_key) or "").strip() or None)


Moment = tuple[str, bool, tuple[str, ...], tuple[str, ...]]


def moment(view: ThreadView) -> Moment:
    """What the page outside the live parts shows: status, the gate, the steps to review,
    the buttons."""
    return view.status.value, view.awaiting_approval, tuple(view.awaiting_review), tuple(view.actions)


@st.fragment(run_every=LIVE_REFRESH_S)
def live(thread_id: str, shown: Moment) -> None:
    """``shown``: the moment the page around this fragment was drawn for; when the thread
    has moved on (it reached the gate, another browser decided, it ended) the whole page
    is drawn again, so no status, button or panel outlives its moment."""
    try:
        view = operations().thread(thread_id)
    except RequestError as exc:
        st.error(plain(exc))
        return
    if moment(view) != shown:
        st.rerun()
    steps = list(view.steps.values())
    if not steps:
        st.caption("No plan yet: the planner is at work.")
    if steps:
        now = datetime.now(timezone.utc)
        st.markdown("**Steps**")
        st.session_state[STEP_ORDER] = [s.id for s in steps]
        st.dataframe(steps_frame(steps, now), hide_index=True, width="stretch", key=STEPS_TABLE,
                     on_select=_picked_row, selection_mode="single-row",
                     column_config={"started": st.column_config.TextColumn("started (UTC)"),
                                    "next_try": st.column_config.TextColumn("next try (UTC)", help="a step in "
                                                                            "back-off: when its next attempt starts")})
        picked = view.steps.get(st.session_state.get(SHOWN_STEP) or "")
        if picked is not None:
            step_detail(picked, now)
        else:
            st.caption("Click a row or a node of the graph to see that step in full.")
        # Every section is drawn from the start, empty ones with a line saying so, so that
        # nothing jumps down the page as the run moves on.
        failures = attempts_frame(steps)
        st.markdown("**Failed and refused attempts**")
        with st.container(key="failed_attempts"):  # a dataframe without selection carries no key class
            if len(failures):
                st.dataframe(failures, hide_index=True, width="stretch")
            else:
                st.caption("None so far.")
        graph = charts.dag(steps)
        st.altair_chart(graph, width="stretch", height=graph.height, key=DAG_CHART, on_select=_picked_node,
                        selection_mode=charts.DAG_PICK)  # the height the rows need, not the default
        st.markdown("**Timeline**")
        timeline = timeline_frame(steps, now)
        if len(timeline):
            st.altair_chart(charts.gantt(timeline), width="stretch")
        else:
            st.caption("It starts when the first step runs.")
    st.markdown("**Report**")
    if view.report:
        long_text(view.report)
    else:
        st.caption("When the run ends.")
    st.markdown("**Decisions**")
    if not view.decisions:
        st.caption("None yet.")
    else:
        verified = [e.verified for e in view.audit.entries] if view.audit else [False] * len(view.decisions)
        columns = {
            "when": st.column_config.DatetimeColumn("when", format="YYYY-MM-DD HH:mm:ss z"),
            "edited_plan": "edited the plan", "plan_digest": "plan approved", "sealed": "seal checks out",
            "version": st.column_config.TextColumn("on version", help="the plan version the decision was made on")}
        st.container(key="decisions_table").dataframe(decisions_frame(view.decisions, verified), hide_index=True,
                                                      column_config=columns)


def _picked_row() -> None:
    rows = st.session_state[STEPS_TABLE].selection.rows
    order = st.session_state.get(STEP_ORDER, [])
    st.session_state[SHOWN_STEP] = order[rows[0]] if rows and rows[0] < len(order) else None


def _picked_node() -> None:
    picked = st.session_state[DAG_CHART].selection.get(charts.DAG_PICK) or []
    st.session_state[SHOWN_STEP] = picked[0].get("step") if picked else None


def step_detail(step: StepView, now: datetime) -> None:
    """One step whole: what it is, its args, and its output and error uncut (its failed
    attempts are in the table below)."""
    with st.container(border=True, key="step_detail"):
        title, close = st.columns([5, 1])
        title.markdown(f"**Step** `{step.id}`")  # a step id is letters, digits, '_' and '-'
        close.button("Close", key="close_step", on_click=st.session_state.__setitem__, args=(SHOWN_STEP, None))
        st.text(" · ".join(x for x in (step.tool, step.status.value, f"after {', '.join(step.depends_on)}"
                                      if step.depends_on else "", f"{step.attempts} attempt(s)") if x))
        if waiting := next_try(step, now):
            st.text(f"in back-off: {waiting} UTC")
        long_text(step.description)
        if step.checks:
            st.text(f"checks: {checks_summary(step.checks)}")
        st.code(json.dumps(step.args, indent=2, ensure_ascii=False), language="json")
        if step.output is not None:
            long_text(step.output if isinstance(step.output, str) else json.dumps(step.output, indent=2,
                                                                                   ensure_ascii=False))
        if step.error:
            long_text(step.error)


def header(view: ThreadView) -> None:
    where = f"executing in {view.held_by}" if view.held_by else "queued for a worker" if view.queued else ""
    st.markdown(f"### :{_colour(view)}-badge[{view.status.value}]")
    st.text(" · ".join(x for x in (f"started by {view.operator}", f"model {view.model}",
                                   f"created {view.created_at:%Y-%m-%d %H:%M:%S %Z}", where) if x))
    if view.tokens:
        st.text(tokens_line(view.tokens))
    if view.decisions:
        last = view.decisions[-1]
        st.text(f"Last decision: {last.action}{' (final)' if last.final else ''} by {last.operator} "
                f"at {last.at:%Y-%m-%d %H:%M:%S %Z}")
    audit_mark(view)
    # Made only once asked for (it reads every event), and handed over as it is: a document
    # made at the click was sometimes cancelled or misnamed by the browser (seen under load).
    if st.toggle("Prepare the audit export", key="export_ready", help=(
            "The thread for a reviewer, without the database: goal, plan versions, critique, sealed decisions, "
            "step attempts and results, events (secrets redacted). `prolight verify-export FILE` checks its seals.")):
        st.download_button("Download the audit export (JSON)",
                           data=operations().export(view.thread_id).model_dump_json(indent=2),
                           file_name=f"prolight-{view.thread_id}.json", mime="application/json", on_click="ignore",
                           key="export")
    if view.error and view.awaiting_review:
        st.warning(plain(view.error[:TEXT_CHARS]))  # a pause for a person, not a failure
    elif view.error:
        st.error(plain(view.error[:TEXT_CHARS]))


def audit_mark(view: ThreadView) -> None:
    """The decisions' seals, checked at every draw, so an altered trail shows at once."""
    audit = view.audit
    if audit is None or not audit.decisions:
        return
    if audit.verified:
        st.success(f"Audit trail verified: {audit.decisions} decision(s), each sealed and linked to the one before",
                   icon=":material/verified:")
    else:
        st.error(plain(f"Audit trail broken at decision {audit.broken_at}: {audit.reason}"), icon=":material/gpp_bad:")


def _colour(view: ThreadView) -> str:
    """A badge colour name; the label is our own status enum, never operator or model text."""
    return {"COMPLETED": "green", "FAILED": "red", "REJECTED": "red", "CANCELLED": "gray", "AWAITING_REVIEW": "orange",
            "AWAITING_APPROVAL": "orange"}.get(view.status.value, "blue")


@st.fragment(run_every=LIVE_REFRESH_S)
def events(thread_id: str) -> None:
    """The event log, filtered by the kind and step chosen above it (outside this fragment,
    so a refresh keeps the choice)."""
    page = operations().events(thread_id, limit=100_000)
    frame = events_frame(page.events)
    kinds = st.session_state.get("event_kinds") or []
    step = st.session_state.get("event_step") or ""
    if kinds:
        frame = frame[frame["kind"].isin(kinds)]
    if step:
        frame = frame[frame["step"] == step]
    newest_first = st.session_state.get("event_order", "newest first") == "newest first"
    st.markdown(f"**Events** ({len(frame)} of {len(page.events)}, {'newest' if newest_first else 'oldest'} first)")
    shown = frame.iloc[::-1].head(500) if newest_first else frame.tail(500)  # new events come in at the top
    st.dataframe(shown, hide_index=True,
                 column_config={"time": st.column_config.DatetimeColumn("time", format="HH:mm:ss.SSS z")})


def plan_and_review(view: ThreadView) -> None:
    """Past the gate (or before it, to a reader who may not decide): the card the decision
    was made on, folded."""
    if view.plan is not None:
        with st.expander(f"Plan: {len(view.plan.steps)} steps ({view.plan_source or 'operator'})"):
            decision_card(view)


def pick_thread() -> None:
    st.info("Open a thread from the Runs or Approvals page, or paste its id.")
    pasted = st.text_input("Thread id", key="thread_pasted")
    if pasted:
        found = find_thread(pasted)
        if isinstance(found, str):
            st.error(plain(found))
        else:
            open_thread(found.thread_id)


def shown_view() -> ThreadView | None:
    """The thread the URL names, or None with a box to paste an id (and why, if it named one)."""
    thread_id = shown_thread_id()
    problem = None
    if thread_id:
        try:
            return operations().thread(thread_id)
        except RequestError as exc:
            problem = str(exc)
    st.title("Thread")
    if problem:
        st.error(plain(problem))
    pick_thread()
    return None


def thread_page(view: ThreadView) -> None:
    st.query_params[THREAD_PARAM] = view.thread_id
    st.markdown(f"## Thread `{view.thread_id}`")  # our own hex id: safe as markdown
    long_text(view.goal)
    if notice := st.session_state.pop("thread_notice", None):
        st.toast(notice)
    if error := st.session_state.pop("thread_error", None):
        st.error(plain(error))
    header(view)
    branches(view)
    actions(view)
    if view.awaiting_approval and may("approve"):
        approval_panel(view)
    elif view.awaiting_approval:
        st.info("Waiting for a decision by an approver. Your account may read this thread but not decide.")
        decision_card(view)
    elif view.awaiting_review and may("review"):
        review_panel(view)
    elif view.awaiting_review:
        st.info(f"Waiting for an approver to review {', '.join(view.awaiting_review)}. Your account may read this "
                "thread but not decide.")
        plan_and_review(view)
    else:
        plan_and_review(view)
    plan_versions(view)
    live(view.thread_id, moment(view))
    filter_kinds, filter_step, order = st.columns([3, 1, 1])
    filter_kinds.multiselect("Event kinds", get_args(EventKind), key="event_kinds", placeholder="every kind")
    filter_step.selectbox("Step", ["", *view.steps], key="event_step", format_func=lambda s: s or "every step")
    order.radio("Order", ["newest first", "oldest first"], key="event_order", horizontal=True,
                help="Newest first: new events come in at the top. Oldest first: the last 500, in order.")
    events(view.thread_id)
    history(view)


if (shown := shown_view()) is not None:
    thread_page(shown)
