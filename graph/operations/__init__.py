"""The operations API: the one typed seam every front end calls (see ``api.py``)."""

from graph.core.errors import BadInput, NotFound, PlanInputError, ProLightError, RequestError, ThreadNotFound
from graph.operations.api import Operations
from graph.operations.plans import parse_plan, read_plan_file

__all__ = ["BadInput", "NotFound", "Operations", "PlanInputError", "ProLightError", "RequestError", "ThreadNotFound",
           "parse_plan", "read_plan_file"]
