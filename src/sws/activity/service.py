"""Use cases of the activity feed: a page of it, the bell's unread count, marking notices read.

The feed reads what SWS already records (the events journal, alarm history, billing's audit
and payments, the audit log) and stores nothing of its own but each user's "read up to" mark.
"""

from __future__ import annotations

from sws.activity import model
from sws.activity import repository as repo
from sws.activity.model import FeedPage
from sws.clock import Clock
from sws.db.engine import Database


def feed(
    *, db: Database, tenant_id: str, user_id: str, page: int = 0, notices: bool = False
) -> FeedPage:
    """One page (from 0) of what happened in the tenant, newest first; notices only if asked."""
    page = model.check_page(page)
    limit = model.wanted(page)
    with db.read() as conn:
        sources = [
            repo.resource_entries(conn, tenant_id, limit, notices),
            repo.alarm_entries(conn, tenant_id, limit, notices),
            repo.billing_entries(conn, tenant_id, limit, notices),
            repo.payment_entries(conn, tenant_id, limit),
        ]
        if not notices:
            sources.append(repo.account_entries(conn, tenant_id, user_id, limit))
    return model.merge(sources, page)


def unread(*, db: Database, clock: Clock, tenant_id: str, user_id: str) -> int:
    """How many notices the user has not seen in this tenant (two indexed reads)."""
    with db.read() as conn:
        mark = repo.read_until(conn, user_id, tenant_id)
        return repo.unread_count(conn, tenant_id, model.unread_since(mark, clock.now()))


def mark_read(*, db: Database, clock: Clock, tenant_id: str, user_id: str) -> None:
    """The user has seen every notice of the tenant up to now."""
    with db.begin() as conn:
        repo.mark_read(conn, user_id, tenant_id, clock.now())
