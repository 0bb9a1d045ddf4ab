"""The transactional outbox: once per key, only if the caller commits, retried with backoff."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.mail.adapters import OutboxDirMailer, build_mailer, to_message
from sws.mail.model import Attachment, Mail, MailFailed, from_json, to_json
from sws.mail.outbox import OutboxDispatcher, RetryPolicy, enqueue
from sws.mail.tables import mail_outbox

HELLO = Mail(to="ann@example.com", subject="Hello", text="Hi Ann")


class Recorder:
    """A mailer that keeps what it is given, failing the first `failures` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[Mail] = []
        self.failures = failures
        self.lock = threading.Lock()

    def send(self, mail: Mail) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise MailFailed("421 try again later")
            self.sent.append(mail)


def _rows(db: Database) -> list[dict[str, object]]:
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(mail_outbox)).mappings()]


def test_a_key_is_enqueued_once_and_mailed_once(database: Database, clock: SimulatedClock) -> None:
    with database.begin() as conn:
        assert enqueue(conn, key="welcome:ann", mail=HELLO, now=clock.now()) is True
        assert enqueue(conn, key="welcome:ann", mail=HELLO, now=clock.now()) is False
    with database.begin() as conn:
        assert enqueue(conn, key="welcome:ann", mail=HELLO, now=clock.now()) is False
    recorder = Recorder()
    dispatcher = OutboxDispatcher(db=database, clock=clock, mailer=recorder)
    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert recorder.sent == [HELLO]
    assert _rows(database)[0]["sent_at"] == clock.now()


def test_a_rolled_back_action_sends_nothing(database: Database, clock: SimulatedClock) -> None:
    with pytest.raises(RuntimeError), database.begin() as conn:
        enqueue(conn, key="welcome:bob", mail=HELLO, now=clock.now())
        raise RuntimeError("the action failed after enqueueing")
    recorder = Recorder()
    assert OutboxDispatcher(db=database, clock=clock, mailer=recorder).run_once() == 0
    assert recorder.sent == [] and _rows(database) == []


def test_a_failure_is_kept_and_retried_after_a_growing_backoff(
    database: Database, clock: SimulatedClock
) -> None:
    with database.begin() as conn:
        enqueue(conn, key="k", mail=HELLO, now=clock.now())
    recorder = Recorder(failures=2)
    policy = RetryPolicy(attempts=5, backoff=timedelta(seconds=10))
    dispatcher = OutboxDispatcher(db=database, clock=clock, mailer=recorder, policy=policy)
    assert dispatcher.run_once() == 0
    (row,) = _rows(database)
    assert row["last_error"] == "MailFailed: 421 try again later" and row["attempts"] == 1
    assert row["due_at"] == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=9))
    assert dispatcher.run_once() == 0 and _rows(database)[0]["attempts"] == 1  # not due yet
    clock.advance(timedelta(seconds=1))
    assert dispatcher.run_once() == 0
    assert _rows(database)[0]["due_at"] == clock.now() + timedelta(seconds=20)  # doubled
    clock.advance(timedelta(seconds=20))
    assert dispatcher.run_once() == 1 and recorder.sent == [HELLO]
    assert _rows(database)[0]["last_error"] is None


def test_a_mail_is_given_up_after_its_last_attempt(
    database: Database, clock: SimulatedClock
) -> None:
    with database.begin() as conn:
        enqueue(conn, key="k", mail=HELLO, now=clock.now())
    policy = RetryPolicy(attempts=3, backoff=timedelta(seconds=1))
    dispatcher = OutboxDispatcher(db=database, clock=clock, mailer=Recorder(99), policy=policy)
    for _ in range(6):
        dispatcher.run_once()
        clock.advance(timedelta(hours=1))
    (row,) = _rows(database)
    assert row["attempts"] == 3 and row["failed_at"] is not None and row["sent_at"] is None


def test_a_claim_whose_sender_died_comes_back_when_its_lease_ends(
    database: Database, clock: SimulatedClock
) -> None:
    with database.begin() as conn:
        enqueue(conn, key="k", mail=HELLO, now=clock.now())
    policy = RetryPolicy(lease=timedelta(minutes=5))
    dead = OutboxDispatcher(db=database, clock=clock, mailer=Recorder(), policy=policy)
    assert len(dead._claim(10)) == 1  # claimed, then the process "dies" before sending
    recorder = Recorder()
    alive = OutboxDispatcher(db=database, clock=clock, mailer=recorder, policy=policy)
    assert alive.run_once() == 0
    clock.advance(timedelta(minutes=5))
    assert alive.run_once() == 1 and recorder.sent == [HELLO]


def test_two_dispatchers_at_once_send_each_mail_once(
    database: Database, clock: SimulatedClock
) -> None:
    with database.begin() as conn:
        for n in range(40):
            enqueue(
                conn,
                key=f"k{n}",
                mail=Mail(to=f"u{n}@example.com", subject="s", text="t"),
                now=clock.now(),
            )
    recorder = Recorder()
    dispatchers = [OutboxDispatcher(db=database, clock=clock, mailer=recorder) for _ in "ab"]
    errors: list[BaseException] = []

    def run(dispatcher: OutboxDispatcher) -> None:
        try:
            while dispatcher.run_once(limit=7):
                pass
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m.to for m in recorder.sent) == sorted(f"u{n}@example.com" for n in range(40))


def test_attachments_survive_the_outbox_and_the_mime_message() -> None:
    pdf = Attachment("bill-2026-01.pdf", "application/pdf", b"%PDF-1.7\x00\xff")
    mail = Mail(
        to="a@example.com",
        subject="Bill",
        text="Attached.",
        html="<p>Attached.</p>",
        attachments=(pdf,),
    )
    assert from_json(to_json(mail)) == mail
    parsed = email.message_from_bytes(bytes(to_message(mail, "SWS <sws@example.com>")))
    parts = [p for p in parsed.walk() if p.get_filename()]
    assert [p.get_payload(decode=True) for p in parts] == [pdf.data]
    assert parsed["From"] == "SWS <sws@example.com>"


def _read(path: Path) -> Message:
    return email.message_from_bytes(path.read_bytes())


def test_the_outbox_directory_holds_one_eml_per_mail(tmp_path: Path, clock: SimulatedClock) -> None:
    mailer = OutboxDirMailer(tmp_path / "outbox", sender="sws@example.com", clock=clock)
    mailer.send(HELLO)
    mailer.send(Mail(to="bob@example.com", subject="Other", text="x"))
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.name.startswith("20260105T090000") for f in files)
    assert {_read(f)["To"] for f in files} == {"ann@example.com", "bob@example.com"}


def test_without_an_smtp_host_mail_goes_to_the_home_s_outbox(tmp_path: Path) -> None:
    from sws.config import Settings

    mailer = build_mailer(Settings(home=tmp_path))
    assert isinstance(mailer, OutboxDirMailer) and mailer.directory == tmp_path / "outbox"


def test_an_unwritable_outbox_is_a_mail_failure(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file, not a directory")
    with pytest.raises(MailFailed):
        OutboxDirMailer(tmp_path / "outbox").send(HELLO)
