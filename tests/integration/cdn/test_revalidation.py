"""TTL expiry revalidates (issue 19's first test line), on a real Varnish edge: once an object's
TTL is over, the edge asks the origin again with the object's ETag (If-None-Match), and a 304
keeps the cached body for another TTL without the origin sending it again."""

from __future__ import annotations

import time

from tests.integration.cdn.conftest import Rig, distribution, state_of
from tests.integration.netns import wait_for


def test_an_expired_object_is_revalidated_by_its_etag_and_a_304_keeps_the_body(
    rig: Rig,
) -> None:
    rig.origin.put("/page", "page v1", ETag='"v1"')
    rig.apply(state_of(distribution(ttl=1)))
    edge = rig.edges[0]
    rig.get(edge, "/page")
    assert rig.get(edge, "/page").hit
    assert rig.origin.revalidations("/page") == []  # a first fetch is not conditional
    # The origin's copy changes but keeps its tag: only a 304 can keep "page v1" at the edge.
    rig.origin.put("/page", "page v1, changed behind its tag", ETag='"v1"')

    time.sleep(1.2)  # past the TTL
    stale = rig.get(edge, "/page")  # within grace: the cached copy while it is revalidated

    assert stale.body == "page v1"
    wait_for(lambda: rig.origin.revalidations("/page") == ['"v1"'], 10, "the revalidation")
    wait_for(lambda: edge.varnish.counters().get("MAIN.fetch_304", 0) >= 1, 10,
             "the edge's 304 counter")
    assert rig.get(edge, "/page").body == "page v1"  # the 304 kept the body it had

    # A tag the origin no longer has: the revalidation gets the whole new object.
    rig.origin.put("/page", "page v2", ETag='"v2"')
    time.sleep(1.2)
    rig.get(edge, "/page")
    wait_for(lambda: rig.get(edge, "/page").body == "page v2", 10, "the new version")
    assert rig.origin.revalidations("/page")[:2] == ['"v1"', '"v1"']
