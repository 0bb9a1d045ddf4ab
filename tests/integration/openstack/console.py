"""The console steps the real-OpenStack browser tests share: log in, and launch from the form."""

from __future__ import annotations

from typing import Any


def log_in(page: Any, base: str, user: str, password: str) -> None:
    """Log in on the console's login page and land on the overview."""
    from playwright.sync_api import expect

    page.goto("/console/login")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{base}/console/")


def launch(page: Any, name: str, flavor: str, image: dict[str, str], *, timeout_ms: int) -> Any:
    """Launch one instance from Instances → Launch Instance; wait until its row is Active and
    Running, and return that row. `image` picks the image option (`{"label": ...}` or
    `{"value": ...}`)."""
    from playwright.sync_api import expect

    page.goto("/console/instances")
    page.click("#launch")
    page.fill("input[name=name]", name)
    page.check(f"[id='flavor-{flavor}']")
    page.select_option("select[name=image_id]", **image)
    page.click("#launch-submit")
    expect(page.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    row = page.locator("#instances tbody tr", has_text=name)
    expect(row.locator("[data-field=status]")).to_have_text("Active", timeout=timeout_ms)
    expect(row.locator("[data-field=power]")).to_have_text("Running")
    return row
