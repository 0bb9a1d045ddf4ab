"""Purges on real Varnish edges: by URL, by prefix, by surrogate key and everything, soft and
hard, on both edges; another distribution's objects are never touched."""

from __future__ import annotations

import contextlib
import time

from sws.cdn.model import EdgePurge, EdgeState
from tests.integration.cdn.conftest import DIST, HOST, Rig, distribution, state_of
from tests.integration.netns import wait_for


def _warm(rig: Rig, *paths: str) -> None:
    for edge in rig.edges:
        for path in paths:
            rig.get(edge, path)
            assert rig.get(edge, path).hit, path


def _purge(rig: Rig, kind: str, value: str = "", mode: str = "hard") -> None:
    base = state_of(distribution())
    job = EdgePurge(f"p-{kind}-{time.monotonic_ns()}", DIST, kind, value, mode, HOST)  # type: ignore[arg-type]
    rig.apply(EdgeState(base.vcl, (job,)))
    for edge in rig.edges:
        assert edge.agent.take_finished() == {job.id: "done"}


def _fresh(rig: Rig, path: str, body: str) -> list[str]:
    """What each edge answers for `path` once the background revalidation brought `body`
    (or, after 5 s, whatever it answers then)."""
    for edge in rig.edges:
        rig.get(edge, path)
        with contextlib.suppress(AssertionError):
            wait_for(lambda edge=edge: rig.get(edge, path).body == body, 5, "revalidation")
    return [rig.get(edge, path).body for edge in rig.edges]


def test_a_purge_by_url_is_gone_from_both_edges(rig: Rig) -> None:
    rig.origin.put("/a.js", "a v1")
    rig.origin.put("/b.js", "b v1")
    rig.apply(state_of(distribution()))
    _warm(rig, "/a.js", "/b.js")
    rig.origin.put("/a.js", "a v2")
    rig.origin.put("/b.js", "b v2")

    _purge(rig, "url", "/a.js")

    for edge in rig.edges:
        answer = rig.get(edge, "/a.js")
        assert (answer.body, answer.hit) == ("a v2", False)
        assert rig.get(edge, "/b.js").body == "b v1"  # untouched


def test_a_purge_by_prefix_is_gone_from_both_edges(rig: Rig) -> None:
    for path in ("/img/1.png", "/img/2.png", "/imgs.html"):
        rig.origin.put(path, f"{path} v1")
    rig.apply(state_of(distribution()))
    _warm(rig, "/img/1.png", "/img/2.png", "/imgs.html")
    for path in ("/img/1.png", "/img/2.png", "/imgs.html"):
        rig.origin.put(path, f"{path} v2")

    _purge(rig, "prefix", "/img/")

    for edge in rig.edges:
        assert rig.get(edge, "/img/1.png").body == "/img/1.png v2"
        assert rig.get(edge, "/img/2.png").body == "/img/2.png v2"
        assert rig.get(edge, "/imgs.html").body == "/imgs.html v1"


def test_a_purge_by_key_takes_every_object_tagged_with_it(rig: Rig) -> None:
    rig.origin.put("/p/1", "one v1", **{"Surrogate-Key": "product-1 catalog"})
    rig.origin.put("/p/2", "two v1", **{"Surrogate-Key": "product-2 catalog"})
    rig.apply(state_of(distribution()))
    _warm(rig, "/p/1", "/p/2")
    rig.origin.put("/p/1", "one v2", **{"Surrogate-Key": "product-1 catalog"})
    rig.origin.put("/p/2", "two v2", **{"Surrogate-Key": "product-2 catalog"})

    _purge(rig, "key", "product-1")
    assert [rig.get(e, "/p/1").body for e in rig.edges] == ["one v2", "one v2"]
    assert [rig.get(e, "/p/2").body for e in rig.edges] == ["two v1", "two v1"]

    _purge(rig, "key", "catalog")
    assert [rig.get(e, "/p/2").body for e in rig.edges] == ["two v2", "two v2"]


def test_a_soft_purge_serves_stale_once_while_one_fetch_revalidates(rig: Rig) -> None:
    rig.origin.put("/s", "v1")
    rig.apply(state_of(distribution()))
    _warm(rig, "/s")
    rig.origin.put("/s", "v2")
    before = rig.origin.fetches("/s")

    _purge(rig, "all", mode="soft")

    assert _fresh(rig, "/s", "v2") == ["v2", "v2"]
    assert rig.origin.fetches("/s") == before + 2  # one revalidation per edge, no stampede


def test_a_purge_of_everything_leaves_other_distributions_alone(rig: Rig) -> None:
    other = distribution()
    other = type(other)("0f0f0f0f0f0f", ("0f0f0f0f0f0f.cdn.example.com",), other.backend,
                        other.settings)
    rig.origin.put("/x", "x v1")
    rig.apply(EdgeState(state_of(distribution(), other).vcl))
    edge = rig.edges[0]
    for host in (HOST, "0f0f0f0f0f0f.cdn.example.com"):
        rig.get(edge, "/x", host=host)
    rig.origin.put("/x", "x v2")

    job = EdgePurge("p-all", DIST, "all", "", "hard", HOST)
    edge.agent.apply(EdgeState(state_of(distribution(), other).vcl, (job,)))

    assert rig.get(edge, "/x").body == "x v2"
    assert rig.get(edge, "/x", host="0f0f0f0f0f0f.cdn.example.com").body == "x v1"
