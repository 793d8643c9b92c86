"""Stream tickets: how a browser streams a thread's events from a server with accounts.
A browser's ``EventSource`` cannot send an ``Authorization`` header, and a long-lived token
must never sit in a URL (proxies, logs and history keep URLs). So a caller with a token
asks for a ticket (``POST /threads/{id}/stream-ticket``) and opens the stream with
``?ticket=``. A ticket:

- opens one thread's stream and nothing else (read-only: no other route takes it);
- lapses after ``TICKET_TTL_S`` (an ``EventSource`` reconnecting later gets 401 and its page
  asks for another);
- carries its account, which must still exist when the stream opens;
- is an HMAC under a key derived from the deployment's audit key, so every server process
  on the same database accepts it, across restarts, and nobody without the key can make one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone

from pydantic import Field

from graph.operations.models import Model

TICKET_TTL_S = 300


class StreamTicket(Model):
    ticket: str = Field(description="Pass as ?ticket= to this thread's stream, instead of a bearer token.")
    expires_at: datetime = Field(description="After this the ticket opens nothing; ask for another.")


def _key(audit_key: bytes) -> bytes:
    return hmac.new(audit_key, b"prolight stream ticket v1", hashlib.sha256).digest()


def _sign(key: bytes, body: str) -> str:
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(audit_key: bytes, thread_id: str, account: str, now: float | None = None) -> StreamTicket:
    expires = int((now or time.time()) + TICKET_TTL_S)
    name = base64.urlsafe_b64encode(account.encode()).decode().rstrip("=")
    body = f"{thread_id}.{expires}.{name}"
    return StreamTicket(ticket=f"{body}.{_sign(_key(audit_key), body)}",
                        expires_at=datetime.fromtimestamp(expires, timezone.utc))


def redeem(audit_key: bytes, ticket: str, thread_id: str, now: float | None = None) -> str | None:
    """The ticket's account if it is genuine, for this thread and not lapsed; else None."""
    try:
        ticket_thread, expires, name, mac = ticket.split(".")
        body = f"{ticket_thread}.{expires}.{name}"
        if not hmac.compare_digest(mac, _sign(_key(audit_key), body)):
            return None
        if ticket_thread != thread_id or int(expires) < (now or time.time()):
            return None
        return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
