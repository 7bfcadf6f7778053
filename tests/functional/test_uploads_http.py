"""Hostile pictures through the real upload routes, over the app's HTTP interface (issue
20.8 and 20.9): a decompression bomb, an HTML/JPEG polyglot, a 15 MB body, a photo whose
EXIF and XMP carry markup. Each is refused with a message next to the field, or kept as
pixels only; nothing of the payload reaches a stored file or a page."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from storefront.catalogue.models import ProductImage
from storefront.extensions import db
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.helpers import csrf_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_pictures import encode, jpeg_claiming, photo_like, png_header_bomb  # noqa: E402

PAYLOAD = '<img src=x onerror=alert(1)><script>alert(2)</script><p hx-get="/keluar" hx-trigger="load">'


@pytest.fixture
def product(app, auth):
    user = UserFactory(email="foto@contoh.id", roles=["shopper", "seller"])
    shop = ShopFactory(owner=user, name="Toko Foto")
    made = ProductFactory(shop=shop, name="Keripik Berfoto", price=15_000, stock=5)
    auth.login("foto@contoh.id")
    return made


def upload(client, product, data: bytes, name: str = "foto.jpg"):
    url = f"/penjual/produk/{product.id}/foto"
    return client.post(url, content_type="multipart/form-data", data={
        "photos": (io.BytesIO(data), name),
        "csrf_token": csrf_token(client, f"/penjual/produk/{product.id}")})


@pytest.mark.parametrize("bomb", [
    pytest.param(lambda: png_header_bomb(50_000, 50_000), id="png-50000x50000"),
    pytest.param(lambda: jpeg_claiming(50_000, 50_000), id="jpeg-50000x50000"),
])
def test_a_decompression_bomb_is_refused_next_to_the_field(client, product, bomb):
    answer = upload(client, product, bomb(), "bom.png")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="photos-error"' in page or "bom.png:" in page
    assert db.session.query(ProductImage).count() == 0


def test_a_body_over_the_limit_gets_413_with_a_message(client, product):
    answer = upload(client, product, b"\xff\xd8" + b"0" * (15 * 1024 * 1024), "besar.jpg")
    assert answer.status_code == 413
    assert "Berkas terlalu besar" in answer.get_data(as_text=True)


def test_a_file_that_is_not_a_picture_is_refused_next_to_the_field(client, product):
    answer = upload(client, product, b"<html><script>alert(1)</script></html>", "bukan.jpg")
    assert answer.status_code == 422 and "bukan.jpg:" in answer.get_data(as_text=True)


def test_a_polyglot_and_markup_in_exif_and_xmp_come_out_as_pixels_only(app, client, product):
    image = photo_like((800, 600))
    exif = Image.Exif()
    exif[0x010E] = PAYLOAD  # ImageDescription
    exif[0x013B] = PAYLOAD  # Artist
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>{PAYLOAD}</dc:title></x:xmpmeta>'
    jpeg = encode(image, "JPEG", quality=85, exif=exif.tobytes(), xmp=xmp.encode())
    polyglot = jpeg + PAYLOAD.encode()  # trailing markup after the image data
    answer = upload(client, product, polyglot, "x<script>.jpg")
    assert answer.status_code == 303
    picture = db.session.query(ProductImage).one()
    media = Path(app.config["MEDIA_ROOT"])
    stored = [p for p in media.rglob("*") if p.is_file()]
    assert stored
    for path in stored:
        data = path.read_bytes().lower()
        for needle in (b"<script", b"onerror", b"hx-get", b"alert(", b"xmpmeta"):
            assert needle not in data, (path.name, needle)
    page = client.get(f"/produk/{product.id}", follow_redirects=True).get_data(as_text=True)
    assert "<script>alert(2)" not in page and "onerror=alert" not in page
    assert picture.key in page
