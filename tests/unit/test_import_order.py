"""The layers import only downwards, in the order ``docs/ARCHITECTURE.md`` states:
``graph/core`` < ``agents`` < ``graph/store`` < ``graph/engine`` < ``graph/operations`` <
``ui``. Read from the source with ``ast`` (every import, also those inside functions and
under ``TYPE_CHECKING``), so a circle or a shortcut upwards fails here before it lands.
The front ends are held to more: ``ui`` imports only the operations API and its models
(``graph.operations``), never ``graph.core``, ``graph.store`` or ``graph.engine``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["graph.core", "agents", "graph.store", "graph.engine", "graph.operations", "ui"]
FRONT_ENDS_MAY_NOT = ("graph.core", "graph.store", "graph.engine")


def layer_of(module: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return None


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def sources() -> list[Path]:
    return sorted(p for top in ("graph", "agents", "ui") for p in (ROOT / top).rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_its_own_layer_and_those_below(path: Path) -> None:
    own = 0 if module_name(path) == "graph" else layer_of(module_name(path))  # the package's docstring only
    assert own is not None, f"{module_name(path)} is in no layer: add it to LAYERS and docs/ARCHITECTURE.md"
    upwards = [f"line {line}: {name} ({LAYERS[layer_of(name)]})" for line, name in imports(path)
               if layer_of(name) is not None and layer_of(name) > own]
    assert not upwards, f"{module_name(path)} ({LAYERS[own]}) imports upwards: {upwards}"


@pytest.mark.parametrize("path", sorted((ROOT / "ui").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_front_ends_reach_the_engine_only_through_the_operations_api(path: Path) -> None:
    around = [f"line {line}: {name}" for line, name in imports(path) if name.startswith(FRONT_ENDS_MAY_NOT)]
    assert not around, f"{module_name(path)} goes around the operations API: {around}"


def test_the_architecture_page_states_this_order() -> None:
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert " < ".join(f"`{layer.replace('.', '/')}`" for layer in LAYERS) in page
