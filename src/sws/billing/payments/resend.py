"""The admin's re-send of a document: its mail (with the PDF) enqueued again, audited."""

from __future__ import annotations

from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.billing.invoices import repository as documents_repo
from sws.billing.payments import notices
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import NotFound


def resend_document(*, db: Database, clock: Clock, document_id: str, actor: str) -> int:
    """Queue the document's mail to each of the tenant's addresses; how many were queued."""
    now = clock.now()
    with db.begin() as conn:
        document = documents_repo.get(conn, document_id)
        if document is None:
            raise NotFound(f"document {document_id} not found", field="invoice_id")
        queued = notices.mail_document(
            conn, document, now=now, key=f"resend:{document.id}:{now.isoformat()}"
        )
        billing_repo.audit(
            conn,
            [
                billing.audit_row(
                    document.draft.account_id,
                    now,
                    "document_resent",
                    f"{document.display_number} by {actor} to {queued} address(es)",
                )
            ],
        )
    return queued
