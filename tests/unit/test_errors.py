"""Every exception class the project defines derives from ``ProLightError``, so a front end
can tell our refusals and failures from a bug. Read from the source with ``ast``: a class is
an exception when its bases lead to a builtin exception; it must also lead to the root."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

from graph.core.errors import BadInput, ExecutionError, ProLightError, RequestError, SettingsError, ToolError

ROOT = Path(__file__).resolve().parents[2]
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}


def project_classes() -> dict[str, tuple[str, list[str]]]:
    """Class name -> (where, base names) for every class under graph/, agents/ and ui/."""
    found: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(p for top in ("graph", "agents", "ui") for p in (ROOT / top).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                         for base in node.bases]
                found[node.name] = (f"{path.relative_to(ROOT)}:{node.lineno}", bases)
    return found


def ancestors(name: str, classes: dict[str, tuple[str, list[str]]]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        for base in classes.get(current, ("", []))[1]:
            if base not in seen:
                seen.add(base)
                todo.append(base)
    return seen


def test_every_exception_class_has_the_one_root() -> None:
    classes = project_classes()
    exceptions = {name for name in classes if ancestors(name, classes) & BUILTIN_EXCEPTIONS}
    assert len(exceptions) >= 20, "the walk found too few exception classes to be reading the source"
    strays = sorted(f"{classes[name][0]} {name}" for name in exceptions - {"ProLightError"}
                    if "ProLightError" not in ancestors(name, classes))
    assert not strays, f"exception classes outside ProLightError: {strays}"


def test_the_families_keep_the_builtin_kinds_callers_catch() -> None:
    assert issubclass(SettingsError, ValueError)
    for family in (RequestError, SettingsError, ToolError, ExecutionError):
        assert issubclass(family, ProLightError)
    assert issubclass(BadInput, RequestError)
