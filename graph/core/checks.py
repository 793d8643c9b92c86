"""Checks on a step's output, declared in the plan (``Step.checks``) and validated with it.

Each check is one small model told apart by ``kind``; what a check means is decided in
``agents/result_checks.py`` (a ``judge`` asks the run's chat model). A check that cannot
work (a pattern that does not compile, a schema that is not JSON Schema) is the critic's to
refuse, as a blocking issue beside the step, so an operator sees it at the gate and an edit
is checked like the rest of the plan."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from graph.core.model import Model


def _kind_required(schema: dict[str, Any]) -> None:
    """A check in a plan must name its kind (it tells the union apart), though the classes
    default it so that code can write ``NotEmpty()``: the schema says what the parser needs."""
    schema["required"] = ["kind", *(name for name in schema.get("required", []) if name != "kind")]


class _Check(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True, populate_by_name=True, serialize_by_alias=True,
                              json_schema_extra=_kind_required)


class NotEmpty(_Check):
    """The output is not None, not blank text, and not an empty list or object."""

    kind: Literal["not_empty"] = "not_empty"


class Contains(_Check):
    kind: Literal["contains"] = "contains"
    text: str = Field(min_length=1, description="Text the output must contain (case-sensitive).")


class Regex(_Check):
    kind: Literal["regex"] = "regex"
    pattern: str = Field(min_length=1, description="A Python regular expression the output must match (search).")


class JsonSchema(_Check):
    kind: Literal["json_schema"] = "json_schema"
    # "schema" would shadow a BaseModel attribute: the field has another name, the JSON has "schema".
    json_schema: dict[str, Any] = Field(alias="schema", description="JSON Schema the output (or its JSON text) must fit.")


class Range(_Check):
    kind: Literal["range"] = "range"
    min: float | None = Field(default=None, description="Lowest allowed value, inclusive.")
    max: float | None = Field(default=None, description="Highest allowed value, inclusive.")

    @model_validator(mode="after")
    def _bounded(self) -> "Range":
        if self.min is None and self.max is None:
            raise ValueError("a range check needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"a range check's min ({self.min:g}) is above its max ({self.max:g})")
        return self


class Judge(_Check):
    kind: Literal["judge"] = "judge"
    criteria: str = Field(min_length=1, description="What a good output is, for the run's chat model to decide.")


Check = Annotated[NotEmpty | Contains | Regex | JsonSchema | Range | Judge, Field(discriminator="kind")]
CHECK_KINDS: tuple[str, ...] = ("not_empty", "contains", "regex", "json_schema", "range", "judge")


def check_label(check: NotEmpty | Contains | Regex | JsonSchema | Range | Judge) -> str:
    """One short line naming the check, for errors, tables and metrics."""
    match check:
        case Contains(text=text):
            return f"contains {text!r}"
        case Regex(pattern=pattern):
            return f"regex {pattern!r}"
        case Range(min=low, max=high):
            return "range " + (f"{low:g}" if low is not None else "") + ".." + (f"{high:g}" if high is not None else "")
        case Judge(criteria=criteria):
            return f"judge {criteria[:60]!r}"
    return check.kind
