"""NUL and other control characters never get stored or served (issue 13.9).

A stranger pasted NUL, ESC and DEL into a product's fields: they were stored, served
raw in every page and made the shop's own CSV export unimportable. Every Gerai form
now drops them before any check (one filter in the forms' base class); a textarea
keeps its line breaks and tabs.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.factories import CategoryFactory, ShopFactory, UserFactory

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@pytest.fixture
def seller(app, browser):
    owner = UserFactory(email="penjual@contoh.id", roles=["shopper", "seller"])
    ShopFactory(owner=owner, name="Dapur Bu Sri")
    CategoryFactory(name="Makanan")
    assert browser.login("penjual@contoh.id").status_code == 200
    return browser


def _new_product(seller, **fields) -> str:
    page = seller.get("/penjual/produk/baru").text
    category = re.search(r'<option value="(\d+)"', page).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "category_id": category, "price": "15.000", "stock": "5",
            "status": "active", **fields}
    saved = seller.post("/penjual/produk/baru", data=data)
    assert saved.status_code == 200 and "/penjual/produk/" in saved.url, saved.text[:500]
    return saved.url


def test_control_characters_typed_into_a_product_are_not_stored_or_served(seller):
    edit_url = _new_product(
        seller, name="Kopi\x00 Bubuk\x1b[31m\x7f Cisadane", sku="KOPI\x08-01",
        description="Baris satu\r\nBaris dua\tkolom\x00\x0b\x1b selesai")
    edit = seller.get(edit_url).text
    assert not CONTROL.search(edit)
    assert 'value="Kopi Bubuk[31m Cisadane"' in edit
    # the textarea kept its line break and its tab
    assert re.search(r"Baris satu\r?\nBaris dua\tkolom selesai</textarea>", edit)

    product_id = edit_url.rstrip("/").rsplit("/", 1)[1]
    shopper_page = seller.get(f"/produk/{product_id}").text
    assert "Kopi Bubuk[31m Cisadane" in shopper_page and not CONTROL.search(shopper_page)

    export = seller.get("/penjual/produk/ekspor")
    assert export.status_code == 200
    text = export.content.decode("utf-8-sig")
    assert "\x00" not in text and "\x1b" not in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))  # NUL made this raise
    assert any("Kopi Bubuk[31m Cisadane" in value for row in rows for value in row.values())


def test_a_line_break_in_a_one_line_field_becomes_a_space(seller):
    edit = seller.get(_new_product(seller, name="Keripik\r\nTempe\tPedas")).text
    assert 'value="Keripik Tempe Pedas"' in edit


def test_a_search_with_control_characters_is_answered_without_them(seller):
    page = seller.get("/katalog", params={"q": "kopi\x00\x1b"})
    assert page.status_code == 200
    assert 'value="kopi"' in page.text and not CONTROL.search(page.text)
