"""The console's front door, in English and Chinese: sign up, confirm, wait for approval,
forgot and reset a password; mails are read from the outbox."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.mail.tables import mail_outbox
from sws.web.app import create_app
from tests.unit.console.conftest import (
    START,
    TASK_SECONDS,
    Browser,
    Console,
    Template,
    template,  # noqa: F401 (the fixture)
)

GOOD = "correct horse battery"


def _console(tmp_path: Path, made: Template, mode: str) -> Iterator[Console]:
    shutil.copy(made.path, tmp_path / "sws.db")
    settings = Settings(
        home=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'sws.db'}",
        sim_task_seconds=TASK_SECONDS,
        demo_data=False,
        signup=mode,
        public_url="https://cloud.example",
    )  # type: ignore[arg-type]
    clock = SimulatedClock(START)
    container = bootstrap.build(settings, clock=clock)
    yield Console(
        container=container, clock=clock, tenants=made.tenants, _app=create_app(container)
    )
    container.db.engine.dispose()


@pytest.fixture
def gated(tmp_path: Path, template: Template) -> Iterator[Console]:  # noqa: F811
    yield from _console(tmp_path, template, "approval")


@pytest.fixture
def closed(tmp_path: Path, template: Template) -> Iterator[Console]:  # noqa: F811
    yield from _console(tmp_path, template, "closed")


def _mails(console: Console) -> list[dict[str, Any]]:
    with console.container.db.read() as conn:
        rows = conn.execute(select(mail_outbox.c.payload).order_by(mail_outbox.c.id)).scalars()
        return [json.loads(r) for r in rows]


def _link(mail: dict[str, Any]) -> str:
    found = re.search(r"https://cloud\.example(/console/\S+)", mail["text"])
    assert found, mail["text"]
    return found.group(1)


def _token(path: str) -> str:
    return path.split("token=", 1)[1]


def _sign_up(browser: Browser) -> Any:
    form = {"email": "mei@example.cn", "password": GOOD, "tenant_name": "meicorp"}
    return browser.post("/console/signup", form, page="/console/signup")


def test_a_visitor_signs_up_in_chinese_and_an_admin_approves(gated: Console) -> None:
    visitor = gated.browser(**{"Accept-Language": "zh-CN"})
    assert "开通 SWS 账户" in visitor.get("/console/signup").text
    sent = _sign_up(visitor)
    assert sent.status_code == 202 and "请查收邮件" in sent.text
    (mail,) = _mails(gated)
    assert "确认" in mail["subject"]
    link = _link(mail)
    confirm = visitor.get(link)
    assert confirm.status_code == 200 and _token(link) in confirm.text  # a GET uses nothing
    waiting = visitor.post("/console/signup/verify", {"token": _token(link)}, page=link)
    assert waiting.status_code == 200 and "审核" in waiting.text
    admin = gated.browser("root-admin")
    queue = admin.get("/admin/signups")
    assert "mei@example.cn" in queue.text and "meicorp" in queue.text
    signup_id = re.search(r"/admin/signups/([0-9a-f]+)/approve", queue.text)
    assert signup_id
    approved = admin.post(
        f"/admin/signups/{signup_id.group(1)}/approve", page="/admin/signups", follow=True
    )
    assert "Sign-up approved" in approved.text and "mei@example.cn" not in approved.text
    assert visitor.login("mei@example.cn", GOOD).status_code == 303


def test_a_used_link_shows_why_on_the_page(gated: Console) -> None:
    visitor = gated.browser()
    _sign_up(visitor)
    link = _link(_mails(gated)[0])
    visitor.post("/console/signup/verify", {"token": _token(link)}, page=link)
    again = visitor.post("/console/signup/verify", {"token": _token(link)}, page=link)
    assert again.status_code == 409 and "used already" in again.text


def test_forgot_password_then_reset_ends_the_old_password(gated: Console) -> None:
    visitor = gated.browser()
    sent = visitor.post(
        "/console/password-reset", {"email": "nobody@example.com"}, page="/console/password-reset"
    )
    assert sent.status_code == 202 and _mails(gated) == []
    _sign_up(visitor)
    visitor.post(
        "/console/signup/verify",
        {"token": _token(_link(_mails(gated)[0]))},
        page="/console/signup/verify",
    )
    admin = gated.browser("root-admin")
    signup_id = re.search(r"/admin/signups/([0-9a-f]+)/approve", admin.get("/admin/signups").text)
    assert signup_id
    admin.post(f"/admin/signups/{signup_id.group(1)}/approve", page="/admin/signups")
    visitor.post(
        "/console/password-reset", {"email": "MEI@example.cn"}, page="/console/password-reset"
    )
    link = _link(_mails(gated)[-1])
    assert link.startswith("/console/password-reset/confirm?token=")
    weak = visitor.post(
        "/console/password-reset/confirm",
        {"token": _token(link), "password": "password"},
        page=link,
    )
    assert weak.status_code == 422
    done = visitor.post(
        "/console/password-reset/confirm",
        {"token": _token(link), "password": "a brand new secret"},
        page=link,
    )
    assert done.status_code == 303 and done.headers["location"] == "/console/login"
    assert visitor.login("mei@example.cn", GOOD).status_code == 401
    assert visitor.login("mei@example.cn", "a brand new secret").status_code == 303


def test_the_login_page_offers_a_reset_and_sign_up_only_when_open(
    gated: Console, closed: Console
) -> None:
    login = gated.browser().get("/console/login").text
    assert 'href="/console/password-reset"' in login and 'href="/console/signup"' in login
    shut = closed.browser().get("/console/login").text
    assert 'href="/console/password-reset"' in shut and 'href="/console/signup"' not in shut
    page = closed.browser().get("/console/signup")
    assert page.status_code == 403 and "closed" in page.text


def test_a_limit_is_a_429_page_with_retry_after(gated: Console) -> None:
    visitor = gated.browser()
    for n in range(5):
        visitor.post(
            "/console/signup",
            {"email": f"u{n}@example.com", "password": GOOD, "tenant_name": f"t{n}"},
            page="/console/signup",
        )
    refused = visitor.post(
        "/console/signup",
        {"email": "u9@example.com", "password": GOOD, "tenant_name": "t9"},
        page="/console/signup",
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.text


def test_the_owner_manages_users_in_the_console_and_a_member_cannot(gated: Console) -> None:
    visitor = gated.browser()
    _sign_up(visitor)
    visitor.post(
        "/console/signup/verify",
        {"token": _token(_link(_mails(gated)[0]))},
        page="/console/signup/verify",
    )
    admin = gated.browser("root-admin")
    signup_id = re.search(r"/admin/signups/([0-9a-f]+)/approve", admin.get("/admin/signups").text)
    assert signup_id
    admin.post(f"/admin/signups/{signup_id.group(1)}/approve", page="/admin/signups")
    assert visitor.login("mei@example.cn", GOOD).status_code == 303
    added = visitor.post(
        "/console/users",
        {"name": "mei-dev", "password": "dev-secret-1"},
        page="/console/users",
        follow=True,
    )
    assert "Member mei-dev added." in added.text and 'data-user="mei-dev"' in added.text
    member = gated.browser()
    assert member.login("mei-dev", "dev-secret-1").status_code == 303
    assert "Only the tenant" in member.get("/console/users").text
    refused = member.post(
        "/console/users",
        {"name": "sneaky", "password": "dev-secret-2"},
        page="/console/users",
        follow=True,
    )
    assert "only the tenant" in refused.text and 'data-user="sneaky"' not in refused.text
    dev_id = re.search(r"/console/users/([0-9a-f]+)/enabled", added.text)
    assert dev_id
    off = visitor.post(
        f"/console/users/{dev_id.group(1)}/enabled",
        {"enabled": "false"},
        page="/console/users",
        follow=True,
    )
    assert "Member disabled." in off.text
    assert member.get("/console/users").status_code in (200, 303)
    assert member.login("mei-dev", "dev-secret-1").status_code == 401
