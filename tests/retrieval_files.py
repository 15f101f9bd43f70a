"""Small documents of every format the library reads, made here (no binary fixtures)."""

from __future__ import annotations

import io
import zipfile

MARKDOWN = """# Field Guide

An introduction to the birds of the valley.

## Herons

The grey heron stands still in shallow water for hours.
It eats fish and frogs.

### Nesting

Herons nest in colonies called heronries, high in the trees.

## Owls

The tawny owl hunts at night and calls with a long hoot.
"""

HTML = """<!doctype html>
<html><head><title>Tide tables explained</title></head>
<body>
<nav><a href="/">Home</a> | <a href="/shop">Shop</a> | <a href="/login">Log in</a></nav>
<article>
<h1>Tide tables explained</h1>
<p>A tide table lists the times and heights of high and low water at a port for every
day of the year. Sailors read them before leaving the harbour.</p>
<h2>Spring tides</h2>
<p>Spring tides happen near the new and full moon, when the sun and the moon pull in
line, and the range between high and low water is largest.</p>
<h2>Neap tides</h2>
<p>Neap tides happen at the quarter moons; the range between high and low water is the
smallest of the month.</p>
</article>
<footer>Copyright 2024 Harbour Office. Cookie settings. Privacy policy.</footer>
</body></html>
"""


def pdf_bytes(pages: list[str], *, title: str | None = "Annual Report") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "Onboarding handbook"
    document.add_paragraph("Onboarding handbook", style="Title")
    document.add_heading("First week", level=1)
    document.add_paragraph("On your first day you receive a laptop and a badge.")
    document.add_heading("Accounts", level=2)
    document.add_paragraph("IT creates your email account before you arrive.")
    document.add_heading("Benefits", level=1)
    document.add_paragraph("Parental leave is sixteen weeks at full pay.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Plan"
    table.cell(0, 1).text = "Dental"
    table.cell(1, 0).text = "Cost"
    table.cell(1, 1).text = "Free"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()
