"""Issue 19's "Done when", in a real browser: a tenant CDN-enables a container of a real Swift,
fetches an object through a real edge by the distribution's name, sees the hits in the graph,
purges it, uploads a new version and sees it through the edge, and finds CDN traffic on its
bill.

Swift is the cluster of `scripts/swift-dev` behind a proxy started for this module with
tempauth and tempurl (as an operator's proxies have them); SWS manages it as the region's
object store and keeps the container private: the edges read it with their own credential
(`SWS_CDN_ORIGIN_SECRET`, docs/cdn.md "Private container origins"). The edge is Varnish run by
the real `sws-agent cdn` on 127.0.0.1 (`tests/e2e/cdn_steps.py`). SWS's clock runs with the
real one (the edges' origin signature is checked by Swift's clock) and is moved on two hours
for the bill.

Nothing of Swift runs in this worker (`tests/e2e/swift_rig.py`): the SWS server whose region
talks to Swift is a process of its own, and the last test checks that the worker never imported
Swift or eventlet, whose hub once kept CI's browser stage from ever exiting.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.cdn_steps import (
    Edge,
    create_distribution,
    edge,  # noqa: F401  (the fixture)
    find_cdn_on_bill,
    purge_url,
    see_hits_in_graph,
    wait,
)
from tests.e2e.swift_rig import SiteProcess, imported_swift, swift_cluster, swift_proxy
from tests.e2e.test_console import log_in

OBJECT = "big.bin"
SIZE = 9_000_000  # under the console's 10 MiB upload limit; a few fetches show on the bill
SECRET = "operator-secret-the-cdn-origin-keys-derive-from"


@pytest.fixture(scope="module")
def swift_env() -> Iterator[dict[str, str]]:
    with swift_cluster() as env:
        yield env


@pytest.fixture(scope="module")
def proxy(swift_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with swift_proxy(swift_env, tmp_path_factory.mktemp("proxy")) as url:
        yield url


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, swift_env: dict[str, str], proxy: str
) -> Iterator[SiteProcess]:
    """The e2e site on the real Swift, with private container origins, in its own process."""
    work = tmp_path_factory.mktemp("e2e-swift")
    served = SiteProcess(
        {
            "home": str(work / "home"),
            "proxy_url": proxy,
            "internal_client_conf": swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"],
            "tempauth_user": swift_env["SWIFT_DEV_RESELLER_USER"],
            "tempauth_key": swift_env["SWIFT_DEV_RESELLER_KEY"],
            "cdn_origin_secret": SECRET,
        },
        work / "sws.log",
    )
    try:
        yield served
    finally:
        served.close()
    # Whatever this module's tests did, on whichever worker ran them:
    assert imported_swift() == [], "Swift was imported in the pytest worker"


def upload(page: Any, container: str, name: str, data: bytes) -> None:
    """An object uploaded from the container's console page."""
    page.goto(f"/console/containers/{container}")
    page.set_input_files(
        "#upload input[name=upload]",
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}],
    )
    page.click("#upload button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text(f"Object {name} uploaded.")


def anonymous(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_a_tenant_serves_purges_and_pays_for_a_container_through_the_cdn(
    page: Any,
    site: SiteProcess,
    proxy: str,
    edge: Edge,  # noqa: F811
) -> None:
    site.load_catalog()
    # On the shared 2-core machine the edge's start and a parallel worker can hold the first
    # pages up past the harness's 10 s.
    page.set_default_timeout(30_000)
    log_in(page, "alice")
    page.goto("/console/containers")
    page.fill("#create-container input[name=name]", "site")
    page.click("#create-container button[type=submit]")
    expect(page.locator(".flash.ok")).to_have_text("Container site created.")
    first, second = b"1" * SIZE, b"2" * SIZE
    upload(page, "site", OBJECT, first)

    host = create_distribution(page, "site", "container:site")
    distribution_page = page.url

    path = f"/{OBJECT}"
    # The agent applies the new VCL, then varnishncsa logs (it starts at the log's tail).
    wait(lambda: edge.get(host, path)[0] == 200, 60, "the edge to serve the container")
    wait(edge.logging, 30, "varnishncsa")
    answers = [edge.get(host, path) for _ in range(4)]
    assert [a[2]["x-cache"] for a in answers] == ["HIT"] * 4  # the first fetch above missed
    assert answers[0][1] == first
    account = f"AUTH_{site.tenant_id('acme')}"
    assert anonymous(f"{proxy}/v1/{account}/site/{OBJECT}") == 401  # the container is private
    see_hits_in_graph(page, 4)

    upload(page, "site", OBJECT, second)
    assert edge.get(host, path)[1] == first  # the edge still has the old one
    page.goto(distribution_page)
    purge_url(page, path)
    # A soft purge: the next request may get the stale copy while one fetch revalidates.
    wait(lambda: edge.get(host, path)[1] == second, 30, "the new version through the edge")

    find_cdn_on_bill(page, site, edge)


def test_this_worker_never_imported_swift_or_eventlet() -> None:
    """Runs after the flow on the same worker under CI's `--dist loadscope`, which keeps a
    module together; every e2e module was imported there at collection. (`site` checks again
    once the module is done, wherever it ran.)"""
    assert imported_swift() == []
