"""Mail through a real SMTP server (aiosmtpd) and the outbox on PostgreSQL and MariaDB."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.mail.adapters import SmtpConfig, SmtpMailer
from sws.mail.model import Mail, MailFailed
from sws.mail.outbox import OutboxDispatcher, RetryPolicy, enqueue
from sws.mail.tables import mail_outbox
from tests.servicedb import mariadb_database, postgres_database

HELLO = Mail(
    to="ann@example.com", subject="Bienvenue, 欢迎", text="Hi Ann, 你好", html="<p>Hi Ann</p>"
)


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, _server: Any, _session: Any, envelope: Any
    ) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticator(
    _server: Any, _session: Any, _envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"sws"
        and auth_data.password == b"s3cret"
    )
    return AuthResult(success=good, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), _free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=_authenticator, auth_require_tls=False
    )
    controller.start()
    yield sink, port
    controller.stop()


def test_a_mail_goes_out_over_smtp_with_login(smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    SmtpMailer(
        SmtpConfig(
            host="127.0.0.1",
            port=port,
            sender="SWS <sws@cloud.example>",
            user="sws",
            password="s3cret",
        )
    ).send(HELLO)
    (message,) = sink.messages
    assert sink.envelopes == [("sws@cloud.example", ["ann@example.com"])]
    assert (
        str(email.header.make_header(email.header.decode_header(message["Subject"])))
        == HELLO.subject
    )
    bodies = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert "你好" in bodies["text/plain"] and bodies["text/html"].strip() == "<p>Hi Ann</p>"


def test_a_refused_login_and_a_dead_server_are_mail_failures(smtp: tuple[Sink, int]) -> None:
    _, port = smtp
    with pytest.raises(MailFailed, match="SMTPAuthenticationError"):
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, user="sws", password="no")).send(HELLO)
    with pytest.raises(MailFailed, match="ConnectionRefused"):
        SmtpMailer(SmtpConfig(host="127.0.0.1", port=_free_port(), timeout=2)).send(HELLO)


def test_the_outbox_waits_out_an_smtp_outage_then_delivers_once(
    database: Database, clock: SimulatedClock
) -> None:
    port = _free_port()
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, timeout=2))
    dispatcher = OutboxDispatcher(
        db=database, clock=clock, mailer=mailer, policy=RetryPolicy(backoff=timedelta(seconds=30))
    )
    with database.begin() as conn:
        enqueue(conn, key="verify:1", mail=HELLO, now=clock.now())
    assert dispatcher.run_once() == 0  # the server is down
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert dispatcher.run_once() == 0  # up now, but the retry is not due yet
        clock.advance(timedelta(seconds=30))
        assert dispatcher.run_once() == 1
        clock.advance(timedelta(hours=3))
        assert dispatcher.run_once() == 0
    finally:
        controller.stop()
    assert len(sink.messages) == 1


def _racing_enqueues(db: Database, workers: int = 8) -> list[bool]:
    """`workers` transactions enqueue one key at once; each commits after all have tried."""
    barrier, results = threading.Barrier(workers), [False] * workers
    now = datetime(2026, 1, 5, tzinfo=UTC)

    def one(n: int) -> None:
        with db.begin() as conn:
            barrier.wait()
            results[n] = enqueue(conn, key="invoice:7", mail=HELLO, now=now)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


SERVERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "postgresql": postgres_database,
    "mariadb": mariadb_database,
}


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_one_key_enqueued_by_racing_transactions_is_kept_once(server: str) -> None:
    with SERVERS[server]() as url:
        engine = make_engine(url)
        db = Database(engine)
        try:
            results = _racing_enqueues(db)
            with db.read() as conn:
                count = conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
            clock = SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC))
            sent: list[Mail] = []
            dispatchers = [
                OutboxDispatcher(db=db, clock=clock, mailer=_Keep(sent)) for _ in range(3)
            ]
            threads = [threading.Thread(target=d.run_once) for d in dispatchers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            engine.dispose()
    assert sorted(results) == [False] * 7 + [True] and count == 1 and sent == [HELLO]


class _Keep:
    def __init__(self, sent: list[Mail]) -> None:
        self.sent = sent

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)
