"""Mail values: a message and its attachments, pure and immutable."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


class MailFailed(Exception):
    """A mail did not go out; the reason is the message."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


def to_json(mail: Mail) -> dict[str, Any]:
    """The mail as JSON-ready data (attachments in base64), as the outbox stores it."""
    return {
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data": base64.b64encode(a.data).decode("ascii"),
            }
            for a in mail.attachments
        ],
    }


def from_json(data: dict[str, Any]) -> Mail:
    attachments = tuple(
        Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
        for a in data.get("attachments", ())
    )
    return Mail(
        to=data["to"],
        subject=data["subject"],
        text=data["text"],
        html=data.get("html"),
        attachments=attachments,
    )
