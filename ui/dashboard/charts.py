"""Pictures of a thread with Altair: the plan's DAG coloured by live step status (a click on
a node selects the step) and a Gantt timeline of its steps. Pure functions of the view."""

from __future__ import annotations

import altair as alt
import pandas as pd

from graph.operations.models import StepView
from ui.dashboard.tables import STATUS_COLOURS


LEVEL_PX = 76  # one row of the DAG: a node, its label, the gap to the next row
DAG_PICK = "dag_pick"  # the selection a click on a node makes


def dag_layout(steps: list[StepView]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes placed in rows by how many steps come before them (a step sits one row below
    its latest dependency) and spread across each row in plan order; the edges between
    them. Rows run down the page, so a long chain grows taller instead of shrinking to
    unreadable boxes (a left-to-right Graphviz drawing did that)."""
    by_id = {s.id: s for s in steps}
    level: dict[str, int] = {}

    def depth(step_id: str, seen: frozenset[str] = frozenset()) -> int:
        if step_id not in level:
            deps = [d for d in by_id[step_id].depends_on if d in by_id and d not in seen]
            level[step_id] = 1 + max((depth(d, seen | {step_id}) for d in deps), default=-1)
        return level[step_id]

    for step in steps:
        depth(step.id)
    rows: dict[int, list[str]] = {}
    for step in steps:
        rows.setdefault(level[step.id], []).append(step.id)
    x = {sid: i - (len(ids) - 1) / 2 for ids in rows.values() for i, sid in enumerate(ids)}
    nodes = pd.DataFrame({
        "step": pd.Series([s.id for s in steps], dtype="string"),
        "tool": pd.Series([s.tool for s in steps], dtype="string"),
        "status": pd.Series([s.status.value for s in steps], dtype="string"),
        "x": pd.Series([x[s.id] for s in steps], dtype="float64"),
        "y": pd.Series([level[s.id] for s in steps], dtype="int64"),
        "about": pd.Series([f"step {s.id}: {s.tool}, {s.status.value}" for s in steps], dtype="string"),
    })
    pairs = [(d, s.id) for s in steps for d in s.depends_on if d in by_id]
    edges = pd.DataFrame({
        "x": pd.Series([x[a] for a, _ in pairs], dtype="float64"), "y": pd.Series([level[a] for a, _ in pairs], dtype="int64"),
        "x2": pd.Series([x[b] for _, b in pairs], dtype="float64"), "y2": pd.Series([level[b] for _, b in pairs], dtype="int64"),
    })
    return nodes, edges


def dag(steps: list[StepView]) -> alt.LayerChart:
    """The plan's DAG coloured by live status; a click on a node selects its step."""
    nodes, edges = dag_layout(steps)
    rows = int(nodes["y"].max()) + 1 if len(nodes) else 1
    half = max(1.0, float(nodes["x"].abs().max()) if len(nodes) else 1.0) + 0.6
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[-half, half]))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[-0.5, rows - 0.3], reverse=True))
    pick = alt.selection_point(fields=["step"], name=DAG_PICK, on="click")
    lines = alt.Chart(edges).mark_rule(color="#9ca3af", strokeWidth=1.5).encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    boxes = alt.Chart(nodes).mark_point(shape="square", size=420, filled=True, cursor="pointer").encode(
        x=x, y=y, color=alt.Color("status:N", scale=_status_colours(nodes), legend=None),  # the steps table says it
        tooltip=["step", "tool", "status"], description="about:N",  # each node's aria-label
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55))).add_params(pick)
    labels = alt.Chart(nodes).mark_text(dy=20, fontSize=12).encode(x=x, y=y, text="step:N")
    tools = alt.Chart(nodes).mark_text(dy=33, fontSize=10, color="#6b7280").encode(x=x, y=y, text="tool:N")
    return alt.layer(lines, boxes, labels, tools).properties(height=LEVEL_PX * rows + 24)


def _status_colours(frame: pd.DataFrame) -> alt.Scale:
    """Each status in the frame's ``status`` column in its colour of the whole dashboard."""
    statuses = sorted(set(frame["status"]))
    return alt.Scale(domain=statuses, range=[STATUS_COLOURS.get(s, "#6b7280") for s in statuses])


def gantt(timeline: pd.DataFrame) -> alt.LayerChart:
    """Bars on seconds from the run's start, each labelled with its duration."""
    span = float(timeline["end_s"].max()) if len(timeline) else 1.0
    x = alt.X("start_s:Q", title="seconds from the start of the run", axis=alt.Axis(tickCount=8),
              scale=alt.Scale(domain=[0, max(span, 0.01) * 1.15]))
    y = alt.Y("step:N", sort=alt.EncodingSortField("start_s"), title=None)
    bars = alt.Chart(timeline).mark_bar().encode(
        x=x, x2="end_s:Q", y=y,
        color=alt.Color("status:N", legend=alt.Legend(orient="bottom"), scale=_status_colours(timeline)),
        tooltip=["step", "status", alt.Tooltip("start_s:Q", format=".2f", title="start (s)"),
                 alt.Tooltip("end_s:Q", format=".2f", title="end (s)"), "label"])
    labels = alt.Chart(timeline).mark_text(align="left", dx=4, fontSize=11).encode(
        x=alt.X("end_s:Q"), y=y, text="label:N")
    return alt.layer(bars, labels).properties(height=alt.Step(24))


def runs_over_time(counts: pd.DataFrame, bucket: str) -> alt.Chart:
    """Runs per hour or day of creation, stacked by the status they have now."""
    unit = "yearmonthdatehours" if bucket == "hour" else "yearmonthdate"
    return alt.Chart(counts).mark_bar().encode(
        x=alt.X(f"{unit}(start):O", title=None), y=alt.Y("runs:Q", title="runs"),
        color=alt.Color("status:N", scale=_status_colours(counts)),
        tooltip=["start:T", "status", "runs"])
