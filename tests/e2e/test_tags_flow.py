"""Issue 18's tags in the browser: Alice tags an instance on its page, sees the tag as a chip
in the Instances list, filters the list by it (the form, then a chip), removes a tag, and
tags a volume; the tagged pages fit a phone in Chinese and a desktop in English, with no
serious axe-core violation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from sws.drivers.base import ServerFilter
from sws.drivers.volumes import VolumeCreate
from sws.identity.model import Principal
from sws.tags.model import Tag
from sws.tags.service import Target
from sws.web.api.tags import tag_service
from tests.e2e.conftest import Site
from tests.e2e.console_pages import Page
from tests.e2e.test_console_layout import AXE, problems
from tests.e2e.test_volumes_flow import flash, launch, log_in, user_named


def _server_id(site: Site, user: str, name: str) -> str:
    found = user_named(site, user)
    servers = site.container.driver(None).list_servers(found.tenant_id, ServerFilter(), 100,
                                                       None)
    return next(server.id for server in servers if server.name == name)


def test_a_tenant_tags_an_instance_and_filters_the_list_by_it(page: Any, site: Site) -> None:
    launch(site, "alice", "shop-web")
    launch(site, "alice", "shop-db")
    log_in(page, "alice")
    page.goto(f"/console/instances/{_server_id(site, 'alice', 'shop-web')}")
    tags = page.locator("#tags")
    expect(tags).to_contain_text("No tags yet.")
    for text in ("Env=prod", "web"):
        tags.locator("form.tag-add input[name=tag]").fill(text)
        tags.locator("form.tag-add button").click()
        flash(page, f"Tag {text} added.")
    expect(tags.locator("li.tagchip a")).to_have_text(["env=prod", "web"])
    tags.locator("form.tag-add input[name=tag]").fill("bad tag!")
    tags.locator("form.tag-add button").click()
    expect(page.locator(".flash.error")).to_contain_text("A tag is a key or key=value")
    tags.locator("li.tagchip[data-tag=web] button").click()
    flash(page, "Tag web removed.")
    expect(tags.locator("li.tagchip a")).to_have_text(["env=prod"])

    page.click("nav a[href='/console/instances']")
    rows = page.locator("#instances tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#instances tr", has_text="shop-web").locator("a.tagchip")).to_have_text(
        "env=prod")
    page.fill("form.filters input[name=tag]", "env=prod")
    page.locator("form.filters button[type=submit]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("shop-web")
    page.goto("/console/instances")
    page.locator("#instances a.tagchip", has_text="env=prod").click()
    expect(page).to_have_url(f"{site.url}/console/instances?tag=env%3Dprod")
    expect(rows).to_have_count(1)
    page.goto("/console/instances?tag=env=dev")
    expect(page.locator("#instances td.empty")).to_be_visible()
    site.shot(page, "instances-tags")


def test_a_volume_takes_tags_and_the_volume_list_filters_by_them(page: Any, site: Site) -> None:
    alice = user_named(site, "alice")
    storage = site.container.block_storage(None)
    for name in ("logs", "media"):
        storage.create_volume(alice.tenant_id, VolumeCreate(name=name, size_gb=1))
    log_in(page, "alice")
    page.goto("/console/volumes")
    media = page.locator("section.volume[data-volume=media]")
    media.locator("form.tag-add input[name=tag]").fill("backup=daily")
    media.locator("form.tag-add button").click()
    flash(page, "Tag backup=daily added.")
    expect(page.locator("#volumes tr[data-volume=media] a.tagchip")).to_have_text("backup=daily")
    page.fill("#volume-filter input[name=tag]", "backup")
    page.locator("#volume-filter button[type=submit]").click()
    expect(page.locator("#volumes tbody tr")).to_have_count(1)
    expect(page.locator("#volumes tbody tr")).to_contain_text("media")


def test_tagged_pages_fit_a_phone_in_chinese_and_a_desktop(browser: Any, site: Site) -> None:
    launch(site, "alice", "tagged-on-a-phone")
    alice = user_named(site, "alice")
    server_id = _server_id(site, "alice", "tagged-on-a-phone")
    long_tags = [f"team.platform-{n}=payments-gateway-production-{n}" for n in range(6)]
    principal = _principal(site, alice)
    tag_service(site.container).replace(
        Target(caller=principal, region=site.container.default_region, kind="servers",
               resource_id=server_id), long_tags)
    paths = (f"/console/instances/{server_id}", "/console/instances",
             "/console/instances?tag=team.platform-0", "/console/volumes")
    for width, height, locale in ((390, 844, "zh_CN"), (1366, 768, "en")):
        context = browser.new_context(base_url=site.url,
                                      viewport={"width": width, "height": height})
        context.add_cookies([{"name": "sws_lang", "value": locale, "url": site.url}])
        context.add_init_script(path=str(AXE))
        tab = context.new_page()
        try:
            log_in(tab, "alice")
            assert problems(tab, [Page(path, path) for path in paths]) == []
        finally:
            context.close()
    assert Tag("team.platform-0", "payments-gateway-production-0") in tag_service(
        site.container).get(Target(caller=principal, region=site.container.default_region,
                                   kind="servers", resource_id=server_id))


def _principal(site: Site, user: Any) -> Principal:
    return Principal(user_id=user.id, user_name=user.name, tenant_id=user.tenant_id,
                     role=user.role, token_id="e2e", expires_at=site.clock.now() + timedelta(1))
