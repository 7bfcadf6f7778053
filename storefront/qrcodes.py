"""QR codes as pictures: a stand's link, a poster, a QRIS payload (segno, no script)."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str, scale: int = 6, border: int = 2) -> str:
    """The QR code a visitor scans (a link, or a QRIS payload), as inline SVG (no script,
    no external image)."""
    buffer = io.BytesIO()
    # omitsize: a viewBox instead of a fixed width and height, so the page's CSS sizes the
    # whole code (a poster's 11 cm, a phone's width); with a fixed size CSS only grew the box.
    segno.make(url, error="m").save(buffer, kind="svg", scale=scale, border=border, xmldecl=False,
                                   svgns=True, title="QR", omitsize=True)
    return buffer.getvalue().decode()


def qr_png(payload: str) -> bytes:
    """A QRIS code as a PNG with a wide quiet zone, for a payer's "scan from gallery"."""
    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def read_qr(image) -> str | None:
    """The text of the first QR code in a picture (a PIL image), or None (zxing-cpp)."""
    import zxingcpp

    found = zxingcpp.read_barcodes(image.convert("RGB"),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


def qris_picture(payload: str, code: str):
    """The response that saves a QRIS as ``qris-<code>.png`` on the payer's phone."""
    from flask import current_app

    return current_app.response_class(qr_png(payload), mimetype="image/png", headers={
        "Content-Disposition": f'attachment; filename="qris-{code}.png"',
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
