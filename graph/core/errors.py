"""The project's exceptions share one root, ``ProLightError``, so a front end can tell our
refusals and failures from a bug with one ``except``. Under it, one family per kind of
trouble; each family says who must act:

- ``RequestError``: the operator must change the request (unknown thread, wrong moment,
  invalid plan). One line, shown as is: CLI exit 2, a dashboard message, an HTTP 4xx.
- ``SettingsError``: the configuration is wrong (settings file, environment, model).
- ``ToolError``: a tool call failed; the retry policy classifies it.
- ``ExecutionError``: a step could not finish (timeout, cancel, open breaker, retries spent,
  another worker holds the thread).
- ``ModelError``: a chat model failed or answered out of shape.

Classes that were builtin kinds keep that base too (``SettingsError`` is a ``ValueError``,
``StepTimeout`` a ``TimeoutError``...): the retry policy classifies failures by them, and
callers that catch the builtin keep working. Families live here, in the base layer, because
every layer raises them; a class may live near its raiser if it derives from a family.
``tests/unit/test_errors.py`` holds every exception class of the project under the root."""


class ProLightError(Exception):
    """Root of every exception this project raises on purpose."""


class RequestError(ProLightError):
    """A request the operator must change (unknown thread, wrong moment, invalid plan); the
    message is one line. Front ends show it as is: CLI exit 2, a dashboard message, an HTTP 4xx."""


class NotFound(RequestError):
    """The request names something that does not exist (a thread, a checkpoint, a step):
    HTTP 404, whatever the moment. A plan version the thread lacks is a 409: versions are
    the thread's state, not ids."""


class ThreadNotFound(NotFound):
    pass


class BadInput(RequestError):
    """The request itself is wrong (an empty goal, a plan that does not validate), whatever
    the thread's state; other refusals are about the moment (already decided, nothing to
    resume). HTTP tells them apart: 422 and 409 (and 404 for ``NotFound``)."""


class PlanInputError(BadInput):
    """A plan that cannot be read or does not validate; names the step and field."""


class SettingsError(ProLightError, ValueError):
    """A setting (file, environment or flag) that cannot be used; the message names it."""


class ToolError(ProLightError):
    """A tool failed in a way worth reporting to the operator as-is."""


class ToolRefused(ToolError):
    """The sandbox refused the call (path outside the workspace, command not allowed...).
    Retrying cannot help."""


class HttpStatusError(ToolError):
    """The server answered with an error status; ``status`` tells whether a retry may help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ExecutionError(ProLightError):
    """A step or a run could not go on."""


class CheckFailed(ExecutionError):
    """The tool answered, but its output failed one or more of the step's checks; each
    failure reads "LABEL: why". Retried under the step's retry policy (``check_failed``)."""

    def __init__(self, failures: list[str], output: object = None, tally: dict[str, list[str]] | None = None) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures
        self.output = output  # what the tool answered (redacted), for the reviewer
        self.tally = tally or {}  # the kinds of check that passed and that failed, for the metrics


class ModelError(ProLightError):
    """A chat model call failed, or its answer does not fit the expected shape."""
