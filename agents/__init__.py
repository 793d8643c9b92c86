"""Agents of ProLight Flow: the planner, the critic, the tools they plan with, and model selection."""
