"""Mail notices about money: low balance, suspension and resumption, payment received and
failed, document issued. Each is enqueued in the mail outbox inside the transaction of the
event it tells of, keyed by that event (so it goes out once, and only if the event committed),
to every user of the tenant with an e-mail address, each in the user's own language (Panel
settings; by default the language it signed up in); an invoice's mail carries its PDF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from sws.billing.invoices import render
from sws.billing.invoices.model import INVOICE, Document
from sws.identity.account_repository import recipients_of, tenant_recipients
from sws.identity.repository import tenant_names
from sws.identity.tables import tenants
from sws.mail import outbox
from sws.mail.model import Attachment, Mail
from sws.mail.templates import render as render_mail

TITLE_ZH = {"receipt": "收据", "invoice": "发票", "credit_note": "退款凭证"}


def tenant_name(conn: Connection, tenant_id: str) -> str:
    name = conn.execute(select(tenants.c.name).where(tenants.c.id == tenant_id)).scalar()
    return str(name or tenant_id)


def notify(
    conn: Connection,
    *,
    tenant_id: str,
    template: str,
    key: str,
    context: Mapping[str, str],
    now: datetime,
    attachments: tuple[Attachment, ...] = (),
) -> int:
    """Enqueue `template` for each of the tenant's addresses, once per `key`; how many."""
    reached = tenant_recipients(conn, tenant_id)
    if not reached:
        return 0
    values = {"tenant": tenant_name(conn, tenant_id), **context}
    return sum(
        outbox.enqueue(
            conn,
            key=f"{key}:{to}"[:255],
            now=now,
            mail=_mail(template, language, values, to, attachments),
        )
        for to, language in reached
    )


@dataclass(frozen=True, slots=True)
class Notice:
    """One template to the users of one tenant, once per `key`."""

    tenant_id: str
    template: str
    key: str
    context: Mapping[str, str]


def notify_many(
    conn: Connection, notices: Sequence[Notice], now: datetime,
    names: Mapping[str, str] | None = None,
) -> None:
    """`notify` for many notices: one look-up of the recipients and of the tenants' names
    (those not in `names` already), one insert of the mails (a batch of callbacks mails each
    payer once)."""
    tenants = [n.tenant_id for n in notices]
    reached = recipients_of(conn, tenants) if notices else {}
    names = dict(names or {})
    unnamed = sorted({t for t in tenants if t in reached and t not in names})
    if unnamed:
        names.update(tenant_names(conn, unnamed))
    mails = [
        (f"{notice.key}:{to}"[:255],
         _mail(notice.template, language, {"tenant": names.get(notice.tenant_id) or
               notice.tenant_id, **notice.context}, to, ()))
        for notice in notices
        for to, language in reached.get(notice.tenant_id, ())
    ]
    outbox.enqueue_many(conn, mails, now=now)


def _mail(
    template: str, language: str, values: Mapping[str, str], to: str,
    attachments: tuple[Attachment, ...],
) -> Mail:
    subject, text, _ = render_mail(template, language, values)
    return Mail(to=to, subject=subject, text=text, attachments=attachments)


def document_issued(conn: Connection, document: Document, now: datetime) -> int:
    """An invoice's mail, with its PDF (receipts and credit notes are told by the payment's
    and the refund's own notices, and wait in the console)."""
    if document.draft.kind != INVOICE:
        return 0
    return mail_document(conn, document, key=f"document:{document.id}", now=now)


def mail_document(conn: Connection, document: Document, *, key: str, now: datetime) -> int:
    """The document's mail with its PDF attached, once per `key`."""
    pdf = Attachment(f"{document.display_number}.pdf", "application/pdf", render.pdf(document))
    context = {
        "title": document.title,
        "title_zh": TITLE_ZH[document.draft.kind],
        "number": document.display_number,
        "total": str(document.draft.total),
        "reference": document.draft.reference,
    }
    return notify(
        conn,
        tenant_id=document.draft.account_id,
        template="invoice_issued",
        key=key,
        context=context,
        now=now,
        attachments=(pdf,),
    )
