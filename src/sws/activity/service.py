"""Use cases of the activity feed: a page of it, the bell's unread count, marking notices read.

The feed reads what SWS already records (the events journal, alarm history, billing's audit
and payments, the audit log) and stores nothing of its own but each user's "read up to" mark.
"""

from __future__ import annotations

from sqlalchemy import Connection

from sws.activity import model
from sws.activity import repository as repo
from sws.activity.model import Cursor, Entry, FeedPage
from sws.clock import Clock
from sws.db.engine import Database


def feed(
    *, db: Database, tenant_id: str, user_id: str, before: Cursor | None = None,
    after: Cursor | None = None, notices: bool = False,
) -> FeedPage:
    """A page of what happened in the tenant, newest first; notices only if asked. The
    newest page; or the one older than `before`; or the one newer than `after` (the newest
    page when fewer than a page's worth are newer). Keyset pages: every source reads at most
    PAGE_SIZE + 1 rows in SQL however far back the page is, and the sources are merged."""
    with db.read() as conn:
        if after is not None:
            found = model.newer_page(_sources(conn, tenant_id, user_id, notices,
                                              repo.Page(after, newer=True)), after)
            if found is not None:
                return found
            before = None
        page = repo.Page(before)
        return model.older_page(_sources(conn, tenant_id, user_id, notices, page), before)


def _sources(
    conn: Connection, tenant_id: str, user_id: str, notices: bool, page: repo.Page
) -> list[list[Entry]]:
    sources = [
        repo.resource_entries(conn, tenant_id, page, notices),
        repo.alarm_entries(conn, tenant_id, page, notices),
        repo.billing_entries(conn, tenant_id, page, notices),
        repo.payment_entries(conn, tenant_id, page),
    ]
    if not notices:
        sources.append(repo.account_entries(conn, tenant_id, user_id, page))
    return sources


def unread(*, db: Database, clock: Clock, tenant_id: str, user_id: str) -> int:
    """How many notices the user has not seen in this tenant (two indexed reads)."""
    with db.read() as conn:
        mark = repo.read_until(conn, user_id, tenant_id)
        return repo.unread_count(conn, tenant_id, model.unread_since(mark, clock.now()))


def mark_read(*, db: Database, clock: Clock, tenant_id: str, user_id: str) -> None:
    """The user has seen every notice of the tenant up to now."""
    with db.begin() as conn:
        repo.mark_read(conn, user_id, tenant_id, clock.now())
