"""The printable certificate of a credential: an A4 landscape PDF and a PNG, each with a QR
code that opens the credential's public verification page.

Plain Python (no Django): the caller passes what to print. reportlab draws the PDF, Pillow the
PNG, qrcode the QR code; text is set in DejaVu Sans (Debian's fonts-dejavu-core, installed by
scripts/install-system-deps.sh), which covers Latin, Greek, Cyrillic, Hebrew and Arabic letters.
Right-to-left names are put in visual order with python-bidi (neither renderer does bidi);
characters the font has no glyph for (most emoji) are left out of the drawing rather than shown
as boxes — the verification page, not the print-out, is the authority, and it shows the name
exactly as signed.

The certificate says how to check it: the QR code and the printed address lead to the live
verification page, which reports revocation and expiry; the paper alone proves nothing.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import qrcode
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFile
from reportlab.pdfgen import canvas

__all__ = ["CertificateData", "render_pdf", "render_png"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR = FONT_DIR / "DejaVuSans.ttf"
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
INK = (0x1D, 0x2A, 0x3A)
ACCENT = (0x01, 0x72, 0xAD)
MUTED = (0x55, 0x5F, 0x6D)
MAX_SKILLS = 8


@dataclass(frozen=True)
class CertificateData:
    holder_name: str
    achievement_name: str  # e.g. "Data analyst (AI-enabled) certificate"
    description: str  # one sentence: what passing certifies
    issuer_name: str
    issued_on: date
    valid_until: date | None
    credential_id: str  # shown in full so it can be typed in
    verify_url: str  # the public verification page; also the QR code's target
    skills: Sequence[str] = ()


@cache
def _glyphs(path: Path) -> frozenset[int]:
    """The code points the font has glyphs for (its cmap, read by reportlab)."""
    return frozenset(TTFontFile(str(path)).charToGlyph)


def _printable(text: str, path: Path = REGULAR) -> str:
    """``text`` in visual order, without control characters or glyphs the font lacks."""
    covered = _glyphs(path)
    kept = [char for char in text
            if not unicodedata.category(char).startswith("C") and ord(char) in covered]
    cleaned = " ".join("".join(kept).split())
    return str(get_display(cleaned))


def _qr_image(url: str) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10,
                         border=2)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    return image.get_image().convert("RGB")  # type: ignore[no-any-return]


def _dates(data: CertificateData) -> str:
    issued = f"Issued {data.issued_on.isoformat()}"
    if data.valid_until is not None:
        return f"{issued} · valid until {data.valid_until.isoformat()}"
    return issued


def _skills_line(skills: Sequence[str]) -> str:
    shown = list(skills[:MAX_SKILLS])
    more = len(skills) - len(shown)
    line = ", ".join(shown)
    return f"{line} and {more} more" if more > 0 else line


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(REGULAR)))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(BOLD)))


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest font size up to ``size`` at which ``text`` fits ``width`` points."""
    while size > 8 and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 1
    return size


def render_pdf(data: CertificateData) -> bytes:
    """The certificate as a one-page A4 landscape PDF (title and author in its metadata)."""
    _register_fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buffer, pagesize=(width, height))
    pdf.setTitle(f"{data.achievement_name}: {data.holder_name}")
    pdf.setAuthor(data.issuer_name)
    pdf.setSubject(f"Verify at {data.verify_url}")
    margin = 48.0
    pdf.setStrokeColorRGB(*(c / 255 for c in ACCENT))
    pdf.setLineWidth(3)
    pdf.rect(margin / 2, margin / 2, width - margin, height - margin)
    centre = width / 2
    text_width = width - 2 * margin - 40

    def line(text: str, font: str, size: float, y: float,
             colour: tuple[int, int, int] = INK) -> None:
        shown = _printable(text, BOLD if font.endswith("Bold") else REGULAR)
        pdf.setFillColorRGB(*(c / 255 for c in colour))
        pdf.setFont(font, _fit(shown, font, size, text_width))
        pdf.drawCentredString(centre, y, shown)

    line(data.issuer_name, "DejaVuSans-Bold", 16, height - 90, ACCENT)
    line("Certificate", "DejaVuSans", 30, height - 140)
    line("This certifies that", "DejaVuSans", 14, height - 180, MUTED)
    line(data.holder_name, "DejaVuSans-Bold", 30, height - 225)
    line("holds the credential", "DejaVuSans", 14, height - 260, MUTED)
    line(data.achievement_name, "DejaVuSans-Bold", 22, height - 295)
    line(data.description, "DejaVuSans", 12, height - 325, MUTED)
    if data.skills:
        line("Skills: " + _skills_line(data.skills), "DejaVuSans", 11, height - 350, MUTED)
    line(_dates(data), "DejaVuSans", 12, 120)
    line(f"Credential {data.credential_id}", "DejaVuSans", 10, 100, MUTED)
    line(f"Check that it is valid: {data.verify_url}", "DejaVuSans", 10, 82, ACCENT)
    qr_size = 110.0
    pdf.drawImage(ImageReader(_qr_image(data.verify_url)), centre - qr_size / 2, 150,
                  qr_size, qr_size)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_png(data: CertificateData, width: int = 1600) -> bytes:
    """The certificate as a PNG (for sharing where a PDF does not fit), same content."""
    height = round(width / 1.414)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    unit = width / 1600
    margin = round(40 * unit)
    draw.rectangle((margin, margin, width - margin, height - margin), outline=ACCENT,
                   width=max(2, round(5 * unit)))

    def line(text: str, bold: bool, size: float, y: float,
             colour: tuple[int, int, int] = INK) -> None:
        path = BOLD if bold else REGULAR
        shown = _printable(text, path)
        pixels = round(size * unit)
        font = ImageFont.truetype(str(path), pixels)
        while pixels > 10 and draw.textlength(shown, font=font) > width - 4 * margin:
            pixels -= 2
            font = ImageFont.truetype(str(path), pixels)
        draw.text((width / 2, round(y * unit)), shown, font=font, fill=colour, anchor="ms")

    line(data.issuer_name, True, 34, 140, ACCENT)
    line("Certificate", False, 64, 230)
    line("This certifies that", False, 30, 300, MUTED)
    line(data.holder_name, True, 64, 390)
    line("holds the credential", False, 30, 450, MUTED)
    line(data.achievement_name, True, 46, 520)
    line(data.description, False, 26, 575, MUTED)
    if data.skills:
        line("Skills: " + _skills_line(data.skills), False, 24, 620, MUTED)
    line(_dates(data), False, 26, 900)
    line(f"Credential {data.credential_id}", False, 22, 940, MUTED)
    line(f"Check that it is valid: {data.verify_url}", False, 22, 980, ACCENT)
    qr = _qr_image(data.verify_url)
    side = round(220 * unit)
    image.paste(qr.resize((side, side), Image.Resampling.NEAREST),
                (round(width / 2 - side / 2), round(648 * unit)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
