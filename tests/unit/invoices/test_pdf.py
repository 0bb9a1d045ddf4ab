"""Invoice PDFs carry Chinese names as text (embedded, subset Unicode fonts), and fall back to
Latin-1 Helvetica, saying so, when the fonts are not installed."""

from __future__ import annotations

import logging
import shutil
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sws.billing.invoices import render
from sws.billing.invoices.model import RECEIPT, Document, Draft, Line, Party
from sws.money import Money

#: A receipt with a CJK buyer embeds a few dozen glyphs of a 4 MB font; subset, it stays small.
MAX_PDF_BYTES = 64 * 1024
TENANT = "云计算有限公司"


def _receipt(buyer: str, seller: str = "SWS Cloud Ltd") -> Document:
    draft = Draft(
        kind=RECEIPT, issuer="RegionOne", account_id="acct-1", source_key="payment:pay_1",
        seller=Party(seller, "1 Cloud Road, Beijing", "91110000"), buyer=Party(buyer),
        lines=(Line("Recharge", Money.of("100.00", "CNY")),), currency="CNY",
        tax_rate=Decimal("0.06"), issued_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        reference="payment pay_1",
    )
    return Document(id="doc-1", number=7, draft=draft)


def _text(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is missing: run scripts/install-system-packages"
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    run = subprocess.run([pdftotext, "-enc", "UTF-8", str(path), "-"],
                         capture_output=True, check=True, text=True)
    return run.stdout


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    """The fonts a PDF uses, as poppler's pdffonts lists them (subset fonts get a prefix)."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True,
                          text=True).stdout


def _installed(fonts: render.PdfFonts) -> render.PdfFonts:
    if fonts.missing():
        pytest.fail(f"missing {fonts.missing()}: run scripts/install-system-packages")
    return fonts


def test_a_chinese_tenant_name_is_in_the_receipt_pdf_as_text(tmp_path: Path) -> None:
    pdf = render.pdf(_receipt(TENANT), _installed(render.DEFAULT_FONTS))

    text = _text(pdf, tmp_path)

    assert TENANT in text
    assert "RCT-RegionOne-000007" in text and "100.00" in text


def test_a_chinese_seller_prints_beside_latin_text(tmp_path: Path) -> None:
    receipt = _receipt("acme", seller="北京云服务有限公司")
    pdf = render.pdf(receipt, _installed(render.DEFAULT_FONTS))

    text = _text(pdf, tmp_path)

    assert "北京云服务有限公司" in text and "acme" in text and "Tax ID: 91110000" in text


def test_the_embedded_fonts_are_subset_so_the_pdf_stays_small() -> None:
    pdf = render.pdf(_receipt(TENANT), _installed(render.DEFAULT_FONTS))

    assert len(pdf) < MAX_PDF_BYTES, len(pdf)


def test_the_cjk_receipt_embeds_subsets_of_dejavu_and_droid(tmp_path: Path) -> None:
    fonts = _fonts(render.pdf(_receipt(TENANT), _installed(render.DEFAULT_FONTS)), tmp_path)

    assert "+DejaVuSans" in fonts and "+DroidSansFallback" in fonts and "Helvetica" not in fonts


def test_a_latin1_receipt_embeds_no_font_at_all(tmp_path: Path) -> None:
    pdf = render.pdf(_receipt("Café Crème SARL"), _installed(render.DEFAULT_FONTS))

    assert "Café Crème SARL" in _text(pdf, tmp_path)
    assert "Helvetica" in _fonts(pdf, tmp_path) and "DejaVu" not in _fonts(pdf, tmp_path)
    assert len(pdf) < 4 * 1024


def test_a_polish_name_embeds_dejavu_without_the_cjk_font(tmp_path: Path) -> None:
    pdf = render.pdf(_receipt("Łódź Chmura sp. z o.o."), _installed(render.DEFAULT_FONTS))

    assert "Łódź Chmura sp. z o.o." in _text(pdf, tmp_path)
    assert "Droid" not in _fonts(pdf, tmp_path)


def test_without_the_fonts_the_pdf_falls_back_to_latin1_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    absent = render.PdfFonts(cjk=tmp_path / "no-such-font.ttf")

    with caplog.at_level(logging.WARNING, logger=render.__name__):
        pdf = render.pdf(_receipt(TENANT), absent)

    text = _text(pdf, tmp_path)
    assert "?" * len(TENANT) in text and "RCT-RegionOne-000007" in text
    assert "fonts-droid-fallback" in caplog.text and "no-such-font.ttf" in caplog.text
