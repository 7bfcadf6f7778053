"""A shop's own static QRIS, the sticker its bank gave it (issue 15): the seller uploads a
photo of it (or pastes its text), Gerai reads and checks it (QRIS, static, CRC) and shows
the merchant name and NMID for the seller to confirm. It is printed small on the stand
poster as a fallback; sales paid on it are recorded as unconfirmed until checked."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..audit import record as audit
from ..extensions import db
from ..htmx import render
from ..media import PictureRejected, load_picture
from ..payments import qris
from ..qrcodes import qr_svg, read_qr
from .views import bp, shop_required

NOT_STATIC = _l("Ini kode QRIS dinamis (untuk satu transaksi). Unggah stiker QRIS statis toko "
                "Anda, yang dipakai untuk semua pembayaran.")
NO_QR = _l("Tidak ada kode QR yang terbaca di foto itu. Foto stiker dari dekat, lurus dan "
           "terang, atau tempel isi kodenya.")


def _read(upload, text: str) -> qris.Qris:
    """The sticker from a photo or pasted text; QrisError says what is wrong with it."""
    if upload is not None and getattr(upload, "filename", ""):
        try:
            text = read_qr(load_picture(upload.stream)) or ""
        except PictureRejected as refused:
            raise qris.QrisError(refused.message) from None
        if not text:
            raise qris.QrisError(NO_QR)
    code = qris.parse(text)
    if code.dynamic:
        raise qris.QrisError(NOT_STATIC)
    return code


@bp.route("/qris", methods=["GET", "POST"])
@shop_required
def static_qris():
    shop = g.shop
    error, code = None, None
    if request.method == "POST":
        action = request.form.get("aksi", "baca")
        if action == "hapus":
            audit(current_user, "shop.static_qris_removed", shop)
            shop.static_qris = None
            db.session.commit()
            flash(_("QRIS statis dihapus dari toko."))
            return redirect(url_for(".static_qris"), 303)
        try:
            code = _read(request.files.get("foto"), request.form.get("isi", ""))
        except qris.QrisError as refused:
            error = refused.message
        else:
            if action == "simpan":
                shop.static_qris = code.payload
                audit(current_user, "shop.static_qris", shop,
                      after={"merchant": code.merchant_name, "nmid": code.nmid})
                db.session.commit()
                flash(_("QRIS statis %(name)s disimpan.", name=code.merchant_name))
                return redirect(url_for(".static_qris"), 303)
    saved = qris.parse(shop.static_qris) if shop.static_qris else None
    return render("seller/qris.html", shop=shop, error=error, code=code, saved=saved,
                  preview=qr_svg(code.payload, scale=4, border=4) if code else None,
                  http_status=422 if error else 200)
