"""Alt text too long is refused next to its field, not dropped in silence (issue 13.8).

A seller saving 250 characters of alt text got the page back as if saved, with the old
text: the view ignores an invalid AltForm and redirects. The template shows the reason
next to the photo's field once the view passes the refused form back, as it now does.
"""

from __future__ import annotations

import re

import pytest

from storefront.catalogue.models import ProductImage
from storefront.extensions import db
from tests.factories import ProductFactory, ShopFactory, UserFactory


@pytest.fixture
def photo(app, browser):
    owner = UserFactory(email="penjual@contoh.id", roles=["shopper", "seller"])
    product = ProductFactory(shop=ShopFactory(owner=owner), name="Kopi Cisadane")
    image = ProductImage(product_id=product.id, key="a" * 64, alt="Kopi bubuk", width=640,
                         height=640)
    db.session.add(image)
    db.session.commit()
    assert browser.login("penjual@contoh.id").status_code == 200
    return browser, product.id, image.id


def _save_alt(browser, product_id: int, image_id: int, alt: str):
    page = browser.get(f"/penjual/produk/{product_id}").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return browser.post(f"/penjual/produk/{product_id}/foto/{image_id}/alt",
                        data={"csrf_token": token, "alt": alt})


def test_alt_text_within_200_characters_is_saved(photo):
    browser, product_id, image_id = photo
    saved = _save_alt(browser, product_id, image_id, "Kopi bubuk robusta 250 gram")
    assert saved.status_code == 200
    assert 'value="Kopi bubuk robusta 250 gram"' in saved.text


def test_alt_text_over_200_characters_is_refused_next_to_the_field(photo):
    browser, product_id, image_id = photo
    typed = "Kopi bubuk robusta dari lereng Gunung Halimun, " * 6  # 276 characters
    answer = _save_alt(browser, product_id, image_id, typed)
    assert answer.status_code == 422
    assert re.search(rf'id="alt-{image_id}-error"[^>]*>[^<]*200 karakter', answer.text)
    assert f'value="{typed}"' in answer.text  # what was typed is shown back
    assert 'value="Kopi bubuk"' not in answer.text
