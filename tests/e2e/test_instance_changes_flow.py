"""Issue 18's browser test for instance changes: Alice renames her instance from its page
(a bad name first, refused beside the form and kept as typed), then rebuilds it from another
OS image after the confirmation that says the disk is wiped, and watches it go REBUILD and
back to Active on the new image. The page, with every change form open, fits a phone and
passes axe-core in Chinese.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from sws.drivers.base import ServerFilter
from tests.e2e.conftest import Site
from tests.e2e.console_pages import Page
from tests.e2e.test_console_layout import AXE, AXE_CHECK, problems
from tests.e2e.test_volumes_flow import flash, launch, log_in, user_named


def _server(site: Site, name: str) -> Any:
    alice = user_named(site, "alice")
    found = site.container.driver(None).list_servers(alice.tenant_id, ServerFilter(), 100, None)
    return next(s for s in found if s.name == name)


def test_rename_then_rebuild_an_instance_from_its_page(page: Any, site: Site) -> None:
    launch(site, "alice", "web-1")
    server = _server(site, "web-1")
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    log_in(page, "alice")
    page.goto(f"/console/instances/{server.id}")

    page.fill("#rename-name", "-not/a name")
    page.click("#rename-submit")
    expect(page.locator("#rename-error")).to_contain_text("must start with a letter or digit")
    expect(page.locator("#rename-name")).to_have_value("-not/a name")
    page.fill("#rename-name", "web-prod")
    page.click("#rename-submit")
    flash(page, "Renamed to web-prod.")
    expect(page.locator("h1")).to_contain_text("web-prod")

    page.click("#rebuild summary")
    page.select_option("#rebuild-image", label="debian-12")
    page.click("#rebuild-submit")
    assert asked and "disk is wiped" in asked[-1]
    flash(page, "Rebuilding web-prod: its disk is being reinstalled.")
    expect(page.locator("#instance [data-field=status]")).to_have_text("Rebuilding")
    site.settle()
    expect(page.locator("#instance [data-field=status]")).to_have_text("Active", timeout=15_000)
    rebuilt = _server(site, "web-prod")
    images = site.container.driver(None).list_images(rebuilt.project_id)
    assert rebuilt.id == server.id and rebuilt.fixed_ips == server.fixed_ips
    assert rebuilt.image_id == next(i.id for i in images if i.name == "debian-12")


def test_the_change_forms_fit_a_phone_in_chinese(browser: Any, site: Site) -> None:
    launch(site, "alice", "phone-1")
    server = _server(site, "phone-1")
    context = browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844},
                                  locale="zh-CN")
    context.add_cookies([{"name": "sws_lang", "value": "zh_CN", "url": site.url}])
    context.add_init_script(path=str(AXE))
    tab = context.new_page()
    try:
        log_in(tab, "alice")
        url = f"/console/instances/{server.id}"
        assert problems(tab, [Page(url, url)]) == []
        tab.click("#resize summary")
        tab.click("#rebuild summary")
        expect(tab.locator("#resize-form")).to_be_visible()
        width, view = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= view
        assert tab.evaluate(AXE_CHECK) == []
        expect(tab.locator("#changes-title")).to_have_text("重命名、重建或调整规格")
    finally:
        context.close()
