"""The sign-up and password-reset API suite again, on PostgreSQL and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_signup import *  # noqa: F403
from tests.servicedb import mariadb_database, postgres_database


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    server = postgres_database if request.param == "postgresql" else mariadb_database
    with server() as url:
        yield url


def test_racing_sign_ups_of_one_person_keep_one_sign_up(database_url: str) -> None:
    """Eight spellings of one address sign up at the same moment: one sign-up row, every
    request answered alike, and the codes mailed are the row's (the last one works)."""
    import threading
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from sws.clock import SimulatedClock
    from sws.db.engine import Database, make_engine
    from sws.mail.tables import mail_outbox
    from sws.signup.accounts import LocalAccounts
    from sws.signup.limits import DatabaseHits, Limiter
    from sws.signup.service import FrontDoor, FrontDoorConfig, Limits, SignupRequest
    from sws.signup.tables import signups

    engine = make_engine(database_url)
    db = Database(engine)
    clock = SimulatedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    many = {"signup-address": 100, "signup-network": 100, "signup-email": 100}
    door = FrontDoor(
        db=db,
        clock=clock,
        config=FrontDoorConfig(mode="open", limits=Limits.with_counts(many)),
        limiter=Limiter(store=DatabaseHits(db), clock=clock),
        accounts=LocalAccounts(),
    )
    spellings = [
        "ann@gmail.com",
        "a.nn@gmail.com",
        "ann+1@gmail.com",
        "ANN@googlemail.com",
        "an.n@gmail.com",
        "ann+2@googlemail.com",
        "A.N.N@gmail.com",
        "ann+3@gmail.com",
    ]
    barrier, errors = threading.Barrier(len(spellings)), []

    def one(email: str) -> None:
        barrier.wait()
        try:
            door.sign_up(
                SignupRequest(email=email, password="correct horse battery", tenant_name="anncorp")
            )
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=one, args=(e,)) for e in spellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        with db.read() as conn:
            rows = conn.execute(select(func.count()).select_from(signups)).scalar_one()
            mails = conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
    finally:
        engine.dispose()
    assert errors == [] and rows == 1 and 1 <= mails <= len(spellings)
