"""The header's bell: how many notices the user has not seen (two indexed reads per page)."""

from __future__ import annotations

from sws.activity import service as activity
from sws.web.console.context import Session

SHOWN_MAX = 99  # the bell says "99+" beyond


def unread(session: Session) -> str:
    """The bell's figure: "" when nothing is unread, else the count ("99+" at most)."""
    c = session.container
    count = activity.unread(db=c.db, clock=c.clock, tenant_id=session.tenant_id,
                            user_id=session.principal.user_id)
    if count == 0:
        return ""
    return f"{SHOWN_MAX}+" if count > SHOWN_MAX else str(count)
