"""What the operator decides on, in one card beside the buttons: each step with its tool, a
summary of its args and what it waits for; the risk as a coloured badge with the steps that
make it so and why; which steps serve each clause of the goal; the estimate; the critic's
issues, its flags for a plan that may miss the goal among them. A tester found the buttons first and
the plan, a grey "risk high" and the estimate about 600 px lower; the card puts them where
the decision is made. After the gate the same card shows what was decided on.

Badges and labels are our own words and numbers; step text (ids, args, descriptions, the
critic's messages) goes into dataframes and ``st.text``, never markdown."""

from __future__ import annotations

import streamlit as st

from graph.operations.models import ThreadView
from ui.dashboard.tables import card_frame, coverage_frame, issues_frame

RISK_COLOURS = {"low": "green", "medium": "orange", "high": "red"}
ABOUT_THE_DIGEST = ("Approving approves exactly this plan: {digest}. If the plan at the gate changes before "
                    "your click lands (another browser edited it), the approval is refused.")


def decision_card(view: ThreadView) -> None:
    plan, critique, estimate = view.plan, view.critique, view.estimate
    if plan is None:
        return
    with st.container(border=True, key="decision_card"):
        badges = [f":{RISK_COLOURS[critique.risk]}-badge[risk {critique.risk}]"] if critique else []
        badges.append(f":blue-badge[{len(plan.steps)} step{'s' if len(plan.steps) != 1 else ''}]")
        if estimate is not None:
            badges.append(f":gray-badge[about {estimate.critical_path_s:.1f} s]")
        badges.append(f":gray-badge[{view.plan_source or 'operator'}]")  # planner, edit, upload: our own words
        st.markdown(" ".join(badges))
        if critique and critique.risky_steps:
            st.text("\n".join(f"{where}: {why}" for where, why in critique.risky_steps.items()))
        st.container(key="card_steps").dataframe(card_frame(plan), hide_index=True, width="stretch", column_config={
            "args": st.column_config.TextColumn("args", help="the step's arguments, cut; click a step below to "
                                                "see them whole"),
            "after": st.column_config.TextColumn("after", help="steps that must succeed first")})
        if plan.coverage:
            st.caption("What each part of the goal is done by")
            st.container(key="card_coverage").dataframe(coverage_frame(plan), hide_index=True, width="stretch",
                         column_config={"served": st.column_config.CheckboxColumn("served", help="a step of this "
                                        "plan serves the clause")})
        else:
            st.caption("The plan does not say which steps serve which part of the goal.")
        if estimate is not None:
            st.caption(f"Estimated {estimate.critical_path_s:.1f} s on the critical path"
                       + (f"; no history yet for {', '.join(estimate.unknown_tools)}" if estimate.unknown_tools else ""))
        if critique is not None:
            st.caption(f"Critic: {critique.verdict}, {len(critique.issues)} issue{'s' if len(critique.issues) != 1 else ''}")
            if critique.issues:
                st.container(key="card_issues").dataframe(issues_frame(critique.issues), hide_index=True,
                                                          width="stretch")


def digest_note(view: ThreadView) -> None:
    """The digest in small print, the whole of it and what it means in the tooltip."""
    if view.plan_digest:
        st.caption(f"plan {view.plan_digest[:19]}…", help=ABOUT_THE_DIGEST.format(digest=view.plan_digest))
