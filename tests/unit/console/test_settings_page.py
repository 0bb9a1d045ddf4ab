"""Panel settings in the console: two-factor login with its second form, language and time
zone that follow the user, API credentials shown once, sessions, e-mail confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

from sws.identity.account_model import time_step, totp_at
from tests.unit.console.conftest import PASSWORD, Browser, Console

SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
TICKET = re.compile(r'name="ticket" value="([^"]+)"')


def _code(console: Console, secret: str) -> str:
    return totp_at(secret, time_step(console.clock.now()))


def _turn_on_2fa(console: Console, alice: Browser) -> tuple[str, list[str]]:
    enrolled = alice.post("/console/settings/2fa", {"password": PASSWORD},
                          page="/console/settings")
    found = SECRET.search(enrolled.text)
    assert enrolled.status_code == 200 and found, enrolled.text[-2000:]
    confirmed = alice.post("/console/settings/2fa/confirm",
                           {"code": _code(console, found.group(1))}, page="/console/settings")
    codes = re.findall(r"\b[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\b", confirmed.text)
    assert len(codes) == 10
    return found.group(1), codes


def _second_form(browser: Browser) -> str:
    asked = browser.login("alice")
    assert asked.status_code == 401 and 'id="login-code"' in asked.text
    ticket = TICKET.search(asked.text)
    assert ticket
    return ticket.group(1)


def _send_code(browser: Browser, ticket: str, code: str) -> int:
    return browser.post("/console/login/code", {"name": "alice", "ticket": ticket,
                                                "code": code}, page="/console/login").status_code


def test_with_2fa_on_the_login_asks_for_the_code_on_a_second_form(console: Console) -> None:
    secret, codes = _turn_on_2fa(console, console.browser("alice"))
    console.clock.advance(timedelta(seconds=30))

    browser = console.browser()
    ticket = _second_form(browser)
    assert _send_code(browser, ticket, "000000" if _code(console, secret) != "000000"
                      else "111111") == 401
    assert _send_code(browser, ticket + "0", _code(console, secret)) == 401  # forged ticket
    assert _send_code(browser, ticket, _code(console, secret)) == 303
    assert browser.get("/console/settings").status_code == 200

    other = console.browser()
    assert _send_code(other, _second_form(other), codes[0]) == 303  # a recovery code


def test_the_ticket_of_the_second_form_expires(console: Console) -> None:
    secret, _ = _turn_on_2fa(console, console.browser("alice"))
    browser = console.browser()
    ticket = _second_form(browser)
    console.clock.advance(timedelta(minutes=6))
    assert _send_code(browser, ticket, _code(console, secret)) == 401


def test_language_and_time_zone_follow_the_user_to_a_new_browser(console: Console) -> None:
    alice = console.browser("alice")
    saved = alice.post("/console/settings", {"language": "zh", "timezone": "Asia/Shanghai"},
                       page="/console/settings", follow=True)
    assert "面板设置" in saved.text and "设置已保存" in saved.text

    elsewhere = console.browser("alice", **{"Accept-Language": "en"})
    page = elsewhere.get("/console/settings").text
    assert "两步验证" in page and "CST" in page  # times shown in Shanghai's zone
    assert "UTC</td>" not in page


def test_a_credential_is_shown_once_and_sessions_end_everywhere(console: Console) -> None:
    alice = console.browser("alice")
    made = alice.post("/console/settings/credentials", {"name": "deploy", "days": "30"},
                      page="/console/settings")
    secret = re.search(r"<code>(swsk_[\w-]+)</code>", made.text)
    assert secret
    assert console.browser().get("/v1/servers",
                                 headers={"X-Auth-Token": secret.group(1)}).status_code == 200
    assert secret.group(1) not in alice.get("/console/settings").text

    bye = alice.post("/console/settings/sessions/revoke-all", page="/console/settings")
    assert bye.status_code == 303 and bye.headers["location"] == "/console/login"
    assert alice.get("/console/settings", follow_redirects=False).status_code in (302, 303)


def test_the_email_confirmation_page_uses_the_code_only_on_its_button(console: Console) -> None:
    visitor = console.browser()
    shown = visitor.get("/console/account/email/confirm?token=abc")
    assert shown.status_code == 200 and 'name="token" value="abc"' in shown.text
    refused = visitor.post("/console/account/email/confirm", {"token": "abc"},
                           page="/console/account/email/confirm?token=abc")
    assert refused.status_code == 400 and 'id="confirm-error"' in refused.text
