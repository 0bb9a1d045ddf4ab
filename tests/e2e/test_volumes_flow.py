"""Issue 16's browser test: a tenant's volume, its snapshot chain, and a verified restore.

Alice creates a volume on her instance's host, attaches it, writes test data (the simulated
region's "write test data" form: what the instance would write), snapshots it, writes more,
snapshots again, deletes the first snapshot (every snapshot is independent), restores the
second to a new volume, and the new volume's content hash is the second snapshot's.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from sws.drivers.base import ServerCreate
from sws.drivers.volumes import VolumeCreate
from sws.identity import service as identity
from tests.e2e.conftest import PASSWORD, Site
from tests.e2e.console_pages import Page
from tests.e2e.test_console_layout import AXE, problems


def user_named(site: Site, user: str) -> Any:
    return next(u for u in identity.list_users(db=site.container.db, tenant_id=None,
                                               limit=100, marker=None) if u.name == user)


def launch(site: Site, user: str, name: str) -> None:
    found = user_named(site, user)
    driver = site.container.driver(None)
    flavor = next(f for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i for i in driver.list_images(found.tenant_id) if i.status == "active")
    driver.create_servers(found.tenant_id, found.id, ServerCreate(
        name=name, flavor_id=flavor.id, image_id=image.id))
    site.settle()


def log_in(page: Any, name: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("#logout")).to_be_visible()


def flash(page: Any, text: str) -> None:
    expect(page.locator(".flash.ok")).to_have_text(text)


def test_a_restored_snapshot_has_the_content_hash_it_was_taken_with(
    page: Any, site: Site
) -> None:
    launch(site, "alice", "db-1")
    page.on("dialog", lambda dialog: dialog.accept())  # the delete buttons' confirmations
    log_in(page, "alice")
    page.click("nav a[href='/console/volumes']")
    expect(page.locator("#same-host-rule")).to_contain_text("only to an instance on its own host")

    page.fill("#create-volume input[name=name]", "data")
    page.select_option("#create-volume select[name=where]", label=_host_label(page, "db-1"))
    page.click("#create-volume-submit")
    flash(page, "Volume data created.")
    volume = page.locator("section.volume[data-volume=data]")
    volume.locator("form.attach select[name=server_id]").select_option(label="db-1")
    volume.locator("form.attach button").click()
    flash(page, "Volume attached.")
    expect(page.locator("#volumes tr[data-volume=data] [data-field=server]")).to_contain_text(
        "db-1")

    _write(page, volume, offset=0, mib=8)
    _snapshot(page, volume, "first")
    site.settle(60)  # the chain is ordered by time: a minute passes
    _write(page, volume, offset=8, mib=4)
    _snapshot(page, volume, "second")
    chain = volume.locator("table.chain")
    expect(chain.locator("tr[data-snapshot=first] [data-field=stored-bytes]")).to_contain_text(
        "8,38")  # 8 MiB of random bytes, zstd-framed
    expect(chain.locator("tr[data-snapshot=second] [data-field=stored-bytes]")).to_contain_text(
        "4,19")  # only the 4 MiB written since
    second = chain.locator("tr[data-snapshot=second] [data-field=content-hash]")
    second_hash = second.get_attribute("data-hash")
    site.shot(page, "volumes")

    chain.locator("tr[data-snapshot=first] button", has_text="Delete").click()
    flash(page, "Snapshot deleted.")
    expect(chain.locator("tr[data-snapshot=first]")).to_have_count(0)

    chain.locator("tr[data-snapshot=second] button", has_text="Restore").click()
    flash(page, "Snapshot restored to a new volume.")
    restored = page.locator("section.volume", has_text="restore-")
    expect(restored.locator("dd [data-field=content-hash]")).to_have_attribute(
        "data-hash", second_hash or "missing")
    expect(volume.locator("dd [data-field=content-hash]")).to_have_attribute(
        "data-hash", second_hash or "missing")  # nothing written since the second snapshot

    page.goto("/console/snapshots")
    expect(page.locator("#volume-snapshots tr[data-volume-snapshot=second]")).to_be_visible()


def _host_label(page: Any, server: str) -> str:
    options = page.locator("#create-volume select[name=where] option").all_inner_texts()
    return next(text for text in options if f"instance {server} " in text)


def _write(page: Any, volume: Any, *, offset: int, mib: int) -> None:
    form = volume.locator("form.write")
    form.locator("input[name=offset_mib]").fill(str(offset))
    form.locator("input[name=length_mib]").fill(str(mib))
    form.locator("button").click()
    flash(page, f"{mib} MiB of test data written.")


def _snapshot(page: Any, volume: Any, name: str) -> None:
    form = volume.locator("form.snapshot")
    form.locator("input[name=name]").fill(name)
    form.locator("button").click()
    flash(page, "Snapshot taken.")


def test_the_volume_pages_fit_a_phone_in_chinese(browser: Any, site: Site) -> None:
    """The layout test's tenant has no volume: here a volume with a long name and a snapshot
    fill the sections at 390 px, in Chinese, with axe-core."""
    alice = user_named(site, "alice")
    storage = site.container.block_storage(None)
    volume = storage.create_volume(alice.tenant_id, VolumeCreate(
        name="a-volume-with-a-rather-long-name-for-a-phone", size_gb=1))
    storage.create_volume_snapshot(alice.tenant_id, volume.id, "nightly-2026-03-02")
    context = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844},
                                  locale="zh-CN")
    context.add_cookies([{"name": "sws_lang", "value": "zh_CN", "url": site.url}])
    context.add_init_script(path=str(AXE))
    tab = context.new_page()
    try:
        log_in(tab, "alice")
        shown = [Page(path, path) for path in ("/console/volumes", "/console/snapshots",
                                                "/console/instances/launch")]
        assert problems(tab, shown) == []
    finally:
        context.close()
