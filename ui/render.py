"""Readable text for the CLI and the dashboard: a thread's status, tables of threads and checkpoints, and
one line per progress event."""

from __future__ import annotations

from typing import Any

from graph.operations.models import FINISHED, Event, StoredEvent

_MARK = {"step_started": "▶", "step_succeeded": "✓", "step_failed": "✗", "step_cancelled": "■", "step_skipped": "–",
         "step_retry": "↻", "step_not_attempted": "⊘", "step_needs_review": "?",
         "step_cached": "≡"}


def event_line(event: Event) -> str | None:
    if event.kind in _MARK:
        detail = event.payload.get("error") or event.payload.get("reason") or event.payload.get("tool") or ""
        seconds = event.payload.get("seconds")
        timing = f" ({seconds:.2f}s)" if isinstance(seconds, (int, float)) else ""
        return f"  {_MARK[event.kind]} {event.step_id} {event.kind.removeprefix('step_')}{timing} {detail}".rstrip()
    return None


def event_detail(event: Event) -> str:
    """An event's payload as ``key=value`` pairs, the same in ``prolight events`` and the
    dashboard (a tool's custom ``data`` is left to ``--json``)."""
    return ", ".join(f"{k}={v}" for k, v in event.payload.items() if v is not None and k != "data")


def stored_event_line(event: StoredEvent) -> str:
    where = " ".join(x for x in (event.node, event.step_id, f"#{event.attempt}" if event.attempt else None) if x)
    return f"{event.seq:>5} {event.ts.isoformat()[11:23]} {event.kind:<17} {where:<24} {event_detail(event)[:160]}".rstrip()


