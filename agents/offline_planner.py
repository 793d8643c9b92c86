"""The offline planner's rules: a deterministic goal → plan translation, so the product works
with no model and no network.

1. Steps. If the goal has list items (lines starting with ``-``, ``*``, ``•``, ``1.`` or
   ``1)``, or "1. … 2. …" on one line), each item is a step and items are independent,
   except that a step using a file an earlier step writes waits for it. Otherwise the goal is cut into
   sentences, and each sentence is a step. Either way, "then" (also "and then", "after
   that") cuts a piece further, and every piece after a "then" depends on the piece before
   it; so does an item or sentence that starts with "then".
2. Tool. Each step's words are scored against every tool's name and description (shared
   words count; a URL favours ``http_request``, arithmetic ``calculate``, a file name the
   file tools, backticks ``run_command``). A tool is eligible only if its required args can
   be filled; the best score wins, ties go to the registry's order. No match at all: the
   step becomes ``summarize`` of its own text.
3. Args. URLs, file paths, quoted text (``"…"``, ``'…'``, `` `…` ``) and arithmetic are
   extracted into the tool's args; a text arg with nothing to fill it cites the previous
   step's output as ``{{id}}`` when the step depends on one. Arithmetic is taken if
   ``calculate`` accepts it, whatever its value (10/0 fails when it runs).
4. Coverage. Each piece of the goal is a clause served by the step made from it.
5. Checks. A piece that asks to check the result ("check that it contains 'X'", "make
   sure the result is at most 40", "ensure it is between 1 and 9", "verify it is not
   empty") makes no step: it adds that check to the step before it (``contains``,
   ``range``, ``not_empty``), and its clause is served by that step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.goal_checks import file_key
from agents.tools import ToolRegistry
from agents.tools.calculate import is_arithmetic
from graph.core.checks import Contains, NotEmpty, Range
from graph.core.schemas import Clause, Plan, Step

_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+?)\s*$")
_INLINE_ITEMS = re.compile(r"1[.)]\s+.+\s2[.)]\s+\S", re.S)
_INLINE_SPLIT = re.compile(r"(?:^|\s+)\d+[.)]\s+")
_THEN = re.compile(r"(?:[,;]\s*)?\b(?:and\s+then|then|after\s+that|afterwards)\b[\s,]*", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>`]+")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|(?<![\w])'([^']+)'(?![\w])")
_PATH = re.compile(r"(?<![\w/.@-])((?:[\w-]+/)*[\w-]+\.[A-Za-z][A-Za-z0-9]{0,7})(?![\w/])")
_ARITH = re.compile(r"[\d(][\d\s.+\-*/%()^]*")
_WORD = re.compile(r"[a-z]+")
_PLACEHOLDER = "\x00{}\x00"
_STOP = frozenset(
    "a an the and or of to in on for is are be it its this that with as by at from into "
    "then me my our your their them some all any please".split()
)
_VERBS = {
    "http_request": "fetch", "read_file": "read", "write_file": "write", "list_files": "list",
    "search_files": "search", "calculate": "calc", "run_command": "run", "summarize": "summarize",
}
_TEXT_ARGS = ("text", "content", "body", "input", "query")


@dataclass
class Piece:
    text: str
    after_previous: bool


@dataclass
class Entities:
    urls: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    expression: str | None = None
    commands: list[str] = field(default_factory=list)


def plan_offline(goal: str, registry: ToolRegistry) -> Plan:
    steps: list[Step] = []
    coverage: list[Clause] = []
    taken: dict[str, int] = {}
    written: dict[str, str] = {}  # a file's path → the step that writes it
    previous: str | None = None
    for piece in split_goal(goal):
        if steps and (check := asked_check(piece.text)) is not None:
            steps[-1].checks.append(check)
            coverage.append(Clause(text=piece.text, steps=[steps[-1].id]))
            continue
        tool, args = choose_tool(piece.text, registry, previous if piece.after_previous else None)
        verb = _VERBS.get(tool, re.sub(r"[^A-Za-z0-9_-]", "_", tool)[:40])
        taken[verb] = taken.get(verb, 0) + 1
        step_id = verb if taken[verb] == 1 else f"{verb}_{taken[verb]}"
        depends = [previous] if piece.after_previous and previous else []
        depends += [w for v in args.values() if (w := written.get(file_key(v))) and w not in depends]
        if tool == "write_file" and (path := file_key(args["path"])):
            written[path] = step_id
        steps.append(Step(id=step_id, description=piece.text, tool=tool, args=args, depends_on=depends))
        coverage.append(Clause(text=piece.text, steps=[step_id]))
        previous = step_id
    return Plan(goal=goal, steps=steps, coverage=coverage)


_ASKS_CHECK = re.compile(r"^(?:and\s+)?(?:check|make\s+sure|ensure|verify)\s+(?:that\s+)?"
                         r"(?:it|the\s+(?:result|output|answer|summary))\s+(?P<rest>.+)$", re.I)
_NUMBER = r"(-?\d+(?:\.\d+)?)"


def asked_check(text: str) -> Contains | Range | NotEmpty | None:
    """The check a piece of the goal asks for on the result before it, or None."""
    asked = _ASKS_CHECK.match(text.strip())
    if asked is None:
        return None
    rest = asked.group("rest").strip()
    if match := re.match(r"(?:contains|mentions|includes|says)\s+", rest, re.I):
        quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(rest[match.end():])]
        words = rest[match.end():].split()
        wanted = quoted[0] if quoted else (words[0] if words else "")
        return Contains(text=wanted) if wanted else None
    if match := re.match(rf"is\s+between\s+{_NUMBER}\s+and\s+{_NUMBER}", rest, re.I):
        low, high = sorted((float(match.group(1)), float(match.group(2))))
        return Range(min=low, max=high)
    if match := re.match(rf"is\s+(?:at\s+most|no\s+more\s+than|below|under)\s+{_NUMBER}", rest, re.I):
        return Range(max=float(match.group(1)))
    if match := re.match(rf"is\s+(?:at\s+least|no\s+less\s+than|above|over)\s+{_NUMBER}", rest, re.I):
        return Range(min=float(match.group(1)))
    if re.match(r"is\s+not\s+empty", rest, re.I):
        return NotEmpty()
    return None


def split_goal(goal: str) -> list[Piece]:
    protected, saved = _protect(goal)
    items = [m.group(1) for line in protected.splitlines() if (m := _LIST_ITEM.match(line))]
    if len(items) < 2 and _INLINE_ITEMS.match(protected.strip()):  # "1. Write … 2. Read …" on one line
        items = [i for i in _INLINE_SPLIT.split(protected.strip()) if i.strip()]
    chunks = items or [c for c in _SENTENCE.split(protected) if c.strip()]
    pieces: list[Piece] = []
    for chunk in chunks:
        starts_with_then = bool(re.match(r"\s*(?:and\s+)?then\b|\s*after\s+that\b", chunk, re.I))
        parts = [p for p in _THEN.split(chunk)]
        for index, part in enumerate(parts):
            text = _restore(part, saved).strip(" \t.,;:")
            if not text:
                continue
            chained = (index > 0 or starts_with_then) and bool(pieces)
            pieces.append(Piece(text, chained))
    return pieces or [Piece(goal.strip(), False)]


def _protect(text: str) -> tuple[str, list[str]]:
    """Hide URLs and quoted text so their dots and 'then's do not split the goal."""
    saved: list[str] = []

    def hide(match: re.Match[str]) -> str:
        text = match.group(0)
        kept = text.rstrip(".,;:)") if match.re is _URL else text  # "Fetch URL. Calculate…": the dot ends a sentence
        saved.append(kept)
        return _PLACEHOLDER.format(len(saved) - 1) + text[len(kept):]

    return _URL.sub(hide, _QUOTED.sub(hide, text)), saved


def _restore(text: str, saved: list[str]) -> str:
    return re.sub("\x00(\\d+)\x00", lambda m: saved[int(m.group(1))], text)


def extract(text: str) -> Entities:
    urls = [u.rstrip(".,;:)") for u in _URL.findall(text)]
    quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text)]
    rest = _QUOTED.sub(" ", _URL.sub(" ", text))
    paths = _PATH.findall(rest)
    commands = re.findall(r"`([^`]+)`", text)
    return Entities(urls, quoted, paths, _expression(rest), commands)


def _expression(text: str) -> str | None:
    for candidate in sorted(_ARITH.findall(text), key=len, reverse=True):
        candidate = candidate.strip().replace("^", "**")
        if re.search(r"\d\s*(?:[-+*/%]|\*\*)\s*[\d(]", candidate) and is_arithmetic(candidate):
            return candidate  # 10/0 too: it fails when it runs, which is the honest outcome
    return None


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def choose_tool(text: str, registry: ToolRegistry, previous: str | None) -> tuple[str, dict]:
    found = extract(text)
    words = _words(text)
    best: tuple[float, int, str, dict] | None = None
    for rank, tool in enumerate(registry.tools()):
        args = fill_args(tool.name, tool.args, found, previous, text)
        if args is None:
            continue
        score = len(words & _words(tool.name.replace("_", " ") + " " + tool.description))
        score += _entity_bonus(tool.name, found)
        if score > 0 and (best is None or score > best[0]):
            best = (score, rank, tool.name, args)
    if best is None:
        return "summarize", {"text": f"{{{{{previous}}}}}" if previous else text}
    return best[2], best[3]


def _entity_bonus(name: str, found: Entities) -> float:
    return {
        "http_request": 3 if found.urls else 0,
        "calculate": 3 if found.expression else 0,
        "read_file": 1 if found.paths else 0,
        "write_file": 1 if found.paths else 0,
        "run_command": 3 if found.commands else 0,
    }.get(name, 0)


def fill_args(
    name: str, schema: dict, found: Entities, previous: str | None, text: str
) -> dict | None:
    """Args for tool ``name`` from what the text holds, or None if a required one is missing."""
    cite = f"{{{{{previous}}}}}" if previous else None
    quoted = found.quoted[0] if found.quoted else None
    builtin = {
        "http_request": lambda: {"url": found.urls[0], **_method(text)} if found.urls else None,
        "read_file": lambda: {"path": found.paths[0]} if found.paths else None,
        "write_file": lambda: (
            {"path": found.paths[0], "content": quoted or cite} if found.paths and (quoted or cite) else None
        ),
        "list_files": lambda: {"path": found.paths[0] if found.paths else "."},
        "search_files": lambda: {"pattern": quoted} if quoted else None,
        "calculate": lambda: {"expression": found.expression} if found.expression else None,
        "run_command": lambda: {"command": (found.commands or found.quoted)[0]} if quoted else None,
        "summarize": lambda: {"text": quoted or cite} if (quoted or cite) else None,
    }
    if name in builtin:
        return builtin[name]()
    return _fill_user_tool(schema, quoted or cite)


def _fill_user_tool(schema: dict, text_value: str | None) -> dict | None:
    required = [k for k, v in schema.items() if "default" not in v]
    args: dict = {}
    for key in required:
        if key in _TEXT_ARGS or (len(required) == 1 and schema[key].get("type") == "string"):
            if text_value is None:
                return None
            args[key] = text_value
        else:
            return None
    return args


def _method(text: str) -> dict:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        if re.search(rf"\b{method}\b", text, re.I):
            return {"method": method}
    return {}
