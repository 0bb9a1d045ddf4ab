"""The Mailer port: what sends one mail; adapters live in `sws.mail.adapters`."""

from __future__ import annotations

from typing import Protocol

from sws.mail.model import Mail, MailFailed

__all__ = ["Mail", "MailFailed", "Mailer"]


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Send `mail` now; raise `MailFailed` if it did not go out."""
        ...
