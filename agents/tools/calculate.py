"""Safe arithmetic: the expression is parsed with ``ast`` and only numbers, arithmetic
operators and a few math functions are evaluated; nothing reaches ``eval``.

It is bounded (registered so; the executor then runs it without a deadline thread): the
expression is at most ``MAX_CHARS`` long and no integer, intermediate or final, may exceed
``MAX_INT_BITS`` (checked before a power is computed, from the operands' sizes), so every
operation is on numbers of a few thousand digits and every result can be printed (Python
refuses to print an int of more than 4,300 digits). Float overflow is refused too."""

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
MAX_CHARS = 10_000
MAX_INT_BITS = 14_000  # about 4,200 decimal digits
# CPython 3.11's parser keeps its recursion depth in state shared by threads, so two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (seen here with 8 steps at once); parses take microseconds, so take turns.
_PARSE = threading.Lock()


def evaluate(expression: str) -> float | int:
    if len(expression) > MAX_CHARS:
        raise ToolRefused(f"expression is longer than {MAX_CHARS} characters")
    try:
        with _PARSE:
            tree = ast.parse(expression.strip(), mode="eval")
        return _eval(tree.body)
    except SyntaxError as exc:
        raise ToolRefused(f"not an arithmetic expression: {expression[:80]!r}") from exc
    except (RecursionError, MemoryError) as exc:  # CPython's parser gives up on deep nesting either way
        raise ToolRefused("expression is nested too deeply") from exc


def is_arithmetic(expression: str) -> bool:
    """Whether ``calculate`` takes this expression, whatever its value: 10/0 is arithmetic
    that fails when it runs, and a planner that dropped it for failing planned something
    else instead (a 'Calculate 10/0' step became a summary and the run completed)."""
    if len(expression) > MAX_CHARS:
        return False
    try:
        with _PARSE:
            tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return False
    return all(_allowed(node) for node in ast.walk(tree.body))


def _allowed(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in _CONSTANTS or node.id in _FUNCTIONS
    if isinstance(node, ast.BinOp):
        return type(node.op) in _BINARY
    if isinstance(node, ast.UnaryOp):
        return type(node.op) in _UNARY
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords
    return isinstance(node, (ast.operator, ast.unaryop, ast.Load))


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        try:
            return _sized(_BINARY[type(node.op)], left, right)
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
        return _sized(_FUNCTIONS[node.func.id], *(_eval(a) for a in node.args))
    raise ToolRefused(f"unsupported element in expression: {ast.dump(node)[:80]}")


def _check_power(base: float | int, exponent: float | int) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolRefused(f"exponent {exponent} is too large")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS:
            raise ToolRefused("result is too large")


def _sized(operation: Callable[..., float | int], *operands: float | int) -> float | int:
    """The operation's result, refused if it overflows a float or exceeds ``MAX_INT_BITS``."""
    try:
        value = operation(*operands)
    except OverflowError as exc:
        raise ToolRefused("result is too large") from exc
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolRefused("result is too large")
    return value


@tool
def calculate(expression: str) -> float | int:
    """Calculate or compute an arithmetic expression (numbers, + - * / // % **, parentheses, sqrt, round...)."""
    return evaluate(expression)
