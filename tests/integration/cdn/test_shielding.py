"""Origin shielding on real Varnish edges: edge-1 is its region's parent, edge-2 sends its
misses to it, so a miss arriving on both edges at once reaches the origin once."""

from __future__ import annotations

import threading

from sws.cdn.model import EdgeState, ShieldEdge, Shielding
from sws.cdn.renderer import render
from tests.integration.cdn.conftest import EDGE_PORT, Answer, Rig, distribution

SHIELDING = Shielding((
    ShieldEdge("edge-1", "10.77.1.2", EDGE_PORT, region="east", parent=True),
    ShieldEdge("edge-2", "10.77.2.2", EDGE_PORT, region="east"),
))


def shielded(rig: Rig) -> None:
    rig.hub.run("net", "sysctl -qw net.ipv4.ip_forward=1")  # edge-2 reaches edge-1 via the hub
    rig.apply(EdgeState(render([distribution()], SHIELDING)))


def test_a_miss_on_both_edges_at_once_is_one_origin_fetch(rig: Rig) -> None:
    rig.origin.put("/video.mp4", "frames", delay=1.5)  # slow enough for the misses to meet
    shielded(rig)
    answers: dict[str, Answer] = {}

    def fetch(index: int) -> None:
        answers[rig.edges[index].name] = rig.get(rig.edges[index], "/video.mp4")

    threads = [threading.Thread(target=fetch, args=(i,)) for i in (1, 0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert {name: (a.status, a.body) for name, a in answers.items()} == {
        "edge-1": (200, "frames"), "edge-2": (200, "frames")}
    assert rig.origin.fetches("/video.mp4") == 1
    assert all(rig.get(edge, "/video.mp4").hit for edge in rig.edges)


def test_the_child_keeps_the_origins_surrogate_keys_for_purges(rig: Rig) -> None:
    rig.origin.put("/p/42.json", "v1", **{"Surrogate-Key": "product-42"})
    shielded(rig)
    child = rig.edges[1]
    first = rig.get(child, "/p/42.json")
    assert first.body == "v1" and "surrogate-key" not in first.headers  # not shown to clients

    rig.origin.put("/p/42.json", "v2", **{"Surrogate-Key": "product-42"})
    for edge in rig.edges:
        edge.varnish.purge(host="x", headers={"x-sws-purge-key": "k:a1b2c3d4e5f6:product-42",
                                              "x-sws-purge-mode": "hard"})
    assert rig.get(child, "/p/42.json").body == "v2"
    assert rig.origin.fetches("/p/42.json") == 2  # one per version, whatever the edges


def test_the_parent_fetches_from_the_origin_and_not_from_itself(rig: Rig) -> None:
    rig.origin.put("/only-parent", "p")
    shielded(rig)
    parent = rig.edges[0]

    assert rig.get(parent, "/only-parent").body == "p"
    assert rig.origin.fetches("/only-parent") == 1
