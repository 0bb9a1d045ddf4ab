"""Real Varnish edges kept by `CDNAgent`: misses then hits, TTLs, purges by URL, prefix, key and
everything, on two edges in network namespaces."""

from __future__ import annotations

import time

from sws_agent.cdn import vcl_name
from tests.integration.cdn.conftest import Rig, distribution, state_of
from tests.integration.netns import wait_for


def test_a_miss_then_a_hit_on_each_edge(rig: Rig) -> None:
    rig.origin.put("/logo.png", "logo v1")
    rig.apply(state_of(distribution()))

    for edge in rig.edges:
        first, second = rig.get(edge, "/logo.png"), rig.get(edge, "/logo.png")
        assert (first.status, first.body, first.hit) == (200, "logo v1", False)
        assert (second.body, second.hit) == ("logo v1", True)
        assert int(second.headers["age"]) >= 0
        # worker threads fold their counters into the shared statistics every so often
        wait_for(lambda edge=edge: edge.varnish.counters()["MAIN.cache_hit"] >= 1, 10,
                 "the hit counter")

    assert rig.origin.fetches("/logo.png") == 2  # once per edge, then from the caches


def test_a_custom_domain_reaches_the_same_objects_and_an_unknown_host_is_a_404(rig: Rig) -> None:
    rig.origin.put("/a.css", "css")
    rig.apply(state_of(distribution()))
    edge = rig.edges[0]

    assert rig.get(edge, "/a.css").body == "css"
    assert rig.get(edge, "/a.css", host="static.acme.test").hit
    assert rig.get(edge, "/a.css", host="nobody.example.org").status == 404


def test_the_query_string_is_left_out_of_the_key_unless_asked(rig: Rig) -> None:
    rig.origin.put("/q", "q")
    edge = rig.edges[0]
    rig.apply(state_of(distribution()))
    rig.get(edge, "/q?x=1")
    assert rig.get(edge, "/q?x=2").hit

    rig.apply(state_of(distribution(query=True)))
    rig.get(edge, "/q?x=3")
    assert not rig.get(edge, "/q?x=4").hit


def test_the_default_ttl_expires_and_the_origin_is_asked_again(rig: Rig) -> None:
    rig.origin.put("/short", "v1")
    rig.apply(state_of(distribution(ttl=1)))
    edge = rig.edges[0]
    rig.get(edge, "/short")
    assert rig.get(edge, "/short").hit

    rig.origin.put("/short", "v2")
    time.sleep(1.2)
    stale = rig.get(edge, "/short")  # within grace: the stale copy, while it revalidates

    assert stale.body in ("v1", "v2")
    wait_for(lambda: rig.get(edge, "/short").body == "v2", 5, "the revalidated copy")
    assert rig.origin.fetches("/short") == 2


def test_the_origins_cache_control_wins_when_honoured_and_not_otherwise(rig: Rig) -> None:
    rig.origin.put("/private", "secret", **{"Cache-Control": "private"})
    rig.origin.put("/max", "m", **{"Cache-Control": "max-age=0"})
    edge = rig.edges[0]
    rig.apply(state_of(distribution(ttl=300, honour=True)))
    rig.get(edge, "/max")
    assert not rig.get(edge, "/max").hit
    rig.get(edge, "/private")
    assert not rig.get(edge, "/private").hit

    rig.apply(state_of(distribution(ttl=300, honour=False)))
    rig.get(edge, "/max")
    assert rig.get(edge, "/max").hit  # the distribution's TTL overrides max-age=0


def test_a_new_configuration_is_loaded_without_a_restart(rig: Rig) -> None:
    edge = rig.edges[0]
    pid = edge.varnish.pid()
    state = state_of(distribution(ttl=60))

    assert edge.agent.apply(state)
    assert not edge.agent.apply(state)  # the same digest: nothing to do
    assert edge.varnish.active() == vcl_name(state.digest)
    assert edge.varnish.pid() == pid
    assert len(edge.varnish.vcls()) <= 2  # older VCLs are discarded once idle

