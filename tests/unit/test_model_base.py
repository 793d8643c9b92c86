"""Every pydantic model of the project derives from ``graph.core.model.Model`` (validators
built on first use), so a CLI call does not build the schemas of models it never uses. A
model that subclasses ``BaseModel`` directly fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from graph.core.model import Model

ROOT = Path(__file__).resolve().parents[2]


def test_no_model_subclasses_basemodel_directly() -> None:
    direct = []
    for path in sorted(p for top in ("graph", "agents", "ui") for p in (ROOT / top).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name != "Model" and any(
                    (base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")) == "BaseModel"
                    for base in node.bases):
                direct.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not direct, f"models that skip graph.core.model.Model: {direct}"


def test_a_model_builds_its_validator_on_first_use() -> None:
    class Probe(Model):
        value: int

    assert not Probe.__pydantic_complete__
    assert Probe(value="3").value == 3 and Probe.__pydantic_complete__
