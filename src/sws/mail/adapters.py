"""Mailers: SMTP (optionally STARTTLS and login) and a directory of .eml files (embedded).

`build_mailer(settings)` picks SMTP when `SWS_SMTP_HOST` is set, else the outbox directory
`$SWS_HOME/outbox/`, where each mail is one `<UTC time>-<digest>.eml` file any mail client opens.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sws.clock import Clock, SystemClock
from sws.mail.model import Mail, MailFailed
from sws.mail.ports import Mailer


def to_message(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message: text, an HTML alternative if any, then the attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for item in mail.attachments:
        main, _, sub = item.content_type.partition("/")
        message.add_attachment(
            item.data, maintype=main, subtype=sub or "octet-stream", filename=item.filename
        )
    return message


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "sws@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


class SmtpMailer:
    """One SMTP session per mail; STARTTLS before login when asked."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, mail: Mail) -> None:
        config = self.config
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.user:
                    smtp.login(config.user, config.password or "")
                smtp.send_message(to_message(mail, config.sender))
        except (smtplib.SMTPException, OSError, ValueError) as error:
            raise MailFailed(f"{type(error).__name__}: {error}") from error


class OutboxDirMailer:
    """Writes each mail as `<directory>/<UTC time>-<digest>.eml` (atomically, via a rename)."""

    def __init__(
        self, directory: Path, *, sender: str = "sws@localhost", clock: Clock | None = None
    ) -> None:
        self.directory = directory
        self.sender = sender
        self.clock = clock or SystemClock()

    def send(self, mail: Mail) -> None:
        data = bytes(to_message(mail, self.sender))
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S%fZ")
        key = hashlib.sha256(data).hexdigest()[:16]
        target = self.directory / f"{stamp}-{key}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".eml.part")
            partial.write_bytes(data)
            os.replace(partial, target)
        except OSError as error:
            raise MailFailed(f"cannot write {target}: {error}") from error


def outbox_directory(settings: Any) -> Path:
    return Path(settings.home) / "outbox"


def build_mailer(settings: Any, clock: Clock | None = None) -> Mailer:
    """SMTP when `smtp_host` is set, else the outbox directory under `$SWS_HOME`."""
    sender = settings.mail_sender
    if not settings.smtp_host:
        return OutboxDirMailer(outbox_directory(settings), sender=sender, clock=clock)
    return SmtpMailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=sender,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    )
