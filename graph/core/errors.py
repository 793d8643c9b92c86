"""Tool error classes, in the base layer because the retry policy classifies them (a refusal is
never retried, an HTTP status decides by its code) and the base may not import agents/."""


class ToolError(Exception):
    """A tool failed in a way worth reporting to the operator as-is."""


class ToolRefused(ToolError):
    """The sandbox refused the call (path outside the workspace, command not allowed...).
    Retrying cannot help."""


class HttpStatusError(ToolError):
    """The server answered with an error status; ``status`` tells whether a retry may help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RequestError(Exception):
    """A request the operator must change (unknown thread, wrong moment, invalid plan); the
    message is one line. Front ends show it as is: CLI exit 2, a dashboard message, an HTTP 4xx."""


class ThreadNotFound(RequestError):
    pass


class BadInput(RequestError):
    """The request itself is wrong (an empty goal, a plan that does not validate), whatever
    the thread's state; other refusals are about the moment (already decided, nothing to
    resume). HTTP tells them apart: 422 and 409."""


class PlanInputError(BadInput):
    """A plan that cannot be read or does not validate; names the step and field."""
