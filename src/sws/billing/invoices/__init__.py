"""Invoices, receipts and credit notes: numbered without gaps, rendered as HTML and PDF."""
