"""`sws up` says where unsent mail goes; `sws worker mail --once` sends the outbox."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sws.cli import app
from sws.config import Settings
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws.mail.model import Mail
from sws.mail.outbox import enqueue

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wide_cli_output: None) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_DEMO_DATA", "false")
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    monkeypatch.delenv("SWS_SMTP_HOST", raising=False)
    return tmp_path


def test_up_without_smtp_says_where_mail_is_written(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("sws.web.serving.serve", lambda asgi, **options: calls.append(options))
    monkeypatch.setattr("sws.cli._start_ticker", lambda container: None)
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert f"it is written to {home / 'outbox'}/" in result.output


def test_up_with_smtp_says_nothing_about_an_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWS_SMTP_HOST", "mail.example.com")
    monkeypatch.setattr("sws.web.serving.serve", lambda asgi, **options: None)
    monkeypatch.setattr("sws.cli._start_ticker", lambda container: None)
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "outbox" not in result.output


def test_the_mail_worker_sends_what_is_due_once(home: Path) -> None:
    engine = make_engine(Settings(home=home).db_url)
    upgrade(engine)
    with Database(engine).begin() as conn:
        enqueue(conn, key="hello:1", mail=Mail(to="ann@example.com", subject="Hi", text="x"))
    engine.dispose()
    for _ in range(2):
        result = runner.invoke(app, ["worker", "mail", "--once"])
        assert result.exit_code == 0, result.output
    (sent,) = (home / "outbox").glob("*.eml")
    assert email.message_from_bytes(sent.read_bytes())["To"] == "ann@example.com"
