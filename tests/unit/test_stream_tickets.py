"""Stream tickets (``ui/api/tickets.py``): what one opens, for whom, and for how long."""

from __future__ import annotations

from ui.api.tickets import TICKET_TTL_S, issue, redeem

KEY = b"k" * 32


def test_a_ticket_names_its_account_for_its_thread_until_it_lapses() -> None:
    ticket = issue(KEY, "t1", "ana", now=1000).ticket
    assert redeem(KEY, ticket, "t1", now=1000 + TICKET_TTL_S) == "ana"
    assert redeem(KEY, ticket, "t1", now=1001 + TICKET_TTL_S) is None  # lapsed
    assert redeem(KEY, ticket, "t2", now=1000) is None  # another thread's stream
    assert redeem(b"x" * 32, ticket, "t1", now=1000) is None  # another deployment's key


def test_a_ticket_cannot_be_altered_or_made_up() -> None:
    thread, expires, name, mac = issue(KEY, "t1", "vera", now=1000).ticket.split(".")
    later = f"{thread}.{int(expires) + 3600}.{name}.{mac}"  # a longer life, same signature
    assert redeem(KEY, later, "t1", now=1000) is None
    for made_up in ("", "a.b.c", "t1.9999999999.YW5h.", "t1.x.YW5h.abc", "...."):
        assert redeem(KEY, made_up, "t1", now=1000) is None
