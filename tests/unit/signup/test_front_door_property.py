"""Property: no sequence of sign-ups, confirmations, re-sends, approvals, resets and waits
opens two tenants for one person (normalised e-mail) or lets any code work twice."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.errors import SWSError
from sws.identity.model import Principal
from sws.identity.tables import users
from sws.mail.tables import mail_outbox
from sws.signup import repository as repo
from sws.signup.accounts import LocalAccounts
from sws.signup.limits import DatabaseHits, Limiter
from sws.signup.service import Decision, FrontDoor, FrontDoorConfig, Limits, SignupRequest
from tests.budget import examples
from tests.schema import migrate

#: Spellings of three people's addresses, and who each one is (the test's own oracle).
PEOPLE = {
    "ann@gmail.com": "ann",
    "a.nn@gmail.com": "ann",
    "ann+x@googlemail.com": "ann",
    "bob@example.com": "bob",
    "carol@example.org": "carol",
}
EMAILS = (
    "ann@gmail.com",
    "a.nn@gmail.com",
    "ANN+x@googlemail.com",
    "bob@example.com",
    "Bob@Example.com ",
    "carol@example.org",
)
TENANTS = ("alpha", "beta", "gamma", "delta")
WAITS = (timedelta(minutes=5), timedelta(minutes=31), timedelta(hours=25))
ADMIN = Principal(
    user_id="admin",
    user_name="root",
    tenant_id="operator",
    role="admin",
    token_id="t",
    expires_at=datetime(2100, 1, 1, tzinfo=UTC),
)
CODE = re.compile(r"token=([A-Za-z0-9_-]+)")

steps = st.one_of(
    st.tuples(st.just("sign_up"), st.sampled_from(EMAILS), st.sampled_from(TENANTS)),
    st.tuples(st.just("verify"), st.integers(0, 30)),
    st.tuples(st.just("verify_last"), st.just(-1)),
    st.tuples(st.just("sign_up_and_verify"), st.sampled_from(EMAILS), st.sampled_from(TENANTS)),
    st.tuples(st.just("resend"), st.sampled_from(EMAILS)),
    st.tuples(st.just("reset"), st.sampled_from(EMAILS)),
    st.tuples(st.just("confirm"), st.integers(0, 30)),
    st.tuples(st.just("approve"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.sampled_from(WAITS)),
)


def _template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="sws-frontdoor-")) / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


TEMPLATE = _template()


class Run:
    """One front door on a fresh database, and every code its mails have carried."""

    def __init__(self, mode: str) -> None:
        folder = Path(tempfile.mkdtemp(prefix="sws-frontdoor-run-"))
        shutil.copy(TEMPLATE, folder / "sws.db")
        self.db = Database(make_engine(f"sqlite:///{folder / 'sws.db'}"))
        self.clock = SimulatedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        many = {
            name: 10_000
            for name in (
                "signup-address",
                "signup-network",
                "signup-email",
                "verify-address",
                "reset-address",
                "reset-email",
                "reset-confirm-address",
            )
        }
        config = FrontDoorConfig(mode=mode, limits=Limits.with_counts(many))  # type: ignore[arg-type]
        self.door = FrontDoor(
            db=self.db,
            clock=self.clock,
            config=config,
            limiter=Limiter(store=DatabaseHits(self.db), clock=self.clock),
            accounts=LocalAccounts(),
        )
        self.codes: list[tuple[str, str]] = []  # (kind, code) in the order mailed
        self.used: Counter[str] = Counter()
        self._seen = 0

    def step(self, step: tuple[Any, ...]) -> None:
        with contextlib.suppress(SWSError):  # refusals are allowed; what they must never
            self._do(step)  # do is checked after
        self._collect()

    def _do(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "sign_up_and_verify":  # the honest path, made likely
            self._do(("sign_up", *step[1:]))
            self._collect()
            kind, step = "verify_last", ("verify_last", -1)
        if kind == "sign_up":
            self.door.sign_up(
                SignupRequest(email=step[1], password="correct horse battery", tenant_name=step[2])
            )
        elif kind in ("verify", "verify_last"):
            code = self._code("signup-verify", step[1])
            if code and self.door.verify(token=code):
                self.used[code] += 1
        elif kind == "resend":
            self.door.resend(email=step[1])
        elif kind == "reset":
            self.door.request_reset(email=step[1])
        elif kind == "confirm":
            code = self._code("password_reset", step[1])
            if code:
                self.door.confirm_reset(token=code, password="another good secret")
                self.used[code] += 1
        elif kind == "approve":
            pending = self.door.pending()
            if pending:
                self.door.approve(
                    Decision(signup_id=pending[step[1] % len(pending)].id, actor=ADMIN)
                )
        else:
            self.clock.advance(step[1])

    def _code(self, kind: str, index: int) -> str | None:
        mine = [code for k, code in self.codes if k == kind]
        return mine[index % len(mine)] if mine else None

    def _collect(self) -> None:
        with self.db.read() as conn:
            rows = conn.execute(
                select(mail_outbox.c.key, mail_outbox.c.payload)
                .order_by(mail_outbox.c.id)
                .offset(self._seen)
            ).all()
        self._seen += len(rows)
        for key, payload in rows:
            found = CODE.search(json.loads(payload)["text"])
            if found:
                self.codes.append((key.split(":")[0], found.group(1)))

    def owners_per_person(self) -> Counter[str]:
        with self.db.read() as conn:
            emails = conn.execute(select(users.c.email).where(users.c.email.is_not(None)))
            return Counter(PEOPLE[e.lower()] for e in emails.scalars())

    def pending_per_person(self) -> Counter[str]:
        with self.db.read() as conn:
            return Counter(PEOPLE[s.email.lower()] for s in repo.pending(conn))


@settings(max_examples=examples(100), deadline=None)
@given(st.sampled_from(["open", "approval"]), st.lists(steps, min_size=1, max_size=25))
def test_one_tenant_per_person_and_every_code_works_once(
    mode: str, sequence: list[tuple[Any, ...]]
) -> None:
    run = Run(mode)
    try:
        for step in sequence:
            run.step(step)
        opened = run.owners_per_person() + run.pending_per_person()
        assert all(count == 1 for count in opened.values()), opened
        assert all(count == 1 for count in run.used.values()), run.used
    finally:
        run.db.engine.dispose()
