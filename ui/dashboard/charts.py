"""Pictures of a thread: the plan's DAG coloured by live step status (Graphviz DOT, drawn in
the browser) and a Gantt timeline of its steps (Altair). Pure functions of the view."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd

from graph.operations.models import StepView
from ui.dashboard.tables import STATUS_COLOURS


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a DOT string literal: quotes, backslashes, newlines escaped


def dag_dot(steps: list[StepView]) -> str:
    lines = ["digraph plan {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontcolor="white"];']
    for step in steps:
        colour = STATUS_COLOURS.get(step.status.value, "#6b7280")
        label = _quoted(f"{step.id}\n{step.tool} · {step.status.value.lower()}")
        lines.append(f'  {_quoted(step.id)} [label={label}, fillcolor="{colour}"];')
    for step in steps:
        lines += [f"  {_quoted(dep)} -> {_quoted(step.id)};" for dep in step.depends_on]
    return "\n".join([*lines, "}"])


def _status_colours(frame: pd.DataFrame) -> alt.Scale:
    """Each status in the frame's ``status`` column in its colour of the whole dashboard."""
    statuses = sorted(set(frame["status"]))
    return alt.Scale(domain=statuses, range=[STATUS_COLOURS.get(s, "#6b7280") for s in statuses])


def gantt(timeline: pd.DataFrame) -> alt.Chart:
    return alt.Chart(timeline).mark_bar().encode(
        x=alt.X("start:T", title="time"), x2="end:T",
        y=alt.Y("step:N", sort=alt.EncodingSortField("start"), title=None),
        color=alt.Color("status:N", legend=alt.Legend(orient="bottom"), scale=_status_colours(timeline)),
        tooltip=["step", "status", "start:T", "end:T"],
    ).properties(height=alt.Step(22))


def runs_over_time(counts: pd.DataFrame, bucket: str) -> alt.Chart:
    """Runs per hour or day of creation, stacked by the status they have now."""
    unit = "yearmonthdatehours" if bucket == "hour" else "yearmonthdate"
    return alt.Chart(counts).mark_bar().encode(
        x=alt.X(f"{unit}(start):O", title=None), y=alt.Y("runs:Q", title="runs"),
        color=alt.Color("status:N", scale=_status_colours(counts)),
        tooltip=["start:T", "status", "runs"])
