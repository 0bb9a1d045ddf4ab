"""Session cookie flags, CSRF on every POST, login throttling, logout and safe redirects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sws.web.console.render import safe_next
from tests.unit.console.conftest import PASSWORD, Console

POSTS = (
    "/console/logout", "/console/region", "/console/instances/launch",
    "/console/instances/action", "/console/security-groups", "/console/key-pairs",
    "/console/floating-ips", "/admin/tenants", "/admin/users",
)


def test_the_session_cookie_is_httponly_and_samesite_lax(console: Console) -> None:
    response = console.browser().login("alice")
    cookie = response.headers["set-cookie"]
    assert "sws_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here


def test_the_session_cookie_is_secure_behind_https(console: Console) -> None:
    browser = console.browser(**{"X-Forwarded-Proto": "https"})
    cookie = browser.login("alice").headers["set-cookie"]
    assert "Secure" in cookie


@pytest.mark.parametrize("path", POSTS)
def test_a_post_without_the_csrf_token_is_refused(console: Console, path: str) -> None:
    browser = console.browser("root-admin")
    response = browser.post(path, {"name": "evil"}, csrf="")
    assert response.status_code == 403
    assert "The form has expired" in response.text


def test_a_csrf_token_of_another_session_is_refused(console: Console) -> None:
    bob_token = console.browser("bob").csrf("/console/")
    alice = console.browser("alice")
    refused = alice.post("/console/floating-ips", csrf=bob_token)
    assert refused.status_code == 403
    assert "203.0.113." not in alice.get("/console/floating-ips").text
    accepted = alice.post("/console/floating-ips", page="/console/floating-ips", follow=True)
    assert "Floating IP allocated." in accepted.text


def test_the_login_form_needs_its_csrf_token(console: Console) -> None:
    browser = console.browser()
    browser.get("/console/login")
    response = browser.client.post("/console/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 403


def test_five_failures_a_minute_then_even_the_right_password_waits(console: Console) -> None:
    browser = console.browser()
    for _ in range(5):
        assert browser.login("alice", "wrong-password").status_code == 401
    blocked = browser.login("alice")
    assert blocked.status_code == 429
    assert "Too many failed logins for alice" in blocked.text
    assert "Try again in 60 seconds" in blocked.text
    other_user = browser.login("bob")
    assert other_user.status_code == 303  # the limit is per user and address
    console.clock.advance(timedelta(seconds=61))
    assert console.browser().login("alice").status_code == 303


def test_a_wrong_password_is_one_message_for_every_cause(console: Console) -> None:
    for name in ("alice", "nobody"):
        response = console.browser().login(name, "wrong-password")
        assert response.status_code == 401
        assert "The user name or password is wrong" in response.text


def test_logout_revokes_the_token(console: Console) -> None:
    browser = console.browser("alice")
    token = browser.client.cookies["sws_session"]
    response = browser.post("/console/logout", follow=True)
    assert "You have logged out." in response.text
    api = browser.client.get("/v1/servers", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    browser.client.cookies.set("sws_session", token)
    again = browser.get("/console/instances", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/console/login")


def test_login_returns_to_the_page_asked_for_but_never_off_site(console: Console) -> None:
    browser = console.browser()
    redirected = browser.get("/console/key-pairs", follow_redirects=False)
    assert redirected.headers["location"] == "/console/login?next=/console/key-pairs"
    token = browser.csrf("/console/login?next=/console/key-pairs")
    response = browser.client.post("/console/login", data={
        "csrf": token, "name": "alice", "password": PASSWORD, "next": "/console/key-pairs"},
        follow_redirects=False)
    assert response.headers["location"] == "/console/key-pairs"
    for hostile in ("https://evil.example/", "//evil.example/x", "/console//evil", "/v1/servers"):
        assert safe_next(hostile, "/console/") == "/console/"


def test_admins_land_on_the_admin_console(console: Console) -> None:
    assert console.browser().login("root-admin").headers["location"] == "/admin/"
    assert console.browser().login("alice").headers["location"] == "/console/"


def test_a_forged_flash_cookie_is_ignored(console: Console) -> None:
    browser = console.browser("alice")
    browser.client.cookies.set("sws_flash", "W1siZXJyb3IiLCJoaSJdXQ.deadbeef")
    assert 'class="flash' not in browser.get("/console/").text
