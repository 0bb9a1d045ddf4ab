"""The feed's keyset pages on a database: walked older and back newer, they give every entry
once, in the feed's order, ties between sources at the same instant included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sws.activity import service as activity
from sws.activity.model import PAGE_SIZE, FeedPage
from sws.billing import service as billing
from sws.events import service as events
from sws.money import Money
from tests.api.conftest import Cloud, cloud, database_url

__all__ = ["cloud", "database_url"]
IPS, TOP_UPS = 70, 40


def _allocated(number: int, project_id: str, at: str) -> dict[str, Any]:
    return {
        "message_id": f"fip-{number}", "event_type": "floatingip.create.end",
        "publisher_id": "network.controller", "priority": "INFO",
        "payload": {"floatingip": {
            "id": f"fip-{number:04d}", "project_id": project_id, "tenant_id": project_id,
            "floating_ip_address": f"203.0.113.{number}", "status": "DOWN", "port_id": None,
            "created_at": at, "updated_at": at, "description": "",
        }},
    }


def _filled(cloud: Cloud) -> None:
    """70 floating IPs a minute apart; a top-up at the very instant of each of the first 40."""
    start = (cloud.clock.now() + timedelta(minutes=1)).replace(second=0, microsecond=0)
    times = [start + timedelta(minutes=i) for i in range(IPS)]
    messages = [_allocated(i, cloud.acme.id, t.strftime("%Y-%m-%dT%H:%M:%SZ"))
                for i, t in enumerate(times)]
    assert events.ingest(db=cloud.container.db, clock=cloud.clock, region="RegionOne",
                         envelopes=messages).accepted == IPS
    for i, moment in enumerate(times[:TOP_UPS]):
        cloud.clock.advance(moment - cloud.clock.now())
        billing.top_up(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id,
                       amount=Money.of("10", "CNY"), idempotency_key=f"feed-{i}")


def _feed(cloud: Cloud, **place: Any) -> FeedPage:
    return activity.feed(db=cloud.container.db, tenant_id=cloud.acme.id, user_id="alice",
                         **place)


def test_older_pages_then_newer_pages_give_every_entry_once_in_order(cloud: Cloud) -> None:
    _filled(cloud)
    pages = [_feed(cloud)]
    while pages[-1].older is not None:
        pages.append(_feed(cloud, before=pages[-1].older))
    entries = [e for page in pages for e in page.entries]
    orders = [e.order for e in entries]
    assert orders == sorted(orders, reverse=True) and len(set(orders)) == len(orders)
    kinds = [e.kind for e in entries]
    assert kinds.count("floating_ip.create") == IPS and kinds.count("billing.topup") == TOP_UPS
    assert len(pages) >= 3 and all(len(p.entries) == PAGE_SIZE for p in pages[:-1])
    assert pages[0].newer is None and all(p.newer is not None for p in pages[1:])
    tied = [e for e in entries if e.at == entries[-1].at]
    assert [e.source for e in tied] == ["resource", "billing"]  # ties: source, then key
    for k in range(len(pages) - 1, 0, -1):  # and back up, a page at a time
        back = _feed(cloud, after=pages[k].newer)
        assert [e.order for e in back.entries] == [e.order for e in pages[k - 1].entries]
    assert _feed(cloud, notices=True).entries == []  # none of these is a notice
