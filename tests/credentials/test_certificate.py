"""The printable certificate: a one-page PDF and a PNG whose QR code encodes the verification
address (checked module by module against the QR code of that address)."""

from __future__ import annotations

import io
import re
from datetime import date

import qrcode
from PIL import Image

from upskill.credentials.certificate import CertificateData, render_pdf, render_png

URL = "http://127.0.0.1:8000/credentials/3f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f/"


def data(name: str = "Dana Learner") -> CertificateData:
    return CertificateData(
        holder_name=name, achievement_name="Data analyst (AI-enabled) certificate",
        description="Passed the Data analyst certification exam.", issuer_name="Upskill",
        issued_on=date(2026, 11, 26), valid_until=date(2028, 11, 26),
        credential_id="urn:uuid:3f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", verify_url=URL,
        skills=[f"Skill {n}" for n in range(12)])


def test_pdf_is_one_page_with_the_holder_and_the_verification_address_in_its_metadata():
    pdf = render_pdf(data())
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert b"Dana Learner" in pdf and URL.encode() in pdf


def qr_modules(url: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def test_png_qr_code_encodes_the_verification_address():
    image = Image.open(io.BytesIO(render_png(data()))).convert("L")
    assert image.size == (1600, 1132)
    modules = qr_modules(URL)
    n = len(modules)
    side, left, top = 220, 800 - 110, 648  # where render_png pastes it (2 modules of border)
    step = side / (n + 4)
    for row in range(n):
        for column in range(n):
            x = round(left + (column + 2.5) * step)
            y = round(top + (row + 2.5) * step)
            pixel = image.getpixel((x, y))
            assert isinstance(pixel, int)
            assert (pixel < 128) == modules[row][column], (row, column)


def test_names_in_any_script_render_and_unprintable_characters_are_left_out():
    for name in ("Zoë O’Brien-Łukasiewicz", "דנה לוי", "محمد علي", "李小龍",
                 "Dana\u0007 Learner 🎓", "x" * 300):
        assert render_pdf(data(name)).startswith(b"%PDF-")
        assert render_png(data(name)).startswith(b"\x89PNG")
