"""The workflow's node names, one owner for each: the graph is built with them, ``as_node``
writes name them, events carry them and the metrics group by them. Plain strings in a
module of their own, so that reading a thread's status needs no LangGraph import."""

PLANNER = "planner"
CRITIC = "critic"
REQUEST_APPROVAL = "request_approval"  # the decision is written as this node, before the gate
HUMAN_REVIEW = "human_review"  # compiled with interrupt_before: the approval gate, and the review of a step
REQUEST_REVIEW = "request_review"  # a review is written as this node, before the same pause
EXECUTOR = "executor"
REPORTER = "reporter"
AGENTS = (PLANNER, CRITIC)  # the nodes that call the model
