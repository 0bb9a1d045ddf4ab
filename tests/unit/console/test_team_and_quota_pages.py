"""The console's team and quota pages, in English and Chinese: an owner invites a billing
user who accepts from the mailed link; the billing user sees but cannot launch; a member asks
for more quota from the overview's link; the admin approves it in the admin console."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from sws.identity import service as identity
from sws.mail.tables import mail_outbox
from tests.unit.console.conftest import PASSWORD, Console


def _last_mail(console: Console) -> dict[str, str]:
    with console.container.db.read() as conn:
        payload = conn.execute(
            select(mail_outbox.c.payload).order_by(mail_outbox.c.id.desc()).limit(1)
        ).scalar_one()
    found: dict[str, str] = json.loads(payload)
    return found


def test_an_owner_invites_and_the_invitee_joins_with_its_role(console: Console) -> None:
    identity.create_user(db=console.container.db, clock=console.clock,
                         tenant_id=console.tenants["acme"], name="olga", password=PASSWORD,
                         role="owner")
    owner = console.browser("olga")
    sent = owner.post("/console/users/invitations", {"email": "carol@example.com",
                                                     "role": "billing"},
                      page="/console/users", follow=True)
    assert "Invitation sent to carol@example.com." in sent.text
    assert 'data-invitation="carol@example.com"' in sent.text
    code = re.search(r"token=([A-Za-z0-9_-]+)", _last_mail(console)["text"])
    assert code
    stranger = console.browser(**{"Accept-Language": "zh-CN"})
    form = stranger.get(f"/console/invitations/accept?token={code.group(1)}")
    assert "加入团队" in form.text
    joined = stranger.post("/console/invitations/accept", {
        "token": code.group(1), "name": "carol", "password": "a long team secret"},
        page=f"/console/invitations/accept?token={code.group(1)}", follow=True)
    assert "carol" in joined.text and joined.url.path == "/console/login"
    again = stranger.post("/console/invitations/accept", {
        "token": code.group(1), "password": "a long team secret"},
        page="/console/invitations/accept")
    assert again.status_code == 409
    carol = console.browser()
    assert carol.login("carol", "a long team secret").status_code == 303
    assert carol.get("/console/instances").status_code == 200
    launch = carol.post("/console/instances/launch", {"name": "x"}, page="/console/instances")
    assert launch.status_code == 403 and "Your role in this tenant" in launch.text


def test_a_member_asks_for_more_quota_and_the_admin_approves(console: Console) -> None:
    alice = console.browser("alice")
    overview = alice.get("/console/")
    assert 'href="/console/quota-requests"' in overview.text
    page = alice.get("/console/quota-requests")
    assert "Request more quota" in page.text and ">L —" in page.text
    sent = alice.post("/console/quota-requests", {"size": "L", "reason": "Black Friday"},
                      page="/console/quota-requests", follow=True)
    assert "Your request was sent" in sent.text and "pending" in sent.text
    root = console.browser("root-admin")
    queue = root.get("/admin/quota-requests")
    assert 'data-request="acme"' in queue.text and "Black Friday" in queue.text
    request_id = re.search(r"/admin/quota-requests/([0-9a-f]+)/approve", queue.text)
    assert request_id
    done = root.post(f"/admin/quota-requests/{request_id.group(1)}/approve",
                     {"note": "have fun"}, page="/admin/quota-requests", follow=True)
    assert "the new quota is in force" in done.text
    mine = alice.get("/console/quota-requests")
    assert "approved" in mine.text and "have fun" in mine.text
    alice.post("/console/language", {"locale": "zh_CN"})
    assert "扩容申请" in alice.get("/console/").text
    alice.post("/console/language", {"locale": "en"})
    refused = alice.post("/console/quota-requests", {"limits": "", "reason": ""},
                         page="/console/quota-requests", follow=True)
    assert "ask for a size or for limits" in refused.text or "give a reason" in refused.text
