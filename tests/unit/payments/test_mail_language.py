"""Every mail to a known person is in that person's language: the one chosen in Panel
settings, else the one it signed up in, else English."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select, update

from sws.billing import service as billing
from sws.billing import standing
from sws.identity import account
from sws.identity import service as identity
from sws.identity.account_model import SettingsChange
from sws.identity.model import Principal
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws.money import Money
from sws.signup.tables import signups
from tests.unit.payments.conftest import Till

PASSWORD = "a long enough password 1"


def _user(till: Till, name: str, email: str) -> Principal:
    user = identity.create_user(
        db=till.db, clock=till.clock, tenant_id=till.tenant, name=name, password=PASSWORD
    )
    with till.db.begin() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(email=email))
    return Principal(user_id=user.id, user_name=name, tenant_id=till.tenant, role="member",
                     token_id="t", expires_at=till.clock.now())


def _low_balance_mails(till: Till) -> dict[str, dict[str, str]]:
    billing.update_account(db=till.db, clock=till.clock, tenant_id=till.tenant,
                           low_balance_threshold=Decimal(100))
    standing.top_up(db=till.db, clock=till.clock, drivers={}, tenant_id=till.tenant,
                    amount=Money.of("60.00", "CNY"), idempotency_key="t1")
    standing.review_account(db=till.db, clock=till.clock, drivers={}, account_id=till.tenant)
    with till.db.read() as conn:
        rows = conn.execute(select(mail_outbox.c.key, mail_outbox.c.recipient,
                                   mail_outbox.c.payload))
        return {r.recipient: json.loads(r.payload) for r in rows if r.key.startswith("low_")}


def test_a_chinese_owner_gets_the_chinese_low_balance_mail_and_an_english_one_english(
    till: Till,
) -> None:
    mei = _user(till, "mei", "mei@acme.test")
    _user(till, "ann", "ann@acme.test")
    account.change_settings(db=till.db, clock=till.clock, caller=mei,
                            change=SettingsChange(language="zh"))

    mails = _low_balance_mails(till)

    assert set(mails) == {"mei@acme.test", "ann@acme.test"}
    assert "余额" in mails["mei@acme.test"]["subject"]
    assert "balance" in mails["ann@acme.test"]["subject"].lower()
    assert "余额" not in mails["ann@acme.test"]["subject"]


def test_without_a_setting_the_sign_up_language_is_used(till: Till) -> None:
    mei = _user(till, "mei", "mei@acme.test")
    with till.db.begin() as conn:
        conn.execute(signups.insert().values(
            id="s1", email="mei@acme.test", email_key="mei@acme.test", tenant_name="acme",
            language="zh", password_hash="", state="active", sends=1,
            created_at=till.clock.now(), updated_at=till.clock.now(), tenant_id=till.tenant,
            user_id=mei.user_id,
        ))

    mails = _low_balance_mails(till)

    assert "余额" in mails["mei@acme.test"]["subject"]
    assert account.settings(db=till.db, caller=mei).language == "zh"