def one_line(text: str, limit: int = 60) -> str:
    """A goal as one line of a listing: its line breaks and runs of spaces made single
    spaces, cut at ``limit`` with an ellipsis. A multi-line goal broke the rows."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def readable(command: str, result: Any) -> str:
    if command == "threads":
        rows = [f"{r['thread_id']}  {r['status']:<17} {r['updated_at'][:19]}  {one_line(r['goal'])}"
                for r in result["items"]]
        shown = f"{result['offset'] + 1}-{result['offset'] + len(rows)} of {result['total']}" if rows else ""
        return "\n".join([*rows, shown]) if rows else f"no threads match (of {result['total']})"
    if command == "counts":
        return "\n".join(f"{status:<17} {count}" for status, count in result["counts"].items()) + f"\ntotal {result['total']}"
    if command == "inbox":
        return "\n".join(f"{p['thread_id']}  since {p['waiting_since'][:19]}  {p['steps']} steps  risk {p['risk']}  "
                         + (f"review {', '.join(p['review'])}  " if p.get("kind") == "review" else "")
                         + one_line(p['goal']) for p in result) or "nothing awaits a decision"
    if command == "state":
        head = f"checkpoint {result['checkpoint']['checkpoint_id']} ({result['checkpoint']['node']}, " \
               f"{result['checkpoint']['status']})"
        return "\n".join([head, *(f"  {c['field']}: {_short({'': c['before']})[1:]} -> {_short({'': c['after']})[1:]}"
                                  for c in result["changes"])])
    if command == "history":
        return "\n".join(
            f"{h['checkpoint_id']}  step {h['step']:>3}  {str(h['node'] or ''):<17} {str(h['status']):<17} {h['created_at'][:19]}"
            for h in result)
    if command == "branches":
        return "\n".join(branch_line(b) for b in result)
    if command == "metrics":
        return _metrics_text(result)
    if command == "backup":
        key = (f"\nkeep the audit key with it: {result['audit_key']} (the seals are checked with it)"
               if result["audit_key"] else "")
        return (f"backup {result['path']}: {result['bytes']:,} bytes, {result['threads']} threads, "
                f"integrity {result['integrity']}{key}")
    if command == "storage":
        return _storage_text(result)
    if command == "prune":
        return _prune_text(result)
    if command in ("audit", "verify-export"):
        return _audit_text(result)
    if command in ("run", "approve", "resume", "retry", "reject", "fork", "cancel", "review") and result.get("queued"):
        return thread_status(result) + "\nqueued: a `prolight worker` (or the dashboard) will execute it"
    if command == "breakers":
        return "\n".join(f"{b['name']:<28} {b['state']:<10} failures {b['failures']:<3} {b['last_error'] or ''}"
                         for b in result) or "no breaker has tripped"
    if command == "tools":
        return "\n".join(f"{t['name']}({', '.join(t['args'])}){' [risky]' if t['risky'] else ''}: {t['description']}"
                         for t in result)
    return thread_status(result)


def _audit_text(report: dict[str, Any]) -> str:
    lines = [f"{'ok ' if e['verified'] else 'BAD'} {e['index']:>3}  {e['at'][:19]}  {e['action']:<7} {e['operator']:<16} "
             f"{e['plan_digest'] or ''}".rstrip() for e in report["entries"]]
    if report["verified"]:
        lines.append(f"verified: {report['decisions']} decisions, each sealed and linked to the one before")
    else:
        lines.append(f"BROKEN at decision {report['broken_at']}: {report['reason']}")
    return "\n".join(lines)


def thread_status(status: dict[str, Any]) -> str:
    lines = [f"thread {status['thread_id']}: {status['status']}", f"goal: {status['goal']}"]
    plan = status.get("plan") or {}
    steps = status.get("steps") or {}
    if plan:
        lines.append("plan:")
        for step in plan.get("steps", []):
            deps = f" after {', '.join(step['depends_on'])}" if step["depends_on"] else ""
            result = steps.get(step["id"])
            state = f" [{result['status']}{', cached' if result.get('cached') else ''}]" if result else ""
            lines.append(f"  {step['id']}: {step['tool']} {_short(step['args'])}{deps}{state}")
    critique = status.get("critique")
    if critique:
        lines.append(f"critique: {critique['verdict']} (risk {critique['risk']})")
        lines += [f"  {i['severity']}: {i['message']}" for i in critique["issues"]]
    if status.get("error"):
        lines.append(f"error: {status['error']}")
    if status.get("report"):
        lines.append("report:\n  " + status["report"].replace("\n", "\n  "))
    if status.get("awaiting_approval"):
        lines.append(gate_line(status["thread_id"]))
    for step in status.get("awaiting_review") or []:
        lines.append(review_line(status["thread_id"], step))
    return "\n".join(lines)


def branch_line(branch: dict[str, Any]) -> str:
    """ "branch 2 (current), forked from checkpoint X by NAME at T: AWAITING_APPROVAL" """
    head = f"branch {branch['branch']}" + (" (current)" if branch["current"] else "")
    if branch.get("forked_from"):
        head += f", forked from checkpoint {branch['forked_from']}"
        if branch.get("forked_by"):
            head += f" by {branch['forked_by']} at {str(branch['forked_at'])[:19]}"
    verb = "ended" if branch["status"] in FINISHED else "is"
    return f"{head}: {verb} {branch['status']}"


def gate_line(thread_id: str) -> str:
    """What a thread at the gate waits for, and the two commands that decide it."""
    return (f"waiting for a decision: prolight approve {thread_id}  |  "
            f"prolight reject {thread_id} --feedback TEXT")


def review_line(thread_id: str, step: str) -> str:
    """A step whose checks kept failing, and the command that decides on it."""
    return (f"waiting for a review of {step}: prolight review {thread_id} {step} "
            "--accept | --retry [--args JSON] | --fail [--reason TEXT]")


def _short(args: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return text if len(text) <= 100 else text[:97] + "..."


def _metrics_text(m: dict[str, Any]) -> str:
    def stats(s: dict[str, Any]) -> str:
        if not s["count"]:
            return "n=0"
        return f"n={s['count']} avg={s['avg']:.3f}s p50={s['p50']:.3f}s p95={s['p95']:.3f}s"

    rate = m["runs"]["success_rate"]
    lines = [f"runs: {m['runs']['total']} " + " ".join(f"{k}={v}" for k, v in sorted(m["runs"]["by_status"].items())),
             f"success rate: {'-' if rate is None else f'{rate:.1%}'}  duration: {stats(m['runs']['duration_s'])}",
             f"approval wait: {stats(m['approval_wait_s'])}  waiting now: {m['awaiting_approval']}"]
    lines += [f"agent {a}: calls={d['calls']} failures={d['failures']} {stats(d['duration_s'])}"
              for a, d in m["agents"].items()]
    lines += [f"tool {t}: calls={d['calls']} failures={d['failures']} retries={d['retries']} {stats(d['duration_s'])}"
              + (f" cache hits={d['cache_hits']} misses={d['cache_misses']} saved={d['cache_seconds_saved']:.3f}s"
                 if d["cache_hits"] or d["cache_misses"] else "")
              for t, d in m["tools"].items()]
    lines += [f"check {c['tool']} {c['kind']}: passed={c['passed']} failed={c['failed']}" for c in m["checks"]]
    lines += [f"reviews {k}: {v}" for k, v in sorted(m["reviews"].items())]
    lines += [f"transition {k}: {v}" for k, v in m["transitions"].items()]
    lines += [f"breaker {k}: {v}" for k, v in m["breakers"].items()]
    return "\n".join(lines)


def _prune_text(result: dict) -> str:
    verb = "would remove" if result["dry_run"] else "removed"
    lines = [f"{'dry run: ' if result['dry_run'] else ''}{len(result['compacted'])} threads compacted, "
             f"{len(result['deleted'])} deleted; {verb} {result['checkpoints']:,} checkpoints, "
             f"{result['writes']:,} writes, {result['events']:,} events, {result['bytes']:,} bytes "
             f"in {result['seconds']:.2f}s"]
    if result["file_bytes_before"] is not None and not result["dry_run"]:
        lines.append(f"database {result['file_bytes_before']:,} -> {result['file_bytes_after']:,} bytes")
    if result["skipped"]:
        lines.append(f"skipped {len(result['skipped'])} busy threads (the next prune takes them)")
    if result["more"]:
        lines.append("more threads are due: run it again, or raise --limit")
    return "\n".join(lines)


def _storage_text(view: dict) -> str:
    size = f"{view['bytes']:,} bytes, " if view["bytes"] is not None else ""
    lines = [f"{size}{view['threads']:,} threads, {view['compacted']:,} compacted"
             + (f" (last at {view['last_compacted_at'][:19]})" if view["last_compacted_at"] else "")]
    for rule in view["rules"]:
        compact = f"compact after {rule['compact_after_days']:g} days" if rule["compact_after_days"] else "never compacted"
        delete = f"delete after {rule['delete_after_days']:g} days" if rule["delete_after_days"] else "never deleted"
        lines.append(f"  {rule['status']:<10} {compact}, {delete}; due now: {rule['due_compact']} to compact, "
                     f"{rule['due_delete']} to delete")
    every = view["every_minutes"]
    lines.append(f"a run manager applies it every {every:g} minutes" if every else "no run manager applies it on its own")
    return "\n".join(lines)
