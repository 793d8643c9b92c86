"""Safe arithmetic: the expression is parsed with ``ast`` and only numbers, arithmetic
operators and a few math functions are evaluated; nothing reaches ``eval``."""

from __future__ import annotations

import ast
import math
import operator
import threading
from typing import Callable

from langchain_core.tools import tool

from graph.core.errors import ToolRefused

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max,
    "log": math.log, "exp": math.exp, "floor": math.floor, "ceil": math.ceil,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_EXPONENT = 1000
# CPython 3.11's parser keeps its recursion depth in state shared by threads, so two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (seen here with 8 steps at once); parses take microseconds, so take turns.
_PARSE = threading.Lock()


def evaluate(expression: str) -> float | int:
    try:
        with _PARSE:
            tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolRefused(f"not an arithmetic expression: {expression!r}") from exc
    return _eval(tree.body)


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolRefused(f"exponent {right} is too large")
        try:
            return _BINARY[type(node.op)](left, right)
        except ZeroDivisionError as exc:
            raise ToolRefused("division by zero") from exc
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))
    raise ToolRefused(f"unsupported element in expression: {ast.dump(node)[:80]}")


@tool
def calculate(expression: str) -> float | int:
    """Calculate or compute an arithmetic expression (numbers, + - * / // % **, parentheses, sqrt, round...)."""
    return evaluate(expression)
