"""A document as HTML and as PDF (fpdf2, pure Python). Both show the same facts: number, date,
seller, buyer, lines, net, tax and total.

The PDF uses the PDF core font Helvetica, which has Latin-1 only: other characters (a Chinese
company name) print as `?` there; the HTML shows them as they are.
"""

from __future__ import annotations

from html import escape

from fpdf import FPDF

from sws.billing.invoices.model import Document, Party

_STYLE = (
    "body{font-family:sans-serif;max-width:48em;margin:2em auto;color:#222}"
    "table{width:100%;border-collapse:collapse}td,th{padding:.3em;border-bottom:1px solid #ddd}"
    ".num{text-align:right}.parties{display:flex;gap:4em;margin:1em 0}"
)


def _party_html(role: str, party: Party) -> str:
    rows = [f"<strong>{escape(role)}</strong>", escape(party.name)]
    rows += [escape(party.address)] if party.address else []
    rows += [f"Tax ID: {escape(party.tax_id)}"] if party.tax_id else []
    return "<div>" + "<br>".join(rows) + "</div>"


def html(document: Document) -> str:
    """The document as a standalone HTML page."""
    draft = document.draft
    lines = "".join(
        f"<tr><td>{escape(line.description)}</td><td class=num>{line.amount}</td></tr>"
        for line in draft.lines
    )
    totals = (
        f"<tr><th>Net</th><td class=num>{draft.net}</td></tr>"
        f"<tr><th>Tax ({_percent(document)})</th><td class=num>{draft.tax}</td></tr>"
        f"<tr><th>Total</th><td class=num><strong>{draft.total}</strong></td></tr>"
    )
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(document.title)} "
        f"{escape(document.display_number)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(document.title)} {escape(document.display_number)}</h1>"
        f"<p>Issued {draft.issued_at:%Y-%m-%d %H:%M} UTC"
        f"{' &middot; for ' + escape(draft.reference) if draft.reference else ''}</p>"
        f"<div class=parties>{_party_html('Seller', draft.seller)}"
        f"{_party_html('Buyer', draft.buyer)}</div>"
        f"<table><thead><tr><th>Description</th><th class=num>Amount</th></tr></thead>"
        f"<tbody>{lines}</tbody><tfoot>{totals}</tfoot></table>"
        f"<p>Amounts include tax.</p></body></html>"
    )


def _percent(document: Document) -> str:
    return f"{(document.draft.tax_rate * 100).normalize():f}%"


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def pdf(document: Document) -> bytes:
    """The document as an A4 PDF."""
    draft = document.draft
    out = FPDF(format="A4")
    out.set_creation_date(draft.issued_at)
    out.add_page()
    out.set_font("Helvetica", "B", 16)
    out.cell(
        0, 10, _latin1(f"{document.title} {document.display_number}"), new_x="LMARGIN", new_y="NEXT"
    )
    out.set_font("Helvetica", size=10)
    issued = f"Issued {draft.issued_at:%Y-%m-%d %H:%M} UTC"
    out.cell(
        0,
        6,
        _latin1(issued + (f" - for {draft.reference}" if draft.reference else "")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for role, party in (("Seller", draft.seller), ("Buyer", draft.buyer)):
        _party_pdf(out, role, party)
    out.ln(4)
    for line in draft.lines:
        _row(out, line.description, str(line.amount))
    out.ln(2)
    _row(out, "Net", str(draft.net))
    _row(out, f"Tax ({_percent(document)})", str(draft.tax))
    out.set_font("Helvetica", "B", 10)
    _row(out, "Total (tax included)", str(draft.total))
    return bytes(out.output())


def _party_pdf(out: FPDF, role: str, party: Party) -> None:
    out.ln(3)
    out.set_font("Helvetica", "B", 10)
    out.cell(0, 6, role, new_x="LMARGIN", new_y="NEXT")
    out.set_font("Helvetica", size=10)
    for text in (party.name, party.address, party.tax_id and f"Tax ID: {party.tax_id}"):
        if text:
            out.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _row(out: FPDF, label: str, amount: str) -> None:
    out.cell(130, 6, _latin1(label), border="B")
    out.cell(0, 6, amount, border="B", align="R", new_x="LMARGIN", new_y="NEXT")
