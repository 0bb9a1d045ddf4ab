"""Connect in a real browser: the instance page opens xterm.js on the simulated serial shell."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Site
from tests.e2e.test_pages_lb_storage import launch, log_in


def test_open_the_console_and_ask_the_instance_its_name(page: Any, site: Site) -> None:
    errors: list[str] = []
    page.on("response", lambda answer: errors.append(answer.url) if answer.status >= 400 else None)
    launch(site, "alice", "shop-console-1")
    log_in(page, "alice")
    page.goto("/console/instances")
    page.click("text=shop-console-1")
    expect(page.locator("#system-log-lines")).to_contain_text("shop-console-1 login:")
    page.click("#open-console button[type=submit]")
    screen = page.locator("#terminal .xterm-rows")
    expect(screen).to_contain_text("simulated")
    page.keyboard.type("hostname")
    page.keyboard.press("Enter")
    # The command line, the answer (xterm's rows run together in the text), the next prompt.
    prompt = "root@shop-console-1:~#"
    expect(screen).to_contain_text(re.compile(f"{prompt} hostname\\s*shop-console-1\\s*{prompt}"))
    site.shot(page, "console-connect")
    assert errors == []


def test_instance_actions_that_cannot_apply_are_disabled(page: Any, site: Site) -> None:
    launch(site, "alice", "shop-actions-1")
    launch(site, "alice", "shop-actions-2")
    log_in(page, "alice")
    page.goto("/console/instances")
    toolbar = page.locator("#instances-form .toolbar")
    for action in ("connect", "log", "snapshot", "start", "stop", "reboot", "terminate"):
        expect(toolbar.locator(f"button[value={action}]")).to_be_disabled()
    page.locator("#instances tr", has_text="shop-actions-1").locator("input[name=ids]").check()
    expect(toolbar.locator("button[value=start]")).to_be_disabled()  # it is running
    for action in ("connect", "log", "stop", "reboot", "terminate"):
        expect(toolbar.locator(f"button[value={action}]")).to_be_enabled()
    page.locator("[data-select-all]").check()
    expect(toolbar.locator("button[value=connect]")).to_be_disabled()  # one instance only
    page.locator("[data-select-all]").uncheck()
    expect(toolbar.locator("button[value=stop]")).to_be_disabled()
