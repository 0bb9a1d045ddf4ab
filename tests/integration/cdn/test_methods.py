"""A distribution's allowed methods on real Varnish edges: any other method is 405 with an
`Allow` header naming the allowed ones; GET and HEAD are cached; OPTIONS, POST and the other
allowed methods reach the origin every time, with their body, and are never cached."""

from __future__ import annotations

import http.client
from dataclasses import replace

from sws_agent.netfilter import _in_netns
from tests.integration.cdn.conftest import EDGE_PORT, HOST, Answer, Rig, distribution, state_of


def send(rig: Rig, method: str, path: str, body: bytes | None = None) -> Answer:
    """A client's request with `method`, from the hub namespace to the first edge's Varnish."""

    def call() -> Answer:
        connection = http.client.HTTPConnection(rig.edges[0].address, EDGE_PORT, timeout=30)
        try:
            connection.request(method, path, body=body, headers={"Host": HOST})
            reply = connection.getresponse()
            text = reply.read().decode()
            return Answer(reply.status, text, {k.lower(): v for k, v in reply.getheaders()})
        finally:
            connection.close()

    return _in_netns(rig.hub.name("net"), call)  # type: ignore[no-any-return]


def test_by_default_only_get_and_head_and_the_rest_is_a_405_with_allow(rig: Rig) -> None:
    rig.origin.put("/form", "form")
    rig.apply(state_of(distribution()))

    refused = [
        send(rig, m, "/form", b"x" if m == "POST" else None)
        for m in ("POST", "OPTIONS", "DELETE", "PURGE")
    ]

    assert [(a.status, a.headers.get("allow")) for a in refused] == [(405, "GET, HEAD")] * 4
    assert send(rig, "HEAD", "/form").status == 200
    assert send(rig, "GET", "/form").body == "form"
    assert rig.origin.fetches() == 1  # nothing refused reached the origin; HEAD then GET: one


def test_allowed_methods_pass_to_the_origin_uncached_and_get_stays_cached(rig: Rig) -> None:
    rig.origin.put("/api", "listing")
    methods = ("GET", "HEAD", "OPTIONS", "POST")
    rig.apply(
        state_of(
            replace(
                distribution(), settings=replace(distribution().settings, allowed_methods=methods)
            )
        )
    )

    posts = [send(rig, "POST", "/api", b"order=1"), send(rig, "POST", "/api", b"order=2")]
    options = send(rig, "OPTIONS", "/api")
    delete = send(rig, "DELETE", "/api")
    gets = [send(rig, "GET", "/api"), send(rig, "GET", "/api")]

    assert [(p.status, p.body) for p in posts] == [(200, "POST:order=1"), (200, "POST:order=2")]
    assert (options.status, options.body) == (200, "OPTIONS:")
    assert (delete.status, delete.headers["allow"]) == (405, "GET, HEAD, OPTIONS, POST")
    assert rig.origin.fetches("POST /api") == 2  # each one, never from the cache
    assert rig.origin.fetches("OPTIONS /api") == 1
    assert rig.origin.fetches("DELETE /api") == 0
    assert [g.body for g in gets] == ["listing", "listing"] and gets[1].hit
    assert rig.origin.fetches("/api") == 1
