"""A document as HTML and as PDF (fpdf2, pure Python). Both show the same facts: number, date,
seller, buyer, lines, net, tax and total.

A PDF whose text is all Latin-1 is written in the PDF core font Helvetica and embeds no font.
Any other text embeds Unicode TrueType fonts, so a Chinese seller or buyer prints as it is:
DejaVu Sans (Debian's fonts-dejavu-core) for Latin, Greek and Cyrillic, and Droid Sans Fallback
(fonts-droid-fallback) for Chinese, Japanese and Korean, which DejaVu lacks. fpdf2 embeds only
the glyphs a document uses, so such a receipt stays near 30 kB. When a font file is missing,
the PDF falls back to Helvetica: characters outside Latin-1 print as `?`, and a warning (once
per process) names the package to install. The HTML always shows every character.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF

from sws.billing.invoices.model import Document, Party

log = logging.getLogger(__name__)
_DEBIAN_FONTS = Path("/usr/share/fonts/truetype")
_CORE = "Helvetica"
_CJK_START = 0x2E80  # CJK radicals; kana, hangul and the ideographs all lie above


@dataclass(frozen=True, slots=True)
class PdfFonts:
    """The TrueType files a PDF embeds: Latin text (regular, bold), then CJK glyphs."""

    regular: Path = _DEBIAN_FONTS / "dejavu/DejaVuSans.ttf"
    bold: Path = _DEBIAN_FONTS / "dejavu/DejaVuSans-Bold.ttf"
    cjk: Path = _DEBIAN_FONTS / "droid/DroidSansFallbackFull.ttf"

    def missing(self) -> list[Path]:
        return [path for path in (self.regular, self.bold, self.cjk) if not path.is_file()]


DEFAULT_FONTS = PdfFonts()

_STYLE = (
    "body{font-family:sans-serif;max-width:48em;margin:2em auto;color:#222}"
    "table{width:100%;border-collapse:collapse}td,th{padding:.3em;border-bottom:1px solid #ddd}"
    ".num{text-align:right}.parties{display:flex;gap:4em;margin:1em 0}"
)


@lru_cache(maxsize=4096)  # a region's seller and a tenant as buyer come back on every document
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


def pdf(document: Document, fonts: PdfFonts = DEFAULT_FONTS) -> bytes:
    """The document as an A4 PDF, in Unicode fonts when `fonts` are all there."""
    draft = document.draft
    out = _Writer(fonts, _all_text(document))
    out.pdf.set_creation_date(draft.issued_at)
    out.font(bold=True, size=16)
    out.text_line(10, f"{document.title} {document.display_number}")
    out.font()
    issued = f"Issued {draft.issued_at:%Y-%m-%d %H:%M} UTC"
    out.text_line(6, issued + (f" - for {draft.reference}" if draft.reference else ""))
    for role, party in (("Seller", draft.seller), ("Buyer", draft.buyer)):
        _party_pdf(out, role, party)
    out.pdf.ln(4)
    for line in draft.lines:
        out.row(line.description, str(line.amount))
    out.pdf.ln(2)
    out.row("Net", str(draft.net))
    out.row(f"Tax ({_percent(document)})", str(draft.tax))
    out.font(bold=True)
    out.row("Total (tax included)", str(draft.total))
    return bytes(out.pdf.output())


def _all_text(document: Document) -> str:
    draft = document.draft
    parties = (f"{p.name}{p.address}{p.tax_id}" for p in (draft.seller, draft.buyer))
    lines = (line.description for line in draft.lines)
    return "".join((document.display_number, draft.reference, *parties, *lines))


class _Writer:
    """An A4 page in the core font Helvetica while the text is Latin-1 (no font to embed, as
    fast as before), else in the Unicode fonts; the 4 MB CJK font is parsed (some 0.7 s) only
    for text that needs it."""

    def __init__(self, fonts: PdfFonts, text: str) -> None:
        from fpdf import FPDF  # a fifth of a second to import: only PDFs pay for it

        self.pdf: FPDF = FPDF(format="A4")
        self.family = _CORE
        if not _latin1(text) and not _fonts_missing(fonts):
            self.family = "sws-sans"
            self.pdf.add_font("sws-sans", "", fonts.regular)
            self.pdf.add_font("sws-sans", "B", fonts.bold)
            if any(ord(char) >= _CJK_START for char in text):
                self.pdf.add_font("sws-cjk", "", fonts.cjk)
                self.pdf.set_fallback_fonts(["sws-cjk"], exact_match=False)
        self.pdf.add_page()
        self.font()

    def font(self, *, bold: bool = False, size: int = 10) -> None:
        self.style, self.size = "B" if bold else "", size
        self.pdf.set_font(self.family, self.style, self.size)

    def cell(self, width: float, height: float, text: str, **options: Any) -> None:
        # fpdf2 2.8 switches to the CJK fallback font inside a cell's text object, and PDF keeps
        # that font after the object ends: the next cell's Latin glyphs would be drawn from it.
        # Having fpdf2 state our font again before each cell keeps every cell in its own font.
        self.pdf.current_font_is_set_on_page = False
        self.pdf.cell(width, height, self.printable(text), **options)

    def printable(self, text: str) -> str:
        if self.family != _CORE:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def text_line(self, height: float, text: str) -> None:
        self.cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, amount: str) -> None:
        self.cell(130, 6, label, border="B")
        self.cell(0, 6, amount, border="B", align="R", new_x="LMARGIN", new_y="NEXT")


def _latin1(text: str) -> bool:
    return all(ord(char) < 256 for char in text)


@cache
def _fonts_missing(fonts: PdfFonts) -> bool:
    """True (and a warning, once per set of fonts) when a font file is not there."""
    missing = fonts.missing()
    if missing:
        log.warning(
            "invoice PDFs print non-Latin-1 text as '?': missing %s (Debian: install "
            "fonts-dejavu-core and fonts-droid-fallback, scripts/install-system-packages)",
            ", ".join(map(str, missing)),
        )
    return bool(missing)


def _party_pdf(out: _Writer, role: str, party: Party) -> None:
    out.pdf.ln(3)
    out.font(bold=True)
    out.text_line(6, role)
    out.font()
    for text in (party.name, party.address, party.tax_id and f"Tax ID: {party.tax_id}"):
        if text:
            out.text_line(5, text)
