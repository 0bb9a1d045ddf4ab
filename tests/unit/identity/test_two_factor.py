"""Two-factor authentication as the user lives it, and its two promises as a property: once
enrolled, no login passes without a second factor; a user holding an unused recovery code is
never locked out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import SWSError
from sws.identity import service as identity
from sws.identity import two_factor
from sws.identity.account_model import Client, LoginAttempt, time_step, totp_at
from sws.identity.auth import LocalAuth
from sws.identity.model import IssuedToken, Principal
from sws.identity.throttle import DatabaseFailures, LoginThrottle, ThrottlePolicy
from sws.identity.two_factor import Gate, Proof

PASSWORD = "correct horse battery"
_names = itertools.count()


@dataclass
class Person:
    """A user, the app on its phone (the secret) and the recovery codes it wrote down."""

    database: Database
    clock: SimulatedClock
    name: str
    auth: LocalAuth = field(init=False)
    gate: Gate = field(init=False)
    principal: Principal = field(init=False)
    secret: str | None = None
    codes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.auth = LocalAuth(db=self.database, clock=self.clock, ttl=timedelta(hours=1))
        throttle = LoginThrottle(store=DatabaseFailures(self.database), clock=self.clock,
                                 policy=ThrottlePolicy(limit=10_000))
        self.gate = Gate(db=self.database, clock=self.clock, throttle=throttle)
        tenant = identity.create_tenant(db=self.database, clock=self.clock,
                                        name=f"t{self.name}")
        identity.create_user(db=self.database, clock=self.clock, tenant_id=tenant.id,
                             name=self.name, password=PASSWORD)
        self.principal = self.auth.issue_token(name=self.name, password=PASSWORD).principal

    def app_code(self) -> str:
        assert self.secret is not None
        return totp_at(self.secret, time_step(self.clock.now()))

    def log_in(self, code: str | None = None) -> IssuedToken:
        attempt = LoginAttempt(name=self.name, password=PASSWORD, client=Client(), code=code)
        return identity.log_in(auth=self.auth, throttle=self.gate.throttle, attempt=attempt,
                               db=self.database, clock=self.clock)

    def logs_in(self, code: str | None = None) -> bool:
        try:
            self.log_in(code)
        except SWSError:
            return False
        return True


@pytest.fixture
def ann(database: Database, clock: SimulatedClock) -> Person:
    return Person(database, clock, "ann")


def test_ann_turns_on_2fa_and_then_needs_her_phone_or_a_recovery_code(ann: Person) -> None:
    assert ann.logs_in()
    enrolment = two_factor.enrol(gate=ann.gate, caller=ann.principal,
                                 proof=Proof(password=PASSWORD))
    ann.secret = enrolment.secret
    assert ann.logs_in()  # not yet: the first code confirms
    ann.codes = two_factor.confirm(gate=ann.gate, caller=ann.principal, code=ann.app_code())

    with pytest.raises(two_factor.SecondFactorRequired):
        ann.log_in()
    ann.clock.advance(timedelta(seconds=30))
    assert ann.logs_in(ann.app_code())
    assert not ann.logs_in(ann.app_code())  # the same time step twice
    assert ann.logs_in(ann.codes[3])
    assert not ann.logs_in(ann.codes[3])


def test_a_code_from_the_step_before_is_accepted_for_clock_drift_but_not_older(
    ann: Person,
) -> None:
    ann.secret = two_factor.enrol(gate=ann.gate, caller=ann.principal,
                                  proof=Proof(password=PASSWORD)).secret
    two_factor.confirm(gate=ann.gate, caller=ann.principal, code=ann.app_code())
    ann.clock.advance(timedelta(seconds=60))
    previous = totp_at(ann.secret, time_step(ann.clock.now()) - 1)
    older = totp_at(ann.secret, time_step(ann.clock.now()) - 2)
    assert not ann.logs_in(older) or older == previous
    assert ann.logs_in(previous)


def test_a_wrong_password_never_reaches_the_code(ann: Person) -> None:
    with pytest.raises(SWSError) as refused:
        two_factor.enrol(gate=ann.gate, caller=ann.principal, proof=Proof(password="nope"))
    assert refused.value.field == "password"


ACTIONS = st.lists(
    st.sampled_from([
        "enrol", "confirm", "confirm_wrong", "disable_app", "disable_recovery",
        "regenerate", "login_none", "login_app", "login_recovery", "login_spent", "wait",
    ]),
    max_size=10,
)


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_no_sequence_locks_out_a_user_with_a_code_or_skips_the_second_factor(
    database: Database, clock: SimulatedClock, actions: list[str]
) -> None:
    person = Person(database, clock, f"p{next(_names)}")
    spent: list[str] = []
    for action in actions:
        _act(person, action, spent)
        enabled = two_factor.status(db=database, user_id=person.principal.user_id).enabled
        if enabled:
            assert not person.logs_in(None), "logged in without a second factor"
            if spent:
                assert not person.logs_in(spent[-1]), "a spent recovery code worked again"
            if person.codes:
                code = person.codes.pop()
                assert person.logs_in(code), "locked out while holding a recovery code"
                spent.append(code)
        else:
            assert person.logs_in(None)


def _act(person: Person, action: str, spent: list[str]) -> None:
    caller, gate = person.principal, person.gate
    person.clock.advance(timedelta(seconds=31))  # a fresh time step for every action
    try:
        if action == "enrol":
            person.secret = two_factor.enrol(gate=gate, caller=caller,
                                             proof=Proof(password=PASSWORD)).secret
        elif action == "confirm" and person.secret:
            person.codes = two_factor.confirm(gate=gate, caller=caller, code=person.app_code())
            spent.clear()
        elif action == "confirm_wrong":
            two_factor.confirm(gate=gate, caller=caller, code="12345x")
        elif action in ("disable_app", "disable_recovery", "regenerate"):
            _with_proof(person, action, spent)
        elif action.startswith("login_"):
            _login(person, action, spent)
    except SWSError:
        pass  # refused: the invariants are checked on what the database says now


def _with_proof(person: Person, action: str, spent: list[str]) -> None:
    use_recovery = action == "disable_recovery" and person.codes
    code = person.codes.pop() if use_recovery else (person.app_code() if person.secret else "")
    if use_recovery:
        spent.append(code)
    proof = Proof(password=PASSWORD, code=code)
    if action == "regenerate":
        person.codes = two_factor.regenerate(gate=person.gate, caller=person.principal,
                                             proof=proof)
        spent.clear()
    else:
        two_factor.disable(gate=person.gate, caller=person.principal, proof=proof)
        person.secret, person.codes = None, []


def _login(person: Person, action: str, spent: list[str]) -> None:
    if action == "login_app" and person.secret:
        person.log_in(person.app_code())
    elif action == "login_recovery" and person.codes:
        code = person.codes.pop()
        if person.logs_in(code):
            spent.append(code)
    elif action == "login_spent" and spent:
        person.log_in(spent[-1])
    elif action == "login_none":
        person.log_in(None)
