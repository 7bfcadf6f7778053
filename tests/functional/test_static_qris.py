"""A shop's own static QRIS sticker (issue 15): uploaded and checked at the seller's page,
printed small on the poster, and sales paid on it recorded as unconfirmed in every report
until the keeper or the office checks them; never counted as gateway-confirmed."""

from __future__ import annotations

import io

import pytest
import qriskit
import segno
from PIL import Image
from sqlalchemy import select

from storefront.exhibitions import dashboard
from storefront.exhibitions.models import Fair
from storefront.extensions import db
from storefront.ledger import services as ledger
from storefront.orders.models import Order
from storefront.payments import qris
from tests.conftest import AuthActions
from tests.factories import UserFactory
from tests.functional.test_fair_till import sell
from tests.helpers import csrf_token

STICKER = qris.build(merchant_name="Keripik Bu Sri", merchant_city="Tangerang",
                     nmid="ID1025123456789", amount=None, postal_code="15141")


def picture(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def upload(client, data: dict, photo: bytes | None = None):
    form = {"csrf_token": csrf_token(client, "/"), **data}
    if photo is not None:
        form["foto"] = (io.BytesIO(photo), "stiker.png")
    return client.post("/penjual/qris", data=form, content_type="multipart/form-data")


def test_a_photo_of_the_sticker_is_read_shown_and_saved_after_the_seller_confirms(
        keeper, stand):
    shown = upload(keeper, {"aksi": "baca"}, picture(STICKER))
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "KERIPIK BU SRI" in page and "ID1025123456789" in page and "Ya, simpan" in page
    db.session.refresh(stand["stand"].shop)
    assert stand["stand"].shop.static_qris is None  # not before the seller says yes
    saved = upload(keeper, {"aksi": "simpan", "isi": STICKER})
    assert saved.status_code == 303
    db.session.refresh(stand["stand"].shop)
    assert stand["stand"].shop.static_qris == STICKER
    assert qriskit.parse(stand["stand"].shop.static_qris, strict=True).is_static


@pytest.mark.parametrize("data, photo, words", [
    ({"isi": STICKER[:-1] + ("0" if STICKER[-1] != "0" else "1")}, None, "CRC"),
    ({"isi": qris.build(merchant_name="A", merchant_city="B", nmid="ID1", amount=5_000)},
     None, "dinamis"),
    ({}, "https://contoh.id/bayar", "bukan QRIS"),
    ({}, "plain", "Tidak ada kode QR"),
    ({}, b"GIF89a not a picture", "foto"),
    ({"isi": "000201" + "\x00" * 10}, None, "QRIS"),
])
def test_a_bad_sticker_gets_a_clear_message_and_nothing_is_saved(keeper, stand, data, photo, words):
    if photo == "plain":
        buffer = io.BytesIO()
        Image.new("RGB", (400, 300), (200, 180, 150)).save(buffer, "PNG")
        photo = buffer.getvalue()
    elif isinstance(photo, str):
        photo = picture(photo)
    answer = upload(keeper, {"aksi": "simpan", **data}, photo)
    assert answer.status_code == 422
    assert words.lower() in answer.get_data(as_text=True).lower()
    db.session.refresh(stand["stand"].shop)
    assert stand["stand"].shop.static_qris is None


def test_another_seller_cannot_set_my_sticker(app, client, auth, stand):
    UserFactory(email="lain@contoh.id", roles=["shopper", "seller"])
    auth.login("lain@contoh.id")
    upload(client, {"aksi": "simpan", "isi": STICKER})
    db.session.refresh(stand["stand"].shop)
    assert stand["stand"].shop.static_qris is None


def test_a_static_qris_sale_is_unconfirmed_until_checked_and_never_gateway_confirmed(
        app, keeper, stand):
    refused = sell(keeper, stand, method="static_qris", json=True, key="kunci-statis-1",
                   **{"Keripik Tempe": 1})
    assert refused.status_code == 422 and "belum menyimpan QRIS statis" in refused.json["errors"]["jual"]
    stand["stand"].shop.static_qris = STICKER
    db.session.commit()
    answer = sell(keeper, stand, method="static_qris", key="kunci-statis-2", **{"Keripik Tempe": 2})
    assert answer.status_code == 303
    order = db.session.scalar(select(Order).where(Order.channel == "fair_sqris"))
    assert order.paid_at is not None and order.unconfirmed and order.total == 30_000
    assert ledger.check() == []
    fair = db.session.scalar(select(Fair))
    figures = dashboard.figures(fair)
    assert figures.by_channel["fair_qr"] == 0  # never counted as gateway-confirmed
    assert figures.by_channel["fair_sqris"] == 30_000 and figures.unconfirmed == 30_000
    screen = keeper.get(stand["url"] + "/kasir").get_data(as_text=True)
    assert "belum dicek" in screen and "Uang sudah masuk" in screen
    office = app.test_client()
    UserFactory(email="dinas@contoh.id", roles=["organizer"])
    AuthActions(office).login("dinas@contoh.id")
    poster = office.get("/pameran/pameran-situ/stan/A-01/poster").get_data(as_text=True)
    assert "QRIS toko (cadangan)" in poster and "ID1025123456789" in poster
    waiting = office.get("/admin/pembayaran").get_data(as_text=True)
    assert order.code in waiting and "QRIS statis belum dicek" in waiting

    keeper.post(f"{stand['url']}/kasir/penjualan/{order.code}/cek",
                data={"csrf_token": csrf_token(keeper, stand["url"] + "/kasir")})
    db.session.refresh(order)
    assert not order.unconfirmed and order.confirmed_at is not None
    assert dashboard.figures(fair).unconfirmed == 0
    assert ledger.check() == []


def test_the_office_can_confirm_a_static_qris_sale(app, keeper, stand):
    stand["stand"].shop.static_qris = STICKER
    db.session.commit()
    sell(keeper, stand, method="static_qris", key="kunci-statis-3", **{"Keripik Tempe": 1})
    order = db.session.scalar(select(Order).where(Order.channel == "fair_sqris"))
    office = app.test_client()
    UserFactory(email="dinas2@contoh.id", roles=["organizer"])
    AuthActions(office).login("dinas2@contoh.id")
    office.post(f"/admin/pembayaran/qris-statis/{order.code}/cek",
                data={"csrf_token": csrf_token(office, "/admin/pembayaran")})
    db.session.refresh(order)
    assert not order.unconfirmed
