"""The front door in a real browser (issue 14): a stranger signs up, confirms the address from
the mail a real SMTP server (aiosmtpd) received, turns on 2FA, logs in with a TOTP code in a
sponsor's region and launches there, invites a teammate who accepts by mail, and asks for more
quota than the rules approve; the admin approves it in the admin console with a note."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import PASSWORD, Site, build_container, free_port, serve_site
from tests.e2e.test_console import log_in

expect = pytest.importorskip("playwright.sync_api").expect
SPONSOR = {"name": "Open Source Lab", "logo_text": "OSL", "contact": "noc@osl.example"}
STRANGER = "stranger@mail.example.org"
TEAMMATE = "mate@mail.example.org"
TENANT = "stranger-lab"


class Inbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, _server: Any, _session: Any, envelope: Any
    ) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in str(m["To"])]

    def link(self, address: str, path: str) -> str:
        """The path and query of the last link to `path` mailed to `address`."""
        found = re.findall(
            rf"https?://[^/\s]+({re.escape(path)}\?token=[^\s\"<>]+)", text_of(self.to(address)[-1])
        )
        assert found, f"no {path} link in the mail to {address}"
        return str(found[-1])


def text_of(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def subject_of(message: Message) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    sink = Inbox(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Site]:
    """SWS with sign-up open, mail over SMTP to `inbox`, and a second region with a sponsor."""
    container, clock = build_container(
        tmp_path_factory.mktemp("front-door"),
        signup="open",
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        regions=["RegionOne", "SponsorLab"],
        region_sponsors={"SponsorLab": SPONSOR},
    )
    with serve_site(container, clock) as found:
        yield found


def _tab(browser: Any, site: Site) -> Any:
    context = browser.new_context(base_url=site.url, locale="en-US")
    context.set_default_timeout(20_000)
    return context.new_page()


def _log_in(tab: Any, name: str, region: str | None = None) -> None:
    tab.goto("/console/login")
    if region:
        tab.check(f"#region-picker input[value={region}]")
    log_in(tab, name, already_there=True)


def _sign_up_and_verify(tab: Any, site: Site, inbox: Inbox) -> None:
    tab.goto("/console/login")
    tab.click("#signup-link")
    tab.fill("input[name=email]", STRANGER)
    tab.fill("input[name=password]", PASSWORD)
    tab.fill("input[name=tenant_name]", TENANT)
    tab.click("#signup button[type=submit]")
    expect(tab.locator("#front-door-done h1")).to_have_text("Check your mail")
    site.settle()  # the outbox sends over SMTP
    assert subject_of(inbox.to(STRANGER)[-1]) == f"Confirm your SWS sign-up for {TENANT}"
    tab.goto(inbox.link(STRANGER, "/console/signup/verify"))
    tab.click("#signup-verify button[type=submit]")
    expect(tab.locator(".flash.ok")).to_contain_text("Your account is open")


def _turn_on_two_factor(tab: Any, site: Site) -> pyotp.TOTP:
    _log_in(tab, STRANGER)
    expect(tab).to_have_url(f"{site.url}/console/")
    tab.goto("/console/settings")
    tab.fill("#two-factor input[name=password]", PASSWORD)
    tab.click("#two-factor button.primary")
    totp = pyotp.TOTP(tab.locator("#totp-secret").inner_text().strip())
    tab.fill("#two-factor input[name=code]", totp.at(site.clock.now()))
    tab.click("#two-factor button.primary")
    expect(tab.locator("#recovery-codes")).to_be_visible()
    expect(tab.locator("#two-factor-on")).to_be_visible()
    tab.click("#logout")
    return totp


def _log_in_with_code(tab: Any, site: Site, totp: pyotp.TOTP) -> None:
    site.clock.advance(timedelta(seconds=31))  # a fresh TOTP step
    tab.goto("/console/login")
    card = tab.locator("#region-picker [data-region=SponsorLab]")
    expect(card).to_contain_text("sponsored by Open Source Lab")
    expect(card.locator(".sponsor-logo")).to_have_text("OSL")
    _log_in(tab, STRANGER, region="SponsorLab")
    expect(tab.locator("#login-code")).to_be_visible()  # the password alone is not enough
    tab.fill("#login-code input[name=code]", totp.at(site.clock.now()))
    tab.click("#login-code button[type=submit]")
    expect(tab).to_have_url(f"{site.url}/console/")
    expect(tab.locator("select[name=region]")).to_have_value("SponsorLab")


def _launch(tab: Any, site: Site) -> None:
    tab.goto("/console/instances/launch")
    tab.fill("input[name=name]", "first-box")
    tab.check("#flavor-m1\\.small")
    tab.click("#launch-submit")
    expect(tab.locator(".flash.ok")).to_have_text("Launching 1 instance.")
    site.settle()
    tab.goto("/console/instances")
    row = tab.locator("#instances tbody tr", has_text="first-box")
    expect(row.locator("[data-field=status]")).to_have_text("Active")
    tab.goto("/console/regions/all")
    lab = tab.locator("section[data-region=SponsorLab]")
    expect(lab.locator("[data-server=first-box]")).to_be_visible()
    expect(tab.locator("section[data-region=RegionOne] tbody")).not_to_contain_text("first-box")


def _invite_teammate(tab: Any, browser: Any, site: Site, inbox: Inbox) -> None:
    tab.goto("/console/users")
    tab.fill("#invite-member input[name=email]", TEAMMATE)
    tab.click("#invite-member button[type=submit]")
    expect(tab.locator("#invitations tr[data-invitation='" + TEAMMATE + "']")).to_contain_text(
        "pending"
    )
    site.settle()
    mate = _tab(browser, site)
    mate.goto(inbox.link(TEAMMATE, "/console/invitations/accept"))
    mate.fill("#invitation-accept input[name=name]", "mate")
    mate.fill("#invitation-accept input[name=password]", PASSWORD)
    mate.click("#invitation-accept button[type=submit]")
    expect(mate.locator(".flash.ok")).to_contain_text("Log in as mate")
    _log_in(mate, "mate")
    expect(mate).to_have_url(f"{site.url}/console/")
    expect(mate.locator("#who")).to_contain_text(f"@ {TENANT}")
    mate.context.close()


def _ask_for_quota(tab: Any) -> None:
    """XL is three size steps above a new tenant's S, past the one step the rules approve (and
    the unfunded account is in grace since its launch: the rules want good standing too)."""
    tab.goto("/console/quota-requests")
    tab.select_option("#quota-request select[name=size]", "XL")
    tab.fill("#quota-request textarea[name=reason]", "A course of 80 students starts Monday")
    tab.click("#quota-request button[type=submit]")
    expect(tab.locator(".flash.ok")).to_contain_text("Your request was sent")
    expect(tab.locator("#quota-requests tbody tr").first).to_contain_text("pending")


def _admin_approves(browser: Any, site: Site) -> None:
    admin = _tab(browser, site)
    _log_in(admin, "root-admin")
    admin.goto("/admin/quota-requests")
    row = admin.locator(f"#quota-queue tr[data-request={TENANT}]")
    expect(row).to_contain_text("A course of 80 students starts Monday")
    row.locator("input[name=note]").first.fill("Good luck with the course")
    row.locator("button", has_text="Approve").click()
    expect(admin.locator(".flash.ok")).to_contain_text("Approved")
    expect(admin.locator(f"#quota-queue tr[data-request={TENANT}]")).to_have_count(0)
    admin.context.close()


def test_a_stranger_signs_up_with_2fa_launches_in_a_sponsor_region_invites_and_gets_quota(
    browser: Any, front_door: Site, inbox: Inbox
) -> None:
    site, tab = front_door, _tab(browser, front_door)
    _sign_up_and_verify(tab, site, inbox)
    totp = _turn_on_two_factor(tab, site)
    _log_in_with_code(tab, site, totp)
    _launch(tab, site)
    _invite_teammate(tab, browser, site, inbox)
    _ask_for_quota(tab)
    _admin_approves(browser, site)

    tab.goto("/console/quota-requests")
    mine = tab.locator("#quota-requests tbody tr").first
    expect(mine.locator(".state-approved")).to_have_text("approved")
    expect(mine).to_contain_text("Good luck with the course")
    expect(tab.locator("#quota-request input[name=instances]")).to_have_attribute(
        "placeholder", "100"
    )
    site.settle()
    decided = inbox.to(STRANGER)[-1]
    assert subject_of(decided) == "Your quota request in SponsorLab is approved"
    assert "Note: Good luck with the course" in text_of(decided)
    tab.context.close()
